"""The feature stage on a real store: ingest -> features -> export, incremental nights, CLI."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

from features.schemas import FEATURES, SESSIONS, SLEEP, WELLNESS, conform
from pipelines.cli import app
from pipelines.ingest import ingest_paths
from pipelines.stage_features import coerce_params, run_features
from pipelines.store import Store

from .teamgen import athlete_ids, write_day, write_history

# (teamgen writes an impossible night across the spring-forward change, so stay before 30 March)
FIRST, LAST = date(2025, 1, 6), date(2025, 3, 20)
UTC = timezone.utc


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    inputs = root / "inputs"
    ids = athlete_ids(3)
    write_history(inputs, ids, FIRST, LAST)
    store = Store(root / "store")
    summary = ingest_paths(store, [inputs], workers=1)
    assert summary.ok
    return root, inputs, store, ids


def test_full_then_unchanged_then_incremental(team, tmp_path):
    root, inputs, store, ids = team
    s = run_features(store, as_of=LAST)
    assert s.athletes == 3 and sorted(s.full) == ids and not s.incremental
    f = store.read_table("features")
    days = (LAST - FIRST).days + 1
    assert f.height == 3 * days and f.group_by("athlete_id").len()["len"].to_list() == [days] * 3
    assert f.columns[: len(FEATURES.columns)] == list(FEATURES.columns)
    d = store.read_table("daily")
    assert d.height == 3 * days
    # sRPE loads from the generic CSV (rpe x minutes) reach the daily table
    # (null only on days before an athlete's first session: no training data yet)
    first_session = d.filter(pl.col("n_sessions") > 0).group_by("athlete_id").agg(pl.col("date").min().alias("s0"))
    before = d.join(first_session, on="athlete_id").filter(pl.col("date") < pl.col("s0"))
    assert d["load_au"].null_count() == before.height and before["load_au"].null_count() == before.height
    assert d["load_au"].max() > 0
    assert set(f["load_family"].drop_nulls().unique()) == {"srpe"}
    assert f["acwr"].drop_nulls().len() == 3 * (days - 27) - before.height

    # the same night again: nothing to do
    s2 = run_features(store, as_of=LAST)
    assert sorted(s2.unchanged) == ids and s2.days_recomputed == 0
    assert_frame_equal(store.read_table("features"), f, check_exact=True)

    # the next night's files: only one day per athlete is recomputed
    nxt = LAST + timedelta(days=1)
    new_files = write_day(inputs, ids, nxt)
    assert ingest_paths(store, new_files, workers=1).ok
    s3 = run_features(store, as_of=nxt)
    assert s3.incremental == {a: nxt.isoformat() for a in ids} and s3.days_recomputed == 3
    inc = store.read_table("features")
    # ... and equals a full recomputation
    copy = Store(tmp_path / "copy")
    shutil.copytree(store.root, copy.root)
    s4 = run_features(copy, as_of=nxt, full=True)
    assert sorted(s4.full) == ids
    assert_frame_equal(inc, copy.read_table("features"), check_exact=True)


def test_changed_params_recompute_in_full(team, tmp_path):
    root, inputs, store, ids = team
    copy = Store(tmp_path / "copy")
    shutil.copytree(store.root, copy.root)
    run_features(copy, as_of=LAST)
    s = run_features(copy, as_of=LAST, params={"sleep_need_h": 7.0})
    assert sorted(s.full) == ids
    s = run_features(copy, as_of=LAST, params={"sleep_need_h": 7.0})
    assert sorted(s.unchanged) == ids
    with pytest.raises(ValueError, match=r"unknown features parameter\(s\) \['sleep_need'\]"):
        coerce_params({"sleep_need": 7})
    with pytest.raises(ValueError, match="FeatureParams.sleep_need_h"):
        coerce_params({"sleep_need_h": -1})


def test_cross_source_duplicates_merged_and_loads_filled(tmp_path):
    store = Store(tmp_path / "s")
    t = datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
    base = {"athlete_id": "amy", "local_date": date(2025, 3, 3), "sport": "running", "duration_s": 3600.0}
    sessions = conform(
        pl.DataFrame(
            [
                # the same run from the watch (FIT, no RPE) and from Strava 40 s later with the athlete's RPE 5
                {**base, "source": "fit", "start_utc": t, "source_file": "run.fit", "avg_hr_bpm": 150.0},
                {
                    **base,
                    "source": "strava",
                    "start_utc": t + timedelta(seconds=40),
                    "source_file": "strava.csv",
                    "rpe": 5.0,
                    "duration_s": 3590.0,
                },
                # a strength session the next day with RPE 7 for 30 min
                {
                    **base,
                    "source": "fit",
                    "start_utc": t + timedelta(days=1),
                    "local_date": date(2025, 3, 4),
                    "sport": "strength",
                    "duration_s": 1800.0,
                    "rpe": 7.0,
                    "source_file": "gym.fit",
                },
            ]
        ),
        SESSIONS,
    )
    sleep = conform(
        pl.DataFrame(
            [
                {
                    "athlete_id": "amy",
                    "source": s,
                    "start_utc": datetime(2025, 3, 2, 22, tzinfo=UTC),
                    "end_utc": datetime(2025, 3, 3, 6, tzinfo=UTC),
                    "wake_date": date(2025, 3, 3),
                    "asleep_s": a,
                    "in_bed_s": 28800.0,
                    "is_nap": False,
                    "source_file": f"{s}.csv",
                }
                for s, a in (("oura", 25200.0), ("apple_health", 27000.0))
            ]
        ),
        SLEEP,
    )
    wellness = conform(
        pl.DataFrame(
            [
                {
                    "athlete_id": "amy",
                    "source": "oura",
                    "date": date(2025, 3, 3),
                    "rhr_bpm": 50.0,
                    "source_file": "o.csv",
                },
            ]
        ),
        WELLNESS,
    )
    store.upsert("sessions", sessions)
    store.upsert("sleep", sleep)
    store.upsert("wellness", wellness)
    s = run_features(store, as_of=date(2025, 3, 5))
    assert s.sessions_merged == 1 and s.nights_merged == 1
    d = store.read_table("daily").sort("date")
    # 3 March: one run (not two): sRPE 5 x 60 min = 300 AU; 4 March: 7 x 30 = 210 AU; 5 March: rest
    assert d["load_au"].to_list() == [300.0, 210.0, 0.0]
    assert d["n_sessions"].to_list() == [1, 1, 0]
    # merge_duplicate_nights keeps the higher-priority source (oura: 7 h), not the longer copy
    assert d["sleep_h"].to_list() == [7.0, None, None]


def test_cli_features_and_export(team, tmp_path):
    root, inputs, store, ids = team
    copy = tmp_path / "cli-store"
    shutil.copytree(store.root, copy)
    runner = CliRunner()
    r = runner.invoke(app, ["features", "--store", str(copy), "--as-of", "2025-03-15"])
    assert r.exit_code == 0, r.output
    assert "features to 2025-03-15: 3 athletes" in r.output
    out = tmp_path / "f.csv"
    r = runner.invoke(app, ["export", "features", "--store", str(copy), "--out", str(out)])
    assert r.exit_code == 0, r.output
    header = out.read_text().splitlines()[0].split(",")
    contract = [
        "athlete_id",
        "date",
        "load_au",
        "acute_7d_au",
        "chronic_28d_au",
        "acwr",
        "acwr_uncoupled",
        "acwr_ewma",
        "weekly_change_pct",
        "monotony",
        "strain_au",
        "ctl",
        "atl",
        "tsb",
        "rhr_bpm",
        "rhr_7d_bpm",
        "rhr_z",
        "hrv_ln_rmssd",
        "hrv_7d_ln",
        "hrv_z",
        "sleep_h",
        "sleep_7d_h",
        "sleep_debt_7d_h",
    ]
    assert header[: len(contract)] == contract
    csv = pl.read_csv(out, try_parse_dates=True)
    assert csv.height == 3 * ((date(2025, 3, 15) - FIRST).days + 1)
    assert csv["date"].max() == date(2025, 3, 15)
    r = runner.invoke(app, ["features", "--store", str(copy), "--as-of", "10/04/2025"])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = runner.invoke(app, ["features", "--store", str(tmp_path / "nothing"), "--as-of", "2025-03-15"])
    assert r.exit_code == 2 and "no store" in r.output


def test_real_fit_corpus(corpus_dir, tmp_path):
    """Features on real FIT activity files from several devices (any connector's output works)."""
    files = sorted((corpus_dir / "fit" / "activity").glob("*.fit"))
    if not files:
        pytest.skip("no FIT activity files in the corpus")
    store = Store(tmp_path / "s")
    ingest_paths(store, files, athlete="corpus", workers=1)
    sessions = store.read_table("sessions")
    if sessions.is_empty():
        pytest.skip("no FIT connector registered yet")
    last = sessions["local_date"].max()
    s = run_features(store, as_of=last)
    f = store.read_table("features")
    first = min(
        sessions["local_date"].min(),
        *(store.read_table(t)[c].min() or last for t, c in (("sleep", "wake_date"), ("wellness", "date"))),
    )
    assert s.athletes == 1 and f.height == (last - first).days + 1
    # every session day has a non-negative load (or null when the file has nothing to compute one from)
    d = store.read_table("daily")
    assert (d["load_au"].drop_nulls() >= 0).all()
    assert d.filter(pl.col("n_sessions") > 0).height == sessions["local_date"].n_unique()
