"""Cross-source merge speed: ``features.merge.merge_duplicate_sessions`` on a synthetic team.

Each athlete has ``--workouts`` workouts, each recorded by the watch (fit) and
copied to Strava and Apple Health with a few seconds of start jitter, plus 20 %
single-source sessions. Prints rows in/out, merge-log rows and wall time.

Usage::

    python benchmarks/merge_sessions.py --athletes 30 --workouts 1000
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from features.merge import merge_duplicate_sessions  # noqa: E402
from features.schemas import SESSIONS, conform  # noqa: E402


def team(n_athletes: int, n_workouts: int, seed: int = 1) -> pl.DataFrame:
    rnd = random.Random(seed)
    t0 = datetime(2022, 1, 1, 6, tzinfo=timezone.utc)
    rows = {"athlete_id": [], "source": [], "start_utc": [], "duration_s": [], "source_file": []}
    for a in range(n_athletes):
        for w in range(n_workouts):
            start = t0 + timedelta(hours=20 * w + rnd.random())
            dur = rnd.uniform(1200, 7200)
            sources = (
                ["fit", "strava_activities", "apple_health"] if rnd.random() < 0.8 else [rnd.choice(["fit", "whoop"])]
            )
            for s in sources:
                rows["athlete_id"].append(f"a{a:03d}")
                rows["source"].append(s)
                rows["start_utc"].append(start + timedelta(seconds=rnd.randint(-40, 40) if s != "fit" else 0))
                rows["duration_s"].append(dur * rnd.uniform(0.98, 1.02))
                rows["source_file"].append(f"{s}.x")
    return conform(pl.DataFrame(rows), SESSIONS).unique(subset=list(SESSIONS.key))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--athletes", type=int, default=30)
    ap.add_argument("--workouts", type=int, default=1000)
    args = ap.parse_args()
    df = team(args.athletes, args.workouts)
    t = time.perf_counter()
    kept, log = merge_duplicate_sessions(df)
    dt = time.perf_counter() - t
    print(
        f"{df.height} session rows -> {kept.height} kept, {log.height} merged in {dt:.2f} s "
        f"({df.height / dt / 1000:.0f} k rows/s)"
    )


if __name__ == "__main__":
    main()
