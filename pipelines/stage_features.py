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
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import polars as pl

from features.compute import compute_features, first_changed_dates, update_features
from features.daily import build_daily
from features.params import DEFAULT_PARAMS, FeatureParams
from features.schemas import FEATURES, SESSIONS, SLEEP, WELLNESS
from pipelines.store import Store

__all__ = ["FeaturesSummary", "run_features", "prepare_inputs", "coerce_params", "STATE_PARAMS"]

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
    return hashlib.sha256(repr(p).encode()).hexdigest()[:16]


def prepare_inputs(
    sessions: pl.DataFrame,
    sleep: pl.DataFrame,
    wellness: pl.DataFrame,
    *,
    as_of: date,
    athlete_info: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, int]]:
    """Cross-source de-duplication and session loads, before :func:`build_daily`.

    Parameters
    ----------
    sessions, sleep, wellness : polars.DataFrame
        Canonical tables (all sources), already limited to ``as_of``.
    as_of : datetime.date
        End of the HR-reference window.
    athlete_info : mapping, optional
        athlete_id -> {"sex", "hr_rest_bpm", "hr_max_bpm"} from the roster;
        they override the references estimated from the athlete's history.

    Returns
    -------
    sessions, sleep : polars.DataFrame
        One row per real workout with ``load_au`` filled; one record per real sleep.
    counts : dict
        ``sessions_merged``, ``nights_merged``, ``sessions_without_load``.
    """
    from features.load import assign_session_loads, hr_reference_from_history
    from features.merge import merge_duplicate_sessions, merge_duplicate_nights

    info = athlete_info or {}
    n_s, n_n = sessions.height, sleep.height
    sessions, _ = merge_duplicate_sessions(sessions)
    sleep, _ = merge_duplicate_nights(sleep)
    counts = {"sessions_merged": n_s - sessions.height, "nights_merged": n_n - sleep.height}
    if sessions.height:
        refs = hr_reference_from_history(sessions, wellness, as_of=as_of)
        rest = dict(zip(refs["athlete_id"], refs["hr_rest_bpm"]))
        mx = dict(zip(refs["athlete_id"], refs["hr_max_bpm"]))
        sex: dict[str, str] = {}
        for a, d in info.items():
            if d.get("hr_rest_bpm") is not None:
                rest[a] = float(d["hr_rest_bpm"])
            if d.get("hr_max_bpm") is not None:
                mx[a] = float(d["hr_max_bpm"])
            if d.get("sex") in ("male", "female"):
                sex[a] = d["sex"]
        sessions = assign_session_loads(sessions, hr_rest_bpm=rest, hr_max_bpm=mx, sex=sex)
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
        A caller's hint that data from this day on changed (the nightly flow's
        dirty mark); the stage also detects changes itself, and recomputes
        from the earlier of the two.
    full : bool
        Recompute every athlete from its first day.
    athlete_info : mapping, optional
        Roster overrides per athlete (``sex``, ``hr_rest_bpm``, ``hr_max_bpm``).

    Returns
    -------
    FeaturesSummary
    """
    t0 = time.perf_counter()
    if not isinstance(as_of, date) or hasattr(as_of, "hour"):
        raise ValueError(f"as_of must be a datetime.date, got {as_of!r}")
    p = coerce_params(params)
    summary = FeaturesSummary(as_of=as_of)
    with store.lock():
        ids = sorted(set(athletes)) if athletes is not None else store.all_athletes()
        if not ids:
            summary.seconds = time.perf_counter() - t0
            return summary
        sessions = store.read_table("sessions", ids).filter(pl.col("local_date").is_null() | (pl.col("local_date") <= as_of))
        sleep = store.read_table("sleep", ids).filter(pl.col("wake_date") <= as_of)
        wellness = store.read_table("wellness", ids).filter(pl.col("date") <= as_of)
        sessions, sleep, counts = prepare_inputs(sessions, sleep, wellness, as_of=as_of, athlete_info=athlete_info)
        summary.sessions_merged = counts["sessions_merged"]
        summary.nights_merged = counts["nights_merged"]
        summary.sessions_without_load = counts["sessions_without_load"]
        if counts["sessions_without_load"]:
            summary.problems.append(
                f"{counts['sessions_without_load']} session(s) without duration or any load measure: "
                "their days have unknown load_au (null), and the rolling load windows over them are null"
            )
        daily = build_daily(
            sessions.select([c for c in sessions.columns if c in SESSIONS.columns or c == "load_family"]),
            sleep.select([c for c in sleep.columns if c in SLEEP.columns]),
            wellness.select([c for c in wellness.columns if c in WELLNESS.columns]),
            as_of=as_of,
            athletes=ids,
            params=p,
        )
        present = daily["athlete_id"].unique().to_list()
        summary.athletes = len(present)

        fp = _fingerprint(p)
        fps = store.get_state_map(STATE_PARAMS, ids)
        same = [a for a in present if fps.get(a) == fp] if not full else []
        prev = store.read_table("features", same) if same else FEATURES.empty()
        old_daily = store.read_table("daily", same) if same else None
        if same and old_daily is not None and not prev.is_empty():
            changed = first_changed_dates(daily.filter(pl.col("athlete_id").is_in(same)), old_daily)
            if since is not None:
                changed = {a: (min(d, since) if d is not None else since) for a, d in changed.items()}
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
        summary.rows = feats.height

        # features first, then daily (see the module docstring)
        store.replace_athletes("features", feats, athletes=ids)
        store.replace_athletes("daily", daily, athletes=ids)
        # one row per athlete, in one transaction: chunks running in parallel
        # (threads, Dask workers) only touch their own athletes
        store.update_state_map(STATE_PARAMS, {a: fp for a in present}, remove=sorted(set(ids) - set(present)))
    summary.seconds = time.perf_counter() - t0
    return summary
