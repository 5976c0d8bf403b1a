"""Store: upsert on keys, atomic partitions, ledger, writer lock, SIGKILL safety."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from features.schemas import SESSIONS, conform
from pipelines.atomic import atomic_write_bytes
from pipelines.store import LedgerEntry, Store, StoreLockedError


def sessions(athlete: str, starts: list[int], source_file: str = "f.csv", rpe: float = 5.0) -> pl.DataFrame:
    """Sessions starting ``starts`` hours after 2025-01-01T00:00Z, 60 min each."""
    base = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
    return conform(
        pl.DataFrame(
            {
                "athlete_id": [athlete] * len(starts),
                "source": ["generic_csv"] * len(starts),
                "start_utc": [datetime.fromtimestamp(base + 3600 * h, tz=timezone.utc) for h in starts],
                "local_date": [date(2025, 1, 1 + h // 24) for h in starts],
                "sport": ["running"] * len(starts),
                "duration_s": [3600.0] * len(starts),
                "rpe": [rpe] * len(starts),
                "load_au": [rpe * 60] * len(starts),
                "load_method": ["srpe"] * len(starts),
                "source_file": [source_file] * len(starts),
            }
        ),
        SESSIONS,
    )


def test_upsert_dedupes_on_key_and_new_row_wins(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    added = st.upsert("sessions", sessions("alice", [0, 24, 48], "a.csv"))
    assert added == {"a.csv": 3}
    # overlapping export: 48 is the same session (new RPE), 72 is new
    added = st.upsert("sessions", sessions("alice", [48, 72], "b.csv", rpe=7.0))
    assert added == {"b.csv": 1}
    df = st.read_table("sessions").sort("start_utc")
    assert df.height == 4
    assert df["rpe"].to_list() == [5.0, 5.0, 7.0, 7.0]
    assert df["source_file"].to_list() == ["a.csv", "a.csv", "b.csv", "b.csv"]


def test_partitions_per_athlete_and_read_subset(tmp_path: Path) -> None:
    st = Store(tmp_path)
    st.upsert("sessions", pl.concat([sessions("alice", [0]), sessions("bob/../x", [0, 24])]))
    assert st.athletes("sessions") == ["alice", "bob/../x"]
    # an athlete id with path characters stays inside the table folder
    assert all(p.parent == st.table_dir("sessions") for p in st.table_dir("sessions").iterdir())
    assert st.read_table("sessions", athletes=["bob/../x"]).height == 2
    assert st.read_table("sleep").is_empty()
    assert st.read_table("sleep").columns[:3] == ["athlete_id", "source", "start_utc"]


def test_replace_athletes_only_touches_named_athletes(tmp_path: Path) -> None:
    st = Store(tmp_path)
    st.upsert("sessions", pl.concat([sessions("a", [0]), sessions("b", [0])]))
    st.replace_athletes("sessions", sessions("a", [24, 48]))
    df = st.read_table("sessions")
    assert df.filter(pl.col("athlete_id") == "a").height == 2
    assert df.filter(pl.col("athlete_id") == "b").height == 1
    st.replace_athletes("sessions", SESSIONS.empty(), athletes=["a"])
    assert st.athletes("sessions") == ["b"]


def test_ledger_roundtrip(tmp_path: Path) -> None:
    st = Store(tmp_path)
    st.ledger_add(
        [
            LedgerEntry(
                path="x.csv",
                size_bytes=10,
                sha256="ab",
                format="generic_csv_sessions",
                athlete_id="a",
                status="ingested",
                rows_sessions=3,
                warnings=("ignored column 'foo'",),
            ),
            LedgerEntry(
                path="y.fit",
                size_bytes=5,
                sha256="cd",
                format="fit",
                athlete_id="a",
                status="rejected",
                error="y.fit, byte 12: bad CRC",
            ),
        ]
    )
    led = st.ledger()
    assert led["status"].to_list() == ["ingested", "rejected"]
    assert led["error"][1] == "y.fit, byte 12: bad CRC"
    assert st.ledger_by_hash(["cd"])["cd"][0]["path"] == "y.fit"
    full = st.ledger_by_hash(["ab", "cd", "zz"])
    assert set(full) == {"ab", "cd"} and full["ab"][0]["rows_sessions"] == 3 and "id" in full["ab"][0]
    narrow = st.ledger_by_hash(["ab", "cd"], columns=("path", "status"))
    assert narrow == {
        "ab": [{"sha256": "ab", "path": "x.csv", "status": "ingested"}],
        "cd": [{"sha256": "cd", "path": "y.fit", "status": "rejected"}],
    }
    with pytest.raises(ValueError, match="unknown ledger column"):
        st.ledger_by_hash(["ab"], columns=("path; DROP TABLE ledger",))


def test_state_keys(tmp_path: Path) -> None:
    st = Store(tmp_path)
    assert st.get_state("k", "none") == "none"
    st.set_state("k", "1")
    st.set_state("k", "2")
    assert st.get_state("k") == "2"


def test_atomic_write_leaves_no_temp_files(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "x.bin", b"abc")
    atomic_write_bytes(tmp_path / "x.bin", b"def")
    assert (tmp_path / "x.bin").read_bytes() == b"def"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_lock_refuses_second_writer_with_clear_message(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import time
            from pipelines.store import Store
            with Store({str(tmp_path)!r}).lock():
                print("locked", flush=True)
                time.sleep(30)
        """),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(StoreLockedError, match=rf"in use by another strainwatch process \(pid {holder.pid}\)"):
            with Store(tmp_path).lock(timeout_s=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()
    # the lock dies with its holder: no stale lock after SIGKILL
    with Store(tmp_path).lock(timeout_s=2):
        pass


KILL_WRITER = """
import sys
from datetime import date, datetime, timezone
import polars as pl
from features.schemas import SESSIONS, conform
from pipelines.store import Store
st = Store(sys.argv[1])
base = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()
for i in range(10_000):
    n = 200
    df = conform(pl.DataFrame({
        "athlete_id": [f"a{j % 5}" for j in range(n)],
        "source": ["generic_csv"] * n,
        "start_utc": [datetime.fromtimestamp(base + 60 * (i * n + j), tz=timezone.utc) for j in range(n)],
        "local_date": [date(2025, 1, 1)] * n,
        "sport": ["running"] * n, "duration_s": [60.0] * n,
        "source_file": [f"batch{i}"] * n,
    }), SESSIONS)
    with st.lock():
        st.upsert("sessions", df)
    print(i, flush=True)
"""


def test_sigkill_during_writes_leaves_readable_store(tmp_path: Path) -> None:
    """Kill a writer at random moments: every partition stays readable and whole."""
    store_dir = tmp_path / "s"
    script = tmp_path / "w.py"
    script.write_text(KILL_WRITER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    # seconds after the first committed batch; the slow crash test (tests/test_crash_safety.py) kills a
    # whole nightly run at 20 random moments
    delays = [0.05, 0.2, 0.4, 0.6, 0.9]
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(store_dir)], env=env, stdout=subprocess.PIPE, text=True
        )
        proc.stdout.readline()  # at least one batch committed
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        df = Store(store_dir).read_table("sessions")  # must not raise
        # each batch writes 40 rows per athlete partition; partitions are whole files
        per_batch = df.group_by(["athlete_id", "source_file"]).len()
        assert set(per_batch["len"].to_list()) == {40}
    # a later writer runs fine on the same store and clears stale temporary files
    st = Store(store_dir)
    with st.lock(timeout_s=5):
        assert not list(store_dir.rglob("*.tmp"))
        st.upsert("sessions", sessions("a0", [0]))
    assert st.read_table("sessions", athletes=["a0"]).height > 1
