"""What every connector shares: the error hierarchy, the read context and result.

A connector is a module with

* ``FORMAT``: a short name (``"generic_csv_sessions"``, ``"fit"``, ``"strava_activities"``),
* ``detect(path: Path, head: bytes) -> bool``: True when the file's *content*
  (header row, JSON shape, XML root, FIT header) is this format. ``head`` is the
  first 64 KiB of the file. Never raise; return False when unsure.
* ``read(path: Path, ctx: ReadContext) -> ReadResult``: canonical frames, or
  :class:`ConnectorError` naming the file, the line or byte offset and what was
  expected.

Connectors never write anything: the store (``pipelines.store``) does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

import polars as pl

from features.schemas import INJURIES, SELF_REPORT_ITEMS, SESSIONS, SLEEP, WELLNESS, TableSchema, conform

__all__ = [
    "ConnectorError",
    "UnknownFormatError",
    "BadRowError",
    "CorruptFileError",
    "OnBadRow",
    "ReadContext",
    "ReadResult",
    "ConnectorWarning",
]


class ConnectorError(Exception):
    """An input file cannot be read.

    Parameters
    ----------
    path : str or Path
        The file.
    message : str
        What was wrong and what was expected.
    line : int, optional
        1-based line number (text formats).
    offset : int, optional
        Byte offset (binary formats).
    column : str, optional
        Column or field name.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        offset: int | None = None,
        column: str | None = None,
    ) -> None:
        self.path = str(path)
        self.message = message
        self.line = line
        self.offset = offset
        self.column = column
        where = [self.path]
        if line is not None:
            where.append(f"line {line}")
        if offset is not None:
            where.append(f"byte {offset}")
        if column is not None:
            where.append(f"column {column!r}")
        super().__init__(f"{', '.join(where)}: {message}")


class UnknownFormatError(ConnectorError):
    """No connector recognises the file's content."""


class BadRowError(ConnectorError):
    """A row or record has a value outside what the format allows."""


class CorruptFileError(ConnectorError):
    """The file is damaged (bad CRC, truncated, garbage)."""


class ConnectorWarning(UserWarning):
    """Usable but degraded input (ignored columns, rows skipped, read up to damage)."""


class OnBadRow(StrEnum):
    """What to do with a row that fails validation."""

    RAISE = "raise"  # reject the whole file (default)
    SKIP = "skip"  # drop the row, count it in the ledger


@dataclass(frozen=True)
class ReadContext:
    """Everything a connector may need besides the file.

    Parameters
    ----------
    athlete_id : str or None
        Athlete for formats without an athlete column (from the input folder
        layout or ``--athlete``).
    tz : str or None
        IANA time zone of the athlete, for formats with local times and no
        offset. None means UTC with a warning.
    on_bad_row : OnBadRow
        Policy for rows that fail validation.
    source_name : str or None
        Path as shown to the user (defaults to the path).
    """

    athlete_id: str | None = None
    tz: str | None = None
    on_bad_row: OnBadRow = OnBadRow.RAISE
    source_name: str | None = None


#: One empty frame per canonical table, cloned (a cheap shallow copy) for each result
#: instead of building a schema and a frame per call.
_EMPTY = {
    "sessions": SESSIONS.empty(),
    "sleep": SLEEP.empty(),
    "wellness": WELLNESS.empty(),
    "injuries": INJURIES.empty(),
}


def _empty(table: str):
    return lambda: _EMPTY[table].clone()


@dataclass
class ReadResult:
    """Frames read from one file, conformed to the canonical schemas."""

    format: str
    sessions: pl.DataFrame = field(default_factory=_empty("sessions"))
    sleep: pl.DataFrame = field(default_factory=_empty("sleep"))
    wellness: pl.DataFrame = field(default_factory=_empty("wellness"))
    skipped_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    athlete_ids: tuple[str, ...] = ()
    #: injury reports (:data:`features.schemas.INJURIES`): labels for evaluation, not score inputs;
    #: kept apart from :meth:`tables` (the three canonical input tables)
    injuries: pl.DataFrame = field(default_factory=_empty("injuries"))
    #: a whole-team export (one column or key per player, e.g. a PMSys team table): it sits in a
    #: grouping folder of the export (``wellness/``), not in an athlete's folder, so ingest refuses
    #: it there only when that folder is a known athlete's
    team_export: bool = False

    def __post_init__(self) -> None:
        self.sessions = conform(self.sessions, SESSIONS)
        self.sleep = conform(self.sleep, SLEEP)
        self.wellness = conform(self.wellness, WELLNESS)
        self.injuries = conform(self.injuries, INJURIES)
        if not self.athlete_ids:
            ids: set[str] = set()
            for df in (self.sessions, self.sleep, self.wellness, self.injuries):
                if df.height == 0:
                    continue
                col = df["athlete_id"]
                # a few rows: a Python set is cheaper than a polars unique() round trip
                ids.update(x for x in (col.to_list() if df.height <= 64 else col.unique().to_list()) if x is not None)
            self.athlete_ids = tuple(sorted(ids))

    def tables(self) -> dict[str, pl.DataFrame]:
        return {"sessions": self.sessions, "sleep": self.sleep, "wellness": self.wellness}

    def rows(self) -> dict[str, int]:
        return {k: v.height for k, v in self.tables().items()}

    def rename_athletes(self, mapping: dict[str, str]) -> None:
        """Rewrite ``athlete_id`` by ``mapping`` in every table, injuries included, and in ``athlete_ids``."""
        for name, df in [*self.tables().items(), ("injuries", self.injuries)]:
            if df.height:
                setattr(self, name, df.with_columns(pl.col("athlete_id").replace(mapping)))
        self.athlete_ids = tuple(sorted({mapping.get(a, a) for a in self.athlete_ids}))

    def warn(self, message: str) -> None:
        """Record a degraded-input note; the store shows it in the ledger."""
        self.warnings.append(message)


def schema_for(table: str) -> TableSchema:
    return {"sessions": SESSIONS, "sleep": SLEEP, "wellness": WELLNESS}[table]


# ----------------------------------------------------------------------------- plausibility
#: Last line of defence against absurd values, applied to every connector's
#: output by :func:`check_plausible` (connectors may check more strictly, with
#: the file's line). Inclusive ranges (column: (low, high)); a null passes.
PLAUSIBLE: dict[str, dict[str, tuple[float, float]]] = {
    "sessions": {
        "duration_s": (0.0, 24 * 3600.0),  # timer/moving time of one session [s] (generic_csv, whoop: 24 h)
        "elapsed_s": (0.0, 7 * 86400.0),  # wall-clock span [s] (apple_health, oura: 7 days)
        "distance_m": (0.0, 1_000_000.0),  # [m] (whoop, oura: 1000 km)
        "avg_hr_bpm": (20.0, 250.0),
        "max_hr_bpm": (20.0, 250.0),
        "rpe": (0.0, 10.0),
        "energy_kcal": (0.0, 20_000.0),
    },
    "sleep": {c: (0.0, 24 * 3600.0) for c in ("asleep_s", "deep_s", "light_s", "rem_s", "awake_s", "in_bed_s")},
    "wellness": {
        "rhr_bpm": (20.0, 250.0),
        "hrv_rmssd_ms": (0.0, 500.0),
        "hrv_sdnn_ms": (0.0, 1000.0),
        "back_pain_0_10": (0.0, 10.0),
        "soreness": (0.0, 10.0),
        **{c: (lo, hi) for c, (lo, hi, _, _) in SELF_REPORT_ITEMS.items()},
        "sleep_reported_h": (0.0, 24.0),
    },
}
#: Calendar years a record may fall in (no wearable data before 1970; 2200 is a typo).
PLAUSIBLE_YEARS = (1970, 2100)
_WHEN = {"sessions": "start_utc", "sleep": "start_utc", "wellness": "date"}


def _implausible_exprs(schema: pl.Schema, table: str) -> list[pl.Expr]:
    """One boolean expression per check of :func:`_implausible` (True on a bad row)."""
    exprs = []
    for col, (lo, hi) in PLAUSIBLE[table].items():
        if col in schema:
            v = pl.col(col).cast(pl.Float64)
            exprs.append(v.is_not_null() & (v.is_nan() | (v < lo) | (v > hi)))
    ylo, yhi = PLAUSIBLE_YEARS
    for col, dt in schema.items():
        if dt == pl.Date or isinstance(dt, pl.Datetime):
            y = pl.col(col).dt.year()
            exprs.append(pl.col(col).is_not_null() & ((y < ylo) | (y > yhi)))
    if table == "sleep":
        exprs.append(pl.col("end_utc") <= pl.col("start_utc"))
    return exprs


def _any_implausible(df: pl.DataFrame, table: str) -> bool:
    """Whether :func:`_implausible` would find anything: every check in one polars round trip."""
    if df.is_empty():
        return False
    exprs = _implausible_exprs(df.schema, table)
    if not exprs:
        return False
    return bool(df.select(pl.any_horizontal([e.fill_null(False) for e in exprs]).any()).item())


def _implausible(df: pl.DataFrame, table: str) -> list[tuple[int, str, str]]:
    """(row index, column, what is wrong) of every implausible value, in row order."""
    problems: list[tuple[int, str, str]] = []
    if df.is_empty():
        return problems
    idx = pl.int_range(pl.len(), dtype=pl.UInt32).alias("_i")
    for col, (lo, hi) in PLAUSIBLE[table].items():
        if col not in df.columns:
            continue
        v = pl.col(col).cast(pl.Float64)
        bad = df.select(idx, pl.col(col)).filter(v.is_not_null() & (v.is_nan() | (v < lo) | (v > hi)))
        problems += [(i, col, f"{col} {x} outside the plausible range {lo:g}..{hi:g}") for i, x in bad.rows()]
    ylo, yhi = PLAUSIBLE_YEARS
    for col, dt in df.schema.items():
        if dt == pl.Date or isinstance(dt, pl.Datetime):
            y = pl.col(col).dt.year()
            bad = df.select(idx, pl.col(col)).filter(pl.col(col).is_not_null() & ((y < ylo) | (y > yhi)))
            problems += [(i, col, f"{col} {x} outside the years {ylo}..{yhi}") for i, x in bad.rows()]
    if table == "sleep":
        bad = df.select(idx, "start_utc", "end_utc").filter(pl.col("end_utc") <= pl.col("start_utc"))
        problems += [(i, "end_utc", f"sleep ends ({e}) before it starts ({s})") for i, s, e in bad.rows()]
    return sorted(problems)


def implausible_results(results: list[ReadResult]) -> list[bool]:
    """For each result, whether :func:`check_plausible` could find anything in it.

    One polars query per table over all the results together (the fixed cost
    of a query dominates on small files); False means :func:`check_plausible`
    would return the result unchanged.
    """
    flags = [False] * len(results)
    for table in ("sessions", "sleep", "wellness"):
        idx = [i for i, r in enumerate(results) if getattr(r, table).height]
        if not idx:
            continue
        frames = [getattr(results[i], table) for i in idx]
        try:
            df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
            exprs = _implausible_exprs(df.schema, table)
            if not exprs:
                continue
            bad = df.select(pl.any_horizontal([e.fill_null(False) for e in exprs]).alias("b"))["b"].to_list()
        except Exception:  # noqa: BLE001 - frames that do not stack: let check_plausible look at each
            for i in idx:
                flags[i] = True
            continue
        lo = 0
        for i, f in zip(idx, frames, strict=True):
            if any(bad[lo : lo + f.height]):
                flags[i] = True
            lo += f.height
    return flags


def check_plausible(result: ReadResult, ctx: ReadContext, path: str | Path) -> ReadResult:
    """Apply :data:`PLAUSIBLE` and :data:`PLAUSIBLE_YEARS` to a connector's result.

    A record with a value outside them (a 40-hour session, a resting HR of 0
    or 400 bpm, a negative distance, NaN, a date in 1900 or 2200, sleep that
    ends before it starts) is a bad row: with ``OnBadRow.RAISE`` the file is
    rejected with :class:`BadRowError` naming the file, the record (its table
    and start time or date) and the value; with ``SKIP`` the record is dropped
    and counted in ``skipped_rows`` with a note.
    """
    name = ctx.source_name or str(path)
    for table, df in result.tables().items():
        if not _any_implausible(df, table):  # the common case; the slow path below names each value
            continue
        problems = _implausible(df, table)
        if not problems:
            continue
        if ctx.on_bad_row == OnBadRow.RAISE:
            i, col, what = problems[0]
            when = df[_WHEN[table]][i]
            raise BadRowError(name, f"{table} record {when}: {what}", column=col)
        rows = sorted({i for i, _, _ in problems})
        keep = pl.Series([True] * df.height)
        keep[rows] = False
        setattr(result, table, df.filter(keep))
        result.skipped_rows += len(rows)
        for i, _col, what in problems[:20]:
            result.warn(f"skipped {table} record {df[_WHEN[table]][i]}: {what}")
    return result
