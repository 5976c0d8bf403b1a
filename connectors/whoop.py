"""WHOOP data export (``physiological_cycles.csv``, ``sleeps.csv``, ``workouts.csv``).

The export (WHOOP app, *More > App Settings > Data Export*, e-mailed as a zip)
holds one CSV per type. All three share the cycle columns

``Cycle start time, Cycle end time, Cycle timezone``

Times are local wall-clock ``YYYY-MM-DD HH:MM:SS`` without an offset; the
offset of **that row** is in ``Cycle timezone`` (``UTC-04:00``), which changes
from row to row when the member travels. Every time of a row (sleep onset,
wake onset, workout start/end) is interpreted in the row's own zone. The
current cycle has an empty ``Cycle end time``.

What is read
------------
* ``physiological_cycles.csv`` -> ``wellness``: ``Resting heart rate (bpm)``
  -> ``rhr_bpm``, ``Heart rate variability (ms)`` -> ``hrv_rmssd_ms`` (WHOOP
  reports rMSSD measured during sleep), dated on the cycle's **wake date**:
  the local date of ``Wake onset``; without a wake onset, the local date of
  the cycle start when it starts before noon, else the next day (a cycle
  starts when the member falls asleep). Its sleep columns also give the main
  ``sleep`` row of the cycle (same key as the ``sleeps.csv`` row, so reading
  both files stores each night once).
* ``sleeps.csv`` -> ``sleep``: ``Sleep onset``/``Wake onset``, durations in
  minutes (``Asleep``, ``In bed``, ``Light sleep``, ``Deep (SWS)``, ``REM``,
  ``Awake``), ``Nap`` true/false, ``Sleep performance %`` -> ``sleep_score``.
* ``journal_entries.csv`` is recognised (so a whole export folder ingests
  cleanly) and ledgered with a note; its answers are not used.
* ``workouts.csv`` -> ``sessions``: ``Workout start time``/``end time``,
  ``Duration (min)``, ``Activity name`` -> ``sport``, ``Average HR (bpm)``,
  ``Max HR (bpm)``, ``Energy burned (cal)`` (kilocalories despite the label)
  -> ``energy_kcal``, ``Distance (meters)``, ``Activity Strain`` ->
  ``device_load`` with ``device_load_kind = "whoop_strain"`` (0-21 scale).

Detection is by the header row (the file name is ignored).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path

import polars as pl

from connectors._export_util import (
    BadRows,
    display_name,
    header_fields,
    open_csv,
    parse_float,
    parse_offset,
    require_athlete,
)
from connectors.base import BadRowError, ConnectorError, ReadContext, ReadResult
from features.schemas import SESSIONS, SLEEP, WELLNESS

__all__ = ["FORMAT", "SOURCE", "detect", "read", "kind_of_header"]

FORMAT = "whoop"
SOURCE = "whoop"

CYCLE_COLS = ("Cycle start time", "Cycle end time", "Cycle timezone")
TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S")

#: WHOOP activity names -> canonical sport (lower case); others are lower-cased.
SPORT_MAP = {
    "running": "running",
    "track & field": "running",
    "cycling": "cycling",
    "mountain biking": "cycling",
    "spin": "cycling",
    "swimming": "swimming",
    "walking": "walking",
    "hiking/rucking": "hiking",
    "hiking": "hiking",
    "weightlifting": "strength",
    "powerlifting": "strength",
    "functional fitness": "strength",
    "strength trainer": "strength",
    "rowing": "rowing",
    "yoga": "yoga",
    "pilates": "pilates",
    "soccer": "soccer",
    "basketball": "basketball",
    "tennis": "tennis",
    "skiing": "skiing",
    "cross country skiing": "cross_country_skiing",
    "hiit": "hiit",
    "elliptical": "elliptical",
    "activity": "generic",
}


def kind_of_header(fields: list[str]) -> str | None:
    """``"cycles"``, ``"sleeps"``, ``"workouts"`` or None from a header row."""
    f = set(fields)
    if not all(c in f for c in CYCLE_COLS):
        return None
    if "Workout start time" in f and "Duration (min)" in f:
        return "workouts"
    if "Recovery score %" in f or "Day Strain" in f:
        return "cycles"
    if "Sleep onset" in f and "Nap" in f:
        return "sleeps"
    if "Question text" in f and "Answered yes" in f:
        return "journal"
    return None


def detect(path: Path, head: bytes) -> bool:
    fields = header_fields(head)
    return bool(fields) and kind_of_header(fields) is not None


def _parse_local(value: str, tz: tzinfo, display: str, line: int, column: str) -> datetime | None:
    s = value.strip()
    if not s:
        return None
    for fmt in TIME_FORMATS:
        try:
            naive = datetime.strptime(s, fmt)
            break
        except ValueError:
            continue
    else:
        raise BadRowError(
            display, f"expected a local time 'YYYY-MM-DD HH:MM:SS', found {value!r}", line=line, column=column
        )
    return naive.replace(tzinfo=tz)


def _row_tz(row: dict[str, str], ctx: ReadContext, display: str, line: int, notes: set[str]) -> tzinfo:
    raw = row.get("Cycle timezone", "").strip()
    if raw:
        return parse_offset(raw, display, line=line, column="Cycle timezone")
    if ctx.tz:
        notes.add(f"empty 'Cycle timezone': times read in {ctx.tz}")
        return parse_offset(ctx.tz, display, line=line, column="Cycle timezone")
    notes.add("empty 'Cycle timezone' and no --tz: times read as UTC")
    return timezone.utc


def _minutes(row, col, display, line, hi=1440.0) -> float | None:
    if col not in row:
        return None
    v = parse_float(row[col], display, line=line, column=col, lo=0, hi=hi)
    return None if v is None else v * 60.0


def _sleep_row(row, tz, athlete, display, line, *, is_nap: bool | None) -> dict | None:
    onset = _parse_local(row.get("Sleep onset", ""), tz, display, line, "Sleep onset")
    wake = _parse_local(row.get("Wake onset", ""), tz, display, line, "Wake onset")
    if onset is None and wake is None:
        return None
    if onset is None or wake is None:
        raise BadRowError(
            display,
            "a sleep needs both 'Sleep onset' and 'Wake onset'",
            line=line,
            column="Sleep onset" if onset is None else "Wake onset",
        )
    if wake <= onset or wake - onset > timedelta(hours=24):
        raise BadRowError(
            display, f"wake onset {wake} is not within 24 h after sleep onset {onset}", line=line, column="Wake onset"
        )
    nap = is_nap
    if nap is None:
        raw = row.get("Nap", "").strip().lower()
        if raw in ("true", "1", "yes"):
            nap = True
        elif raw in ("false", "0", "no", ""):
            nap = False
        else:
            raise BadRowError(display, f"expected true/false, found {row.get('Nap')!r}", line=line, column="Nap")
    return {
        "athlete_id": athlete,
        "source": SOURCE,
        "start_utc": onset.astimezone(timezone.utc),
        "end_utc": wake.astimezone(timezone.utc),
        "wake_date": wake.date(),
        "asleep_s": _minutes(row, "Asleep duration (min)", display, line),
        "deep_s": _minutes(row, "Deep (SWS) duration (min)", display, line),
        "light_s": _minutes(row, "Light sleep duration (min)", display, line),
        "rem_s": _minutes(row, "REM duration (min)", display, line),
        "awake_s": _minutes(row, "Awake duration (min)", display, line),
        "in_bed_s": _minutes(row, "In bed duration (min)", display, line),
        "is_nap": nap,
        "source_file": display,
        "sleep_score": parse_float(
            row.get("Sleep performance %", ""), display, line=line, column="Sleep performance %", lo=0, hi=100
        ),
    }


_MEASURED_SLEEP = ("asleep_s", "deep_s", "light_s", "rem_s", "awake_s", "in_bed_s")


def _wake_date(row, tz, display, line) -> date | None:
    wake = _parse_local(row.get("Wake onset", ""), tz, display, line, "Wake onset")
    if wake is not None:
        return wake.date()
    start = _parse_local(row.get("Cycle start time", ""), tz, display, line, "Cycle start time")
    if start is None:
        return None
    return start.date() if start.hour < 12 else start.date() + timedelta(days=1)


def _sport(name: str) -> str | None:
    s = name.strip()
    if not s:
        return None
    return SPORT_MAP.get(s.lower(), s.lower().replace(" ", "_").replace("/", "_"))


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one WHOOP export CSV; see the module docstring for the mapping.

    Raises
    ------
    ConnectorError
        Not a WHOOP CSV, malformed CSV (names the line), or no athlete known.
    BadRowError
        A row with an impossible value, unless ``ctx.on_bad_row`` is ``skip``.
    """
    display = display_name(path, ctx)
    enc_notes: list[str] = []
    header, rows = open_csv(path, display, enc_notes)
    kind = kind_of_header(header)
    if kind is None:
        raise ConnectorError(
            display,
            "not a WHOOP export: expected a header with "
            "'Cycle start time,Cycle end time,Cycle timezone' and the columns of "
            "physiological_cycles.csv, sleeps.csv or workouts.csv",
            line=1,
        )
    athlete = require_athlete(display, ctx, "WHOOP")
    if kind == "journal":
        result = ReadResult(format="whoop_journal")
        result.warn("journal_entries.csv: journal answers (behaviours, not measurements) are not used")
        return result
    bad = BadRows(ctx, max_notes=20)
    notes: set[str] = set()
    unmeasured: list[int] = []
    sessions: list[dict] = []
    sleeps: list[dict] = []
    wellness: list[dict] = []
    for line, row in rows:
        try:
            tz = _row_tz(row, ctx, display, line, notes)
            cycle_start = _parse_local(row.get("Cycle start time", ""), tz, display, line, "Cycle start time")
            if cycle_start is None:
                raise BadRowError(display, "empty 'Cycle start time'", line=line, column="Cycle start time")
            if kind == "workouts":
                sessions.append(_workout(row, tz, athlete, display, line))
            elif kind == "sleeps":
                s = _sleep_row(row, tz, athlete, display, line, is_nap=None)
                if s is not None:
                    sleeps.append(s)
                    if all(s[c] is None for c in _MEASURED_SLEEP):
                        unmeasured.append(line)
            else:
                s = _sleep_row(row, tz, athlete, display, line, is_nap=False)
                if s is not None:
                    sleeps.append(s)
                rhr = parse_float(
                    row.get("Resting heart rate (bpm)", ""),
                    display,
                    line=line,
                    column="Resting heart rate (bpm)",
                    lo=20,
                    hi=200,
                )
                hrv = parse_float(
                    row.get("Heart rate variability (ms)", ""),
                    display,
                    line=line,
                    column="Heart rate variability (ms)",
                    lo=1,
                    hi=500,
                )
                if rhr is not None or hrv is not None:
                    wd = _wake_date(row, tz, display, line)
                    wellness.append(
                        {
                            "athlete_id": athlete,
                            "source": SOURCE,
                            "date": wd,
                            "rhr_bpm": rhr,
                            "hrv_rmssd_ms": hrv,
                            "source_file": display,
                        }
                    )
        except BadRowError as err:
            bad(err)

    result = ReadResult(
        format=f"whoop_{kind}",
        sessions=_frame(sessions, SESSIONS),
        sleep=_frame(sleeps, SLEEP),
        wellness=_dedupe_days(_frame(wellness, WELLNESS)),
    )
    for n in enc_notes + sorted(notes):
        result.warn(n)
    if unmeasured:
        shown = ", ".join(str(x) for x in unmeasured[:10]) + (" ..." if len(unmeasured) > 10 else "")
        result.warn(
            f"line {shown}: {len(unmeasured)} sleep(s) with onset and wake but no measured sleep (entered "
            f"by hand): kept with the sleep durations empty, never 0 h"
        )
    return bad.finish(result)


def _workout(row, tz, athlete, display, line) -> dict:
    start = _parse_local(row.get("Workout start time", ""), tz, display, line, "Workout start time")
    end = _parse_local(row.get("Workout end time", ""), tz, display, line, "Workout end time")
    if start is None:
        raise BadRowError(display, "empty 'Workout start time'", line=line, column="Workout start time")
    if end is not None and end < start:
        raise BadRowError(
            display, f"workout ends ({end}) before it starts ({start})", line=line, column="Workout end time"
        )
    elapsed = (end - start).total_seconds() if end is not None else None
    duration = _minutes(row, "Duration (min)", display, line)
    if duration is None:
        duration = elapsed
    strain = parse_float(row.get("Activity Strain", ""), display, line=line, column="Activity Strain", lo=0, hi=21)
    return {
        "athlete_id": athlete,
        "source": SOURCE,
        "start_utc": start.astimezone(timezone.utc),
        "local_date": start.date(),
        "sport": _sport(row.get("Activity name", "")),
        "duration_s": duration,
        "distance_m": parse_float(
            row.get("Distance (meters)", ""), display, line=line, column="Distance (meters)", lo=0, hi=1e6
        ),
        "avg_hr_bpm": parse_float(
            row.get("Average HR (bpm)", ""), display, line=line, column="Average HR (bpm)", lo=20, hi=250
        ),
        "max_hr_bpm": parse_float(
            row.get("Max HR (bpm)", ""), display, line=line, column="Max HR (bpm)", lo=20, hi=250
        ),
        "device_load": strain,
        "device_load_kind": "whoop_strain" if strain is not None else None,
        "energy_kcal": parse_float(
            row.get("Energy burned (cal)", ""), display, line=line, column="Energy burned (cal)", lo=0, hi=20000
        ),
        "elapsed_s": elapsed,
        "local_offset_s": int(start.utcoffset().total_seconds()),
        "source_file": display,
    }


def _frame(rows: list[dict], schema) -> pl.DataFrame:
    if not rows:
        return schema.empty()
    cols = schema.columns
    data = {c: [r.get(c) for r in rows] for c in cols}
    return pl.DataFrame(data, schema=schema.polars_schema)


def _dedupe_days(df: pl.DataFrame) -> pl.DataFrame:
    """One wellness row per wake date: the last cycle of the day wins (a re-synced cycle)."""
    if df.height < 2:
        return df
    return df.unique(subset=["athlete_id", "source", "date"], keep="last", maintain_order=True)
