"""Shared pieces of the vendor-export connector tests (Garmin, Fitbit, Strava)."""

from __future__ import annotations

import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from types import ModuleType

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from connectors.base import ConnectorError, ReadContext, ReadResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vendor"

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def row_by(df, col: str, value):
    """The one row of ``df`` whose ``col`` equals ``value``, as a dict."""
    rows = [r for r in df.iter_rows(named=True) if r[col] == value]
    assert len(rows) == 1, f"expected one row with {col}={value!r}, found {len(rows)}"
    return rows[0]


def mutations(original: bytes) -> st.SearchStrategy[bytes]:
    """Truncations, byte flips, spliced garbage and pure random bytes of a fixture."""
    n = len(original)
    truncated = st.integers(0, max(n - 1, 0)).map(lambda k: original[:k])
    flipped = st.tuples(st.integers(0, max(n - 1, 0)), st.integers(0, 255)).map(
        lambda t: original[: t[0]] + bytes([t[1]]) + original[t[0] + 1 :]
    )
    spliced = st.tuples(st.integers(0, n), st.binary(min_size=1, max_size=40)).map(
        lambda t: original[: t[0]] + t[1] + original[t[0] :]
    )
    return st.one_of(truncated, flipped, spliced, st.binary(max_size=300))


def read_or_connector_error(module: ModuleType, data: bytes, name: str, **ctx) -> ReadResult | None:
    """Write ``data`` as ``name`` and read it: only a result or a ConnectorError may come out."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        module.detect(path, data[:65536])  # must never raise
        try:
            result = module.read(path, ReadContext(athlete_id="fuzz", tz="Europe/Berlin"))
        except ConnectorError as err:
            assert str(err).startswith(str(path)), f"error does not name the file: {err}"
            return None
        assert isinstance(result, ReadResult)
        return result


__all__ = ["FIXTURES", "FUZZ", "utc", "row_by", "mutations", "read_or_connector_error", "date"]
