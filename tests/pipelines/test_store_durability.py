"""Every write of the store is durable before it returns: files fsynced, then their folder.

A rename survives a power cut only once its folder is fsynced; the ledger records a file as
ingested right after the store's write returns, so a lost rename would make the next run skip
a file whose rows are not stored. Batch writes fsync each table's folder once, after the
last partition, instead of once per partition.
"""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

import pipelines.atomic as atomic
import pipelines.store as store_mod
from pipelines.store import Store
from tests.pipelines.test_store import sessions


@pytest.fixture
def synced(monkeypatch) -> list[str]:
    """The folders fsynced, in order, with the partition files present at that moment."""
    calls: list[str] = []
    real = atomic.fsync_dir

    def record(path):
        calls.append(f"{path.name}:{len(list(path.glob('*.parquet')))}")
        real(path)

    monkeypatch.setattr(store_mod, "fsync_dir", record)  # the store's batches
    monkeypatch.setattr(atomic, "fsync_dir", record)  # single writes (pipelines.atomic)
    return calls


def test_upsert_of_many_athletes_syncs_the_folder_once_after_the_last_partition(tmp_path, synced):
    st = Store(tmp_path / "s")
    df = pl.concat([sessions(f"a{i}", [0, 30]) for i in range(6)])
    st.upsert("sessions", df)
    assert synced == ["sessions:6"]  # one fsync, after all six partitions were renamed into place
    synced.clear()
    st.upsert("sessions", sessions("a1", [60]))  # a merge into an existing partition
    assert synced == ["sessions:6"]


def test_replace_and_splice_sync_once_and_a_single_write_syncs_itself(tmp_path, synced):
    st = Store(tmp_path / "s")
    feats = pl.DataFrame(
        {"athlete_id": ["a", "a", "b"], "date": [date(2025, 1, 1), date(2025, 1, 2), date(2025, 1, 1)]}
    )
    st.replace_athletes("daily", feats)
    assert synced == ["daily:2"]
    synced.clear()
    st.splice_athletes("daily", feats, since={"a": date(2025, 1, 2), "b": date(2025, 1, 1)})
    assert synced == ["daily:2"]
    synced.clear()
    st.write_partition("daily", "c", feats.filter(pl.col("athlete_id") == "a").with_columns(athlete_id=pl.lit("c")))
    assert synced == ["daily:3"]
    synced.clear()
    st.replace_athletes("daily", feats.filter(pl.col("athlete_id") == "a"), athletes=["a", "b"])  # b removed
    assert synced == ["daily:2"]


def test_the_checksum_and_the_partition_are_in_place_when_the_folder_is_synced(tmp_path, monkeypatch):
    seen: list[tuple[bool, bool]] = []
    path = tmp_path / "t" / "x.parquet"

    def record(d):
        seen.append((path.exists(), store_mod.checksum_path(path).exists()))

    monkeypatch.setattr(store_mod, "fsync_dir", record)
    monkeypatch.setattr(atomic, "fsync_dir", record)
    store_mod.atomic_write_parquet(pl.DataFrame({"v": [1]}), path)
    assert seen == [(True, True)]
    seen.clear()
    store_mod.atomic_write_parquet(pl.DataFrame({"v": [2]}), path, sync_dir=False)
    assert seen == []
