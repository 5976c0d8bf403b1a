"""Write ``sample_data/generic/``: a tiny example set in the generic CSV format.

Three synthetic athletes x 6 weeks (2025-03-03 .. 2025-04-13, across the
European daylight-saving change of 2025-03-30), one folder each with
``sessions.csv``, ``sleep.csv`` and ``daily.csv``::

    python sample_data/make_generic.py          # rewrite the files (seeded: same bytes every time)
    strainwatch ingest sample_data/generic --store /tmp/sw
    strainwatch export sessions --store /tmp/sw --out sessions.csv

* ``amy`` (Europe/Berlin) runs; comma-separated, offsets such as ``+01:00``/``+02:00``.
* ``raj`` (America/New_York) cycles and lifts; his files are a "European Excel"
  export: UTF-8 BOM, ``;`` separator, decimal commas, columns in another order
  and an extra ``comment`` column (ignored with a note).
* ``sol`` (Europe/Berlin) rows; his training load doubles in week 5, and his
  daily file reports low-back pain (``back_pain_0_10``) rising in week 6.

Nothing here comes from a real person.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SEED = 20250303
START = date(2025, 3, 3)  # a Monday
WEEKS = 6
OUT = Path(__file__).resolve().parent / "generic"

ATHLETES = {
    "amy": {"tz": "Europe/Berlin", "sports": ["running"], "rhr": 48, "rmssd": 72, "european": False},
    "raj": {"tz": "America/New_York", "sports": ["cycling", "strength"], "rhr": 56, "rmssd": 48, "european": True},
    "sol": {"tz": "Europe/Berlin", "sports": ["rowing", "strength"], "rhr": 52, "rmssd": 60, "european": False},
}


def _iso(dt: datetime) -> str:
    """ISO 8601 with the local UTC offset, e.g. 2025-03-31T07:30:00+02:00."""
    return dt.isoformat(timespec="seconds")


def _num(x: float, european: bool) -> str:
    s = f"{x:g}" if float(x).is_integer() else f"{x:.2f}".rstrip("0")
    return s.replace(".", ",") if european else s


def _write(path: Path, header: list[str], rows: list[dict], european: bool) -> None:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, delimiter=";" if european else ",", lineterminator="\n")
    w.writerow(header)
    for r in rows:
        w.writerow([r.get(c, "") for c in header])
    data = buf.getvalue().encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xef\xbb\xbf" + data) if european else data)


def make(out: Path = OUT, seed: int = SEED) -> list[Path]:
    rng = random.Random(seed)
    written = []
    for aid, a in ATHLETES.items():
        tz = ZoneInfo(a["tz"])
        eu = a["european"]
        sessions, sleep, daily = [], [], []
        for d in range(WEEKS * 7):
            day = START + timedelta(days=d)
            week = d // 7
            # sleep: the night ending on `day`
            bed = datetime(day.year, day.month, day.day, 22, 30, tzinfo=tz) - timedelta(days=1)
            bed += timedelta(minutes=rng.randint(-30, 60))
            wake = datetime(day.year, day.month, day.day, 6, 45, tzinfo=tz) + timedelta(minutes=rng.randint(-20, 40))
            in_bed = (wake.astimezone(ZoneInfo("UTC")) - bed.astimezone(ZoneInfo("UTC"))).total_seconds() / 60
            awake = rng.randint(10, 35)
            asleep = int(in_bed - awake)
            deep = int(asleep * rng.uniform(0.15, 0.22))
            rem = int(asleep * rng.uniform(0.18, 0.25))
            if rng.random() > 0.04:  # a few nights without the watch
                sleep.append(
                    {
                        "athlete_id": aid,
                        "sleep_start": _iso(bed),
                        "sleep_end": _iso(wake),
                        "total_sleep_min": _num(asleep, eu),
                        "deep_min": _num(deep, eu),
                        "light_min": _num(asleep - deep - rem, eu),
                        "rem_min": _num(rem, eu),
                        "awake_min": _num(awake, eu),
                        "is_nap": "false",
                    }
                )
            # sessions: rest on Mondays, two-a-day on Saturdays
            weekday = day.weekday()
            n = 0 if weekday == 0 else (2 if weekday == 5 else 1)
            spike = 2.0 if (aid == "sol" and week == 4) else 1.0
            for k in range(n):
                if rng.random() < 0.05:
                    continue  # a skipped session
                sport = a["sports"][(d + k) % len(a["sports"])]
                start = datetime(day.year, day.month, day.day, 7 if k == 0 else 17, rng.choice([0, 15, 30]), tzinfo=tz)
                minutes = round(rng.uniform(35, 75) * spike)
                rpe = min(10, max(1, round(rng.gauss(5 if spike == 1 else 7, 1.2))))
                dist = {"running": minutes / 5.5, "cycling": minutes / 2.2, "rowing": minutes / 4.8}.get(sport)
                sessions.append(
                    {
                        "athlete_id": aid,
                        "start_time": _iso(start),
                        "duration_min": _num(minutes, eu),
                        "sport": sport,
                        "avg_hr": str(rng.randint(125, 160)) if sport != "strength" else "",
                        "rpe": _num(rpe, eu),
                        "distance_km": _num(round(dist, 2), eu) if dist else "",
                        "comment": "felt good" if rng.random() < 0.2 else "",
                    }
                )
            # daily physiology (5 % of mornings missing), back pain for sol in week 6
            rhr = round(rng.gauss(a["rhr"], 1.5)) if rng.random() > 0.05 else None
            rmssd = round(rng.lognormvariate(0, 0.12) * a["rmssd"], 1) if rng.random() > 0.05 else None
            pain = ""
            if aid == "sol":
                pain = str(max(0, d - 34)) if week == 5 else "0"
            daily.append(
                {
                    "athlete_id": aid,
                    "date": day.isoformat(),
                    "resting_hr": "" if rhr is None else str(rhr),
                    "hrv_rmssd_ms": "" if rmssd is None else _num(rmssd, eu),
                    "back_pain_0_10": pain,
                    "red_flag": "false" if aid == "sol" else "",
                }
            )
        folder = out / aid
        if eu:  # reordered columns, an extra column, European number format
            s_head = ["start_time", "athlete_id", "sport", "duration_min", "rpe", "avg_hr", "distance_km", "comment"]
        else:
            s_head = ["athlete_id", "start_time", "duration_min", "sport", "avg_hr", "rpe", "distance_km"]
        sl_head = [
            "athlete_id",
            "sleep_start",
            "sleep_end",
            "total_sleep_min",
            "deep_min",
            "light_min",
            "rem_min",
            "awake_min",
            "is_nap",
        ]
        d_head = ["athlete_id", "date", "resting_hr", "hrv_rmssd_ms"] + (
            ["back_pain_0_10", "red_flag"] if aid == "sol" else []
        )
        for name, head, rows in (
            ("sessions.csv", s_head, sessions),
            ("sleep.csv", sl_head, sleep),
            ("daily.csv", d_head, daily),
        ):
            _write(folder / name, head, rows, eu)
            written.append(folder / name)
    return written


if __name__ == "__main__":
    for p in make():
        print(f"wrote {p.relative_to(OUT.parent)} ({p.stat().st_size} bytes)")
