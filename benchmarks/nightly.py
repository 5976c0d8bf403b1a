"""Nightly pipeline benchmark: full first run, then an incremental night, then a night with nothing new.

A 30-athlete team with one year of history in the generic CSV format
(``tests/pipelines/teamgen.py``), run with ``strainwatch run`` as a user would:
a fresh process each time, Prefect's temporary server (``PREFECT_HOME`` inside
the store, so the first run also creates Prefect's database). Then each
athlete drops the files of one new day and ``strainwatch run`` runs the next
night; then the same night runs again with nothing new (the fixed floor of a
run: Python, Prefect start-up, reading the ledger).

Two layouts of the year of history, because the ratio depends on it:

``daily``
    the input folder after a year of nightly drops: the same small files the
    incremental night adds, for each of the 365 days (about 2.7 files per
    athlete and day, 32k files). This is what the folder of a team that runs
    strainwatch every night looks like.
``bulk``
    one export per table and athlete for the whole year (90 files): the
    cheapest possible full run, where the full run's own work is about as
    small as Prefect's fixed start-up.

Printed for each run: process wall time (including Python and Prefect
start-up), the time spent inside strainwatch's stage functions (ingest,
features, scores, report, alerts: measured inside the tasks), and the rest,
i.e. interpreter + Prefect start-up and orchestration overhead.

Target (issue 7): the incremental night at most 25 % of the full run and under
30 s wall on 2 cores including Prefect start-up.

Usage::

    python benchmarks/nightly.py [--history daily|bulk|both] [--athletes 30] [--days 365]
                                 [--chunk-size N] [--keep DIR] [--dask]
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

# the installed console script next to this interpreter (not a version-manager shim in PATH)
_SCRIPT = Path(sys.executable).parent / "strainwatch"
CLI = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-c", "from pipelines.cli import main; main()"]


def run(cfg: Path, as_of: date, out: Path, *, quiet: bool = False) -> tuple[float, dict]:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "PREFECT_HOME")}
    env.update({"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    t0 = time.perf_counter()
    r = subprocess.run(
        CLI + ["run", "--config", str(cfg), "--as-of", as_of.isoformat(), "--summary-json", str(out)],
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        sys.exit(f"strainwatch run failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    if not quiet:
        print("\n".join(line for line in r.stdout.splitlines() if not line.startswith(("      |", "    would send"))))
    return wall, json.loads(out.read_text())


def own(summary: dict) -> float:
    return sum(min(s.get("own_s", 0.0), s.get("wall_s", 0.0)) for s in summary["steps"].values())


def scenario(layout: str, args: argparse.Namespace, work: Path) -> dict[str, tuple[float, dict]]:
    inputs, store = work / "inputs", work / "store"
    ids = teamgen.athlete_ids(args.athletes)
    last = date(2026, 11, 15)
    first = last - timedelta(days=args.days - 1)
    t0 = time.perf_counter()
    write = teamgen.write_daily_history if layout == "daily" else teamgen.write_history
    files = write(inputs, ids, first, last)
    print(
        f"[{layout}] generated {len(files)} files ({sum(f.stat().st_size for f in files) / 1e6:.1f} MB) for "
        f"{args.athletes} athletes x {args.days} days in {time.perf_counter() - t0:.1f} s"
    )
    cfg = work / "strainwatch.toml"
    cfg.write_text(
        f'[team]\ntimezone = "Europe/Berlin"\n[store]\npath = "{store}"\n[inputs]\nfolders = ["{inputs}"]\n'
        + (f"workers = {args.ingest_workers}\n" if args.ingest_workers else "")
        + "[alerts]\ndry_run = true\n[run]\n"
        + (f"chunk_size = {args.chunk_size}\n" if args.chunk_size else "")
        + ('task_runner = "dask"\n' if args.dask else "")
    )
    out: dict[str, tuple[float, dict]] = {}
    print(f"\n--- [{layout}] full first run")
    out["full"] = run(cfg, last, work / "full.json")
    teamgen.write_day(inputs, ids, last + timedelta(days=1))
    print(f"\n--- [{layout}] incremental night (one new day per athlete)")
    out["incremental"] = run(cfg, last + timedelta(days=1), work / "inc.json")
    out["nothing new"] = run(cfg, last + timedelta(days=1), work / "noop.json", quiet=True)
    return out


def report(layout: str, res: dict[str, tuple[float, dict]]) -> str:
    lines = [f"[{layout}]"]
    for name, (wall, s) in res.items():
        o = own(s)
        steps = ", ".join(f"{k} {v['own_s']:.2f}/{v['wall_s']:.2f}" for k, v in s["steps"].items())
        files = s.get("files") or {}
        lines.append(
            f"  {name:<12} wall {wall:6.2f} s | flow {s['wall_s']:6.2f} s | strainwatch code {o:6.2f} s | "
            f"outside (Python+Prefect start-up, orchestration) {wall - o:5.2f} s = {100 * (wall - o) / wall:4.1f} %"
            f" | files read {files.get('ingested', 0)}"
        )
        lines.append(f"  {'':<12} steps own/wall [s]: {steps or '-'}")
    full, inc = res["full"][0], res["incremental"][0]
    lines.append(
        f"  incremental / full = {100 * inc / full:.1f} %  (target <= 25 %);  incremental wall {inc:.1f} s "
        f"(target < 30 s);  floor (nothing new) {res['nothing new'][0]:.1f} s"
    )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--history", choices=("daily", "bulk", "both"), default="both")
    ap.add_argument("--athletes", type=int, default=30)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--chunk-size", type=int, help="[run] chunk_size (default: the config default)")
    ap.add_argument("--dask", action="store_true", help='task_runner = "dask" (a temporary LocalCluster of 2 workers)')
    ap.add_argument("--ingest-workers", type=int, help="[inputs] workers (decoder processes; default: automatic)")
    ap.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = ap.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="sw-nightly-"))
    if root.exists() and args.keep:
        shutil.rmtree(root)
    layouts = ("daily", "bulk") if args.history == "both" else (args.history,)
    results = {}
    for layout in layouts:
        work = root / layout
        work.mkdir(parents=True, exist_ok=True)
        results[layout] = scenario(layout, args, work)
    print("\n--- results")
    for layout, res in results.items():
        print(report(layout, res))
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
