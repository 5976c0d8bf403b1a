"""The tree stays lint-clean: ``ruff check .`` and ``ruff format --check .`` with the settings in pyproject.toml.

ruff comes with the ``[dev]`` extra (pinned to one minor version: a newer ruff brings new rules and format
changes). The test is skipped only when the ruff package is not installed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin
    except ImportError:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    return str(find_ruff_bin())


@pytest.mark.parametrize(
    "args",
    [["check", "--no-cache", "--output-format", "concise", "."], ["format", "--no-cache", "--check", "."]],
    ids=["check", "format"],
)
def test_ruff_is_clean(args: list[str]) -> None:
    r = subprocess.run([_ruff(), *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (
        f"`ruff {' '.join(args)}` found problems (fix them, or run `ruff format <file>`):\n{r.stdout}{r.stderr}"
    )
