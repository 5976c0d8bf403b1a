"""An unchanged export zip is not extracted again (pipelines.scan.ZipMemo in ingest)."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import polars as pl
import pytest

import pipelines.ingest as ingest_mod
from pipelines.ingest import ingest_paths
from pipelines.scan import ZipMemo
from pipelines.store import Store

SESSIONS = "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"


def _zip(path: Path, members: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)


GOOD = {
    "export/s1.csv": SESSIONS + "a,2026-10-01T07:00:00+02:00,40,running,140,5,8.0\n",
    "export/s2.csv": SESSIONS + "a,2026-10-02T07:00:00+02:00,50,running,145,6,9.5\n",
    "export/bad.csv": SESSIONS + "a,2026-10-03T07:00:00+02:00,40,running,900,5,8.0\n",
}  # HR 900: rejected


@pytest.fixture
def no_extract(monkeypatch):
    calls = []
    real = ingest_mod.extract_zip

    def counting(*a, **k):
        calls.append(a[0])
        return real(*a, **k)

    monkeypatch.setattr(ingest_mod, "extract_zip", counting)
    return calls


def test_unchanged_zip_is_not_extracted_and_counts_stay_the_same(tmp_path, no_extract):
    z = tmp_path / "in" / "a" / "export.zip"
    _zip(z, GOOD)
    store = Store(tmp_path / "store")
    s1 = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert (s1.files_seen, s1.ingested, s1.rejected) == (3, 2, 1) and len(no_extract) == 1
    s2 = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert len(no_extract) == 1  # not opened again
    # what a full pass over the members reports: 2 unchanged, 1 previously rejected
    assert (s2.files_seen, s2.unchanged, s2.previously_rejected, s2.ingested, s2.rejected) == (3, 2, 1, 0, 0)
    assert store.ledger().height == 3  # nothing added

    # --retry-rejected must look inside again (a member was rejected)
    s3 = ingest_paths(store, [tmp_path / "in"], workers=1, retry_rejected=True)
    assert len(no_extract) == 2 and s3.rejected == 1 and s3.unchanged == 2


def test_a_changed_zip_is_extracted_again(tmp_path, no_extract):
    z = tmp_path / "in" / "a" / "export.zip"
    _zip(z, {k: v for k, v in GOOD.items() if "bad" not in k})
    store = Store(tmp_path / "store")
    ingest_paths(store, [tmp_path / "in"], workers=1)
    st0 = z.stat()
    _zip(
        z,
        {
            **{k: v for k, v in GOOD.items() if "bad" not in k},
            "export/s3.csv": SESSIONS + "a,2026-10-04T07:00:00+02:00,30,running,130,4,6.0\n",
        },
    )
    os.utime(z, ns=(st0.st_atime_ns, st0.st_mtime_ns))  # even with the old mtime: ctime moved
    s = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert len(no_extract) == 2 and s.ingested == 1 and s.unchanged == 2
    assert store.read_table("sessions")["local_date"].n_unique() == 3


def test_unreadable_zip_is_rejected_once_then_skipped_until_it_changes(tmp_path, no_extract):
    z = tmp_path / "in" / "a" / "broken.zip"
    z.parent.mkdir(parents=True)
    z.write_bytes(b"PK\x03\x04 this is not really a zip")
    store = Store(tmp_path / "store")
    s1 = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert s1.rejected == 1 and "zip" in s1.problems[0]
    s2 = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert (s2.rejected, s2.previously_rejected, s2.files_seen) == (0, 1, 1)
    assert store.ledger().height == 1  # the reason is in the ledger once
    s3 = ingest_paths(store, [tmp_path / "in"], workers=1, retry_rejected=True)
    assert s3.rejected == 1


def test_memo_needs_every_member_in_the_ledger(tmp_path):
    store = Store(tmp_path / "store")
    z = tmp_path / "x.zip"
    _zip(z, {"a.csv": "x"})
    memo = ZipMemo(store)
    assert memo.remember(str(z), z.stat(), status="expanded", members=[f"{z}!a.csv"]) is False
    assert memo.lookup(str(z), z.stat()) is None
    assert memo.remember(str(z), z.stat(), status="rejected") is True
    assert memo.lookup(str(z), z.stat()) == ("rejected", 0, 0)


def test_a_run_stopped_before_the_members_were_ledgered_extracts_again(tmp_path, no_extract, monkeypatch):
    z = tmp_path / "in" / "a" / "export.zip"
    _zip(z, {k: v for k, v in GOOD.items() if "bad" not in k})
    store = Store(tmp_path / "store")

    def boom(*a, **k):
        raise KeyboardInterrupt  # the run stops after extracting, before any member is ledgered

    monkeypatch.setattr(ingest_mod, "_commit", boom)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(store, [tmp_path / "in"], workers=1)
    monkeypatch.undo()
    calls = []
    real = ingest_mod.extract_zip
    monkeypatch.setattr(ingest_mod, "extract_zip", lambda *a, **k: calls.append(1) or real(*a, **k))
    s = ingest_paths(store, [tmp_path / "in"], workers=1)
    assert calls == [1] and s.ingested == 2
    assert store.ledger().filter(pl.col("status") == "ingested").height == 2
