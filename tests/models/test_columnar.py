"""The columnar scorer equals the per-row scorer (the oracle), column for column (issue 19)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from models.columnar import NUMBER_COLUMNS, score_features_columnar, score_numbers
from models.rules import ScorerParams, score_features
from tests.budget import examples
from tests.models import synth


@lru_cache(maxsize=8)
def _base(seed: int, family: str) -> pl.DataFrame:
    daily = pl.concat(
        [synth.make_daily(f"a{seed}{k}", days=90, seed=seed * 10 + k, phys_ar=0.3).frame() for k in range(2)]
    )
    return synth.to_features(daily, load_family=family)


@st.composite
def feature_frames(draw):
    """Real FEATURES of two synthetic athletes, then red flags, pain, nulls, NaNs and gaps drawn on top."""
    f = _base(draw(st.integers(0, 3)), draw(st.sampled_from(["srpe", "tss", "hrss"])))
    n = f.height
    idx = st.integers(0, n - 1)
    rf = [None] * n
    for i in draw(st.lists(idx, max_size=6)):
        rf[i] = draw(st.booleans())
    pain = [None] * n
    streak = [None] * n
    rising = [None] * n
    for i in draw(st.lists(idx, max_size=25)):
        pain[i] = draw(st.sampled_from([0.0, 2.0, 3.0, 5.5, 6.0, 8.0, float("nan")]))
        streak[i] = draw(st.integers(0, 9))
        rising[i] = draw(st.booleans())
    f = f.with_columns(
        pl.Series("red_flag", rf, dtype=pl.Boolean),
        pl.Series("back_pain_0_10", pain, dtype=pl.Float64),
        pl.Series("back_pain_streak_d", streak, dtype=pl.Int32),
        pl.Series("back_pain_rising_3d", rising, dtype=pl.Boolean),
    )
    # nulls / NaN / zero load in some inputs, to reach the no-data and "nothing recorded" branches
    for col in draw(
        st.lists(
            st.sampled_from(
                [
                    "hrv_z",
                    "rhr_delta_bpm",
                    "rhr_z",
                    "sleep_7d_h",
                    "sleep_baseline_h",
                    "acwr_ewma",
                    "weekly_change_pct",
                    "monotony",
                    "acute_7d_au",
                    "data_coverage_7d",
                    "hard_day_streak",
                    "ctl_ramp_7d",
                ]
            ),
            max_size=5,
            unique=True,
        )
    ):
        lo = draw(idx)
        hi = lo + draw(st.integers(1, 40))
        fill = draw(st.sampled_from([None, 0.0, float("nan")]))
        if f.schema[col] == pl.Int32 and fill is not None:
            fill = None if fill != fill else 0
        i = pl.int_range(pl.len())
        f = f.with_columns(
            pl.when((i >= lo) & (i < hi)).then(pl.lit(fill, dtype=f.schema[col])).otherwise(pl.col(col)).alias(col)
        )
    # gaps: whole days missing
    drop = draw(st.lists(idx, max_size=10))
    f = f.with_row_index("_i").filter(~pl.col("_i").is_in(drop)).drop("_i")
    return f


params_st = st.builds(
    lambda hold, follow, coach, ratio, fam, after, high: ScorerParams(
        red_flag_hold_d=hold,
        red_flag_followup_d=follow,
        coach_sleep_need_h=coach,
        weekly_jump_min_ratio=ratio,
        tss_like_families=fam,
        back_pain_after_d=after,
        band_high=high,
    ),
    st.integers(0, 10),
    st.integers(0, 10),
    st.sampled_from([0.0, 7.0, 8.5]),
    st.sampled_from([0.0, 1.0, 1.2]),
    st.sampled_from([("tss", "hrss", "trimp100"), ("srpe",)]),
    st.integers(1, 6),
    st.sampled_from([60.0, 40.0]),
)


def _numbers_of(scores: pl.DataFrame) -> pl.DataFrame:
    return scores.select(NUMBER_COLUMNS)


@settings(
    max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(f=feature_frames(), p=params_st, start_off=st.one_of(st.none(), st.integers(0, 89)))
def test_columnar_numbers_equal_the_per_row_scorer(f, p, start_off):
    as_of = f["date"].max()
    start = None if start_off is None else f["date"].min() + timedelta(days=start_off)
    oracle_full = score_features(f, as_of=as_of, params=p)
    got = score_numbers(f, as_of=as_of, params=p, start=start)
    want = oracle_full if start is None else oracle_full.filter(pl.col("date") >= start)
    assert_frame_equal(got.select(NUMBER_COLUMNS), _numbers_of(want), check_exact=True)


@settings(
    max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(f=feature_frames(), p=params_st, start_off=st.one_of(st.none(), st.integers(0, 89)))
def test_columnar_scores_equal_the_per_row_scorer_bit_for_bit(f, p, start_off):
    as_of = f["date"].max()
    start = None if start_off is None else f["date"].min() + timedelta(days=start_off)
    oracle_full = score_features(f, as_of=as_of, params=p)
    want = oracle_full if start is None else oracle_full.filter(pl.col("date") >= start)
    got = score_features_columnar(f, as_of=as_of, params=p, start=start)
    assert_frame_equal(got, want, check_exact=True)


def test_red_flag_hold_streak_and_reasons_by_hand():
    """Hand-checked: a red flag holds 'high' for red_flag_hold_d days, an explicit false clears it."""
    f = _base(0, "srpe").filter(pl.col("athlete_id") == pl.col("athlete_id").first())
    d0 = f["date"].min() + timedelta(days=60)
    f = f.with_columns(
        pl.when(pl.col("date") == d0)
        .then(True)
        .when(pl.col("date") == d0 + timedelta(days=5))
        .then(False)
        .otherwise(None)
        .cast(pl.Boolean)
        .alias("red_flag")
    )
    p = ScorerParams(red_flag_hold_d=7)
    s = score_numbers(f, as_of=f["date"].max(), params=p).filter(pl.col("date").is_between(d0, d0 + timedelta(days=5)))
    assert s["risk_score"].to_list()[:5] == [100.0] * 5
    assert s["risk_band"].to_list()[:5] == ["high"] * 5
    assert all(r.startswith("red_flag") for r in s["reasons"].to_list()[:5])
    assert s["red_flag_held_since"].to_list()[1:5] == [d0] * 4
    assert s["red_flag_held_since"][5] is None and not s["reasons"][5].startswith("red_flag")
    assert s["high_streak_d"].to_list()[:5] == [1, 2, 3, 4, 5]


@pytest.fixture(scope="module")
def team_features(sample_data_dir, tmp_path_factory) -> pl.DataFrame:
    """FEATURES of the sample team (sample_data/inputs), through the real ingest and features stages."""
    from typer.testing import CliRunner

    from pipelines.cli import app
    from pipelines.store import Store

    inputs = sample_data_dir / "inputs"
    if not inputs.is_dir():
        pytest.skip("sample_data/inputs not generated")
    store = tmp_path_factory.mktemp("team") / "data"
    cfg = str(sample_data_dir / "strainwatch.toml")
    for args in (["ingest", str(inputs)], ["features", "--as-of", "2026-11-15"]):
        res = CliRunner().invoke(
            app, [*args, "--store", str(store), *(["--config", cfg] if args[0] != "ingest" else [])]
        )
        assert res.exit_code == 0, (args, res.output)
    return Store(store).read_table("features")


@pytest.mark.slow  # ingest + features of the sample team: ~13 s
@pytest.mark.parametrize("start_days_before", [None, 0, 6, 40])
def test_sample_team_columnar_equals_per_row_scorer(team_features, start_days_before):
    from datetime import date

    as_of = date(2026, 11, 15)
    start = None if start_days_before is None else as_of - timedelta(days=start_days_before)
    want = score_features(team_features, as_of=as_of, start=start)
    got = score_features_columnar(team_features, as_of=as_of, start=start)
    assert got.height == want.height > 0
    assert_frame_equal(got, want, check_exact=True)
    assert set(got["risk_band"]) >= {"low", "moderate", "high"}  # the team exercises the bands


def test_nightly_start_with_a_streak_longer_than_the_lookback_reads_the_whole_history():
    """80 red-flag days in a row: the high-band streak on the scored days starts long before the
    lookback window of a ``start`` run, so that athlete is scored on its whole history."""
    f = _base(1, "srpe")
    first = f["date"].min()
    f = f.with_columns(
        pl.when((pl.col("date") - first).dt.total_days() < 80)
        .then(True)
        .otherwise(None)
        .cast(pl.Boolean)
        .alias("red_flag")
    )
    as_of, start = f["date"].max(), first + timedelta(days=84)
    got = score_numbers(f, as_of=as_of, start=start)
    want = score_features(f, as_of=as_of).filter(pl.col("date") >= start)
    assert_frame_equal(got.select(NUMBER_COLUMNS), want.select(NUMBER_COLUMNS), check_exact=True)
    assert got.filter(pl.col("date") == start)["high_streak_d"].to_list() == [85, 85]  # days 0..84, both athletes
    full = score_features_columnar(f, as_of=as_of, start=start)
    assert_frame_equal(full, want, check_exact=True)
    # the lookback window alone would have cut the streak: the re-read is what makes it equal
    from models.columnar import _numbers

    lo = start - timedelta(days=max(8, 7, 7) + 36)
    cut = _numbers(f.filter(pl.col("date") >= lo), as_of, ScorerParams(), start)
    assert cut.filter(pl.col("date") == start)["high_streak_d"].to_list() != [85, 85]
