"""Store.read_table over many partitions (issue 19): checked in chunks, quarantined one by one.

``read_table`` verifies the checksums on threads and applies the plausibility
limits to up to ``Store.PLAUSIBLE_CHUNK`` partitions at once; a damaged
partition anywhere among them must still be found, quarantined alone, with the
reason a single read gives, and the others read in full.
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.store import Store, atomic_write_parquet, checksum_path


def _wellness(athlete: str, days: int, rhr: float = 50.0) -> pl.DataFrame:
    d0 = date(2025, 1, 1)
    return pl.DataFrame(
        {
            "athlete_id": [athlete] * days,
            "date": [d0 + timedelta(days=k) for k in range(days)],
            "source": ["generic_csv"] * days,
            "rhr_bpm": [rhr + (k % 5) for k in range(days)],
            "hrv_rmssd_ms": [60.0] * days,
            "source_file": [f"in/{athlete}/daily.csv"] * days,
        }
    )


def _store(tmp_path, n: int) -> tuple[Store, list[str]]:
    s = Store(tmp_path / "store")
    ids = [f"a{k:03d}" for k in range(n)]
    for k, a in enumerate(ids):
        s.write_partition("wellness", a, _wellness(a, 5 + k % 7))
    return s, ids


def _implausible_partition(s: Store, athlete: str) -> None:
    """A partition with a valid checksum but a resting HR of 900 bpm (written as a buggy writer would)."""
    from features.schemas import WELLNESS, conform

    atomic_write_parquet(conform(_wellness(athlete, 4, rhr=900.0), WELLNESS), s.partition_path("wellness", athlete))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 80), data=st.data())
def test_one_damaged_partition_among_many_is_quarantined_alone(tmp_path_factory, n, data):
    tmp = tmp_path_factory.mktemp("many")
    s, ids = _store(tmp, n)
    want = {a: s.read_partition("wellness", a) for a in ids}
    bad_implausible = data.draw(st.sampled_from(ids))
    others = [a for a in ids if a != bad_implausible]
    bad_bits = data.draw(st.sampled_from(others)) if others else None
    _implausible_partition(s, bad_implausible)
    if bad_bits is not None:  # a bit flip: the checksum no longer matches
        p = s.partition_path("wellness", bad_bits)
        raw = bytearray(p.read_bytes())
        raw[len(raw) // 2] ^= 0x10
        p.write_bytes(bytes(raw))

    got = s.read_table("wellness")

    damaged = {bad_implausible, bad_bits} - {None}
    assert sorted(got["athlete_id"].unique()) == sorted(a for a in ids if a not in damaged)
    for a in ids:
        if a not in damaged:
            assert got.filter(pl.col("athlete_id") == a).select(want[a].columns).equals(want[a])
    log = {r["athlete_id"]: r["reason"] for r in s.quarantine_log()}
    assert set(log) == damaged
    assert log[bad_implausible] == "implausible values in rhr_bpm"
    if bad_bits is not None:
        assert log[bad_bits].startswith(("checksum mismatch", "not readable as Parquet"))
    for a in damaged:
        assert not s.partition_path("wellness", a).exists()
        assert not checksum_path(s.partition_path("wellness", a)).exists()


@pytest.mark.parametrize("n", [1, 3, 64, 65])
def test_many_sound_partitions_read_as_one_by_one(tmp_path, n):
    s, ids = _store(tmp_path, n)
    one = pl.concat([s.read_table("wellness", [a]) for a in ids])
    assert s.read_table("wellness").equals(one)
    assert s.quarantine_log() == []
