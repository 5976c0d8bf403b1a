"""Generate a synthetic team in the generic CSV import format (tests and benchmarks/nightly.py).

Layout: ``<root>/<athlete>/history-sessions.csv``, ``history-sleep.csv``,
``history-daily.csv`` for the history, and ``<root>/<athlete>/<date>-sessions.csv``
(and ``-sleep``, ``-daily``) for each later day, as an athlete dropping the
night's export would. Seeded: the same arguments give the same bytes.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

SESSIONS_HEADER = "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
SLEEP_HEADER = "athlete_id,sleep_start,sleep_end,total_sleep_min,deep_min,light_min,rem_min,awake_min,is_nap\n"
DAILY_HEADER = "athlete_id,date,resting_hr,hrv_rmssd_ms,back_pain_0_10,red_flag\n"


def athlete_ids(n: int) -> list[str]:
    return [f"ath{i:03d}" for i in range(n)]


def _rows(athlete: str, day: date, tz: ZoneInfo, rng: random.Random) -> tuple[list[str], list[str], list[str]]:
    sessions, sleep, daily = [], [], []
    if rng.random() > 0.2:  # about 5 training days out of 7
        start = datetime.combine(day, time(17, rng.choice((0, 15, 30))), tz)
        dur = rng.randint(30, 95)
        rpe = rng.randint(3, 8)
        sessions.append(
            f"{athlete},{start.isoformat()},{dur},running,{rng.randint(125, 165)},{rpe},"
            f"{dur * rng.uniform(0.15, 0.2):.2f}"
        )
    if rng.random() > 0.03:  # a few nights without the watch
        s = datetime.combine(day - timedelta(days=1), time(22, rng.randint(0, 59)), tz)
        e = datetime.combine(day, time(6, rng.randint(0, 59)), tz)
        in_bed = e.astimezone(ZoneInfo("UTC")) - s.astimezone(ZoneInfo("UTC"))  # real time across DST changes
        total = int(in_bed.total_seconds() // 60) - rng.randint(10, 40)
        deep = total // 5
        rem = total // 5
        sleep.append(
            f"{athlete},{s.isoformat()},{e.isoformat()},{total},{deep},{total - deep - rem},{rem},"
            f"{rng.randint(5, 30)},false"
        )
    if rng.random() > 0.05:
        daily.append(
            f"{athlete},{day.isoformat()},{rng.randint(46, 56)},{rng.uniform(45, 80):.1f},{rng.choice(('0', '1', ''))},"
        )
    return sessions, sleep, daily


def _write(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "".join(r + "\n" for r in rows), encoding="utf-8")


def write_history(
    root: Path, athletes: list[str], first: date, last: date, *, seed: int = 7, tz: str = "Europe/Berlin"
) -> list[Path]:
    """One history file per table and athlete covering ``first``..``last``."""
    zone = ZoneInfo(tz)
    out = []
    for a in athletes:
        rng = random.Random(f"{seed}-{a}")
        s_all, sl_all, d_all = [], [], []
        d = first
        while d <= last:
            s, sl, dd = _rows(a, d, zone, rng)
            s_all += s
            sl_all += sl
            d_all += dd
            d += timedelta(days=1)
        for name, header, rows in (
            ("sessions", SESSIONS_HEADER, s_all),
            ("sleep", SLEEP_HEADER, sl_all),
            ("daily", DAILY_HEADER, d_all),
        ):
            p = root / a / f"history-{name}.csv"
            _write(p, header, rows)
            out.append(p)
    return out


def write_day(
    root: Path,
    athletes: list[str],
    day: date,
    *,
    seed: int = 7,
    tz: str = "Europe/Berlin",
    tables: tuple[str, ...] = ("sessions", "sleep", "daily"),
    always_session: bool = True,
) -> list[Path]:
    """The night's new files for ``day`` (one file per table and athlete).

    With ``always_session`` (default) the day always has a session, so the
    load really changes; without it, about 1 day in 5 is a rest day as in
    :func:`write_history`.
    """
    zone = ZoneInfo(tz)
    out = []
    for a in athletes:
        rng = random.Random(f"{seed}-{a}-{day}")
        s, sl, dd = _rows(a, day, zone, rng)
        if not s and always_session:
            start = datetime.combine(day, time(18, 0), zone)
            s = [f"{a},{start.isoformat()},45,running,140,6,8.00"]
        for name, header, rows in (
            ("sessions", SESSIONS_HEADER, s),
            ("sleep", SLEEP_HEADER, sl),
            ("daily", DAILY_HEADER, dd),
        ):
            if name in tables and rows:
                p = root / a / f"{day.isoformat()}-{name}.csv"
                _write(p, header, rows)
                out.append(p)
    return out


def write_daily_history(
    root: Path, athletes: list[str], first: date, last: date, *, seed: int = 7, tz: str = "Europe/Berlin"
) -> list[Path]:
    """The input folder after nightly drops from ``first`` to ``last``: :func:`write_day` for each day.

    The layout a folder that athletes drop their nightly exports into has
    after a year (about 2.7 small files per athlete and day).
    """
    out: list[Path] = []
    d = first
    while d <= last:
        out += write_day(root, athletes, d, seed=seed, tz=tz, always_session=False)
        d += timedelta(days=1)
    return out
