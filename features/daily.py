"""Stage 1 of the features: canonical tables -> DAILY, one row per athlete and local day.

Pure: polars in, polars out; ``as_of`` and every parameter are passed in.

Rules (``docs/design.md`` "Canonical tables" and "Features (output contract)";
domain brief sections 1-4)
---------------------------------------------------------------------------

Calendar
    One row per athlete and local calendar date, from the athlete's first day
    with any data (a session, a sleep record or a wellness row on or before
    ``as_of``) to ``as_of``. Days are local dates as the connectors wrote them
    (``sessions.local_date``, ``sleep.wake_date``, ``wellness.date``), so a
    daylight-saving change is just another day: a 23-h or 25-h day still has
    exactly one row, and durations come from the recorded seconds, never from
    wall-clock differences. A session without ``local_date`` gets
    ``start_utc + local_offset_s`` (UTC when the offset is unknown too).
Load
    ``load_au`` is the sum of the day's session loads; 0 on a day without
    sessions (a rest day) [R8] **when a session source covers the day**: from
    the athlete's first session to ``load_tail_days`` (7) days after the last
    one (:class:`features.params.FeatureParams`). Days before the first
    session, after that tail, and every day of an athlete without any session
    have no training data: ``load_au`` null, ``load_covered`` false (no data
    is not zero; an athlete with only device physiology never "trained 0").
    Device-detected everyday activity (``everyday`` from
    :func:`features.load.assign_session_loads`) is not training: it is left
    out of ``load_au``, ``n_sessions`` and ``duration_s`` and summed in
    ``everyday_min`` [min]. A session whose ``load_au`` is still null
    (after :func:`features.load.assign_session_loads`; only sessions without
    duration and without any measure) makes that day's ``load_au`` **null**:
    the day's load is unknown, not zero, and every rolling load window that
    contains it is null (see :mod:`features.compute`). ``n_sessions`` counts
    every session, ``duration_s`` sums the known durations. A negative
    ``load_au`` is an error.
Sleep
    A night belongs to its wake date. The main sleep of a day is the longest
    non-nap record (by ``asleep_s``) ending that day, after the cross-source
    de-duplication of :func:`features.merge.merge_duplicate_nights`; equally
    long records are ranked by ``sleep_source_priority`` then start time.
    ``sleep_h`` = its ``asleep_s`` / 3600 (when ``asleep_s`` is missing: deep +
    light + REM when all three are known), ``in_bed_h`` = its ``in_bed_s`` /
    3600 (when missing: ``end_utc - start_utc``, elapsed seconds, correct
    across a DST change). Naps are excluded from ``sleep_h`` and summed in
    ``nap_h`` (per source, then the largest source total, so a nap recorded by
    two devices counts once); ``nap_h`` is 0 on a day with a main sleep and no
    nap, null on a day without any sleep record.
Wellness
    Several rows for one day (two sources) are merged column by column:
    physiology (``rhr_bpm``, ``hrv_rmssd_ms``, ``hrv_sdnn_ms``) takes the
    values of the best-ranked source that has one (``wellness_source_priority``;
    unlisted sources rank after listed ones and tie), and the mean when
    equally ranked sources disagree; self-reports take the most cautious
    value: ``back_pain_0_10`` and ``soreness`` the maximum, ``red_flag`` true
    when any source says so, the monitoring items of
    :data:`features.schemas.SELF_REPORT_ITEMS` (1-5 or 0-10, low = the bad
    end) and ``sleep_reported_h`` the minimum. Values that cannot be physiological
    (``rhr_bpm`` <= 0, ``hrv_rmssd_ms`` <= 0, ``hrv_sdnn_ms`` <= 0: vendor
    "no reading" sentinels) are treated as missing. ``hrv_ln_rmssd`` =
    ln(rMSSD [ms]) [H1, H2].
Missing data
    Physiology of a day without data is null, never 0 and never carried
    forward from an earlier day.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from features.params import DEFAULT_PARAMS, FeatureParams
from features.schemas import DAILY, SELF_REPORT_ITEMS, SESSIONS, SLEEP, WELLNESS, SchemaError, conform, require

__all__ = ["build_daily", "session_family", "MIXED_FAMILY"]

#: ``load_family`` of a day (or window) whose loads come from several unit families.
MIXED_FAMILY = "mixed"


def _method_family() -> dict[str, str]:
    try:  # the FIT engineer's table; a features module, so a pure import
        from features.load import METHOD_FAMILY
    except ImportError:  # pragma: no cover - load.py is part of the package
        return {}
    return dict(METHOD_FAMILY)


def session_family(sessions: pl.DataFrame) -> pl.Expr:
    """Unit family of each session's ``load_au`` as an expression.

    ``load_family`` when the frame has it (written by
    :func:`features.load.assign_session_loads`), else the family of
    ``load_method`` (:data:`features.load.METHOD_FAMILY`), else null. Null for
    a session without load.
    """
    by_method = pl.col("load_method").replace_strict(_method_family(), default=None, return_dtype=pl.String)
    fam = pl.coalesce(pl.col("load_family"), by_method) if "load_family" in sessions.columns else by_method
    return pl.when(pl.col("load_au").is_not_null()).then(fam).otherwise(None)


def _rank_expr(priority: Sequence[str]) -> pl.Expr:
    """Rank of ``source`` in ``priority`` (0 best); unlisted sources rank ``len(priority)``."""
    return (
        pl.col("source")
        .replace_strict({s: i for i, s in enumerate(priority)}, default=len(priority), return_dtype=pl.Int32)
        .alias("_rank")
    )


def _check_athletes(athletes: Sequence[str] | None) -> list[str] | None:
    if athletes is None:
        return None
    if isinstance(athletes, str) or not all(isinstance(a, str) for a in athletes):
        raise ValueError(f"athletes must be a list of athlete_id strings, got {athletes!r}")
    return list(athletes)


def _daily_sessions(sessions: pl.DataFrame, as_of: date) -> pl.DataFrame:
    local = pl.col("local_date")
    if "local_offset_s" in sessions.columns:
        fallback = (
            (pl.col("start_utc") + pl.duration(seconds=pl.col("local_offset_s").fill_null(0)))
            .dt.replace_time_zone(None)
            .dt.date()
        )
    else:
        fallback = pl.col("start_utc").dt.replace_time_zone(None).dt.date()
    s = sessions.with_columns(pl.coalesce(local, fallback).alias("date"), session_family(sessions).alias("_fam"))
    s = s.filter(pl.col("date") <= as_of)
    every = pl.col("everyday").fill_null(False) if "everyday" in s.columns else pl.lit(False)
    s = s.with_columns(every.alias("_every"))
    bad = s.filter(pl.col("load_au") < 0)
    if bad.height:
        r = bad.row(0, named=True)
        raise ValueError(
            f"sessions: negative load_au {r['load_au']!r} for athlete {r['athlete_id']!r}, "
            f"session starting {r['start_utc']} in {r['source_file']!r}; loads must be >= 0 [AU]"
        )
    train = ~pl.col("_every")
    load = pl.col("load_au").filter(train)
    fam = pl.col("_fam").filter(train).drop_nulls()
    return s.group_by("athlete_id", "date").agg(
        pl.when(load.null_count() == 0).then(load.sum()).otherwise(None).alias("load_au"),
        train.sum().cast(pl.Int32).alias("n_sessions"),
        pl.col("duration_s").filter(train).sum().alias("duration_s"),
        pl.when(fam.n_unique() > 1).then(pl.lit(MIXED_FAMILY)).otherwise(fam.first()).alias("load_family"),
        (pl.col("duration_s").filter(pl.col("_every")).sum() / 60.0).alias("everyday_min"),
    )


def _load_coverage(sessions: pl.DataFrame, as_of: date, tail_days: int) -> pl.DataFrame:
    """Per athlete, the span of days its session sources cover: first session .. last + tail."""
    local = pl.col("local_date")
    if "local_offset_s" in sessions.columns:
        fallback = (
            (pl.col("start_utc") + pl.duration(seconds=pl.col("local_offset_s").fill_null(0)))
            .dt.replace_time_zone(None)
            .dt.date()
        )
    else:
        fallback = pl.col("start_utc").dt.replace_time_zone(None).dt.date()
    d = pl.coalesce(local, fallback)
    return (
        sessions.select("athlete_id", d.alias("date"))
        .filter(pl.col("date") <= as_of)
        .group_by("athlete_id")
        .agg(
            pl.col("date").min().alias("_cov_lo"), (pl.col("date").max() + pl.duration(days=tail_days)).alias("_cov_hi")
        )
    )


def _daily_sleep(sleep: pl.DataFrame, as_of: date, priority: Sequence[str]) -> pl.DataFrame:
    s = sleep.filter(pl.col("wake_date") <= as_of)
    for c in ("asleep_s", "in_bed_s"):
        bad = s.filter(pl.col(c) < 0)
        if bad.height:
            r = bad.row(0, named=True)
            raise ValueError(
                f"sleep: negative {c} {r[c]!r} for athlete {r['athlete_id']!r}, night starting "
                f"{r['start_utc']} in {r['source_file']!r}; durations must be >= 0 [s]"
            )
    elapsed_s = (pl.col("end_utc") - pl.col("start_utc")).dt.total_microseconds() / 1e6
    s = s.with_columns(
        pl.coalesce(pl.col("asleep_s"), pl.col("deep_s") + pl.col("light_s") + pl.col("rem_s")).alias("_asleep"),
        pl.coalesce(pl.col("in_bed_s"), pl.when(elapsed_s >= 0).then(elapsed_s)).alias("_in_bed"),
        _rank_expr(priority),
        pl.col("is_nap").fill_null(False).alias("_nap"),
    )
    main = (
        s.filter(~pl.col("_nap"))
        .sort(
            ["athlete_id", "wake_date", "_asleep", "_rank", "start_utc"],
            descending=[False, False, True, False, False],
            nulls_last=True,
        )
        .group_by("athlete_id", "wake_date", maintain_order=True)
        .first()
        .select(
            "athlete_id",
            pl.col("wake_date").alias("date"),
            (pl.col("_asleep") / 3600.0).alias("sleep_h"),
            (pl.col("_in_bed") / 3600.0).alias("in_bed_h"),
        )
    )
    naps = (
        s.filter(pl.col("_nap"))
        .group_by("athlete_id", "wake_date", "source")
        .agg(pl.col("_asleep").sum())
        .group_by("athlete_id", "wake_date")
        .agg((pl.col("_asleep").max() / 3600.0).alias("_nap_h"))
        .rename({"wake_date": "date"})
    )
    any_sleep = s.select("athlete_id", pl.col("wake_date").alias("date")).unique()
    return (
        any_sleep.join(main, on=["athlete_id", "date"], how="left")
        .join(naps, on=["athlete_id", "date"], how="left")
        .with_columns(pl.col("_nap_h").fill_null(0.0).alias("nap_h"))
        .drop("_nap_h")
    )


#: Wellness measures taken from the best-ranked source of the day (:func:`_daily_wellness`).
_BEST_OF = ("rhr_bpm", "hrv_rmssd_ms", "hrv_sdnn_ms")


def _daily_wellness(wellness: pl.DataFrame, as_of: date, priority: Sequence[str]) -> pl.DataFrame:
    w = wellness.filter(pl.col("date") <= as_of).with_columns(
        *(pl.when(pl.col(c) > 0).then(pl.col(c)).alias(c) for c in ("rhr_bpm", "hrv_rmssd_ms", "hrv_sdnn_ms")),
        _rank_expr(priority),
    )

    # per day and measure, the mean of the values of the best-ranked source that has one: the values
    # of other sources are masked first with a window (hash-grouped, vectorised), so that the
    # aggregation below is a plain mean (a filter inside the aggregation runs group by group)
    day = ("athlete_id", "date")
    best_rank = {c: pl.when(pl.col(c).is_not_null()).then(pl.col("_rank")).min().over(day) for c in _BEST_OF}
    w = w.with_columns(pl.when(pl.col("_rank") == best_rank[c]).then(pl.col(c)).alias(c) for c in _BEST_OF)

    def best(c: str) -> pl.Expr:
        return pl.col(c).mean().alias(c)

    return (
        w.group_by("athlete_id", "date")
        .agg(
            best("rhr_bpm"),
            best("hrv_rmssd_ms"),
            best("hrv_sdnn_ms"),
            pl.col("back_pain_0_10").max(),
            pl.col("soreness").max(),
            pl.col("red_flag").max(),
            # 1-5 / 0-10 self-reports: low is the bad end, so the most cautious value is the minimum
            *(pl.col(c).min() for c in SELF_REPORT_ITEMS),
            pl.col("sleep_reported_h").min(),
        )
        .with_columns(pl.col("hrv_rmssd_ms").log().alias("hrv_ln_rmssd"))
        .drop("hrv_rmssd_ms")
    )


def build_daily(
    sessions: pl.DataFrame,
    sleep: pl.DataFrame,
    wellness: pl.DataFrame,
    *,
    as_of: date,
    athletes: Sequence[str] | None = None,
    params: FeatureParams | None = None,
) -> pl.DataFrame:
    """Aggregate the canonical tables to one row per athlete and local day.

    Call :func:`features.merge.merge_duplicate_sessions`,
    :func:`features.merge.merge_duplicate_nights` and
    :func:`features.load.assign_session_loads` first (the store keeps every
    source's copy; :func:`pipelines.stage_features.run_features` does this).
    The rules for the calendar, load, sleep, wellness and missing data are in
    the module docstring.

    Parameters
    ----------
    sessions : polars.DataFrame
        Canonical ``sessions`` table (:data:`features.schemas.SESSIONS`);
        ``load_au`` [AU] as filled by the load stage.
    sleep : polars.DataFrame
        Canonical ``sleep`` table (:data:`features.schemas.SLEEP`), durations [s].
    wellness : polars.DataFrame
        Canonical ``wellness`` table (:data:`features.schemas.WELLNESS`).
    as_of : datetime.date
        Last local day of the calendar; later rows are ignored.
    athletes : list of str, optional
        Only these athletes (default: every athlete in the inputs).
    params : FeatureParams, optional
        Uses ``wellness_source_priority`` and ``sleep_source_priority``.

    Returns
    -------
    polars.DataFrame
        :data:`features.schemas.DAILY`, sorted by ``athlete_id``, ``date``:
        ``load_au`` [AU], ``n_sessions``, ``duration_s`` [s], ``rhr_bpm``
        [bpm], ``hrv_ln_rmssd`` [ln ms], ``hrv_sdnn_ms`` [ms], ``sleep_h``,
        ``in_bed_h``, ``nap_h`` [h], ``back_pain_0_10``, ``soreness`` [0-10],
        ``red_flag`` and ``load_family`` (unit family of the day's loads,
        ``"mixed"`` when several, null without sessions).

    Raises
    ------
    features.schemas.SchemaError
        An input lacks a column or has a wrong dtype.
    ValueError
        ``as_of`` is not a date, a load or a sleep duration is negative.

    Examples
    --------
    >>> from datetime import date, datetime, timezone
    >>> s = SESSIONS.empty().vstack(conform(pl.DataFrame({
    ...     "athlete_id": ["a"], "source": ["csv"],
    ...     "start_utc": [datetime(2025, 3, 1, 7, tzinfo=timezone.utc)],
    ...     "local_date": [date(2025, 3, 1)], "load_au": [300.0]}), SESSIONS))
    >>> d = build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 3))
    >>> d.select("date", "load_au", "rhr_bpm").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2025, 3, 1), 300.0, None), (datetime.date(2025, 3, 2), 0.0, None),
     (datetime.date(2025, 3, 3), 0.0, None)]
    """
    if not isinstance(as_of, date) or hasattr(as_of, "hour"):
        raise ValueError(f"as_of must be a datetime.date, got {as_of!r}")
    p = params or DEFAULT_PARAMS
    if not isinstance(p, FeatureParams):
        raise ValueError(f"params must be a FeatureParams, got {type(p).__name__}")
    require(sessions, SESSIONS)
    require(sleep, SLEEP)
    require(wellness, WELLNESS)
    if any(c not in wellness.columns for c in (*SELF_REPORT_ITEMS, "sleep_reported_h")):
        wellness = conform(wellness, WELLNESS)  # frames written before the self-report columns existed
    only = _check_athletes(athletes)
    if only is not None:
        sessions = sessions.filter(pl.col("athlete_id").is_in(only))
        sleep = sleep.filter(pl.col("athlete_id").is_in(only))
        wellness = wellness.filter(pl.col("athlete_id").is_in(only))
    for name, df in (("sessions", sessions), ("sleep", sleep), ("wellness", wellness)):
        if df["athlete_id"].null_count():
            raise SchemaError(f"{name}: {df['athlete_id'].null_count()} rows without athlete_id")

    ds = _daily_sessions(sessions, as_of)
    dz = _daily_sleep(sleep, as_of, p.sleep_source_priority)
    dw = _daily_wellness(wellness, as_of, p.wellness_source_priority)

    firsts = (
        pl.concat([ds.select("athlete_id", "date"), dz.select("athlete_id", "date"), dw.select("athlete_id", "date")])
        .group_by("athlete_id")
        .agg(pl.col("date").min().alias("first"))
    )
    if firsts.is_empty():
        return DAILY.empty()
    cal = (
        firsts.sort("athlete_id")
        .select("athlete_id", pl.date_ranges("first", pl.lit(as_of), interval="1d").alias("date"))
        .explode("date")
    )
    cov = _load_coverage(sessions, as_of, p.load_tail_days)
    covered = pl.col("date").is_between(pl.col("_cov_lo"), pl.col("_cov_hi")).fill_null(False)
    out = (
        cal.join(ds, on=["athlete_id", "date"], how="left")
        .join(dz, on=["athlete_id", "date"], how="left")
        .join(dw, on=["athlete_id", "date"], how="left")
        .join(cov, on="athlete_id", how="left")
        .with_columns(
            # a day absent from the session aggregate is a rest day (0) when a session source covers
            # it, else the day has no training data (null, never 0)
            pl.when(pl.col("n_sessions").is_null())
            .then(pl.when(covered).then(0.0))
            .otherwise(pl.col("load_au"))
            .alias("load_au"),
            pl.col("n_sessions").fill_null(0),
            pl.col("duration_s").fill_null(0.0),
            (covered | (pl.col("n_sessions").fill_null(0) > 0)).alias("load_covered"),
            pl.col("everyday_min").fill_null(0.0),
        )
        .sort("athlete_id", "date")
    )
    return conform(out.select(list(DAILY.columns)), DAILY)
