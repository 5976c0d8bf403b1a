"""Small helpers shared by the vendor-export connectors (Oura, WHOOP, Apple Health).

Private to ``connectors``: time-zone parsing with errors that name the file, line and column.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from connectors.base import BadRowError, ConnectorError

__all__ = [
    "parse_offset",
]

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
