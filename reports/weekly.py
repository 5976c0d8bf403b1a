"""The weekly coach report: one self-contained HTML file.

:func:`build_weekly_report` turns the FEATURES and SCORES tables into an HTML
page: a team overview (one row per athlete, sorted by risk), then one section
per athlete with inline-SVG charts (load and ACWR, fitness/fatigue/form, RHR
and HRV against the athlete's own baseline band, sleep against need), the
flagged days with each score component's points and rule, the recommended
adjustments in plain language, and the data gaps.

The module is pure apart from reading its Jinja2 templates: no clock, no
environment, no network. ``as_of`` and every threshold are parameters.

Design choices (``../shared/docs/ecosystem.md`` section 2):

* Charts are hand-made inline SVG (:mod:`reports.svg`): about 3-5 kB each,
  no JavaScript, print well. Plotly would embed ~4.8 MB of plotly.js.
* Jinja2 autoescaping is on for every template; the only ``|safe`` values are
  the SVG strings built by :mod:`reports.svg`, which escapes its own text.
* Colour is never the only carrier of meaning: bands are written as words with
  a distinct icon shape (``BAND_ICON``), statuses are words, chart series also
  differ in line style or mark.
* The report states that the score is a risk indicator, not a diagnosis, that
  ACWR is a disputed injury predictor [R13, R15, R16], and lists the red flags
  that mean "see a clinician" [B13, B14].

Status thresholds for the team table follow the domain brief, section 4
(RHR mild +3 bpm / z >= 1, flagged +5 bpm / z >= 2; HRV suppressed below
-0.5 SD, strongly below -1 SD; sleep need 8 h) and ACWR bands 0.8-1.3 and
1.5 [R8, R10].

References
----------
R8 Gabbett, BJSM 2016;50:273. R10 Blanch & Gabbett, BJSM 2016;50:471.
R13 Lolli, BJSM 2019;53:921. R15 Impellizzeri, IJSPP 2020;15:907.
R16 Impellizzeri, Sports Med 2021;51:581.
H5 Vesterinen, MSSE 2016;48:1347 (HRV smallest worthwhile change 0.5 SD).
B13 Finucane, JOSPT 2020;50:350. B14 NICE NG59 2016.
"""

from __future__ import annotations

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
from models.vocab import (
    ADJUSTMENT_GENERIC,
    BAND_TEXT,
    DISCLAIMER,
    REASON_TEXT,
    RED_FLAG_EMERGENCY,
    RED_FLAGS,
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
    "ACWR_SWEET_HI",
    "ACWR_DANGER",
]

TEMPLATES = Path(__file__).with_name("templates")

#: ACWR "sweet spot" and danger line [R8, R10]; drawn on the ACWR chart.
ACWR_SWEET_LO = 0.8
ACWR_SWEET_HI = 1.3
ACWR_DANGER = 1.5
#: RHR: mild +3 bpm or z >= 1; flagged +5 bpm or z >= 2 (domain brief 4).
RHR_MILD_BPM, RHR_MILD_Z = 3.0, 1.0
RHR_HIGH_BPM, RHR_HIGH_Z = 5.0, 2.0
#: HRV: below -0.5 SD (smallest worthwhile change) and -1 SD [H5].
HRV_LOW_Z, HRV_VERY_LOW_Z = -0.5, -1.0
#: Normal band half-widths drawn on the recovery charts [SD].
RHR_BAND_SD = 1.0
HRV_BAND_SD = 0.5
#: Sleep debt over 7 days that the scorer adds points for [h].
SLEEP_DEBT_HIGH_H = 5.0
#: A 7-day mean within this of the need is "slightly below need", not flagged [h].
SLEEP_NEAR_NEED_H = 0.5

#: Band -> rank for sorting (higher is worse); "none" = no score that week.
BAND_RANK = {"high": 3, "moderate": 2, "low": 1, "insufficient_data": 0, "none": -1}
#: Band -> icon; each band has its own shape so it survives greyscale printing.
BAND_ICON = {"high": "\u25b2", "moderate": "\u25c6", "low": "\u25cf", "insufficient_data": "\u25cb", "none": "\u2013"}
BAND_WORD = {**{k: v.upper() for k, v in BAND_TEXT.items()}, "none": "NO SCORE"}
RED_FLAG_ICON = "\u2691"  # flag

#: Component name -> label for the flagged-day tables (unknown names are humanised).
COMPONENT_LABEL = {
    "load_spike": "Load spike",
    "acwr": "Load spike",
    "weekly_jump": "Weekly jump",
    "weekly_ramp": "Weekly jump",
    "monotony": "Monotony / strain",
    "hard_day_streak": "Hard-day streak",
    "ctl_ramp": "CTL ramp",
    "hrv": "HRV",
    "rhr": "Resting HR",
    "sleep": "Sleep",
    "back_symptoms": "Back symptoms",
    "back": "Back symptoms",
    "red_flag": "Red flag",
}

_WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$")


# ---------------------------------------------------------------- dates
#: Words for the self-reported monitoring items (features.schemas.SELF_REPORT_ITEMS).
SELF_REPORT_LABEL = {"soreness_1_5": "soreness", "fatigue_1_5": "fatigue", "sleep_quality_1_5": "sleep quality",
                     "mood_1_5": "mood", "stress_1_5": "stress", "readiness_0_10": "readiness"}


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
def _ok(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


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
def _rhr_status(delta: Any, z: Any) -> dict:
    if not _ok(delta) and not _ok(z):
        return {"level": -1, "word": "no baseline", "detail": None}
    d = delta if _ok(delta) else None
    zz = z if _ok(z) else None
    if (d is not None and d >= RHR_HIGH_BPM) or (zz is not None and zz >= RHR_HIGH_Z):
        level, word = 2, "elevated"
    elif (d is not None and d >= RHR_MILD_BPM) or (zz is not None and zz >= RHR_MILD_Z):
        level, word = 1, "slightly up"
    else:
        level, word = 0, "normal"
    parts = []
    if d is not None:
        parts.append(f"{_sgn(d)} bpm")
    if zz is not None:
        parts.append(f"z {_sgn(zz)}")
    return {"level": level, "word": word, "detail": ", ".join(parts)}


def _hrv_status(z: Any) -> dict:
    if not _ok(z):
        return {"level": -1, "word": "no baseline", "detail": None}
    if z < HRV_VERY_LOW_Z:
        level, word = 2, "well below normal"
    elif z < HRV_LOW_Z:
        level, word = 1, "below normal"
    elif z > -HRV_LOW_Z:
        level, word = 0, "above normal"
    else:
        level, word = 0, "normal"
    return {"level": level, "word": word, "detail": f"z {_sgn(z)}"}


def _sleep_status(mean_h: Any, debt_h: Any, need_h: float) -> dict:
    if not _ok(mean_h):
        return {"level": -1, "word": "no data", "detail": None}
    debt = debt_h if _ok(debt_h) else None
    if mean_h < need_h and debt is not None and debt > SLEEP_DEBT_HIGH_H:
        level, word = 2, "short"
    elif mean_h < need_h - SLEEP_NEAR_NEED_H:
        level, word = 1, "below need"
    elif mean_h < need_h:
        level, word = "n", "slightly below need"
    else:
        level, word = 0, "enough"
    detail = f"{mean_h:.1f} h/night vs {need_h:g} h"
    if debt is not None and debt > 0:
        detail += f", debt {debt:.1f} h"
    return {"level": level, "word": word, "detail": detail}


# ---------------------------------------------------------------- data model
def _rows_by_day(df: pl.DataFrame) -> dict[date, dict]:
    return {r["date"]: r for r in df.iter_rows(named=True)}


def _latest(rows: Mapping[date, dict], days: Sequence[date], col: str) -> tuple[Any, date | None]:
    for d in reversed(days):
        r = rows.get(d)
        if r is not None and _ok(r.get(col)):
            return r[col], d
    return None, None


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
    sleep_need_h: float = 8.0,
    team_name: str | None = None,
) -> dict:
    """The report's content as plain data (what :func:`render_weekly_html` draws).

    Parameters
    ----------
    features : polars.DataFrame
        FEATURES table (``features.schemas.FEATURES``), any number of athletes.
    scores : polars.DataFrame
        SCORES table (``features.schemas.SCORES``); the optional explanation
        columns (``components_json``, ``adjustments_json``, ``coverage_points``)
        are used when present.
    week : str, optional
        ISO week ``"2026-W15"``. Default: the week containing ``as_of``.
    as_of : datetime.date, optional
        Last day the report may use. Default: the week's Sunday. A week still
        in progress is reported up to ``as_of``.
    names : mapping of str to str, optional
        athlete_id -> display name (default: the id).
    athletes : iterable of str, optional
        Only these athletes (a single-athlete report with one id). Default:
        every athlete with a FEATURES or SCORES row in the report week; the
        others are only named (``summary["inactive"]``).
    notes : polars.DataFrame, optional
        Columns ``athlete_id``, ``date``, ``note`` (e.g. the WELLNESS table):
        free-text notes shown (escaped) in the athlete's section.
    history_days : int
        Days shown in the charts, ending on the report's last day [d].
    sleep_need_h : float
        Sleep need drawn on the sleep chart and used for the status [h].
    team_name : str, optional
        Shown in the title.

    Returns
    -------
    dict
        ``{"week", "week_start", "week_end", "as_of", "days", "team": [row ...],
        "athletes": [section ...], "summary": {...}}``; rows and sections are
        in risk order (see :data:`BAND_RANK`). Dates are ISO strings; the
        chart SVGs are under ``section["charts"]``.

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
    if history_days < 7:
        raise ValueError(f"history_days must be >= 7, got {history_days}")
    if not (_ok(sleep_need_h) and 0 < sleep_need_h <= 14):
        raise ValueError(f"sleep_need_h must be in (0, 14] h, got {sleep_need_h!r}")
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
    names = dict(names or {})

    known = sorted(set(features["athlete_id"].unique().drop_nulls().to_list())
                   | set(scores["athlete_id"].unique().drop_nulls().to_list()))
    if athletes is not None:
        wanted = list(dict.fromkeys(athletes))
        unknown = [a for a in wanted if a not in known]
        if unknown:
            raise ValueError(
                f"unknown athlete id(s) {', '.join(map(repr, unknown))}; known: "
                + (", ".join(known[:20]) or "none") + (" ..." if len(known) > 20 else "")
            )
        ids = wanted
        inactive: list[str] = []
    else:
        # athletes with no row at all in the report week (left the team, stopped syncing) are named, not drawn
        in_week = set(features.filter(pl.col("date").is_between(monday, end))["athlete_id"].to_list()) | set(
            scores.filter(pl.col("date").is_between(monday, end))["athlete_id"].to_list())
        ids = [a for a in known if a in in_week]
        inactive = [a for a in known if a not in in_week]

    f_win = features.filter(pl.col("date").is_between(start, end) & pl.col("athlete_id").is_in(ids))
    s_win = scores.filter(pl.col("date").is_between(start, end) & pl.col("athlete_id").is_in(ids))
    f_by = {k[0]: v for k, v in f_win.partition_by("athlete_id", as_dict=True).items()} if f_win.height else {}
    s_by = {k[0]: v for k, v in s_win.partition_by("athlete_id", as_dict=True).items()} if s_win.height else {}
    n_by: dict[str, list[dict]] = {}
    if notes is not None and notes.height and "note" in notes.columns:
        nw = notes.filter(pl.col("date").is_between(monday, end) & pl.col("note").is_not_null()
                          & (pl.col("note").str.strip_chars() != "") & pl.col("athlete_id").is_in(ids))
        for r in nw.sort("date").iter_rows(named=True):
            n_by.setdefault(r["athlete_id"], []).append({"date": r["date"].isoformat(), "day": _day_label(r["date"]), "note": r["note"]})

    sections = []
    for a in ids:
        fr = _rows_by_day(f_by.get(a, FEATURES.empty()))
        sr = _rows_by_day(s_by.get(a, SCORES.empty()))
        sections.append(_athlete_section(a, names.get(a) or a, fr, sr, week_days, chart_days,
                                         (monday, end), sleep_need_h, n_by.get(a, [])))

    sections.sort(key=lambda s: (
        not s["red_flag"], -BAND_RANK[s["peak_band"]], -s["band_days"]["high"], -s["band_days"]["moderate"],
        -(s["peak_score"] if _ok(s["peak_score"]) else -1.0), s["name"].casefold(), s["athlete_id"],
    ))
    for i, s in enumerate(sections):
        s["anchor"] = f"athlete-{i + 1}"
    summary = {b: sum(1 for s in sections if s["peak_band"] == b) for b in BAND_RANK}
    summary["red_flag"] = sum(1 for s in sections if s["red_flag"])
    summary["athletes"] = len(sections)
    summary["inactive"] = [names.get(a) or a for a in inactive]
    return {
        "week": week,
        "week_start": monday.isoformat(),
        "week_end": sunday.isoformat(),
        "report_end": end.isoformat(),
        "as_of": as_of.isoformat(),
        "partial_week": end < sunday,
        "days": [d.isoformat() for d in week_days],
        "history_days": history_days,
        "sleep_need_h": sleep_need_h,
        "team_name": team_name,
        "summary": summary,
        "athletes": sections,
    }


def _athlete_section(a: str, name: str, fr: dict[date, dict], sr: dict[date, dict], week_days: list[date],
                     chart_days: list[date], week_span: tuple[date, date], need_h: float,
                     notes: list[dict]) -> dict:
    band_days = {"high": 0, "moderate": 0, "low": 0, "insufficient_data": 0, "none": 0}
    peak_band, peak_score, peak_day = "none", None, None
    reason_pts: dict[str, float] = {}
    flagged = []
    red_flag = False
    red_flag_days = []
    last_scored = None
    for d in week_days:
        s = sr.get(d)
        f = fr.get(d)
        rf = bool(f and f.get("red_flag")) or bool(s and "red_flag" in _split_codes(s.get("reasons")))
        if rf:
            red_flag = True
            red_flag_days.append(_day_label(d))
        if s is None or s.get("risk_band") is None:
            band_days["none"] += 1
            if rf:
                flagged.append(_flagged_day(a, d, None, rf))
            continue
        band = s["risk_band"] if s["risk_band"] in BAND_RANK else "insufficient_data"
        band_days[band] += 1
        last_scored = (d, s)
        sc = s.get("risk_score")
        if BAND_RANK[band] > BAND_RANK[peak_band] or (
            band == peak_band and _ok(sc) and (not _ok(peak_score) or sc > peak_score)
        ):
            peak_band, peak_score, peak_day = band, sc, d
        comps = _json_list(s.get("components_json"), "components_json", a, d)
        if comps:
            for c in comps:
                r, p = c.get("reason"), c.get("points")
                if r and _ok(p) and p > 0:
                    reason_pts[r] = reason_pts.get(r, 0.0) + float(p)
        else:
            codes = _split_codes(s.get("reasons"))
            for i, r in enumerate(codes):
                reason_pts[r] = reason_pts.get(r, 0.0) + (len(codes) - i) / len(codes)
        if band in ("moderate", "high") or rf:
            flagged.append(_flagged_day(a, d, s, rf))
    if red_flag:
        reason_pts["red_flag"] = float("inf")
    leading = sorted(reason_pts.items(), key=lambda kv: (-kv[1], kv[0]))
    leading_reasons = [{"code": c, "text": _reason_text(c)} for c, _ in leading]

    # adjustments: the latest scored day's, a red flag first
    adjustments: list[dict] = []
    adj_day = None
    if last_scored is not None:
        adj_day, s = last_scored
        items = _json_list(s.get("adjustments_json"), "adjustments_json", a, adj_day)
        by_code = {it.get("code"): it.get("text") for it in items if it.get("code")}
        for code in _split_codes(s.get("adjustments")) or list(by_code):
            generic = ADJUSTMENT_GENERIC.get(code, code.replace("_", " "))
            adjustments.append({"code": code, "text": by_code.get(code) or generic, "short": generic})
    if red_flag and not any(x["code"] == "see_clinician" for x in adjustments):
        g = ADJUSTMENT_GENERIC["see_clinician"]
        adjustments.insert(0, {"code": "see_clinician", "text": g, "short": g})
    if red_flag:  # a red flag overrides the score: no "soreness is expected" advice next to it
        adjustments = [x for x in adjustments if x["code"] != "mobility"]
    adjustments.sort(key=lambda x: x["code"] != "see_clinician")

    # latest metrics in the week
    acwr, acwr_day = _latest(fr, week_days, "acwr")
    acwr_ewma, _ = _latest(fr, week_days, "acwr_ewma")
    acute, acute_day = _latest(fr, week_days, "acute_7d_au")
    chronic = fr.get(acute_day, {}).get("chronic_28d_au") if acute_day else None
    load_pct = 100.0 * (acute / chronic - 1.0) if _ok(acute) and _ok(chronic) and chronic > 0 else None
    rhr_delta, rhr_day = _latest(fr, week_days, "rhr_delta_bpm")
    rhr_z = fr.get(rhr_day, {}).get("rhr_z") if rhr_day else _latest(fr, week_days, "rhr_z")[0]
    hrv_z, _ = _latest(fr, week_days, "hrv_z")
    sleep_mean, sleep_day = _latest(fr, week_days, "sleep_7d_h")
    sleep_debt = fr.get(sleep_day, {}).get("sleep_debt_7d_h") if sleep_day else None

    # coverage and gaps in the report week
    def has(d: date, col: str) -> bool:
        return _ok(fr.get(d, {}).get(col))

    covered = sum(1 for d in week_days if (has(d, "rhr_bpm") or has(d, "hrv_ln_rmssd")) and has(d, "sleep_h"))
    cov_pts = [p for d in week_days if d in sr and (p := _input_share(sr[d], a, d)) is not None]
    # no data is not zero: days no session source covers say so, never "low" or "0"
    uncovered = [d for d in week_days if fr.get(d, {}).get("load_covered") is False]
    no_training = bool(week_days) and len(uncovered) == len(week_days)
    everyday_min = sum(v for d in week_days if _ok(v := fr.get(d, {}).get("everyday_min")))
    reports = []
    for col, (lo, hi, bad, good) in SELF_REPORT_ITEMS.items():
        v, vd = _latest(fr, week_days, col)
        if _ok(v):
            reports.append({"what": SELF_REPORT_LABEL.get(col, col), "value": f"{v:g}/{hi:g}",
                            "scale": f"{lo:g} = {bad}, {hi:g} = {good}", "day": _day_label(vd)})
    gaps = []
    for label, cols in (("no training data", ("load_au",)), ("no resting HR", ("rhr_bpm",)),
                        ("no HRV", ("hrv_ln_rmssd",)), ("no sleep", ("sleep_h",))):
        miss = [d for d in week_days if not any(has(d, c) for c in cols)]
        if miss:
            gaps.append({"what": label, "n": len(miss), "days": ", ".join(_day_label(d) for d in miss)})
    unscored = [d for d in week_days if d not in sr or sr[d].get("risk_band") is None]
    if unscored:
        gaps.append({"what": "no score", "n": len(unscored), "days": ", ".join(_day_label(d) for d in unscored)})

    return {
        "athlete_id": a,
        "name": name,
        "red_flag": red_flag,
        "red_flag_days": red_flag_days,
        "peak_band": peak_band,
        "peak_band_word": BAND_WORD[peak_band],
        "peak_band_icon": BAND_ICON[peak_band],
        "peak_score": peak_score,
        "peak_score_txt": _f(peak_score),
        "peak_day": _day_label(peak_day) if peak_day else None,
        "band_days": band_days,
        "leading_reasons": leading_reasons,
        "adjustments": adjustments,
        "adjustments_day": _day_label(adj_day) if adj_day else None,
        "acwr": acwr,
        "acwr_txt": _f(acwr, 2),
        "acwr_day": _day_label(acwr_day) if acwr_day else None,
        "acwr_zone": None if not _ok(acwr) else (
            "above 1.5" if acwr > ACWR_DANGER else "1.3-1.5" if acwr > ACWR_SWEET_HI
            else "0.8-1.3" if acwr >= ACWR_SWEET_LO else "below 0.8"),
        "acwr_ewma_txt": _f(acwr_ewma, 2),
        "acute_txt": _f(acute),
        "chronic_txt": _f(chronic),
        "load_pct_txt": _f(load_pct, 0, sign=True),
        "rhr": _rhr_status(rhr_delta, rhr_z),
        "hrv": _hrv_status(hrv_z),
        "sleep": _sleep_status(sleep_mean, sleep_debt, need_h),
        "no_training_data": no_training,
        "no_training_days": len(uncovered),
        "everyday_min_txt": _f(everyday_min) if everyday_min > 0 else None,
        "self_reports": reports,
        "coverage_days": covered,
        "coverage_of": len(week_days),
        "coverage_points_txt": _f(sum(cov_pts) / len(cov_pts)) if cov_pts else None,
        "gaps": gaps,
        "flagged": flagged,
        "notes": notes,
        "charts": _charts(name, fr, chart_days, week_span, need_h),
    }


def _input_share(s: dict, a: str, d: date) -> float | None:
    """Share of the score's possible points whose inputs had data that day [%].

    From ``components_json`` (caps of applicable components with and without
    data); without it, ``coverage_points`` read as points out of 100
    (domain brief section 6).
    """
    comps = _json_list(s.get("components_json"), "components_json", a, d)
    if comps:
        possible = sum(float(c["cap"]) for c in comps if _ok(c.get("cap")) and c.get("applicable", True))
        with_data = sum(float(c["cap"]) for c in comps
                        if _ok(c.get("cap")) and c.get("applicable", True) and c.get("has_data", True))
        if possible > 0:
            return 100.0 * with_data / possible
    cp = s.get("coverage_points")
    return min(float(cp), 100.0) if _ok(cp) else None


def _flagged_day(a: str, d: date, s: dict | None, red_flag: bool) -> dict:
    comps = []
    if s is not None:
        for c in _json_list(s.get("components_json"), "components_json", a, d):
            p = c.get("points")
            if _ok(p) and p > 0:
                comps.append({
                    "component": _component_label(c.get("component")),
                    "points": _f(p, 1 if not float(p).is_integer() else 0),
                    "cap": _f(c.get("cap")),
                    "value": c.get("value") if isinstance(c.get("value"), str) else _f(c.get("value"), 2),
                    "rule": c.get("rule") or "",
                })
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


def _charts(name: str, fr: dict[date, dict], days: list[date], span: tuple[date, date], need_h: float) -> list[dict]:
    n = len(days)
    first, last = days[0].isoformat(), days[-1].isoformat()
    period = f"{n} days from {first} to {last}; the report week is shaded"
    charts = []

    load = _col(fr, days, "load_au")
    chronic_daily = _col(fr, days, "chronic_28d_au", lambda v: v / 7.0)
    acwr = _col(fr, days, "acwr")
    acwr_e = _col(fr, days, "acwr_ewma")
    last_acwr = next((v for v in reversed(acwr) if v is not None), None)
    week_load = sum(v for d, v in zip(days, load) if v is not None and span[0] <= d <= span[1])
    charts.append({
        "key": "load",
        "title": "Training load and ACWR",
        "legend": [("s-load", "bars: daily load [AU]"), ("s-chronic", "dashed: 28-day average daily load"),
                   ("s-acwr", "solid: ACWR (7-day / 28-day)"), ("s-acwre", "dotted: ACWR, EWMA"),
                   ("band-acwr", "band: 0.8-1.3 range"), ("ref-danger", "dashed line: 1.5 (spike)")],
        "svg": Markup(chart_svg(days, [
            Panel("load [AU]", [Series("daily load", load, "bar", "s-load"),
                                Series("28-day average daily load", chronic_daily, "line", "s-chronic")],
                  gap_series=0, height=110),
            Panel("ACWR", [Series("ACWR", acwr, "line", "s-acwr"), Series("ACWR EWMA", acwr_e, "line", "s-acwre")],
                  bands=[Band("0.8-1.3", ACWR_SWEET_LO, ACWR_SWEET_HI, "band-acwr")],
                  hlines=[HLine("1.5", ACWR_DANGER, "ref-danger")], y_min=0.0,
                  extra_values=(1.6,), height=90),
        ], title=f"{name}: training load and acute:chronic workload ratio",
            desc=f"{period}. Load in the report week {week_load:,.0f} AU. Latest ACWR "
                 f"{'n/a' if last_acwr is None else f'{last_acwr:.2f}'} (sweet spot 0.8-1.3, danger line 1.5).",
            highlight=span)),
    })

    ctl, atl, tsb = _col(fr, days, "ctl"), _col(fr, days, "atl"), _col(fr, days, "tsb")
    last_tsb = next((v for v in reversed(tsb) if v is not None), None)
    charts.append({
        "key": "pmc",
        "title": "Fitness (CTL), fatigue (ATL) and form (TSB)",
        "legend": [("s-ctl", "solid: fitness CTL (42 d)"), ("s-atl", "dashed: fatigue ATL (7 d)"),
                   ("s-tsb", "lower panel: form TSB = CTL - ATL")],
        "svg": Markup(chart_svg(days, [
            Panel("load [AU/day]", [Series("CTL", ctl, "line", "s-ctl"), Series("ATL", atl, "line", "s-atl")],
                  include_zero=True, height=90),
            Panel("TSB", [Series("TSB", tsb, "line", "s-tsb")], hlines=[HLine("0", 0.0, "ref")], height=60),
        ], title=f"{name}: fitness, fatigue and form",
            desc=f"{period}. Latest form (TSB) {'n/a' if last_tsb is None else f'{last_tsb:.0f}'}.",
            highlight=span)),
    })

    rhr = _col(fr, days, "rhr_bpm")
    rhr7 = _col(fr, days, "rhr_7d_bpm")
    rb = _col(fr, days, "rhr_baseline_bpm")
    rz = _col(fr, days, "rhr_z")
    r_lo, r_hi = [], []
    for x7, b, z in zip(rhr7, rb, rz):
        sd = _sd_from_z(x7, b, z)
        r_lo.append(b - RHR_BAND_SD * sd if sd is not None else None)
        r_hi.append(b + RHR_BAND_SD * sd if sd is not None else None)
    hrv_ms = _col(fr, days, "hrv_ln_rmssd", math.exp)
    hrv7 = _col(fr, days, "hrv_7d_ln")
    hb = _col(fr, days, "hrv_baseline_ln")
    hz = _col(fr, days, "hrv_z")
    h_lo, h_hi = [], []
    for x7, b, z in zip(hrv7, hb, hz):
        sd = _sd_from_z(x7, b, z)
        h_lo.append(math.exp(b - HRV_BAND_SD * sd) if sd is not None else None)
        h_hi.append(math.exp(b + HRV_BAND_SD * sd) if sd is not None else None)
    hrv7_ms = [math.exp(v) if v is not None else None for v in hrv7]
    charts.append({
        "key": "recovery",
        "title": "Resting heart rate and HRV against the athlete's own baseline",
        "legend": [("s-dot", "dots: daily value"), ("s-rhr", "line: 7-day mean"),
                   ("band-base", "band: own normal range (RHR baseline \u00b1 1 SD, HRV baseline \u00b1 0.5 SD over the prior 60 days)"),
                   ("gap", "grey: no data")],
        "svg": Markup(chart_svg(days, [
            Panel("RHR [bpm]", [Series("daily RHR", rhr, "dots", "s-dot"), Series("RHR 7-day mean", rhr7, "line", "s-rhr")],
                  bands=[Band("baseline band", r_lo, r_hi, "band-base")], gap_series=0, height=80),
            Panel("HRV rMSSD [ms]", [Series("daily rMSSD", hrv_ms, "dots", "s-dot"), Series("7-day mean", hrv7_ms, "line", "s-hrv")],
                  bands=[Band("baseline band", h_lo, h_hi, "band-base")], gap_series=0, height=80),
        ], title=f"{name}: resting heart rate and HRV against baseline",
            desc=f"{period}. Days with RHR: {sum(v is not None for v in rhr)} of {n}; days with HRV: "
                 f"{sum(v is not None for v in hrv_ms)} of {n}.",
            highlight=span)),
    })

    sleep = _col(fr, days, "sleep_h")
    sleep7 = _col(fr, days, "sleep_7d_h")
    charts.append({
        "key": "sleep",
        "title": "Sleep against need",
        "legend": [("s-sleep", "bars: hours asleep"), ("s-sleep7", "line: 7-day mean"),
                   ("ref-need", f"dashed line: need {need_h:g} h"), ("gap", "grey: no data")],
        "svg": Markup(chart_svg(days, [
            Panel("sleep [h]", [Series("sleep", sleep, "bar", "s-sleep"), Series("7-day mean", sleep7, "line", "s-sleep7")],
                  hlines=[HLine(f"need {need_h:g} h", need_h, "ref-need")], gap_series=0, y_min=0.0,
                  extra_values=(need_h + 1.0,), height=80),
        ], title=f"{name}: sleep against need",
            desc=f"{period}. Nights with data: {sum(v is not None for v in sleep)} of {n}; need {need_h:g} h.",
            highlight=span)),
    })
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
    """Render :func:`build_weekly_data` output to one self-contained HTML page."""
    env = _env()
    css = (TEMPLATES / "weekly.css").read_text(encoding="utf-8")
    return env.get_template("weekly.html.j2").render(
        d=data,
        css=Markup(css),
        generated_at=generated_at.isoformat(timespec="minutes") if generated_at else None,
        disclaimer=DISCLAIMER,
        red_flags=RED_FLAGS,
        red_flag_emergency=RED_FLAG_EMERGENCY,
        reason_text=REASON_TEXT,
        band_icon=BAND_ICON,
        band_word=BAND_WORD,
        red_flag_icon=RED_FLAG_ICON,
        single=len(data["athletes"]) == 1,
    )


def build_weekly_report(
    features: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    week: str | None = None,
    as_of: date | None = None,
    names: Mapping[str, str] | None = None,
    athletes: Iterable[str] | None = None,
    notes: pl.DataFrame | None = None,
    history_days: int = 42,
    sleep_need_h: float = 8.0,
    team_name: str | None = None,
    generated_at: datetime | None = None,
    checkin: list[dict] | None = None,
) -> str:
    """The weekly coach report as one HTML string.

    Parameters are those of :func:`build_weekly_data`, plus ``generated_at``
    (a timestamp printed in the footer; the function reads no clock) and
    ``checkin`` (:func:`reports.checkin_compliance.checkin_compliance` rows:
    a "Daily check-in this week" table when given).

    Returns
    -------
    str
        A complete HTML document: inline CSS, inline SVG charts, no scripts,
        no external resources. About 25-35 kB per athlete.

    Examples
    --------
    >>> html = build_weekly_report(features, scores, week="2026-W15",
    ...                            names={"a1": "Alice"})  # doctest: +SKIP
    """
    data = build_weekly_data(features, scores, week=week, as_of=as_of, names=names, athletes=athletes,
                             notes=notes, history_days=history_days, sleep_need_h=sleep_need_h,
                             team_name=team_name)
    if checkin is not None:  # reports.checkin_compliance.checkin_compliance rows
        data["checkin"] = checkin
    return render_weekly_html(data, generated_at=generated_at)
