"""Read speed of the generic CSV connector on a large daily.csv (and sessions.csv).

Usage::

    python benchmarks/generic_csv_read.py [ROWS]   # default 1_000_000

Writes seeded files to a temporary folder and prints rows, MB and seconds for
``connectors.generic_csv.read``. No assertions: figures only.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

# the repository first: benchmarks/features.py must not shadow the features package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import polars as pl

from connectors import generic_csv
from connectors.base import ReadContext


def make_daily(path: Path, rows: int, seed: int = 7) -> None:
    rng = np.random.default_rng(seed)
    athletes = max(1, rows // 1000)
    start = date(2020, 1, 1)
    idx = np.arange(rows)
    pl.DataFrame(
        {
            "athlete_id": [f"ath{a:05d}" for a in idx % athletes],
            "date": [(start + timedelta(days=int(d))).isoformat() for d in idx // athletes],
            "resting_hr": rng.normal(52, 5, rows).round(0),
            "hrv_rmssd_ms": rng.lognormal(4.1, 0.25, rows).round(1),
            "back_pain_0_10": rng.integers(0, 4, rows),
        }
    ).write_csv(path)


def make_sessions(path: Path, rows: int, seed: int = 8) -> None:
    rng = np.random.default_rng(seed)
    athletes = max(1, rows // 1000)
    idx = np.arange(rows)
    base = np.datetime64("2020-01-01T06:00:00")
    starts = (
        base + (idx // athletes).astype("timedelta64[D]") + rng.integers(0, 12 * 3600, rows).astype("timedelta64[s]")
    )
    pl.DataFrame(
        {
            "athlete_id": [f"ath{a:05d}" for a in idx % athletes],
            "start_time": [str(s) + "+01:00" for s in starts],
            "duration_min": rng.integers(20, 120, rows),
            "sport": rng.choice(["running", "cycling", "strength"], rows),
            "avg_hr": rng.integers(100, 170, rows),
            "rpe": rng.integers(1, 10, rows),
            "distance_km": rng.uniform(0, 40, rows).round(2),
        }
    ).write_csv(path)


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as tmp:
        for name, maker in (("daily.csv", make_daily), ("sessions.csv", make_sessions)):
            path = Path(tmp) / name
            maker(path, rows)
            mb = path.stat().st_size / 1e6
            t0 = time.perf_counter()
            res = generic_csv.read(path, ReadContext())
            dt = time.perf_counter() - t0
            n = sum(res.rows().values())
            print(f"{name}: {n} rows, {mb:.1f} MB, read in {dt:.2f} s ({n / dt / 1e6:.2f} M rows/s)")
        # error path: one bad row at the very end, located by line
        path = Path(tmp) / "daily.csv"
        with open(path, "a") as fh:
            fh.write("ath00000,2031-01-01,400,50,1\n")
        t0 = time.perf_counter()
        try:
            generic_csv.read(path, ReadContext())
        except generic_csv.BadRowError as err:
            print(f"bad last row located in {time.perf_counter() - t0:.2f} s: {err}")


if __name__ == "__main__":
    main()
