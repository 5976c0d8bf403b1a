"""Issue 13, items 1, 2, 6 and 7: no input, copy or athlete folder can lose or overwrite stored data.

* byte-identical copies of an export, with a run stopped in between, never
  leave the content ledgered as ``duplicate`` of a copy that is not stored;
* a file in ``inputs/mallory/`` whose ``athlete_id`` says ``alice`` is refused
  (unless the roster maps it) and a later file never silently clears a red flag;
* a symbolic link loop, an unreadable file or folder, an athlete id too long
  for a file name and an oversize input are per-file outcomes; the run goes on.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from pipelines import ingest as ingest_mod
from pipelines.ingest import ingest_paths
from pipelines.store import LedgerEntry, Store, file_sha256

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "inputs"
CANONICAL = ("sessions", "sleep", "wellness")


def _team(root: Path, athletes=("carla", "ivo")) -> Path:
    """Input folder with the athletes' files and a byte-identical copy of each under ``drop2/``."""
    inputs = root / "in"
    for a in athletes:
        shutil.copytree(SAMPLE / a, inputs / a)
        shutil.copytree(SAMPLE / a, inputs / a / "drop2")  # a re-sent export, byte for byte
    return inputs


def _tables(st: Store) -> dict[str, pl.DataFrame]:
    return {t: st.read_table(t).drop("source_file").sort(pl.all()) for t in CANONICAL}


def _assert_ledger_consistent(st: Store) -> None:
    """Every ``duplicate`` row names a copy with an earlier ``ingested`` row of the same content."""
    led = st.ledger().with_row_index("id")
    ingested = led.filter(pl.col("status") == "ingested")
    for r in led.filter(pl.col("status") == "duplicate").iter_rows(named=True):
        before = ingested.filter((pl.col("sha256") == r["sha256"]) & (pl.col("id") < r["id"]))
        assert before.height, f"{r['path']} is a duplicate of a copy that is not stored: {r['error']}"


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[str, pl.DataFrame]:
    root = tmp_path_factory.mktemp("ref")
    st = Store(root / "s")
    s = ingest_paths(st, [_team(root)], workers=1)
    assert s.rejected == 0 and s.duplicate == s.ingested, s
    _assert_ledger_consistent(st)
    return _tables(st)


@pytest.mark.parametrize("kill_at", [1, 2, 3])
def test_interrupted_ingest_with_identical_copies_loses_nothing(tmp_path, reference, monkeypatch, kill_at) -> None:
    """Item 1: stop ingest at the k-th store write (Ctrl-C), run again: every row is there."""
    inputs = _team(tmp_path)
    st = Store(tmp_path / "s")
    calls = {"n": 0}
    real = Store.upsert

    def flaky(self, table, df, **kw):
        calls["n"] += 1
        if calls["n"] == kill_at:
            raise KeyboardInterrupt
        return real(self, table, df, **kw)

    monkeypatch.setattr(Store, "upsert", flaky)
    with pytest.raises(KeyboardInterrupt):
        ingest_paths(st, [inputs], workers=1, batch_files=1)
    monkeypatch.setattr(Store, "upsert", real)
    _assert_ledger_consistent(st)
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 0
    _assert_ledger_consistent(st)
    got = _tables(st)
    for t in CANONICAL:
        assert_frame_equal(got[t], reference[t])
    assert {"carla", "ivo"} <= set(st.all_athletes())


def test_ledger_left_by_the_old_bug_is_repaired(tmp_path, reference) -> None:
    """Item 1: both copies ledgered as ``duplicate`` of each other, nothing stored: the rerun reads them."""
    inputs = _team(tmp_path, athletes=("carla",))
    st = Store(tmp_path / "s")
    entries = []
    for f in sorted((inputs / "carla").glob("*.csv")):
        copy = inputs / "carla" / "drop2" / f.name
        sha = file_sha256(f)
        entries += [
            LedgerEntry(
                path=str(copy),
                size_bytes=f.stat().st_size,
                sha256=sha,
                format=None,
                athlete_id="carla",
                status="duplicate",
                error=f"same content as {f}",
            ),
            LedgerEntry(
                path=str(f),
                size_bytes=f.stat().st_size,
                sha256=sha,
                format=None,
                athlete_id="carla",
                status="duplicate",
                error=f"same content as {copy}",
            ),
        ]
    st.ledger_add(entries)
    s = ingest_paths(st, [inputs], workers=1)
    assert s.ingested == 3 and s.rejected == 0, s
    assert "carla" in st.all_athletes()
    got = st.read_table("sessions").filter(pl.col("athlete_id") == "carla").drop("source_file").sort(pl.all())
    assert_frame_equal(got, reference["sessions"].filter(pl.col("athlete_id") == "carla"))
    # and the next run sees everything as stored
    s2 = ingest_paths(st, [inputs], workers=1)
    assert s2.ingested == 0 and s2.unchanged == 6, s2


def test_copy_of_a_rejected_file_is_rejected_too(tmp_path) -> None:
    """A byte-identical copy of a file that is rejected is not a ``duplicate`` of stored data."""
    inputs = tmp_path / "in"
    (inputs / "carla" / "drop2").mkdir(parents=True)
    bad = b"athlete_id,date,resting_hr\ncarla,2026-05-18,900\n"  # resting HR 900 bpm: implausible
    (inputs / "carla" / "a.csv").write_bytes(bad)
    (inputs / "carla" / "drop2" / "a.csv").write_bytes(bad)
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 2 and s.duplicate == 0, s
    led = st.ledger()
    assert led["status"].to_list() == ["rejected", "rejected"]
    assert "same content as" in led["error"][1]


# ------------------------------------------------------------------ item 2
def _wellness_csv(path: Path, athlete: str, pain: int, red_flag: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "athlete_id,date,resting_hr,hrv_rmssd_ms,back_pain_0_10,red_flag\n"
        f"{athlete},2026-06-01,50,60.0,{pain},{red_flag}\n"
    )


def test_file_in_another_athletes_folder_is_refused(tmp_path) -> None:
    """Item 2: ``in/mallory/x.csv`` saying ``alice`` must not replace alice's rows."""
    inputs = tmp_path / "in"
    _wellness_csv(inputs / "alice" / "w.csv", "alice", 8, "true")
    st = Store(tmp_path / "s")
    assert ingest_paths(st, [inputs], workers=1).ingested == 1
    _wellness_csv(inputs / "mallory" / "w.csv", "alice", 0, "false")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 1 and s.ingested == 0
    err = s.problems[0]
    assert str(inputs / "mallory" / "w.csv") in err and "line 2" in err and "'alice'" in err and "'mallory'" in err
    row = st.read_table("wellness").row(0, named=True)
    assert row["back_pain_0_10"] == 8 and row["red_flag"] is True
    led = st.ledger().filter(pl.col("status") == "rejected")
    assert led.height == 1 and "differs from the athlete of its folder" in led["error"][0]


def test_roster_alias_maps_the_folder_athlete(tmp_path) -> None:
    """Item 2: an id the roster lists as an alias of the folder's athlete is stored as that athlete."""
    inputs = tmp_path / "in"
    _wellness_csv(inputs / "alice" / "w.csv", "alice.s", 3, "false")
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1, aliases={"alice.s": "alice"})
    assert s.ingested == 1 and s.rejected == 0
    assert st.all_athletes() == ["alice"]
    assert "aliases" in st.ledger()["warnings"][0]


def test_later_file_never_silently_clears_a_red_flag(tmp_path) -> None:
    """Item 2: a newer export without the flag keeps it; an explicit "false" clears it; both are noted."""
    inputs = tmp_path / "in"
    _wellness_csv(inputs / "alice" / "a.csv", "alice", 8, "true")
    st = Store(tmp_path / "s")
    ingest_paths(st, [inputs], workers=1)
    _wellness_csv(inputs / "alice" / "b.csv", "alice", 2, "")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.ingested == 1
    row = st.read_table("wellness").row(0, named=True)
    assert row["red_flag"] is True and row["back_pain_0_10"] == 2  # the newer values win, the flag stays
    note = st.ledger()["warnings"][-1]
    assert "red flag of alice on 2026-06-01 kept" in note and "a.csv" in note
    assert any("red flag" in n for n in s.notes)
    _wellness_csv(inputs / "alice" / "c.csv", "alice", 1, "false")  # a correction, said explicitly
    s = ingest_paths(st, [inputs], workers=1)
    assert st.read_table("wellness").row(0, named=True)["red_flag"] is False
    assert "red flag of alice on 2026-06-01 CLEARED" in st.ledger()["warnings"][-1]
    assert any("CLEARED" in n for n in s.notes)


# ------------------------------------------------------------------ items 6 and 7
def test_symlink_loop_unreadable_and_oversize_files_are_rejections(tmp_path, monkeypatch) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLE / "carla", inputs / "carla")
    (inputs / "dev").mkdir()
    os.symlink("loop", inputs / "dev" / "loop")  # a link to itself
    big = inputs / "eli" / "notes.csv"
    big.parent.mkdir()
    big.write_bytes(
        b"athlete_id,date,resting_hr,hrv_rmssd_ms\n"
        + b"".join(
            b"eli,%d-%02d-%02d,50,60.0\n" % (y, m, d)
            for y in range(2020, 2027)
            for m in range(1, 13)
            for d in range(1, 29)
        )
    )
    locked = inputs / "fay" / "wellness.csv"
    locked.parent.mkdir()
    locked.write_text("athlete_id,date,resting_hr,hrv_rmssd_ms\nfay,2026-06-01,50,60.0\n")
    real_sha = ingest_mod.HashCache.hashes

    def unreadable(self, paths, **kw):  # root reads a chmod-000 file: stand in for EACCES
        paths = list(paths)
        if any(str(p) == str(locked) for p in paths):
            raise PermissionError(13, "Permission denied", str(locked))
        return real_sha(self, paths, **kw)

    monkeypatch.setattr(ingest_mod.HashCache, "hashes", unreadable)
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1, max_file_bytes=20_000)
    assert s.ingested == 3 and s.rejected == 3, s
    errs = "\n".join(s.problems)
    assert f"{inputs / 'dev' / 'loop'}: byte 0: cannot be read: Too many levels of symbolic links" in errs
    assert f"{locked}: byte 0: cannot be read: Permission denied" in errs
    assert f"{big}: byte 20000: {big.stat().st_size} bytes, over the size limit" in errs
    assert st.all_athletes() == ["carla"]
    # rejected once, then skipped until it changes
    s2 = ingest_paths(st, [inputs], workers=1, max_file_bytes=20_000)
    assert s2.rejected == 0 and s2.previously_rejected == 3, s2
    # the limit is a setting: raised, the file goes in
    s3 = ingest_paths(st, [inputs], workers=1, max_file_bytes=10_000_000, retry_rejected=True)
    assert "eli" in st.all_athletes() and s3.rejected == 2


def test_unreadable_sub_folder_is_reported(tmp_path, monkeypatch) -> None:
    inputs = tmp_path / "in"
    shutil.copytree(SAMPLE / "carla", inputs / "carla")
    (inputs / "gus" / "private").mkdir(parents=True)
    real = os.scandir

    def scandir(path="."):
        if str(path).endswith("private"):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.ingested == 3 and s.rejected == 1
    assert s.problems[0].startswith(f"{inputs / 'gus' / 'private'}: byte 0: folder cannot be read (Permission denied)")


@pytest.mark.parametrize("athlete", ["a" * 300, "运动员" * 40, "x" * 246])
def test_athlete_id_too_long_for_a_file_name(tmp_path, athlete) -> None:
    """Item 6: ids whose encoded name passes 255 bytes get a hashed partition name and round-trip."""
    inputs = tmp_path / "in"
    _wellness_csv(inputs / "x.csv", athlete, 1, "false")
    _wellness_csv(inputs / "y.csv", "carla", 2, "false")
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.ingested == 2 and s.rejected == 0, s.problems
    assert sorted(st.all_athletes()) == sorted([athlete, "carla"])
    p = st.partition_path("wellness", athlete)
    assert len(p.name.encode()) <= 200 and p.exists()
    assert st.read_table("wellness", [athlete])["back_pain_0_10"].to_list() == [1.0]
    # a second id sharing the first 150 characters gets its own file
    assert st.partition_path("wellness", athlete + "b") != p


PMSYS_TEAM = REPO / "tests" / "fixtures" / "vendor" / "pmsys" / "team"


def test_team_export_in_its_grouping_folder_is_read(tmp_path) -> None:
    """Item 2, team exports: ``wellness/soreness.csv`` of a PMSys team export names its players; its folder
    (``wellness``) is part of the export's layout, not an athlete, so the file is read."""
    inputs = tmp_path / "in"
    shutil.copytree(PMSYS_TEAM, inputs)
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 0, s.problems
    assert "wellness" not in st.all_athletes() and st.all_athletes()


def test_team_export_in_a_known_athletes_folder_is_refused(tmp_path) -> None:
    """Item 2, team exports: the same file inside a stored athlete's folder must not write other athletes."""
    inputs = tmp_path / "in"
    _wellness_csv(inputs / "mallory" / "w.csv", "mallory", 1, "false")
    st = Store(tmp_path / "s")
    assert ingest_paths(st, [inputs], workers=1).ingested == 1
    shutil.copy(PMSYS_TEAM / "wellness" / "soreness.csv", inputs / "mallory" / "soreness.csv")
    s = ingest_paths(st, [inputs], workers=1)
    assert s.rejected == 1 and "differs from the athlete of its folder 'mallory'" in s.problems[0]
    assert st.all_athletes() == ["mallory"]
