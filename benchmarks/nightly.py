"""Nightly pipeline benchmark: full first run, then an incremental night.

A 30-athlete team with one year of history in the generic CSV format
(``tests/pipelines/teamgen.py``: 3 history files per athlete), run with
``strainwatch run`` as a user would (a fresh process each time, ephemeral
Prefect server, ``PREFECT_HOME`` inside the store). Then each athlete drops
the files of one new day and ``strainwatch run`` runs the next night.

Printed for each run: process wall time (including Python and Prefect
start-up), the time spent inside strainwatch's stage functions (ingest,
features, scores, report, alerts: measured inside the tasks), and the rest,
i.e. interpreter + Prefect start-up and orchestration overhead.

Target (issue 7): the incremental night at most 25 % of the full run and under
30 s wall on 2 cores including Prefect start-up.

Usage::

    python benchmarks/nightly.py [--athletes 30] [--days 365] [--keep DIR] [--dask]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.pipelines import teamgen  # noqa: E402


def run(cfg: Path, as_of: date, out: Path) -> tuple[float, dict]:
    env = {**os.environ, "DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    t0 = time.perf_counter()
    r = subprocess.run(["strainwatch", "run", "--config", str(cfg), "--as-of", as_of.isoformat(),
                        "--summary-json", str(out)], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"strainwatch run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    print(r.stdout.rstrip())
    return wall, json.loads(out.read_text())


def own(summary: dict) -> float:
    return sum(min(s.get("own_s", 0.0), s.get("wall_s", 0.0)) for s in summary["steps"].values())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--athletes", type=int, default=30)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--chunk-size", type=int, default=10)
    ap.add_argument("--dask", action="store_true", help='task_runner = "dask" (a temporary LocalCluster of 2 workers)')
    ap.add_argument("--ingest-workers", type=int, help="[inputs] workers (decoder processes; default all cores)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="sw-nightly-"))
    if work.exists() and args.keep:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    inputs, store = work / "inputs", work / "store"
    ids = teamgen.athlete_ids(args.athletes)
    last = date(2026, 11, 15)
    first = last - timedelta(days=args.days - 1)
    t0 = time.perf_counter()
    files = teamgen.write_history(inputs, ids, first, last)
    print(f"generated {len(files)} files ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB) for "
          f"{args.athletes} athletes x {args.days} days in {time.perf_counter() - t0:.1f} s")
    cfg = work / "strainwatch.toml"
    cfg.write_text(
        f'[team]\ntimezone = "Europe/Berlin"\n[store]\npath = "{store}"\n[inputs]\nfolders = ["{inputs}"]\n'
        + (f"workers = {args.ingest_workers}\n" if args.ingest_workers else "")
        + f'[alerts]\ndry_run = true\n[run]\nchunk_size = {args.chunk_size}\n'
        + ('task_runner = "dask"\n' if args.dask else "")
    )

    print("\n--- full first run")
    full_wall, s_full = run(cfg, last, work / "full.json")
    teamgen.write_day(inputs, ids, last + timedelta(days=1))
    print("\n--- incremental night (one new day per athlete)")
    inc_wall, s_inc = run(cfg, last + timedelta(days=1), work / "inc.json")

    print("\n--- results")
    for name, wall, s in (("full", full_wall, s_full), ("incremental", inc_wall, s_inc)):
        o = own(s)
        steps = ", ".join(f"{k} {v['own_s']:.2f}/{v['wall_s']:.2f}" for k, v in s["steps"].items())
        print(f"{name:<12} wall {wall:6.2f} s | flow {s['wall_s']:5.2f} s | strainwatch code {o:5.2f} s | "
              f"outside (Python+Prefect start-up, orchestration) {wall - o:5.2f} s = {100 * (wall - o) / wall:4.1f} %")
        print(f"{'':<12} steps own/wall [s]: {steps}")
    ratio = inc_wall / full_wall
    print(f"incremental / full = {100 * ratio:.1f} %  (target <= 25 %);  incremental wall {inc_wall:.1f} s "
          f"(target < 30 s)")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
