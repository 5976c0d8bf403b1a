"""Feature-stage speed and memory: polars vs the straightforward pandas implementation.

Generates 1,000 athletes x 5 years of DAILY rows (1.83 M rows; loads with rest
days, physiology and sleep missing on a quarter of the days, back pain on half),
then times in the same run:

* ``features.compute.compute_features`` (the full FEATURES set: contract + extras),
* the independent pandas implementation ``tests/features/pandas_reference.py``,
* an incremental update after one new day (``update_features``),
* optionally the rule scorer on the last days (``--score-days``),

and prints wall and CPU seconds, the ratio, the peak resident memory
(sampled with psutil every 5 ms, and the process high-water mark) and the
largest absolute difference between the two implementations.

Usage::

    python benchmarks/features.py                      # 1000 athletes x 5 years
    python benchmarks/features.py --athletes 200 --years 2 --repeat 1

Targets (issue 5): full feature set < 2 s, >= 1.5x faster than pandas, < 2 GB.
The machine is shared; the load average is printed so that figures can be judged.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402
import psutil  # noqa: E402

from features.compute import compute_features, first_changed_dates, update_features  # noqa: E402
from features.schemas import FEATURES  # noqa: E402
from tests.features.daily_synth import random_daily  # noqa: E402
from tests.features.pandas_reference import reference_features  # noqa: E402

PROC = psutil.Process()


@contextmanager
def measure(label: str, results: dict):
    """Wall and CPU seconds and the peak RSS [MB] while the block runs."""
    peak = [PROC.memory_info().rss]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], PROC.memory_info().rss)
            time.sleep(0.005)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    w0, c0 = time.perf_counter(), time.process_time()
    try:
        yield
    finally:
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        stop.set()
        th.join()
        results.setdefault(label, []).append((wall, cpu, peak[0] / 2**20))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--athletes", type=int, default=1000)
    ap.add_argument("--years", type=float, default=5.0)
    ap.add_argument("--repeat", type=int, default=3, help="polars runs (the best is reported too)")
    ap.add_argument("--no-pandas", action="store_true")
    ap.add_argument("--score-days", type=int, default=0, help="also run the rule scorer on the last N days")
    args = ap.parse_args()

    days = int(round(args.years * 365.25))
    print(
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; polars {pl.__version__}, "
        f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'default')}"
    )
    t = time.perf_counter()
    daily = random_daily(args.athletes, days, seed=1, ragged=False, p_null_load=0.0)
    as_of = daily["date"].max()
    print(
        f"DAILY: {daily.height:,} rows ({args.athletes} athletes x {days} days), generated in "
        f"{time.perf_counter() - t:.1f} s; RSS {PROC.memory_info().rss / 2**20:,.0f} MB"
    )

    res: dict[str, list] = {}
    feats = None
    for _ in range(args.repeat):
        feats = None
        with measure("polars", res):
            feats = compute_features(daily, as_of=as_of)
    assert feats is not None and feats.height == daily.height
    # incremental: yesterday's features + today's row
    prev = feats.filter(pl.col("date") < as_of)
    old = daily.filter(pl.col("date") < as_of)
    with measure("incremental", res):
        since = first_changed_dates(daily, old)
        inc = update_features(daily, prev, as_of=as_of, since=since)
    assert inc.height == feats.height

    if not args.no_pandas:
        pdf = daily.to_pandas()
        with measure("pandas", res):
            ref = reference_features(pdf, as_of)
        ref_pl = pl.from_pandas(ref)
        worst = 0.0
        for c, dt in FEATURES.columns.items():
            if dt == pl.Float64():
                diff = (feats[c] - ref_pl[c].cast(pl.Float64)).abs().max()
                worst = max(worst, diff or 0.0)
        res["_maxdiff"] = worst

    if args.score_days:
        try:
            from models.rules import score_features
        except ImportError:
            print("scores: models.rules.score_features not available")
        else:
            start = as_of - timedelta(days=args.score_days - 1)
            with measure("scores", res):
                scores = score_features(feats, as_of=as_of, start=start)
            print(f"scores: {scores.height:,} athlete-days")

    print()
    print(f"{'step':<12} {'wall s':>8} {'best s':>8} {'cpu s':>8} {'peak RSS MB':>12}")
    for label in ("polars", "incremental", "pandas", "scores"):
        if label not in res:
            continue
        runs = res[label]
        wall = runs[0][0]
        best = min(r[0] for r in runs)
        cpu = min(r[1] for r in runs)
        peak = max(r[2] for r in runs)
        print(f"{label:<12} {wall:>8.2f} {best:>8.2f} {cpu:>8.2f} {peak:>12,.0f}")
    if "pandas" in res:
        p_best = min(r[0] for r in res["polars"])
        p_cpu = min(r[1] for r in res["polars"])
        print(
            f"\npandas / polars (best wall): {res['pandas'][0][0] / p_best:.2f}x; "
            f"(CPU seconds): {res['pandas'][0][1] / p_cpu:.2f}x; "
            f"max abs difference over all float columns: {res['_maxdiff']:.3g}"
        )
    print(f"process high-water mark (ru_maxrss): {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")


if __name__ == "__main__":
    main()
