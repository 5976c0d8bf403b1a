"""Small helpers shared by the vendor-export connectors (Oura, WHOOP, Apple Health).

Private to ``connectors``: CSV decoding with line numbers,
number and time-zone parsing with errors that name the file, line and column.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import BadRowError, ConnectorError

__all__ = [
    "head_text",
    "header_fields",
    "open_csv",
    "parse_float",
    "parse_offset",
]

csv.field_size_limit(16 << 20)


def head_text(head: bytes) -> str | None:
    """``head`` decoded as UTF-8 (BOM stripped), or None when it is not text."""
    if b"\x00" in head[:4096]:
        return None
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte char cut by the 64 KiB head
            try:  # a CSV re-saved by Excel on Windows
                return head.decode("cp1252")
            except UnicodeDecodeError:
                return None
        text = head[: err.start].decode("utf-8-sig", errors="strict")
    return text


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header has more semicolons than commas, else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def header_fields(head: bytes) -> list[str] | None:
    """The stripped header cells of a CSV head, or None when it is not CSV text."""
    text = head_text(head)
    if not text:
        return None
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first.strip():
        return None
    try:
        row = next(csv.reader([first], delimiter=sniff_delimiter(first)))
    except (csv.Error, StopIteration):
        return None
    return [c.strip() for c in row]


def open_csv(
    path: Path, display: str, notes: list[str] | None = None
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header (stripped) and an iterator of ``(line_number, row dict)``.

    Line numbers are 1-based physical lines where the record starts. Rows with
    more cells than the header raise :class:`ConnectorError`; short rows are
    padded with empty strings (vendors drop trailing empty cells). Text that
    is not UTF-8 but valid Windows-1252 (an export re-saved by Excel) is read
    as such, with a note appended to ``notes``.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    if b"\x00" in raw:
        off = raw.index(b"\x00")
        raise ConnectorError(display, "binary data (NUL byte) in a CSV export", offset=off)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        try:
            text = raw.decode("cp1252")
        except UnicodeDecodeError:
            line = raw[: err.start].count(b"\n") + 1
            raise ConnectorError(display, f"not UTF-8 text: {err.reason}", line=line, offset=err.start) from err
        if notes is not None:
            notes.append("not UTF-8: read as Windows-1252 (a file re-saved by Excel?)")
    first = text.split("\n", 1)[0]
    delim = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    try:
        header = [c.strip() for c in next(reader)]
    except StopIteration:
        raise ConnectorError(display, "empty file: expected a CSV header row", line=1) from None
    except csv.Error as err:
        raise ConnectorError(display, f"malformed CSV header: {err}", line=1) from err

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        start = reader.line_num + 1
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as err:
                raise ConnectorError(display, f"malformed CSV: {err}", line=start) from err
            if not cells or all(not c.strip() for c in cells):
                start = reader.line_num + 1
                continue
            if len(cells) > len(header):
                raise ConnectorError(
                    display,
                    f"{len(cells)} cells but the header has {len(header)}: expected one cell per column",
                    line=start,
                )
            cells = cells + [""] * (len(header) - len(cells))
            yield start, dict(zip(header, cells))
            start = reader.line_num + 1

    return header, rows()


_MISSING = {"", "--", "-", "n/a", "na", "nan", "null", "none"}


def parse_float(
    value: str | float | int | None,
    display: str,
    *,
    line: int | None,
    column: str,
    lo: float | None = None,
    hi: float | None = None,
) -> float | None:
    """A finite float, None for an empty/missing cell; BadRowError otherwise.

    ``lo``/``hi`` bound plausible values (inclusive); outside them is a bad row.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRowError(display, f"expected a number, found {value!r}", line=line, column=column)
    if isinstance(value, (int, float)):
        v = float(value)
    elif not isinstance(value, str):
        raise BadRowError(display, f"expected a number, found {type(value).__name__} {value!r:.40}",
                          line=line, column=column)
    else:
        s = value.strip()
        if s.lower() in _MISSING:
            return None
        try:
            v = float(s)
        except ValueError:
            raise BadRowError(display, f"expected a number, found {value!r}", line=line, column=column) from None
    if not math.isfinite(v):
        raise BadRowError(display, f"expected a finite number, found {value!r}", line=line, column=column)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise BadRowError(
            display, f"value {v:g} outside the plausible range {lo:g}..{hi:g}", line=line, column=column
        )
    return v


_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_offset(value: str, display: str, *, line: int | None, column: str) -> tzinfo:
    """``UTC-04:00``, ``GMT+5``, ``+0530``, ``UTC``/``Z`` or an IANA name -> tzinfo."""
    s = value.strip()
    if s.upper() in ("UTC", "GMT", "Z", "UTC+00:00", "UTC-00:00"):
        return timezone.utc
    m = _OFFSET_RE.match(s)
    if m:
        sign, hh, mm = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hh > 14 or mm >= 60:
            raise BadRowError(display, f"time-zone offset out of range: {value!r}", line=line, column=column)
        delta = timedelta(hours=hh, minutes=mm)
        return timezone(-delta if sign == "-" else delta)
    try:
        if s:
            return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise BadRowError(
        display, f"expected a time zone like 'UTC-04:00' or 'Europe/Paris', found {value!r}",
        line=line, column=column,
    )


def to_utc_naive_us(dt: datetime) -> datetime:
    """An aware datetime as a UTC-aware datetime (for polars ``Datetime('us','UTC')``)."""
    return dt.astimezone(timezone.utc)


def offset_seconds(dt: datetime) -> int | None:
    off = dt.utcoffset()
    return None if off is None else int(off.total_seconds())
