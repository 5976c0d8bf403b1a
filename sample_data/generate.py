"""Generate the sample team in ``sample_data/inputs/`` (seeded, reproducible).

    python sample_data/generate.py            # rewrites sample_data/inputs/

Ten athletes, 26 weeks (2026-05-18 .. 2026-11-15), each exported the way a
real athlete would hand files to a coach: FIT activity, monitoring and sleep
files, the generic CSV format, a Strava bulk export, an Oura trends CSV, a
WHOOP export, a zipped Garmin Connect DI_CONNECT export and an Apple Health
export.xml. Who is who and which situation each athlete contains is in
``sample_data/README.md``. All values are synthetic; nothing comes from a
real person.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).parent))
from fit_encoder import FitWriter, file_id, fit_time  # noqa: E402

OUT = Path(__file__).parent / "inputs"
START = date(2026, 5, 18)
END = date(2026, 11, 15)  # a Sunday: the last day of data; the demo scores as of this day
DAYS = (END - START).days + 1  # 182
SEED = 20261115

SPORT_FIT = {"running": (1, 0), "cycling": (2, 0), "rowing": (15, 0), "strength": (10, 20), "swimming": (5, 17)}
STRAVA_TYPE = {
    "running": "Run",
    "cycling": "Ride",
    "rowing": "Rowing",
    "strength": "Weight Training",
    "swimming": "Swim",
}
GARMIN_TYPE = {
    "running": "running",
    "cycling": "cycling",
    "rowing": "indoor_rowing",
    "strength": "strength_training",
    "swimming": "lap_swimming",
}
APPLE_TYPE = {
    "running": "HKWorkoutActivityTypeRunning",
    "cycling": "HKWorkoutActivityTypeCycling",
    "rowing": "HKWorkoutActivityTypeRowing",
    "strength": "HKWorkoutActivityTypeTraditionalStrengthTraining",
    "swimming": "HKWorkoutActivityTypeSwimming",
}


@dataclass
class Session:
    start_utc: datetime
    minutes: float
    sport: str
    rpe: float
    avg_hr: float
    max_hr: float
    distance_km: float


@dataclass
class Night:
    start_utc: datetime
    end_utc: datetime
    asleep_min: float
    deep_min: float
    light_min: float
    rem_min: float
    awake_min: float


@dataclass
class Day:
    d: date
    sessions: list[Session] = field(default_factory=list)
    night: Night | None = None  # the night ending on d
    rhr: float | None = None
    hrv: float | None = None  # rMSSD [ms]
    sdnn: float | None = None
    back_pain: float | None = None
    red_flag: bool = False


@dataclass
class Athlete:
    id: str
    name: str
    tz: str
    sport: str
    weekly: list[tuple[float, float]]  # per weekday (Mon..Sun): (minutes, rpe); 0 minutes = rest
    rhr: float
    ln_rmssd: float
    sleep_h: float
    hr_rest: float
    hr_max: float
    story: str
    days: list[Day] = field(default_factory=list)


def team() -> list[Athlete]:
    run = [(0, 0), (50, 6), (40, 4), (60, 7), (0, 0), (90, 5), (35, 3)]
    ride = [(0, 0), (75, 6), (60, 4), (90, 7), (45, 3), (150, 5), (0, 0)]
    row = [(60, 6), (45, 4), (0, 0), (60, 7), (40, 4), (75, 6), (0, 0)]
    mix = [(45, 5), (0, 0), (60, 6), (40, 4), (0, 0), (80, 6), (30, 3)]
    return [
        Athlete(
            "ana",
            "Ana Weber",
            "Europe/Berlin",
            "running",
            run,
            48,
            4.25,
            7.7,
            48,
            192,
            "steady runner; Garmin watch: FIT activities, monitoring (resting HR), sleep and HRV-status files",
        ),
        Athlete(
            "ben",
            "Ben Okafor",
            "Europe/London",
            "cycling",
            ride,
            52,
            4.05,
            7.6,
            52,
            186,
            "steady cyclist; generic CSV (sessions with RPE, sleep, daily RHR/HRV)",
        ),
        Athlete(
            "carla",
            "Carla Rossi",
            "Europe/Rome",
            "running",
            run,
            50,
            4.15,
            7.8,
            50,
            195,
            "LOAD SPIKE: doubles her running volume in the last 10 days (generic CSV)",
        ),
        Athlete(
            "dev",
            "Dev Sharma",
            "Europe/Berlin",
            "cycling",
            ride,
            55,
            3.95,
            7.4,
            55,
            184,
            "RETURN AFTER A BREAK: three weeks off, then straight back to full training (Strava export + generic CSV)",
        ),
        Athlete(
            "eli",
            "Eli Cohen",
            "Europe/Berlin",
            "running",
            mix,
            51,
            4.10,
            7.7,
            51,
            190,
            "POOR SLEEP WEEK: about 5-hour nights in the last week (Oura trends CSV + generic sessions)",
        ),
        Athlete(
            "fay",
            "Fay Lindqvist",
            "America/New_York",
            "rowing",
            row,
            47,
            4.35,
            7.9,
            47,
            193,
            "RAISED RHR WITH SUPPRESSED HRV in the last 6 days; travels to the US west coast mid-season (WHOOP export)",
        ),
        Athlete(
            "gus",
            "Gus Moreau",
            "Europe/Paris",
            "rowing",
            row,
            53,
            4.00,
            7.5,
            53,
            188,
            "RED FLAG: back pain rising over the last week, then pain below the knee with numbness (generic CSV)",
        ),
        Athlete(
            "hana",
            "Hana Sato",
            "Europe/Berlin",
            "rowing",
            row,
            49,
            4.20,
            7.6,
            49,
            191,
            "steady rower; FIT activities from a watch + generic CSV sleep and daily",
        ),
        Athlete(
            "ivo",
            "Ivo Petrov",
            "Europe/Sofia",
            "running",
            mix,
            54,
            3.90,
            7.3,
            54,
            187,
            "steady; zipped Garmin Connect bulk export (DI_CONNECT JSON)",
        ),
        Athlete(
            "jo",
            "Jo Park",
            "Europe/Berlin",
            "cycling",
            ride,
            50,
            4.10,
            7.5,
            50,
            189,
            "steady; the same rides from the watch (FIT) and Strava (merged), recovery from Apple Health",
        ),
    ]


def simulate(a: Athlete, rng: random.Random) -> None:
    tz = ZoneInfo(a.tz)
    for i in range(DAYS):
        d = START + timedelta(days=i)
        day = Day(d)
        factor = 1.0 + 0.08 * math.sin(i / 9.0)  # gentle periodisation
        if a.id == "carla" and i >= DAYS - 10:
            factor = 2.3
        if a.id == "dev" and DAYS - 45 <= i < DAYS - 24:
            factor = 0.0  # three weeks off
        if a.id == "dev" and i >= DAYS - 24:
            factor = 1.15  # straight back to (more than) full volume
        minutes, rpe = a.weekly[d.weekday()]
        if a.id == "carla" and i >= DAYS - 10 and minutes == 0:
            minutes, rpe = 45, 5  # no rest days during the spike
        if minutes and factor > 0 and rng.random() > 0.04:  # 4 % missed sessions
            mins = round(minutes * factor * rng.uniform(0.85, 1.15))
            r = min(10.0, max(1.0, round(rpe + rng.choice([-1, 0, 0, 1]), 0)))
            local = datetime(d.year, d.month, d.day, 17 if d.weekday() < 5 else 9, rng.choice([0, 15, 30]), tzinfo=tz)
            frac = 0.45 + 0.05 * r
            avg = a.hr_rest + frac * (a.hr_max - a.hr_rest) + rng.uniform(-3, 3)
            speed = {"running": 11.0, "cycling": 28.0, "rowing": 12.0}.get(a.sport, 10.0)
            day.sessions.append(
                Session(
                    local.astimezone(timezone.utc),
                    mins,
                    a.sport,
                    r,
                    round(avg),
                    round(min(a.hr_max, avg + 18 + rng.uniform(0, 6))),
                    round(speed * mins / 60 * rng.uniform(0.9, 1.1), 2),
                )
            )
        # the night ending on d
        sleep_h = rng.gauss(a.sleep_h, 0.45)
        if a.id == "eli" and i >= DAYS - 7:
            sleep_h = rng.gauss(5.0, 0.25)
        sleep_h = max(3.5, min(10.0, sleep_h))
        awake = rng.uniform(12, 35)
        wake_local = datetime(d.year, d.month, d.day, 6, 30, tzinfo=tz) + timedelta(minutes=rng.randint(-30, 45))
        end = wake_local.astimezone(timezone.utc)
        start = end - timedelta(minutes=sleep_h * 60 + awake)
        deep = sleep_h * 60 * rng.uniform(0.15, 0.22)
        rem = sleep_h * 60 * rng.uniform(0.18, 0.25)
        if rng.random() > 0.03:  # 3 % of nights not recorded
            day.night = Night(
                start, end, round(sleep_h * 60), round(deep), round(sleep_h * 60 - deep - rem), round(rem), round(awake)
            )
        # morning physiology
        if rng.random() > 0.05:  # 5 % of mornings not worn
            rhr = a.rhr + rng.gauss(0, 1.2)
            ln = a.ln_rmssd + rng.gauss(0, 0.08)
            if a.id == "fay" and i >= DAYS - 6:
                rhr += 8
                ln -= 0.35
            if a.id == "eli" and i >= DAYS - 7:
                rhr += 1.5
            day.rhr = round(rhr)
            day.hrv = round(math.exp(ln), 1)
            day.sdnn = round(math.exp(ln) * 1.25, 1)
        if a.id == "gus" and i >= DAYS - 7:
            day.back_pain = [2, 3, 4, 5, 6, 7, 7][i - (DAYS - 7)]
            day.red_flag = i == DAYS - 2
        elif a.id in ("gus", "ben", "carla") and i % 7 == 0:
            day.back_pain = rng.choice([0, 0, 1, 1, 2])
        a.days.append(day)


def iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


# ---------------------------------------------------------------- generic CSV
def write_generic(a: Athlete, folder: Path, *, sessions: bool = True, sleep: bool = True, daily: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(a.tz)
    if sessions:
        with open(folder / "sessions.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["athlete_id", "start_time", "duration_min", "sport", "avg_hr", "rpe", "distance_km"])
            for day in a.days:
                for s in day.sessions:
                    w.writerow(
                        [a.id, iso(s.start_utc.astimezone(tz)), s.minutes, s.sport, s.avg_hr, s.rpe, s.distance_km]
                    )
    if sleep:
        with open(folder / "sleep.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(
                [
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
            )
            for day in a.days:
                n = day.night
                if n:
                    w.writerow(
                        [
                            a.id,
                            iso(n.start_utc.astimezone(tz)),
                            iso(n.end_utc.astimezone(tz)),
                            n.asleep_min,
                            n.deep_min,
                            n.light_min,
                            n.rem_min,
                            n.awake_min,
                            "false",
                        ]
                    )
    if daily:
        with open(folder / "daily.csv", "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["athlete_id", "date", "resting_hr", "hrv_rmssd_ms", "back_pain_0_10", "red_flag"])
            for day in a.days:
                if day.rhr is None and day.back_pain is None:
                    continue
                w.writerow(
                    [
                        a.id,
                        day.d.isoformat(),
                        "" if day.rhr is None else day.rhr,
                        "" if day.hrv is None else day.hrv,
                        "" if day.back_pain is None else day.back_pain,
                        "true" if day.red_flag else "",
                    ]
                )


# ---------------------------------------------------------------- FIT
def fit_activity(a: Athlete, s: Session, serial: int, rng: random.Random) -> bytes:
    w = FitWriter()
    file_id(w, 4, s.start_utc, serial)
    t0 = fit_time(s.start_utc)
    n = int(s.minutes * 6)  # smart recording: one record every 10 s
    dist = 0.0
    for k in range(n):
        ramp = min(1.0, k / 30)
        hr = s.avg_hr - 15 * (1 - ramp) + 6 * math.sin(k / 25) + rng.uniform(-2, 2)
        dist += s.distance_km * 1000 / max(n, 1)
        w.message(
            20, [(253, "uint32", t0 + 10 * k), (3, "uint8", max(40, min(s.max_hr, hr))), (5, "uint32", dist * 100)]
        )
    end = t0 + int(s.minutes * 60)
    sport, sub = SPORT_FIT[s.sport]
    w.message(
        18,
        [
            (253, "uint32", end),
            (2, "uint32", t0),
            (5, "enum", sport),
            (6, "enum", sub),
            (7, "uint32", s.minutes * 60 * 1000 + 120_000),
            (8, "uint32", s.minutes * 60 * 1000),
            (9, "uint32", s.distance_km * 1000 * 100),
            (11, "uint16", s.minutes * 11),
            (16, "uint8", s.avg_hr),
            (17, "uint8", s.max_hr),
        ],
    )
    offset = int(s.start_utc.astimezone(ZoneInfo(a.tz)).utcoffset().total_seconds())
    w.message(
        34,
        [
            (253, "uint32", end),
            (0, "uint32", s.minutes * 60 * 1000),
            (1, "uint16", 1),
            (2, "enum", 0),
            (3, "enum", 26),
            (4, "enum", 1),
            (5, "uint32", end + offset),
        ],
    )
    return w.to_bytes()


def fit_monitoring(a: Athlete, day: Day, serial: int) -> bytes:
    """A monitoring_b (32) file for one day with the day's resting heart rate (mesg 211)."""
    tz = ZoneInfo(a.tz)
    midnight = datetime(day.d.year, day.d.month, day.d.day, tzinfo=tz).astimezone(timezone.utc)
    w = FitWriter()
    file_id(w, 32, midnight, serial)
    offset = int(midnight.astimezone(tz).utcoffset().total_seconds())
    w.message(
        103, [(253, "uint32", fit_time(midnight)), (0, "uint32", fit_time(midnight) + offset), (5, "uint16", 1650)]
    )
    t = fit_time(midnight) + 8 * 3600
    w.message(211, [(253, "uint32", t), (0, "uint8", a.rhr), (1, "uint8", day.rhr)])
    return w.to_bytes()


def fit_sleep(a: Athlete, n: Night, serial: int, rng: random.Random) -> bytes:
    """A sleep (49) file: sleep_level (275) stage changes every few minutes."""
    w = FitWriter()
    file_id(w, 49, n.end_utc, serial)
    t = fit_time(n.start_utc)
    end = fit_time(n.end_utc)
    budget = {3: n.deep_min * 60, 4: n.rem_min * 60, 2: n.light_min * 60, 1: n.awake_min * 60}
    order = [2, 3, 2, 4, 1, 2, 3, 2, 4, 2, 1, 4, 2]
    blocks: list[tuple[int, float]] = []
    for level in (1, 2, 3, 4):
        share = [lv for lv in order if lv == level]
        for _ in share:
            blocks.append((level, budget[level] / len(share)))
    rng.shuffle(blocks)
    blocks.sort(key=lambda b: 0 if b[0] == 2 else 1)  # fall asleep into light sleep first
    for level, secs in blocks:
        w.message(275, [(253, "uint32", t), (0, "enum", level)])
        t += int(secs)
    w.message(275, [(253, "uint32", end), (0, "enum", 1)])  # awake at the end
    return w.to_bytes()


def fit_hrv(a: Athlete, day: Day, serial: int) -> bytes:
    """A monitoring_daily (28) file with hrv_status_summary (370)."""
    tz = ZoneInfo(a.tz)
    morning = datetime(day.d.year, day.d.month, day.d.day, 7, tzinfo=tz).astimezone(timezone.utc)
    w = FitWriter()
    file_id(w, 28, morning, serial)
    base = math.exp(a.ln_rmssd)
    w.message(
        370,
        [
            (253, "uint32", fit_time(morning)),
            (0, "uint16", base * 128),
            (1, "uint16", day.hrv * 128),
            (3, "uint16", base * 0.8 * 128),
            (4, "uint16", base * 0.9 * 128),
            (5, "uint16", base * 1.1 * 128),
            (6, "enum", 3),
        ],
    )
    return w.to_bytes()


def write_fit(a: Athlete, folder: Path, rng: random.Random, *, wellness: bool) -> None:
    serial = 3900000000 + sum(map(ord, a.id))
    for day in a.days:
        for s in day.sessions:
            stamp = s.start_utc.strftime("%Y-%m-%d-%H%M%S")
            p = folder / "activities" / f"{stamp}.fit"
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(fit_activity(a, s, serial, rng))
        if wellness:
            if day.rhr is not None:
                p = folder / "monitor" / f"{day.d:%Y%m%d}_monitor.fit"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(fit_monitoring(a, day, serial))
                p = folder / "hrv" / f"{day.d:%Y%m%d}_HRV_STATUS.fit"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(fit_hrv(a, day, serial))
            if day.night:
                p = folder / "sleep" / f"{day.d:%Y%m%d}_SLEEP_DATA.fit"
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(fit_sleep(a, day.night, serial, rng))


# ---------------------------------------------------------------- Strava
STRAVA_HEADER = [
    "Activity ID",
    "Activity Date",
    "Activity Name",
    "Activity Type",
    "Activity Description",
    "Elapsed Time",
    "Distance",
    "Max Heart Rate",
    "Relative Effort",
    "Commute",
    "Activity Private Note",
    "Activity Gear",
    "Filename",
    "Athlete Weight",
    "Bike Weight",
    "Elapsed Time",
    "Moving Time",
    "Distance",
    "Max Speed",
    "Average Speed",
    "Elevation Gain",
    "Elevation Loss",
    "Max Heart Rate",
    "Average Heart Rate",
    "Calories",
    "Relative Effort",
    "Perceived Exertion",
    "Commute",
]


def write_strava(a: Athlete, folder: Path, rng: random.Random, *, with_rpe: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "activities.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(STRAVA_HEADER)
        aid = 9_000_000_000 + sum(map(ord, a.id)) * 100_000
        for day in a.days:
            for s in day.sessions:
                aid += rng.randint(1000, 90000)
                when = s.start_utc + timedelta(seconds=rng.randint(0, 40))  # Strava's start differs slightly
                date_str = when.strftime("%b %-d, %Y, %-I:%M:%S %p")
                desc = "" if rng.random() < 0.7 else "Felt good.\nLegs heavy at the end, back fine."
                el = int(s.minutes * 60 + 120)
                mv = int(s.minutes * 60)
                re = round(s.minutes * s.rpe / 6)
                w.writerow(
                    [
                        aid,
                        date_str,
                        f"{STRAVA_TYPE[s.sport]} {day.d:%d %b}",
                        STRAVA_TYPE[s.sport],
                        desc,
                        el,
                        f"{s.distance_km:.2f}",
                        f"{s.max_hr:.1f}",
                        re,
                        "false",
                        "",
                        "",
                        f"activities/{aid}.fit.gz",
                        "",
                        "",
                        f"{el:.1f}",
                        f"{mv:.1f}",
                        f"{s.distance_km * 1000:.1f}",
                        "9.5",
                        f"{s.distance_km * 1000 / mv:.3f}",
                        "120.0",
                        "118.0",
                        f"{s.max_hr:.1f}",
                        f"{s.avg_hr:.1f}",
                        f"{s.minutes * 11:.1f}",
                        f"{re:.1f}",
                        f"{s.rpe:.1f}" if with_rpe else "",
                        "0.0",
                    ]
                )


# ---------------------------------------------------------------- Oura
def write_oura(a: Athlete, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(a.tz)
    cols = [
        "date",
        "Sleep Score",
        "Total Sleep Time",
        "REM Sleep Time",
        "Deep Sleep Time",
        "Light Sleep Time",
        "Awake Time",
        "Bedtime Start",
        "Bedtime End",
        "Average Resting Heart Rate",
        "Lowest Resting Heart Rate",
        "Average HRV",
        "Readiness Score",
        "Activity Score",
        "Steps",
    ]
    with open(folder / "oura_2026-05-18_2026-11-15_trends.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for day in a.days:
            n = day.night
            if n is None:
                w.writerow([day.d.isoformat()] + [""] * (len(cols) - 1))
                continue
            w.writerow(
                [
                    day.d.isoformat(),
                    78,
                    int(n.asleep_min * 60),
                    int(n.rem_min * 60),
                    int(n.deep_min * 60),
                    int(n.light_min * 60),
                    int(n.awake_min * 60),
                    iso(n.start_utc.astimezone(tz)),
                    iso(n.end_utc.astimezone(tz)),
                    "" if day.rhr is None else day.rhr + 2,
                    "" if day.rhr is None else day.rhr,
                    "" if day.hrv is None else round(day.hrv),
                    80,
                    85,
                    9000,
                ]
            )


# ---------------------------------------------------------------- WHOOP
def _whoop_tz(d: date) -> tuple[ZoneInfo, str]:
    # Fay lives in New York and spends 10 days in Los Angeles in September
    if date(2026, 9, 5) <= d <= date(2026, 9, 14):
        z = ZoneInfo("America/Los_Angeles")
    else:
        z = ZoneInfo("America/New_York")
    return z, ""


def _whoop_offset_label(dt: datetime) -> str:
    off = dt.utcoffset()
    mins = int(off.total_seconds() // 60)
    sign = "-" if mins < 0 else "+"
    mins = abs(mins)
    return f"UTC{sign}{mins // 60:02d}:{mins % 60:02d}"


def write_whoop(a: Athlete, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fmt = "%Y-%m-%d %H:%M:%S"
    cyc_cols = [
        "Cycle start time",
        "Cycle end time",
        "Cycle timezone",
        "Recovery score %",
        "Resting heart rate (bpm)",
        "Heart rate variability (ms)",
        "Skin temp (celsius)",
        "Blood oxygen %",
        "Day Strain",
        "Energy burned (cal)",
        "Max HR (bpm)",
        "Average HR (bpm)",
        "Sleep onset",
        "Wake onset",
        "Sleep performance %",
        "Respiratory rate (rpm)",
        "Asleep duration (min)",
        "In bed duration (min)",
        "Light sleep duration (min)",
        "Deep (SWS) duration (min)",
        "REM duration (min)",
        "Awake duration (min)",
        "Sleep need (min)",
        "Sleep debt (min)",
        "Sleep efficiency %",
    ]
    slp_cols = [
        "Cycle start time",
        "Cycle end time",
        "Cycle timezone",
        "Sleep onset",
        "Wake onset",
        "Sleep performance %",
        "Respiratory rate (rpm)",
        "Asleep duration (min)",
        "In bed duration (min)",
        "Light sleep duration (min)",
        "Deep (SWS) duration (min)",
        "REM duration (min)",
        "Awake duration (min)",
        "Sleep need (min)",
        "Sleep debt (min)",
        "Sleep efficiency %",
        "Nap",
    ]
    wo_cols = [
        "Cycle start time",
        "Cycle end time",
        "Cycle timezone",
        "Workout start time",
        "Workout end time",
        "Duration (min)",
        "Activity name",
        "Activity Strain",
        "Energy burned (cal)",
        "Max HR (bpm)",
        "Average HR (bpm)",
        "HR Zone 1 %",
        "HR Zone 2 %",
        "HR Zone 3 %",
        "HR Zone 4 %",
        "HR Zone 5 %",
        "GPS enabled",
    ]
    cycles, sleeps, workouts = [], [], []
    for i, day in enumerate(a.days):
        z, _ = _whoop_tz(day.d)
        n = day.night
        # a cycle starts at sleep onset of the night ending on d and ends at the next onset
        start = (
            n.start_utc.astimezone(z)
            if n
            else datetime(day.d.year, day.d.month, day.d.day, tzinfo=z) - timedelta(hours=1)
        )
        nxt = a.days[i + 1].night if i + 1 < len(a.days) else None
        end = nxt.start_utc.astimezone(z) if nxt else None
        label = _whoop_offset_label(start)
        end_s = end.strftime(fmt) if end else ""  # the current cycle has no end yet
        strain = round(sum(s.minutes * s.rpe for s in day.sessions) / 40, 1)
        sleep_part = ["", "", "", "", "", "", "", "", "", "", "", "", ""]
        if n:
            sleep_part = [
                n.start_utc.astimezone(z).strftime(fmt),
                n.end_utc.astimezone(z).strftime(fmt),
                85,
                15.2,
                n.asleep_min,
                n.asleep_min + n.awake_min,
                n.light_min,
                n.deep_min,
                n.rem_min,
                n.awake_min,
                480,
                max(0, 480 - n.asleep_min),
                round(100 * n.asleep_min / (n.asleep_min + n.awake_min)),
            ]
        cycles.append(
            [
                start.strftime(fmt),
                end_s,
                label,
                60 if day.rhr else "",
                day.rhr or "",
                round(day.hrv) if day.hrv else "",
                33.4,
                96.5,
                strain,
                2300,
                170,
                70,
            ]
            + sleep_part
        )
        if n:
            sleeps.append([start.strftime(fmt), end_s, label] + sleep_part + ["false"])
        if i % 23 == 5:  # an afternoon nap now and then
            ns = datetime(day.d.year, day.d.month, day.d.day, 14, 10, tzinfo=z)
            sleeps.append(
                [
                    start.strftime(fmt),
                    end_s,
                    label,
                    ns.strftime(fmt),
                    (ns + timedelta(minutes=25)).strftime(fmt),
                    "",
                    14.8,
                    22,
                    25,
                    15,
                    3,
                    4,
                    3,
                    "",
                    "",
                    88,
                    "true",
                ]
            )
        for s in day.sessions:
            ws = s.start_utc.astimezone(z)
            we = ws + timedelta(minutes=s.minutes)
            workouts.append(
                [
                    start.strftime(fmt),
                    end_s,
                    label,
                    ws.strftime(fmt),
                    we.strftime(fmt),
                    s.minutes,
                    "Rowing",
                    round(s.minutes * s.rpe / 45, 1),
                    round(s.minutes * 10),
                    s.max_hr,
                    s.avg_hr,
                    10,
                    20,
                    40,
                    25,
                    5,
                    "false",
                ]
            )
    for name, cols, rows in (
        ("physiological_cycles.csv", cyc_cols, cycles[::-1]),
        ("sleeps.csv", slp_cols, sleeps[::-1]),
        ("workouts.csv", wo_cols, workouts[::-1]),
    ):
        with open(folder / name, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            w.writerows(rows)  # WHOOP lists the newest cycle first


# ---------------------------------------------------------------- Garmin DI_CONNECT (zipped)
def write_garmin_zip(a: Athlete, path: Path) -> None:
    tz = ZoneInfo(a.tz)
    acts, sleeps, uds = [], [], []
    aid = 12_000_000_000
    for day in a.days:
        for s in day.sessions:
            aid += 7919
            local = s.start_utc.astimezone(tz)
            off_ms = int(local.utcoffset().total_seconds() * 1000)
            begin = int(s.start_utc.timestamp() * 1000)
            acts.append(
                {
                    "activityId": aid,
                    "name": f"{a.tz.split('/')[1]} {GARMIN_TYPE[s.sport].replace('_', ' ').title()}",
                    "activityType": GARMIN_TYPE[s.sport],
                    "sportType": GARMIN_TYPE[s.sport].upper(),
                    "beginTimestamp": begin,
                    "startTimeGmt": begin,
                    "startTimeLocal": begin + off_ms,
                    "duration": s.minutes * 60 * 1000.0,
                    "movingDuration": s.minutes * 60 * 1000.0 - 30000,
                    "elapsedDuration": s.minutes * 60 * 1000.0 + 60000,
                    "distance": s.distance_km * 100000.0,
                    "avgHr": float(s.avg_hr),
                    "maxHr": float(s.max_hr),
                    "calories": s.minutes * 11.0,
                    "activityTrainingLoad": round(s.minutes * s.rpe / 3.2, 1),
                    "aerobicTrainingEffect": 3.1,
                    "deviceId": 3957341234,
                    "manufacturer": "GARMIN",
                    "lapCount": 3,
                }
            )
        n = day.night
        if n:
            sleeps.append(
                {
                    "sleepStartTimestampGMT": n.start_utc.strftime("%Y-%m-%dT%H:%M:%S.0"),
                    "sleepEndTimestampGMT": n.end_utc.strftime("%Y-%m-%dT%H:%M:%S.0"),
                    "calendarDate": day.d.isoformat(),
                    "sleepWindowConfirmationType": "ENHANCED_CONFIRMED_FINAL",
                    "deepSleepSeconds": int(n.deep_min * 60),
                    "lightSleepSeconds": int(n.light_min * 60),
                    "remSleepSeconds": int(n.rem_min * 60),
                    "awakeSleepSeconds": int(n.awake_min * 60),
                    "unmeasurableSeconds": 0,
                    "averageRespiration": 14.0,
                    "awakeCount": 1,
                    "sleepScores": {"overallScore": 78, "qualityScore": 70},
                }
            )
        if day.rhr is not None:
            uds.append(
                {
                    "userProfilePK": 123456,
                    "calendarDate": day.d.isoformat(),
                    "restingHeartRate": day.rhr,
                    "minHeartRate": day.rhr - 3,
                    "maxHeartRate": 160,
                    "totalSteps": 9000,
                    "uuid": f"{day.d:%Y%m%d}-uds",
                }
            )
    members = {
        "DI_CONNECT/DI-Connect-Fitness/ivo@example.org_0_summarizedActivities.json": json.dumps(
            [{"summarizedActivitiesExport": acts}]
        ),
        "DI_CONNECT/DI-Connect-Wellness/2026-05-18_2026-08-26_123456_sleepData.json": json.dumps(
            sleeps[:100], indent=1
        ),
        "DI_CONNECT/DI-Connect-Wellness/2026-08-26_2026-12-04_123456_sleepData.json": json.dumps(
            sleeps[100:], indent=1
        ),
        "DI_CONNECT/DI-Connect-Aggregator/UDSFile_2026-05-18_2026-11-15.json": json.dumps(uds),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in members.items():  # a fixed member date keeps the archive byte-reproducible
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 11, 16, 8, 0, 0)), text, zipfile.ZIP_DEFLATED)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------- Apple Health
def write_apple(a: Athlete, path: Path) -> None:
    tz = ZoneInfo(a.tz)

    def ts(dt: datetime) -> str:
        return dt.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %z")

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!DOCTYPE HealthData [",
        "<!ELEMENT HealthData (ExportDate,Me,(Record|Workout)*)>",
        "]>",
        '<HealthData locale="en_DE">',
        f' <ExportDate value="{ts(datetime(2026, 11, 16, 8, tzinfo=tz))}"/>',
        ' <Me HKCharacteristicTypeIdentifierDateOfBirth="1996-04-02" '
        'HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>',
    ]
    src = 'sourceName="Jo’s Apple Watch" sourceVersion="11.1" device="&lt;&lt;HKDevice&gt;&gt;"'
    for day in a.days:
        if day.rhr is not None:
            t = datetime(day.d.year, day.d.month, day.d.day, 21, tzinfo=tz)
            lines.append(
                f' <Record type="HKQuantityTypeIdentifierRestingHeartRate" {src} unit="count/min" '
                f'creationDate="{ts(t)}" startDate="{ts(t - timedelta(hours=20))}" endDate="{ts(t)}" '
                f'value="{day.rhr}"/>'
            )
            t2 = datetime(day.d.year, day.d.month, day.d.day, 6, 50, tzinfo=tz)
            lines.append(
                f' <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" {src} unit="ms" '
                f'creationDate="{ts(t2)}" startDate="{ts(t2)}" endDate="{ts(t2 + timedelta(minutes=1))}" '
                f'value="{day.sdnn}"/>'
            )
        n = day.night
        if n:
            # the phone logs time in bed; the watch logs stages (they overlap and must not be double counted)
            lines.append(
                f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="Jo’s iPhone" sourceVersion="18.1" '
                f'creationDate="{ts(n.end_utc)}" startDate="{ts(n.start_utc)}" endDate="{ts(n.end_utc)}" '
                'value="HKCategoryValueSleepAnalysisInBed"/>'
            )
            t = n.start_utc + timedelta(minutes=n.awake_min / 2)
            for kind, mins in (
                ("AsleepCore", n.light_min / 2),
                ("AsleepDeep", n.deep_min),
                ("AsleepCore", n.light_min / 2),
                ("AsleepREM", n.rem_min),
            ):
                e = t + timedelta(minutes=mins)
                lines.append(
                    f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" {src} creationDate="{ts(n.end_utc)}" '
                    f'startDate="{ts(t)}" endDate="{ts(e)}" value="HKCategoryValueSleepAnalysis{kind}"/>'
                )
                t = e
    lines.append("</HealthData>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    rng = random.Random(SEED)
    athletes = team()
    for a in athletes:
        simulate(a, random.Random(f"{SEED}-{a.id}"))
    if OUT.exists():
        shutil.rmtree(OUT)
    by = {a.id: a for a in athletes}
    write_fit(by["ana"], OUT / "ana" / "garmin", rng, wellness=True)
    write_generic(by["ben"], OUT / "ben")
    write_generic(by["carla"], OUT / "carla")
    write_strava(by["dev"], OUT / "dev" / "strava_export", rng, with_rpe=True)
    write_generic(by["dev"], OUT / "dev", sessions=False)
    write_oura(by["eli"], OUT / "eli" / "oura")
    write_generic(by["eli"], OUT / "eli", sleep=False, daily=False)
    write_whoop(by["fay"], OUT / "fay" / "my_whoop_data_2026_11_16")
    write_generic(by["gus"], OUT / "gus")
    write_fit(by["hana"], OUT / "hana" / "watch", rng, wellness=False)
    write_generic(by["hana"], OUT / "hana", sessions=False)
    write_garmin_zip(by["ivo"], OUT / "ivo" / "garmin_connect_export.zip")
    write_fit(by["jo"], OUT / "jo" / "watch", rng, wellness=False)
    write_strava(by["jo"], OUT / "jo" / "strava_export", rng, with_rpe=False)
    write_apple(by["jo"], OUT / "jo" / "apple_health_export" / "export.xml")
    roster = {
        a.id: {"name": a.name, "tz": a.tz, "hr_rest_bpm": a.hr_rest, "hr_max_bpm": a.hr_max, "story": a.story}
        for a in athletes
    }
    (OUT.parent / "roster.json").write_text(json.dumps(roster, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for p in OUT.rglob('*') if p.is_file())} files, {total / 1e6:.2f} MB, {START}..{END}")


if __name__ == "__main__":
    main()
