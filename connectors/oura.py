"""Oura ring exports: the trends CSV and the per-type exports (CSV and JSON).

Formats (detected by their header row or JSON keys, never by file name)
-----------------------------------------------------------------------
* **Trends CSV** (``oura_<from>_<to>_trends.csv``, Oura web dashboard, one row
  per day): ``date``, ``Total Bedtime``, ``Total Sleep Time``, ``Awake Time``,
  ``REM Sleep Time``, ``Light Sleep Time``, ``Deep Sleep Time`` (seconds),
  ``Bedtime Start``/``Bedtime End`` (ISO 8601 with offset),
  ``Average Resting Heart Rate``, ``Lowest Resting Heart Rate``,
  ``Average HRV`` (rMSSD, ms), ``Sleep Score``. Header cells may carry trailing
  spaces (``"Total Sleep Time "``); they are stripped.
* **sleepmodel** (per-type export ``sleepmodel.csv``/``.json``; the fields of
  Oura API v2 ``sleep``): one row per sleep period with ``type``
  (``long_sleep`` = the main sleep; ``sleep``, ``nap``, ``late_nap`` = naps;
  ``rest`` and ``deleted`` are not sleep and are skipped), ``bedtime_start``,
  ``bedtime_end``, durations in seconds (``total_sleep_duration``,
  ``deep_sleep_duration``, ``light_sleep_duration``, ``rem_sleep_duration``,
  ``awake_time``, ``time_in_bed``), ``lowest_heart_rate``, ``average_hrv``;
  cells such as ``heart_rate``, ``hrv`` and ``readiness`` hold JSON objects.
  The CSV may be ``;``- or ``,``-separated. JSON: a list of records, or an
  object with a ``data`` (API v2) or ``sleep`` list. Records of the older
  JSON export (API v1 names: ``total``, ``deep``, ``light``, ``rem``,
  ``awake``, ``duration``, ``hr_lowest``, ``rmssd``, ``is_longest``) are read
  with the same mapping.
* **dailysleep** (``dailysleep.csv``/``.json``: ``id, contributors, day,
  score, timestamp`` with the contributors as a JSON cell): it holds the daily
  sleep *score* and its contributors, which are 1-100 scores, not durations.
  It is recognised and validated but yields no rows (the ``sleep`` table needs
  start and end times, which are in sleepmodel); the ledger says so.
* **workout** (``workout.csv``/``.json``: ``activity``, ``start_datetime``,
  ``end_datetime`` with offsets, ``distance`` [m], ``calories`` [kcal],
  ``intensity``, ``source``) -> ``sessions``: duration = end - start, no heart
  rate (Oura often imports these from other apps; the cross-source merge
  keeps one copy).
* The other per-type files (:data:`OTHER_TYPES`: dailyreadiness,
  dailyactivity, heartrate, ...) are recognised by their fields and ledgered
  with a note, so a whole export folder ingests without rejections.

Mapping
-------
``sleep``: start/end from the bedtime fields, ``wake_date`` = local date of
the bedtime end (in its own offset, so travel is handled); ``is_nap`` false
for the main sleep. ``wellness`` (``source = "oura"``), one row per wake date
from the main sleep: ``rhr_bpm`` = lowest resting heart rate (Oura's headline
"Resting heart rate"; the average is used only when the lowest is missing),
``hrv_rmssd_ms`` = average HRV (Oura measures rMSSD). With several main
sleeps ending on one day the longest wins. The bedtime end decides the date
because Oura's own dates differ between exports: the trends CSV's ``date`` is
the wake date, API v2 ``day`` too, but the v1 JSON's ``summary_date`` is the
day *before* waking. They are used only when the bedtime end is missing (v1:
``summary_date`` + 1 day).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl

from connectors._export_util import (
    BadRows,
    display_name,
    head_text,
    header_fields,
    open_csv,
    parse_float,
    require_athlete,
)
from connectors.base import BadRowError, ConnectorError, ReadContext, ReadResult
from features.schemas import SESSIONS, SLEEP, WELLNESS

__all__ = ["FORMAT", "SOURCE", "detect", "read", "kind_of"]

FORMAT = "oura"
SOURCE = "oura"

TRENDS = {
    "Total Bedtime": "time_in_bed",
    "Total Sleep Time": "total_sleep_duration",
    "Awake Time": "awake_time",
    "REM Sleep Time": "rem_sleep_duration",
    "Light Sleep Time": "light_sleep_duration",
    "Deep Sleep Time": "deep_sleep_duration",
    "Bedtime Start": "bedtime_start",
    "Bedtime End": "bedtime_end",
    "Average Resting Heart Rate": "average_heart_rate",
    "Lowest Resting Heart Rate": "lowest_heart_rate",
    "Average HRV": "average_hrv",
    "Sleep Score": "score",
}
V1 = {
    "total": "total_sleep_duration",
    "deep": "deep_sleep_duration",
    "light": "light_sleep_duration",
    "rem": "rem_sleep_duration",
    "awake": "awake_time",
    "duration": "time_in_bed",
    "hr_lowest": "lowest_heart_rate",
    "hr_average": "average_heart_rate",
    "rmssd": "average_hrv",
    "summary_date": "day",
}
SLEEPMODEL_KEYS = {"bedtime_start", "bedtime_end", "type", "total_sleep_duration"}
MAIN_TYPES = {"long_sleep"}
NAP_TYPES = {"sleep", "nap", "late_nap"}
SKIP_TYPES = {"rest", "deleted"}


WORKOUT_KEYS = {"activity", "start_datetime", "end_datetime"}

#: Other per-type files of the Oura export (the "App Data" folder), recognised by
#: their fields so that a whole export folder ingests without rejections; they
#: are ledgered with a note and add no rows.
OTHER_TYPES: dict[str, set[str]] = {
    "dailyreadiness": {"contributors", "day", "temperature_deviation"},
    "dailyactivity": {"day", "steps", "active_calories"},
    "heartrate": {"bpm", "source", "timestamp"},
    "dailyspo2": {"day", "spo2_percentage"},
    "daytimestress": {"day", "stress_high", "recovery_high"},
    "sleeptime": {"day", "optimal_bedtime", "recommendation"},
    "dailyresilience": {"day", "level", "contributors"},
    "enhancedtag": {"tag_type_code", "start_time"},
    "session": {"day", "start_datetime", "end_datetime", "type"},
}


def kind_of(fields: set[str], text: str) -> str | None:
    """The Oura export type from header cells or JSON keys (None: not Oura).

    ``"trends"``, ``"sleepmodel"``, ``"dailysleep"``, ``"workout"``, or the
    name of an :data:`OTHER_TYPES` file.
    """
    if {"date", "Total Sleep Time", "Bedtime Start", "Bedtime End"} <= fields:
        return "trends"
    if SLEEPMODEL_KEYS <= fields or {"bedtime_start", "bedtime_end", "total", "is_longest"} <= fields:
        return "sleepmodel"
    if (
        {"contributors", "day", "score"} <= fields
        and "bedtime_start" not in fields
        and ("deep_sleep" in text and "total_sleep" in text)
    ):
        return "dailysleep"
    if WORKOUT_KEYS <= fields:
        return "workout"
    for name, keys in OTHER_TYPES.items():
        if keys <= fields:
            return name
    return None


_JSON_KEY = re.compile(r'"([A-Za-z_][A-Za-z0-9_ ]*)"\s*:')


def _json_kind(text: str) -> str | None:
    return kind_of(set(_JSON_KEY.findall(text)), text)


def detect(path: Path, head: bytes) -> bool:
    text = head_text(head)
    if not text:
        return False
    s = text.lstrip()
    if s[:1] in "[{":
        return _json_kind(s) is not None
    fields = header_fields(head)
    return bool(fields) and kind_of(set(fields), text) is not None


def _parse_iso(value: Any, display: str, where: dict, column: str) -> datetime | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise BadRowError(display, f"expected an ISO 8601 time, found {value!r}", column=column, **where)
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRowError(
            display,
            f"expected an ISO 8601 time like '2024-05-01T22:51:43+02:00', found {value!r}",
            column=column,
            **where,
        ) from None
    if dt.tzinfo is None:
        raise BadRowError(display, f"time without a UTC offset: {value!r}", column=column, **where)
    return dt


def _convert(
    rec: dict[str, Any], kind: str, display: str, where: dict, athlete: str
) -> tuple[dict | None, dict | None]:
    """One normalised record (API v2 names) -> (sleep row, wellness row)."""

    def num(col: str, lo: float, hi: float) -> float | None:
        return parse_float(rec.get(col), display, line=where.get("line"), column=col, lo=lo, hi=hi)

    typ = rec.get("type")
    if kind == "trends":
        typ = "long_sleep"
    elif typ is None and "is_longest" in rec:
        typ = "long_sleep" if rec.get("is_longest") in (1, True, "1", "true") else "nap"
    if not isinstance(typ, str) or not typ:
        raise BadRowError(
            display,
            f"expected a sleep type (long_sleep, sleep, nap, late_nap, rest), found {typ!r}",
            column="type",
            **where,
        )
    typ = typ.strip()
    if typ in SKIP_TYPES:
        return None, None
    if typ not in MAIN_TYPES | NAP_TYPES:
        raise BadRowError(
            display,
            f"unknown sleep type {typ!r}; expected long_sleep, sleep, nap, late_nap, rest or deleted",
            column="type",
            **where,
        )
    start = _parse_iso(rec.get("bedtime_start"), display, where, "bedtime_start")
    end = _parse_iso(rec.get("bedtime_end"), display, where, "bedtime_end")
    day_long = 24 * 3600.0
    rhr = num("lowest_heart_rate", 20, 200)
    if rhr is None:
        rhr = num("average_heart_rate", 20, 200)
    hrv = num("average_hrv", 1, 500)
    sleep = None
    if start is not None or end is not None:
        if start is None or end is None:
            raise BadRowError(
                display,
                "a sleep needs both bedtime start and end",
                column="bedtime_end" if end is None else "bedtime_start",
                **where,
            )
        span = (end - start).total_seconds()
        if span <= 0 or span > day_long:
            raise BadRowError(
                display,
                f"bedtime end {end.isoformat()} is not within 24 h after start {start.isoformat()}",
                column="bedtime_end",
                **where,
            )
        in_bed = num("time_in_bed", 0, day_long)
        sleep = {
            "athlete_id": athlete,
            "source": SOURCE,
            "start_utc": start.astimezone(timezone.utc),
            "end_utc": end.astimezone(timezone.utc),
            "wake_date": end.date(),
            "asleep_s": num("total_sleep_duration", 0, day_long),
            "deep_s": num("deep_sleep_duration", 0, day_long),
            "light_s": num("light_sleep_duration", 0, day_long),
            "rem_s": num("rem_sleep_duration", 0, day_long),
            "awake_s": num("awake_time", 0, day_long),
            "in_bed_s": in_bed if in_bed is not None else span,
            "is_nap": typ not in MAIN_TYPES,
            "sleep_score": num("score", 0, 100),
        }
    well = None
    if typ in MAIN_TYPES and (rhr is not None or hrv is not None):
        d = end.date() if end is not None else _day(rec.get("date", rec.get("day")), display, where)
        if end is None and d is not None and rec.get("__v1__"):
            d = d + timedelta(days=1)  # v1 summary_date is the day before waking
        if d is not None:
            well = {
                "athlete_id": athlete,
                "source": SOURCE,
                "date": d,
                "rhr_bpm": rhr,
                "hrv_rmssd_ms": hrv,
                "_len": (sleep or {}).get("asleep_s") or 0.0,
            }
    return sleep, well


def _day(value: Any, display: str, where: dict) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise BadRowError(display, f"expected a date YYYY-MM-DD, found {value!r}", column="date", **where) from None


def _records_from_json(path: Path, display: str) -> tuple[str, list[tuple[dict, dict]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConnectorError(display, f"not UTF-8 text: {err.reason}", offset=err.start) from err
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConnectorError(display, f"malformed JSON at column {err.colno}: {err.msg}", line=err.lineno) from None
    except RecursionError:
        raise ConnectorError(display, "JSON nested too deeply: expected a list of sleep records") from None
    if isinstance(doc, dict):
        for key in ("data", "sleep"):
            if isinstance(doc.get(key), list):
                items, label = doc[key], key
                break
        else:
            raise ConnectorError(
                display,
                "expected a JSON list of sleep records or an object with a 'data' "
                f"or 'sleep' list; found keys {sorted(doc)[:8]}",
            )
    elif isinstance(doc, list):
        items, label = doc, ""
    else:
        raise ConnectorError(display, f"expected a JSON list or object, found {type(doc).__name__}")
    out = []
    for i, item in enumerate(items):
        where = {"line": None}
        rec_label = f"record {label}[{i}]" if label else f"record [{i}]"
        if not isinstance(item, dict):
            out.append(({"__bad__": f"{rec_label}: expected an object, found {type(item).__name__}"}, where))
            continue
        rec = {V1.get(k, k): v for k, v in item.items()}
        rec["__label__"] = rec_label
        rec["__v1__"] = "summary_date" in item
        out.append((rec, where))
    keys: set[str] = set()
    for x in items[:50]:
        if isinstance(x, dict):
            keys.update(V1.get(k, k) for k in x)
            keys.update(k for k in x)
    kind = kind_of(keys, text[:65536]) or _json_kind(text[:65536])
    if kind is None and label == "sleep" and ({"total_sleep_duration", "lowest_heart_rate"} & keys):
        kind = "sleepmodel"  # the old JSON export's "sleep" list, records without bedtimes
    if kind is None:
        raise ConnectorError(
            display,
            "not an Oura export: the records have none of the sleepmodel, dailysleep "
            f"or workout fields (found {sorted(keys)[:8]})",
        )
    return kind, out


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read an Oura trends CSV, sleepmodel CSV/JSON or dailysleep CSV/JSON.

    Raises
    ------
    ConnectorError
        Malformed CSV (names the line) or JSON (line and column), an
        unrecognised layout, or no athlete known.
    BadRowError
        A row or record with an impossible value (names the line, or the
        record index for JSON), unless ``ctx.on_bad_row`` is ``skip``.
    """
    display = display_name(path, ctx)
    athlete = require_athlete(display, ctx, "Oura")
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536)
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    text = head_text(head) or ""
    bad = BadRows(ctx, max_notes=20)
    notes: list[str] = []
    if text.lstrip()[:1] in ("[", "{"):
        kind, recs = _records_from_json(path, display)
        fmt = f"oura_{kind}_json"
        records = recs
    else:
        header, rows = open_csv(path, display, notes)
        kind = kind_of(set(header), text)
        if kind is None:
            raise ConnectorError(
                display,
                "not an Oura export: expected the trends CSV header (date, Total Sleep "
                "Time, Bedtime Start, Bedtime End, ...) or a sleepmodel/dailysleep header",
                line=1,
            )
        fmt = f"oura_{kind}_csv"
        if kind in OTHER_TYPES:
            rows = iter(())
        records = []
        for line, row in rows:
            rec = {TRENDS.get(k, k): v for k, v in row.items()} if kind == "trends" else dict(row)
            records.append((rec, {"line": line}))

    if kind in OTHER_TYPES:
        result = ReadResult(format=f"oura_other_{fmt.rsplit('_', 1)[1]}")
        result.warn(
            f"Oura {kind} export: not used by strainwatch (sleep comes from sleepmodel or the trends "
            "CSV, workouts from workout)"
        )
        return result
    sleeps: list[dict] = []
    wellness: list[dict] = []
    sessions: list[dict] = []
    n_scores = 0
    for rec, where in records:
        try:
            if "__bad__" in rec:
                raise BadRowError(display, rec["__bad__"])
            label = rec.pop("__label__", None)
            if label:
                display_rec = f"{display} {label}"
            else:
                display_rec = display
            if kind == "dailysleep":
                _check_dailysleep(rec, display_rec, where)
                n_scores += 1
                continue
            if kind == "workout":
                w = _workout(rec, display_rec, where, athlete)
                if w is not None:
                    sessions.append(w)
                continue
            s, w = _convert(rec, kind, display_rec, where, athlete)
            if s is not None:
                sleeps.append(s)
            if w is not None:
                wellness.append(w)
        except BadRowError as err:
            bad(err)
    if kind == "dailysleep":
        notes.append(
            f"dailysleep: {n_scores} daily sleep scores read and validated; they hold no sleep times or "
            "durations, so no rows are stored (export sleepmodel for the nights)"
        )
    # one wellness row per wake date: the longest main sleep wins
    wellness.sort(key=lambda w: (w["date"], w["_len"]))
    by_day = {w["date"]: w for w in wellness}
    result = ReadResult(
        format=fmt,
        sessions=_frame(sessions, SESSIONS, display),
        sleep=_frame(sleeps, SLEEP, display),
        wellness=_frame(list(by_day.values()), WELLNESS, display),
    )
    for n in notes:
        result.warn(n)
    return bad.finish(result)


#: Oura workout ``activity`` names -> canonical sport; others are lower-cased snake_case.
SPORTS = {
    "running": "running",
    "walking": "walking",
    "cycling": "cycling",
    "hiking": "hiking",
    "swimming": "swimming",
    "rowing": "rowing",
    "yoga": "yoga",
    "pilates": "pilates",
    "strength_training": "strength",
    "strengthtraining": "strength",
    "weightlifting": "strength",
    "weight_lifting": "strength",
    "hiit": "hiit",
    "elliptical": "elliptical",
    "cross_country_skiing": "cross_country_skiing",
    "downhill_skiing": "skiing",
    "other": "generic",
}


def _workout(rec: dict, display: str, where: dict, athlete: str) -> dict | None:
    """One Oura ``workout`` record -> a session (no heart rate or load in this export)."""
    start = _parse_iso(rec.get("start_datetime"), display, where, "start_datetime")
    end = _parse_iso(rec.get("end_datetime"), display, where, "end_datetime")
    if start is None or end is None:
        raise BadRowError(
            display,
            "a workout needs start_datetime and end_datetime",
            column="start_datetime" if start is None else "end_datetime",
            **where,
        )
    span = (end - start).total_seconds()
    if span < 0 or span > 7 * 86400:
        raise BadRowError(
            display,
            f"workout end {end.isoformat()} is not within a week after its start",
            column="end_datetime",
            **where,
        )
    act = rec.get("activity")
    if act is not None and not isinstance(act, str):
        raise BadRowError(display, f"activity: expected a name, found {act!r}", column="activity", **where)
    key = re.sub(r"(?<=[a-z])(?=[A-Z])", "_", (act or "").strip()).lower().replace(" ", "_").replace("-", "_")
    line = where.get("line")
    return {
        "athlete_id": athlete,
        "source": SOURCE,
        "start_utc": start.astimezone(timezone.utc),
        "local_date": start.date(),
        "sport": SPORTS.get(key, key) or None,
        "duration_s": span,
        "elapsed_s": span,
        "distance_m": parse_float(rec.get("distance"), display, line=line, column="distance", lo=0, hi=1e6),
        "energy_kcal": parse_float(rec.get("calories"), display, line=line, column="calories", lo=0, hi=20000),
        "local_offset_s": int(start.utcoffset().total_seconds()),
    }


def _check_dailysleep(rec: dict, display: str, where: dict) -> None:
    c = rec.get("contributors")
    if isinstance(c, str):
        try:
            c = json.loads(c) if c.strip() else {}
        except json.JSONDecodeError as err:
            raise BadRowError(
                display, f"contributors cell is not JSON: {err.msg}", column="contributors", **where
            ) from None
    if not isinstance(c, dict):
        raise BadRowError(
            display, f"contributors: expected a JSON object, found {type(c).__name__}", column="contributors", **where
        )
    _day(rec.get("day"), display, where)
    parse_float(rec.get("score"), display, line=where.get("line"), column="score", lo=0, hi=100)


def _frame(rows: list[dict], schema, display: str) -> pl.DataFrame:
    if not rows:
        return schema.empty()
    data = {c: [r.get(c) for r in rows] for c in schema.columns}
    data["source_file"] = [display] * len(rows)
    df = pl.DataFrame(data, schema=schema.polars_schema)
    key = list(schema.key)
    return df.unique(subset=key, keep="last", maintain_order=True).sort(key)
