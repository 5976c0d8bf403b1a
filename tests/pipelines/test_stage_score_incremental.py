"""``run_scores(since=...)`` reads only the feature tail it needs and equals a full run bit for bit."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from models.rules import ScorerParams
from pipelines import stage_score
from pipelines.stage_score import read_features_for_scoring, run_scores, score_lookback_days
from pipelines.store import Store
from tests.budget import examples
from tests.models import synth

DAYS = 150


@pytest.fixture(scope="module")
def team_features() -> pl.DataFrame:
    athletes = [synth.make_daily(f"ath{i}", days=DAYS, seed=i, phys_ar=0.3, back_pain=True) for i in range(3)]
    synth.load_spike(athletes[0], 90, days=10, factor=2.5)
    synth.strained_recovery(athletes[1], 60, days=40)
    f = synth.to_features(pl.concat([a.frame() for a in athletes]), reference=True)
    # ath2: days 40-119 unmistakably high (load spike, HRV down, RHR up, full coverage): a high-band
    # streak (and an HRV+RHR streak) of 80 days, far longer than the walk-back budget, whose length
    # shows in the deload advice ("days": n); ath0: one red flag on day 130 (held 7 days)
    d0 = synth.START
    long = (pl.col("athlete_id") == "ath2") & pl.col("date").is_between(d0 + timedelta(40), d0 + timedelta(119))
    one_flag = (pl.col("athlete_id") == "ath0") & (pl.col("date") == d0 + timedelta(130))
    forced = [
        ("acwr_ewma", 2.5),
        ("hrv_z", -3.0),
        ("rhr_z", 3.0),
        ("data_coverage_7d", 1.0),
        ("weekly_change_pct", 60.0),
    ]
    f = f.with_columns(pl.when(long).then(pl.lit(v)).otherwise(pl.col(c)).alias(c) for c, v in forced)
    return f.with_columns(pl.when(one_flag).then(pl.lit(True)).otherwise(pl.col("red_flag")).alias("red_flag"))


def _full(tmp_path, feats: pl.DataFrame, as_of: date, name: str) -> pl.DataFrame:
    st = Store(tmp_path / name)
    st.replace_athletes("features", feats)
    run_scores(st, as_of=as_of)
    return st.read_table("scores")


@pytest.fixture(scope="module")
def full_scores(tmp_path_factory, team_features) -> pl.DataFrame:
    return _full(tmp_path_factory.mktemp("full"), team_features, team_features["date"].max(), "s")


def test_lookback_covers_the_scorer_windows():
    p = ScorerParams()
    # d-8 row, 7-day red-flag hold / follow-up, 28-day walk budget + the d-8 row of the deepest walked day
    assert score_lookback_days(p) == max(8, 7, 7) + 28 + 8
    assert score_lookback_days(p.replace(red_flag_hold_d=40)) == 40 + 28 + 8


@settings(max_examples=examples(12), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.one_of(st.integers(min_value=0, max_value=DAYS + 3), st.integers(min_value=95, max_value=125)))
def test_since_equals_full_run(tmp_path_factory, team_features, full_scores, k):
    """Stored scores from a full run, features unchanged: rescoring from any day changes nothing."""
    as_of = team_features["date"].max()
    since = synth.START + timedelta(days=k)
    st = Store(tmp_path_factory.mktemp("inc") / "s")
    st.replace_athletes("features", team_features)
    st.replace_athletes("scores", full_scores)
    r = run_scores(st, as_of=as_of, since=since)
    assert r.days_scored == team_features.filter(pl.col("date") >= since).height
    assert_frame_equal(st.read_table("scores"), full_scores, check_exact=True)


@pytest.mark.parametrize("k", [45, 100, 110, 118, 121, 125, 133, 137, 149])
def test_changed_tail_equals_full_run_of_the_changed_features(tmp_path, team_features, full_scores, k):
    """Features change from day k on (new data): since-run == full run over the new features."""
    as_of = team_features["date"].max()
    since = synth.START + timedelta(days=k)
    changed = team_features.with_columns(
        pl.when(pl.col("date") >= since).then(pl.col("hrv_z") - 2.5).otherwise(pl.col("hrv_z")).alias("hrv_z"),
        pl.when(pl.col("date") >= since)
        .then(pl.col("acwr_ewma") * 1.4)
        .otherwise(pl.col("acwr_ewma"))
        .alias("acwr_ewma"),
    )
    want = _full(tmp_path, changed, as_of, "want")
    st = Store(tmp_path / "inc")
    st.replace_athletes("features", changed)
    st.replace_athletes("scores", full_scores)  # scores of the old features
    run_scores(st, as_of=as_of, since=since)
    assert_frame_equal(st.read_table("scores"), want, check_exact=True)


def test_reads_only_the_tail_unless_a_streak_is_longer(tmp_path, team_features):
    p = ScorerParams()
    st = Store(tmp_path / "s")
    st.replace_athletes("features", team_features)
    lb = score_lookback_days(p)
    # day 140: ath2's streak ended on day 120: a short read for all
    since = synth.START + timedelta(days=140)
    f = read_features_for_scoring(st, ["ath0", "ath1", "ath2"], since=since, as_of=since, params=p)
    assert f.group_by("athlete_id").agg(pl.col("date").min())["date"].to_list() == [since - timedelta(lb)] * 3
    # day 110: ath2 has been 'high' since day 41 (69 days > the walk budget): read in full
    since = synth.START + timedelta(days=110)
    f = read_features_for_scoring(st, ["ath0", "ath1", "ath2"], since=since, as_of=since, params=p)
    firsts = dict(f.group_by("athlete_id").agg(pl.col("date").min()).iter_rows())
    assert firsts["ath2"] == synth.START
    assert firsts["ath0"] == since - timedelta(lb)


def test_small_walk_budget_still_exact(tmp_path, team_features, full_scores, monkeypatch):
    """With a 2-day walk budget most athletes fall back to a full read; the result is unchanged."""
    monkeypatch.setattr(stage_score, "SCORE_WALK_DAYS", 2)
    monkeypatch.setattr(stage_score.read_features_for_scoring, "__defaults__", (2,))
    as_of = team_features["date"].max()
    st = Store(tmp_path / "s")
    st.replace_athletes("features", team_features)
    st.replace_athletes("scores", full_scores)
    for k in (70, 100, 135):
        run_scores(st, as_of=as_of, since=synth.START + timedelta(days=k))
        assert_frame_equal(st.read_table("scores"), full_scores, check_exact=True)


def test_scoring_in_athlete_chunks_equals_one_chunk(tmp_path, team_features, full_scores, monkeypatch):
    """The rule scorer takes SCORE_CHUNK_ATHLETES at a time to bound a backfill's memory: with one
    athlete per chunk the stored scores, the run's counts and the recorded parameters are the same,
    for a full run and for an incremental one."""
    last = team_features["date"].max()
    monkeypatch.setattr(stage_score, "SCORE_CHUNK_ATHLETES", 1)
    st = Store(tmp_path / "chunked")
    st.replace_athletes("features", team_features)
    res = run_scores(st, as_of=last)
    assert_frame_equal(st.read_table("scores"), full_scores)
    assert res.days_scored == full_scores.height == 3 * DAYS
    assert res.bands == dict(full_scores.group_by("risk_band").len().iter_rows())
    assert set(st.get_state_map(stage_score.SCORER_PARAMS_KEY)) == {"ath0", "ath1", "ath2"}
    since = last - timedelta(days=20)
    inc = run_scores(st, as_of=last, since=since)
    assert_frame_equal(st.read_table("scores"), full_scores)
    assert inc.days_scored == 3 * 21
