"""Strava bulk export ``activities.csv`` (Settings > My Account > "Download or Delete Your Account").

One row per activity. The file has quirks every reader must handle:

* **Duplicate column names.** ``Distance`` appears twice (the first in km,
  the second in metres), and so do ``Elapsed Time`` (integer s, then float s),
  ``Max Heart Rate``, ``Relative Effort`` and ``Commute``. Columns are
  addressed by (name, occurrence); for distance the metres column wins when it
  has a value, else the km column x 1000. For the other pairs the first
  non-empty occurrence is used.
* **The column set grows between export versions** (older files stop after
  ``Filename``; newer ones add ``Moving Time``, ``Average Heart Rate``,
  ``Perceived Exertion``, weather, ...). Only ``Activity ID``, ``Activity
  Date`` and ``Activity Type`` are required; everything else is read when present.
* **Descriptions span several lines** inside quotes; line numbers in errors
  are the line on which the record starts.
* ``Activity Date`` is UTC, like ``Oct 6, 2022, 11:19:20 PM``. The local
  date comes from ``ctx.tz``; without it the UTC date is used and the ledger
  says so.

Mapping: ``Moving Time`` -> ``duration_s`` (``Elapsed Time`` when absent),
``Elapsed Time`` -> ``elapsed_s``, ``Average Heart Rate``/``Max Heart Rate``,
``Calories`` -> ``energy_kcal``, ``Relative Effort`` -> ``device_load`` with
``device_load_kind`` ``"relative_effort"``, ``Perceived Exertion`` (Strava's
1-10 scale, read as CR10) -> ``rpe`` and ``load_au = rpe x moving minutes``
with ``load_method`` ``"srpe"`` (Foster 2001; domain brief section 1).
Without RPE the load stays null for the load stage's fallback chain.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from connectors._export_util import (
    SESSION_COLUMNS,
    BadRows,
    LocalTime,
    UnexpectedErrors,
    csv_rows,
    decimal_votes,
    display_name,
    first_line,
    frame,
    normalise_sport,
    open_text,
    parse_number,
    positive_or_none,
    split_header,
    srpe_load,
)
from connectors.base import BadRowError, CorruptFileError, ReadContext, ReadResult

__all__ = ["FORMAT", "detect", "read", "parse_activity_date"]

FORMAT = "strava_activities"

REQUIRED = ("Activity ID", "Activity Date", "Activity Type")

_DATE_FORMATS = (
    "%b %d, %Y, %I:%M:%S %p",  # Oct 6, 2022, 11:19:20 PM (current exports)
    "%b %d, %Y %I:%M:%S %p",
    "%d %b %Y, %H:%M:%S",  # 6 Oct 2022, 23:19:20 (en-GB accounts)
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
)


def parse_activity_date(raw: str) -> datetime:
    """UTC start from Strava's ``Activity Date`` (``Oct 6, 2022, 11:19:20 PM``).

    Raises
    ------
    ValueError
        When no known layout matches.
    """
    s = " ".join(raw.replace("\u202f", " ").split())
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(s, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise ValueError(f"expected a UTC date like 'Oct 6, 2022, 11:19:20 PM', found {raw!r}")


def detect(path: Path, head: bytes) -> bool:
    """A header row naming Activity ID, Activity Date and Activity Type."""
    header = [h.strip() for h in split_header(first_line(head))]
    return all(r in header for r in REQUIRED)


class _Columns:
    """Column lookup by (name, occurrence) for a header with repeated names."""

    def __init__(self, header: list[str]) -> None:
        self.header = [h.strip() for h in header]
        self.where: dict[str, list[int]] = {}
        for i, h in enumerate(self.header):
            self.where.setdefault(h, []).append(i)

    def has(self, name: str) -> bool:
        return name in self.where

    def cells(self, cells: list[str], name: str) -> list[tuple[int, str]]:
        return [(i, cells[i]) for i in self.where.get(name, []) if i < len(cells)]


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read a Strava ``activities.csv`` into ``sessions``.

    Returns
    -------
    ReadResult
        ``sessions`` with ``source`` = ``"strava_activities"``.

    Raises
    ------
    ConnectorError
        Unreadable text or CSV, a header without the required columns.
    BadRowError
        A row whose date or numbers cannot be read (unless ``on_bad_row`` is SKIP).
    """
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        return _read(path, ctx, name)


def _read(path: Path, ctx: ReadContext, name: str) -> ReadResult:
    text = open_text(path, ctx)
    records = list(csv_rows(text, path, ctx))
    if not records:
        raise CorruptFileError(name, "empty file: expected the Strava activities header row", line=1)
    cols = _Columns(records[0][1])
    missing = [r for r in REQUIRED if not cols.has(r)]
    if missing:
        raise CorruptFileError(name, f"header lacks {', '.join(missing)} (not a Strava activities.csv)", line=1)
    ncols = len(cols.header)
    data = records[1:]
    samples = [
        v for _l, cells in data for n in ("Distance", "Average Speed", "Max Speed") for _i, v in cols.cells(cells, n)
    ]
    point, comma = decimal_votes(samples)
    decimal_comma = comma > point

    clock = LocalTime(
        ctx,
        path,
        "Activity Date",
        no_tz_note=("no time zone given (--tz): local dates are the UTC dates of Activity Date"),
    )
    bad = BadRows(ctx)
    rows: list[dict] = []
    km_only = 0
    for line, cells in data:
        try:
            if len(cells) != ncols:
                raise BadRowError(
                    name,
                    f"expected {ncols} cells as in the header, found {len(cells)} "
                    "(a quote left open in a description?)",
                    line=line,
                )

            def nums(col: str, cells: list[str] = cells, line: int = line) -> list[float | None]:
                out = []
                for i, raw in cols.cells(cells, col):
                    try:
                        out.append(parse_number(raw, decimal_comma=decimal_comma))
                    except ValueError as err:
                        raise BadRowError(name, str(err), line=line, column=f"{col} (column {i + 1})") from err
                return out

            def first(col: str) -> float | None:
                return next((v for v in nums(col) if v is not None), None)

            raw_date = cells[cols.where["Activity Date"][0]]
            try:
                start = parse_activity_date(raw_date)
            except ValueError as err:
                raise BadRowError(name, str(err), line=line, column="Activity Date") from err
            sport, sub = normalise_sport(cells[cols.where["Activity Type"][0]])
            dists = nums("Distance")
            dist_m = None
            if len(dists) >= 2 and dists[1] is not None:
                dist_m = dists[1]
            elif dists and dists[0] is not None:
                dist_m = dists[0] * 1000.0
                km_only += 1
            elapsed = first("Elapsed Time")
            moving = first("Moving Time")
            duration = moving if moving is not None else elapsed
            for col, v in (("Moving Time", moving), ("Elapsed Time", elapsed)):
                if v is not None and v < 0:
                    raise BadRowError(name, f"negative duration {v} s", line=line, column=col)
            rpe = first("Perceived Exertion")
            if rpe is not None and not 0 <= rpe <= 10:
                raise BadRowError(
                    name,
                    f"perceived exertion {rpe} outside Strava's 1-10 scale",
                    line=line,
                    column="Perceived Exertion",
                )
            load, method = srpe_load(rpe, duration / 60.0 if duration is not None else None)
            effort = first("Relative Effort")
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": FORMAT,
                    "start_utc": start,
                    "local_date": clock.local_date_of(start),
                    "local_offset_s": clock.offset_of(start),
                    "sport": sport,
                    "sub_sport": sub,
                    "duration_s": duration,
                    "elapsed_s": elapsed,
                    "distance_m": dist_m,
                    "avg_hr_bpm": positive_or_none(first("Average Heart Rate")),
                    "max_hr_bpm": positive_or_none(first("Max Heart Rate")),
                    "rpe": rpe,
                    "load_au": load,
                    "load_method": method,
                    "device_load": effort,
                    "device_load_kind": "relative_effort" if effort is not None else None,
                    "energy_kcal": first("Calories"),
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    result = ReadResult(format=FORMAT, sessions=frame(rows, SESSION_COLUMNS))
    if km_only:
        result.warn(f"{km_only} activities without the metres Distance column: read the km column x 1000")
    if not cols.has("Moving Time") and rows:
        result.warn("older export without Moving Time: duration_s is the elapsed time")
    if decimal_comma:
        result.warn("numbers read with decimal comma")
    clock.note(result)
    return bad.finish(result)
