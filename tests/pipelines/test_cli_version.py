"""`strainwatch --version`: the package version and the formula versions of the fingerprint."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from typer.testing import CliRunner

from features.version import FEATURES_FORMULA_VERSION
from models.version import SCORES_FORMULA_VERSION
from pipelines.cli import app

REPO = Path(__file__).resolve().parents[2]


def test_version_option_prints_package_and_formula_versions():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0, res.output
    assert res.output == (
        f"strainwatch {version('strainwatch')} (feature formulas v{FEATURES_FORMULA_VERSION}, "
        f"score formulas v{SCORES_FORMULA_VERSION})\n"
    )


def test_python_m_pipelines_cli_runs_the_cli():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    r = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "--version"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("strainwatch ") and "score formulas v" in r.stdout
