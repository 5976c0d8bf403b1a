"""The feature stage: read the canonical tables, write ``daily`` and ``features``.

The only I/O around the pure functions of :mod:`features`:

1. read ``sessions``, ``sleep`` and ``wellness`` of the athletes from the store,
   keeping rows on or before ``as_of`` (so nothing later leaks into a
   per-athlete choice such as the load unit family);
2. :func:`prepare_inputs`: de-duplicate workouts and nights recorded by several
   sources (:func:`features.merge.merge_duplicate_sessions`,
   :func:`features.merge.merge_duplicate_nights`), then fill the session loads
   by the fallback chain (:func:`features.load.assign_session_loads`, with the
   athletes' HR references from :func:`features.load.hr_reference_from_history`
   overridden by the roster's ``hr_rest_bpm`` / ``hr_max_bpm`` / ``sex``);
3. :func:`features.daily.build_daily` -> DAILY;
4. FEATURES, **incrementally**: the new DAILY is compared with the stored one
   (:func:`features.compute.first_changed_dates`); an athlete whose rows did
   not change before day s is recomputed only from s, continuing from the
   stored feature row s-1 (:func:`features.compute.update_features`); an
   athlete without stored features, or when the parameters changed since the
   stored features were computed (fingerprint per athlete in the store state
   map ``features.params``, updated atomically per athlete), is recomputed in full;
5. write ``features`` first and ``daily`` second with
   :meth:`pipelines.store.Store.replace_athletes` (atomic per athlete), so a
   run killed between the two leaves a stored DAILY older than the stored
   FEATURES, which the next run detects as changed and recomputes.

The tail path (an incremental night)
------------------------------------
With ``since`` (the nightly flow's dirty mark) the steps above would still
read and rebuild every athlete's whole history. Instead, for each athlete
whose stored features were computed with the same parameters and hold one
row per day up to ``since - 1``, :func:`_run_tail` reads only what the days
``since..as_of`` need (H = :attr:`features.params.FeatureParams.history_days`,
61 days by default: the 60-day baselines, the chronic, family and
week-over-week windows; t0 = since - H):

* stored FEATURES rows t0..since-1 (the state of row since-1, the CTL history
  of the ramp) and, before t0, only ``strain_au`` (the expanding quantile);
* DAILY rebuilt from t0 (a DAILY row depends only on its own day's rows);
  the rebuilt rows t0..since-1 must equal the stored ones;
* every session, because the athlete's load unit family, conversion factors,
  median load rate (whole history) and HR references (last 180 days) decide
  every session's load: the per-day session aggregates before t0 must equal
  the stored DAILY's, so a change of any of them (a new HRmax, a roster
  override, a flipped family) is caught;
* every sleep record (cross-source de-duplication clusters are not bounded
  in time in general; for a single-source athlete nothing is merged and the
  merge loop is skipped), wellness from ``min(t0, as_of - 179)`` (the
  resting-HR window of the references);
* FEATURES since..as_of are continued from the stored row since-1
  (:func:`features.compute.continue_features`) and written after the stored
  rows before ``since``, which are kept as stored
  (:meth:`pipelines.store.Store.splice_athletes`).

An athlete failing a check goes through the whole-history path above, so
the result is always the full recomputation's, bit for bit
(``tests/pipelines/test_stage_features_tail.py``). What the tail path
trusts is the caller's ``since``: sleep and wellness rows dated before t0
must not have changed (sessions are checked, t0..since-1 is compared).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import polars as pl

from features.compute import compute_features, continue_features, first_changed_dates, update_features
from features.daily import build_daily
from features.params import DEFAULT_PARAMS, FeatureParams
from features.schemas import DAILY, FEATURES, SESSIONS, SLEEP, WELLNESS, conform
from pipelines.store import Store

__all__ = [
    "FeaturesSummary",
    "run_features",
    "prepare_inputs",
    "coerce_params",
    "STATE_PARAMS",
    "STATE_LOAD_FAMILY",
    "read_load_families",
]

#: Athletes per chunk of the whole-history path (:func:`run_features`): bounds the memory of a
#: team backfill (every frame of that path is per athlete).
WHOLE_CHUNK_ATHLETES = 250

#: Store state map (:meth:`Store.get_state_map`): athlete_id -> fingerprint of the
#: FeatureParams its stored features were computed with (one row per athlete).
STATE_PARAMS = "features.params"


@dataclass
class FeaturesSummary:
    """What one feature run did."""

    as_of: date
    athletes: int = 0
    full: list[str] = field(default_factory=list)  # recomputed from the first day
    incremental: dict[str, str] = field(default_factory=dict)  # athlete -> first recomputed day
    unchanged: list[str] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)  # computed from the stored tail (``since`` path), see _run_tail
    rows: int = 0  # FEATURES rows stored for these athletes
    days_recomputed: int = 0
    sessions_merged: int = 0
    nights_merged: int = 0
    sessions_without_load: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["as_of"] = self.as_of.isoformat()
        return d


def coerce_params(params: FeatureParams | Mapping[str, Any] | None) -> FeatureParams:
    """A :class:`FeatureParams` from None, an instance or a mapping (``[features.params]``).

    Raises
    ------
    ValueError
        An unknown key (the message lists the known ones) or an invalid value.
    """
    if params is None:
        return DEFAULT_PARAMS
    if isinstance(params, FeatureParams):
        return params
    if not isinstance(params, Mapping):
        raise ValueError(f"features params must be a mapping or FeatureParams, got {type(params).__name__}")
    known = {f.name for f in fields(FeatureParams)}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(f"unknown features parameter(s) {unknown}; known: {sorted(known)}")
    kw = {k: (tuple(v) if isinstance(v, list) else v) for k, v in params.items()}
    return FeatureParams(**kw)


def _fingerprint(p: FeatureParams) -> str:
    """Parameters and the formula version: stored features with another fingerprint are recomputed in full."""
    from features.version import FEATURES_FORMULA_VERSION

    return hashlib.sha256(f"{p!r}|formulas {FEATURES_FORMULA_VERSION}".encode()).hexdigest()[:16]


def _dedupe(df: pl.DataFrame, schema, merge) -> pl.DataFrame:
    """``merge(df)[0]``, running the merge only on athletes with rows from several sources.

    Both merges (:func:`features.merge.merge_duplicate_sessions`,
    :func:`features.merge.merge_duplicate_nights`) only ever join rows of
    *different* sources, so an athlete whose rows all come from one source
    keeps every row unchanged; the merge then only sorts them by
    ``athlete_id``, ``start_utc``, ``source``, which is done here directly
    (the merge's row-by-row Python loop dominates the feature stage otherwise).
    """
    df = conform(df, schema)
    if df.is_empty():
        return merge(df)[0]
    ident = pl.col("source").fill_null("")
    if "device_id" in df.columns:  # two devices of one source are two recordings, which may merge
        ident = pl.concat_str([ident, pl.col("device_id").fill_null("")], separator="|")
    n_src = df.group_by("athlete_id").agg(ident.n_unique().alias("n"))
    multi = n_src.filter(pl.col("n") > 1)["athlete_id"]
    if multi.len() == n_src.height:
        return merge(df)[0]
    single = df.filter(~pl.col("athlete_id").is_in(multi.implode()))
    if multi.len():
        merged = merge(df.filter(pl.col("athlete_id").is_in(multi.implode())))[0]
        single = pl.concat([single, merged], how="vertical")
    return single.sort(["athlete_id", "start_utc", "source"], nulls_last=True)


def prepare_inputs(
    sessions: pl.DataFrame,
    sleep: pl.DataFrame,
    wellness: pl.DataFrame,
    *,
    as_of: date,
    athlete_info: Mapping[str, Mapping[str, Any]] | None = None,
    params: FeatureParams | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Cross-source de-duplication and session loads, before :func:`build_daily`.

    Parameters
    ----------
    sessions, sleep, wellness : polars.DataFrame
        Canonical tables (all sources), already limited to ``as_of``.
    as_of : datetime.date
        End of the HR-reference window.
    athlete_info : mapping, optional
        athlete_id -> {"sex", "hr_rest_bpm", "hr_max_bpm", "load_family"} from
        the roster; they override the references estimated from the athlete's
        history, and ``load_family`` pins the athlete's load unit family.
    params : FeatureParams, optional
        ``load_family`` (the team default: ``"auto"`` or a pinned family) and
        ``count_everyday``.

    Returns
    -------
    sessions, sleep : polars.DataFrame
        One row per real workout with ``load_au`` filled; one record per real sleep.
    counts : dict
        ``sessions_merged``, ``nights_merged``, ``sessions_without_load``.
    """
    from features.load import assign_session_loads, hr_reference_from_history
    from features.merge import merge_duplicate_nights, merge_duplicate_sessions

    info = athlete_info or {}
    n_s, n_n = sessions.height, sleep.height
    sessions = _dedupe(sessions, SESSIONS, merge_duplicate_sessions)
    sleep = _dedupe(sleep, SLEEP, merge_duplicate_nights)
    counts = {"sessions_merged": n_s - sessions.height, "nights_merged": n_n - sleep.height}
    if sessions.height:
        refs = hr_reference_from_history(sessions, wellness, as_of=as_of)
        rest = dict(zip(refs["athlete_id"], refs["hr_rest_bpm"], strict=True))
        mx = dict(zip(refs["athlete_id"], refs["hr_max_bpm"], strict=True))
        sex: dict[str, str] = {}
        for a, d in info.items():
            if d.get("hr_rest_bpm") is not None:
                rest[a] = float(d["hr_rest_bpm"])
            if d.get("hr_max_bpm") is not None:
                mx[a] = float(d["hr_max_bpm"])
            if d.get("sex") in ("male", "female"):
                sex[a] = d["sex"]
        p = params or DEFAULT_PARAMS
        pins = {a: d["load_family"] for a, d in info.items() if d.get("load_family") not in (None, "auto")}
        origin = {a: "the roster ([[athletes]] load_family)" for a in pins}
        if p.load_family != "auto":
            team = {a: p.load_family for a in sessions["athlete_id"].unique().to_list() if a not in pins}
            origin.update({a: "the team default (load_family)" for a in team})
            pins.update(team)
        sessions = assign_session_loads(
            sessions,
            hr_rest_bpm=rest,
            hr_max_bpm=mx,
            sex=sex,
            primary_family=pins or "auto",
            pin_origin=origin,
            count_everyday=p.count_everyday,
        )
    counts["sessions_without_load"] = int(sessions["load_au"].null_count())
    return sessions, sleep, counts


def run_features(
    store: Store,
    *,
    as_of: date,
    athletes: Sequence[str] | None = None,
    params: FeatureParams | Mapping[str, Any] | None = None,
    since: date | None = None,
    full: bool = False,
    athlete_info: Mapping[str, Mapping[str, Any]] | None = None,
) -> FeaturesSummary:
    """Compute and store DAILY and FEATURES for ``athletes`` (default: all) up to ``as_of``.

    Parameters
    ----------
    store : pipelines.store.Store
    as_of : datetime.date
        Last day to compute (the CLI defaults it to today).
    athletes : list of str, optional
        Athlete ids; default every athlete with canonical data.
    params : FeatureParams or mapping, optional
        Feature parameters (``[features.params]`` of the config file).
    since : datetime.date, optional
        The first day whose inputs changed (the nightly flow's dirty mark).
        Athletes with unchanged parameters are then computed by the tail
        path (module docstring), which reads only the rows the days
        ``since..as_of`` need and checks the stored rows from ``since - H``
        and the session loads before; the others (and any athlete failing a
        check) by the whole-history path, which also detects earlier
        changes itself and recomputes from the earlier of the two.
    full : bool
        Recompute every athlete from its first day.
    athlete_info : mapping, optional
        Roster overrides per athlete (``sex``, ``hr_rest_bpm``, ``hr_max_bpm``).

    Returns
    -------
    FeaturesSummary
    """
    t_start = time.perf_counter()
    if not isinstance(as_of, date) or hasattr(as_of, "hour"):
        raise ValueError(f"as_of must be a datetime.date, got {as_of!r}")
    p = coerce_params(params)
    summary = FeaturesSummary(as_of=as_of)
    counts = {"sessions_merged": 0, "nights_merged": 0, "sessions_without_load": 0}
    with store.lock():
        ids = sorted(set(athletes)) if athletes is not None else store.all_athletes()
        fp = _fingerprint(p)
        fps = store.get_state_map(STATE_PARAMS, ids) if ids else {}
        rest = ids
        if ids and since is not None and not full:
            same = [a for a in ids if fps.get(a) == fp]
            done = (
                _run_tail(
                    store,
                    same,
                    as_of=as_of,
                    since=since,
                    p=p,
                    athlete_info=athlete_info,
                    summary=summary,
                    counts=counts,
                )
                if same
                else []
            )
            rest = [a for a in ids if a not in set(done)]
        # the whole-history path computes each athlete from its own rows only: athletes are taken in
        # chunks so that a team's backfill holds one chunk's frames at a time, not the whole team's
        for k in range(0, len(rest), WHOLE_CHUNK_ATHLETES):
            _run_whole(
                store,
                rest[k : k + WHOLE_CHUNK_ATHLETES],
                as_of=as_of,
                since=since,
                full=full,
                p=p,
                fp=fp,
                fps=fps,
                athlete_info=athlete_info,
                summary=summary,
                counts=counts,
            )
    summary.sessions_merged = counts["sessions_merged"]
    summary.nights_merged = counts["nights_merged"]
    summary.sessions_without_load = counts["sessions_without_load"]
    if counts["sessions_without_load"]:
        summary.problems.append(
            f"{counts['sessions_without_load']} session(s) without duration or any load measure: "
            "their days have unknown load_au (null), and the rolling load windows over them are null"
        )
    summary.seconds = time.perf_counter() - t_start
    return summary


def _daily_inputs(sessions: pl.DataFrame, sleep: pl.DataFrame, wellness: pl.DataFrame):
    """The canonical columns :func:`build_daily` takes (plus the sessions' ``load_family``)."""
    return (
        sessions.select([c for c in sessions.columns if c in SESSIONS.columns or c in ("load_family", "everyday")]),
        sleep.select([c for c in sleep.columns if c in SLEEP.columns]),
        wellness.select([c for c in wellness.columns if c in WELLNESS.columns]),
    )


#: store state map: athlete -> JSON {"family", "reason"} of the load unit family chosen by the last run
STATE_LOAD_FAMILY = "load_family"


def _record_families(store: Store, sessions: pl.DataFrame) -> None:
    """Remember each athlete's load family and why (shown by ``strainwatch ledger --merges``)."""
    if sessions.is_empty() or "load_family_reason" not in sessions.columns:
        return
    rows = sessions.group_by("athlete_id").agg(
        pl.col("load_family").drop_nulls().first(), pl.col("load_family_reason").drop_nulls().first()
    )
    values = {a: json.dumps({"family": f, "reason": r}) for a, f, r in rows.iter_rows() if r is not None}
    if values:
        store.update_state_map(STATE_LOAD_FAMILY, values)


def read_load_families(store: Store) -> dict[str, dict[str, str]]:
    """athlete -> {"family", "reason"} as recorded by the last feature run."""
    out = {}
    for a, v in store.get_state_map(STATE_LOAD_FAMILY).items():
        try:
            out[a] = json.loads(v)
        except ValueError:
            continue
    return out


def _add_counts(counts: dict[str, int], new: Mapping[str, int]) -> None:
    for k in counts:
        counts[k] += int(new.get(k, 0))


def _run_whole(
    store: Store,
    ids: list[str],
    *,
    as_of: date,
    since: date | None,
    full: bool,
    p: FeatureParams,
    fp: str,
    fps: Mapping[str, str],
    athlete_info,
    summary: FeaturesSummary,
    counts: dict[str, int],
) -> None:
    """The whole-history path: every canonical row read, DAILY rebuilt and compared with the stored one."""
    sessions = store.read_table("sessions", ids).filter(
        pl.col("local_date").is_null() | (pl.col("local_date") <= as_of)
    )
    sleep = store.read_table("sleep", ids).filter(pl.col("wake_date") <= as_of)
    wellness = store.read_table("wellness", ids).filter(pl.col("date") <= as_of)
    sessions, sleep, c = prepare_inputs(sessions, sleep, wellness, as_of=as_of, athlete_info=athlete_info, params=p)
    _add_counts(counts, c)
    _record_families(store, sessions)
    daily = build_daily(*_daily_inputs(sessions, sleep, wellness), as_of=as_of, athletes=ids, params=p)
    del sessions, sleep, wellness  # the canonical rows are not needed any more: release them early
    present = daily["athlete_id"].unique().to_list()
    summary.athletes += len(present)

    same = [a for a in present if fps.get(a) == fp] if not full else []
    prev = store.read_table("features", same) if same else FEATURES.empty()
    old_daily = store.read_table("daily", same) if same else None
    if same and old_daily is not None and not prev.is_empty():
        changed = first_changed_dates(daily.filter(pl.col("athlete_id").is_in(same)), old_daily)
        if since is not None:
            changed = {a: (min(d, since) if d is not None else since) for a, d in changed.items()}
        del old_daily
        feats = update_features(daily, prev, as_of=as_of, since=changed, params=p)
    else:
        changed = {}
        feats = compute_features(daily, as_of=as_of, params=p)

    firsts = dict(daily.group_by("athlete_id").agg(pl.col("date").min()).iter_rows())
    plast = dict(prev.group_by("athlete_id").agg(pl.col("date").max()).iter_rows()) if prev.height else {}
    for a in present:
        s = changed.get(a, firsts[a]) if a in changed else firsts[a]
        if s is None:
            last = plast.get(a)
            if last is not None and last >= as_of:
                summary.unchanged.append(a)
                continue
            s = last + timedelta(days=1) if last is not None else firsts[a]
        if s <= firsts[a]:
            summary.full.append(a)
            summary.days_recomputed += (as_of - firsts[a]).days + 1
        else:
            summary.incremental[a] = s.isoformat()
            summary.days_recomputed += max((as_of - s).days + 1, 0)
    summary.rows += feats.height

    del prev
    # features first, then daily (see the module docstring)
    store.replace_athletes("features", feats, athletes=ids)
    del feats
    store.replace_athletes("daily", daily, athletes=ids)
    # one row per athlete, in one transaction: chunks running in parallel
    # (threads, Dask workers) only touch their own athletes
    store.update_state_map(STATE_PARAMS, {a: fp for a in present}, remove=sorted(set(ids) - set(present)))


#: DAILY columns that come from the sessions alone (:func:`features.daily.build_daily`).
_SESSION_DAILY = ("load_au", "n_sessions", "duration_s", "load_family")


def _hr_window_days() -> int:
    """The window [d] of :func:`features.load.hr_reference_from_history` as ``prepare_inputs`` calls it."""
    from features.load import hr_reference_from_history

    return int(inspect.signature(hr_reference_from_history).parameters["window_days"].default)


def _rows_hash(cols: Sequence[str], suffix: str = "") -> pl.Expr:
    """64-bit hash of a row's ``cols`` (nulls equal), as :func:`first_changed_dates` compares rows.

    ``suffix``: hash the columns ``c + suffix`` under the names ``c``.
    """
    return pl.struct([pl.col(f"{c}{suffix}").alias(c) for c in cols]).hash(seed=5)


def _run_tail(
    store: Store,
    ids: list[str],
    *,
    as_of: date,
    since: date,
    p: FeatureParams,
    athlete_info,
    summary: FeaturesSummary,
    counts: dict[str, int],
) -> list[str]:
    """The tail path of an incremental night: returns the athletes it computed and stored.

    For athletes whose stored features were computed with these parameters
    and cover every day from their first day to ``since - 1``, and whose
    inputs before ``since`` did not change (the caller's dirty mark), only
    what the days ``since..as_of`` need is read and rebuilt:

    * FEATURES from ``t0 = since - H`` (H = :attr:`FeatureParams.history_days`:
      the 60-day baselines, chronic and family windows, week-over-week and
      CTL-ramp shifts) and, before t0, only ``strain_au`` (its expanding
      90th percentile reads every earlier value);
    * DAILY: rebuilt from t0 only (a DAILY row depends on its own day's
      rows); the stored rows t0..since-1 must equal the rebuilt ones;
    * wellness from ``min(t0, as_of - 179)`` (the HR-reference window);
    * every session (the athlete's load unit family, conversion factors and
      median rate are fitted on the whole history, and the HR references on
      the last 180 days): the per-day session aggregates before t0 must equal
      the stored DAILY's, so that a change of any of these (which changes the
      load of old days) is caught;
    * every sleep record (cross-source de-duplication is not local in time
      in general; it is cheap for single-source athletes, see ``_dedupe``).

    An athlete failing any check is left to the whole-history path (not in
    the returned list). The stored rows before ``since`` are written back
    unchanged (:meth:`Store.splice_athletes`).
    """
    if since > as_of:
        return []
    h = p.history_days
    t0 = since - timedelta(days=h)
    # ---- stored FEATURES / DAILY (one read of each partition): coverage, strain history,
    # session aggregates before t0, the rows t0..since-1, and the prefix written back unchanged
    first: dict[str, date] = {}
    n_before: dict[str, int] = {}
    f_stored: dict[str, pl.DataFrame] = {}
    d_stored: dict[str, pl.DataFrame] = {}
    for a in ids:
        # verified reads: a damaged partition is quarantined and the athlete takes the whole-history path
        f, d = store.read_partition("features", a), store.read_partition("daily", a)
        if f is None or d is None:
            continue
        f, d = f.filter(pl.col("date") < since), d.filter(pl.col("date") < since)
        if f.is_empty() or d.is_empty():
            continue
        f0, d0 = f["date"].min(), d["date"].min()
        days = (since - f0).days
        if f0 != d0 or f.height != days or d.height != days or f["date"].n_unique() != days:
            continue  # not one row per day from the first day to since-1: whole-history path
        first[a], n_before[a] = f0, f.height
        f_stored[a], d_stored[a] = f, d
    ok = sorted(first)
    if not ok:
        return []

    # ---- canonical inputs
    sessions = store.read_table("sessions", ok).filter(pl.col("local_date").is_null() | (pl.col("local_date") <= as_of))
    sleep = store.read_table("sleep", ok).filter(pl.col("wake_date") <= as_of)
    w_lo = min(t0, as_of - timedelta(days=_hr_window_days() - 1))
    wellness = store.read_table("wellness", ok, since=w_lo).filter(pl.col("date") <= as_of)
    n_s = dict(sessions.group_by("athlete_id").len().iter_rows())
    n_n = dict(sleep.group_by("athlete_id").len().iter_rows())
    sessions, sleep, _ = prepare_inputs(sessions, sleep, wellness, as_of=as_of, athlete_info=athlete_info, params=p)
    _record_families(store, sessions)
    s_in, z_in, w_in = _daily_inputs(sessions, sleep, wellness)

    bad: set[str] = set()
    # ---- sessions before t0: the per-day aggregates must be the stored ones
    if t0 > min(first[a] for a in ok):
        # built to as_of (every session), so that each day's coverage (features.daily) is the full run's
        new_s = build_daily(s_in, SLEEP.empty(), WELLNESS.empty(), as_of=as_of, athletes=ok, params=p).filter(
            pl.col("date") < t0
        )
        old = (
            conform(
                pl.concat(
                    [d_stored[a].select("athlete_id", "date", *_SESSION_DAILY) for a in ok], how="vertical_relaxed"
                ),
                DAILY,
            )
            .filter(pl.col("date") < t0)
            .select("athlete_id", "date", *_SESSION_DAILY)
        )
        new_s = new_s.select("athlete_id", "date", *_SESSION_DAILY)
        early = new_s.join(old.select("athlete_id", "date"), on=["athlete_id", "date"], how="anti")
        bad.update(early.filter(pl.col("n_sessions") > 0)["athlete_id"].unique().to_list())
        # a day missing from new_s precedes the athlete's first session: no training data (null load)
        j = old.join(new_s, on=["athlete_id", "date"], how="left", suffix="_n").with_columns(
            pl.col("load_au_n"),
            pl.col("n_sessions_n").fill_null(0),
            pl.col("duration_s_n").fill_null(0.0),
        )
        differs = j.filter(_rows_hash(_SESSION_DAILY) != _rows_hash(_SESSION_DAILY, "_n"))
        bad.update(differs["athlete_id"].unique().to_list())

    # ---- DAILY from t0 (the calendar from max(t0, first day))
    built = build_daily(
        s_in,
        z_in.filter(pl.col("wake_date") >= t0),
        w_in.filter(pl.col("date") >= t0),
        as_of=as_of,
        athletes=ok,
        params=p,
    ).filter(pl.col("date") >= t0)
    cal = (
        pl.DataFrame(
            {"athlete_id": ok, "lo": [max(t0, first[a]) for a in ok]}, schema={"athlete_id": pl.String, "lo": pl.Date}
        )
        .select("athlete_id", pl.date_ranges("lo", pl.lit(as_of), interval="1d").alias("date"))
        .explode("date")
    )
    # a calendar day missing from `built` precedes every session (all sessions are read): no training data
    tail = (
        cal.join(built, on=["athlete_id", "date"], how="left")
        .with_columns(
            pl.col("load_covered").fill_null(False),
            pl.col("everyday_min").fill_null(0.0),
            pl.col("n_sessions").fill_null(0),
            pl.col("duration_s").fill_null(0.0),
        )
        .sort("athlete_id", "date")
    )
    tail = conform(tail.select(list(DAILY.columns)), DAILY)
    old_tail = conform(pl.concat([d_stored[a].filter(pl.col("date") >= t0) for a in ok], how="diagonal_relaxed"), DAILY)
    changed = first_changed_dates(tail.filter(pl.col("date") < since), old_tail)
    bad.update(a for a, d in changed.items() if d is not None)
    ok = [a for a in ok if a not in bad]
    if not ok:
        return []

    # ---- FEATURES since..as_of, continuing from the stored rows
    f_all = pl.concat([f_stored[a] for a in ok], how="diagonal_relaxed")
    # before t0 only strain_au is read (the other columns are left null)
    previous = pl.concat(
        [
            conform(f_all.filter(pl.col("date") < t0).select("athlete_id", "date", "strain_au"), FEATURES),
            conform(f_all.filter(pl.col("date") >= t0), FEATURES),
        ],
        how="vertical",
    )
    tail = tail.filter(pl.col("athlete_id").is_in(ok))
    fresh = continue_features(
        tail, previous, as_of=as_of, since={a: since for a in ok}, first_days={a: first[a] for a in ok}, params=p
    )
    # features first, then daily (see the module docstring); the rows before `since` stay as stored
    store.splice_athletes("features", fresh, {a: since for a in ok}, stored=f_stored)
    store.splice_athletes("daily", tail, {a: since for a in ok}, stored=d_stored)

    n_fresh = dict(fresh.group_by("athlete_id").len().iter_rows())
    keep = set(ok)
    counts["sessions_merged"] += (
        sum(n_s.get(a, 0) for a in keep) - sessions.filter(pl.col("athlete_id").is_in(ok)).height
    )
    counts["nights_merged"] += sum(n_n.get(a, 0) for a in keep) - sleep.filter(pl.col("athlete_id").is_in(ok)).height
    counts["sessions_without_load"] += int(sessions.filter(pl.col("athlete_id").is_in(ok))["load_au"].null_count())
    summary.tail.extend(ok)
    for a in ok:
        summary.incremental[a] = since.isoformat()
        summary.days_recomputed += (as_of - since).days + 1
        summary.rows += n_before[a] + n_fresh.get(a, 0)
    summary.athletes += len(ok)
    return ok
