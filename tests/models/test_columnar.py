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


_WINDOW_VALUES = [
    ("acwr_ewma", [1.2, 1.3, 1.37375, 1.4125, 1.42025, 1.5, 1.625, 1.9, 2.5, 0.0]),
    ("weekly_change_pct", [5.0, 10.0, 10.25, 12.5, 12.75, 20.0, 30.0, 45.5, -100.0]),
    ("acute_7d_au", [0.0, 100.5, 2887.49, 3000.0, 12.125]),
    ("chronic_28d_au", [0.0, 100.0, 1500.5, 2200.25, 2887.49]),
    ("monotony", [1.5, 2.0, 2.125, 2.4, 2.6, 3.0]),
    ("strain_au", [900.0, 5000.5]),
    ("hard_day_streak", [0, 1, 2, 3, 5]),
    ("ctl_ramp_7d", [4.0, 5.25, 6.5, 8.0, 9.15]),
    ("load_family", ["tss", "TSS", "", "srpe", 'we"ird\\fam \u00e9', "trimp100"]),
    ("hrv_z", [-0.25, -0.5, -0.625, -1.0, -1.125, -2.5, 0.0, -0.0]),
    ("rhr_delta_bpm", [-0.04, 0.0, 2.25, 3.0, 4.5, 5.0, 7.05]),
    ("rhr_z", [0.5, 1.0, 1.5, 2.0, 2.125]),
    ("sleep_7d_h", [5.0, 5.95, 6.25, 7.0, 7.35]),
    ("sleep_baseline_h", [6.5, 7.125, 7.9, 8.0]),
    ("sleep_debt_7d_h", [0.0, 4.0, 5.5, 10.25, 12.0]),
    ("sleep_eff_7d_pct", [70.0, 84.5, 85.0, 92.0]),
    ("sleep_h", [4.0, 5.5, 5.99, 7.5]),
    ("back_pain_0_10", [2.0, 3.0, 4.25, 6.0, 7.5]),
    ("back_pain_streak_d", [1, 2, 4, 7, 10]),
    # HRV down with RHR up for days (easy day, then rest day), hard days with HRV down (two causes)
    (("hrv_z", "rhr_delta_bpm"), [(-1.2, 6.0), (-0.7, 3.5), (-1.5, 2.0)]),
    (("hard_day_streak", "hrv_z"), [(4, -1.3), (3, -0.7), (5, 0.5)]),
]


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
    # windows of values that make the components and the advice fire, rounding ties (x.125, x.5) and
    # odd load families (case, empty, quotes and non-ASCII for the JSON escaping)
    for cols, values in draw(st.lists(st.sampled_from(_WINDOW_VALUES), min_size=1, max_size=8)):
        lo = draw(idx)
        hi = lo + draw(st.integers(1, 12))
        v = draw(st.sampled_from(values))
        i = pl.int_range(pl.len())
        for col, x in zip(cols, v, strict=True) if isinstance(cols, tuple) else [(cols, v)]:
            f = f.with_columns(
                pl.when((i >= lo) & (i < hi)).then(pl.lit(x, dtype=f.schema[col])).otherwise(pl.col(col)).alias(col)
            )
    # gaps: whole days missing
    drop = draw(st.lists(idx, max_size=10))
    f = f.with_row_index("_i").filter(~pl.col("_i").is_in(drop)).drop("_i")
    return f


# parameters that change the texts and the advice (the others are covered by params_st)
text_params_st = st.builds(
    lambda base, acwr, need, coach, target, deload_d, rest_d, clin_d, poor, mono, lo_frac, cov: base.replace(
        acwr_spike_start=acwr[0],
        acwr_danger=acwr[1],
        sleep_need_h=need,
        coach_sleep_need_h=coach,
        target_acwr=target,
        deload_after_d=deload_d,
        rest_after_d=rest_d,
        back_pain_clinician_d=clin_d,
        poor_night_h=poor,
        monotony_flag=mono,
        deload_low_frac=lo_frac,
        min_coverage_frac=cov,
    ),
    st.deferred(lambda: params_st),
    st.sampled_from([(1.3, 1.5), (1.25, 1.45), (1.1, 1.35)]),
    st.sampled_from([8.0, 7.5]),
    st.sampled_from([0.0, 7.25, 8.0]),
    st.sampled_from([1.1, 0.95, 1.25]),
    st.integers(1, 4),
    st.integers(1, 3),
    st.integers(2, 8),
    st.sampled_from([6.0, 6.5]),
    st.sampled_from([2.0, 1.8]),
    st.sampled_from([0.4, 0.35, 0.5]),
    st.sampled_from([0.5, 0.3]),
)

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


def _check_every_column(f, p, start_off, stack_rows=None):
    from models import columnar_text

    if stack_rows is not None:  # small frames print their numbers stacked; 0: one expression per column
        saved, columnar_text.STACK_ROWS = columnar_text.STACK_ROWS, stack_rows
        try:
            return _check_every_column(f, p, start_off)
        finally:
            columnar_text.STACK_ROWS = saved
    as_of = f["date"].max()
    start = None if start_off is None else f["date"].min() + timedelta(days=start_off)
    oracle_full = score_features(f, as_of=as_of, params=p)
    want = oracle_full if start is None else oracle_full.filter(pl.col("date") >= start)
    got = score_features_columnar(f, as_of=as_of, params=p, start=start)
    assert_frame_equal(got, want, check_exact=True)


@settings(
    max_examples=examples(10), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    f=feature_frames(),
    p=text_params_st,
    start_off=st.one_of(st.none(), st.integers(0, 89)),
    stack_rows=st.sampled_from([None, 0]),
)
def test_columnar_scores_equal_the_per_row_scorer_bit_for_bit(f, p, start_off, stack_rows):
    """Every stored column, the three text columns included, equals the per-row scorer's."""
    _check_every_column(f, p, start_off, stack_rows)


@pytest.mark.slow  # ~45 s (80 examples)
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    f=feature_frames(),
    p=text_params_st,
    start_off=st.one_of(st.none(), st.integers(0, 89)),
    stack_rows=st.sampled_from([None, 0]),
)
def test_columnar_scores_equal_the_per_row_scorer_many_examples(f, p, start_off, stack_rows):
    _check_every_column(f, p, start_off, stack_rows)


@pytest.mark.parametrize(
    ("col", "value", "points"),
    [("weekly_change_pct", 10.25, 0.1), ("weekly_change_pct", 12.75, 1.6), ("acwr_ewma", 1.37375, 14.8)],
)
def test_points_divide_as_python_does(col, value, points):
    """12 x 0.25 / 20 is 0.15 in Python (0.1 after rounding) but 0.15000000000000002 as a product with
    1/20 (0.2); 40 x 0.07375 / 0.2 is 14.75 (a tie: 14.8), not 14.749999999999998 (14.7). The columnar
    scorer divides as Python does, so the points and the texts agree."""
    f = _base(0, "srpe").with_columns(pl.lit(value).alias(col), (pl.col("chronic_28d_au") * 2).alias("acute_7d_au"))
    as_of = f["date"].max()
    got = score_features_columnar(f, as_of=as_of)
    assert_frame_equal(got, score_features(f, as_of=as_of), check_exact=True)
    name = "weekly_jump" if col == "weekly_change_pct" else "load_spike"
    assert f'"component":"{name}","reason":' in got["components_json"][40]
    assert f'"points":{points},' in got["components_json"][40].split(f'"component":"{name}"')[1]


def test_cut_volume_and_deload_advice_equal_the_oracle():
    """ACWR 1.9 with this week at twice the chronic load: cut_volume with its target, and a deload
    once the high band has lasted 3 days (sleep and HRV pushed so the band is high)."""
    f = _base(1, "srpe").with_columns(
        pl.lit(1.9).alias("acwr_ewma"),
        pl.lit(40.0).alias("weekly_change_pct"),
        (pl.col("chronic_28d_au") * 2 + 0.125).alias("acute_7d_au"),
        pl.lit(-1.4).alias("hrv_z"),
    )
    as_of = f["date"].max()
    got = score_features_columnar(f, as_of=as_of)
    assert_frame_equal(got, score_features(f, as_of=as_of), check_exact=True)
    codes = set(";".join(got["adjustments"]).split(";"))
    assert {"cut_volume", "deload_week", "easy_day"} <= codes
    assert "Cut next week's training load to about " in "".join(got["adjustments_json"])


def test_a_changed_vocab_template_is_caught(monkeypatch):
    """The advice sentences come from models.vocab's templates; a template that prints a number
    differently from the columnar printing raises instead of storing a wrong sentence."""
    from models import columnar_text, vocab

    changed = dict(vocab.ADJUSTMENT_TEXT, vary_load="Monotony {monotony:.2f} above {threshold:.1f}.")
    monkeypatch.setattr(columnar_text, "ADJUSTMENT_TEXT", changed)
    with pytest.raises(ValueError, match="vary_load"):
        columnar_text._adjustments(ScorerParams())
    reworded = dict(vocab.ADJUSTMENT_TEXT, vary_load="Vary it: monotony {monotony:.1f} > {threshold:.1f}.")
    monkeypatch.setattr(columnar_text, "ADJUSTMENT_TEXT", reworded)
    columnar_text._adjustments(ScorerParams())  # a new wording with the same numbers is followed


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


# ---------------------------------------------------------------- the number printing of the text columns
_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(-1e4, 1e4),
    # exact binary ties and their neighbours (0.125, 2.5, 0.375 ...), where Python rounds half to even
    st.integers(-(10**6), 10**6).map(lambda n: n / 8.0),
    st.integers(-(10**6), 10**6).map(lambda n: n / 1000.0 + 0.0005),
    st.integers(-(10**5), 10**5).map(lambda n: n / 100.0),
    st.sampled_from([0.0, -0.0, 1e-5, -1e-5, 0.05, -0.05, 2.675, 1.005, 7.3, 2887.49, 1e15, -1e17, 5e-5]),
)


@settings(max_examples=150, deadline=None)
@given(
    xs=st.lists(_floats, min_size=1, max_size=60),
    nd=st.integers(0, 4),
    with_null=st.booleans(),
    stack=st.booleans(),
)
def test_printed_numbers_equal_python(xs, nd, with_null, stack):
    """The columnar printing of numbers equals Python's: _fmt, f"{x:.Nf}", json.dumps(round(x, N)), round."""
    import json
    import math

    from models.columnar_text import printed
    from models.rules import _fmt

    vals = [*xs, None] if with_null else xs
    s = pl.Series(vals, dtype=pl.Float64)
    finite = [v for v in vals if v is not None and math.isfinite(v)]
    assert printed(s, nd, "fmt", stack=stack).to_list() == [None if v is None else _fmt(v, nd) for v in vals]
    want = ["null" if v is None else json.dumps(round(v, nd)) for v in vals]
    assert printed(s, nd, "json", stack=stack).to_list() == want
    want = [None if v is None else f"{v:.{nd}f}" for v in vals]
    assert printed(s, nd, "fixed", stack=stack).to_list() == want
    got = printed(pl.Series(finite, dtype=pl.Float64), nd, "round", stack=stack).to_list()
    want = [round(v, nd) for v in finite]
    assert [(g, math.copysign(1, g)) for g in got] == [(w, math.copysign(1, w)) for w in want]


def test_stacked_printing_cuts_the_columns_back_in_place():
    """Several columns of one kind stacked and cut back: each column gets its own values, in order."""
    from models.columnar_text import _patch

    df = pl.DataFrame({"a": [0.125, 1.0, None, -2.5], "b": [3.14159, 0.375, 7.0, float("nan")], "c": [1.0] * 4})
    specs = [("fa", "a", 2, "fmt"), ("fb", "b", 2, "fmt"), ("jc", "c", 1, "json"), ("ja", "a", 1, "json")]
    stacked, columns = _patch(df, specs, stack=True), _patch(df, specs, stack=False)
    assert_frame_equal(stacked, columns)
    assert stacked["fa"].to_list() == ["0.12", "1", None, "-2.5"]
    assert stacked["fb"].to_list() == ["3.14", "0.38", "7", "nan"]
    assert stacked["jc"].to_list() == ["1.0"] * 4
    assert stacked["ja"].to_list() == ["0.1", "1.0", "null", "-2.5"]


def test_printed_numbers_by_hand():
    from models.columnar_text import printed

    s = pl.Series([0.125, 0.375, 2.5, -0.004, -0.0, 7.3, 1.005, 1e20, float("inf")])
    fmt2 = ["0.12", "0.38", "2.5", "0", "0", "7.3", "1", "100000000000000000000", "inf"]
    assert printed(s, 2, "fmt").to_list() == fmt2
    assert printed(s, 2, "fixed").to_list()[:5] == ["0.12", "0.38", "2.50", "-0.00", "-0.00"]
    assert printed(s, 0, "fixed").to_list()[:3] == ["0", "0", "2"]  # half to even
    assert printed(s, 1, "json").to_list() == ["0.1", "0.4", "2.5", "-0.0", "-0.0", "7.3", "1.0", "1e+20", "Infinity"]


@pytest.mark.parametrize("family", ["tss", "srpe"])
def test_weeks_with_nothing_recorded_equal_the_oracle(family):
    """No sessions in the 7 days to d-1 and no device data: the applicable load components say "nothing
    recorded" (models.rules.IDLE_WHY) with no value, CTL ramp of a non-TSS family stays not applicable."""
    from models.rules import IDLE_WHY

    f = _base(1, family)
    i = pl.int_range(pl.len())
    idle = ((i >= 30) & (i < 45)) | ((i >= 120) & (i < 128))
    f = f.with_columns(
        pl.when(idle).then(0.0).otherwise(pl.col("acute_7d_au")).alias("acute_7d_au"),
        pl.when(idle).then(0.0).otherwise(pl.col("data_coverage_7d")).alias("data_coverage_7d"),
        *[
            pl.when(idle).then(None).otherwise(pl.col(c)).alias(c)
            for c in ("hrv_z", "rhr_delta_bpm", "rhr_z", "sleep_7d_h")
        ],
    )
    for p in (ScorerParams(), ScorerParams(weekly_jump_min_ratio=0.0)):
        _check_every_column(f, p, None)
    js = score_features(f, as_of=f["date"].max())["components_json"]
    assert js.str.contains(IDLE_WHY, literal=True).sum() >= 10  # the branch is reached
