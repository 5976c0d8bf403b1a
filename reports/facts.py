"""One source for every number the report and the alerts show (pure).

The weekly report (:mod:`reports.weekly`) and the alerts (:mod:`reports.alerts`)
both read an athlete's numbers through this module, so the same day gives the
same figures everywhere:

* :func:`day_facts` - the stored FEATURES and SCORES values of one *named day*
  (load, ACWR, RHR, HRV, sleep, back pain, score, band), unrounded; callers
  format them and say which day they are from.
* :func:`reasons_with_points` - the reasons whose score component gave points
  that day, largest first (never a reason without points).
* :func:`one_advice` - the strongest adjustment of the day (the scorer orders
  them: see a clinician, deload week, then by the points of their cause) and
  the others as context.
* :func:`last_data_dates` / :func:`freshness` - per athlete and input
  (training, sleep, HR/HRV, check-ins) the last day with data and whether it
  is older than ``stale_after_d`` days ("no data is not low").
* :func:`usual_training` / :func:`load_as_time` - an athlete's usual load per
  minute (and kilometres per load unit) from their own sessions, to turn AU
  into "about 3 h 20 min of easy running".

Thresholds are never restated here: callers pass the
:class:`models.rules.ScorerParams` the scores were made with.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl

from models.components import columns_at
from models.components import is_finite_number as _ok
from models.vocab import ADJUSTMENT_GENERIC

__all__ = [
    "INPUTS",
    "Usual",
    "day_facts",
    "reasons_with_points",
    "one_advice",
    "red_flag_cause",
    "last_data_dates",
    "freshness",
    "tracked_inputs",
    "usual_training",
    "load_as_time",
    "load_range_as_time",
    "json_entries",
]

#: Input -> (label, FEATURES columns whose non-null (load: > 0) value counts as data).
INPUTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "training": ("training", ("load_au",)),
    "sleep": ("sleep", ("sleep_h",)),
    "hr": ("HR/HRV", ("rhr_bpm", "hrv_ln_rmssd")),
    "checkin": ("check-ins", ("back_pain_0_10",)),
}

#: Load columns: the scorer's load components read them from the FEATURES row of the day
#: before (their registry ``reads``, row "d-1": models.components.REGISTRY), so the report and
#: alerts quote that row too; plus the simple ACWR shown beside the EWMA one.
LOAD_COLS = tuple(dict.fromkeys((*columns_at("d-1"), "acwr")))

#: FEATURES columns copied by :func:`day_facts` (the numbers a reader sees).
FACT_COLS = (
    "acute_7d_au",
    "chronic_28d_au",
    "acwr",
    "acwr_ewma",
    "weekly_change_pct",
    "rhr_delta_bpm",
    "rhr_z",
    "rhr_7d_bpm",
    "rhr_baseline_bpm",
    "hrv_z",
    "sleep_7d_h",
    "sleep_baseline_h",
    "sleep_debt_7d_h",
    "sleep_h",
    "back_pain_0_10",
    "back_pain_streak_d",
    "monotony",
    "hard_day_streak",
    "ctl_ramp_7d",
    "load_family",
)


def json_entries(s: str | None) -> list[dict]:
    """The objects of a ``components_json`` or ``adjustments_json`` cell (``[]`` when absent or not a
    JSON list): the alerts and the day's facts read stored cells leniently, the report strictly."""
    if not s:
        return []
    try:
        v = json.loads(s)
    except (TypeError, json.JSONDecodeError):
        return []
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def day_facts(
    f: Mapping[str, Any] | None, s: Mapping[str, Any] | None, day: date, f_load: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The stored values behind the score of ``day``.

    ``f`` and ``s`` are the FEATURES and SCORES rows of ``day``; ``f_load``
    is the FEATURES row of the day before, which the scorer's load components
    read (:data:`LOAD_COLS` come from it, ``load_day`` names it). Returns a
    flat dict: every :data:`FACT_COLS` and :data:`LOAD_COLS` column (None
    when absent), ``risk_score``, ``risk_band``, ``load_pct`` (acute vs
    chronic week [%]), ``red_flag``, ``day`` and ``load_day``. Nothing is rounded.
    """
    f = f or {}
    s = s or {}
    fl = f_load or {}
    out: dict[str, Any] = {"day": day, "load_day": day - timedelta(days=1)}
    for c in dict.fromkeys(FACT_COLS + LOAD_COLS):
        v = (fl if c in LOAD_COLS else f).get(c)
        out[c] = v if (_ok(v) or isinstance(v, str)) else None
    a, c = out["acute_7d_au"], out["chronic_28d_au"]
    out["load_pct"] = 100.0 * (a / c - 1.0) if _ok(a) and _ok(c) and c > 0 else None
    out["risk_score"] = s.get("risk_score") if _ok(s.get("risk_score")) else None
    out["risk_band"] = s.get("risk_band")
    out["red_flag"] = bool(f.get("red_flag")) or "red_flag" in [x.strip() for x in (s.get("reasons") or "").split(";")]
    return out


def reasons_with_points(s: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Reasons of one scored day whose component gave points, largest first.

    From ``components_json`` (``points > 0``); a red flag (an override, not a
    component) comes first with ``points`` None. Without ``components_json``
    the ``reasons`` codes are used as the scorer ordered them (it lists only
    components that gave points), with ``points`` None.
    """
    if not s:
        return []
    codes = [c.strip() for c in (s.get("reasons") or "").split(";") if c.strip()]
    out: list[dict[str, Any]] = []
    if "red_flag" in codes:
        out.append({"code": "red_flag", "points": None, "rule": None, "component": None})
    comps = json_entries(s.get("components_json"))
    if comps:
        fired = [c for c in comps if _ok(c.get("points")) and c["points"] > 0 and c.get("reason")]
        fired.sort(key=lambda c: -float(c["points"]))
        seen = {o["code"] for o in out}
        for c in fired:
            if c["reason"] in seen:
                continue
            seen.add(c["reason"])
            out.append(
                {
                    "code": c["reason"],
                    "points": float(c["points"]),
                    "rule": c.get("rule"),
                    "component": c.get("component"),
                }
            )
        return out
    return out + [{"code": c, "points": None, "rule": None, "component": None} for c in codes if c != "red_flag"]


def _generic(code: str) -> str:
    """The generic sentence of an adjustment code, for items stored without their own text."""
    return ADJUSTMENT_GENERIC.get(code, code.replace("_", " "))


def one_advice(s: Mapping[str, Any] | None, *, red_flag: bool = False) -> tuple[dict | None, list[dict]]:
    """The strongest adjustment of a scored day and the others (as context).

    Items are ``{"code", "text", "values", "cause"}`` from ``adjustments_json``
    (``text`` falls back to the code's generic sentence)
    (the scorer orders them strongest first: ``see_clinician``,
    ``deload_week``, then by the points of their cause). With ``red_flag``
    the advice is ``see_clinician`` and nothing else.
    """
    items = json_entries((s or {}).get("adjustments_json"))
    if not items:
        codes = [c.strip() for c in ((s or {}).get("adjustments") or "").split(";") if c.strip()]
        items = [{"code": c} for c in codes]
    items = [
        {
            "code": it["code"],
            "text": it.get("text") or _generic(it["code"]),
            "values": it.get("values") or {},
            "cause": it.get("cause"),
        }
        for it in items
        if it.get("code")
    ]
    if red_flag:
        rf = [it for it in items if it["code"] == "see_clinician"] or [
            {"code": "see_clinician", "text": _generic("see_clinician"), "values": {}, "cause": "red_flag"}
        ]
        return rf[0], []
    items.sort(key=lambda it: it["code"] != "see_clinician")  # stable: the scorer's order otherwise
    if not items:
        return None, []
    return items[0], items[1:]


def red_flag_cause(f: Mapping[str, Any] | None, s: Mapping[str, Any] | None) -> str | None:
    """What made a day a red-flag day, in words: ``"red-flag symptom reported"`` when the
    athlete reported one that day (FEATURES ``red_flag``), else the scorer's own rule from
    its ``see_clinician`` advice (e.g. ``"back pain 7/10 still rising after 5 days"``)."""
    if f and f.get("red_flag") is True:
        return "red-flag symptom reported"
    for it in json_entries((s or {}).get("adjustments_json")):
        if it.get("code") == "see_clinician" and it.get("cause") == "red_flag":
            cause = str((it.get("values") or {}).get("cause") or "").split(";")[0].strip()
            if cause:
                return cause
    return None


def last_data_dates(features: pl.DataFrame, *, as_of: date) -> dict[str, dict[str, date | None]]:
    """athlete_id -> input (:data:`INPUTS`) -> last day up to ``as_of`` with data (None: never)."""
    fe = features.filter(pl.col("date") <= as_of)
    if fe.is_empty():
        return {}
    exprs = []
    for key, (_, cols) in INPUTS.items():
        conds = []
        for c in cols:
            if c not in fe.columns:
                continue
            e = pl.col(c).is_not_null() & pl.col(c).is_not_nan() if fe.schema[c].is_float() else pl.col(c).is_not_null()
            if c == "load_au":
                e = e & (pl.col(c) > 0)
            conds.append(e)
        if not conds:
            exprs.append(pl.lit(None, dtype=pl.Date).alias(key))
            continue
        cond = conds[0]
        for e in conds[1:]:
            cond = cond | e
        exprs.append(pl.col("date").filter(cond).max().alias(key))
    agg = fe.group_by("athlete_id").agg(exprs)
    return {r["athlete_id"]: {k: r[k] for k in INPUTS} for r in agg.iter_rows(named=True)}


def tracked_inputs(last_by: Mapping[str, Mapping[str, date | None]]) -> frozenset[str]:
    """The inputs (:data:`INPUTS` keys) that at least one athlete of ``last_by`` ever had data for:
    what this team tracks. A team that logs session RPE but wears no devices tracks no sleep and
    no HR/HRV, and its athletes are not "missing" them."""
    return frozenset(k for last in last_by.values() for k, d in last.items() if d is not None)


def freshness(
    last: Mapping[str, date | None] | None,
    *,
    day: date,
    stale_after_d: int,
    tracked: Collection[str] | None = None,
) -> dict[str, Any]:
    """Age of each input's last data on ``day`` and which are stale.

    Returns ``{"inputs": [{"key", "label", "last", "age_d", "stale", "tracked"}], "stale": [keys],
    "stale_core": bool}``. An input is stale when its last data is more than
    ``stale_after_d`` days before ``day``, or when it never had data although the
    team tracks it (``tracked``: :func:`tracked_inputs` of the team; None = every
    input). An input nobody in the team ever had (no sleep tracker, no check-ins)
    is "not tracked", not stale: the score's coverage rule already says what a
    score without it is worth. Training always counts (the load is what the
    score is made of). Check-ins count only for an athlete who ever sent
    one (many teams do not use them). ``stale_core`` is True when training,
    sleep or HR/HRV is stale: then a low score is not evidence of low risk.
    """
    if stale_after_d < 1:
        raise ValueError(f"stale_after_d must be >= 1 day, got {stale_after_d}")
    last = dict(last or {})
    rows = []
    for key, (label, _) in INPUTS.items():
        d = last.get(key)
        age = (day - d).days if d is not None else None
        is_tracked = d is not None or key == "training" or ((tracked is None or key in tracked) and key != "checkin")
        stale = age > stale_after_d if d is not None else is_tracked
        rows.append({"key": key, "label": label, "last": d, "age_d": age, "stale": stale, "tracked": is_tracked})
    stale = [r["key"] for r in rows if r["stale"]]
    return {"inputs": rows, "stale": stale, "stale_core": any(k in stale for k in ("training", "sleep", "hr"))}


@dataclass(frozen=True)
class Usual:
    """An athlete's usual training, from their own recent sessions.

    ``sport`` is the sport with the most time; ``au_per_min`` its load per
    minute; ``km_per_au`` kilometres per load unit (None without distances).
    """

    sport: str
    au_per_min: float
    km_per_au: float | None
    sessions: int


def usual_training(sessions: pl.DataFrame, *, as_of: date, days: int = 42, min_sessions: int = 3) -> dict[str, Usual]:
    """athlete_id -> :class:`Usual` from the SESSIONS of the ``days`` before ``as_of``.

    Only sessions with a load and a duration count; an athlete with fewer
    than ``min_sessions`` of their main sport gets no entry (the text then
    keeps load units only).
    """
    need = {"athlete_id", "local_date", "sport", "duration_s", "load_au"}
    if sessions.is_empty() or not need <= set(sessions.columns):
        return {}
    dist = pl.col("distance_m") if "distance_m" in sessions.columns else pl.lit(None, dtype=pl.Float64)
    s = sessions.filter(
        pl.col("local_date").is_between(as_of - timedelta(days=days - 1), as_of)
        & (pl.col("load_au") > 0)
        & (pl.col("duration_s") > 0)
    ).with_columns(pl.col("sport").fill_null("training"), dist.alias("_dist"))
    if s.is_empty():
        return {}
    g = (
        s.group_by("athlete_id", "sport")
        .agg(
            pl.col("duration_s").sum().alias("dur"),
            pl.col("load_au").sum().alias("load"),
            pl.len().alias("n"),
            pl.col("_dist").filter(pl.col("_dist") > 0).sum().alias("dist"),
            pl.col("load_au").filter(pl.col("_dist") > 0).sum().alias("load_d"),
        )
        .sort(["athlete_id", "dur", "sport"], descending=[False, True, False])
    )
    out: dict[str, Usual] = {}
    for r in g.iter_rows(named=True):
        a = r["athlete_id"]
        if a in out or r["n"] < min_sessions:
            continue
        km = r["dist"] / 1000.0 / r["load_d"] if r["dist"] and r["load_d"] else None
        out[a] = Usual(sport=r["sport"], au_per_min=r["load"] / (r["dur"] / 60.0), km_per_au=km, sessions=r["n"])
    return out


_ACTIVITY = {
    "running": "running",
    "trail_running": "trail running",
    "cycling": "riding",
    "rowing": "rowing",
    "swimming": "swimming",
    "walking": "walking",
    "hiking": "hiking",
    "strength": "strength training",
    "training": "training",
}


def _hm(minutes: float) -> str:
    m = int(round(minutes / 10.0) * 10)  # to 10 minutes: a plan, not a measurement
    m = max(m, 10)
    h, mm = divmod(m, 60)
    return f"{h} h {mm:02d} min" if h and mm else (f"{h} h" if h else f"{mm} min")


def load_range_as_time(lo: float | None, hi: float | None, usual: Usual | None) -> str | None:
    """``"about 2 h 40 min to 4 h 10 min of running at your usual effort (about 30-45 km)"``."""
    if not (_ok(lo) and _ok(hi)) or usual is None or usual.au_per_min <= 0 or lo <= 0 or hi < lo:
        return None
    act = _ACTIVITY.get(usual.sport, usual.sport.replace("_", " "))
    txt = f"about {_hm(lo / usual.au_per_min)} to {_hm(hi / usual.au_per_min)} of {act} at your usual effort"
    if usual.km_per_au:
        txt += f" (about {lo * usual.km_per_au:.0f}-{hi * usual.km_per_au:.0f} km)"
    return txt


def load_as_time(au: float | None, usual: Usual | None) -> str | None:
    """``"about 3 h 20 min of running (about 38 km)"`` for a load of ``au`` AU at the usual rate.

    None when ``au`` or ``usual`` is missing. Time is rounded to 10 minutes
    and distance to whole kilometres: the athlete plans with it.
    """
    if not _ok(au) or usual is None or usual.au_per_min <= 0 or au <= 0:
        return None
    minutes = au / usual.au_per_min
    act = _ACTIVITY.get(usual.sport, usual.sport.replace("_", " "))
    txt = f"about {_hm(minutes)} of {act} at your usual effort"
    if usual.km_per_au:
        txt += f" (about {au * usual.km_per_au:.0f} km)"
    return txt
