"""The check-in CSV import on real team data: SoccerMon team A as if exported by a form service.

Reads ``../shared/datasets/soccermon-teamA`` in place (CC BY 4.0, Midoglu et al., Sci Data 2024;
doi 10.5281/zenodo.10033832) and writes, in a temporary folder only, a long "form responses" CSV:
one row per player and day with a sleep-quality report (PMSys 1-5, 5 = best, the direction of
strainwatch's ``sleep_quality_1_5``) and the previous day's sessions from ``session.json``
(minutes summed, RPE = sum of sRPE / minutes, rounded). PMSys soreness (1-5, 1 = very sore) is
left out: its scale runs the other way from strainwatch's 0-10 and the column mapping has no
value transforms.

Then it imports that CSV with ``strainwatch checkin import`` semantics (:func:`read_form_csv`,
one answer file, ingest) into a temporary store, imports it again (must be unchanged), and
prints the time, the rows stored and the check-in compliance per player-week that the weekly
report would show.

    python benchmarks/checkin_import.py
"""

from __future__ import annotations

import csv
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

DATA = REPO.parent / "shared" / "datasets" / "soccermon-teamA"
COLUMNS = {
    "athlete_id": "Player",
    "time": "Timestamp",
    "sleep_quality_1_5": "Sleep quality",
    "session_minutes": "Minutes yesterday",
    "session_rpe": "RPE yesterday",
}


def _d(s: str) -> date:
    return datetime.strptime(s, "%d.%m.%Y").date()


def form_csv(out: Path) -> tuple[int, int, list[str]]:
    with open(DATA / "wellness" / "sleep_quality.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    players = rows[0][1:]
    sessions: dict[tuple[str, date], list[dict]] = defaultdict(list)
    for p, items in json.loads((DATA / "training-load" / "session.json").read_text()).items():
        for s in items:
            sessions[(p, _d(s["date"]))].append(s)
    n = n_sess = 0
    skipped = []
    with open(out, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Timestamp", "Player", "Sleep quality", "Minutes yesterday", "RPE yesterday"])
        for r in rows[1:]:
            day = _d(r[0])
            for p, v in zip(players, r[1:], strict=False):
                if not v.strip():
                    continue
                mins = rpe = ""
                prev = sessions.get((p, day - timedelta(days=1)), [])
                total = sum(s["duration"] or 0 for s in prev)
                if prev and 0 < total <= 1440:
                    mins = str(int(total))
                    rpe = str(round(sum(s["srpe"] or 0 for s in prev) / total))
                    n_sess += 1
                elif prev:
                    skipped.append(f"{p[:14]} {day - timedelta(days=1)}: {total} min")
                w.writerow([f"{day:%d/%m/%Y} 07:30:00", p, v, mins, rpe])
                n += 1
    return n, n_sess, skipped


def main() -> None:
    if not DATA.is_dir():
        print(f"SoccerMon data not found at {DATA}; nothing to do")
        return
    from pipelines.checkin import ingest_answers, read_form_csv, write_answer_file
    from pipelines.store import Store
    from reports.checkin_compliance import checkin_compliance

    tmp = Path(tempfile.mkdtemp(prefix="sw-checkin-bench-"))
    src = tmp / "form-responses.csv"
    n, n_sess, skipped = form_csv(src)
    data = src.read_bytes()
    print(
        f"form CSV: {n} answers ({n_sess} with yesterday's sessions), {len(data) / 1e6:.2f} MB; "
        f"sessions left out (0 or > 1440 min in a day): {len(skipped)} {skipped[:3]}"
    )
    players = sorted({r.split(",")[1] for r in data.decode().splitlines()[1:]})
    t0 = time.perf_counter()
    try:
        answers = read_form_csv(
            data,
            name=src.name,
            columns=COLUMNS,
            time_format="%d/%m/%Y %H:%M:%S",
            true_words=["yes"],
            tz_for=lambda a: "Europe/Oslo",
            athletes=players,
        )
    except ValueError as err:
        print(f"refused: {err}")
        return
    t1 = time.perf_counter()
    root = tmp / "store"
    path = write_answer_file(root, answers, folder="_import", name="soccermon.checkin.json", team=True)
    t2 = time.perf_counter()
    s = ingest_answers(root, [path], lock_timeout_s=10)
    t3 = time.perf_counter()
    print(
        f"read+validate {t1 - t0:.2f} s, write answer file {t2 - t1:.2f} s ({path.stat().st_size / 1e6:.1f} MB), "
        f"ingest {t3 - t2:.2f} s: {s.ingested} file, {s.rows_added} rows added, rejected {s.rejected}"
    )
    again = ingest_answers(
        root, [write_answer_file(root, answers, folder="_import", name="soccermon.checkin.json", team=True)]
    )
    print(f"imported again: {again.ingested} ingested, {again.unchanged} unchanged")
    st = Store(root)
    w = st.read_table("wellness")
    ses = st.read_table("sessions")
    print(
        f"stored: wellness {w.height} rows, sessions {ses.height} rows, {len(st.all_athletes())} athletes, "
        f"{w['date'].min()} .. {w['date'].max()}"
    )
    # compliance as the weekly report counts it, over every ISO week with any answer
    per_week: list[int] = []
    first, last = w["date"].min(), w["date"].max()
    monday = first - timedelta(days=first.weekday())
    while monday <= last:
        rows = checkin_compliance(w, week_start=monday, week_end=monday + timedelta(days=6), athletes=players)
        per_week += [r["answered"] for r in rows if r["answered"]]
        monday += timedelta(days=7)
    dist = {k: per_week.count(k) for k in range(1, 8)}
    print(
        f"answered days per player-week (weeks with >= 1 answer): median {statistics.median(per_week)}, "
        f"mean {statistics.mean(per_week):.2f}; distribution 1..7 days: {dist}"
    )
    print(f"(scratch folder {tmp})")


if __name__ == "__main__":
    main()
