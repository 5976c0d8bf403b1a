"""PMSys exports (a team-monitoring app: session RPE, daily wellness, injury reports).

Two layouts are read, each file recognised by its content (header row or JSON
shape); the file name is used only to say *which* item a wide daily table holds
when its first header cell does not (``stress.csv``, ``daily_load.csv`` start
with ``Date``).

Per-athlete layout (``<athlete>/pmsys/*.csv``; the athlete comes from the
folder or ``--athlete``)
``srpe.csv`` -> ``sessions``
    ``end_date_time`` (UTC, ``2019-11-05T22:51:54.710Z``: when the session was
    logged), ``activity_names`` (a Python list, ``['team', 'soccer']``),
    ``perceived_exertion`` (CR10, 0-10), ``duration_min``. The start is
    back-computed as logged time minus duration, so ``start_precision`` is
    ``"approx"``: the merge stage matches it to device recordings by time
    overlap with a tolerance (:mod:`features.merge`).
``wellness.csv`` -> ``wellness`` (source ``pmsys``)
    ``effective_time_frame`` (UTC; the local date of the report is the row's
    date), ``fatigue, mood, sleep_quality, soreness, stress`` (1-5, 1 = the
    bad end), ``readiness`` (0-10, 0 = not ready), ``sleep_duration_h``
    (self-reported hours), ``soreness_area`` (SNOMED codes, kept as text).
``injury.csv`` -> ``injuries``
    ``effective_time_frame`` (UTC), ``injuries``: a Python dict body part ->
    ``minor``/``major``, ``{}`` for a report of no injury (kept as one row
    with a null body part and severity ``none``).

Team layout (the SoccerMon/PMSys team export: one wide table per item)
``wellness/<item>.csv`` -> ``wellness`` (source ``pmsys_<item>``)
    One row per date (``dd.mm.yyyy``, first column; its header is
    ``"Fatigue Data"``, ``"SleepQuality Data"``, ... or ``Date``), one column
    per player id; an empty cell is no report. Each item file has its own
    ``source`` so that the store, which keys wellness rows on (athlete,
    source, date), keeps every item of a day; the features stage merges them.
``training-load/session.json`` -> ``sessions``
    ``{player: [{"srpe", "rpe", "duration" (min), "date" (dd.mm.yyyy)}, ...]}``.
    No start time: ``start_utc`` is local midnight of the date (``--tz``,
    else UTC) plus the session's position within the day in seconds, so the
    sessions of a day keep distinct keys, and ``start_precision`` is
    ``"date"``.
``injury/injury.csv`` -> ``injuries``
    ``player_name, type, timestamp``; ``type`` a JSON object body part ->
    ``minor``/``major``.
``training-load/{daily_load,weekly_load,acwr,atl,ctl28,ctl42,monotony,strain}.csv``,
``illness/illness.csv``, ``game-performance/game-performance.csv``
    Recognised and ledgered without rows: the app's own derived values (load
    is computed from the sessions; ``daily_load.csv`` is the cross-check in
    the tests) and items that are not inputs.

Scales (``features.schemas.SELF_REPORT_ITEMS``): every 1-5 item is stored as
PMSys writes it, 1 = the bad end (soreness 1 = very sore, fatigue 1 = very
tired, stress 1 = very stressed), 5 = the good end. On SoccerMon team A the
mean soreness the day after a day of 500 AU or more is 2.64 against 3.03 after
a rest day (``tests/connectors/test_pmsys.py``), which is that direction.

Session load is session-RPE, ``load_au = rpe x duration_min`` [R1]
(``load_method="srpe"``, ``load_confidence="high"``); a session of 0 minutes
has load 0 (as in the app's own ``daily_load``).

References
----------
R1 Foster C et al. A new approach to monitoring exercise training. J Strength
Cond Res 2001;15:109-115.
D2 Midoglu C et al. A large-scale multivariate soccer athlete health,
performance, and position monitoring dataset. Sci Data 2024 (SoccerMon,
Zenodo 10.5281/zenodo.10033832, CC BY 4.0).
"""

from __future__ import annotations

import ast
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from connectors._export_util import (
    BadRows,
    LocalTime,
    UnexpectedErrors,
    display_name,
    frame,
    header_fields,
    is_missing,
    json_head,
    normalise_sport,
    open_csv,
    parse_float,
    require_athlete,
)
from connectors.base import BadRowError, ConnectorError, CorruptFileError, ReadContext, ReadResult
from features.schemas import INJURIES, SESSIONS, WELLNESS

__all__ = ["FORMAT", "KINDS", "TEAM_KINDS", "detect", "kind_of", "read", "is_back_part", "WIDE_ITEMS", "DERIVED_ITEMS"]

FORMAT = "pmsys"
SOURCE = "pmsys"

SRPE = "pmsys_srpe"
WELLNESS_KIND = "pmsys_wellness"
INJURY = "pmsys_injury"
TEAM_SESSIONS = "pmsys_team_sessions"
TEAM_WIDE = "pmsys_team_daily"
TEAM_INJURY = "pmsys_team_injury"
TEAM_OTHER = "pmsys_team_other"
KINDS = (SRPE, WELLNESS_KIND, INJURY, TEAM_SESSIONS, TEAM_WIDE, TEAM_INJURY, TEAM_OTHER)
#: kinds that are whole-team exports (one column or key per player): their folder is a grouping
#: folder such as ``wellness/`` or ``training-load/``, not an athlete's folder
TEAM_KINDS = (TEAM_SESSIONS, TEAM_WIDE, TEAM_INJURY, TEAM_OTHER)

#: wellness item of a wide team table -> (wellness column, low, high)
WIDE_ITEMS: dict[str, tuple[str, float, float]] = {
    "fatigue": ("fatigue_1_5", 1.0, 5.0),
    "mood": ("mood_1_5", 1.0, 5.0),
    "readiness": ("readiness_0_10", 0.0, 10.0),
    "sleep_duration": ("sleep_reported_h", 0.0, 24.0),
    "sleep_quality": ("sleep_quality_1_5", 1.0, 5.0),
    "soreness": ("soreness_1_5", 1.0, 5.0),
    "stress": ("stress_1_5", 1.0, 5.0),
}
#: the app's own derived daily values (wide tables): recognised, not read as inputs
DERIVED_ITEMS = ("daily_load", "weekly_load", "acwr", "atl", "ctl28", "ctl42", "monotony", "strain")
#: first header cell of a wide table -> item ("SleepDurH Data" -> sleep_duration)
_HEADER_ITEM = {
    "fatigue data": "fatigue",
    "mood data": "mood",
    "readiness data": "readiness",
    "sleepdurh data": "sleep_duration",
    "sleepduration data": "sleep_duration",
    "sleepquality data": "sleep_quality",
    "soreness data": "soreness",
    "stress data": "stress",
}
#: per-athlete wellness.csv column -> (wellness column, low, high)
_WELLNESS_COLUMNS: dict[str, tuple[str, float, float]] = {
    "fatigue": ("fatigue_1_5", 1.0, 5.0),
    "mood": ("mood_1_5", 1.0, 5.0),
    "readiness": ("readiness_0_10", 0.0, 10.0),
    "sleep_duration_h": ("sleep_reported_h", 0.0, 24.0),
    "sleep_quality": ("sleep_quality_1_5", 1.0, 5.0),
    "soreness": ("soreness_1_5", 1.0, 5.0),
    "stress": ("stress_1_5", 1.0, 5.0),
}
_SEVERITIES = ("minor", "major")
_DMY = re.compile(r"^\d{1,2}\.\d{1,2}\.\d{4}$")
_BACK = re.compile(r"back|lumbar|spine|lower_back|lendenwirbel", re.I)
#: activity_names entries that say how, not what (``['team', 'soccer']``)
_ACTIVITY_QUALIFIERS = {"team", "individual", "other"}


def is_back_part(body_part: str | None) -> bool:
    """Whether a reported body part is the back (PMSys ``stomach_back``; ``lower_back``, ``lumbar``...)."""
    return bool(body_part) and bool(_BACK.search(body_part))


# ------------------------------------------------------------------------------------ detection
def _second_line_first_cell(head: bytes) -> str:
    text = head.decode("utf-8-sig", errors="replace")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return ""
    return lines[1].split(",", 1)[0].strip().strip('"')


def kind_of(path: Path, head: bytes) -> str | None:
    """Which PMSys file ``head`` is (None: not PMSys)."""
    h = json_head(head)
    if h.startswith(b"{"):
        if all(k in h for k in (b'"srpe"', b'"rpe"', b'"duration"', b'"date"')) and re.match(
            rb'^\{\s*"[^"]+"\s*:\s*\[', h
        ):
            return TEAM_SESSIONS
        return None
    cols = header_fields(head)
    if not cols:
        return None
    low = [c.strip().lower() for c in cols]
    s = set(low)
    if {"end_date_time", "perceived_exertion", "duration_min"} <= s:
        return SRPE
    if "effective_time_frame" in s and "injuries" in s:
        return INJURY
    if "effective_time_frame" in s and len(s & set(_WELLNESS_COLUMNS)) >= 3:
        return WELLNESS_KIND
    if low[:1] == ["player_name"] and "timestamp" in s and len(low) >= 3:
        if low == ["player_name", "type", "timestamp"]:
            return TEAM_INJURY
        if "problems" in s or "team_performance" in s:
            return TEAM_OTHER
        return None
    # a wide daily table: first cell a label, then player columns, dates dd.mm.yyyy below
    if len(cols) >= 2 and _DMY.match(_second_line_first_cell(head)):
        first = low[0]
        if first in _HEADER_ITEM or first == "date":
            return TEAM_WIDE
    return None


def detect(path: Path, head: bytes) -> bool:
    try:
        return kind_of(path, head) is not None
    except Exception:  # noqa: BLE001 - a detector never raises
        return False


# ------------------------------------------------------------------------------------ parsing
def _utc(raw: str, name: str, line: int, column: str) -> datetime:
    s = raw.strip()
    try:
        t = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRowError(
            name, f"{s!r} is not an ISO 8601 UTC time like 2019-11-05T22:51:54.710Z", line=line, column=column
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=timezone.utc)
    return t.astimezone(timezone.utc)


def _dmy(raw: str, name: str, line: int, column: str) -> date:
    try:
        return datetime.strptime(raw.strip(), "%d.%m.%Y").date()
    except ValueError:
        raise BadRowError(
            name, f"{raw.strip()!r} is not a date like 31.12.2021 (dd.mm.yyyy)", line=line, column=column
        ) from None


def _number(
    raw: object, name: str, line: int | None, column: str, lo: float, hi: float, record: str | None = None
) -> float | None:
    """A number in ``lo..hi`` (:func:`connectors._export_util.parse_float`), None for a missing cell;
    the error of a JSON session starts with its ``record`` (``player 'x' session 3``)."""
    if isinstance(raw, str) and is_missing(raw):
        return None
    try:
        return parse_float(raw, name, line=line, column=column, lo=lo, hi=hi)
    except BadRowError as err:
        if record is None:
            raise
        raise BadRowError(name, f"{record}: {err.message}", line=line, column=column) from None


def _literal(raw: str, name: str, line: int, column: str, kind: type) -> Any:
    """A Python or JSON literal cell (``{'right_hand': 'minor'}``, ``['team', 'soccer']``)."""
    s = raw.strip()
    if not s:
        return kind()
    try:
        v = json.loads(s)
    except ValueError:
        try:
            v = ast.literal_eval(s)
        except (ValueError, SyntaxError):
            v = None
    if not isinstance(v, kind):
        raise BadRowError(
            name,
            f"{s[:80]!r} is not a {'dict' if kind is dict else 'list'} literal "
            f"(expected e.g. {'{}' if kind is dict else '[]'} or "
            f"{'{' + repr('right_knee') + ': ' + repr('minor') + '}' if kind is dict else repr(['team', 'soccer'])})",
            line=line,
            column=column,
        )
    return v


def _injury_rows(
    parts: dict, athlete: str, day: date, name: str, line: int | None, column: str, record: str | None = None
) -> list[dict]:
    if not parts:
        return [
            {
                "athlete_id": athlete,
                "source": SOURCE,
                "date": day,
                "body_part": None,
                "severity": "none",
                "is_back": False,
            }
        ]
    rows = []
    for part, sev in parts.items():
        sev_s = str(sev).strip().lower()
        if sev_s not in _SEVERITIES:
            where = f"{record}: " if record else ""
            raise BadRowError(
                name, f"{where}severity {sev!r} of {part!r}: expected minor or major", line=line, column=column
            )
        rows.append(
            {
                "athlete_id": athlete,
                "source": SOURCE,
                "date": day,
                "body_part": str(part),
                "severity": sev_s,
                "is_back": is_back_part(str(part)),
            }
        )
    return rows


def _zone(ctx: ReadContext, name: str):
    if not ctx.tz:
        return None
    try:
        return ZoneInfo(ctx.tz)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConnectorError(
            name, f"unknown time zone {ctx.tz!r} (expected an IANA name such as 'Europe/Oslo')"
        ) from err


def _dedupe_days(rows: list[dict], key: tuple[str, ...], result: ReadResult, what: str) -> list[dict]:
    """Keep the last report of a key (an athlete reporting twice on one day); note how many."""
    seen: dict[tuple, int] = {}
    for i, r in enumerate(rows):
        seen[tuple(r[k] for k in key)] = i
    if len(seen) < len(rows):
        result.warn(f"{len(rows) - len(seen)} {what} on a day that already had one: the later report is kept")
    return [rows[i] for i in sorted(seen.values())]


# ------------------------------------------------------------------------------------ readers
def _per_athlete_csv(path: Path, ctx: ReadContext, name: str, result: ReadResult, file: str, what: str):
    """A per-athlete CSV's athlete (required), its local-time converter (``what`` it dates), its
    columns by lower-case name and its ``(line, row)`` records."""
    athlete = require_athlete(name, ctx, "PMSys per-athlete", file)
    tz = LocalTime(ctx, path, what)
    header, rows = open_csv(path, name, result.warnings)
    return athlete, tz, {c.strip().lower(): c for c in header}, rows


def _read_srpe(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    athlete, tz, cols, rows = _per_athlete_csv(path, ctx, name, result, "srpe.csv", "local dates of the sessions")
    out = []
    for line, row in rows:
        try:
            end = _utc(row[cols["end_date_time"]], name, line, "end_date_time")
            rpe = _number(row[cols["perceived_exertion"]], name, line, "perceived_exertion", 0.0, 10.0)
            minutes = _number(row[cols["duration_min"]], name, line, "duration_min", 0.0, 24 * 60.0)
            if minutes is None:
                raise BadRowError(name, "empty duration: expected minutes", line=line, column="duration_min")
            acts = (
                _literal(row.get(cols.get("activity_names", ""), ""), name, line, "activity_names", list)
                if "activity_names" in cols
                else []
            )
        except BadRowError as err:
            bad(err)
            continue
        what = [str(a) for a in acts if str(a).strip().lower() not in _ACTIVITY_QUALIFIERS]
        sport, sub = normalise_sport(what[-1] if what else "")
        start = end - timedelta(minutes=minutes)
        load = rpe * minutes if rpe is not None else None
        out.append(
            {
                "athlete_id": athlete,
                "source": SOURCE,
                "start_utc": start,
                "local_date": tz.local_date_of(start),
                "local_offset_s": tz.offset_of(start),
                "sport": sport,
                "sub_sport": sub,
                "duration_s": minutes * 60.0,
                "rpe": rpe,
                "load_au": load,
                "load_method": "srpe" if load is not None else None,
                "load_confidence": "high" if load is not None else None,
                "start_precision": "approx",
            }
        )
    tz.note(result)
    result.sessions = _frame(out, SESSIONS)


def _read_wellness(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    athlete, tz, cols, rows = _per_athlete_csv(
        path, ctx, name, result, "wellness.csv", "local dates of the wellness reports"
    )
    out = []
    for line, row in rows:
        try:
            t = _utc(row[cols["effective_time_frame"]], name, line, "effective_time_frame")
            rec: dict[str, Any] = {"athlete_id": athlete, "source": SOURCE, "date": tz.local_date_of(t)}
            for src, (dst, lo, hi) in _WELLNESS_COLUMNS.items():
                if src in cols:
                    rec[dst] = _number(row[cols[src]], name, line, src, lo, hi)
            if "soreness_area" in cols:
                area = _literal(row[cols["soreness_area"]], name, line, "soreness_area", list)
                rec["soreness_area"] = ";".join(str(a) for a in area) or None
        except BadRowError as err:
            bad(err)
            continue
        out.append(rec)
    tz.note(result)
    out = _dedupe_days(out, ("athlete_id", "date"), result, "wellness reports")
    result.wellness = _frame(out, WELLNESS)


def _read_injury(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    athlete, tz, cols, rows = _per_athlete_csv(
        path, ctx, name, result, "injury.csv", "local dates of the injury reports"
    )
    out: list[dict] = []
    for line, row in rows:
        try:
            t = _utc(row[cols["effective_time_frame"]], name, line, "effective_time_frame")
            parts = _literal(row[cols["injuries"]], name, line, "injuries", dict)
            out += _injury_rows(parts, athlete, tz.local_date_of(t), name, line, "injuries")
        except BadRowError as err:
            bad(err)
    tz.note(result)
    out = _dedupe_days(out, ("athlete_id", "date", "body_part"), result, "injury reports of a body part")
    result.injuries = _frame(out, INJURIES)


def _read_team_injury(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    header, rows = open_csv(path, name, result.warnings)
    out: list[dict] = []
    for line, row in rows:
        try:
            player = row["player_name"].strip()
            if not player:
                raise BadRowError(name, "empty player_name", line=line, column="player_name")
            day = _dmy(row["timestamp"], name, line, "timestamp")
            parts = _literal(row["type"], name, line, "type", dict)
            out += _injury_rows(parts, player, day, name, line, "type")
        except BadRowError as err:
            bad(err)
    out = _dedupe_days(out, ("athlete_id", "date", "body_part"), result, "injury reports of a body part")
    result.injuries = _frame(out, INJURIES)


def _wide_item(path: Path, first_header: str) -> str | None:
    item = _HEADER_ITEM.get(first_header.strip().lower())
    if item:
        return item
    stem = re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_")
    stem = re.sub(r"_\d+$", "", stem)  # "stress_1" (a renamed copy)
    if stem in WIDE_ITEMS or stem in DERIVED_ITEMS:
        return stem
    return None


def _read_team_wide(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    header, rows = open_csv(path, name, result.warnings)
    item = _wide_item(path, header[0])
    if item is None:
        raise ConnectorError(
            name,
            f"a PMSys wide daily table, but which item it holds is not known: its first header cell is "
            f"{header[0]!r} and the file name {path.name!r} is none of "
            f"{', '.join(sorted(WIDE_ITEMS))} (rename it to <item>.csv)",
            line=1,
            column=header[0],
        )
    if item in DERIVED_ITEMS:
        result.warn(
            f"PMSys {item}: the app's own derived value, not read (strainwatch computes load from "
            "training-load/session.json)"
        )
        return
    column, lo, hi = WIDE_ITEMS[item]
    players = [h.strip() for h in header[1:]]
    if any(not p for p in players):
        raise ConnectorError(name, "a player column without a name in the header row", line=1)
    source = f"{SOURCE}_{item}"
    out = []
    for line, row in rows:
        try:
            day = _dmy(row[header[0]], name, line, header[0])
        except BadRowError as err:
            bad(err)
            continue
        for h, p in zip(header[1:], players, strict=True):
            try:
                v = _number(row[h], name, line, p, lo, hi)
            except BadRowError as err:
                bad(err)
                continue
            if v is not None:
                out.append({"athlete_id": p, "source": source, "date": day, column: v})
    result.wellness = _frame(out, WELLNESS)


def _read_team_sessions(path: Path, ctx: ReadContext, name: str, bad: BadRows, result: ReadResult) -> None:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        line = getattr(err, "lineno", None)
        raise CorruptFileError(name, f"malformed JSON: {err}", line=line) from err
    if not isinstance(data, dict):
        raise CorruptFileError(name, "expected a JSON object {player: [sessions]}", offset=0)
    zone = _zone(ctx, name)
    if zone is None:
        result.warn(
            "no time zone given (--tz): the sessions' dates are read as UTC days; their local dates "
            "are the dates in the file either way"
        )
    out = []
    for player, sessions in data.items():
        if not isinstance(sessions, list):
            raise CorruptFileError(
                name, f"player {player!r}: expected a list of sessions, found {type(sessions).__name__}"
            )
        per_day: dict[date, int] = {}
        for i, s in enumerate(sessions):
            rec = f"player {player!r} session {i}"
            try:
                if not isinstance(s, dict):
                    raise BadRowError(
                        name, f"{rec}: expected an object with srpe, rpe, duration, date", column="<record>"
                    )
                raw_day = s.get("date")
                if not isinstance(raw_day, str) or not _DMY.match(raw_day.strip()):
                    raise BadRowError(name, f"{rec}: date {raw_day!r} is not dd.mm.yyyy", column="date")
                day = datetime.strptime(raw_day.strip(), "%d.%m.%Y").date()
                rpe = _number(s.get("rpe"), name, None, "rpe", 0.0, 10.0, rec)
                minutes = _number(s.get("duration"), name, None, "duration", 0.0, 24 * 60.0, rec)
                srpe = _number(s.get("srpe"), name, None, "srpe", 0.0, 10.0 * 24 * 60, rec)
            except BadRowError as err:
                bad(err)
                continue
            k = per_day.get(day, 0)
            per_day[day] = k + 1
            midnight = datetime(day.year, day.month, day.day, tzinfo=zone or timezone.utc)
            start = midnight.astimezone(timezone.utc) + timedelta(seconds=k)
            off = midnight.utcoffset()
            if rpe is not None and minutes is not None:
                load, method = rpe * minutes, "srpe"
                if srpe is not None and abs(srpe - load) > 0.5:
                    result.warn(
                        f"{rec} ({raw_day}): srpe {srpe:g} is not rpe x duration = {load:g}; rpe x duration is used"
                    )
            elif srpe is not None:
                load, method = srpe, "srpe"
            else:
                load, method = None, None
            out.append(
                {
                    "athlete_id": str(player),
                    "source": SOURCE,
                    "start_utc": start,
                    "local_date": day,
                    "local_offset_s": int(off.total_seconds()) if off is not None and zone is not None else None,
                    "sport": "generic",
                    "duration_s": minutes * 60.0 if minutes is not None else None,
                    "rpe": rpe,
                    "load_au": load,
                    "load_method": method,
                    "load_confidence": "high" if load is not None else None,
                    "start_precision": "date",
                }
            )
    result.sessions = _frame(out, SESSIONS)


def _frame(rows: list[dict], schema) -> pl.DataFrame:
    """Rows (dicts with a subset of the schema's columns) as a frame of the columns present."""
    if not rows:
        return schema.empty()
    present = set().union(*(r.keys() for r in rows))
    return frame(rows, {c: t for c, t in schema.columns.items() if c in present})


_READERS = {
    SRPE: _read_srpe,
    WELLNESS_KIND: _read_wellness,
    INJURY: _read_injury,
    TEAM_INJURY: _read_team_injury,
    TEAM_WIDE: _read_team_wide,
    TEAM_SESSIONS: _read_team_sessions,
}


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one PMSys file (see the module docstring for the layouts)."""
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        kind = kind_of(path, head)
        if kind is None:
            raise ConnectorError(
                name,
                "not a PMSys export (expected srpe.csv, wellness.csv, injury.csv, a wide "
                "daily table with dd.mm.yyyy dates, or training-load/session.json)",
                offset=0,
            )
        result = ReadResult(format=kind, team_export=kind in TEAM_KINDS)
        if kind == TEAM_OTHER:
            result.warn("PMSys illness / game-performance reports: recognised, not read (not inputs)")
            return result
        bad = BadRows(ctx)
        _READERS[kind](path, ctx, name, bad, result)
        result.athlete_ids = ()
        result.__post_init__()
        return bad.finish(result)
