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
from enum import Enum
from pathlib import Path

import polars as pl

from features.schemas import SESSIONS, SLEEP, WELLNESS, TableSchema, conform

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


class OnBadRow(str, Enum):
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


@dataclass
class ReadResult:
    """Frames read from one file, conformed to the canonical schemas."""

    format: str
    sessions: pl.DataFrame = field(default_factory=SESSIONS.empty)
    sleep: pl.DataFrame = field(default_factory=SLEEP.empty)
    wellness: pl.DataFrame = field(default_factory=WELLNESS.empty)
    skipped_rows: int = 0
    warnings: list[str] = field(default_factory=list)
    athlete_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.sessions = conform(self.sessions, SESSIONS)
        self.sleep = conform(self.sleep, SLEEP)
        self.wellness = conform(self.wellness, WELLNESS)
        if not self.athlete_ids:
            ids: set[str] = set()
            for df in (self.sessions, self.sleep, self.wellness):
                ids.update(x for x in df["athlete_id"].unique().to_list() if x is not None)
            self.athlete_ids = tuple(sorted(ids))

    def tables(self) -> dict[str, pl.DataFrame]:
        return {"sessions": self.sessions, "sleep": self.sleep, "wellness": self.wellness}

    def rows(self) -> dict[str, int]:
        return {k: v.height for k, v in self.tables().items()}

    def warn(self, message: str) -> None:
        """Record a degraded-input note; the store shows it in the ledger."""
        self.warnings.append(message)


def schema_for(table: str) -> TableSchema:
    return {"sessions": SESSIONS, "sleep": SLEEP, "wellness": WELLNESS}[table]
