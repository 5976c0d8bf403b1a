"""End to end: `strainwatch demo` runs the real nightly Prefect flow on sample_data/.

One run (about 30-60 s, most of it Prefect's ephemeral server start-up), then
checks what a coach would check: every athlete scored every day, each planted
situation flagged with the right leading reason, the steady athletes calm, the
report written, the duplicate workouts counted once, and a second nightly run
changes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import polars as pl
import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 11, 15)
LAST_WEEK = (date(2026, 11, 9), AS_OF)
CLI = [sys.executable, "-c", "from pipelines.cli import main; main()"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("demo")
    store = work / "store"
    env = {
        **os.environ,
        "PREFECT_HOME": str(work / "prefect"),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    proc = subprocess.run(
        CLI + ["demo", "--store", str(store)], cwd=work, env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = work / "scores.csv"
    exp = subprocess.run(
        CLI + ["export", "scores", "--store", str(store), "--out", str(out)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert exp.returncode == 0, exp.stderr
    return {
        "store": store,
        "stdout": proc.stdout,
        "scores": pl.read_csv(out, try_parse_dates=True),
        "env": env,
        "work": work,
    }


def week(scores: pl.DataFrame, athlete: str) -> pl.DataFrame:
    return scores.filter((pl.col("athlete_id") == athlete) & pl.col("date").is_between(*LAST_WEEK))


def test_every_athlete_scored_every_day(demo: dict) -> None:
    s = demo["scores"]
    assert s.columns == ["athlete_id", "date", "risk_score", "risk_band", "reasons", "adjustments"]
    assert sorted(s["athlete_id"].unique()) == ["ana", "ben", "carla", "dev", "eli", "fay", "gus", "hana", "ivo", "jo"]
    per = s.group_by("athlete_id").agg(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last"), pl.len().alias("n")
    )
    assert per["last"].to_list() == [AS_OF] * 10
    # one row per calendar day from the first day with data
    assert all(n == (AS_OF - first).days + 1 for first, n in zip(per["first"], per["n"], strict=True))
    assert set(s["risk_band"].unique()) <= {"low", "moderate", "high", "insufficient_data"}


def test_planted_situations_are_flagged_with_their_reason(demo: dict) -> None:
    s = demo["scores"]
    carla = week(s, "carla")  # load spike
    assert (carla["risk_band"] == "high").sum() >= 3
    assert carla.filter(pl.col("risk_band") == "high")["reasons"].str.starts_with("acwr_spike").all()
    eli = week(s, "eli")  # a week of ~5 h nights
    assert eli.filter(pl.col("date") == AS_OF)["risk_band"].item() in ("moderate", "high")
    assert eli.filter(pl.col("date") == AS_OF)["reasons"].item().startswith("sleep_debt")
    fay = week(s, "fay")  # RHR up, HRV down
    last = fay.filter(pl.col("date") == AS_OF)
    assert last["risk_band"].item() in ("moderate", "high")
    assert set(last["reasons"].item().split(";")[:2]) <= {"hrv_suppressed", "rhr_elevated"}
    gus = week(s, "gus")  # red flag on 2026-11-14
    flagged = gus.filter(pl.col("date") == date(2026, 11, 14))
    assert flagged["risk_band"].item() == "high"
    assert flagged["reasons"].item().startswith("red_flag")
    assert flagged["adjustments"].item() == "see_clinician"
    # the morning after, nothing cleared the red flag: the override holds
    held = gus.filter(pl.col("date") == AS_OF)
    assert held["risk_band"].item() == "high" and held["reasons"].item().startswith("red_flag")
    dev = s.filter((pl.col("athlete_id") == "dev") & (pl.col("date") >= date(2026, 10, 23)))  # back after 3 weeks off
    assert (dev["risk_band"].is_in(["moderate", "high"])).sum() >= 3


def test_steady_athletes_stay_calm(demo: dict) -> None:
    s = demo["scores"].filter(
        pl.col("athlete_id").is_in(["ana", "ben", "hana", "ivo", "jo"]) & (pl.col("risk_band") != "insufficient_data")
    )
    assert (s["risk_band"] == "high").mean() <= 0.02
    assert (s["risk_band"].is_in(["moderate", "high"])).mean() <= 0.10


def test_report_and_alerts(demo: dict) -> None:
    report = demo["store"] / "reports" / "strainwatch-2026-W46.html"
    html = report.read_text()
    assert "not a diagnosis" in html
    for name in ("Carla Rossi", "Gus Moreau", "Eli Cohen", "Fay Lindqvist"):
        assert name in html
    assert report.stat().st_size < 3_000_000
    out = demo["stdout"]
    assert "dry run" in out and "nothing delivered" in out
    assert "red_flag for gus" in out
    # the push text as the athlete's phone would show it (the e-mail versions: strainwatch alert --dry-run)
    assert "Gus, you reported a red-flag back symptom on Sat 14 Nov." in out
    assert all(len(ln.split("): ", 1)[1]) <= 300 for ln in out.splitlines() if ln.strip().startswith("push ("))
    assert "demo finished in" in out


def test_duplicate_workouts_counted_once(demo: dict) -> None:
    from pipelines.store import Store

    st = Store(demo["store"])
    daily = st.read_table("daily", athletes=["jo"])
    sessions = st.read_table("sessions", athletes=["jo"])
    # every ride is both in the FIT files and in the Strava export
    assert set(sessions["source"].unique()) == {"fit", "strava_activities"}
    assert daily["n_sessions"].sum() == sessions.filter(pl.col("source") == "fit").height


def test_second_nightly_run_changes_nothing(demo: dict) -> None:
    from pipelines.store import Store

    st = Store(demo["store"])
    before = {t: st.read_table(t) for t in ("sessions", "daily", "features", "scores")}
    ledger_rows = st.ledger().height
    proc = subprocess.run(
        CLI
        + [
            "run",
            "--config",
            str(REPO / "sample_data" / "strainwatch.toml"),
            "--input",
            str(REPO / "sample_data" / "inputs"),
            "--store",
            str(demo["store"]),
            "--as-of",
            "2026-11-15",
            "--dry-run",
        ],
        cwd=demo["work"],
        env=demo["env"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "917 unchanged" in proc.stdout
    for t, df in before.items():
        assert st.read_table(t).equals(df), t
    assert st.ledger().height == ledger_rows
