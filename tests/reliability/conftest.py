"""Fixtures of the reliability suite: one baseline store per session (see harness.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import harness as H


@pytest.fixture(scope="session")
def corpus_or_none(request) -> Path | None:
    """``../shared/sample_corpus`` when present (its files join the seeds), else None."""
    try:
        return request.getfixturevalue("corpus_dir")
    except pytest.skip.Exception:
        return None


@pytest.fixture(scope="session")
def seeds(corpus_or_none) -> list[H.Seed]:
    return H.seeds(corpus_or_none)


@pytest.fixture(scope="session")
def baseline(tmp_path_factory, corpus_or_none) -> Path:
    """Path of a store holding every seed file and a few more sample-team files."""
    return H.build_baseline(tmp_path_factory.mktemp("baseline"), corpus_or_none)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """Scratch folder for the per-example store copies (each example removes its own)."""
    return tmp_path_factory.mktemp("cases")
