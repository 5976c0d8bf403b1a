"""Coach-platform exports: intervals.icu and TrainingPeaks (sessions with RPE and TSS, wellness).

Four CSV layouts, each detected by its header row (never by file name);
where the layouts come from, and how to download each file, is in
``docs/exports.md`` ("Coach platforms").

* **intervals.icu activities** (``activities.csv``; its columns are the
  platform's activity field names): ``start_date_local`` (local wall clock,
  read in the athlete's zone ``--tz``/roster), ``type`` -> ``sport``,
  ``moving_time``/``elapsed_time`` [s], ``distance`` [m],
  ``average_heartrate``/``max_heartrate``, ``calories`` [kcal],
  ``icu_training_load`` (intervals.icu's load in TSS units: power, heart-rate
  or pace based) -> ``device_load`` with kind ``"tss"``, ``icu_rpe`` (1-10)
  -> ``rpe`` and ``load_au`` = RPE x moving minutes (``srpe``).
* **intervals.icu wellness** (``wellness.csv``): one row per ``date``:
  ``restingHR`` -> ``rhr_bpm``, ``hrv`` (rMSSD) -> ``hrv_rmssd_ms``,
  ``hrvSDNN`` -> ``hrv_sdnn_ms``, ``soreness`` (the wellness form's 1-4:
  low, average, high, extreme) -> ``soreness`` on the 0-10 scale
  ``(v - 1) x 10 / 3``; ``sleepSecs`` -> a ``sleep`` night on that date
  (``sleepScore`` -> ``sleep_score``); ``fatigue``, ``stress``, ``mood``,
  ``motivation``, ``injury`` (1-4), ``readiness`` and ``sleepQuality`` are
  kept as text in ``wellness.note`` (no canonical column yet).
* **TrainingPeaks workouts** (``workouts.csv``, "Export workouts"):
  ``WorkoutDay`` (a date, no time), ``WorkoutType`` -> ``sport``,
  ``TimeTotalInHours`` -> ``duration_s``, ``DistanceInMeters``,
  ``HeartRateAverage``/``HeartRateMax``, ``TSS`` -> ``device_load`` (kind
  ``"tss"``), ``Rpe`` (1-10) -> ``rpe`` and the sRPE load. ``Energy`` is
  mechanical work in kJ, not kcal, and is not read. Rows without
  ``TimeTotalInHours`` are planned workouts that were not done: skipped, counted.
* **TrainingPeaks metrics** (``metrics.csv``: ``Timestamp``, ``Type``,
  ``Value``, one row per metric entry): ``Pulse`` -> ``rhr_bpm`` (the lowest
  of the day), ``HRV`` -> ``hrv_rmssd_ms``, ``Sleep Hours`` -> a ``sleep``
  night; the subjective types (``Soreness``, ``Fatigue``, ``Injury``,
  ``Stress Level``, ``Mood``, ``Sleep Quality``, ``Overall Feeling``, ...)
  are kept as text in ``wellness.note``; other types are counted in a note.

Neither platform exports clock times where only a day is known: a
TrainingPeaks workout starts at 00:00 local of its day (then 00:01, 00:02
for a second and third workout that day, to keep rows apart), and a night
from a daily sleep total is stored on its date with start 00:00 local and
end = start + the sleep time. Only the dates and durations of such rows are
measurements; the ledger says so. Empty cells stay null, never 0.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

from connectors._export_util import (
    SESSION_COLUMNS,
    SLEEP_COLUMNS,
    BadRows,
    LocalTime,
    UnexpectedErrors,
    csv_rows,
    display_name,
    frame,
    header_fields,
    normalise_sport,
    open_text,
    parse_date,
    parse_local_datetime,
    parse_number,
    positive_or_none,
    require_athlete,
    srpe_load,
)
from connectors.base import BadRowError, CorruptFileError, ReadContext, ReadResult

__all__ = ["FORMAT", "detect", "read", "kind_of_header"]

FORMAT = "coach"
FORMATS = {
    "icu_activities": "intervals_icu_activities",
    "icu_wellness": "intervals_icu_wellness",
    "tp_workouts": "trainingpeaks_workouts",
    "tp_metrics": "trainingpeaks_metrics",
}

#: intervals.icu wellness columns no other export writes (camelCase API names).
ICU_WELLNESS_SPECIFIC = ("restingHR", "sleepSecs", "hrvSDNN", "avgSleepingHR", "sleepScore", "ctlLoad", "atlLoad")
#: intervals.icu wellness self-reports kept as text (1-4 scales of the wellness form; readiness as given).
ICU_SELF_REPORTS = ("fatigue", "stress", "mood", "motivation", "injury", "readiness", "sleepQuality")
TP_WORKOUT_REQUIRED = ("Title", "WorkoutType", "WorkoutDay", "TimeTotalInHours")
TP_METRIC_HEADER = ["Timestamp", "Type", "Value"]
#: TrainingPeaks metric types: measured ones are mapped, subjective ones kept as text.
TP_MEASURED = {"Pulse", "HRV", "Sleep Hours"}
TP_SUBJECTIVE = (
    "Soreness",
    "Fatigue",
    "Injury",
    "Stress Level",
    "Mood",
    "Sleep Quality",
    "Overall Feeling",
    "Motivation",
    "Menstruation",
    "Illness",
)
TP_OTHER = (
    "Weight Kilograms",
    "Weight",
    "Body Fat Percentage",
    "Body Fat",
    "Time In Deep Sleep",
    "Time In Light Sleep",
    "Time In REM Sleep",
    "Time Awake",
    "Notes",
    "Steps",
    "SPO2",
    "Blood Glucose",
    "Sleep Elevation",
    "BMI",
    "Systolic",
    "Diastolic",
    "Kcal Consumed",
    "Water",
    "Blood Pressure",
    "Hydration",
    "Respiration",
    "Skin Temperature",
    "Percent Fat",
    "Percent Hydration",
)
TP_KNOWN = TP_MEASURED | set(TP_SUBJECTIVE) | set(TP_OTHER)
TP_SKIP_TYPES = {"day off", "other", "custom"}


def kind_of_header(fields: list[str], head_text: str = "") -> str | None:
    """The layout of a header row (see the module docstring), or None.

    Detection is strict: each layout needs several columns no other export
    writes, and the TrainingPeaks metrics header (``Timestamp,Type,Value``,
    a common shape) also needs a known TrainingPeaks metric type in the
    first data rows.
    """
    f = set(fields)
    icu_cols = [c for c in fields if c.startswith("icu_")]
    if "start_date_local" in f and "type" in f and icu_cols and ("moving_time" in f or "elapsed_time" in f):
        return "icu_activities"
    if ("date" in f or "id" in f) and sum(c in f for c in ICU_WELLNESS_SPECIFIC) >= 2:
        return "icu_wellness"
    if all(c in f for c in TP_WORKOUT_REQUIRED) and "TSS" in f:
        return "tp_workouts"
    if fields == TP_METRIC_HEADER:
        for line in head_text.splitlines()[1:20]:
            cells = [c.strip().strip('"') for c in line.split('","')]
            if len(cells) >= 2 and cells[1] in TP_KNOWN:
                return "tp_metrics"
    return None


def detect(path: Path, head: bytes) -> bool:
    fields = header_fields(head)
    if not fields:
        return False
    return kind_of_header(fields, head.decode("utf-8-sig", errors="replace")) is not None


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one intervals.icu or TrainingPeaks export CSV.

    Raises
    ------
    ConnectorError
        Not one of the four layouts, unreadable CSV (names the line), no athlete.
    BadRowError
        A row with an unreadable or impossible value, unless ``ctx.on_bad_row`` is skip.
    """
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        return _read(path, ctx, name)


class _Row:
    """Cell access by column name with the file, line and column in every error."""

    def __init__(self, name: str, index: dict[str, int], cells: list[str], line: int) -> None:
        self.name, self.index, self.cells, self.line = name, index, cells, line

    def text(self, col: str) -> str:
        i = self.index.get(col)
        return self.cells[i].strip() if i is not None and i < len(self.cells) else ""

    def num(self, col: str, lo: float | None = None, hi: float | None = None) -> float | None:
        raw = self.text(col)
        try:
            v = parse_number(raw)
        except ValueError as err:
            raise BadRowError(self.name, str(err), line=self.line, column=col) from err
        if v is not None and ((lo is not None and v < lo) or (hi is not None and v > hi)):
            raise BadRowError(
                self.name, f"{col} {v:g} outside the plausible range {lo:g}..{hi:g}", line=self.line, column=col
            )
        return v


def _read(path: Path, ctx: ReadContext, name: str) -> ReadResult:
    text = open_text(path, ctx)
    records = list(csv_rows(text, path, ctx))
    if not records:
        raise CorruptFileError(name, "empty file: expected an intervals.icu or TrainingPeaks header row", line=1)
    header = [h.strip() for h in records[0][1]]
    kind = kind_of_header(header, text[:65536])
    if kind is None:
        raise CorruptFileError(
            name,
            "not an intervals.icu or TrainingPeaks export: expected the header of "
            "activities.csv, wellness.csv, workouts.csv or metrics.csv",
            line=1,
        )
    athlete = require_athlete(name, ctx, "intervals.icu and TrainingPeaks")
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        index.setdefault(h, i)
    rows = [_Row(name, index, cells, line) for line, cells in records[1:]]
    reader = {
        "icu_activities": _icu_activities,
        "icu_wellness": _icu_wellness,
        "tp_workouts": _tp_workouts,
        "tp_metrics": _tp_metrics,
    }[kind]
    return reader(rows, athlete, ctx, path, name)


# ----------------------------------------------------------------------------- intervals.icu
def _icu_activities(rows: list[_Row], athlete: str, ctx: ReadContext, path: Path, name: str) -> ReadResult:
    fmt = FORMATS["icu_activities"]
    clock = LocalTime(ctx, path, "start_date_local")
    bad = BadRows(ctx)
    out: list[dict] = []
    for r in rows:
        try:
            raw = r.text("start_date_local")
            try:
                local = parse_local_datetime(raw[:19])
            except ValueError as err:
                raise BadRowError(name, str(err), line=r.line, column="start_date_local") from err
            start, off = clock.to_utc(local)
            sport, sub = normalise_sport(r.text("type"))
            moving = r.num("moving_time", 0, 86400)
            elapsed = r.num("elapsed_time", 0, 7 * 86400)
            duration = moving if moving is not None else elapsed
            rpe = r.num("icu_rpe", 0, 10)
            load, method = srpe_load(rpe, duration / 60.0 if duration is not None else None)
            tss = r.num("icu_training_load", 0, 2000)
            out.append(
                {
                    "athlete_id": athlete,
                    "source": fmt,
                    "start_utc": start,
                    "local_date": local.date(),
                    "local_offset_s": off,
                    "sport": sport,
                    "sub_sport": sub,
                    "duration_s": duration,
                    "elapsed_s": elapsed,
                    "distance_m": r.num("distance", 0, 1e6),
                    "avg_hr_bpm": positive_or_none(r.num("average_heartrate", 0, 250)),
                    "max_hr_bpm": positive_or_none(r.num("max_heartrate", 0, 250)),
                    "energy_kcal": r.num("calories", 0, 20000),
                    "rpe": rpe,
                    "load_au": load,
                    "load_method": method,
                    "device_load": tss,
                    "device_load_kind": "tss" if tss is not None else None,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    res = ReadResult(format=fmt, sessions=frame(out, SESSION_COLUMNS))
    clock.note(res)
    return bad.finish(res)


def _night(
    athlete: str, source: str, day: date, asleep_s: float, clock: LocalTime, name: str, score: float | None = None
) -> dict:
    start, _off = clock.to_utc(datetime.combine(day, time(0, 0)))
    return {
        "athlete_id": athlete,
        "source": source,
        "start_utc": start,
        "end_utc": start + timedelta(seconds=asleep_s),
        "wake_date": day,
        "asleep_s": asleep_s,
        "deep_s": None,
        "light_s": None,
        "rem_s": None,
        "awake_s": None,
        "in_bed_s": None,
        "is_nap": False,
        "source_file": name,
        "sleep_score": score,
    }


_NIGHT_NOTE = (
    "the export holds a daily sleep total, no bed times: each night is stored on its date with start "
    "00:00 local and end = start + the sleep time (only the date and the duration are measured)"
)


def _wellness_frame(rows: list[dict]):
    import polars as pl

    from features.schemas import WELLNESS

    cols = {
        c: WELLNESS.columns[c]
        for c in (
            "athlete_id",
            "source",
            "date",
            "rhr_bpm",
            "hrv_rmssd_ms",
            "hrv_sdnn_ms",
            "soreness",
            "source_file",
            "note",
        )
    }
    if not rows:
        return pl.DataFrame(schema=cols)
    return pl.DataFrame([{c: r.get(c) for c in cols} for r in rows], schema=cols)


def _icu_wellness(rows: list[_Row], athlete: str, ctx: ReadContext, path: Path, name: str) -> ReadResult:
    fmt = FORMATS["icu_wellness"]
    date_col = "id" if rows and "date" not in rows[0].index else "date"
    clock = LocalTime(ctx, path, "date")
    bad = BadRows(ctx)
    well: list[dict] = []
    nights: list[dict] = []
    empty = 0
    for r in rows:
        try:
            try:
                day = parse_date(r.text(date_col))
            except ValueError as err:
                raise BadRowError(name, str(err), line=r.line, column=date_col) from err
            rhr = positive_or_none(r.num("restingHR", 0, 250))
            hrv = positive_or_none(r.num("hrv", 0, 500))
            sdnn = positive_or_none(r.num("hrvSDNN", 0, 1000))
            sore = r.num("soreness", 1, 4)
            soreness = (sore - 1.0) * 10.0 / 3.0 if sore is not None else None
            sleep_s = r.num("sleepSecs", 0, 86400)
            score = r.num("sleepScore", 0, 100)
            reports = [f"{c} {r.text(c)}" for c in ICU_SELF_REPORTS if r.text(c)]
            note = ("intervals.icu: " + ", ".join(reports)) if reports else None
            if sleep_s:
                nights.append(_night(athlete, fmt, day, sleep_s, clock, name, score))
            if any(v is not None for v in (rhr, hrv, sdnn, soreness, note)):
                well.append(
                    {
                        "athlete_id": athlete,
                        "source": fmt,
                        "date": day,
                        "rhr_bpm": rhr,
                        "hrv_rmssd_ms": hrv,
                        "hrv_sdnn_ms": sdnn,
                        "soreness": soreness,
                        "note": note,
                        "source_file": name,
                    }
                )
            elif not sleep_s:
                empty += 1
        except BadRowError as err:
            bad(err)
    res = ReadResult(format=fmt, wellness=_wellness_frame(well), sleep=frame(nights, SLEEP_COLUMNS))
    if nights:
        res.warn(_NIGHT_NOTE)
    if empty:
        res.warn(f"{empty} day(s) with no wellness value at all: no row (empty is not zero)")
    if any(w["soreness"] is not None for w in well):
        res.warn("soreness read on the intervals.icu wellness form's 1-4 scale and rescaled to 0-10")
    return bad.finish(res)


# ----------------------------------------------------------------------------- TrainingPeaks
def _tp_workouts(rows: list[_Row], athlete: str, ctx: ReadContext, path: Path, name: str) -> ReadResult:
    fmt = FORMATS["tp_workouts"]
    clock = LocalTime(ctx, path, "WorkoutDay")
    bad = BadRows(ctx)
    out: list[dict] = []
    planned = 0
    per_day: dict[date, int] = {}
    for r in rows:
        try:
            try:
                day = parse_date(r.text("WorkoutDay"))
            except ValueError as err:
                raise BadRowError(name, str(err), line=r.line, column="WorkoutDay") from err
            hours = r.num("TimeTotalInHours", 0, 24)
            wtype = r.text("WorkoutType")
            if not hours or wtype.lower() == "day off":
                planned += 1
                continue
            k = per_day.get(day, 0)
            per_day[day] = k + 1
            start, off = clock.to_utc(datetime.combine(day, time(0, 0)) + timedelta(minutes=k))
            sport, sub = normalise_sport(wtype) if wtype.lower() not in TP_SKIP_TYPES else ("generic", None)
            duration = hours * 3600.0
            rpe = r.num("Rpe", 0, 10)
            load, method = srpe_load(rpe, duration / 60.0)
            tss = r.num("TSS", 0, 2000)
            out.append(
                {
                    "athlete_id": athlete,
                    "source": fmt,
                    "start_utc": start,
                    "local_date": day,
                    "local_offset_s": off,
                    "sport": sport,
                    "sub_sport": sub,
                    "duration_s": duration,
                    "distance_m": r.num("DistanceInMeters", 0, 1e6),
                    "avg_hr_bpm": positive_or_none(r.num("HeartRateAverage", 0, 250)),
                    "max_hr_bpm": positive_or_none(r.num("HeartRateMax", 0, 250)),
                    "rpe": rpe,
                    "load_au": load,
                    "load_method": method,
                    "device_load": tss,
                    "device_load_kind": "tss" if tss is not None else None,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    res = ReadResult(format=fmt, sessions=frame(out, SESSION_COLUMNS))
    if out:
        res.warn(
            "TrainingPeaks workouts carry only their day: start_utc is 00:00 local of WorkoutDay (00:01, "
            "00:02 ... for further workouts that day), not the real start time"
        )
    if planned:
        res.warn(f"{planned} planned workout(s) without TimeTotalInHours (not done) or days off skipped")
    clock.note(res)
    return bad.finish(res)


def _tp_metrics(rows: list[_Row], athlete: str, ctx: ReadContext, path: Path, name: str) -> ReadResult:
    fmt = FORMATS["tp_metrics"]
    clock = LocalTime(ctx, path, "Timestamp")
    bad = BadRows(ctx)
    days: dict[date, dict] = {}
    other: dict[str, int] = {}
    for r in rows:
        try:
            raw = r.text("Timestamp")
            try:
                day = parse_local_datetime(raw).date()
            except ValueError as err:
                raise BadRowError(name, str(err), line=r.line, column="Timestamp") from err
            typ = r.text("Type")
            value = r.text("Value")
            if not value:
                continue  # an empty entry is no measurement
            d = days.setdefault(day, {"pulse": [], "hrv": [], "sleep": [], "notes": []})
            if typ in TP_MEASURED:
                lim = {"Pulse": (20, 250), "HRV": (1, 500), "Sleep Hours": (0, 24)}[typ]
                v = r.num("Value", *lim)
                d[{"Pulse": "pulse", "HRV": "hrv", "Sleep Hours": "sleep"}[typ]].append(v)
            elif typ in TP_SUBJECTIVE:
                d["notes"].append(f"{typ} {value}")
            else:
                other[typ or "(empty)"] = other.get(typ or "(empty)", 0) + 1
        except BadRowError as err:
            bad(err)
    well: list[dict] = []
    nights: list[dict] = []
    for day in sorted(days):
        d = days[day]
        if d["sleep"]:
            nights.append(_night(athlete, fmt, day, d["sleep"][-1] * 3600.0, clock, name))
        rhr = min(d["pulse"]) if d["pulse"] else None
        hrv = d["hrv"][-1] if d["hrv"] else None
        note = ("TrainingPeaks: " + ", ".join(d["notes"])) if d["notes"] else None
        if rhr is not None or hrv is not None or note is not None:
            well.append(
                {
                    "athlete_id": athlete,
                    "source": fmt,
                    "date": day,
                    "rhr_bpm": rhr,
                    "hrv_rmssd_ms": hrv,
                    "note": note,
                    "source_file": name,
                }
            )
    res = ReadResult(format=fmt, wellness=_wellness_frame(well), sleep=frame(nights, SLEEP_COLUMNS))
    if nights:
        res.warn(_NIGHT_NOTE)
    if any(d["pulse"] and len(d["pulse"]) > 1 for d in days.values()):
        res.warn("several Pulse entries on a day: the lowest is the resting heart rate")
    if other:
        res.warn("metric types not used: " + ", ".join(f"{k} ({v})" for k, v in sorted(other.items())))
    return bad.finish(res)
