"""Speed and memory of the streamed Garmin DI_CONNECT activities reader on a large file.

Usage::

    python benchmarks/vendor_json_stream.py [ACTIVITIES]   # default 100_000 (about 110 MB)

Writes a seeded ``*_summarizedActivities.json`` in the real export's shape
(``[{"summarizedActivitiesExport": [...]}]``, ~1.1 kB per activity) to a
temporary folder, reads it with ``connectors.garmin_json.read`` in a fresh
process, and prints file size, seconds, activities per second and the peak
resident memory of that process next to what ``json.load`` of the same file
needs. No assertions: figures only.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# the repository first: benchmarks/features.py must not shadow the features package
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MEASURE = r"""
import json, resource, sys, time
from pathlib import Path
mode, path = sys.argv[1], Path(sys.argv[2])
t0 = time.perf_counter()
if mode == "stream":
    from connectors import garmin_json
    from connectors.base import ReadContext
    n = garmin_json.read(path, ReadContext(athlete_id="bench")).sessions.height
else:
    with open(path, "rb") as fh:
        n = len(json.load(fh)[0]["summarizedActivitiesExport"])
dt = time.perf_counter() - t0
print(n, dt, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def make(path: Path, n: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    t = 1_200_000_000_000  # 2008; +1..6 h per activity stays before 2100
    with open(path, "w") as fh:
        fh.write('[{"summarizedActivitiesExport":[')
        for i in range(n):
            t += rng.randint(1, 6) * 3_600_000
            dur = rng.randint(20, 150) * 60_000.0
            rec = {
                "activityId": 10_000_000_000 + i,
                "name": f"Activity {i}",
                "activityType": rng.choice(["running", "road_biking", "lap_swimming", "strength_training"]),
                "userProfileId": 87654321,
                "timeZoneId": 124,
                "beginTimestamp": t,
                "eventTypeId": 9,
                "rule": "private",
                "sportType": "RUNNING",
                "startTimeGmt": t,
                "startTimeLocal": t + 7_200_000,
                "duration": dur,
                "movingDuration": dur * 0.97,
                "elapsedDuration": dur * 1.05,
                "distance": rng.uniform(2e5, 5e6),
                "elevationGain": rng.uniform(0, 1e5),
                "elevationLoss": rng.uniform(0, 1e5),
                "avgSpeed": rng.uniform(0.2, 0.9),
                "maxSpeed": rng.uniform(0.5, 1.5),
                "avgHr": rng.uniform(110, 165),
                "maxHr": rng.uniform(150, 195),
                "minHr": rng.uniform(60, 100),
                "calories": rng.uniform(500, 5000),
                "bmrCalories": 300.0,
                "aerobicTrainingEffect": rng.uniform(1, 5),
                "anaerobicTrainingEffect": rng.uniform(0, 3),
                "activityTrainingLoad": rng.uniform(10, 300),
                "steps": rng.randint(0, 20000),
                "hrTimeInZone_1": 1.0e5,
                "hrTimeInZone_2": 4.0e5,
                "hrTimeInZone_3": 8.0e5,
                "hrTimeInZone_4": 2.0e5,
                "hrTimeInZone_5": 1.0e4,
                "lapCount": rng.randint(1, 30),
                "manufacturer": "GARMIN",
                "deviceId": 3391234567,
                "purposeful": False,
                "pr": False,
                "favorite": False,
                "parent": False,
                "decoDive": False,
                "elevationCorrected": False,
                "summarizedDiveInfo": {"summarizedDiveGases": []},
                "splitSummaries": [
                    {
                        "noOfSplits": 1,
                        "totalAscent": 12.0,
                        "duration": dur,
                        "splitType": "INTERVAL_ACTIVE",
                        "numClimbSends": 0,
                        "maxElevationGain": 12.0,
                        "averageElevationGain": 12.0,
                        "maxDistance": 5000,
                        "distance": 5000.0,
                        "averageSpeed": 3.0,
                        "maxSpeed": 4.2,
                    }
                ],
            }
            fh.write(("," if i else "") + json.dumps(rec))
        fh.write("]}]")


def measure(mode: str, path: Path) -> tuple[int, float, float]:
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    if out.returncode:
        raise SystemExit(f"{mode} failed:\n{out.stderr}")
    n, dt, rss = out.stdout.split()
    return int(n), float(dt), float(rss)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench_0_summarizedActivities.json"
        t0 = time.perf_counter()
        make(path, n)
        mb = path.stat().st_size / 1e6
        print(f"file: {n} activities, {mb:.1f} MB (written in {time.perf_counter() - t0:.1f} s)")
        rows, dt, rss = measure("stream", path)
        print(
            f"garmin_json.read (ijson stream): {rows} sessions in {dt:.2f} s "
            f"({rows / dt:,.0f} activities/s, {mb / dt:.1f} MB/s), peak RSS {rss:.0f} MB"
        )
        rows, dt, rss = measure("json.load", path)
        print(f"json.load of the same file (reference): {dt:.2f} s, peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
