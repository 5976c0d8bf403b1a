"""One workout, one load, whatever recorded it (issue 14, items 2 and 3).

* A real corpus FIT activity presented as two recordings (another device's serial number, start
  0 or 1 s apart): both are stored, counted once, and explained by ``ledger --merges``.
* An athlete whose Fitbit exercise export is mostly auto-detected walks, with PMSys RPE logs whose
  start is back-computed from the time of logging: the walks stay out of the load, the logged
  workouts merge with the watch's recordings by time overlap, and the load family is sRPE.
* The real SoccerMon RPE logs have no start time: a log merges with the one device session of its
  day when the pairing is unambiguous (one candidate each way), never when two logs of the day
  could both be the device's session.
"""

from __future__ import annotations

import json
import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from connectors import registry
from connectors.base import ReadContext
from connectors.fit_decode import decode, fit_crc
from features.merge import merge_duplicate_sessions
from features.schemas import SESSIONS, conform
from pipelines.ingest import ingest_paths, read_merges
from pipelines.stage_features import read_load_families, run_features
from pipelines.store import Store

RUN = "fit/activity/fitparse__garmin-fenix-5-run.fit"


def _second_device(data: bytes, serial: int, new_serial: int, shift_s: int) -> bytes:
    """The same recording as another device wrote it: other serial, session start ``shift_s`` later."""
    out = bytearray(data[:-2].replace(struct.pack("<I", serial), struct.pack("<I", new_serial)))
    if shift_s:
        sess = decode(bytes(data)).all(18)[0]
        start = struct.pack("<I", sess[2])
        at = bytes(out).rfind(start)  # the session message's start_time (the last occurrence)
        out[at : at + 4] = struct.pack("<I", sess[2] + shift_s)
    return bytes(out) + struct.pack("<H", fit_crc(bytes(out)))


@pytest.mark.parametrize("shift_s", [0, 1])
def test_one_workout_from_two_devices_counts_once(corpus_dir, tmp_path, shift_s):
    data = (corpus_dir / RUN).read_bytes()
    serial = decode(data).all(0)[0][3]
    inp = tmp_path / "inputs" / "zed"
    inp.mkdir(parents=True)
    (inp / "watch.fit").write_bytes(data)
    (inp / "bike_computer.fit").write_bytes(_second_device(data, serial, 1234567890, shift_s))
    store = Store(tmp_path / "store")
    summary = ingest_paths(store, [tmp_path / "inputs"], workers=1)
    assert summary.ok and summary.ingested == 2
    s = store.read_table("sessions")
    # both recordings are stored (the store key includes the device): the second file does not replace the first
    assert s.height == 2 and sorted(s["device_id"].to_list()) == ["1:1234567890", f"1:{serial}"]
    assert (s["start_utc"].max() - s["start_utc"].min()).total_seconds() == shift_s
    m = read_merges(store)
    assert m.height == 1 and summary.merged_sessions == 1
    assert "two devices" in m["reason"][0] and f"1:{serial}" in m["reason"][0]
    day = s["local_date"][0]
    run_features(store, as_of=day)
    d = store.read_table("daily").filter(pl.col("date") == day)
    assert d["n_sessions"].to_list() == [1]  # counted once
    from pipelines.cli import app

    out = CliRunner().invoke(app, ["ledger", "--merges", "--store", str(tmp_path / "store")])
    assert out.exit_code == 0, out.output
    assert "two devices" in out.output and "total: 1 duplicates merged" in out.output
    assert "load family per athlete" in out.output and "zed" in out.output


def _fitbit_exercise(path: Path, runs: list[datetime], walks: list[datetime]) -> None:
    """A Fitbit exercise export (layout of the Takeout ``exercise-N.json``)."""
    rec = []
    for i, t in enumerate(runs):
        rec.append(
            {
                "logId": 1000 + i,
                "activityName": "Run",
                "averageHeartRate": 150,
                "calories": 500,
                "duration": 2700000,
                "activeDuration": 2700000,
                "logType": "tracker",
                "startTime": t.strftime("%m/%d/%y %H:%M:%S"),
            }
        )
    for i, t in enumerate(walks):
        rec.append(
            {
                "logId": 2000 + i,
                "activityName": "Walk",
                "averageHeartRate": 95,
                "calories": 120,
                "duration": 1200000,
                "activeDuration": 1200000,
                "logType": "auto_detected",
                "startTime": t.strftime("%m/%d/%y %H:%M:%S"),
            }
        )
    path.write_text(json.dumps(rec))


def test_rpe_logs_beat_auto_detected_walks(tmp_path):
    # 6 runs the watch recorded (45 min), 30 auto-detected walks (20 min), all local time = UTC here;
    # the athlete logged each run in PMSys 20 min after it ended (start back-computed: 20 min late),
    # plus 2 team sessions without the watch
    d0 = datetime(2019, 11, 4, 7, 0)
    runs = [d0 + timedelta(days=2 * i) for i in range(6)]
    walks = [d0 + timedelta(days=i // 3, hours=4 + 3 * (i % 3)) for i in range(30)]
    inp = tmp_path / "inputs" / "p07"
    (inp / "fitbit").mkdir(parents=True)
    (inp / "pmsys").mkdir(parents=True)
    _fitbit_exercise(inp / "fitbit" / "exercise-0.json", runs, walks)
    lines = ["end_date_time,activity_names,perceived_exertion,duration_min"]
    for t in runs:
        logged = t + timedelta(minutes=45 + 20)
        lines.append(f"{logged:%Y-%m-%dT%H:%M:%S}.000Z,\"['individual', 'running']\",6,45")
    for k in (1, 3):
        logged = d0 + timedelta(days=k, hours=11, minutes=30)
        lines.append(f"{logged:%Y-%m-%dT%H:%M:%S}.000Z,\"['team', 'soccer']\",7,90")
    (inp / "pmsys" / "srpe.csv").write_text("\n".join(lines) + "\n")
    store = Store(tmp_path / "store")
    assert ingest_paths(store, [tmp_path / "inputs"], tz_for=lambda a: "UTC", workers=1).ok
    assert store.read_table("sessions").height == 6 + 30 + 8
    m = read_merges(store)
    # each run recorded by the watch and logged in PMSys is one workout: merged by overlap
    assert m.height == 6 and set(m["dropped_source"]) == {"pmsys"}
    assert all("overlap" in r and "rpe from pmsys" in r for r in m["reason"])
    as_of = (d0 + timedelta(days=11)).date()
    run_features(store, as_of=as_of)
    fam = read_load_families(store)["p07"]
    # by session count the tracker wins (36 Fitbit rows vs 8 logs); by training time, with the walks
    # kept out of the load, the RPE covers every workout
    assert fam["family"] == "srpe"
    assert "srpe 100%" in fam["reason"] and "30 device-detected everyday session(s) (600 min)" in fam["reason"]
    d = store.read_table("daily").sort("date")
    assert d["everyday_min"].sum() == 600.0
    run_days = {t.date() for t in runs}
    got = {r["date"]: r["load_au"] for r in d.iter_rows(named=True)}
    for day in run_days:
        assert got[day] == 6 * 45.0  # the log's RPE x the watch's 45 min, once (not twice, no walks)
    assert got[(d0 + timedelta(days=1)).date()] == 7 * 90.0
    assert d["n_sessions"].sum() == 8


def test_soccermon_date_only_logs_merge_one_to_one(soccermon_dir):
    sessions = registry.read(soccermon_dir / "training-load" / "session.json", ReadContext(tz="Europe/Oslo")).sessions
    player = sessions.group_by("athlete_id").len().sort("len", descending=True)["athlete_id"][0]
    logs = sessions.filter(pl.col("athlete_id") == player).sort("start_utc")
    per_day = logs.group_by("local_date").agg(
        pl.len(), (pl.col("duration_s").max() / pl.col("duration_s").min()).alias("spread")
    )
    single = per_day.filter(pl.col("len") == 1)["local_date"].sort().to_list()[:20]
    # two logs of similar length (either could be the device's session): ambiguous
    double = per_day.filter((pl.col("len") == 2) & (pl.col("spread") <= 1.3))["local_date"].sort().to_list()[:10]
    assert len(single) == 20 and len(double) == 10
    # a GPS vest / watch session on each of those days at 17:00 local, as long as the first log of the day
    dev = []
    for day in single + double:
        minutes = logs.filter(pl.col("local_date") == day)["duration_s"][0] / 60
        start = datetime(day.year, day.month, day.day, 15, 0, tzinfo=timezone.utc)
        dev.append(
            {
                "athlete_id": player,
                "source": "fit",
                "start_utc": start,
                "local_date": day,
                "sport": "soccer",
                "duration_s": minutes * 60 + 120,
                "avg_hr_bpm": 150.0,
                "device_id": "1:42",
            }
        )
    both = pl.concat([logs, conform(pl.DataFrame(dev), SESSIONS)], how="diagonal_relaxed")
    kept, log = merge_duplicate_sessions(both)
    merged_days = set(log["dropped_start_utc"].dt.convert_time_zone("Europe/Oslo").dt.date().to_list())
    positive = logs.filter(pl.col("local_date").is_in(single) & (pl.col("duration_s") > 0))["local_date"].to_list()
    assert merged_days == set(positive)  # every day with one log and one device session: merged
    assert not merged_days & set(double)  # two similar logs, one device session: ambiguous, both logs kept
    assert all("gives only the date" in r for r in log["reason"])
    k = kept.filter(pl.col("local_date").is_in(positive))
    assert (k["source"] == "fit").all() and k["rpe"].null_count() == 0  # the device row, with the log's RPE
