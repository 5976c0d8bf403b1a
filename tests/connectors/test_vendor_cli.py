"""`strainwatch ingest` on one folder holding every Garmin, Fitbit and Strava export fixture."""

from __future__ import annotations

import os
import shutil
import subprocess

import polars as pl
import pytest

from tests.connectors.vendor_helpers import FIXTURES

MINE = ("garmin_csv", "garmin_di_connect", "fitbit", "strava")

#: format -> (files, sessions, sleep, wellness) expected from the fixtures
EXPECTED = {
    "garmin_activities_csv": (4, 5 + 4 + 3 + 2, 0, 0),
    "garmin_di_activities": (1, 5, 0, 0),
    "garmin_di_sleep": (1, 0, 3, 0),
    "garmin_di_uds": (1, 0, 0, 2),
    "garmin_di_health_status": (1, 0, 0, 2),
    "fitbit_resting_hr": (1, 0, 0, 2),
    "fitbit_sleep": (1, 0, 3, 0),
    "fitbit_exercise": (1, 3, 0, 0),
    "fitbit_hrv_summary": (1, 0, 0, 2),
    "strava_activities": (2, 4 + 2, 0, 0),
}


def _cli() -> list[str]:
    exe = shutil.which("strainwatch")
    if exe is None:
        pytest.skip("console script 'strainwatch' not installed (pip install -e .)")
    return [exe]


def test_ingest_folder_with_every_vendor_export(tmp_path):
    inputs = tmp_path / "inputs" / "mia"  # first folder under the root = athlete id
    for name in MINE:
        shutil.copytree(FIXTURES / name, inputs / name)
    store = tmp_path / "store"
    env = {**os.environ, "DO_NOT_TRACK": "1"}
    run = subprocess.run(
        _cli() + ["ingest", str(tmp_path / "inputs"), "--store", str(store), "--tz", "Europe/Berlin", "--workers", "1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    n_files = sum(v[0] for v in EXPECTED.values())
    assert f"{n_files} ingested" in out and "0 rejected" in out, out
    formats_line = next(line for line in out.splitlines() if line.startswith("formats: "))
    for fmt, (files, *_rows) in EXPECTED.items():
        assert f"{fmt} {files}" in formats_line, (fmt, formats_line)
    sessions = sum(v[1] for v in EXPECTED.values())
    sleep = sum(v[2] for v in EXPECTED.values())
    wellness = sum(v[3] for v in EXPECTED.values())
    assert f"sessions {sessions}, sleep {sleep}, wellness {wellness}" in out, out

    # what each format read, per file, from the ledger
    csv_path = tmp_path / "ledger.csv"
    led = subprocess.run(
        _cli() + ["ledger", "--store", str(store), "--csv", str(csv_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert led.returncode == 0, led.stdout + led.stderr
    ledger = pl.read_csv(csv_path)
    per_format = (
        ledger.filter(pl.col("status") == "ingested")
        .group_by("format")
        .agg(
            pl.len().alias("files"),
            pl.col("rows_sessions").sum(),
            pl.col("rows_sleep").sum(),
            pl.col("rows_wellness").sum(),
        )
    )
    got = {
        r["format"]: (r["files"], r["rows_sessions"], r["rows_sleep"], r["rows_wellness"])
        for r in per_format.iter_rows(named=True)
    }
    assert got == EXPECTED
    assert set(ledger["athlete_id"]) == {"mia"}

    # the stored tables carry the athlete and each format as its own source
    exp = tmp_path / "sessions.csv"
    subprocess.run(
        _cli() + ["export", "sessions", "--store", str(store), "--out", str(exp)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    stored = pl.read_csv(exp)
    assert set(stored["athlete_id"]) == {"mia"}
    assert set(stored["source"]) == {
        "garmin_activities_csv",
        "garmin_di_activities",
        "fitbit_exercise",
        "strava_activities",
    }


def test_ingest_reports_malformed_vendor_file(tmp_path):
    inputs = tmp_path / "inputs" / "mia"
    inputs.mkdir(parents=True)
    src = FIXTURES / "fitbit" / "Takeout" / "Fitbit" / "Global Export Data" / "sleep-2019-11-01.json"
    (inputs / "sleep-2019-11-01.json").write_bytes(src.read_bytes()[:-40])
    run = subprocess.run(
        _cli() + ["ingest", str(tmp_path / "inputs"), "--store", str(tmp_path / "store"), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "DO_NOT_TRACK": "1"},
    )
    assert run.returncode == 1
    assert "sleep-2019-11-01.json" in run.stderr and "malformed JSON" in run.stderr, run.stderr
