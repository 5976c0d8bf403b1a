"""Fitbit account export / Google Takeout (``Fitbit/Global Export Data/``).

Each file is recognised by its content:

``resting_heart_rate-YYYY-MM-DD.json`` -> ``wellness.rhr_bpm``
    ``[{"dateTime": "2019-11-01 00:00:00", "value": {"date": "11/01/19",
    "value": 53.74, "error": 6.79}}]``. A value of 0 means the tracker was not
    worn: no row (never 0 bpm).
``sleep-YYYY-MM-DD.json`` -> ``sleep``
    Sleep logs (files split by month): ``dateOfSleep`` is the wake date,
    ``startTime``/``endTime`` are local times without offset and appear in
    more than one layout within one file (``2019-11-01T23:31:30.000`` and
    ``11/01/19 23:31:30``), ``duration`` is ms, ``minutesAsleep``/
    ``minutesAwake``/``timeInBed`` are minutes. ``type`` ``"stages"`` has
    ``levels.summary.{deep,light,rem,wake}.minutes``; ``"classic"`` has
    ``asleep/restless/awake`` and no stages (deep/light/REM null).
    ``asleep_s`` = ``minutesAsleep``, ``awake_s`` = ``minutesAwake``,
    ``in_bed_s`` = ``timeInBed``; ``mainSleep`` false marks a nap.
``exercise-N.json`` -> ``sessions``
    ``activityName`` -> sport, ``startTime`` local (``05/14/19 19:21:57``),
    ``activeDuration`` ms -> ``duration_s`` (timer), ``duration`` ms ->
    ``elapsed_s``, ``averageHeartRate``, ``calories`` (kcal), ``distance`` in
    ``distanceUnit`` (Kilometer, Mile, Meter, Yard), ``logType``
    ``auto_detected`` -> ``auto_detected`` (the load stage keeps auto-detected
    walks out of training load). Fitbit has no session RPE or device load:
    ``load_au`` stays null.
``Daily Heart Rate Variability Summary - *.csv`` -> ``wellness.hrv_rmssd_ms``
    Newer Takeout CSV ``timestamp,rmssd,nremhr,entropy``; one row per night,
    dated by the local ``timestamp`` date (Fitbit dates the night's HRV by
    the day it ends).

Local times are converted with ``ctx.tz`` (the export's ``profile.json``
time zone is not read); without it they are read as UTC and the ledger says
so.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any

from connectors._export_util import (
    MILE_M,
    SESSION_COLUMNS,
    SLEEP_COLUMNS,
    WELLNESS_COLUMNS,
    YARD_M,
    BadRows,
    LocalTime,
    UnexpectedErrors,
    csv_rows,
    display_name,
    first_line,
    frame,
    iter_json_items,
    json_head,
    normalise_sport,
    open_text,
    opt_number,
    parse_date,
    parse_local_datetime,
    parse_number,
    positive_or_none,
    record_error,
    require_dict,
)
from connectors.base import BadRowError, ConnectorError, CorruptFileError, ReadContext, ReadResult

__all__ = ["FORMAT", "KINDS", "OTHER", "detect", "kind_of", "read"]

FORMAT = "fitbit"

RESTING_HR = "fitbit_resting_hr"
SLEEP = "fitbit_sleep"
EXERCISE = "fitbit_exercise"
HRV_SUMMARY = "fitbit_hrv_summary"
#: Per-file format names; each is also the ``source`` of the rows it yields.
KINDS = (RESTING_HR, SLEEP, EXERCISE, HRV_SUMMARY)
#: Fitbit's other daily/intraday series (steps, calories, heart_rate, ...): ledgered, no rows.
OTHER = "fitbit_other_series"

HRV_HEADER = ["timestamp", "rmssd", "nremhr", "entropy"]

#: ``distanceUnit`` -> metres per unit.
DISTANCE_UNITS = {
    "kilometer": 1000.0,
    "km": 1000.0,
    "mile": MILE_M,
    "mi": MILE_M,
    "meter": 1.0,
    "m": 1.0,
    "yard": YARD_M,
    "yd": YARD_M,
}

_EMPTY_RE = re.compile(rb"^\[\s*\]\s*$")
_SERIES_RE = re.compile(rb'^\[\s*\{\s*"dateTime"\s*:\s*"[^"]*"\s*,\s*"value"\s*:')
_NAME_KIND = (
    (re.compile(r"^resting_heart_rate-.*\.json$", re.I), RESTING_HR),
    (re.compile(r"^sleep-.*\.json$", re.I), SLEEP),
    (re.compile(r"^exercise-.*\.json$", re.I), EXERCISE),
)


def kind_of(path: Path, head: bytes) -> str | None:
    """Which Fitbit file ``head`` is (None: not one this module reads)."""
    line = first_line(head).strip().lower().replace(" ", "")
    cols = set(line.split(","))
    if {"timestamp", "rmssd"} <= cols:  # the reader finds columns by name
        # "Heart Rate Variability Details" (timestamp,rmssd,coverage,low_frequency,
        # high_frequency) holds 5-minute samples, not one value per night
        if "coverage" in cols or "low_frequency" in cols:
            return OTHER
        return HRV_SUMMARY
    h = json_head(head)
    if not h.startswith(b"["):
        return None
    if _EMPTY_RE.match(h):
        for rx, kind in _NAME_KIND:
            if rx.search(path.name):
                return kind
        return None
    if b'"dateOfSleep"' in h and (b'"minutesAsleep"' in h or b'"logId"' in h):
        return SLEEP
    if b'"activityName"' in h and b'"startTime"' in h and (b'"activeDuration"' in h or b'"logId"' in h):
        return EXERCISE
    if b'"dateTime"' in h and b'"value"' in h and b'"error"' in h and b'"bpm"' not in h:
        return RESTING_HR
    if _SERIES_RE.match(h) and not any(rx.search(path.name) for rx, _ in _NAME_KIND):
        return OTHER
    return None


def detect(path: Path, head: bytes) -> bool:
    return kind_of(path, head) is not None


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one Fitbit export file (resting HR, sleep, exercise or HRV summary).

    Returns
    -------
    ReadResult
        ``format`` (and every row's ``source``) is one of :data:`KINDS`.

    Raises
    ------
    CorruptFileError
        Malformed JSON or CSV (file, line/column or record), unknown shape.
    BadRowError
        A record with a missing or malformed required field, naming the record
        index (JSON) or line (CSV) and the field, unless ``ctx.on_bad_row`` is SKIP.
    """
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        kind = kind_of(path, head)
        if kind is None:
            raise ConnectorError(
                name, "not a Fitbit resting-HR, sleep, exercise or HRV-summary file (unrecognised shape)", offset=0
            )
        if kind == OTHER:
            result = ReadResult(format=OTHER)
            result.warn(
                f"{path.name}: Fitbit series not used by strainwatch (resting HR, sleep, "
                "exercise and daily HRV summaries are read)"
            )
            return result
        reader = {RESTING_HR: _resting_hr, SLEEP: _sleep, EXERCISE: _exercise, HRV_SUMMARY: _hrv}[kind]
        return reader(path, ctx)


def _instant(path: Path, ctx: ReadContext, clock: LocalTime, i: int, rec: dict, field: str):
    """``(utc, local wall-clock, offset s)`` of a Fitbit time field.

    Fitbit writes local times without offset; a value that does carry one
    (``...Z`` or ``+01:00``, seen in some third-party re-exports) is taken as is.
    """
    raw = rec.get(field)
    if isinstance(raw, str) and (raw.strip().endswith("Z") or re.search(r"[+-]\d\d:\d\d$", raw.strip())):
        try:
            aware = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        except ValueError as err:
            raise record_error(path, ctx, i, field, f"expected a date-time, found {raw!r}") from err
        off = aware.utcoffset()
        return (
            aware.astimezone(timezone.utc),
            aware.replace(tzinfo=None),
            int(off.total_seconds()) if off is not None else None,
        )
    try:
        local = parse_local_datetime(raw)
    except ValueError as err:
        raise record_error(path, ctx, i, field, str(err)) from err
    utc, offset = clock.to_utc(local)
    return utc, local, offset


def _date(path: Path, ctx: ReadContext, i: int, raw: Any, field: str):
    try:
        return parse_date(raw)
    except ValueError as err:
        raise record_error(path, ctx, i, field, str(err)) from err


# ------------------------------------------------------------------ resting HR


def _resting_hr(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    rows: list[dict] = []
    not_worn = 0
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "a resting-HR day")
            value = rec.get("value")
            if not isinstance(value, dict):
                raise record_error(path, ctx, i, "value", "expected an object with date, value, error")
            rhr = opt_number(path, ctx, i, value, "value")
            if rhr is None or rhr == 0:
                not_worn += 1
                continue
            if not 20 <= rhr <= 150:
                raise record_error(path, ctx, i, "value.value", f"resting HR {rhr} outside 20-150 bpm")
            raw_date = value.get("date") if value.get("date") else rec.get("dateTime")
            day = _date(path, ctx, i, raw_date, "value.date" if value.get("date") else "dateTime")
            rows.append(
                {"athlete_id": ctx.athlete_id, "source": RESTING_HR, "date": day, "rhr_bpm": rhr, "source_file": name}
            )
        except BadRowError as err:
            bad(err)
    result = ReadResult(format=RESTING_HR, wellness=frame(rows, WELLNESS_COLUMNS))
    if not_worn:
        result.warn(f"{not_worn} days with resting HR 0 (tracker not worn): no value")
    return bad.finish(result)


# ----------------------------------------------------------------------- sleep


def _summary_minutes(levels: Any, key: str) -> float | None:
    if not isinstance(levels, dict):
        return None
    summary = levels.get("summary")
    if not isinstance(summary, dict):
        return None
    entry = summary.get(key)
    if not isinstance(entry, dict):
        return None
    v = entry.get("minutes")
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _sleep(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    clock = LocalTime(ctx, path, "sleep start/end times (local, no offset)")
    rows: list[dict] = []
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "a sleep log")
            start, _, _ = _instant(path, ctx, clock, i, rec, "startTime")
            if rec.get("endTime") is not None:
                end, _, _ = _instant(path, ctx, clock, i, rec, "endTime")
            else:
                dur_ms = opt_number(path, ctx, i, rec, "duration")
                if dur_ms is None:
                    raise record_error(path, ctx, i, "endTime", "missing endTime and duration")
                end = start + timedelta(milliseconds=dur_ms)
            if end <= start:
                raise record_error(path, ctx, i, "endTime", "sleep ends before it starts")
            wake = _date(path, ctx, i, rec.get("dateOfSleep"), "dateOfSleep")
            mins = {f: opt_number(path, ctx, i, rec, f) for f in ("minutesAsleep", "minutesAwake", "timeInBed")}
            for f, v in mins.items():
                if v is not None and v < 0:
                    raise record_error(path, ctx, i, f, f"negative minutes {v}")
            stype = rec.get("type")
            levels = rec.get("levels")
            deep = light = rem = None
            awake = mins["minutesAwake"]
            if stype == "stages":
                deep = _summary_minutes(levels, "deep")
                light = _summary_minutes(levels, "light")
                rem = _summary_minutes(levels, "rem")
                if awake is None:
                    awake = _summary_minutes(levels, "wake")
            elif stype not in (None, "classic"):
                raise record_error(path, ctx, i, "type", f"expected 'stages' or 'classic', found {stype!r}")
            elif awake is None:
                parts = [_summary_minutes(levels, k) for k in ("awake", "restless")]
                awake = sum(p for p in parts if p is not None) if any(p is not None for p in parts) else None
            main = rec.get("mainSleep")
            if main is not None and not isinstance(main, bool):
                raise record_error(path, ctx, i, "mainSleep", f"expected true or false, found {main!r}")
            in_bed = mins["timeInBed"]
            score = rec.get("sleepScore") if isinstance(rec.get("sleepScore"), (int, float)) else None
            to_s = lambda m: m * 60.0 if m is not None else None  # noqa: E731
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": SLEEP,
                    "start_utc": start,
                    "end_utc": end,
                    "wake_date": wake,
                    "asleep_s": to_s(mins["minutesAsleep"]),
                    "deep_s": to_s(deep),
                    "light_s": to_s(light),
                    "rem_s": to_s(rem),
                    "awake_s": to_s(awake),
                    "in_bed_s": to_s(in_bed) if in_bed is not None else (end - start).total_seconds(),
                    "is_nap": main is False,
                    "sleep_score": score,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    result = ReadResult(format=SLEEP, sleep=frame(rows, SLEEP_COLUMNS))
    clock.note(result)
    return bad.finish(result)


# -------------------------------------------------------------------- exercise


def _exercise(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    clock = LocalTime(ctx, path, "exercise start times (local, no offset)")
    rows: list[dict] = []
    no_unit = 0
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "an exercise log")
            start, local, offset = _instant(path, ctx, clock, i, rec, "startTime")
            num = partial(opt_number, path, ctx, i, rec)  # num(field): this record's number
            active_ms, total_ms = num("activeDuration"), num("duration")
            for f, v in (("activeDuration", active_ms), ("duration", total_ms)):
                if v is not None and v < 0:
                    raise record_error(path, ctx, i, f, f"negative duration {v} ms")
            timer_ms = active_ms if active_ms is not None else total_ms
            dist = num("distance")
            unit = rec.get("distanceUnit")
            dist_m = None
            if dist is not None:
                if isinstance(unit, str) and unit.strip().lower() in DISTANCE_UNITS:
                    dist_m = dist * DISTANCE_UNITS[unit.strip().lower()]
                elif unit is None:
                    no_unit += 1 if dist > 0 else 0
                else:
                    raise record_error(
                        path,
                        ctx,
                        i,
                        "distanceUnit",
                        f"unknown distance unit {unit!r} (expected Kilometer, Mile, Meter, Yard)",
                    )
            sport, sub = normalise_sport(rec.get("activityName"))
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": EXERCISE,
                    "start_utc": start,
                    "local_date": local.date(),
                    "sport": sport,
                    "sub_sport": sub,
                    "duration_s": timer_ms / 1000.0 if timer_ms is not None else None,
                    "elapsed_s": total_ms / 1000.0 if total_ms is not None else None,
                    "distance_m": dist_m,
                    "avg_hr_bpm": positive_or_none(num("averageHeartRate")),
                    "energy_kcal": num("calories"),
                    "local_offset_s": offset,
                    "source_file": name,
                    # logType "auto_detected": the tracker recognised the movement on its own (SmartTrack)
                    "auto_detected": (rec.get("logType") == "auto_detected") if "logType" in rec else None,
                }
            )
        except BadRowError as err:
            bad(err)
    result = ReadResult(format=EXERCISE, sessions=frame(rows, SESSION_COLUMNS))
    if no_unit:
        result.warn(f"{no_unit} exercises with a distance but no distanceUnit: distance left empty")
    clock.note(result)
    return bad.finish(result)


# ------------------------------------------------------------------ HRV summary


def _hrv(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    text = open_text(path, ctx)
    records = list(csv_rows(text, path, ctx))
    if not records:
        raise CorruptFileError(name, "empty file: expected header timestamp,rmssd,nremhr,entropy", line=1)
    _, header = records[0]
    cols = {h.strip().lower(): j for j, h in enumerate(header)}
    if "timestamp" not in cols or "rmssd" not in cols:
        raise CorruptFileError(name, f"expected header timestamp,rmssd,nremhr,entropy, found {header!r}", line=1)
    rows: list[dict] = []
    seen: dict = {}
    for line, cells in records[1:]:
        try:
            if len(cells) != len(header):
                raise BadRowError(name, f"expected {len(header)} cells, found {len(cells)}", line=line)
            try:
                day = parse_local_datetime(cells[cols["timestamp"]]).date()
            except ValueError:
                try:
                    day = parse_date(cells[cols["timestamp"]])
                except ValueError as err:
                    raise BadRowError(
                        name, f"{err} (expected 2023-05-01T00:00:00)", line=line, column="timestamp"
                    ) from err
            try:
                rmssd = parse_number(cells[cols["rmssd"]])
            except ValueError as err:
                raise BadRowError(name, str(err), line=line, column="rmssd") from err
            rmssd = positive_or_none(rmssd)
            if rmssd is None:
                continue
            if day in seen:
                raise BadRowError(
                    name,
                    f"second value for {day} (line {seen[day]} has one): a daily summary has one row per night",
                    line=line,
                    column="timestamp",
                )
            seen[day] = line
            if rmssd > 500:
                raise BadRowError(name, f"rMSSD {rmssd} ms is implausible (> 500)", line=line, column="rmssd")
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": HRV_SUMMARY,
                    "date": day,
                    "hrv_rmssd_ms": rmssd,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    return bad.finish(ReadResult(format=HRV_SUMMARY, wellness=frame(rows, WELLNESS_COLUMNS)))
