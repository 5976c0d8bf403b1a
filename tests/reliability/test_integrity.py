"""Issue 13, items 3-5: damage is detected on read, confined to its partition, and repairable.

* every partition carries a SHA-256 recorded at write; a flipped bit anywhere
  in the file is detected on read (hypothesis picks the bit), the partition
  is quarantined (moved, recorded, reported by path) and the other athletes
  are read as usual;
* ``verify`` reconciles the ledger's row counts with the partitions and names
  the athlete to rebuild; ``ingest --rebuild`` reads that athlete's inputs
  again and the store is whole;
* a killed writer between the checksum and the rename leaves a partition the
  previous checksum vouches for.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st_
from polars.testing import assert_frame_equal

from pipelines.ingest import ingest_paths
from pipelines.integrity import pending_rebuilds, verify
from pipelines.store import Store, atomic_write_parquet, checksum_path
from tests.budget import examples

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "inputs"
TABLES = ("sessions", "sleep", "wellness")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("integrity")
    inputs = root / "in"
    for a in ("carla", "gus", "ivo"):
        shutil.copytree(SAMPLE / a, inputs / a)
    st = Store(root / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 0
    return root / "s", inputs


def _copy(built, tmp_path) -> tuple[Store, Path]:
    src, inputs = built
    shutil.copytree(src, tmp_path / "s")
    return Store(tmp_path / "s"), inputs


def test_checksum_recorded_at_write(built) -> None:
    st = Store(built[0])
    for t in TABLES:
        for a in st.athletes(t):
            p = st.partition_path(t, a)
            rec = json.loads(checksum_path(p).read_text())
            import hashlib

            assert rec["sha256"] == hashlib.sha256(p.read_bytes()).hexdigest()
            assert rec["rows"] == pl.read_parquet(p).height
    rep = verify(st, quarantine=False)
    assert rep.ok and rep.partitions >= 7 and not rep.unverified, rep


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st_.sampled_from(TABLES), pos=st_.floats(0, 1, exclude_max=True), bit=st_.integers(0, 7))
def test_any_bit_flip_is_detected_on_read(built, tmp_path_factory, table, pos, bit) -> None:
    """Item 3: before, 16-38 % of single-bit flips were read as valid values."""
    tmp = tmp_path_factory.mktemp("flip")
    st, _ = _copy(built, tmp)
    p = st.partition_path(table, "carla")
    data = bytearray(p.read_bytes())
    i = int(pos * len(data))
    data[i] ^= 1 << bit
    p.write_bytes(bytes(data))
    others = st.read_table(table, ["gus"])
    df = st.read_table(table)  # the damaged partition is left out, the others read
    assert "carla" not in df["athlete_id"].to_list()
    assert_frame_equal(df.filter(pl.col("athlete_id") == "gus"), others)
    assert not p.exists()
    (q,) = st.quarantine_log()
    assert q["path"] == str(p) and Path(q["moved_to"]).exists() and "checksum mismatch" in q["reason"]
    assert Path(q["moved_to"]).read_bytes() == bytes(data)  # kept as found, for a post-mortem
    shutil.rmtree(tmp)


def test_a_polars_panic_on_a_damaged_file_is_damage_not_a_crash(built, tmp_path, monkeypatch) -> None:
    """1-3 of 300 random flips in old partitions made polars panic (pyo3 PanicException, a BaseException
    that ``except Exception`` let through, stopping every athlete)."""
    from polars.exceptions import PanicException

    import pipelines.store as store_mod

    st, _ = _copy(built, tmp_path)
    p = st.partition_path("sleep", "carla")
    checksum_path(p).unlink()
    real = store_mod.pl.read_parquet
    damaged = p.read_bytes()

    def panics(src, *a, **k):
        if hasattr(src, "getvalue") and src.getvalue() == damaged:
            raise PanicException("range end index 6634 out of range for slice of length 5284")
        return real(src, *a, **k)

    monkeypatch.setattr(store_mod.pl, "read_parquet", panics)
    df = st.read_table("sleep")
    assert "carla" not in set(df["athlete_id"]) and "gus" in set(df["athlete_id"])
    assert "PanicException" in st.quarantine_log()[0]["reason"]


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(table=st_.sampled_from(TABLES), pos=st_.floats(0, 1, exclude_max=True), bit=st_.integers(0, 7))
def test_bit_flip_in_a_partition_without_checksum_never_raises(built, tmp_path_factory, table, pos, bit) -> None:
    """Old partitions (no checksum): a flip may go unseen, but reading never crashes; polars' Rust
    panics on some flipped files (pyo3 PanicException, a BaseException) are caught as damage."""
    tmp = tmp_path_factory.mktemp("flip-legacy")
    st, _ = _copy(built, tmp)
    p = st.partition_path(table, "carla")
    checksum_path(p).unlink()
    data = bytearray(p.read_bytes())
    data[int(pos * len(data))] ^= 1 << bit
    p.write_bytes(bytes(data))
    df = st.read_table(table)
    assert set(df["athlete_id"]) >= {"gus"}
    if not p.exists():
        assert st.quarantine_log()[0]["path"] == str(p)
    shutil.rmtree(tmp)


def test_partition_without_checksum_still_gets_plausibility_on_read(built, tmp_path) -> None:
    """Partitions of older versions carry no checksum: the plausibility limits still apply."""
    st, _ = _copy(built, tmp_path)
    p = st.partition_path("wellness", "carla")
    df = pl.read_parquet(p).with_columns(pl.col("hrv_rmssd_ms").fill_null(55.6))
    df = df.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(-2.3e64).otherwise(pl.col("hrv_rmssd_ms")).alias("hrv_rmssd_ms")
    )
    df.write_parquet(p)
    checksum_path(p).unlink()
    assert st.read_partition("wellness", "carla") is None
    assert "implausible values in hrv_rmssd_ms" in st.quarantine_log()[0]["reason"]


def test_verify_adopts_sound_partitions_without_checksum(built, tmp_path) -> None:
    st, _ = _copy(built, tmp_path)
    p = st.partition_path("sleep", "gus")
    checksum_path(p).unlink()
    rep = verify(st)
    assert rep.unverified == [str(p)] and rep.adopted == 1 and rep.ok
    data = bytearray(p.read_bytes())
    data[len(data) // 3] ^= 0x04
    p.write_bytes(bytes(data))
    assert st.read_partition("sleep", "gus") is None  # now a flip anywhere is caught


def test_killed_between_checksum_and_rename_reads_the_old_file(built, tmp_path, monkeypatch) -> None:
    st, _ = _copy(built, tmp_path)
    p = st.partition_path("sessions", "carla")
    before = st.read_partition("sessions", "carla")
    import os

    def killed(src, dst):
        if str(dst) == str(p):
            raise KeyboardInterrupt  # the rename never happens; the new checksum file is written
        return real(src, dst)

    real = os.replace
    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_parquet(before.head(3), p)
    monkeypatch.setattr(os, "replace", real)
    assert json.loads(checksum_path(p).read_text())["rows"] == 3
    assert_frame_equal(st.read_partition("sessions", "carla"), before)
    assert st.quarantine_log() == []


def test_damaged_sessions_partition_does_not_block_ingest(built, tmp_path) -> None:
    """Item 5: a damaged canonical partition is quarantined, the other athletes' new files go in."""
    st, inputs = _copy(built, tmp_path)
    p = st.partition_path("sessions", "carla")
    p.write_bytes(p.read_bytes()[:100])  # truncated
    (inputs / "gus" / "late.csv").write_text(
        "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
        "gus,2026-11-16T17:00:00+01:00,30,running,150,5,5.0\n"
    )
    (inputs / "carla" / "late.csv").write_text(
        "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
        "carla,2026-11-16T17:00:00+01:00,30,running,150,5,5.0\n"
    )
    try:
        s = ingest_paths(st, [inputs], workers=1)
    finally:
        (inputs / "gus" / "late.csv").unlink()
        (inputs / "carla" / "late.csv").unlink()
    assert s.ingested == 2 and s.rejected == 0
    assert st.read_table("sessions", ["gus"]).height == Store(built[0]).read_table("sessions", ["gus"]).height + 1
    assert st.quarantine_log()[0]["path"] == str(p)


def test_verify_and_rebuild_after_a_partition_is_lost(built, tmp_path) -> None:
    """Item 4: removing a partition used to lose that athlete's history for good ("917 duplicate")."""
    st, inputs = _copy(built, tmp_path)
    ref = {t: st.read_table(t) for t in TABLES}
    assert verify(st).ok
    st.partition_path("sleep", "gus").unlink()  # what an operator does with a damaged file
    rep = verify(st)
    assert not rep.ok and len(rep.mismatches) == 1
    n = ref["sleep"].filter(pl.col("athlete_id") == "gus").height
    assert rep.mismatches[0].startswith("gus: the ledger says") and f"({n} missing)" in rep.mismatches[0]
    assert "ingest --rebuild gus" in rep.mismatches[0]
    # a plain ingest does not bring it back (every file is in the ledger) ...
    assert ingest_paths(st, [inputs], workers=1).ingested == 0
    # ... a rebuild does
    s = ingest_paths(st, [inputs], workers=1, rebuild=["gus"])
    assert s.ingested == 3 and s.rejected == 0
    for t in TABLES:
        assert_frame_equal(st.read_table(t), ref[t])
    assert verify(st).ok and pending_rebuilds(st) == []
    assert any(Store(st.root).quarantine_dir.rglob("a-gus.parquet.*"))  # the old partitions are kept


def test_interrupted_rebuild_is_finished_by_the_next_ingest(built, tmp_path, monkeypatch) -> None:
    st, inputs = _copy(built, tmp_path)
    ref = st.read_table("sessions")
    real = Store.upsert

    def boom(self, table, df, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Store, "upsert", boom)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(st, [inputs], workers=1, rebuild=["carla"])
    monkeypatch.setattr(Store, "upsert", real)
    assert pending_rebuilds(st) == ["carla"] and not verify(st).ok
    ingest_paths(st, [inputs], workers=1)
    assert pending_rebuilds(st) == [] and verify(st).ok
    assert_frame_equal(st.read_table("sessions"), ref)


def test_plan_recomputes_athletes_whose_derived_partition_was_quarantined(built, tmp_path) -> None:
    """A quarantined ``features``/``daily``/``scores`` partition makes its athlete start from day one."""
    from datetime import date

    import pipelines.flows as flows
    from pipelines.config import load_config

    st, _ = _copy(built, tmp_path)
    cfg = load_config(None)
    day = date(2026, 11, 15)
    st.set_state(flows.STATE_AS_OF, day.isoformat())
    st.set_state(flows.STATE_PARAMS, flows.params_fingerprint(cfg))
    ids = st.all_athletes()
    for a in ids:  # as if every athlete had been scored on that day
        for t in ("features", "scores"):
            st.write_partition(t, a, pl.DataFrame({"athlete_id": [a], "date": [day]}))
    assert flows.plan_nightly(st, cfg, day, {}, ids) == {}
    p = st.partition_path("features", "gus")
    p.write_bytes(p.read_bytes()[:-3])
    assert st.verify_partitions(parse=False)[0][1] == str(p)
    rebuild, top = flows._derived_quarantined(st, 0)
    assert rebuild == {"gus"} and top == 1
    assert flows.plan_nightly(st, cfg, day, {}, ids) == {}  # scores are there: without the mark, skipped
    assert flows.plan_nightly(st, cfg, day, {}, ids, rebuild) == {"gus": None}
    assert flows._derived_quarantined(st, top) == (set(), top)
