"""Per-file cost of ingesting many tiny generic CSV files (the nightly-drop case).

Usage::

    python benchmarks/tiny_files_ingest.py [FILES]   # default 3000

Writes FILES one-row generic CSV files (daily, sessions, sleep in turn) for 30
athletes into a temporary folder and prints:

1. the warm per-file read cost of ``connectors.generic_csv.read`` file by file
   versus ``read_many`` on the same files (batches of 64, as ingest reads them);
2. ``pipelines.ingest.ingest_paths`` into a fresh store with the pool forced
   off and forced on (2 workers), and what the automatic policy chose;
3. the split of the in-process run: reading, ``Store.upsert``, ``record_merges``.

No assertions: figures only. On a shared machine compare runs made close in time.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors import generic_csv  # noqa: E402
from connectors.base import ReadContext  # noqa: E402


def make_files(root: Path, n: int, athletes: int = 30) -> list[Path]:
    paths = []
    for k in range(n):
        a = f"ath{k % athletes:03d}"
        d = date(2024, 1, 1) + timedelta(days=(k // (3 * athletes)) % 366)
        (root / a).mkdir(parents=True, exist_ok=True)
        if k % 3 == 0:
            txt = f"athlete_id,date,resting_hr,hrv_rmssd_ms\n{a},{d},{40 + k % 37},{30 + k % 53}\n"
        elif k % 3 == 1:
            txt = (
                "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
                f"{a},{d}T{k % 24:02d}:{k % 60:02d}:00+01:00,{20 + k % 50},running,140,5,8\n"
            )
        else:
            txt = (
                "athlete_id,sleep_start,sleep_end,total_sleep_min\n"
                f"{a},{d}T00:{k % 60:02d}:00+01:00,{d}T07:{k % 60:02d}:00+01:00,{300 + k % 100}\n"
            )
        p = root / a / f"{d}-{k}.csv"
        p.write_text(txt)
        paths.append(p)
    return paths


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    from pipelines import ingest
    from pipelines.store import Store

    with tempfile.TemporaryDirectory(prefix="tinybench-") as tmp:
        root = Path(tmp)
        paths = make_files(root / "in", n)
        items = [(p, ReadContext(athlete_id=p.parent.name, tz="Europe/Berlin")) for p in paths]
        sample = items[: min(n, 300)]
        generic_csv.read_many(sample[:64])  # warm up (programs, imports)
        t0 = time.perf_counter()
        for p, c in sample:
            generic_csv.read(p, c)
        one = (time.perf_counter() - t0) / len(sample)
        t0 = time.perf_counter()
        for i in range(0, len(sample), 64):
            generic_csv.read_many(sample[i : i + 64])
        many = (time.perf_counter() - t0) / len(sample)
        print(
            f"generic_csv, one-row files: read one by one {one * 1e3:.2f} ms/file, "
            f"read_many (64 per batch) {many * 1e3:.2f} ms/file ({one / many:.1f}x)"
        )

        chosen = ingest.pool_workers(os.cpu_count() or 1, n, sum(p.stat().st_size for p in paths))
        for pool in (False, True):
            t0 = time.perf_counter()
            s = ingest.ingest_paths(Store(root / f"store-{pool}"), [root / "in"], workers=2, pool=pool)
            dt = time.perf_counter() - t0
            print(
                f"ingest_paths {n} files, pool {'on (2 workers)' if pool else 'off'}: {dt:.2f} s "
                f"({dt / n * 1e3:.2f} ms/file), ingested {s.ingested}"
            )
        print(
            f"automatic policy (workers=CPU count={os.cpu_count()}): "
            f"{'pool of ' + str(chosen) if chosen > 1 else 'in-process'}"
        )

        acc: dict[str, float] = {}

        def timed(obj, name: str, label: str) -> None:
            f = getattr(obj, name)

            def w(*a, **k):
                t = time.perf_counter()
                try:
                    return f(*a, **k)
                finally:
                    acc[label] = acc.get(label, 0.0) + time.perf_counter() - t

            setattr(obj, name, w)

        timed(ingest, "_read_batch", "reading")
        timed(Store, "upsert", "Store.upsert")
        timed(ingest, "record_merges", "record_merges")
        t0 = time.perf_counter()
        ingest.ingest_paths(Store(root / "store-split"), [root / "in"], workers=1)
        dt = time.perf_counter() - t0
        print(f"in-process run {dt:.2f} s: " + ", ".join(f"{k} {v:.2f} s" for k, v in acc.items()))


if __name__ == "__main__":
    main()
