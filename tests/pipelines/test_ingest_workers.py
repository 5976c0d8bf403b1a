"""Worker policy of ingest_paths: a process pool only when the reading it saves exceeds its start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.ingest import POOL_START_S, READ_S_PER_FILE, READ_S_PER_MB, ingest_paths, pool_workers, read_merges
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]


def test_pool_only_when_it_pays() -> None:
    # 87 one-row CSVs: 87 * 1.5 ms = 0.13 s of reading; 2 workers would save 0.07 s < 1 s start-up
    assert pool_workers(2, 87, 87 * 150) == 1
    # 1000 of them: 1.5 s, half saved = 0.75 s < 1 s; 32000 (a year of drops): 48 s, 24 s saved
    assert pool_workers(2, 1000, 1000 * 150) == 1
    assert pool_workers(2, 32_000, 32_000 * 150) == 2
    # FIT: 195 files / 25 MB = 0.29 + 0.75 = 1.04 s -> 0.52 s saved: in-process
    assert pool_workers(2, 195, 25_000_000) == 1
    # 351 files / 50 MB = 0.53 + 1.5 = 2.03 s -> 1.01 s saved: pool
    assert pool_workers(2, 351, 50_000_000) == 2
    # never more processes than files or than allowed; 1 worker is in-process
    assert pool_workers(8, 3, 10**10) == 3
    assert pool_workers(1, 10**6, 10**12) == 1
    assert pool_workers(4, 1, 10**12) == 1


def test_break_even_is_where_the_saving_equals_the_start_up() -> None:
    w = 2
    n = int(POOL_START_S / (1 - 1 / w) / READ_S_PER_FILE)  # files of 0 bytes at break-even
    assert pool_workers(w, n - 1, 0) == 1 and pool_workers(w, n + 1, 0) == 2
    mb = POOL_START_S / (1 - 1 / w) / READ_S_PER_MB  # one file of this size at break-even
    assert pool_workers(w, 2, int((mb - 1) * 1e6)) == 1
    assert pool_workers(w, 2, int((mb + 1) * 1e6)) == 2


def test_forced_choice_wins() -> None:
    assert pool_workers(2, 3, 10, pool=True) == 2
    assert pool_workers(2, 10**6, 10**12, pool=False) == 1
    assert pool_workers(1, 10, 10, pool=True) == 1


def _tiny_inputs(root: Path, athletes: int = 3) -> Path:
    for i in range(athletes):
        d = root / f"ath{i}"
        d.mkdir(parents=True)
        (d / "daily.csv").write_text(f"athlete_id,date,resting_hr,hrv_rmssd_ms\nath{i},2025-03-0{i + 1},5{i},6{i}\n")
        (d / "sessions.csv").write_text(
            "start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
            f"2025-03-0{i + 1}T07:00:00+01:00,4{i},running,140,5,8\n"
        )
    return root


def _tables(store: Store) -> dict[str, list]:
    return {t: sorted(store.read_table(t).drop("source_file").rows()) for t in ("sessions", "sleep", "wellness")}


@pytest.mark.parametrize("pool", [True, False])
def test_pool_and_in_process_store_the_same(tmp_path: Path, pool: bool) -> None:
    inputs = _tiny_inputs(tmp_path / "in")
    ref = Store(tmp_path / "ref")
    ingest_paths(ref, [inputs], workers=1)
    st = Store(tmp_path / "s")
    s = ingest_paths(st, [inputs], workers=2, pool=pool)
    assert (s.ingested, s.rejected) == (6, 0)
    assert _tables(st) == _tables(ref)
    assert read_merges(st).height == 0


def test_forced_pool_that_cannot_start_falls_back_in_process(tmp_path: Path) -> None:
    """A main module read from stdin cannot be imported by spawned workers: the files are read in-process."""
    inputs = _tiny_inputs(tmp_path / "in", athletes=2)
    script = (
        "from pipelines.ingest import ingest_paths\n"
        "from pipelines.store import Store\n"
        f"s = ingest_paths(Store({str(tmp_path / 's')!r}), [{str(inputs)!r}], workers=2, pool=True)\n"
        "print('RESULT', s.ingested, s.rejected)\n"
    )
    out = subprocess.run(
        [sys.executable, "-"],
        input=script,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "RESULT 4 0" in out.stdout
