"""Shared fixtures: the sample corpus (read in place, never copied) and the sample team."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("STRAINWATCH_CORPUS", REPO.parent / "shared" / "sample_corpus"))
SAMPLE_DATA = REPO / "sample_data"

# Bytecode: an environment with PYTHONDONTWRITEBYTECODE=1 (the development machines here set it) makes every
# test process, and every CLI subprocess a test starts, compile the package again, and pytest rewrite the
# asserts of every test module again: ~4 s of CPU per process and run. The tests write bytecode into the
# __pycache__ folders that .gitignore lists; nothing else changes.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

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

# The inner loop draws fewer examples: 25 instead of 100 where a test writes no count, and a fifth
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
def prefect_api_url(request: pytest.FixtureRequest):
    """One Prefect test harness (temporary SQLite API server) for the session; its API URL.

    Subprocesses given ``PREFECT_API_URL`` use this server instead of each
    starting an ephemeral one (10-15 s each on 2 cores). Two things make it
    cheaper without changing what runs against it:

    * Flow-run heartbeats are off in this process, as ``pipelines.prefect_server.use_api``
      turns them off for the temporary server of a real run: each flow and subflow
      otherwise waits up to a second at its end for the heartbeat thread's 1-s sleep.
    * A migrated, empty database from an earlier session is copied in when the pytest
      cache holds one for this Prefect version: the server then starts in ~5 s instead
      of ~13 s, most of which is the schema migrations. A fresh clone (CI) migrates.
    """
    from unittest import mock

    import prefect
    import prefect.testing.utilities as prefect_testing
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    cache = getattr(request.config, "cache", None)
    template = None
    if cache is not None:
        template = cache.mkdir("prefect-harness") / f"prefect-{prefect.__version__}.db"
    made: list[Path] = []

    def home_with_template() -> str:
        home = Path(tempfile.mkdtemp(prefix="sw-prefect-harness-"))
        if template is not None and _sound_sqlite(template):
            shutil.copyfile(template, home / "prefect-test.db")
        made.append(home)
        return str(home)

    with mock.patch.object(prefect_testing, "mkdtemp", home_with_template):
        harness = prefect_testing.prefect_test_harness(server_startup_timeout=90)
        harness.__enter__()
    try:
        if template is not None and made and not template.exists():
            _snapshot_sqlite(made[0] / "prefect-test.db", template)
        with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            yield PREFECT_API_URL.value()
    finally:
        harness.__exit__(None, None, None)


def _sound_sqlite(path: Path) -> bool:
    """A readable SQLite file that a Prefect server has migrated (it has ``alembic_version``)."""
    import sqlite3

    if not path.is_file():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            return con.execute("select count(*) from alembic_version").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def _snapshot_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a live SQLite database (the backup API), put in place atomically."""
    import sqlite3

    tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")
    try:
        with contextlib.closing(sqlite3.connect(src)) as a, contextlib.closing(sqlite3.connect(tmp)) as b:
            a.backup(b)
            b.execute("pragma journal_mode=delete")  # one self-contained file, no -wal beside it
        os.replace(tmp, dst)
    except (OSError, sqlite3.Error):
        tmp.unlink(missing_ok=True)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook, which turns the mark into the worker assignment
def pytest_collection_modifyitems(config, items):
    """Which not-slow tests share an xdist worker (``--dist loadgroup`` in pyproject.toml).

    * The ones that use the Prefect test harness: the inner loop starts one harness (5-15 s) instead of
      one per worker.
    * The others by module: a module-scoped fixture (a scored team, a browser) is then built once, not
      once on each worker that happens to get one of the module's tests (~20 s of CPU in the inner loop).

    Slow tests are left free, so that a long crash test does not queue others behind it, and they run
    first: xdist hands out tests in this order, and the longest (20 SIGKILLs of the nightly run, minutes
    in CI) started last left the other worker idle at the end of the run."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: slow ones first
    for item in items:
        if item.get_closest_marker("slow") is not None or item.get_closest_marker("xdist_group") is not None:
            continue
        if "prefect_api_url" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("prefect"))
        else:
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::", 1)[0]))
