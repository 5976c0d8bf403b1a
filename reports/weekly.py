"""The weekly coach report: one self-contained HTML file.

:func:`build_weekly_report` turns the FEATURES and SCORES tables into an HTML
page whose first screen answers "who, why, what now": the team table (one row
per athlete, sorted by risk: band and score of the named day, an 8-week
sparkline with new/worse/better than last week, only the reasons that added
points, the one advice, back pain, data freshness), a team heatmap, then one
collapsible section per athlete with the other advice, alerts sent and coach
acknowledgements, inline-SVG charts (load and ACWR, fitness/fatigue/form, RHR
and HRV against the athlete's own normal band, sleep against need), the
flagged days with each score component's points and rule, and the data gaps.
The disclaimer and the full framing are linked from one line at the top.

The module is pure apart from reading its Jinja2 templates: no clock, no
environment, no network. ``as_of`` and every threshold are parameters.

Design choices (``../shared/docs/ecosystem.md`` section 2):

* Charts are hand-made inline SVG (:mod:`reports.svg`): about 3-5 kB each,
  print well. Plotly would embed ~4.8 MB of plotly.js. One 3 kB inline
  script (``templates/weekly.js``, allowed by its sha256 in the CSP) sorts and
  filters; the page reads and prints without it.
* Jinja2 autoescaping is on for every template; the only ``|safe`` values are
  the SVG strings built by :mod:`reports.svg`, which escapes its own text.
* Colour is never the only carrier of meaning: bands are written as words with
  a distinct icon shape (``BAND_ICON``), statuses are words, chart series also
  differ in line style or mark.
* The report states that the score is a risk indicator, not a diagnosis, that
  ACWR is a disputed injury predictor [R13, R15, R16], and lists the red flags
  that mean "see a clinician" [B13, B14].

Every threshold shown (bands, RHR/HRV/sleep statuses, the ACWR spike and
danger lines, the recovery charts' normal bands, the sleep need) is read from
the :class:`models.rules.ScorerParams` the scores were made with; only the
lower end of the ACWR "sweet spot" (0.8 [R8, R10]) is a chart constant. Every
number of an athlete is the stored value of one named day
(:mod:`reports.facts`).

References
----------
R8 Gabbett, BJSM 2016;50:273. R10 Blanch & Gabbett, BJSM 2016;50:471.
R13 Lolli, BJSM 2019;53:921. R15 Impellizzeri, IJSPP 2020;15:907.
R16 Impellizzeri, Sports Med 2021;51:581.
H5 Vesterinen, MSSE 2016;48:1347 (HRV smallest worthwhile change 0.5 SD).
B13 Finucane, JOSPT 2020;50:350. B14 NICE NG59 2016.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from features.schemas import FEATURES, SCORES, SELF_REPORT_ITEMS, require
from models.components import REGISTRY
from models.components import is_finite_number as _ok
from models.params import ScorerParams
from models.vocab import (
    BAND_TEXT,
    DISCLAIMER,
    REASON_TEXT,
    RED_FLAG_EMERGENCY,
    RED_FLAG_TEXT,
    RED_FLAGS,
)
from reports.facts import (
    day_facts,
    freshness,
    last_data_dates,
    one_advice,
    reasons_with_points,
    red_flag_cause,
    tracked_inputs,
)
from reports.svg import Band, HLine, Panel, Series, chart_svg

__all__ = [
    "build_weekly_report",
    "build_weekly_data",
    "render_weekly_html",
    "parse_iso_week",
    "iso_week_of",
    "BAND_ICON",
    "BAND_RANK",
    "ACWR_SWEET_LO",
]

TEMPLATES = Path(__file__).with_name("templates")

#: Lower end of the ACWR "sweet spot" drawn on the chart [R8, R10]; the upper end and
#: the spike line are the scorer's ``acwr_spike_start`` and ``acwr_danger`` (ScorerParams).
ACWR_SWEET_LO = 0.8

#: Band -> rank for sorting (higher is worse); "none" = no score that week.
BAND_RANK = {"high": 3, "moderate": 2, "low": 1, "insufficient_data": 0, "none": -1}
#: Band -> icon; each band has its own shape so it survives greyscale printing.
BAND_ICON = {
    "high": "\u25b2",
    "moderate": "\u25c6",
    "low": "\u25cf",
    "insufficient_data": "\u25cb",
    "none": "\u2013",
    "stale": "\u25cc",
}
#: "stale": a low (or missing) score while training, sleep or HR/HRV data is older than the limit.
BAND_WORD = {**{k: v.upper() for k, v in BAND_TEXT.items()}, "none": "NO SCORE", "stale": "NO RECENT DATA"}
RED_FLAG_ICON = "\u2691"  # flag

#: Component name -> label for the flagged-day tables: each component's registry ``label``
#: (models.components.REGISTRY). Other names (a learned model's inputs) are humanised.
COMPONENT_LABEL = {**{c.name: c.label for c in REGISTRY}, "red_flag": "Red flag"}

_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$")


# ---------------------------------------------------------------- dates
#: Words for the self-reported monitoring items (features.schemas.SELF_REPORT_ITEMS).
SELF_REPORT_LABEL = {
    "soreness_1_5": "soreness",
    "fatigue_1_5": "fatigue",
    "sleep_quality_1_5": "sleep quality",
    "mood_1_5": "mood",
    "stress_1_5": "stress",
    "readiness_0_10": "readiness",
}


def parse_iso_week(week: str) -> tuple[date, date]:
    """Monday and Sunday of an ISO week such as ``"2026-W15"``.

    >>> parse_iso_week("2026-W15")
    (datetime.date(2026, 4, 6), datetime.date(2026, 4, 12))

    Raises
    ------
    ValueError
        The string is not ``YYYY-Www`` or the week does not exist in that year.
    """
    m = _WEEK_RE.match(str(week).strip())
    if not m:
        raise ValueError(f"week must look like 2026-W15 (ISO year and week), got {week!r}")
    year, wk = int(m.group(1)), int(m.group(2))
    try:
        monday = date.fromisocalendar(year, wk, 1)
    except ValueError:
        raise ValueError(f"week {week!r} does not exist: ISO year {year} has no week {wk}") from None
    return monday, monday + timedelta(days=6)


def iso_week_of(day: date) -> str:
    """The ISO week label of ``day``: ``iso_week_of(date(2026, 4, 9)) == "2026-W15"``."""
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


# ---------------------------------------------------------------- formatting
def _f(v: Any, nd: int = 0, sign: bool = False) -> str | None:
    if not _ok(v):
        return None
    s = f"{v:+,.{nd}f}" if sign else f"{v:,.{nd}f}"
    return s


def _sgn(v: float, nd: int = 1) -> str:
    """``+1.2`` / ``-0.3``; a value that rounds to zero is ``+0.0``, never ``-0.0``."""
    r = round(v, nd)
    return f"{(r if r != 0 else 0.0):+.{nd}f}"


def _day_label(d: date) -> str:
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')}"


def _split_codes(s: str | None) -> list[str]:
    if not s:
        return []
    return [c.strip() for c in s.split(";") if c.strip()]


def _json_list(s: str | None, what: str, athlete: str, day: date) -> list[dict]:
    if not s:
        return []
    try:
        v = json.loads(s)
    except json.JSONDecodeError as err:
        raise ValueError(f"scores: {what} of athlete {athlete!r} on {day} is not valid JSON: {err}") from None
    if not isinstance(v, list) or not all(isinstance(x, dict) for x in v):
        raise ValueError(f"scores: {what} of athlete {athlete!r} on {day} must be a JSON list of objects")
    return v


def _component_label(name: str | None) -> str:
    if not name:
        return "?"
    return COMPONENT_LABEL.get(name, name.replace("_", " ").capitalize())


def _reason_text(code: str) -> str:
    return REASON_TEXT.get(code, code.replace("_", " "))


# ---------------------------------------------------------------- statuses
def _rhr_status(delta: Any, z: Any, p: ScorerParams) -> dict:
    """RHR status with the scorer's own thresholds (``rhr_mild_*``, ``rhr_flag_*``)."""
    if not _ok(delta) and not _ok(z):
        return {"level": -1, "word": "no baseline", "detail": None}
    d = delta if _ok(delta) else None
    zz = z if _ok(z) else None
    if (d is not None and d >= p.rhr_flag_bpm) or (zz is not None and zz >= p.rhr_flag_z):
        level, word = 2, "elevated"
    elif (d is not None and d >= p.rhr_mild_bpm) or (zz is not None and zz >= p.rhr_mild_z):
        level, word = 1, "slightly up"
    else:
        level, word = 0, "normal"
    parts = []
    if d is not None:
        parts.append(f"{_sgn(d)} bpm")
    if zz is not None:
        parts.append(f"z {_sgn(zz)}")
    return {"level": level, "word": word, "detail": ", ".join(parts)}


def _hrv_status(z: Any, p: ScorerParams) -> dict:
    """HRV status with the scorer's ``hrv_suppressed_z`` / ``hrv_strong_z``."""
    if not _ok(z):
        return {"level": -1, "word": "no baseline", "detail": None}
    if z < p.hrv_strong_z:
        level, word = 2, "well below normal"
    elif z < p.hrv_suppressed_z:
        level, word = 1, "below normal"
    elif z > -p.hrv_suppressed_z:
        level, word = 0, "above normal"
    else:
        level, word = 0, "normal"
    return {"level": level, "word": word, "detail": f"z {_sgn(z)}"}


#: the status of an input nobody in the team tracks (reports.facts.freshness)
_NOT_TRACKED = {"level": -1, "word": "not tracked", "detail": None}


def _sleep_status(mean_h: Any, base_h: Any, debt_h: Any, p: ScorerParams) -> dict:
    """Sleep status by the scorer's own rule (:func:`models.rules.sleep`): the 7-day deficit
    against the athlete's usual sleep, the absolute floor, and a coach's fixed need only when set."""
    if not _ok(mean_h):
        return {"level": -1, "word": "no data", "detail": None}
    level, parts = 0, []
    if _ok(base_h):
        deficit = 7.0 * (base_h - mean_h)
        parts.append(f"{_f(mean_h, 1)} h/night vs usual {_f(base_h, 1)} h")
        if deficit > p.sleep_debt_severe_h:
            level = 2
        elif deficit > p.sleep_debt_h:
            level = 1
        if deficit > 0:
            parts.append(f"{_f(deficit, 1)} h short over 7 days")
    else:
        parts.append(f"{_f(mean_h, 1)} h/night (usual sleep not known yet)")
    if mean_h < p.sleep_floor_h:
        level = max(level, 1)
        parts.append(f"below the {p.sleep_floor_h:g}-h floor")
    if p.coach_sleep_need_h > 0:
        debt = debt_h if _ok(debt_h) else None
        if mean_h < p.coach_sleep_need_h:
            level = max(level, 2 if debt is not None and debt > p.sleep_debt_h else 1)
            parts.append(f"coach's need {p.coach_sleep_need_h:g} h")
    word = {0: "normal", 1: "short", 2: "very short"}[level]
    return {"level": level, "word": word, "detail": "; ".join(parts)}


# ---------------------------------------------------------------- data model
def _rows_by_day(df: pl.DataFrame) -> dict[date, dict]:
    return {r["date"]: r for r in df.iter_rows(named=True)}


def _sd_from_z(x7: Any, base: Any, z: Any) -> float | None:
    """Baseline SD recovered from ``z = (x7 - base) / SD`` (features contract)."""
    if _ok(x7) and _ok(base) and _ok(z) and abs(z) > 1e-9:
        sd = (x7 - base) / z
        return sd if sd > 0 else None
    return None


def build_weekly_data(
    features: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    week: str | None = None,
    as_of: date | None = None,
    names: Mapping[str, str] | None = None,
    athletes: Iterable[str] | None = None,
    notes: pl.DataFrame | None = None,
    history_days: int = 42,
    sleep_need_h: float | None = None,
    team_name: str | None = None,
    params: ScorerParams | None = None,
    stale_after_d: int = 7,
    groups: Mapping[str, str] | None = None,
    acks: Sequence[Mapping[str, Any]] | None = None,
    sent_alerts: Sequence[Mapping[str, Any]] | None = None,
    trend_weeks: int = 8,
) -> dict:
    """The report's content as plain data (what :func:`render_weekly_html` draws).

    Every number of an athlete's row and summary is the stored value of one
    *named day* (``section["day"]``: the last scored day of the report week,
    normally its last day), read through :mod:`reports.facts`, so the report
    and the alerts of the same day agree.

    Parameters
    ----------
    features : polars.DataFrame
        FEATURES table (``features.schemas.FEATURES``), any number of athletes.
    scores : polars.DataFrame
        SCORES table (``features.schemas.SCORES``); ``components_json`` and
        ``adjustments_json`` are used when present.
    week : str, optional
        ISO week ``"2026-W15"``. Default: the week containing ``as_of``.
    as_of : datetime.date, optional
        Last day the report may use. Default: the week's Sunday.
    names : mapping of str to str, optional
        athlete_id -> display name (default: the id).
    athletes : iterable of str, optional
        Only these athletes (a single-athlete report with one id).
    notes : polars.DataFrame, optional
        Columns ``athlete_id``, ``date``, ``note``: free-text notes (escaped).
    history_days : int
        Days shown in the charts, ending on the report's last day [d].
    sleep_need_h : float, optional
        Sleep need [h]; default ``params.sleep_need_h`` (the need the scores
        were made with).
    team_name : str, optional
        Shown in the title.
    params : models.rules.ScorerParams, optional
        The parameters the scores were made with; every threshold the page
        states (bands, RHR/HRV/sleep statuses, ACWR lines) is read from it.
    stale_after_d : int
        An input (training, sleep, HR/HRV, check-ins) without data for more
        than this many days is flagged; a low band is then shown as
        "NO RECENT DATA", never LOW [d].
    groups : mapping of str to str, optional
        athlete_id -> group or squad (roster), for filtering.
    acks : sequence of mapping, optional
        Acknowledgements (``athlete_id``, ``at`` (date), ``kind``, ``note``)
        of the report week, shown per athlete.
    sent_alerts : sequence of mapping, optional
        Alerts that went out in the report week (``athlete_id``, ``rule``,
        ``day``, ``status``), shown per athlete and counted in the summary.
    trend_weeks : int
        Weeks of daily scores in the sparkline.

    Returns
    -------
    dict
        ``{"week", "week_start", "week_end", "as_of", "day", "days", "athletes": [section ...],
        "summary": {...}, "heatmap": {...}, "params": {...}}``; sections are in
        risk order.

    Raises
    ------
    features.schemas.SchemaError
        An input frame does not match its schema.
    ValueError
        Bad ``week``/``as_of``, unknown athlete ids in ``athletes``, or a
        ``components_json``/``adjustments_json`` cell that is not a JSON list.
    """
    require(features, FEATURES)
    require(scores, SCORES)
    p = params or ScorerParams()
    if sleep_need_h is not None and sleep_need_h != p.sleep_need_h:
        p = p.replace(sleep_need_h=sleep_need_h)
    if history_days < 7:
        raise ValueError(f"history_days must be >= 7, got {history_days}")
    if not (1 <= trend_weeks <= 26):
        raise ValueError(f"trend_weeks must be in [1, 26], got {trend_weeks}")
    if week is None:
        if as_of is None:
            raise ValueError("give week (e.g. '2026-W15') or as_of")
        week = iso_week_of(as_of)
    monday, sunday = parse_iso_week(week)
    if as_of is None:
        as_of = sunday
    if as_of < monday:
        raise ValueError(f"as_of {as_of} is before the start of week {week} ({monday})")
    end = min(as_of, sunday)
    week_days = [monday + timedelta(days=i) for i in range((end - monday).days + 1)]
    start = end - timedelta(days=history_days - 1)
    chart_days = [start + timedelta(days=i) for i in range(history_days)]
    trend_start = monday - timedelta(days=7 * (trend_weeks - 1))
    trend_days = [trend_start + timedelta(days=i) for i in range((end - trend_start).days + 1)]
    names = dict(names or {})
    groups = dict(groups or {})

    known = sorted(
        set(features["athlete_id"].unique().drop_nulls().to_list())
        | set(scores["athlete_id"].unique().drop_nulls().to_list())
    )
    if athletes is not None:
        wanted = list(dict.fromkeys(athletes))
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise ValueError(
                f"unknown athlete id(s) {', '.join(map(repr, unknown))}; known: "
                + (", ".join(known[:20]) or "none")
                + (" ..." if len(known) > 20 else "")
            )
        ids = wanted
        inactive: list[str] = []
    else:
        # athletes with no row at all in the report week (left the team) are named, not drawn
        in_week = set(features.filter(pl.col("date").is_between(monday, end))["athlete_id"].to_list()) | set(
            scores.filter(pl.col("date").is_between(monday, end))["athlete_id"].to_list()
        )
        ids = [a for a in known if a in in_week]
        inactive = [a for a in known if a not in in_week]

    lo = min(start, trend_start)
    f_win = features.filter(pl.col("date").is_between(lo, end) & pl.col("athlete_id").is_in(ids))
    s_win = scores.filter(pl.col("date").is_between(lo, end) & pl.col("athlete_id").is_in(ids))
    f_by = {k[0]: v for k, v in f_win.partition_by("athlete_id", as_dict=True).items()} if f_win.height else {}
    s_by = {k[0]: v for k, v in s_win.partition_by("athlete_id", as_dict=True).items()} if s_win.height else {}
    last_by = last_data_dates(features.filter(pl.col("athlete_id").is_in(ids)), as_of=end)
    team_tracks = tracked_inputs(last_by)  # inputs nobody in the team has are "not tracked", not stale
    n_by: dict[str, list[dict]] = {}
    if notes is not None and notes.height and "note" in notes.columns:
        nw = notes.filter(
            pl.col("date").is_between(monday, end)
            & pl.col("note").is_not_null()
            & (pl.col("note").str.strip_chars() != "")
            & pl.col("athlete_id").is_in(ids)
        )
        for r in nw.sort("date").iter_rows(named=True):
            n_by.setdefault(r["athlete_id"], []).append(
                {"date": r["date"].isoformat(), "day": _day_label(r["date"]), "note": r["note"]}
            )
    ack_by: dict[str, list[dict]] = {}
    for k in acks or ():
        at = k.get("at")
        if isinstance(at, date) and monday <= at <= end + timedelta(days=1):
            ack_by.setdefault(str(k.get("athlete_id")), []).append(
                {
                    "day": _day_label(at),
                    "kind": "plan changed" if k.get("kind") == "plan_changed" else "acknowledged",
                    "note": k.get("note") or "",
                    "by": k.get("by") or "",
                }
            )
    sent_by: dict[str, list[dict]] = {}
    for al in sent_alerts or ():
        sent_by.setdefault(str(al.get("athlete_id")), []).append(
            {
                "rule": ALERT_WORD.get(str(al.get("rule")), str(al.get("rule"))),
                "day": str(al.get("day")),
                "status": str(al.get("status") or ""),
            }
        )

    sections = []
    for a in ids:
        fr = _rows_by_day(f_by.get(a, FEATURES.empty()))
        sr = _rows_by_day(s_by.get(a, SCORES.empty()))
        sec = _athlete_section(
            a,
            names.get(a) or a,
            fr,
            sr,
            week_days,
            chart_days,
            trend_days,
            (monday, end),
            p,
            n_by.get(a, []),
            freshness(last_by.get(a), day=end, stale_after_d=stale_after_d, tracked=team_tracks),
        )
        sec["group"] = groups.get(a) or ""
        sec["acks"] = ack_by.get(a, [])
        sec["alerts_sent"] = sent_by.get(a, [])
        sections.append(sec)

    sections.sort(
        key=lambda s: (
            not s["red_flag"],
            -BAND_RANK[s["peak_band"]],
            -BAND_RANK[s["band"]],
            -s["band_days"]["high"],
            -s["band_days"]["moderate"],
            not s["fresh"]["stale_core"],
            -(s["peak_score"] if _ok(s["peak_score"]) else -1.0),
            s["name"].casefold(),
            s["athlete_id"],
        )
    )
    for i, s in enumerate(sections):
        s["anchor"] = f"athlete-{i + 1}"
        s["rank"] = i + 1
    summary = {b: sum(1 for s in sections if s["band"] == b) for b in BAND_RANK}
    summary["red_flag"] = sum(1 for s in sections if s["red_flag"])
    summary["athletes"] = len(sections)
    summary["stale"] = sum(1 for s in sections if s["fresh"]["stale"])
    summary["alerts_sent"] = sum(len(s["alerts_sent"]) for s in sections)
    summary["acks"] = sum(len(s["acks"]) for s in sections)
    summary["inactive"] = [names.get(a) or a for a in inactive]
    heat_days = [end - timedelta(days=27 - i) for i in range(28)]
    heat_rows = [
        {
            "name": s["name"],
            "anchor": s["anchor"],
            "athlete_id": s["athlete_id"],
            "cells": _heat_cells(s.pop("_sr"), heat_days),
        }
        for s in sections
    ]
    return {
        "week": week,
        "week_start": monday.isoformat(),
        "week_end": sunday.isoformat(),
        "report_end": end.isoformat(),
        "day": end.isoformat(),
        "day_label": _day_label(end),
        "as_of": as_of.isoformat(),
        "partial_week": end < sunday,
        "days": [d.isoformat() for d in week_days],
        "history_days": history_days,
        "trend_weeks": trend_weeks,
        "sleep_need_h": p.sleep_need_h,
        "stale_after_d": stale_after_d,
        "team_name": team_name,
        "summary": summary,
        "athletes": sections,
        "reasons": sorted({r["code"]: r["text"] for s in sections for r in s["reasons"]}.items(), key=lambda kv: kv[1]),
        "groups": sorted({s["group"] for s in sections if s["group"]}),
        "heatmap": {
            "days": [
                {"date": d.isoformat(), "label": f"{d.day}", "dow": d.strftime("%a")[0], "week_start": d.weekday() == 0}
                for d in heat_days
            ],
            "rows": heat_rows,
        },
        "params": {
            "band_moderate": _f(p.band_moderate),
            "band_high": _f(p.band_high),
            "min_coverage_pct": _f(100 * p.min_coverage_frac),
            "acwr_spike_start": f"{p.acwr_spike_start:g}",
            "acwr_danger": f"{p.acwr_danger:g}",
            "sleep_need_h": f"{p.sleep_need_h:g}",
        },
    }


ALERT_WORD = {"red_flag": "red-flag alert", "high_band": "high-band alert", "moderate_streak": "moderate-streak alert"}
HEAT_LETTER = {"high": "H", "moderate": "M", "low": "L", "insufficient_data": "?", "none": ""}


def _heat_cells(sr: Mapping[date, dict], days: Sequence[date]) -> list[dict]:
    out = []
    for d in days:
        s = sr.get(d)
        band = (s or {}).get("risk_band") or "none"
        band = band if band in BAND_RANK else "insufficient_data"
        rf = bool(s) and "red_flag" in _split_codes(s.get("reasons"))
        sc = (s or {}).get("risk_score")
        out.append(
            {
                "band": band,
                "letter": "!" if rf else HEAT_LETTER[band],
                "title": f"{d.isoformat()}: {BAND_WORD[band]}"
                + (f" {_f(sc)}" if _ok(sc) else "")
                + (" RED FLAG" if rf else ""),
            }
        )
    return out


def _trend(sr: Mapping[date, dict], days: Sequence[date], week_span: tuple[date, date], p: ScorerParams) -> dict:
    """Sparkline of the daily score (bars coloured by band) and this week against last week."""
    n = len(days)
    w, h = 4 * n, 26
    parts = [
        (
            f'<svg class="spark" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            f'aria-label="daily score, {n} days to {days[-1].isoformat()}">'
        )
    ]
    for ln in (p.band_moderate, p.band_high):
        y = h - 1 - (h - 2) * ln / 100.0
        parts.append(f'<line x1="0" x2="{w}" y1="{y:.1f}" y2="{y:.1f}" class="sl"/>')
    bars: dict[str, list[str]] = {}
    for i, d in enumerate(days):
        s = sr.get(d)
        band = (s or {}).get("risk_band")
        sc = (s or {}).get("risk_score")
        if band is None:
            continue
        band = band if band in BAND_RANK else "insufficient_data"
        bh = max(2, round((h - 2) * (sc / 100.0))) if _ok(sc) else 2
        bars.setdefault(band, []).append(f"M{4 * i} {h - 1}v-{bh}h3v{bh}z")
    for band, ds in bars.items():  # one path per band keeps the sparkline at about 1 kB
        parts.append(f'<path class="b-{band}" d="{"".join(ds)}"/>')
    parts.append("</svg>")

    def peak(lo: date, hi: date) -> tuple[str, float | None]:
        best, bsc = "none", None
        for d, s in sr.items():
            if lo <= d <= hi and s.get("risk_band"):
                b = s["risk_band"] if s["risk_band"] in BAND_RANK else "insufficient_data"
                sc = s.get("risk_score")
                if BAND_RANK[b] > BAND_RANK[best] or (b == best and _ok(sc) and (bsc is None or sc > bsc)):
                    best, bsc = b, sc if _ok(sc) else None
        return best, bsc

    mon, end = week_span
    this_b, _ = peak(mon, end)
    last_b, last_s = peak(mon - timedelta(days=7), mon - timedelta(days=1))
    if BAND_RANK[last_b] <= 0 and BAND_RANK[this_b] >= 2:
        word = "new"
    elif BAND_RANK[this_b] > BAND_RANK[last_b] and BAND_RANK[last_b] > 0:
        word = "worse"
    elif BAND_RANK[this_b] < BAND_RANK[last_b] and BAND_RANK[this_b] > 0:
        word = "better"
    elif BAND_RANK[this_b] <= 0 or BAND_RANK[last_b] <= 0:
        word = "no comparison"
    else:
        word = "same"
    detail = f"last week {BAND_WORD[last_b].lower()}" + (f" (peak {_f(last_s)})" if last_s is not None else "")
    return {"svg": Markup("".join(parts)), "word": word, "detail": detail, "last_band": last_b}


def _latest(rows: Mapping[date, dict], days: Sequence[date], col: str) -> tuple[Any, date | None]:
    for d in reversed(days):
        r = rows.get(d)
        if r is not None and _ok(r.get(col)):
            return r[col], d
    return None, None


def _athlete_section(
    a: str,
    name: str,
    fr: dict[date, dict],
    sr: dict[date, dict],
    week_days: list[date],
    chart_days: list[date],
    trend_days: list[date],
    week_span: tuple[date, date],
    p: ScorerParams,
    notes: list[dict],
    fresh: dict,
) -> dict:
    band_days = {"high": 0, "moderate": 0, "low": 0, "insufficient_data": 0, "none": 0}
    peak_band, peak_score, peak_day = "none", None, None
    flagged = []
    red_flag = False
    red_flag_days: list[date] = []
    last_scored = None
    for d in week_days:
        s = sr.get(d)
        f = fr.get(d)
        rf = bool(f and f.get("red_flag")) or bool(s and "red_flag" in _split_codes(s.get("reasons")))
        if f and f.get("red_flag"):
            red_flag_days.append(d)
        if rf:
            red_flag = True
        if s is None or s.get("risk_band") is None:
            band_days["none"] += 1
            if rf:
                flagged.append(_flagged_day(a, d, None, rf))
            continue
        band = s["risk_band"] if s["risk_band"] in BAND_RANK else "insufficient_data"
        band_days[band] += 1
        last_scored = (d, s)
        # a malformed explanation cell is an error naming the athlete and day, not a silent blank
        _json_list(s.get("components_json"), "components_json", a, d)
        _json_list(s.get("adjustments_json"), "adjustments_json", a, d)
        sc = s.get("risk_score")
        if BAND_RANK[band] > BAND_RANK[peak_band] or (
            band == peak_band and _ok(sc) and (not _ok(peak_score) or sc > peak_score)
        ):
            peak_band, peak_score, peak_day = band, sc, d
        if band in ("moderate", "high") or rf:
            flagged.append(_flagged_day(a, d, s, rf))

    # the named day: the last scored day of the week (every number below is of this day)
    day, s_day = last_scored if last_scored is not None else (week_days[-1], None)
    f_day = fr.get(day)
    facts = day_facts(f_day, s_day, day, fr.get(day - timedelta(days=1)))
    band = facts["risk_band"] if facts["risk_band"] in BAND_RANK else ("none" if s_day is None else "insufficient_data")
    score = facts["risk_score"]
    reasons = [
        {
            "code": r["code"],
            "text": _reason_text(r["code"]),
            "points": _f(r["points"], 0 if r["points"] >= 1 else 1) if r["points"] else None,
            "rule": r["rule"],
        }
        for r in reasons_with_points(s_day)
    ]
    # the red flag as a named symptom and day (the FEATURES report day, else the scorer's flag day)
    rf_day = max(red_flag_days) if red_flag_days else None
    rf_rule = None
    if red_flag:
        for d in sorted(week_days, reverse=True):
            s = sr.get(d)
            if s and "red_flag" in _split_codes(s.get("reasons")):
                rf_day = rf_day or d
                break
        bp = (fr.get(rf_day) or {}).get("back_pain_0_10") if rf_day else None
        rf_rule = red_flag_cause(fr.get(rf_day), sr.get(rf_day)) or "red flag"
        if rf_rule == "red-flag symptom reported" and _ok(bp):
            rf_rule += f" (back pain {_f(bp)}/10)"
    main, others = one_advice(s_day, red_flag=red_flag)
    if main is not None:
        text = main["text"]  # the day's own sentence (numbers from the scorer's parameters) or the generic one
        main = {"code": main["code"], "text": text, "short": text.replace(RED_FLAG_TEXT, "").strip()}
        if red_flag:
            main["short"] = "See a clinician before training again; not a load problem."
    context = [{"code": o["code"], "text": o["text"]} for o in others]
    stale_low = band in ("low", "insufficient_data", "none") and fresh["stale_core"] and not red_flag
    shown = "stale" if stale_low else band

    # back pain: the named day's report, else the week's highest
    bp_week = [(fr[d].get("back_pain_0_10"), d) for d in week_days if d in fr and _ok(fr[d].get("back_pain_0_10"))]
    back = None
    if _ok(facts["back_pain_0_10"]):
        back = {
            "value": _f(facts["back_pain_0_10"]),
            "day": _day_label(day),
            "streak": facts["back_pain_streak_d"] if _ok(facts["back_pain_streak_d"]) else None,
        }
    elif bp_week:
        v, d = max(bp_week)
        back = {"value": _f(v), "day": _day_label(d), "streak": None}

    # coverage and gaps in the report week
    def has(d: date, col: str) -> bool:
        return _ok(fr.get(d, {}).get(col))

    covered = sum(1 for d in week_days if (has(d, "rhr_bpm") or has(d, "hrv_ln_rmssd")) and has(d, "sleep_h"))
    # no data is not zero: days no session source covers say so, never "low" or "0"
    uncovered = [d for d in week_days if fr.get(d, {}).get("load_covered") is False]
    no_training = bool(week_days) and len(uncovered) == len(week_days)
    everyday_min = sum(v for d in week_days if _ok(v := fr.get(d, {}).get("everyday_min")))
    reports = []
    for col, (lo, hi, bad, good) in SELF_REPORT_ITEMS.items():
        v, vd = _latest(fr, week_days, col)
        if _ok(v):
            reports.append(
                {
                    "what": SELF_REPORT_LABEL.get(col, col),
                    "value": f"{v:g}/{hi:g}",
                    "scale": f"{lo:g} = {bad}, {hi:g} = {good}",
                    "day": _day_label(vd),
                }
            )
    untracked = {r["key"] for r in fresh["inputs"] if not r["tracked"]}  # nobody in the team has it
    gaps = []
    for label, cols, key in (
        ("no training data", ("load_au",), "training"),
        ("no resting HR", ("rhr_bpm",), "hr"),
        ("no HRV", ("hrv_ln_rmssd",), "hr"),
        ("no sleep", ("sleep_h",), "sleep"),
    ):
        if key in untracked:
            continue
        miss = [d for d in week_days if not any(has(d, c) for c in cols)]
        if miss:
            gaps.append({"what": label, "n": len(miss), "days": ", ".join(_day_label(d) for d in miss)})
    unscored = [d for d in week_days if d not in sr or sr[d].get("risk_band") is None]
    if unscored:
        gaps.append({"what": "no score", "n": len(unscored), "days": ", ".join(_day_label(d) for d in unscored)})

    fresh_rows = []
    for r in fresh["inputs"]:
        if r["last"] is None:
            txt = "not tracked" if not r["tracked"] else "never" if r["key"] != "checkin" else "none reported"
        elif r["age_d"] == 0:
            txt = "today"
        else:
            txt = f"{r['age_d']} day{'s' if r['age_d'] != 1 else ''} ago"
        fresh_rows.append({**r, "last_txt": r["last"].isoformat() if r["last"] else None, "txt": txt})
    stale_txt = "; ".join(
        f"no {r['label']} data since {r['last_txt']}" if r["last_txt"] else f"no {r['label']} data"
        for r in fresh_rows
        if r["stale"]
    )
    acwr = facts["acwr"]
    return {
        "athlete_id": a,
        "name": name,
        "day": day.isoformat(),
        "day_label": _day_label(day),
        "load_day": facts["load_day"].isoformat(),
        "load_day_label": _day_label(facts["load_day"]),
        "facts": facts,
        "band": band,
        "shown_band": shown,
        "band_word": BAND_WORD[shown],
        "band_icon": BAND_ICON[shown],
        "score": score,
        "score_txt": _f(score),
        "red_flag": red_flag,
        "red_flag_day": _day_label(rf_day) if rf_day else None,
        "red_flag_rule": rf_rule,
        "peak_band": peak_band,
        "peak_band_word": BAND_WORD[peak_band],
        "peak_band_icon": BAND_ICON[peak_band],
        "peak_score": peak_score,
        "peak_score_txt": _f(peak_score),
        "peak_day": _day_label(peak_day) if peak_day else None,
        "band_days": band_days,
        "reasons": reasons,
        "reason_codes": " ".join(r["code"] for r in reasons),
        "advice": main,
        "context": context,
        "trend": _trend(sr, trend_days, week_span, p),
        "back": back,
        "fresh": {**fresh, "rows": fresh_rows, "text": stale_txt},
        "acwr_txt": _f(acwr, 2),
        "acwr_zone": None
        if not _ok(acwr)
        else (
            f"above {p.acwr_danger:g}"
            if acwr > p.acwr_danger
            else f"{p.acwr_spike_start:g}-{p.acwr_danger:g}"
            if acwr > p.acwr_spike_start
            else f"{ACWR_SWEET_LO:g}-{p.acwr_spike_start:g}"
            if acwr >= ACWR_SWEET_LO
            else f"below {ACWR_SWEET_LO:g}"
        ),
        "acwr_ewma_txt": _f(facts["acwr_ewma"], 2),
        "acute_txt": _f(facts["acute_7d_au"]),
        "chronic_txt": _f(facts["chronic_28d_au"]),
        "load_pct_txt": _f(facts["load_pct"], 0, sign=True),
        "rhr": _NOT_TRACKED if "hr" in untracked else _rhr_status(facts["rhr_delta_bpm"], facts["rhr_z"], p),
        "hrv": _NOT_TRACKED if "hr" in untracked else _hrv_status(facts["hrv_z"], p),
        "sleep": _NOT_TRACKED
        if "sleep" in untracked
        else _sleep_status(facts["sleep_7d_h"], facts["sleep_baseline_h"], facts["sleep_debt_7d_h"], p),
        "no_training_data": no_training,
        "no_training_days": len(uncovered),
        "everyday_min_txt": _f(everyday_min) if everyday_min > 0 else None,
        "self_reports": reports,
        "coverage_days": covered,
        "coverage_of": len(week_days),
        "gaps": gaps,
        "flagged": flagged,
        "notes": notes,
        "charts": [
            c
            for c in _charts(name, fr, chart_days, week_span, p)
            if {"recovery": "hr", "sleep": "sleep"}.get(c["key"]) not in untracked
        ],
        "untracked": [r["label"] for r in fresh["inputs"] if not r["tracked"] and r["key"] != "checkin"],
        "_sr": sr,
    }


def _flagged_day(a: str, d: date, s: dict | None, red_flag: bool) -> dict:
    comps = []
    if s is not None:
        for c in _json_list(s.get("components_json"), "components_json", a, d):
            p = c.get("points")
            if _ok(p) and p > 0:
                comps.append(
                    {
                        "component": _component_label(c.get("component")),
                        "points": _f(p, 1 if not float(p).is_integer() else 0),
                        "cap": _f(c.get("cap")),
                        "value": c.get("value") if isinstance(c.get("value"), str) else _f(c.get("value"), 2),
                        "rule": c.get("rule") or "",
                    }
                )
    band = (s or {}).get("risk_band") or "none"
    band = band if band in BAND_RANK else "insufficient_data"
    return {
        "date": d.isoformat(),
        "day": _day_label(d),
        "band": band,
        "band_word": BAND_WORD[band],
        "band_icon": BAND_ICON[band],
        "score": _f((s or {}).get("risk_score")),
        "pct_of_coverage": _f((s or {}).get("score_pct_of_coverage")),
        "coverage_points": _f((s or {}).get("coverage_points")),
        "red_flag": red_flag,
        "reasons": [_reason_text(c) for c in _split_codes((s or {}).get("reasons"))],
        "components": comps,
    }


def _col(rows: dict[date, dict], days: list[date], col: str, fn=None) -> list[float | None]:
    out = []
    for d in days:
        v = rows.get(d, {}).get(col)
        out.append((fn(v) if fn else float(v)) if _ok(v) else None)
    return out


def _charts(name: str, fr: dict[date, dict], days: list[date], span: tuple[date, date], p: ScorerParams) -> list[dict]:
    n = len(days)
    first, last = days[0].isoformat(), days[-1].isoformat()
    period = f"{n} days from {first} to {last}; the report week is shaded"
    charts = []

    load = _col(fr, days, "load_au")
    chronic_daily = _col(fr, days, "chronic_28d_au", lambda v: v / 7.0)
    acwr = _col(fr, days, "acwr")
    acwr_e = _col(fr, days, "acwr_ewma")
    last_acwr = next((v for v in reversed(acwr) if v is not None), None)
    week_load = sum(v for d, v in zip(days, load, strict=True) if v is not None and span[0] <= d <= span[1])
    charts.append(
        {
            "key": "load",
            "title": "Training load and ACWR",
            "legend": [
                ("s-load", "bars: daily load [AU]"),
                ("s-chronic", "dashed: 28-day average daily load"),
                ("s-acwr", "solid: ACWR (7-day / 28-day)"),
                ("s-acwre", "dotted: ACWR, EWMA"),
                ("band-acwr", f"band: {ACWR_SWEET_LO:g}-{p.acwr_spike_start:g} range"),
                ("ref-danger", f"dashed line: {p.acwr_danger:g} (spike)"),
            ],
            "svg": Markup(
                chart_svg(
                    days,
                    [
                        Panel(
                            "load [AU]",
                            [
                                Series("daily load", load, "bar", "s-load"),
                                Series("28-day average daily load", chronic_daily, "line", "s-chronic"),
                            ],
                            gap_series=0,
                            height=110,
                        ),
                        Panel(
                            "ACWR",
                            [Series("ACWR", acwr, "line", "s-acwr"), Series("ACWR EWMA", acwr_e, "line", "s-acwre")],
                            bands=[
                                Band(
                                    f"{ACWR_SWEET_LO:g}-{p.acwr_spike_start:g}",
                                    ACWR_SWEET_LO,
                                    p.acwr_spike_start,
                                    "band-acwr",
                                )
                            ],
                            hlines=[HLine(f"{p.acwr_danger:g}", p.acwr_danger, "ref-danger")],
                            y_min=0.0,
                            extra_values=(p.acwr_danger + 0.1,),
                            height=90,
                        ),
                    ],
                    title=f"{name}: training load and acute:chronic workload ratio",
                    desc=(
                        f"{period}. Load in the report week {week_load:,.0f} AU. Latest ACWR "
                        f"{'n/a' if last_acwr is None else f'{last_acwr:.2f}'} "
                        f"(range {ACWR_SWEET_LO:g}-{p.acwr_spike_start:g}, spike line {p.acwr_danger:g})."
                    ),
                    highlight=span,
                )
            ),
        }
    )

    ctl, atl, tsb = _col(fr, days, "ctl"), _col(fr, days, "atl"), _col(fr, days, "tsb")
    last_tsb = next((v for v in reversed(tsb) if v is not None), None)
    charts.append(
        {
            "key": "pmc",
            "title": "Fitness (CTL), fatigue (ATL) and form (TSB)",
            "legend": [
                ("s-ctl", "solid: fitness CTL (42 d)"),
                ("s-atl", "dashed: fatigue ATL (7 d)"),
                ("s-tsb", "lower panel: form TSB = CTL - ATL"),
            ],
            "svg": Markup(
                chart_svg(
                    days,
                    [
                        Panel(
                            "load [AU/day]",
                            [Series("CTL", ctl, "line", "s-ctl"), Series("ATL", atl, "line", "s-atl")],
                            include_zero=True,
                            height=90,
                        ),
                        Panel("TSB", [Series("TSB", tsb, "line", "s-tsb")], hlines=[HLine("0", 0.0, "ref")], height=60),
                    ],
                    title=f"{name}: fitness, fatigue and form",
                    desc=f"{period}. Latest form (TSB) {'n/a' if last_tsb is None else f'{last_tsb:.0f}'}.",
                    highlight=span,
                )
            ),
        }
    )

    # the normal band is where the scorer gives no points: RHR z below rhr_mild_z, HRV z above hrv_suppressed_z
    rhr_sd, hrv_sd = p.rhr_mild_z, abs(p.hrv_suppressed_z)
    rhr = _col(fr, days, "rhr_bpm")
    rhr7 = _col(fr, days, "rhr_7d_bpm")
    rb = _col(fr, days, "rhr_baseline_bpm")
    rz = _col(fr, days, "rhr_z")
    r_lo, r_hi = [], []
    for x7, b, z in zip(rhr7, rb, rz, strict=True):
        sd = _sd_from_z(x7, b, z)
        r_lo.append(b - rhr_sd * sd if sd is not None else None)
        r_hi.append(b + rhr_sd * sd if sd is not None else None)
    hrv_ms = _col(fr, days, "hrv_ln_rmssd", math.exp)
    hrv7 = _col(fr, days, "hrv_7d_ln")
    hb = _col(fr, days, "hrv_baseline_ln")
    hz = _col(fr, days, "hrv_z")
    h_lo, h_hi = [], []
    for x7, b, z in zip(hrv7, hb, hz, strict=True):
        sd = _sd_from_z(x7, b, z)
        h_lo.append(math.exp(b - hrv_sd * sd) if sd is not None else None)
        h_hi.append(math.exp(b + hrv_sd * sd) if sd is not None else None)
    hrv7_ms = [math.exp(v) if v is not None else None for v in hrv7]
    charts.append(
        {
            "key": "recovery",
            "title": "Resting heart rate and HRV against the athlete's own baseline",
            "legend": [
                ("s-dot", "dots: daily value"),
                ("s-rhr", "line: 7-day mean"),
                (
                    "band-base",
                    f"band: own normal range (RHR baseline \u00b1 {rhr_sd:g} SD, HRV baseline "
                    f"\u00b1 {hrv_sd:g} SD over the prior 60 days: the scorer's thresholds)",
                ),
                ("gap", "grey: no data"),
            ],
            "svg": Markup(
                chart_svg(
                    days,
                    [
                        Panel(
                            "RHR [bpm]",
                            [
                                Series("daily RHR", rhr, "dots", "s-dot"),
                                Series("RHR 7-day mean", rhr7, "line", "s-rhr"),
                            ],
                            bands=[Band("baseline band", r_lo, r_hi, "band-base")],
                            gap_series=0,
                            height=80,
                        ),
                        Panel(
                            "HRV rMSSD [ms]",
                            [
                                Series("daily rMSSD", hrv_ms, "dots", "s-dot"),
                                Series("7-day mean", hrv7_ms, "line", "s-hrv"),
                            ],
                            bands=[Band("baseline band", h_lo, h_hi, "band-base")],
                            gap_series=0,
                            height=80,
                        ),
                    ],
                    title=f"{name}: resting heart rate and HRV against baseline",
                    desc=f"{period}. Days with RHR: {sum(v is not None for v in rhr)} of {n}; days with HRV: "
                    f"{sum(v is not None for v in hrv_ms)} of {n}.",
                    highlight=span,
                )
            ),
        }
    )

    sleep = _col(fr, days, "sleep_h")
    sleep7 = _col(fr, days, "sleep_7d_h")
    # the scorer's references (models.rules.sleep): the athlete's usual sleep (latest 60-night
    # baseline), the absolute floor, and a coach's fixed need only when one is set
    usual = next((v for v in reversed(_col(fr, days, "sleep_baseline_h")) if v is not None), None)
    refs = [(f"floor {p.sleep_floor_h:g} h", p.sleep_floor_h, "ref-danger")]
    if usual is not None:
        refs.append((f"usual {usual:.1f} h", usual, "ref-need"))
    if p.coach_sleep_need_h > 0:
        refs.append((f"coach's need {p.coach_sleep_need_h:g} h", p.coach_sleep_need_h, "ref-need"))
    ref_txt = "; ".join(r[0] for r in refs)
    charts.append(
        {
            "key": "sleep",
            "title": "Sleep against the athlete's usual sleep",
            "legend": [
                ("s-sleep", "bars: hours asleep"),
                ("s-sleep7", "line: 7-day mean"),
                *((c, f"{'red' if c == 'ref-danger' else 'green'} dashed line: {t}") for t, _, c in refs),
                ("gap", "grey: no data"),
            ],
            "svg": Markup(
                chart_svg(
                    days,
                    [
                        Panel(
                            "sleep [h]",
                            [
                                Series("sleep", sleep, "bar", "s-sleep"),
                                Series("7-day mean", sleep7, "line", "s-sleep7"),
                            ],
                            hlines=[HLine(t, y, c) for t, y, c in refs],
                            gap_series=0,
                            y_min=0.0,
                            extra_values=(max(y for _, y, _ in refs) + 1.0,),
                            height=80,
                        ),
                    ],
                    title=f"{name}: sleep against the athlete's usual sleep",
                    desc=f"{period}. Nights with data: {sum(v is not None for v in sleep)} of {n}; {ref_txt}.",
                    highlight=span,
                )
            ),
        }
    )
    return charts


# ---------------------------------------------------------------- rendering
def _env() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["na"] = lambda v: v if v not in (None, "") else Markup('<span class="na">n/a</span>')
    return env


def render_weekly_html(data: Mapping[str, Any], *, generated_at: datetime | None = None) -> str:
    """Render :func:`build_weekly_data` output to one self-contained HTML page.

    The page carries one small inline script (sorting, filtering, opening
    every athlete before printing), allowed by its sha256 in the page's
    Content-Security-Policy; everything reads and prints without it.
    """
    env = _env()
    css = (TEMPLATES / "weekly.css").read_text(encoding="utf-8")
    script = (TEMPLATES / "weekly.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return env.get_template("weekly.html.j2").render(
        d=data,
        css=Markup(css),
        script=Markup(script),
        script_hash=f"sha256-{digest}",
        generated_at=generated_at.isoformat(timespec="minutes") if generated_at else None,
        disclaimer=DISCLAIMER,
        red_flags=RED_FLAGS,
        red_flag_emergency=RED_FLAG_EMERGENCY,
        reason_text=REASON_TEXT,
        band_icon=BAND_ICON,
        band_word=BAND_WORD,
        red_flag_icon=RED_FLAG_ICON,
        warn_icon="\u26a0",
        single=len(data["athletes"]) == 1 and data.get("single", True),
    )


def build_weekly_report(
    features: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    generated_at: datetime | None = None,
    checkin: list[dict] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> str:
    """The weekly coach report as one HTML string.

    Keyword arguments are those of :func:`build_weekly_data` (``week``,
    ``as_of``, ``names``, ``athletes``, ``notes``, ``history_days``,
    ``sleep_need_h``, ``team_name``, ``params``, ``stale_after_d``,
    ``groups``, ``acks``, ``sent_alerts``, ``trend_weeks``), plus
    ``generated_at`` (a timestamp printed in the footer; the function reads
    no clock) and ``checkin`` (:func:`reports.checkin_compliance.checkin_compliance`
    rows: a "Daily check-in this week" table when given) and ``evaluation``
    (:func:`pipelines.stage_evaluate.report_evaluation`: a "How the indicator
    tracked this team's reports" section when given).

    Returns
    -------
    str
        A complete HTML document: inline CSS, inline SVG charts, one small
        inline script, no external resources.

    Examples
    --------
    >>> html = build_weekly_report(features, scores, week="2026-W15",
    ...                            names={"a1": "Alice"})  # doctest: +SKIP
    """
    single = kwargs.get("athletes") is not None
    data = build_weekly_data(features, scores, **kwargs)
    data["single"] = single
    if checkin is not None:  # reports.checkin_compliance.checkin_compliance rows
        data["checkin"] = checkin
    if evaluation is not None:
        data["evaluation"] = dict(evaluation)
    return render_weekly_html(data, generated_at=generated_at)
