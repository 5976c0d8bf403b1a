"""Issue 13, "rough edges on mistakes": one clear line with the path and what to do, and its own exit code.

The command line is run through ``pipelines.cli.main`` (the console script),
which maps :class:`pipelines.errors.StrainwatchError` and the OS/SQLite errors
it knows once; a traceback anywhere here is a failure.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines import cli
from pipelines.errors import (
    DataDamagedError,
    DiskFullError,
    LedgerCorruptError,
    NoInputFilesError,
    StoreNotADirectoryError,
    StoreReadOnlyError,
    UsageError,
)
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "inputs"


def run_main(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(cli, "_stop_on_interrupt", lambda: None)  # keep pytest's own Ctrl-C
    monkeypatch.setattr(sys, "argv", ["strainwatch", *args])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def one_line(err: str) -> str:
    lines = [x for x in err.strip().splitlines() if x.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def inputs(tmp_path) -> Path:
    p = tmp_path / "in"
    shutil.copytree(SAMPLE / "carla", p / "carla")
    return p


def test_exit_codes_are_distinct() -> None:
    codes = [
        c.exit_code
        for c in (
            UsageError,
            StoreNotADirectoryError,
            StoreReadOnlyError,
            DiskFullError,
            LedgerCorruptError,
            DataDamagedError,
            NoInputFilesError,
        )
    ]
    assert len(set(codes)) == len(codes) and 1 not in codes and 0 not in codes and 3 not in codes


def test_store_path_that_is_a_file(monkeypatch, capsys, tmp_path, inputs) -> None:
    f = tmp_path / "store.txt"
    f.write_text("not a store")
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(f))
    line = one_line(err)
    assert code == 4 and str(f) in line and "is a file, not a folder" in line and "--store" in line
    assert f.read_text() == "not a store"


def test_read_only_store(monkeypatch, capsys, tmp_path, inputs) -> None:
    store = tmp_path / "s"
    store.mkdir()

    def refuse(*a, **k):  # root writes anywhere: stand in for a read-only mount
        raise OSError(errno.EROFS, "Read-only file system", str(store / ".lock"))

    monkeypatch.setattr(Store, "lock", refuse)
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))
    line = one_line(err)
    assert code == 5 and str(store / ".lock") in line and "read-only file system" in line


def test_full_disk_keeps_what_was_stored(monkeypatch, capsys, tmp_path, inputs) -> None:
    store = tmp_path / "s"
    code, _, _ = run_main(
        monkeypatch, capsys, "ingest", str(inputs / "carla" / "sleep.csv"), "--store", str(store), "--athlete", "carla"
    )
    assert code == 0
    before = Store(store).read_table("sleep")
    import pipelines.store as store_mod

    real = store_mod.atomic_write_parquet

    def full(df, path, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(store_mod, "atomic_write_parquet", full)
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))
    line = one_line(err)
    assert code == 6 and "no space left" in line and str(store / "tables") in line and "free some space" in line
    assert Store(store).read_table("sleep").equals(before)
    monkeypatch.setattr(store_mod, "atomic_write_parquet", real)
    code, out, _ = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))
    assert code == 0 and "2 ingested" in out


def test_corrupt_ledger(monkeypatch, capsys, tmp_path, inputs) -> None:
    store = tmp_path / "s"
    store.mkdir()
    (store / "ledger.sqlite").write_bytes(b"this is not SQLite" * 100)
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))
    line = one_line(err)
    assert code == 7 and str(store / "ledger.sqlite") in line and "restore it from a backup" in line
    code, _, err = run_main(monkeypatch, capsys, "run", "--input", str(inputs), "--store", str(store))
    assert code == 7 and str(store / "ledger.sqlite") in one_line(err)


def test_future_as_of(monkeypatch, capsys, tmp_path, inputs) -> None:
    code, _, err = run_main(
        monkeypatch, capsys, "run", "--input", str(inputs), "--store", str(tmp_path / "s"), "--as-of", "2999-01-01"
    )
    line = one_line(err)
    assert code == 2 and "--as-of 2999-01-01 is in the future" in line
    assert not (tmp_path / "s").exists()
    code, _, err = run_main(monkeypatch, capsys, "report", "--store", str(tmp_path / "s"), "--as-of", "2999-01-01")
    assert code == 2 and "in the future" in one_line(err)


def test_unknown_tz(monkeypatch, capsys, tmp_path, inputs) -> None:
    code, _, err = run_main(
        monkeypatch, capsys, "ingest", str(inputs), "--store", str(tmp_path / "s"), "--tz", "Europe/Berlinn"
    )
    line = one_line(err)
    assert code == 2 and "'Europe/Berlinn' is not an IANA time zone" in line and "Europe/Berlin" in line
    assert not (tmp_path / "s").exists()


def test_csv_with_wrong_columns_names_the_closest_format(monkeypatch, capsys, tmp_path) -> None:
    p = tmp_path / "in" / "carla" / "runs.csv"
    p.parent.mkdir(parents=True)
    p.write_text("athlete_id,start,minutes,sport,avg_hr\ncarla,2026-06-01T07:00:00Z,30,running,140\n")
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(tmp_path / "in"), "--store", str(tmp_path / "s"))
    assert code == 1
    assert f"{p}, byte 0: unrecognised content" in err
    assert "closest format: generic CSV sessions file" in err and "missing: duration_min, start_time" in err


def test_empty_input_folder(monkeypatch, capsys, tmp_path) -> None:
    (tmp_path / "in" / "carla").mkdir(parents=True)
    (tmp_path / "in" / "carla" / ".DS_Store").write_text("x")
    code, _, err = run_main(monkeypatch, capsys, "ingest", str(tmp_path / "in"), "--store", str(tmp_path / "s"))
    line = one_line(err)
    assert code == 9 and f"no input files in {tmp_path / 'in'}" in line
    code, _, err = run_main(monkeypatch, capsys, "run", "--input", str(tmp_path / "in"), "--store", str(tmp_path / "s"))
    assert code == 9 and "no input files" in one_line(err)


def test_verify_command(monkeypatch, capsys, tmp_path, inputs) -> None:
    store = tmp_path / "s"
    assert run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))[0] == 0
    code, out, _ = run_main(monkeypatch, capsys, "verify", "--store", str(store))
    assert code == 0 and "all sound" in out
    p = Store(store).partition_path("sessions", "carla")
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0x10
    p.write_bytes(bytes(data))
    code, out, err = run_main(monkeypatch, capsys, "verify", "--store", str(store))
    assert code == 8
    assert f"damaged: {p}: checksum mismatch" in out and "ingest --rebuild ATHLETE" in out
    assert "missing: carla: the ledger says" in out and "ingest --rebuild carla" in out
    code, out, _ = run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store), "--rebuild", "carla")
    assert code == 0
    assert run_main(monkeypatch, capsys, "verify", "--store", str(store))[0] == 0


def test_export_of_a_damaged_partition_fails(monkeypatch, capsys, tmp_path, inputs) -> None:
    """Item 3: ``export`` exited 0 on a damaged partition, with wrong values."""
    store = tmp_path / "s"
    shutil.copytree(SAMPLE / "gus", inputs / "gus")
    assert run_main(monkeypatch, capsys, "ingest", str(inputs), "--store", str(store))[0] == 0
    p = Store(store).partition_path("wellness", "carla")
    p.write_bytes(p.read_bytes()[:-20])
    code, out, err = run_main(
        monkeypatch, capsys, "export", "wellness", "--out", str(tmp_path / "w.csv"), "--store", str(store)
    )
    line = one_line(err)
    assert code == 8 and str(p) in line and "NOT in" in line and "--rebuild carla" in line
    assert "gus" in (tmp_path / "w.csv").read_text() and "carla" not in (tmp_path / "w.csv").read_text()


@pytest.mark.slow
def test_ctrl_c_in_run_stops_within_seconds_with_one_line(tmp_path, inputs) -> None:
    env = {
        **os.environ,
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_HOME": str(tmp_path / "ph"),
        "PYTHONPATH": str(REPO),
    }
    shutil.copytree(SAMPLE / "hana", inputs / "hana")
    cmd = [
        sys.executable,
        "-c",
        "from pipelines.cli import main; main()",
        "run",
        "--input",
        str(inputs),
        "--store",
        str(tmp_path / "s"),
        "--as-of",
        "2026-11-15",
        "--dry-run",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    stopped_s = time.monotonic() - t0
    assert proc.returncode == 130, (out, err)
    assert stopped_s < 3.0
    assert one_line(err).startswith("interrupted: stopped; the store keeps its last complete state")
    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr


def test_full_disk_during_a_run_has_its_exit_code(tmp_path, monkeypatch) -> None:
    """Inside the nightly flow the ingest failure is one mapped line and the run's exit code is 6."""
    from pipelines import flows
    from pipelines.config import load_config

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "s" / "tables"))

    monkeypatch.setattr(flows, "ingest_task", full)
    (tmp_path / "in").mkdir()
    cfg = load_config(
        None, overrides={"inputs": {"folders": [str(tmp_path / "in")]}, "store": {"path": str(tmp_path / "s")}}
    )
    summary = flows.RunSummary(flow="nightly", as_of=None, store=str(tmp_path / "s"))
    flows._ingest_into(Store(tmp_path / "s"), cfg, summary)
    assert summary.failed and summary.exit_code == 6
    assert summary.problems == [
        f"ingest: no space left on the device writing {tmp_path / 's' / 'tables'}: free some "
        "space and run again (every partition is written atomically: what was stored "
        "before is intact)"
    ]
