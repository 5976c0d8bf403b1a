"""Shared fixtures: the sample corpus (read in place, never copied) and the sample team."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("STRAINWATCH_CORPUS", REPO.parent / "shared" / "sample_corpus"))
SAMPLE_DATA = REPO / "sample_data"

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# One OpenMP thread per test process (and the CLI subprocesses it starts): pytest runs 2 workers on
# 2 cores, and scikit-learn's OpenMP threads (gradient boosting) spin-wait when oversubscribed, which
# made a 2-s training take 10 s. Set before anything loads an OpenMP runtime; the results are the
# same, only the thread count differs. An explicit OMP_NUM_THREADS in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# Hypothesis: random exploration on developers' machines (failures are kept in .hypothesis/ and
# replayed); the same examples on every CI run (HYPOTHESIS_PROFILE=ci in .ci/run), so that a
# merge is never blocked by an example that an earlier, identical run did not draw.
from hypothesis import settings as _hyp_settings  # noqa: E402

# The inner loop draws fewer examples: 25 instead of 100 where a test writes no count, and a quarter
# where it writes one through tests.budget.examples(); the ci profile keeps every count.
_hyp_settings.register_profile("ci", derandomize=True, print_blob=True, max_examples=100)
_hyp_settings.register_profile("dev", max_examples=25)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "dev")


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """``../shared/sample_corpus``; tests using it skip when it is absent."""
    if not CORPUS.is_dir():
        pytest.skip(f"sample corpus not found at {CORPUS}")
    return CORPUS


SOCCERMON = Path(os.environ.get("STRAINWATCH_SOCCERMON", REPO.parent / "shared" / "datasets" / "soccermon-teamA"))


@pytest.fixture(scope="session")
def soccermon_dir() -> Path:
    """``../shared/datasets/soccermon-teamA`` (real PMSys team export, CC BY 4.0); skip when absent."""
    if not (SOCCERMON / "training-load" / "session.json").is_file():
        pytest.skip(f"SoccerMon team A not found at {SOCCERMON}")
    return SOCCERMON


@pytest.fixture(scope="session")
def sample_data_dir() -> Path:
    return SAMPLE_DATA


@pytest.fixture(scope="session")
def prefect_api_url():
    """One Prefect test harness (temporary SQLite API server) for the session; its API URL.

    Subprocesses given ``PREFECT_API_URL`` use this server instead of each
    starting an ephemeral one (10-15 s each on 2 cores).
    """
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the mark into the worker assignment
def pytest_collection_modifyitems(config, items):
    """The not-slow tests that use the Prefect test harness run on one xdist worker (``--dist loadgroup``
    in pyproject.toml), so the inner loop starts one harness (10-15 s on 2 cores) instead of one per worker.
    Slow ones are left free, so that a long crash test does not queue the flow tests behind it."""
    for item in items:
        if "prefect_api_url" in getattr(item, "fixturenames", ()) and item.get_closest_marker("slow") is None:
            item.add_marker(pytest.mark.xdist_group("prefect"))
