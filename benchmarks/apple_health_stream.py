"""Apple Health export.xml streaming: throughput and peak memory.

Writes a synthetic export of about ``--mb`` megabytes (mostly HeartRate and
StepCount records, as in real exports, plus one night of sleep records from
two sources, a daily resting HR, an SDNN reading and a 45-min workout per day
with HeartRate samples inside it),
then reads it with :func:`connectors.apple_health.read` in a fresh process and
prints wall time, MB/s and the peak RSS of that process.

Usage::

    python benchmarks/apple_health_stream.py --mb 200

Memory is expected to stay flat as the file grows (records are not kept);
run with two sizes to see it.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
]>
<HealthData locale="en_US">
 <ExportDate value="2024-01-01 00:00:00 +0000"/>
"""


def fmt(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S +0000")


def write_export(path: Path, mb: float) -> int:
    target = int(mb * 1e6)
    t = datetime(2020, 1, 1, tzinfo=timezone.utc)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(HEADER)
        size = len(HEADER)
        day = 0
        while size < target:
            d0 = t + timedelta(days=day)
            parts = []
            # ~1 HR sample per 5 min while awake and some step counts
            for k in range(200):
                ts = d0 + timedelta(minutes=5 * k)
                parts.append(
                    f' <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Apple Watch" '
                    f'sourceVersion="10.2" device="&lt;&lt;HKDevice: 0x1&gt;&gt;" unit="count/min" '
                    f'creationDate="{fmt(ts)}" startDate="{fmt(ts)}" endDate="{fmt(ts)}" value="{60 + k % 40}">\n'
                    f'  <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="0"/>\n </Record>\n'
                )
                parts.append(
                    f' <Record type="HKQuantityTypeIdentifierStepCount" sourceName="iPhone" unit="count" '
                    f'creationDate="{fmt(ts)}" startDate="{fmt(ts)}" endDate="{fmt(ts + timedelta(minutes=4))}" '
                    f'value="{k * 3 % 500}"/>\n'
                )
            night = d0 - timedelta(hours=2)
            for src in ("Apple Watch", "AutoSleep"):
                parts.append(
                    f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{src}" '
                    f'startDate="{fmt(night)}" endDate="{fmt(night + timedelta(hours=7))}" '
                    f'value="HKCategoryValueSleepAnalysisAsleepCore"/>\n'
                )
            parts.append(
                f' <Record type="HKQuantityTypeIdentifierRestingHeartRate" sourceName="Apple Watch" unit="count/min" '
                f'startDate="{fmt(d0)}" endDate="{fmt(d0)}" value="52"/>\n'
            )
            parts.append(
                f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Apple Watch" unit="ms" '
                f'startDate="{fmt(d0 + timedelta(hours=7))}" endDate="{fmt(d0 + timedelta(hours=7))}" value="55"/>\n'
            )
            parts.append(
                f' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="45" durationUnit="min" '
                'totalDistance="8" totalDistanceUnit="km" sourceName="Apple Watch" '
                f'startDate="{fmt(d0 + timedelta(hours=10))}" '
                f'endDate="{fmt(d0 + timedelta(hours=10, minutes=45))}">\n'
                f'  <MetadataEntry key="HKTimeZone" value="Europe/Paris"/>\n </Workout>\n'
            )
            block = "".join(parts)
            fh.write(block)
            size += len(block)
            n += 405
            day += 1
        fh.write("</HealthData>\n")
    return n


def child(path: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from connectors import apple_health
    from connectors.base import ReadContext

    t0 = time.perf_counter()
    res = apple_health.read(Path(path), ReadContext(athlete_id="bench"))
    dt = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{dt:.2f} {peak_mb:.1f} {res.sessions.height} {res.sleep.height} {res.wellness.height}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mb", type=float, default=100.0, help="approximate export size [MB]")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "export.xml"
        t0 = time.perf_counter()
        n = write_export(p, args.mb)
        size = p.stat().st_size
        print(f"wrote {size / 1e6:.1f} MB, {n} records in {time.perf_counter() - t0:.1f} s")
        # baseline: the interpreter with polars imported, no parsing
        base = subprocess.run(
            [
                sys.executable,
                "-c",
                "import resource, polars; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024)",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(p)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "POLARS_MAX_THREADS": "1"},
        ).stdout.split()
        secs, peak, ns, nsl, nw = float(out[0]), float(out[1]), out[2], out[3], out[4]
        print(
            f"read in {secs:.2f} s = {size / 1e6 / secs:.1f} MB/s; peak RSS {peak:.0f} MB "
            f"(python+polars baseline {float(base):.0f} MB); rows: sessions {ns}, sleep {nsl}, wellness {nw}"
        )


if __name__ == "__main__":
    main()
