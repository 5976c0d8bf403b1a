"""``strainwatch ingest / ledger / export`` through the console script, on generic CSV files."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from pipelines.store import Store

pytestmark = pytest.mark.skipif(shutil.which("strainwatch") is None, reason="console script not installed")

SESS_HEAD = "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km"
SLEEP_HEAD = "athlete_id,sleep_start,sleep_end,total_sleep_min"
DAILY_HEAD = "athlete_id,date,resting_hr,hrv_rmssd_ms"


def sw(*args: str | Path, check: int | None = 0) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "STRAINWATCH_STORE"}
    proc = subprocess.run(["strainwatch", *map(str, args)], capture_output=True, text=True, env=env, timeout=120)
    if check is not None:
        assert proc.returncode == check, f"rc {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


def sessions_csv(athlete: str, days: range, rpe: int = 5) -> str:
    """One 60-min run at 07:00+01:00 on each day of March 2025 in ``days``."""
    rows = [f"{athlete},2025-03-{d:02d}T07:00:00+01:00,60,running,150,{rpe},10" for d in days]
    return SESS_HEAD + "\n" + "\n".join(rows) + "\n"


def sleep_csv(athlete: str, days: range) -> str:
    """Nights 23:00 -> 07:00 (+01:00) ending on each day of March 2025 in ``days``."""
    rows = [f"{athlete},2025-03-{d - 1:02d}T23:00:00+01:00,2025-03-{d:02d}T07:00:00+01:00,450" for d in days]
    return SLEEP_HEAD + "\n" + "\n".join(rows) + "\n"


def daily_csv(athlete: str, days: range) -> str:
    rows = [f"{athlete},2025-03-{d:02d},{48 + d % 3},{60 + d}" for d in days]
    return DAILY_HEAD + "\n" + "\n".join(rows) + "\n"


def put(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture()
def team(tmp_path: Path) -> Path:
    root = tmp_path / "inputs"
    put(root / "alice" / "sessions.csv", sessions_csv("alice", range(2, 12)))
    put(root / "alice" / "sleep.csv", sleep_csv("alice", range(2, 12)))
    put(root / "alice" / "daily.csv", daily_csv("alice", range(2, 12)))
    put(root / "bob" / "sessions.csv", sessions_csv("bob", range(3, 9), rpe=7))
    return root


def test_ingest_twice_adds_nothing_the_second_time(tmp_path: Path, team: Path) -> None:
    store = tmp_path / "store"
    first = sw("ingest", team, "--store", store, "--workers", "1")
    assert "4 ingested" in first.stdout and "0 rejected" in first.stdout
    # 10 + 6 sessions, 10 nights, 10 days
    assert "rows read: sessions 16, sleep 10, wellness 10; new rows stored: 36" in first.stdout
    st = Store(store)
    ledger1 = st.ledger()
    tables1 = {t: st.read_table(t) for t in ("sessions", "sleep", "wellness")}
    mtimes1 = {p: p.stat().st_mtime_ns for p in st.tables_dir.rglob("*.parquet")}

    second = sw("ingest", team, "--store", store, "--workers", "1")
    assert "0 ingested, 4 unchanged" in second.stdout
    assert "new rows stored: 0" in second.stdout
    ledger2 = st.ledger()
    assert ledger2.height == ledger1.height == 4
    assert ledger2.drop("ingested_at").equals(ledger1.drop("ingested_at"))
    assert ledger2["status"].to_list() == ["ingested"] * 4
    for t, df in tables1.items():
        assert st.read_table(t).equals(df), t
    assert {p: p.stat().st_mtime_ns for p in st.tables_dir.rglob("*.parquet")} == mtimes1


def test_overlapping_exports_yield_each_session_and_night_once(tmp_path: Path) -> None:
    root = tmp_path / "inputs"
    # export 1: March 2-11; export 2: March 7-16 (re-exported later, overlapping 7-11)
    put(root / "alice" / "export1" / "sessions.csv", sessions_csv("alice", range(2, 12)))
    put(root / "alice" / "export2" / "sessions.csv", sessions_csv("alice", range(7, 17)))
    put(root / "alice" / "export1" / "sleep.csv", sleep_csv("alice", range(2, 12)))
    put(root / "alice" / "export2" / "sleep.csv", sleep_csv("alice", range(7, 17)))
    store = tmp_path / "store"
    out = sw("ingest", root, "--store", store, "--workers", "1")
    # read 10 + 10 of each; stored 15 distinct sessions (March 2-16) and 15 nights
    assert "rows read: sessions 20, sleep 20, wellness 0; new rows stored: 30" in out.stdout
    sw("export", "sessions", "--store", store, "--out", tmp_path / "s.csv")
    sw("export", "sleep", "--store", store, "--out", tmp_path / "n.csv")
    s = pl.read_csv(tmp_path / "s.csv")
    n = pl.read_csv(tmp_path / "n.csv")
    assert s.height == 15 and s["start_utc"].n_unique() == 15
    assert s["local_date"].to_list() == [date(2025, 3, d).isoformat() for d in range(2, 17)]
    assert n.height == 15 and n["wake_date"].to_list() == [date(2025, 3, d).isoformat() for d in range(2, 17)]
    ledger = Store(store).ledger()
    assert sorted(ledger["rows_added"].to_list()) == [5, 5, 10, 10]


def test_broken_file_is_rejected_others_ingested_and_ledger_says_why(tmp_path: Path, team: Path) -> None:
    bad = put(
        team / "bob" / "sleep.csv",
        SLEEP_HEAD + "\nbob,2025-03-01T23:00:00+01:00,2025-03-02T07:00:00+01:00,450\n"
        "bob,2025-03-03T07:00:00+01:00,2025-03-02T23:00:00+01:00,450\n",
    )
    junk = team / "bob" / "notes.bin"
    junk.write_bytes(b"\x00\x01garbage\xff")
    before = {p: p.read_bytes() for p in (bad, junk)}
    store = tmp_path / "store"
    proc = sw("ingest", team, "--store", store, "--workers", "1", check=1)
    assert "4 ingested" in proc.stdout and "2 rejected" in proc.stdout
    assert f"{bad}, line 3, column 'sleep_end'" in proc.stderr
    assert Store(store).read_table("sessions").height == 16  # every other file made it
    assert {p: p.read_bytes() for p in (bad, junk)} == before  # inputs untouched

    led = sw("ledger", "--store", store)
    lines = led.stdout.splitlines()
    i = next(k for k, ln in enumerate(lines) if ln.startswith("rejected") and ln.endswith(str(bad)))
    assert "line 3" in lines[i + 1] and "sleep_end" in lines[i + 1] and "not after sleep_start" in lines[i + 1]
    j = next(k for k, ln in enumerate(lines) if ln.startswith("rejected") and ln.endswith(str(junk)))
    assert "unrecognised content" in lines[j + 1]
    assert "total: ingested 4, rejected 2" in led.stdout
    only = sw("ledger", "--store", store, "--status", "rejected")
    assert only.stdout.count("\nrejected") + only.stdout.startswith("rejected") == 2

    # fixed file at the same path: read again on the next run, exit code back to 0
    bad.write_text(SLEEP_HEAD + "\nbob,2025-03-01T23:00:00+01:00,2025-03-02T07:00:00+01:00,450\n")
    junk.unlink()
    again = sw("ingest", team, "--store", store, "--workers", "1")
    assert "1 ingested" in again.stdout


def test_skip_policy_counts_bad_rows_in_ledger(tmp_path: Path) -> None:
    root = tmp_path / "inputs"
    text = sessions_csv("alice", range(2, 6)).replace(
        "2025-03-03T07:00:00+01:00,60,running,150", "2025-03-03T07:00:00+01:00,60,running,400"
    )
    put(root / "alice" / "sessions.csv", text)
    store = tmp_path / "store"
    sw("ingest", root, "--store", store, "--workers", "1", check=1)  # default: reject
    out = sw("ingest", root, "--store", store, "--workers", "1", "--on-bad-row", "skip", "--retry-rejected")
    assert "bad rows skipped: 1" in out.stdout
    ledger = Store(store).ledger()
    assert ledger["status"].to_list() == ["rejected", "ingested"]
    assert ledger["skipped_rows"].to_list()[-1] == 1 and ledger["rows_sessions"].to_list()[-1] == 3
    led = sw("ledger", "--store", store).stdout
    assert "skipped rows 1" in led and "line 3" in led


def test_export_sessions_writes_the_rows(tmp_path: Path) -> None:
    root = tmp_path / "inputs"
    put(
        root / "alice" / "sessions.csv",
        SESS_HEAD + ",load\nalice,2025-03-02T07:00:00+01:00,45,Running,150,6,10.5,\n"
        "alice,2025-03-02T18:30:00-05:00,30,strength,,,,200\n",
    )
    store = tmp_path / "store"
    sw("ingest", root, "--store", store, "--workers", "1")
    out = tmp_path / "out" / "x.csv"
    proc = sw("export", "sessions", "--store", store, "--out", out)
    assert "wrote 2 rows" in proc.stdout
    df = pl.read_csv(out, infer_schema=False)
    assert df["start_utc"].to_list() == ["2025-03-02T06:00:00Z", "2025-03-02T23:30:00Z"]
    assert df["local_date"].to_list() == ["2025-03-02", "2025-03-02"]  # 18:30 in New York is still the 2nd
    assert df["sport"].to_list() == ["running", "strength"]
    assert [float(x) for x in df["duration_s"]] == [2700.0, 1800.0]
    assert [float(x) for x in df["load_au"]] == [270.0, 200.0]  # 6 x 45 min; manual load
    assert df["load_method"].to_list() == ["srpe", "manual"]
    assert df["source_file"].to_list() == [str(root / "alice" / "sessions.csv")] * 2


def test_bundled_generic_sample_ingests_cleanly(tmp_path: Path, sample_data_dir: Path) -> None:
    src = sample_data_dir / "generic"
    if not src.is_dir():
        pytest.skip("sample_data/generic not generated")
    store = tmp_path / "store"
    out = sw("ingest", src, "--store", store, "--workers", "1")
    assert "9 ingested" in out.stdout and "0 rejected" in out.stdout
    st = Store(store)
    assert st.all_athletes() == ["amy", "raj", "sol"]
    s = st.read_table("sessions")
    assert s["load_method"].unique().to_list() == ["srpe"]
    # the DST change (2025-03-30 in Berlin) is in the sample: offsets 3600 before, 7200 after
    amy = s.filter(pl.col("athlete_id") == "amy")
    assert set(amy.filter(pl.col("local_date") < date(2025, 3, 30))["local_offset_s"].to_list()) == {3600}
    assert set(amy.filter(pl.col("local_date") > date(2025, 3, 30))["local_offset_s"].to_list()) == {7200}


def test_a_file_named_twice_is_read_once_and_not_a_duplicate_of_itself(tmp_path: Path, team: Path) -> None:
    store = tmp_path / "store"
    f = team / "bob" / "sessions.csv"
    out = sw("ingest", f, f, team, "--store", store, "--workers", "1")
    assert "4 seen, 4 ingested" in out.stdout and "0 duplicate" in out.stdout
    ledger = Store(store).ledger()
    assert ledger.height == 4 and ledger["status"].to_list() == ["ingested"] * 4
