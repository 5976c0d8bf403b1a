"""Columnar rule scorer: the numbers of :mod:`models.rules` as polars expressions (issue 19).

:func:`score_numbers` computes, for every athlete-day of a FEATURES frame and
with polars expressions over the whole frame (no per-day Python loop):

* the points, ``has_data`` and ``applicable`` of the nine components, with
  the d-1 / d-8 rows attached by shifts checked against the calendar date
  (a missing row is a missing row, as ``rows.get(d - 1)`` in the per-row
  scorer);
* the "nothing recorded" rule (``_idle``), ``coverage_points``, the possible
  points, the clipped sum, band, score and ``score_pct_of_coverage``;
* the fresh red flag, the red-flag hold (cleared by an explicit
  ``red_flag`` false) and the advice follow-up day, as forward fills of the
  last event over each athlete's rows;
* the high-band and HRV-and-RHR streaks, as run lengths over contiguous
  calendar days; a ``start``-limited run (the nightly case) computes over a
  lookback window and redoes an athlete on its whole history only when a
  streak reaches back to the window's start;
* the ``reasons`` codes, ordered by points, ties in component order.

It must equal :func:`models.rules.score_features` (the oracle) column for
column; ``tests/models/test_columnar.py`` checks that with hypothesis over
random athletes, parameters, red flags, gaps and ``start`` values and on the
sample team. Rounding uses Python's ``round`` on the distinct values (polars
rounds halves away from zero, Python to even on the exact binary value), and
divisions by a parameter divide by a column (:func:`_div`): polars may
multiply by the reciprocal instead, one ulp off Python's quotient.

The text columns ``components_json``, ``adjustments`` and ``adjustments_json``
are columnar too (:mod:`models.columnar_text`): polars string expressions over
the same wide frame, numbers printed as Python prints them, the advice JSON
built only on the rows that have advice; :func:`score_features_columnar`
returns the oracle's SCORES table bit for bit with no per-row Python. The
learned model's dataset (:func:`models.learned.build_dataset`) needs only the
numbers and uses :func:`score_numbers`; its labels are columnar as well.

Speed, measured on the shared 2-core machine (load average 8-12), one run each:

* ``python benchmarks/score.py`` (50 synthetic athletes x 3 years, 54,750
  athlete-days; three runs, figures vary with the load): old per-row scorer
  9.6-18.0 s; this module's full SCORES table 0.88-1.83 s (30,000-62,000
  rows/s, 9-11x), equal to the old scorer; the numbers alone 0.15-0.30 s.
  Against the bare ``compute_features`` (0.12-0.23 s) the full table is
  7.7-13.6x, not the 1.5x of issue 19: the numbers alone are 1.3-1.5x and
  printing ~1.6 kB of ``components_json`` per row is most of the rest.
  Nightly (last 7 days, 350 rows): 0.088-0.097 s, against 0.109-0.163 s with
  the texts rendered per row and 0.46-0.70 s for the old scorer.
* ``python benchmarks/scale.py`` (200 athletes x 3 years, the pipeline
  stages with their store reads and writes): score stage 7.74 s = 0.93x the
  features stage (8.36 s); it was 49.4 s with the texts per row.

A risk indicator, not a diagnosis.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from features.schemas import FEATURES, SCORES, conform, require
from models.components import NAMES, REGISTRY, columns_at, spec
from models.params import ScorerParams

__all__ = ["score_numbers", "score_features_columnar", "NUMBER_COLUMNS"]

#: columns of :func:`score_numbers` that equal the SCORES columns of the same name
NUMBER_COLUMNS = (
    "athlete_id",
    "date",
    "risk_score",
    "risk_band",
    "reasons",
    "coverage_points",
    "score_pct_of_coverage",
)

# FEATURES columns read from the d-1 row (the components' and the advice's) and from row d
# (the components', the red flag's and the "nothing recorded" rule's): models.components.REGISTRY
_LOAD_COLS = tuple(dict.fromkeys((*columns_at("d-1"), "acute_7d_au", "chronic_28d_au")))
_TODAY_COLS = tuple(
    dict.fromkeys(
        (
            *columns_at("d"),
            "back_pain_0_10",
            "back_pain_streak_d",
            "back_pain_rising_3d",
            "red_flag",
            "data_coverage_7d",
        )
    )
)
_NAMES = NAMES
#: the inputs :mod:`models.columnar_text` renders from: day d, the d-1 row (``l_*``), the d-8
#: 7-day load, and which components have data / apply (``idle``: "nothing recorded")
_WIDE = (
    *_TODAY_COLS,
    "sleep_h",
    *[f"l_{c}" for c in _LOAD_COLS],
    "w_acute_7d_au",
    *[f"has_{n}" for n in _NAMES],
    *[f"appl_{n}" for n in _NAMES],
    "idle",
)
_CLEARED = date(1900, 1, 1)  # "red_flag false reported": further back than any hold


def _f(name: str) -> pl.Expr:
    """A float input as the per-row scorer's ``_num`` reads it: NaN is null."""
    return pl.col(name).cast(pl.Float64).fill_nan(None)


def _div(num: pl.Expr, c: float) -> pl.Expr:
    """``num / c`` as Python divides: polars divides by a scalar as a product with its reciprocal
    (10.25 % -> 0.15000000000000002 points, Python 0.15: 0.2 after rounding, not 0.1), so divide by
    a column that holds ``c``."""
    return num / (pl.int_range(pl.len()).cast(pl.Float64) * 0.0 + c)


def _py_round(s: pl.Series, nd: int) -> pl.Series:
    """Python's ``round(x + 0.0, nd)`` of every value, computed once per distinct value."""
    u = s.drop_nulls().unique()
    if u.is_empty():
        return s
    new = pl.Series([round(float(v) + 0.0, nd) for v in u.to_list()], dtype=pl.Float64)
    return s.replace_strict(u, new, default=None, return_dtype=pl.Float64)


def weekly_jump_before_rebound(x: pl.Expr, p: ScorerParams) -> pl.Expr:
    """The weekly-jump points of a change of ``x`` % before the rebound rule (``models.rules.weekly_jump``)."""
    return (
        pl.when(x <= p.weekly_jump_start_pct)
        .then(0.0)
        .when(x <= p.weekly_jump_high_pct)
        .then(
            _div(
                p.weekly_jump_points_at_high * (x - p.weekly_jump_start_pct),
                p.weekly_jump_high_pct - p.weekly_jump_start_pct,
            )
        )
        .otherwise(p.weekly_jump_cap)
    )


def weekly_jump_rebound(pts: pl.Expr, acute: pl.Expr, chronic: pl.Expr, p: ScorerParams) -> pl.Expr:
    """A jump (``pts`` > 0) that only brings the 7-d load back to ``weekly_jump_min_ratio`` x the chronic
    weekly load: a rebound, not a progression (null where an input is null; only with a ratio > 0)."""
    return (pts > 0) & acute.is_not_null() & chronic.is_not_null() & (acute <= p.weekly_jump_min_ratio * chronic)


def _component_exprs(p: ScorerParams) -> dict[str, tuple[pl.Expr, pl.Expr, pl.Expr, float]]:
    """name -> (raw points before clamp/round, has_data, applicable, cap), in registry order; load
    columns are ``l_*``. The cap is the registry's (``models.components``), the points formula here."""
    T, F = pl.lit(True), pl.lit(False)
    out: dict[str, tuple[pl.Expr, pl.Expr, pl.Expr]] = {}

    x = _f("l_acwr_ewma")
    pts = (
        pl.when(x <= p.acwr_spike_start)
        .then(0.0)
        .when(x <= p.acwr_danger)
        .then(_div(p.acwr_points_at_danger * (x - p.acwr_spike_start), p.acwr_danger - p.acwr_spike_start))
        .otherwise(
            p.acwr_points_at_danger
            + (p.acwr_cap - p.acwr_points_at_danger)
            * pl.min_horizontal(pl.lit(1.0), _div(x - p.acwr_danger, p.acwr_max - p.acwr_danger))
        )
    )
    out["load_spike"] = (pl.when(x.is_null()).then(0.0).otherwise(pts), x.is_not_null(), T)

    x = _f("l_weekly_change_pct")
    acute, before, chronic = _f("l_acute_7d_au"), _f("w_acute_7d_au"), _f("l_chronic_28d_au")
    raw = weekly_jump_before_rebound(x, p)
    if p.weekly_jump_min_ratio > 0:
        raw = pl.when(weekly_jump_rebound(raw, acute, chronic, p).fill_null(False)).then(0.0).otherwise(raw)
    empty_before = x.is_null() & acute.is_not_null() & before.is_not_null() & (before == 0.0)
    pts = pl.when(x.is_not_null()).then(raw).when(empty_before & (acute > 0)).then(p.weekly_jump_cap).otherwise(0.0)
    out["weekly_jump"] = (pts, x.is_not_null() | empty_before.fill_null(False), T)

    x = _f("l_monotony")
    base = (
        pl.when(x > p.monotony_high)
        .then(p.monotony_high_points)
        .when(x > p.monotony_flag)
        .then(p.monotony_flag_points)
        .otherwise(0.0)
    )
    strain, p90 = _f("l_strain_au"), _f("l_strain_p90_au")
    base = base + pl.when((strain > p90).fill_null(False)).then(p.strain_points).otherwise(0.0)
    out["monotony"] = (
        pl.when(x.is_null()).then(0.0).otherwise(base),
        x.is_not_null() | (acute == 0.0).fill_null(False),
        T,
    )

    x = _f("l_hard_day_streak")
    out["hard_day_streak"] = (
        pl.when(x >= p.hard_day_min_streak).then(p.hard_day_points).otherwise(0.0),
        x.is_not_null(),
        T,
    )

    fam = pl.col("l_load_family").str.to_lowercase()
    appl = fam.is_in(list(p.tss_like_families)).fill_null(False)
    x = _f("l_ctl_ramp_7d")
    pts = (
        pl.when(x > p.ctl_ramp_high)
        .then(p.ctl_ramp_cap)
        .when(x > p.ctl_ramp_mild)
        .then(p.ctl_ramp_mild_points)
        .otherwise(0.0)
    )
    out["ctl_ramp"] = (
        pl.when(appl).then(pts.fill_null(0.0)).otherwise(0.0),
        appl & x.is_not_null(),
        appl,
    )

    x = _f("hrv_z")
    out["hrv"] = (
        pl.when(x < p.hrv_strong_z)
        .then(p.hrv_cap)
        .when(x < p.hrv_suppressed_z)
        .then(p.hrv_suppressed_points)
        .otherwise(0.0),
        x.is_not_null(),
        T,
    )

    d, z = _f("rhr_delta_bpm"), _f("rhr_z")
    flag = (d >= p.rhr_flag_bpm).fill_null(False) | (z >= p.rhr_flag_z).fill_null(False)
    mild = (d >= p.rhr_mild_bpm).fill_null(False) | (z >= p.rhr_mild_z).fill_null(False)
    out["rhr"] = (
        pl.when(flag).then(p.rhr_cap).when(mild).then(p.rhr_mild_points).otherwise(0.0),
        d.is_not_null() | z.is_not_null(),
        T,
    )

    mean, usual = _f("sleep_7d_h"), _f("sleep_baseline_h")
    debt, eff = _f("sleep_debt_7d_h"), _f("sleep_eff_7d_pct")
    deficit = 7.0 * (usual - mean)
    personal = (
        pl.when(deficit > p.sleep_debt_severe_h)
        .then(p.sleep_short_points + p.sleep_debt_points + p.sleep_debt_severe_points)
        .when(deficit > p.sleep_debt_h)
        .then(p.sleep_short_points + p.sleep_debt_points)
        .otherwise(0.0)
        .fill_null(0.0)
    )
    personal = (
        pl.when(mean < p.sleep_floor_h)
        .then(pl.max_horizontal(personal, pl.lit(p.sleep_short_points)))
        .otherwise(personal)
    )
    if p.coach_sleep_need_h > 0:
        need = pl.when(mean < p.coach_sleep_need_h).then(p.sleep_short_points).otherwise(0.0) + pl.when(
            debt > p.sleep_debt_severe_h
        ).then(p.sleep_debt_points + p.sleep_debt_severe_points).when(debt > p.sleep_debt_h).then(
            p.sleep_debt_points
        ).otherwise(0.0).fill_null(0.0)
        pts = pl.max_horizontal(personal, need)
    else:
        pts = pl.max_horizontal(personal, pl.lit(0.0))
    pts = pts + pl.when((eff < p.sleep_eff_min_pct).fill_null(False)).then(p.sleep_eff_points).otherwise(0.0)
    out["sleep"] = (pl.when(mean.is_null()).then(0.0).otherwise(pts), mean.is_not_null(), T)

    x = _f("back_pain_0_10")
    streak = pl.col("back_pain_streak_d").fill_null(0)
    rising = pl.col("back_pain_rising_3d").fill_null(False)
    scores = (x >= p.back_pain_min) & (streak >= p.back_pain_after_d)
    pts = pl.when(scores).then(p.back_pain_points + pl.when(rising).then(p.back_rising_points).otherwise(0.0))
    out["back_symptoms"] = (pts.otherwise(0.0).fill_null(0.0), x.is_not_null(), x.is_not_null())
    del F
    if set(out) != set(NAMES):  # a registry entry without its expression, or the reverse
        raise ValueError(f"models.columnar: expressions for {sorted(out)} differ from the registry's {list(NAMES)}")
    return {c.name: (*out[c.name], c.cap(p)) for c in REGISTRY}


def score_numbers(
    features: pl.DataFrame, *, as_of: date, params: ScorerParams | None = None, start: date | None = None
) -> pl.DataFrame:
    """The numbers of :func:`models.rules.score_features`, columnar.

    Returns
    -------
    polars.DataFrame
        :data:`NUMBER_COLUMNS` (equal to the oracle's SCORES columns) plus
        ``pts_<component>``, ``high_streak_d``, ``recovery_streak_d``,
        ``red_flag_fresh``, ``red_flag_held_since`` (the hold's red-flag day
        on an overridden day) and ``recent_red_flag`` (a fresh red-flag day
        within ``red_flag_followup_d`` before d), sorted by athlete and date.
    """
    p = params or ScorerParams()
    require(features, FEATURES)
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    return _numbers_between(features, as_of, p, start, wide=False)


def _numbers_between(
    features: pl.DataFrame, as_of: date, p: ScorerParams, start: date | None, *, wide: bool
) -> pl.DataFrame:
    """:func:`score_numbers` without the checks; ``wide`` keeps the inputs the texts need (:data:`_WIDE`)."""
    if start is None:
        return _numbers(features, as_of, p, None, wide=wide)
    # nightly case: read from ``lo`` only; an athlete whose streak at a scored day runs back
    # to within 9 days of ``lo`` (where the band of the day breaking it may lack its d-1 / d-8
    # rows) while older rows exist is scored again on its whole history
    lo = start - timedelta(days=max(8, p.red_flag_hold_d, p.red_flag_followup_d) + 28 + 8)
    out = _numbers(features.filter(pl.col("date") >= lo), as_of, p, start, wide=wide)
    run_start = pl.col("date") - pl.duration(days=pl.max_horizontal("high_streak_d", "recovery_streak_d"))
    short = out.filter(run_start < lo + timedelta(days=10))["athlete_id"].unique()
    if short.is_empty():
        return out
    older = features.filter(pl.col("athlete_id").is_in(short.implode()) & (pl.col("date") < lo))["athlete_id"].unique()
    if older.is_empty():
        return out
    again = _numbers(features.filter(pl.col("athlete_id").is_in(older.implode())), as_of, p, start, wide=wide)
    return pl.concat([out.filter(~pl.col("athlete_id").is_in(older.implode())), again]).sort("athlete_id", "date")


def _numbers(
    features: pl.DataFrame, as_of: date, p: ScorerParams, start: date | None, *, wide: bool = False
) -> pl.DataFrame:
    f = (
        features.lazy()
        .filter(pl.col("date") <= as_of)
        .select("athlete_id", "date", *_TODAY_COLS, *_LOAD_COLS, "sleep_h")
    )
    # the d-1 row, when present, is the row before (sorted, one row per athlete-day); the d-8 row
    # is one of the 8 rows before: no join needed
    f = f.sort("athlete_id", "date")
    same = [(pl.col("athlete_id").shift(k) == pl.col("athlete_id")).fill_null(False) for k in range(9)]
    prev_ok = same[1] & ((pl.col("date") - pl.col("date").shift(1)).dt.total_days() == 1).fill_null(False)
    wk_before = pl.coalesce(
        [
            pl.when(same[k] & ((pl.col("date") - pl.col("date").shift(k)).dt.total_days() == 8).fill_null(False)).then(
                pl.col("acute_7d_au").shift(k)
            )
            for k in range(1, 9)
        ]
    )
    g = f.with_columns(
        *[pl.when(prev_ok).then(pl.col(c).shift(1)).alias(f"l_{c}") for c in _LOAD_COLS],
        wk_before.alias("w_acute_7d_au"),
    )
    comps = _component_exprs(p)
    cols = []
    for n, (raw, has, appl, cap) in comps.items():
        cols += [raw.clip(0.0, cap).alias(f"raw_{n}"), has.alias(f"has_{n}"), appl.alias(f"appl_{n}")]
    g = g.with_columns(cols)
    # "nothing recorded": no sessions in the 7 days to d-1 and no device data in the 7 days to d
    cov = _f("data_coverage_7d")
    idle = (_f("l_acute_7d_au") == 0.0).fill_null(False) & (cov.is_null() | (cov == 0.0)).fill_null(False)
    for c in REGISTRY:
        if c.group == "device":
            idle = idle & ~pl.col(f"has_{c.name}")
    load_names = [c.name for c in REGISTRY if c.group == "load"]
    g = g.with_columns(idle.alias("idle"))
    g = g.with_columns(
        *[pl.when(pl.col("idle")).then(0.0).otherwise(pl.col(f"raw_{n}")).alias(f"raw_{n}") for n in load_names],
        *[(pl.col(f"has_{n}") & ~pl.col("idle")).alias(f"has_{n}") for n in load_names],
    ).collect()
    g = g.with_columns([_py_round(g[f"raw_{n}"], 1).alias(f"pts_{n}") for n in _NAMES])

    total = pl.lit(0.0)
    possible = pl.lit(0.0)
    coverage = pl.lit(0.0)
    for n in _NAMES:
        cap = comps[n][3]
        total = total + pl.col(f"pts_{n}")
        possible = possible + pl.when(pl.col(f"appl_{n}")).then(cap).otherwise(0.0)
        coverage = coverage + pl.when(pl.col(f"appl_{n}") & pl.col(f"has_{n}")).then(cap).otherwise(0.0)
    g = g.with_columns(
        pl.min_horizontal(pl.lit(100.0), total).alias("raw_points"),
        possible.alias("possible"),
        coverage.alias("coverage_points"),
    )
    g = g.with_columns(_py_round(g["raw_points"], 1).alias("points"))

    pain = _f("back_pain_0_10")
    fresh = (
        (pl.col("red_flag") == True).fill_null(False)  # noqa: E712
        | (
            (pain >= p.red_flag_pain)
            & pl.col("back_pain_rising_3d").fill_null(False)
            & (pl.col("back_pain_streak_d").fill_null(0) >= p.back_pain_after_d)
        ).fill_null(False)
    )
    said_no = (pl.col("red_flag") == False).fill_null(False)  # noqa: E712
    event = pl.when(pl.col("rf_fresh")).then(pl.col("date")).when(said_no).then(pl.lit(_CLEARED))
    g = g.with_columns(fresh.alias("rf_fresh"))
    g = g.with_columns(
        event.shift(1).forward_fill().over("athlete_id").alias("hold_day"),
        pl.when(pl.col("rf_fresh")).then(pl.col("date")).shift(1).forward_fill().over("athlete_id").alias("last_rf"),
    )
    held = (
        ~pl.col("rf_fresh")
        & ~said_no
        & pl.col("hold_day").is_not_null()
        & ((pl.col("date") - pl.col("hold_day")).dt.total_days() <= p.red_flag_hold_d)
    )
    insufficient = (pl.col("possible") <= 0) | (pl.col("coverage_points") < p.min_coverage_frac * pl.col("possible"))
    band_of = (
        pl.when(pl.col("points") >= p.band_high)
        .then(pl.lit("high"))
        .when(pl.col("points") >= p.band_moderate)
        .then(pl.lit("moderate"))
        .otherwise(pl.lit("low"))
    )
    flagged = pl.col("rf_fresh") | pl.col("held")
    g = g.with_columns(held.fill_null(False).alias("held"))
    g = g.with_columns(
        pl.when(flagged)
        .then(pl.lit("high"))
        .when(insufficient)
        .then(pl.lit("insufficient_data"))
        .otherwise(band_of)
        .alias("risk_band"),
        pl.when(flagged).then(100.0).when(insufficient).then(None).otherwise(pl.col("points")).alias("risk_score"),
        pl.when(pl.col("held")).then(pl.col("hold_day")).alias("red_flag_held_since"),
        pl.when((pl.col("date") - pl.col("last_rf")).dt.total_days() <= p.red_flag_followup_d)
        .then(pl.col("last_rf"))
        .alias("recent_red_flag"),
    )
    # reasons: fired components by points (descending), ties in component order
    # (rank of each fired component = fired components before it; then the code at each rank)
    pts = [pl.col(f"pts_{n}") for n in _NAMES]
    rank = []
    for i, pi in enumerate(pts):
        before = [((pj > pi) | ((pj == pi) & pl.lit(j < i))).cast(pl.Int32) for j, pj in enumerate(pts) if j != i]
        rank.append(pl.when(pi > 0).then(pl.sum_horizontal(before)))
    g = g.with_columns([r.alias(f"_rank_{n}") for r, n in zip(rank, _NAMES, strict=True)])
    at = []
    for k in range(len(_NAMES)):
        e = pl.lit(None, dtype=pl.String)
        for n in _NAMES:
            e = pl.when(pl.col(f"_rank_{n}") == k).then(pl.lit(spec(n).reason)).otherwise(e)
        at.append(e)
    g = g.with_columns(pl.concat_str(at, separator=";", ignore_nulls=True).alias("reasons_c"))
    g = g.with_columns(
        pl.when(flagged)
        .then(
            pl.concat_str(
                pl.lit("red_flag"),
                pl.when(pl.col("reasons_c") != "").then(pl.lit(";") + pl.col("reasons_c")).otherwise(pl.lit("")),
            )
        )
        .otherwise(pl.col("reasons_c"))
        .alias("reasons")
    )
    # streaks over contiguous calendar days
    contiguous = (pl.col("date").diff().over("athlete_id").dt.total_days() == 1).fill_null(False)
    g = g.with_columns(
        contiguous.alias("contig"),
        (pl.col("risk_band") == "high").alias("is_high"),
        ((pl.col("pts_hrv") > 0) & (pl.col("pts_rhr") > 0)).alias("is_recov"),
    )
    # a run restarts at a row that is not flagged or not the day after the row before (each
    # athlete's first row included): streak = rows since the restart (+1 if the restart row is flagged)
    i = pl.int_range(pl.len(), dtype=pl.Int64)
    streaks = []
    for flag_col, name in (("is_high", "high_streak_d"), ("is_recov", "recovery_streak_d")):
        reset = ~pl.col(flag_col) | ~pl.col("contig")
        last_i = pl.when(reset).then(i).forward_fill()
        last_flag = pl.when(reset).then(pl.col(flag_col)).forward_fill().cast(pl.Int64)
        streaks.append(pl.when(pl.col(flag_col)).then(i - last_i + last_flag).otherwise(0).alias(name))
    g = g.with_columns(streaks)
    pct = pl.when(pl.col("coverage_points") > 0).then(100.0 * pl.col("points") / pl.col("coverage_points"))
    g = g.with_columns(pct.alias("raw_pct"))
    g = g.with_columns(_py_round(g["raw_pct"], 1).alias("score_pct_of_coverage"))
    if start is not None:
        g = g.filter(pl.col("date") >= start)
    return g.select(
        *NUMBER_COLUMNS,
        *[f"pts_{n}" for n in _NAMES],
        "high_streak_d",
        "recovery_streak_d",
        pl.col("rf_fresh").alias("red_flag_fresh"),
        "red_flag_held_since",
        "recent_red_flag",
        *(_WIDE if wide else ()),
    )


def score_features_columnar(
    features: pl.DataFrame, *, as_of: date, params: ScorerParams | None = None, start: date | None = None
) -> pl.DataFrame:
    """The SCORES frame of :func:`models.rules.score_features`, bit for bit, every column columnar.

    The numbers come from :func:`score_numbers`, the text columns
    (``components_json``, ``adjustments``, ``adjustments_json``) from
    :func:`models.columnar_text.render_texts` over the same rows: polars
    expressions, no per-row Python.
    """
    from models.columnar_text import render_texts

    p = params or ScorerParams()
    require(features, FEATURES)
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    wide = _numbers_between(features, as_of, p, start, wide=True)
    if wide.is_empty():
        return SCORES.empty()
    texts = render_texts(wide, p)
    out = pl.concat([wide.select(NUMBER_COLUMNS), texts.drop("athlete_id", "date")], how="horizontal")
    out = out.with_columns(pl.lit("rules").alias("model"))
    return conform(out.select(SCORES.polars_schema.names()), SCORES).sort("athlete_id", "date")
