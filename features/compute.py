"""Stage 2 of the features: DAILY -> FEATURES (load spikes, fitness-fatigue, recovery).

Pure: polars in, polars out; ``as_of`` and every parameter are passed in
(:class:`features.params.FeatureParams`). The output is the features output
contract of ``docs/design.md`` followed by the extra columns the scorer needs
(:data:`features.schemas.FEATURES`). Where the domain brief and the contract
differ, **the contract wins**; the differences are noted below.

Formulas (day d, L = ``load_au``, A = 7, C = 28 by default)
-----------------------------------------------------------
Load [R8-R10, R14]
    ``acute_7d_au`` = sum L(d-A+1..d); ``chronic_28d_au`` = sum L(d-C+1..d) / (C/A);
    ``acwr`` = acute / chronic; ``acwr_uncoupled`` = acute / (sum L(d-C+1..d-A) / ((C-A)/A)).
    Null before C days of history (day index < C-1) or when the divisor is 0.
    ``acute_7d_au`` is null before A days of history and ``chronic_28d_au``
    before C days: the days before the athlete's first day are unknown, not 0.
EWMA ACWR [R11]
    ``E_d = lam L_d + (1 - lam) E_(d-1)``, ``lam = 2/(N+1)`` (N 7 and 28),
    without bias adjustment, **seeded with the first day's load** (the
    contract; the brief's "seed with the week-1 mean" is not used);
    ``acwr_ewma = E7 / E28``, null before C days of history or when E28 = 0.
    The two EWMAs are also output (``load_ewma_7d_au``, ``load_ewma_28d_au``).
Week-over-week [R17, R18]
    ``weekly_change_pct = 100 (acute_d / acute_(d-A) - 1)``, null when the
    divisor is 0 or null.
Monotony and strain [R19, R20]
    ``monotony`` = mean / sample SD (ddof 1) of the A daily loads d-A+1..d,
    capped at ``monotony_cap`` (10); 10 when SD = 0 and mean > 0; null when
    both are 0 or any load is null; ``strain_au = acute_7d_au * monotony``.
Fitness-fatigue [G2, I3]
    ``x_d = x_(d-1) + (1 - exp(-1/tau)) (L_d - x_(d-1))`` from x = 0 before the
    first day; tau 42 (``ctl``) and 7 (``atl``); ``tsb = ctl - atl`` on the
    same day (GoldenCheetah shows it the next day; the contract does not).
    ``ctl_ramp_7d = ctl_d - ctl_(d-7)`` [G2, T2].
Recovery [H1-H4, V2, V6]
    ``rhr_7d_bpm``, ``hrv_7d_ln`` = mean over d-6..d, null with fewer than
    ``min_valid_days`` (3) values [H3]; baseline = mean and sample SD of the
    values over d-60..d-1, null with fewer than 14 values [H4];
    ``rhr_z = (rhr_7d_bpm - baseline) / SD`` (same for ``hrv_z``), null when
    either is null or SD is 0 (below ``sd_rel_tol * |baseline|``);
    ``rhr_baseline_bpm``, ``hrv_baseline_ln`` are the baseline means and
    ``rhr_delta_bpm = rhr_7d_bpm - rhr_baseline_bpm``.
Sleep [S1-S4]
    ``sleep_7d_h`` = mean ``sleep_h`` over d-6..d (>= 3 nights);
    ``sleep_debt_7d_h`` = sum over d-6..d of max(0, need - ``sleep_h``), nights
    without data skipped, null when no night has data; ``sleep_eff_7d_pct`` =
    mean over d-6..d of 100 ``sleep_h / in_bed_h`` (>= 3 nights);
    ``sleep_baseline_h`` = the athlete's usual sleep, mean ``sleep_h`` over
    d-60..d-1 (>= 14 nights), as the RHR baseline [H4]; the scorer compares
    ``sleep_7d_h`` with it (``docs/scoring.md``).

Scorer extras (domain brief section 6)
--------------------------------------
``hard_day_streak``
    Consecutive days ending d with ``load_au`` > ``hard_day_factor`` (1.5) x
    the **previous day's** CTL (the day's own load has already raised its
    CTL; the previous day's value is the fitness the day was loaded against,
    as the PMC shows it). CTL starts from 0, so in the first weeks nearly
    every training day would be "hard": the streak is null before
    :attr:`FeatureParams.hard_day_warmup_days` (47) days of history, the time
    after which a day at a constant load no longer exceeds 1.5 x CTL
    (tau ln(f/(f-1)) = 46.1 d). A day with unknown (null) load is not hard.
``data_coverage_7d``
    Share of d-6..d (always divided by 7) with RHR or HRV present and sleep present.
``strain_p90_au``
    ``strain_quantile`` (0.9) quantile, linear interpolation, of the athlete's
    ``strain_au`` values on all days before d; null with fewer than 28 values.
``back_pain_0_10``, ``red_flag``
    The day's values (null without a report).
``back_pain_streak_d``
    Consecutive days ending d with ``back_pain_0_10`` >= 3; a day without a
    report breaks the streak; null when d has no report.
``back_pain_rising_3d``
    Pain strictly rose on each of the last 3 days (p_(d-3) < p_(d-2) < p_(d-1)
    < p_d, all four reported); null when d has no report.
``load_family``
    Unit family of the loads of d-41..d (``"mixed"`` when it changed inside
    the window, null without sessions), so the scorer applies TSS-unit CTL-ramp
    thresholds only to TSS-like series (brief sections 1 and 6).

Missing data
------------
A day that no session source covers (DAILY ``load_covered`` false: before the
athlete's first session, a week after the last, or an athlete without
sessions) has no training data: its load features (:data:`UNCOVERED_NULL`)
are null, never 0, whatever the windows hold; the CTL/ATL recursion state
is kept in ``ctl_state``/``atl_state``.
A day with null ``load_au`` (a session of unknown load) makes every rolling
load window containing it null (acute, chronic, both ACWRs, weekly change,
monotony, strain). The recursive series (CTL, ATL, the two EWMAs) cannot skip
a day: they treat it as load 0, as GoldenCheetah and intervals.icu treat any
day without a recorded load [G2, I3]. Physiology is never carried forward.

Incremental recomputation
-------------------------
:func:`update_features` recomputes only the days from a start date s onwards
per athlete, reading the DAILY rows s-H..s-1 (H =
:attr:`FeatureParams.history_days`, 61 by default: the 60-day baselines) and
the state of the stored row s-1 (CTL, ATL, both EWMAs, the two streaks) and
the athlete's earlier ``strain_au`` (for its quantile). Every window sum is
computed from shifted columns, never from a running sum, and the recursions
continue exactly from the stored state, so the result equals a full
recomputation bit for bit (``tests/features/test_incremental.py``).
:func:`continue_features` is the same computation for a caller that holds
only the DAILY rows from s-H and, before s-H, only the stored ``strain_au``
(``tests/features/test_continue.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta

import numpy as np
import polars as pl

from features.daily import MIXED_FAMILY
from features.params import DEFAULT_PARAMS, FeatureParams
from features.schemas import DAILY, FEATURES, SchemaError, conform, require

__all__ = ["compute_features", "update_features", "continue_features", "first_changed_dates", "complete_calendar"]

_EPOCH = date(1970, 1, 1)
_STATE_COLS = ("ctl", "atl", "load_ewma_7d_au", "load_ewma_28d_au", "hard_day_streak", "back_pain_streak_d")


# ---------------------------------------------------------------- helpers
def _check_common(as_of: date, params: FeatureParams | None) -> FeatureParams:
    if not isinstance(as_of, date) or hasattr(as_of, "hour"):
        raise ValueError(f"as_of must be a datetime.date, got {as_of!r}")
    p = params or DEFAULT_PARAMS
    if not isinstance(p, FeatureParams):
        raise ValueError(f"params must be a FeatureParams, got {type(p).__name__}")
    return p


def complete_calendar(daily: pl.DataFrame, *, as_of: date) -> pl.DataFrame:
    """DAILY restricted to ``as_of`` with one row per athlete and day, sorted.

    Rows after ``as_of`` are dropped. A day missing between the athlete's
    first row and ``as_of`` is added as a rest day (``load_au`` 0,
    ``n_sessions`` 0, ``duration_s`` 0) with null physiology, the DAILY
    meaning of "no session, no device data" (:func:`features.daily.build_daily`
    always returns a complete calendar; this only guards hand-made frames).

    Raises
    ------
    SchemaError
        When an athlete has two rows for one date, or a null ``athlete_id`` or ``date``.
    """
    require(daily, DAILY)
    d = daily.filter(pl.col("date") <= as_of)
    if d["athlete_id"].null_count() or d["date"].null_count():
        raise SchemaError("daily: rows with null athlete_id or date")
    d = conform(d, DAILY).select(list(DAILY.columns))
    if d.is_empty():
        return d
    if _is_complete(d, as_of):
        return d
    d = d.sort("athlete_id", "date")
    if _is_complete(d, as_of):
        return d
    span = d.group_by("athlete_id").agg(pl.col("date").min().alias("first"), pl.len().alias("n"))
    dup = d.filter(pl.struct("athlete_id", "date").is_duplicated())
    if dup.height:
        r = dup.row(0, named=True)
        raise SchemaError(f"daily: athlete {r['athlete_id']!r} has {dup.height} duplicate rows, e.g. {r['date']}")
    cal = (
        span.sort("athlete_id")
        .select("athlete_id", pl.date_ranges("first", pl.lit(as_of), interval="1d").alias("date"))
        .explode("date")
    )
    out = cal.join(d, on=["athlete_id", "date"], how="left").with_columns(
        pl.when(pl.col("n_sessions").is_null()).then(0.0).otherwise(pl.col("load_au")).alias("load_au"),
        pl.col("n_sessions").fill_null(0),
        pl.col("duration_s").fill_null(0.0),
    )
    return conform(out.sort("athlete_id", "date"), DAILY)


def _is_complete(d: pl.DataFrame, as_of: date) -> bool:
    """Sorted by athlete and date, one row per day, each athlete ending on ``as_of``."""
    a, t = pl.col("athlete_id"), pl.col("date").cast(pl.Int32)
    same_prev = (a == a.shift(1)).fill_null(False)
    same_next = (a == a.shift(-1)).fill_null(False)
    ok = d.select(
        (same_prev | (a > a.shift(1)).fill_null(True)).all().alias("sorted"),
        (~same_prev | ((t - t.shift(1)) == 1)).all().alias("consecutive"),
        (same_next | (pl.col("date") == as_of)).all().alias("ends"),
    )
    return all(ok.row(0))


def _sorted_within(d: pl.DataFrame) -> bool:
    """Dates strictly increase within each run of one athlete."""
    a, t = pl.col("athlete_id"), pl.col("date").cast(pl.Int32)
    same = (a == a.shift(1)).fill_null(False)
    return bool(d.select((~same | (t > t.shift(1))).all()).item())


def _days(d: date) -> int:
    return (d - _EPOCH).days


def _window_sums(df: pl.DataFrame, spec: Mapping[str, Sequence[int]], prefix: str = "_W") -> pl.DataFrame:
    """Add ``{prefix}{col}_{w}`` = sum of float ``col`` over the last w rows (this row included).

    Computed from shifted partial sums of power-of-two blocks (x, x+x[-1],
    ...), so the value of a row depends only on its w rows, not on where the
    frame starts (no running sum): the basis of the exact incremental update.
    The columns must have no nulls in the rows that matter.
    """
    top = max(max(w) for w in spec.values())
    powers = [1]
    while powers[-1] * 2 <= top:
        powers.append(powers[-1] * 2)
    tmp = lambda c, pw: f"__{c}__p{pw}"  # noqa: E731
    need = {c: max(w) for c, w in spec.items()}
    df = df.with_columns(pl.col(c).alias(tmp(c, 1)) for c in spec)
    for a, b in zip(powers, powers[1:], strict=False):
        exprs = [(pl.col(tmp(c, a)) + pl.col(tmp(c, a)).shift(a)).alias(tmp(c, b)) for c in spec if need[c] >= b]
        df = df.with_columns(exprs)
    exprs = []
    for c, windows in spec.items():
        for w in windows:
            offset, e = 0, None
            for pw in reversed(powers):
                if w - offset >= pw:
                    t = pl.col(tmp(c, pw)).shift(offset) if offset else pl.col(tmp(c, pw))
                    e = t if e is None else e + t
                    offset += pw
            exprs.append(e.alias(f"{prefix}{c}_{w}"))
    df = df.with_columns(exprs)
    return df.drop([tmp(c, pw) for c in spec for pw in powers if pw <= need[c]])


def _count_sums(df: pl.DataFrame, spec: Mapping[str, Sequence[int]], prefix: str = "_N") -> pl.DataFrame:
    """Add ``{prefix}{col}_{w}`` = number of true values of boolean ``col`` in the last w rows.

    Small integers are exact in float64 whatever the summation order, so the
    native rolling sum is history independent here.
    """
    return df.with_columns(
        pl.col(c).cast(pl.Float64).rolling_sum(w, min_samples=1).alias(f"{prefix}{c}_{w}")
        for c, ws in spec.items()
        for w in ws
    )


def _streak(flag: pl.Expr, state: pl.Expr) -> pl.Expr:
    """Run length of consecutive true ``flag`` per athlete, continuing ``state`` at rel = -1.

    Rows before rel = -1 reset the count (they belong to the history or to
    the previous athlete); the row rel = -1 carries the stored streak of the
    day before the recomputed range.
    """
    rel = pl.col("_rel")
    w = pl.when(rel >= 0).then(flag.cast(pl.Int64)).when(rel == -1).then(state).otherwise(0)
    reset = pl.when(rel >= 0).then(~flag).when(rel == -1).then(state == 0).otherwise(True)
    c = w.cum_sum()
    base = pl.when(reset).then(c).otherwise(None).forward_fill()
    return c - base


# ---------------------------------------------------------------- core
def _work_frame(
    daily: pl.DataFrame,
    starts: dict[str, date],
    as_of: date,
    h: int,
    first_days: Mapping[str, date] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows s-H..as_of per athlete, gathered from the complete, sorted DAILY.

    Rows before the athlete's first day are all null (pre-calendar padding),
    so every window and shift stays inside the athlete for rows >= s.
    ``first_days`` gives the athlete's first day when ``daily`` holds only a
    tail of its calendar (the day index ``_day`` counts from the true first
    day); the tail must then start on or before s-H.
    """
    ath = (
        daily.group_by("athlete_id", maintain_order=True)
        .agg(pl.col("date").first().alias("first"), pl.len().alias("n"))
        .with_columns(pl.col("n").cum_sum().shift(1, fill_value=0).alias("off"))
    )
    ath = ath.filter(pl.col("athlete_id").is_in(list(starts)))
    ath = ath.with_columns(
        pl.col("athlete_id").replace_strict(starts, return_dtype=pl.Date).alias("s"),
        pl.int_range(pl.len(), dtype=pl.Int32).alias("_g"),
    )
    frame_first = np.array([_days(x) for x in ath["first"]], dtype=np.int64)
    if first_days:
        first = np.array(
            [_days(first_days.get(a, f)) for a, f in zip(ath["athlete_id"], ath["first"], strict=True)], dtype=np.int64
        )
    else:
        first = frame_first
    s = np.array([_days(x) for x in ath["s"]], dtype=np.int64)
    if np.any((frame_first > first) & (frame_first > s - h)):
        raise ValueError(f"daily holds only a tail of a calendar that starts after start - {h} days")
    ath = ath.with_columns(pl.Series("_first", first.astype(np.int32)).cast(pl.Date))
    off = ath["off"].to_numpy().astype(np.int64)
    end = _days(as_of)
    m = end - s + 1 + h
    g = np.repeat(np.arange(len(m), dtype=np.int32), m)
    starts_k = np.concatenate([[0], np.cumsum(m)[:-1]]) if len(m) else np.zeros(0, np.int64)
    j = np.arange(int(m.sum()), dtype=np.int64) - np.repeat(starts_k, m)
    date_i = s[g] - h + j
    day_i = date_i - first[g]
    rel = date_i - s[g]
    pos = date_i - frame_first[g]
    idx = np.where((day_i >= 0) & (pos >= 0), off[g] + pos, -1)
    idx_s = pl.Series("_idx", idx, dtype=pl.Int64)
    idx_s = pl.select(pl.when(idx_s >= 0).then(idx_s).cast(pl.UInt32)).to_series()
    cols = [c for c in DAILY.columns if c not in ("athlete_id", "date")]
    work = daily.select(pl.col(cols).gather(idx_s))
    work = work.with_columns(
        pl.Series("_g", g),
        pl.Series("_day", day_i.astype(np.int32)),
        pl.Series("_rel", rel.astype(np.int32)),
        pl.Series("date", date_i.astype(np.int32)).cast(pl.Date),
    )
    return work, ath


def _with_start(previous: pl.DataFrame, ath: pl.DataFrame) -> pl.DataFrame:
    """Stored FEATURES rows of the athletes in ``ath``, with their ``_g`` and start ``s``."""
    ids = ath["athlete_id"].to_list()
    a = pl.col("athlete_id")
    return previous.filter(a.is_in(ids)).with_columns(
        a.replace_strict(ids, ath["_g"].to_list(), return_dtype=pl.Int32).alias("_g"),
        a.replace_strict(ids, ath["s"].to_list(), return_dtype=pl.Date).alias("s"),
    )


def _interleave(a: pl.DataFrame, ga: np.ndarray, b: pl.DataFrame, gb: np.ndarray, n_groups: int) -> pl.DataFrame:
    """Rows of ``a`` and ``b`` group by group (a's rows of a group before b's).

    ``ga`` and ``gb`` are the non-decreasing group numbers (0..n_groups-1) of
    the rows of ``a`` and ``b``; each frame is already sorted within a group.
    One gather instead of a sort of the concatenated frame.
    """
    ca = np.bincount(ga, minlength=n_groups)
    cb = np.bincount(gb, minlength=n_groups)
    oa = np.concatenate([[0], np.cumsum(ca)[:-1]])
    ob = np.concatenate([[0], np.cumsum(cb)[:-1]]) + len(ga)
    lens = np.column_stack([ca, cb]).ravel()
    starts = np.column_stack([oa, ob]).ravel()
    keep = lens > 0
    lens, starts = lens[keep], starts[keep]
    run0 = np.concatenate([[0], np.cumsum(lens)[:-1]])
    idx = np.repeat(starts - run0, lens) + np.arange(int(lens.sum()))
    both = pl.concat([a, b], how="vertical", rechunk=False)
    return both[pl.Series(idx, dtype=pl.UInt32)] if len(idx) else both.clear()


def _group_numbers(frame: pl.DataFrame, ids: list[str]) -> np.ndarray | None:
    """Position of each row's athlete in ``ids``; None unless the rows are grouped in that order."""
    if frame.is_empty():
        return np.zeros(0, dtype=np.int64)
    g = (
        frame.select(pl.col("athlete_id").replace_strict(ids, list(range(len(ids))), return_dtype=pl.Int64))
        .to_series()
        .to_numpy()
    )
    return g if bool(np.all(g[1:] >= g[:-1])) else None


def _states(work: pl.DataFrame, ath: pl.DataFrame, previous: pl.DataFrame | None, h: int) -> pl.DataFrame:
    """Add the state columns: ``_st_*`` on rel = -1 and ``_hist_ctl`` on rel < 0."""
    if previous is None or previous.is_empty():
        return work.with_columns(
            pl.when(pl.col("_rel") == -1).then(0.0).alias("_st_ctl"),
            pl.when(pl.col("_rel") == -1).then(0.0).alias("_st_atl"),
            pl.lit(None, pl.Float64).alias("_st_e7"),
            pl.lit(None, pl.Float64).alias("_st_e28"),
            pl.lit(0, pl.Int64).alias("_st_hard"),
            pl.lit(0, pl.Int64).alias("_st_pain"),
            pl.lit(None, pl.Float64).alias("_hist_ctl"),
        )
    prev = previous.filter(pl.col("date") >= pl.col("s") - pl.duration(days=h)).select(
        "_g",
        "date",
        pl.coalesce("ctl_state", "ctl").alias("_p_ctl"),
        pl.coalesce("atl_state", "atl").alias("_p_atl"),
        pl.col("load_ewma_7d_au").alias("_p_e7"),
        pl.col("load_ewma_28d_au").alias("_p_e28"),
        pl.col("hard_day_streak").cast(pl.Int64).alias("_p_hard"),
        pl.col("back_pain_streak_d").cast(pl.Int64).alias("_p_pain"),
    )
    work = work.join(prev, on=["_g", "date"], how="left", maintain_order="left")
    incr = ath.select("_g", (pl.col("s") > pl.col("_first")).alias("_incr"))
    work = work.join(incr, on="_g", how="left", maintain_order="left")
    last = pl.col("_rel") == -1
    inc = pl.col("_incr")
    return work.with_columns(
        pl.when(last).then(pl.when(inc).then(pl.col("_p_ctl")).otherwise(0.0)).alias("_st_ctl"),
        pl.when(last).then(pl.when(inc).then(pl.col("_p_atl")).otherwise(0.0)).alias("_st_atl"),
        pl.when(last & inc).then(pl.col("_p_e7")).alias("_st_e7"),
        pl.when(last & inc).then(pl.col("_p_e28")).alias("_st_e28"),
        pl.when(last & inc).then(pl.col("_p_hard").fill_null(0)).otherwise(0).alias("_st_hard"),
        pl.when(last & inc).then(pl.col("_p_pain").fill_null(0)).otherwise(0).alias("_st_pain"),
        pl.when(pl.col("_rel") < 0).then(pl.col("_p_ctl")).alias("_hist_ctl"),
    ).drop("_p_ctl", "_p_atl", "_p_e7", "_p_e28", "_p_hard", "_p_pain", "_incr")


def _core(work: pl.DataFrame, p: FeatureParams) -> pl.DataFrame:
    A, C, W = p.acute_days, p.chronic_days, p.mean_window_d
    B, F, R = p.baseline_days, p.family_window_d, p.ctl_ramp_days
    rel, day, L = pl.col("_rel"), pl.col("_day"), pl.col("load_au")
    fams = sorted(set(work["load_family"].drop_nulls().unique().to_list()) - {MIXED_FAMILY})

    eff = pl.when((pl.col("in_bed_h") > 0) & pl.col("sleep_h").is_not_null()).then(
        100.0 * pl.col("sleep_h") / pl.col("in_bed_h")
    )
    deficit = (p.sleep_need_h - pl.col("sleep_h")).clip(lower_bound=0.0)
    covered = (pl.col("rhr_bpm").is_not_null() | pl.col("hrv_ln_rmssd").is_not_null()) & pl.col("sleep_h").is_not_null()
    work = work.with_columns(eff.alias("_eff"))
    work = work.with_columns(
        L.fill_null(0.0).alias("_L0"),
        L.is_null().alias("_Lnull"),
        covered.alias("_cov"),
        # nulls add 0 to a sum: only present values count (divided by their number)
        pl.col("rhr_bpm").fill_null(0.0).alias("_rhr"),
        pl.col("hrv_ln_rmssd").fill_null(0.0).alias("_hrv"),
        pl.col("sleep_h").fill_null(0.0).alias("_sleep"),
        pl.col("_eff").fill_null(0.0).alias("_effz"),
        deficit.fill_null(0.0).alias("_def"),
        (pl.col("rhr_bpm") ** 2).fill_null(0.0).alias("_rhr2"),
        (pl.col("hrv_ln_rmssd") ** 2).fill_null(0.0).alias("_hrv2"),
        pl.col("rhr_bpm").is_not_null().alias("_nrhr"),
        pl.col("hrv_ln_rmssd").is_not_null().alias("_nhrv"),
        pl.col("sleep_h").is_not_null().alias("_nsleep"),
        pl.col("_eff").is_not_null().alias("_neff"),
    )
    # ---- window sums (shift-based, history independent)
    wb = sorted({W, B})
    work = _window_sums(
        work,
        {
            "_L0": sorted({A, C, C - A}),
            "_rhr": wb,
            "_hrv": wb,
            "_sleep": wb,
            "_effz": [W],
            "_def": [W],
            "_rhr2": [B],
            "_hrv2": [B],
        },
        "_S",
    )
    work = _count_sums(
        work, {"_Lnull": sorted({A, C}), "_nrhr": wb, "_nhrv": wb, "_nsleep": wb, "_neff": [W], "_cov": [W]}, "_N"
    )
    work = work.drop(
        "_rhr",
        "_hrv",
        "_sleep",
        "_effz",
        "_def",
        "_rhr2",
        "_hrv2",
        "_Lnull",
        "_nrhr",
        "_nhrv",
        "_nsleep",
        "_neff",
        "_cov",
        "_eff",
    )

    # ---- load windows
    acute = pl.when(pl.col(f"_N_Lnull_{A}") == 0).then(pl.col(f"_S_L0_{A}"))
    chronic_sum = pl.when(pl.col(f"_N_Lnull_{C}") == 0).then(pl.col(f"_S_L0_{C}"))
    unc_sum = pl.when(pl.col(f"_N_Lnull_{C}") == 0).then(pl.col(f"_S_L0_{C - A}").shift(A))
    work = work.with_columns(
        acute.alias("acute_7d_au"),
        (chronic_sum / (C / A)).alias("chronic_28d_au"),
        (unc_sum / ((C - A) / A)).alias("_unc"),
    )
    mean = pl.col("acute_7d_au") / A
    sq = None
    for k in range(A):
        t = (L.shift(k) - mean) ** 2
        sq = t if sq is None else sq + t
    work = work.with_columns(mean.alias("_mean"), (sq / (A - 1)).sqrt().alias("_sd")).drop(
        [c for c in work.columns if c.startswith(("_S_L0_", "_N_Lnull_"))]
    )
    warm = day >= C - 1
    mono = (
        pl.when(pl.col("acute_7d_au").is_null())
        .then(None)
        .when(pl.col("_sd") == 0)
        .then(pl.when(pl.col("_mean") > 0).then(p.monotony_cap))
        .otherwise(pl.min_horizontal(pl.col("_mean") / pl.col("_sd"), pl.lit(p.monotony_cap)))
    )
    prev_acute = pl.col("acute_7d_au").shift(A)

    # ---- recursions (exponential), continued from the rel = -1 state
    def rec(gain: float, state: str) -> pl.Expr:
        x = pl.when(rel >= 0).then(pl.col("_L0")).when(rel == -1).then(pl.col(state))
        return x.ewm_mean(alpha=gain, adjust=False, ignore_nulls=True).over("_g")

    work = work.with_columns(
        pl.when(warm & (pl.col("chronic_28d_au") > 0))
        .then(pl.col("acute_7d_au") / pl.col("chronic_28d_au"))
        .alias("acwr"),
        pl.when(warm & (pl.col("_unc") > 0)).then(pl.col("acute_7d_au") / pl.col("_unc")).alias("acwr_uncoupled"),
        pl.when(prev_acute > 0).then(100.0 * (pl.col("acute_7d_au") / prev_acute - 1.0)).alias("weekly_change_pct"),
        mono.alias("monotony"),
        rec(p.ctl_gain, "_st_ctl").alias("_ctl"),
        rec(p.atl_gain, "_st_atl").alias("_atl"),
        rec(p.ewma_acute_lambda, "_st_e7").alias("load_ewma_7d_au"),
        rec(p.ewma_chronic_lambda, "_st_e28").alias("load_ewma_28d_au"),
    )
    work = work.with_columns(
        (pl.col("acute_7d_au") * pl.col("monotony")).alias("strain_au"),
        pl.when(rel >= 0).then(pl.col("_ctl")).otherwise(pl.col("_hist_ctl")).alias("ctl"),
        pl.when(rel >= 0).then(pl.col("_atl")).alias("atl"),
        pl.when(warm & (pl.col("load_ewma_28d_au") > 0))
        .then(pl.col("load_ewma_7d_au") / pl.col("load_ewma_28d_au"))
        .alias("acwr_ewma"),
    )

    # ---- recovery means and baselines
    minv, minb = p.min_valid_days, p.baseline_min_values

    def mean7(c: str) -> pl.Expr:
        n = pl.col(f"_N_n{c}_{W}")
        return pl.when(n >= minv).then(pl.col(f"_S_{c}{'z' if c == 'eff' else ''}_{W}") / n)

    def baseline(c: str) -> tuple[pl.Expr, pl.Expr]:
        n = pl.col(f"_N_n{c}_{B}").shift(1)
        s = pl.col(f"_S_{c}_{B}").shift(1)
        qq = pl.col(f"_S_{c}2_{B}").shift(1)
        m = pl.when(n >= minb).then(s / n)
        var = pl.when(n >= minb).then(((qq - s * s / n) / (n - 1)).clip(lower_bound=0.0))
        return m, var.sqrt()

    rb, rsd = baseline("rhr")
    hb, hsd = baseline("hrv")
    # the athlete's usual sleep: mean over d-B..d-1 (the same window and minimum as the RHR baseline)
    n_sl = pl.col(f"_N_nsleep_{B}").shift(1)
    sleep_base = pl.when(n_sl >= minb).then(pl.col(f"_S_sleep_{B}").shift(1) / n_sl)
    tol = p.sd_rel_tol
    work = work.with_columns(
        mean7("rhr").alias("rhr_7d_bpm"),
        mean7("hrv").alias("hrv_7d_ln"),
        mean7("sleep").alias("sleep_7d_h"),
        mean7("eff").alias("sleep_eff_7d_pct"),
        pl.when(pl.col(f"_N_nsleep_{W}") >= 1).then(pl.col(f"_S_def_{W}")).alias("sleep_debt_7d_h"),
        (pl.col(f"_N_cov_{W}") / W).alias("data_coverage_7d"),
        rb.alias("rhr_baseline_bpm"),
        rsd.alias("_rhr_sd"),
        hb.alias("hrv_baseline_ln"),
        hsd.alias("_hrv_sd"),
        sleep_base.alias("sleep_baseline_h"),
    )
    work = work.drop([c for c in work.columns if c.startswith(("_S_", "_N_"))])

    def z(c7: str, b: str, sd: str) -> pl.Expr:
        return pl.when(pl.col(sd) > tol * pl.col(b).abs()).then((pl.col(c7) - pl.col(b)) / pl.col(sd))

    hard_warm = day >= p.hard_day_warmup_days - 1
    hard = (hard_warm & (L > p.hard_day_factor * pl.col("ctl").shift(1))).fill_null(False)
    pain = pl.col("back_pain_0_10")
    painful = (pain >= p.back_pain_threshold).fill_null(False)
    rising = pl.lit(True)
    for k in range(p.back_pain_rising_days):
        rising = rising & (pain.shift(k) > pain.shift(k + 1)).fill_null(False)
    work = work.with_columns(
        (pl.col("ctl") - pl.col("atl")).alias("tsb"),
        (pl.col("ctl") - pl.col("ctl").shift(R)).alias("ctl_ramp_7d"),
        z("rhr_7d_bpm", "rhr_baseline_bpm", "_rhr_sd").alias("rhr_z"),
        z("hrv_7d_ln", "hrv_baseline_ln", "_hrv_sd").alias("hrv_z"),
        (pl.col("rhr_7d_bpm") - pl.col("rhr_baseline_bpm")).alias("rhr_delta_bpm"),
        pl.when(hard_warm).then(_streak(hard, pl.col("_st_hard"))).cast(pl.Int32).alias("hard_day_streak"),
        pl.when(pain.is_not_null())
        .then(_streak(painful, pl.col("_st_pain")))
        .cast(pl.Int32)
        .alias("back_pain_streak_d"),
        pl.when(pain.is_not_null()).then(rising).alias("back_pain_rising_3d"),
    )

    # ---- unit family of the loads feeding the CTL window
    codes = {f: i for i, f in enumerate(fams)}
    codes[MIXED_FAMILY] = len(fams)
    inv = {i: f for f, i in codes.items()}
    code = pl.col("load_family").replace_strict(codes, default=None, return_dtype=pl.Int32)
    work = work.with_columns(code.alias("_fc"))
    big = len(codes) + 1
    lo_raw = pl.col("_fc").fill_null(big).rolling_min(F, min_samples=1)
    hi = pl.col("_fc").fill_null(-1).rolling_max(F, min_samples=1)
    lo = pl.when(lo_raw < big).then(lo_raw)
    fam_code = pl.when(lo != hi).then(codes[MIXED_FAMILY]).otherwise(lo)
    names = pl.Series([inv[i] for i in range(len(inv))], dtype=pl.String)
    fam = pl.lit(names).gather(fam_code)
    return work.with_columns(fam.alias("load_family"))


#: Load features that are null on a day no session source covers (DAILY ``load_covered`` false).
UNCOVERED_NULL = (
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
    "ctl_ramp_7d",
    "hard_day_streak",
)


def _mask_uncovered(out: pl.DataFrame) -> pl.DataFrame:
    """Null the load features of days without training data; keep the CTL/ATL state apart.

    The recursions ran through such a day with load 0 (as through any day of
    unknown load); ``ctl_state``/``atl_state`` keep those values so that an
    incremental run continues from them exactly as the full run does.
    """
    cov = pl.col("load_covered").fill_null(True)
    return out.with_columns(
        pl.col("ctl").alias("ctl_state"),
        pl.col("atl").alias("atl_state"),
        *(pl.when(cov).then(pl.col(c)).alias(c) for c in UNCOVERED_NULL),
        cov.alias("load_covered"),
    )


def _strain_quantile(values: pl.DataFrame, p: FeatureParams) -> pl.DataFrame:
    """Add ``strain_p90_au``: quantile of the athlete's strain on all days before d.

    ``values`` holds ``_g``, ``date``, ``strain_au`` sorted by athlete and day.
    The expanding quantile (linear interpolation) runs over the non-null values
    only (the fast kernel); each day then takes the quantile as of the last
    non-null day before it, when the athlete has at least
    ``strain_min_values`` earlier values.
    """
    strain = values["strain_au"]
    present = strain.is_not_null().to_numpy()
    nn = values.filter(pl.col("strain_au").is_not_null())
    n = max(nn.group_by("_g").len()["len"].max() or 1, p.strain_min_values)
    q_nn = (
        nn.select(
            pl.col("strain_au")
            .rolling_quantile(p.strain_quantile, interpolation="linear", window_size=n, min_samples=p.strain_min_values)
            .over("_g")
        )
        .to_series()
        .to_numpy()
    )
    size = values.height
    q = np.full(size, np.nan)
    q[np.flatnonzero(present)] = q_nn
    g = values["_g"].to_numpy()
    first = np.ones(size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    cnt = np.cumsum(present)
    base = np.maximum.accumulate(np.where(first, cnt - present, 0))
    before = cnt - present - base  # earlier non-null values of the same athlete
    last = np.where(~np.isnan(q), np.arange(size), -1)
    last = np.maximum.accumulate(last)
    prev = np.empty(size, dtype=np.int64)
    prev[0] = -1
    prev[1:] = last[:-1]
    ok = (before >= p.strain_min_values) & (prev >= 0)
    out = np.where(ok, q[np.maximum(prev, 0)], np.nan)
    return values.with_columns(pl.Series("strain_p90_au", out).fill_nan(None))


def _compute(
    daily: pl.DataFrame,
    starts: dict[str, date],
    previous: pl.DataFrame | None,
    as_of: date,
    p: FeatureParams,
    first_days: Mapping[str, date] | None = None,
) -> pl.DataFrame:
    if not starts:
        return FEATURES.empty()
    h = p.history_days
    work, ath = _work_frame(daily, starts, as_of, h, first_days)
    if previous is not None and not previous.is_empty():
        # stored rows before each athlete's start s, with the athlete's number _g
        previous = _with_start(previous, ath).filter(pl.col("date") < pl.col("s"))
    work = _states(work, ath, previous, h)
    keep = [c for c in FEATURES.columns if c not in ("athlete_id", "strain_p90_au")] + ["_g"]
    out = _mask_uncovered(_core(work, p).filter(pl.col("_rel") >= 0)).select(keep)
    # strain quantile over the whole history: stored values before s, new ones from s
    strain = out.select("_g", "date", "strain_au", pl.lit(True).alias("_new"))
    if previous is not None and not previous.is_empty():
        old = previous.select("_g", "date", "strain_au", pl.lit(False).alias("_new"))
        if old.height:
            strain = _interleave(old, old["_g"].to_numpy(), strain, strain["_g"].to_numpy(), ath.height)
    strain = _strain_quantile(strain, p).filter(pl.col("_new"))
    names = ath["athlete_id"]
    out = out.with_columns(
        strain["strain_p90_au"].alias("strain_p90_au"),
        pl.lit(names).gather(pl.col("_g")).alias("athlete_id"),
    )
    return conform(out.select(list(FEATURES.columns)), FEATURES)


#: Rows of the working frame (days incl. history) computed at once; bounds peak memory.
CHUNK_ROWS = 250_000


def _compute_chunked(
    daily: pl.DataFrame,
    starts: dict[str, date],
    previous: pl.DataFrame | None,
    as_of: date,
    p: FeatureParams,
    chunk_rows: int | None = None,
    first_days: Mapping[str, date] | None = None,
) -> pl.DataFrame:
    """:func:`_compute` over groups of whole athletes of about ``chunk_rows`` working rows.

    Athletes are independent, so the result is the same as one call; only the
    peak memory (the working frame holds some 60 temporary columns) changes.
    """
    if not starts:
        return FEATURES.empty()
    chunk_rows = chunk_rows or CHUNK_ROWS
    counts = daily.group_by("athlete_id", maintain_order=True).len()
    ids, ns = counts["athlete_id"].to_list(), counts["len"].to_list()
    offs = dict(zip(ids, np.concatenate([[0], np.cumsum(ns)[:-1]]).tolist(), strict=True))
    size = dict(zip(ids, ns, strict=True))
    chunks: list[list[str]] = []
    cur: list[str] = []
    rows = 0
    for a in ids:
        if a not in starts:
            continue
        m = (as_of - starts[a]).days + 1 + p.history_days
        if cur and rows + m > chunk_rows:
            chunks.append(cur)
            cur, rows = [], 0
        cur.append(a)
        rows += m
    if cur:
        chunks.append(cur)
    extra = (first_days,) if first_days else ()
    if len(chunks) == 1:
        return _compute(daily, starts, previous, as_of, p, *extra)
    prev_parts: dict[int, pl.DataFrame] = {}
    if previous is not None and not previous.is_empty():
        which = {a: i for i, ch in enumerate(chunks) for a in ch}
        tagged = previous.filter(pl.col("athlete_id").is_in(list(which))).with_columns(
            pl.col("athlete_id").replace_strict(which, return_dtype=pl.Int32).alias("_chunk")
        )
        prev_parts = {k[0]: v.drop("_chunk") for k, v in tagged.partition_by("_chunk", as_dict=True).items()}
    parts = []
    for i, ch in enumerate(chunks):
        lo = offs[ch[0]]
        hi = offs[ch[-1]] + size[ch[-1]]
        parts.append(
            _compute(daily.slice(lo, hi - lo), {a: starts[a] for a in ch}, prev_parts.get(i), as_of, p, *extra)
        )
    return pl.concat(parts, rechunk=False)


# ---------------------------------------------------------------- public API
def compute_features(daily: pl.DataFrame, *, as_of: date, params: FeatureParams | None = None) -> pl.DataFrame:
    """Compute FEATURES from DAILY for every athlete, from the first day to ``as_of``.

    The formulas, null rules and references are in the module docstring
    (the features output contract of ``docs/design.md``; domain brief sections
    2-4: [R8]-[R20], [G2], [I3], [H1]-[H4], [S1]-[S4], [V2], [V6]).

    Parameters
    ----------
    daily : polars.DataFrame
        :data:`features.schemas.DAILY` (from :func:`features.daily.build_daily`),
        ``load_au`` [AU], ``rhr_bpm`` [bpm], ``hrv_ln_rmssd`` [ln ms], ``sleep_h``,
        ``in_bed_h`` [h]. Rows after ``as_of`` are ignored; missing days are
        rest days without physiology (:func:`complete_calendar`).
    as_of : datetime.date
        Last day to compute.
    params : FeatureParams, optional
        Windows, time constants and thresholds (default :data:`DEFAULT_PARAMS`).

    Returns
    -------
    polars.DataFrame
        :data:`features.schemas.FEATURES`: one row per athlete and day, contract
        columns first, sorted by ``athlete_id`` and ``date``.

    Raises
    ------
    features.schemas.SchemaError
        ``daily`` lacks a column, has a wrong dtype or duplicate days.
    ValueError
        ``as_of`` or ``params`` is invalid.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> days = [date(2025, 1, 1) + timedelta(days=i) for i in range(30)]
    >>> d = conform(pl.DataFrame({"athlete_id": ["a"] * 30, "date": days,
    ...     "load_au": [100.0] * 30, "n_sessions": [1] * 30}), DAILY)
    >>> f = compute_features(d, as_of=days[-1])
    >>> f.select("acute_7d_au", "chronic_28d_au", "acwr", "monotony").row(-1)
    (700.0, 700.0, 1.0, 10.0)
    """
    p = _check_common(as_of, params)
    d = complete_calendar(daily, as_of=as_of)
    if d.is_empty():
        return FEATURES.empty()
    firsts = dict(d.group_by("athlete_id").agg(pl.col("date").min()).iter_rows())
    return _compute_chunked(d, firsts, None, as_of, p)  # in the order of d: by athlete, then date


def _runs(h: pl.DataFrame) -> pl.DataFrame | None:
    """Per athlete (in row order): first date, offset and length; None unless each
    athlete's rows are one contiguous run of consecutive days."""
    a, t = pl.col("athlete_id"), pl.col("date").cast(pl.Int32)
    same = (a == a.shift(1)).fill_null(False)
    if not h.select((~same | ((t - t.shift(1)) == 1)).all()).item():
        return None
    runs = h.group_by("athlete_id", maintain_order=True).agg(pl.col("date").first().alias("first"), pl.len().alias("n"))
    if runs["n"].sum() != h.height or runs["athlete_id"].n_unique() != runs.height:
        return None
    return runs.with_columns(pl.col("n").cum_sum().shift(1, fill_value=0).alias("off"))


def _positional_changes(hn: pl.DataFrame, ho: pl.DataFrame) -> dict[str, date | None] | None:
    """First changed day per athlete by comparing row hashes position by position.

    Works when both frames hold complete calendars (one run of consecutive days
    per athlete, the usual case for DAILY); returns None otherwise.
    """
    rn, ro = _runs(hn), _runs(ho)
    if rn is None or ro is None:
        return None
    old = {a: (f, off, n) for a, f, n, off in ro.iter_rows()}
    out: dict[str, date | None] = {}
    seg_n, seg_o, seg_len, seg_who = [], [], [], []
    for a, f, n, off in rn.iter_rows():
        if a not in old:
            out[a] = f
            continue
        fo, offo, no = old[a]
        if fo != f:
            out[a] = min(f, fo)
            continue
        length = min(n, no)
        out[a] = None if n == no else f + timedelta(days=length)
        if length:
            seg_n.append(off)
            seg_o.append(offo)
            seg_len.append(length)
            seg_who.append(a)
    if seg_len:
        lens = np.array(seg_len)
        run0 = np.concatenate([[0], np.cumsum(lens)[:-1]])
        j = np.arange(int(lens.sum())) - np.repeat(run0, lens)
        a_new = hn["_h"].to_numpy()[np.repeat(np.array(seg_n), lens) + j]
        a_old = ho["_h"].to_numpy()[np.repeat(np.array(seg_o), lens) + j]
        pos = np.where(a_new != a_old, j, np.iinfo(np.int64).max)
        first_bad = np.minimum.reduceat(pos, run0)
        firsts = dict(zip(rn["athlete_id"].to_list(), rn["first"].to_list(), strict=True))
        for a, k in zip(seg_who, first_bad.tolist(), strict=True):
            if k != np.iinfo(np.int64).max:
                out[a] = firsts[a] + timedelta(days=k)
    return out


def first_changed_dates(new_daily: pl.DataFrame, old_daily: pl.DataFrame) -> dict[str, date | None]:
    """Per athlete of ``new_daily``: the first date whose DAILY row is new or changed.

    Compares a 64-bit hash of every DAILY column of a row (nulls equal; a
    hash collision, probability about 1e-19 per row, would hide a change).
    ``None`` means the athlete's rows are identical in both frames. A row present only in ``old_daily``
    (for example after data were removed) counts as a change at its date.

    Returns
    -------
    dict of str to datetime.date or None
    """
    require(new_daily, DAILY)
    require(old_daily, DAILY)
    cols = list(DAILY.columns)
    rest = [c for c in cols if c not in ("athlete_id", "date")]
    new = conform(new_daily, DAILY).select(cols)
    ids = new["athlete_id"].unique().to_list()
    old = conform(old_daily, DAILY).select(cols).filter(pl.col("athlete_id").is_in(ids))

    def hashed(df: pl.DataFrame) -> pl.DataFrame:
        return df.select("athlete_id", "date", pl.struct(rest).hash(seed=5).alias("_h"))

    hn, ho = hashed(new), hashed(old)
    fast = _positional_changes(hn, ho)
    if fast is not None:
        return fast
    j = hn.join(ho, on=["athlete_id", "date"], how="full", coalesce=True, suffix="_old")
    changed = (
        j.filter(pl.col("_h").is_null() | pl.col("_h_old").is_null() | (pl.col("_h") != pl.col("_h_old")))
        .group_by("athlete_id")
        .agg(pl.col("date").min())
    )
    out: dict[str, date | None] = {x: None for x in new["athlete_id"].unique().to_list()}
    out.update(dict(changed.iter_rows()))
    return out


def update_features(
    daily: pl.DataFrame,
    previous: pl.DataFrame,
    *,
    as_of: date,
    since: Mapping[str, date | None],
    params: FeatureParams | None = None,
) -> pl.DataFrame:
    """Recompute FEATURES only from a start date per athlete, reusing stored rows.

    For an athlete with ``since[a] = s``, the rows before s come from
    ``previous`` unchanged and the rows s..``as_of`` are recomputed from the
    DAILY rows s-H..``as_of`` (H = ``params.history_days``) and the state of the
    stored row s-1 (see "Incremental recomputation" in the module docstring).
    The result equals :func:`compute_features` on the same DAILY when
    ``previous`` was computed by it with the same ``params`` from a DAILY whose
    rows before s equal these.

    An athlete is recomputed in full when ``since`` has no entry for it, when
    ``previous`` does not hold every day from the athlete's first day to s-1,
    or when s is the first day. ``since[a] = None`` (nothing changed) keeps
    the stored rows and recomputes only days after the last stored one.

    Parameters
    ----------
    daily : polars.DataFrame
        Complete DAILY of the athletes to update (earlier rows may be
        omitted only if they are unchanged; they are read for the lookback).
    previous : polars.DataFrame
        Stored FEATURES of (some of) these athletes, with the optional state
        columns ``load_ewma_7d_au``, ``load_ewma_28d_au``.
    as_of : datetime.date
        Last day to compute.
    since : mapping of str to datetime.date or None
        First changed day per athlete (:func:`first_changed_dates`).
    params : FeatureParams, optional
        Must be the parameters ``previous`` was computed with.

    Returns
    -------
    polars.DataFrame
        FEATURES of every athlete in ``daily``, all days to ``as_of``, sorted.
    """
    p = _check_common(as_of, params)
    d = complete_calendar(daily, as_of=as_of)
    if d.is_empty():
        return FEATURES.empty()
    require(previous, FEATURES)
    prev = conform(previous, FEATURES).filter(pl.col("date") <= as_of)
    spans = d.group_by("athlete_id").agg(pl.col("date").min().alias("first"))
    pspans = prev.group_by("athlete_id").agg(
        pl.col("date").min().alias("pfirst"), pl.col("date").max().alias("plast"), pl.len().alias("pn")
    )
    info = spans.join(pspans, on="athlete_id", how="left")
    starts: dict[str, date] = {}
    for a, first, pfirst, plast, pn in info.iter_rows():
        s = since.get(a, first) if a in since else first
        if s is None:  # unchanged daily: only the days after the stored ones
            s = (plast + timedelta(days=1)) if plast is not None else first
        contiguous = pfirst is not None and pn == (plast - pfirst).days + 1
        if s <= first or not contiguous or pfirst != first or plast < s - timedelta(days=1):
            s = first
        if s > as_of:  # nothing to recompute
            continue
        starts[a] = s
    ids = spans["athlete_id"].sort().to_list()
    a = pl.col("athlete_id")
    keep = prev.filter(a.is_in(ids))
    if starts:
        s_of = a.replace_strict(list(starts), list(starts.values()), default=None, return_dtype=pl.Date)
        keep = keep.filter(s_of.is_null() | (pl.col("date") < s_of))
    keep = conform(keep.select(list(FEATURES.columns)), FEATURES)
    gk = _group_numbers(keep, ids)
    if gk is None or not _sorted_within(keep):
        keep = keep.sort("athlete_id", "date")
        gk = _group_numbers(keep, ids)
    # the stored rows before s are the state and history of the recomputed days
    fresh = _compute_chunked(d, starts, keep.filter(a.is_in(list(starts))), as_of, p)
    if keep.is_empty():
        return fresh
    if fresh.is_empty():
        return keep
    # both are grouped by athlete (in ids order) and sorted by date within: interleave, no sort
    return _interleave(keep, gk, fresh, _group_numbers(fresh, ids), len(ids))


def continue_features(
    daily_tail: pl.DataFrame,
    previous: pl.DataFrame,
    *,
    as_of: date,
    since: Mapping[str, date],
    first_days: Mapping[str, date],
    params: FeatureParams | None = None,
) -> pl.DataFrame:
    """FEATURES rows ``since[a]..as_of`` from a DAILY tail and the stored rows before ``since[a]``.

    The lower-level form of :func:`update_features` for a caller that reads
    only what the recomputed days need: for athlete a with s = ``since[a]``,

    * ``daily_tail`` holds the complete DAILY rows from s-H (H =
      :attr:`FeatureParams.history_days`; from ``first_days[a]`` when that is
      later) to ``as_of``;
    * ``previous`` holds the stored FEATURES rows of every day from
      ``first_days[a]`` to s-1; rows before s-H only need ``date`` and
      ``strain_au`` (the expanding ``strain_p90_au`` quantile reads every
      earlier strain value), the other columns may be null there.

    Under those conditions the rows returned equal the rows s..``as_of`` of
    :func:`compute_features` on the whole DAILY bit for bit, provided
    ``previous`` was computed with the same ``params`` from a DAILY whose rows
    before s equal these (``tests/features/test_incremental.py``).

    Returns
    -------
    polars.DataFrame
        FEATURES rows ``since[a]..as_of`` of the athletes in ``since``,
        sorted by athlete and date.

    Raises
    ------
    ValueError
        A condition above does not hold (the message names the athlete).
    """
    p = _check_common(as_of, params)
    h = p.history_days
    ids = sorted(a for a, s in since.items() if s <= as_of)
    if not ids:
        return FEATURES.empty()
    d = complete_calendar(daily_tail.filter(pl.col("athlete_id").is_in(ids)), as_of=as_of)
    require(previous, FEATURES)
    prev = conform(previous, FEATURES).filter(pl.col("athlete_id").is_in(ids))
    dspan = dict(d.group_by("athlete_id").agg(pl.col("date").min()).iter_rows())
    one = timedelta(days=1)
    prev = prev.filter(
        pl.col("date") < pl.col("athlete_id").replace_strict(ids, [since[a] for a in ids], return_dtype=pl.Date)
    )
    pspan = {a: (f, n) for a, f, n in prev.group_by("athlete_id").agg(pl.col("date").min(), pl.len()).iter_rows()}
    for a in ids:
        s, first = since[a], first_days[a]
        if s <= first:
            raise ValueError(f"athlete {a!r}: start {s} is not after the first day {first}")
        lo = max(first, s - timedelta(days=h))
        if dspan.get(a) is None or dspan[a] > lo:
            raise ValueError(f"athlete {a!r}: daily_tail must start on or before {lo}, starts {dspan.get(a)}")
        pf, pn = pspan.get(a, (None, 0))
        if pf != first or pn != (s - first).days:  # one row per day (the FEATURES key is unique)
            raise ValueError(f"athlete {a!r}: previous must hold every day from {first} to {s - one}")
    if not _sorted_within(prev) or _group_numbers(prev, ids) is None:
        prev = prev.sort("athlete_id", "date")
    return _compute_chunked(d, {a: since[a] for a in ids}, prev, as_of, p, first_days={a: first_days[a] for a in ids})
