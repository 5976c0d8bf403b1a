"""No data is not zero: an athlete whose device data has no session source is not scored as resting.

Ben of the sample team, given only his daily physiology and sleep (his sessions file left out),
used to be scored ``low``/``moderate`` on every day as if he had trained zero. Now his load features
are null, the load components have no data, the day is ``insufficient_data`` and the report says
"no training data". With his sessions, the days after the last session are covered for
``load_tail_days`` (7) and then have no training data either.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import polars as pl
import pytest

from pipelines.ingest import ingest_paths
from pipelines.stage_features import run_features
from pipelines.stage_report import run_report
from pipelines.stage_score import run_scores
from pipelines.store import Store

AS_OF = date(2026, 11, 15)


@pytest.fixture(scope="module")
def device_only(tmp_path_factory, sample_data_dir):
    root = tmp_path_factory.mktemp("notrain")
    inp = root / "inputs" / "ben"
    inp.mkdir(parents=True)
    for name in ("daily.csv", "sleep.csv"):  # no sessions.csv
        shutil.copy(sample_data_dir / "inputs" / "ben" / name, inp / name)
    store = Store(root / "store")
    assert ingest_paths(store, [root / "inputs"], workers=1).ok
    run_features(store, as_of=AS_OF)
    run_scores(store, as_of=AS_OF)
    return store, root


def test_device_only_athlete_has_no_load_and_insufficient_data(device_only):
    store, _ = device_only
    f = store.read_table("features")
    assert f.height > 150
    assert not f["load_covered"].any()
    for c in (
        "load_au",
        "acute_7d_au",
        "chronic_28d_au",
        "acwr",
        "acwr_ewma",
        "weekly_change_pct",
        "monotony",
        "ctl",
        "atl",
        "tsb",
        "ctl_ramp_7d",
        "hard_day_streak",
    ):
        assert f[c].null_count() == f.height, c  # null, never 0
    # the physiology is there (not an empty athlete)
    assert f["rhr_bpm"].drop_nulls().len() > 100 and f["sleep_h"].drop_nulls().len() > 100
    s = store.read_table("scores")
    assert s.height == f.height
    assert set(s["risk_band"]) == {"insufficient_data"}, s["risk_band"].value_counts()


def test_report_says_no_training_data(device_only, tmp_path):
    store, _ = device_only
    run_report(store, as_of=AS_OF, out_path=tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text()
    assert "No training data this week" in html
    assert "no training data" in html
    row = html.split('<tr data-athlete="ben"', 1)[1].split("</tr>", 1)[0]  # the team table row
    section = html.split('<details class="athlete', 2)[1].split("</details>", 1)[0]  # ben's own section
    assert 'data-athlete="ben"' in section
    for part in (row, section):  # never low: not enough data, or no recent data (issue 16)
        assert 'class="band band-insufficient_data"' in part or 'class="band band-stale"' in part
        assert 'class="band band-low"' not in part and 'class="band band-moderate"' not in part
    assert "no training data" in row
    assert 'class="band band-low"' not in section and 'class="band band-moderate"' not in section
    assert "No training data this week" in section


def test_days_after_the_last_session_lose_coverage_after_a_week(tmp_path, sample_data_dir):
    inp = tmp_path / "inputs" / "ben"
    inp.mkdir(parents=True)
    for name in ("daily.csv", "sleep.csv", "sessions.csv"):
        shutil.copy(sample_data_dir / "inputs" / "ben" / name, inp / name)
    store = Store(tmp_path / "store")
    assert ingest_paths(store, [tmp_path / "inputs"], workers=1).ok
    last = store.read_table("sessions")["local_date"].max()
    as_of = last + timedelta(days=12)
    run_features(store, as_of=as_of)
    d = store.read_table("daily").sort("date")
    after = d.filter(pl.col("date") > last)
    # last + 1 .. last + 7: rest days (0 AU); last + 8 .. last + 12: no training data (null)
    assert after["load_au"].to_list() == [0.0] * 7 + [None] * 5
    assert after["load_covered"].to_list() == [True] * 7 + [False] * 5
    f = store.read_table("features").filter(pl.col("date") > last + timedelta(days=7))
    assert f["acwr_ewma"].null_count() == 5 and f["ctl"].null_count() == 5
    assert f["ctl_state"].null_count() == 0  # the recursion state is kept
