"""FIT recordings that went wrong (issue 17): kept, with honest notes and a lower load confidence.

Each case is reproduced from a real corpus file edited with ``fit_surgery``
(session message stripped or corrupted, elapsed time set to 31 days, file cut
before its session message, header left at 0 data bytes, local timestamp
equal to UTC as COROS/TomTom write it). Expected values are the values of
the original, intact session message (read by fitdecode in
``test_fit.py``), or of the records as fitdecode reads them.
"""

from __future__ import annotations

import struct
from datetime import date, datetime, timezone
from itertools import pairwise
from pathlib import Path

import polars as pl
import pytest

from connectors import fit
from connectors.base import CorruptFileError, OnBadRow, ReadContext
from features.load import assign_session_loads
from tests.connectors import fit_surgery as fs
from tests.connectors.fit_builder import Builder, fit_time

CTX = ReadContext(athlete_id="a")
EDGE = "fit/activity/fit2gpx__Edge-25-2047912212.fit"  # 12 laps, session 7458.007 s, 55,436.92 m, HR 153/183
LOWBAT = "fit/activity/muktihari__activity_lowbattery.fit"  # 4 laps, session 3975.076 s, 28,156.69 m, UTC-6


def _read(tmp_path: Path, data: bytes, ctx: ReadContext = CTX):
    p = tmp_path / "x.fit"
    p.write_bytes(data)
    return fit.read(p, ctx)


@pytest.fixture(scope="module")
def edge(corpus_dir) -> tuple[bytes, dict]:
    data = (corpus_dir / EDGE).read_bytes()
    return data, fit.read(corpus_dir / EDGE, CTX).sessions.row(0, named=True)


@pytest.fixture(scope="module")
def lowbat(corpus_dir) -> tuple[bytes, dict]:
    data = (corpus_dir / LOWBAT).read_bytes()
    return data, fit.read(corpus_dir / LOWBAT, CTX).sessions.row(0, named=True)


def _same_session(row: dict, orig: dict, *, duration_rel: float = 1e-9, kcal: bool = True) -> None:
    assert row["start_utc"] == orig["start_utc"]
    assert row["local_date"] == orig["local_date"]
    assert row["sport"] == orig["sport"]
    assert row["duration_s"] == pytest.approx(orig["duration_s"], rel=duration_rel)
    assert row["distance_m"] == pytest.approx(orig["distance_m"], abs=0.05)
    assert row["max_hr_bpm"] == orig["max_hr_bpm"]
    assert row["avg_hr_bpm"] == pytest.approx(orig["avg_hr_bpm"], abs=1.0)
    if kcal:
        assert row["energy_kcal"] == orig["energy_kcal"]
    assert sum(row["hr_hist_s"]) == pytest.approx(sum(orig["hr_hist_s"]), abs=1)


def test_original_sessions_are_not_marked(edge, lowbat):
    assert edge[1]["recording_repair"] is None and lowbat[1]["recording_repair"] is None


def test_missing_session_message_rebuilt_from_laps(tmp_path, edge):
    data, orig = edge
    res = _read(tmp_path, fs.drop(data, {18}))
    assert res.sessions.height == 1
    row = res.sessions.row(0, named=True)
    # the 12 lap timer times add up to the session's 7458.007 s exactly; HR is the timer-weighted lap average
    _same_session(row, orig)
    assert row["recording_repair"] == "session_from_laps"
    assert any("no session message" in w and "rebuilt from 12 lap message(s)" in w for w in res.warnings)


def test_missing_session_and_laps_rebuilt_from_records(tmp_path, edge):
    data, orig = edge
    res = _read(tmp_path, fs.drop(data, {18, 19}))
    row = res.sessions.row(0, named=True)
    # timer time from the records: gaps over 30 s are pauses. 7540 s vs the device's 7458 s (+1.1 %: the device
    # auto-pauses on short stops the record stream does not show). Distance = the last cumulative record.distance.
    _same_session(row, orig, duration_rel=0.015, kcal=False)
    assert row["energy_kcal"] is None  # records carry no calories: null, never 0
    assert row["elapsed_s"] == pytest.approx(orig["elapsed_s"], abs=1)
    assert row["recording_repair"] == "session_from_records"
    assert any("rebuilt from 2399 record messages" in w for w in res.warnings)


def test_elapsed_time_of_31_days_is_nulled_and_the_ride_kept(tmp_path, lowbat):
    data, orig = lowbat
    res = _read(tmp_path, fs.patch(data, 18, 7, 2_656_055_000))  # unit left running: 2,656,055 s
    row = res.sessions.row(0, named=True)
    _same_session(row, orig)
    assert row["elapsed_s"] is None
    assert row["recording_repair"] == "elapsed_nulled"
    off = fs.first_offset(data, 18)
    assert any(
        f"session message at byte {off}: total_elapsed_time 2656055 s (30.7 days) is impossible" in w
        for w in res.warnings
    ), res.warnings


def test_elapsed_shorter_than_timer_is_impossible(tmp_path, lowbat):
    data, orig = lowbat
    res = _read(tmp_path, fs.patch(data, 18, 7, 1_000_000))  # 1000 s elapsed for 3975 s of timer time
    row = res.sessions.row(0, named=True)
    assert row["elapsed_s"] is None and row["duration_s"] == pytest.approx(orig["duration_s"])
    assert any("shorter than the timer time 3975 s" in w for w in res.warnings)


def test_session_without_start_or_durations_completed_from_laps(tmp_path, lowbat):
    data, orig = lowbat
    bad = fs.patch(fs.patch(fs.patch(data, 18, 2, None), 18, 7, None), 18, 8, None)
    res = _read(tmp_path, bad)
    row = res.sessions.row(0, named=True)
    _same_session(row, orig)
    assert row["recording_repair"] == "completed_from_laps"
    assert row["device_load"] == orig["device_load"]  # what the session message has is kept
    assert any("lacks start_time and total_timer_time" in w and "4 lap message(s)" in w for w in res.warnings)


def test_session_without_start_or_durations_completed_from_records(tmp_path, lowbat):
    data, orig = lowbat
    bad = fs.drop(fs.patch(fs.patch(fs.patch(data, 18, 2, None), 18, 7, None), 18, 8, None), {19})
    res = _read(tmp_path, bad)
    row = res.sessions.row(0, named=True)
    _same_session(row, orig, duration_rel=0.002)  # 3975 s from the records vs 3975.076 s
    assert row["recording_repair"] == "completed_from_records"
    assert any("taken from its 3976 record messages" in w for w in res.warnings)


def test_recording_cut_before_its_session_message(tmp_path, edge):
    data, orig = edge
    res = _read(tmp_path, fs.cut_before(data, 18))
    row = res.sessions.row(0, named=True)
    cut_at = fs.first_offset(data, 18) - 1
    # the activity message (local time) came after the session: without a zone the date is UTC, with a note
    assert row["local_offset_s"] == 0
    _same_session({**row, "local_date": orig["local_date"]}, orig)
    assert row["recording_repair"] == "session_from_laps"
    assert any(f"the recording was cut at byte {cut_at} before its session message" in w for w in res.warnings)
    with_zone = _read(tmp_path, fs.cut_before(data, 18), ReadContext(athlete_id="a", tz="Europe/Moscow"))
    assert with_zone.sessions["local_offset_s"].to_list() == [10800]


def test_recording_cut_mid_lap_counts_the_open_lap(tmp_path, corpus_dir, lowbat):
    import fitdecode

    data, orig = lowbat
    cut = data[: int(len(data) * 0.6)]
    res = _read(tmp_path, cut)
    row = res.sessions.row(0, named=True)
    # fitdecode on the cut copy: the complete laps and the records before the cut
    p = tmp_path / "cut.fit"
    p.write_bytes(cut)
    laps, rec_t, rec_d = [], [], []
    with fitdecode.FitReader(str(p), check_crc=fitdecode.CrcCheck.DISABLED) as r:
        try:
            for fr in r:
                if isinstance(fr, fitdecode.FitDataMessage) and fr.name == "lap":
                    laps.append((fr.get_value("timestamp"), fr.get_value("total_timer_time")))
                elif isinstance(fr, fitdecode.FitDataMessage) and fr.name == "record":
                    rec_t.append(fr.get_value("timestamp"))
                    if fr.get_value("distance", fallback=None) is not None:
                        rec_d.append(fr.get_value("distance"))
        except fitdecode.FitError:
            pass
    lap_end = laps[-1][0]
    tail = [lap_end] + [t for t in rec_t if t > lap_end]
    open_lap = sum(g for g in ((b - a).total_seconds() for a, b in pairwise(tail)) if g <= 30)
    assert open_lap > 120  # the cut falls inside the second lap
    assert row["duration_s"] == pytest.approx(sum(t for _, t in laps) + open_lap)
    assert row["elapsed_s"] == pytest.approx((rec_t[-1] - rec_t[0]).total_seconds())
    assert row["distance_m"] == pytest.approx(max(rec_d), abs=0.01)
    assert row["start_utc"] == orig["start_utc"]


def test_nick_cut_file_matches_its_records(corpus_dir):
    import fitdecode

    path = corpus_dir / "fit/corrupt/fitparse__nick.fit"
    row = fit.read(path, CTX).sessions.row(0, named=True)
    ts, hr, dist = [], [], []
    with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.DISABLED) as r:
        try:
            for fr in r:
                if isinstance(fr, fitdecode.FitDataMessage) and fr.name == "record":
                    ts.append(fr.get_value("timestamp"))
                    hr.append(fr.get_value("heart_rate", fallback=None))
                    dist.append(fr.get_value("distance", fallback=None))
        except fitdecode.FitError:
            pass
    assert row["start_utc"] == ts[0]
    assert row["elapsed_s"] == (ts[-1] - ts[0]).total_seconds()
    assert row["distance_m"] == pytest.approx(max(d for d in dist if d is not None), abs=0.01)
    assert row["max_hr_bpm"] == max(h for h in hr if h is not None)
    gaps = [(b - a).total_seconds() for a, b in pairwise(ts)]
    assert row["duration_s"] == sum(g for g in gaps if g <= 30)
    assert row["recording_repair"] == "session_from_records"


def test_header_with_zero_data_bytes_is_read_not_a_crc_mismatch(tmp_path, edge):
    data, orig = edge
    z = bytearray(data)
    struct.pack_into("<I", z, 4, 0)  # the device never wrote the data size
    res = _read(tmp_path, bytes(z))
    _same_session(res.sessions.row(0, named=True), orig)
    assert res.sessions["recording_repair"].to_list() == [None]
    assert any("file header announces 0 data bytes (the recording was never finalised)" in w for w in res.warnings)
    # ... and cut mid-recording: rebuilt from the laps and records read
    res = _read(tmp_path, bytes(z[: len(z) // 2]))
    assert res.sessions["recording_repair"].to_list() == ["session_from_laps"]
    assert any("never finalised" in w and "rebuilt from" in w for w in res.warnings)
    # ... and with no data at all: the rejection says so (it used to say "CRC mismatch")
    empty = fs.rebuild(data, data[0], b"", data_size=0)
    with pytest.raises(CorruptFileError) as info:
        _read(tmp_path, empty)
    assert "announces 0 data bytes and no data follows" in info.value.message
    assert "CRC" not in info.value.message


def test_rebuilt_rows_get_a_lower_load_confidence(tmp_path, edge):
    data, _ = edge
    rebuilt = _read(tmp_path, fs.drop(data, {18})).sessions
    plain = rebuilt.with_columns(pl.lit(None, dtype=pl.String).alias("recording_repair"))
    both = pl.concat([plain, rebuilt.with_columns(pl.col("start_utc") + pl.duration(days=1))])
    out = assign_session_loads(both, hr_rest_bpm={"a": 50.0}, hr_max_bpm={"a": 190.0})
    # same TRIMP from the same stream; the repaired row is one step less sure
    assert out["load_au"][0] == pytest.approx(out["load_au"][1])
    assert out["load_confidence"].to_list() == ["high", "medium"]


def test_skip_mode_never_blames_a_cut_file(tmp_path):
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [4, 5])
    b.define(1, 18, [(253, "uint32"), (2, "uint32"), (5, "enum"), (8, "uint32"), (16, "uint8")])
    t0 = fit_time(datetime(2025, 6, 1, 6, tzinfo=timezone.utc))
    b.data(1, [t0 + 3600, t0, 1, 3600 * 1000, 251])  # avg HR 251 bpm: implausible
    res = _read(tmp_path, b.to_bytes(), ReadContext(athlete_id="a", on_bad_row=OnBadRow.SKIP))
    assert res.sessions.height == 0 and res.skipped_rows == 1
    assert any("avg_hr_bpm 251 outside the plausible range" in w for w in res.warnings)
    assert not any("cut" in w for w in res.warnings)


# ----------------------------------------------------------------------------- 00:00 local, local = UTC
def _monitoring(local_minus_utc: int, times: list[tuple[datetime, int]]) -> bytes:
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [32, 9])
    t = fit_time(times[0][0])
    b.define(1, 103, [(253, "uint32"), (0, "uint32")])
    b.data(1, [t, t + local_minus_utc])
    b.define(2, 211, [(253, "uint32"), (0, "uint8"), (1, "uint8")])
    for when, v in times:
        b.data(2, [fit_time(when), 50, v])
    return b.to_bytes()


def test_resting_hr_written_at_local_midnight_belongs_to_the_day_that_ended(tmp_path):
    # UTC+2: 22:00 UTC on 3 March is 00:00 local on 4 March -> the value of 3 March
    data = _monitoring(
        7200,
        [
            (datetime(2025, 3, 3, 8, 0, tzinfo=timezone.utc), 55),
            (datetime(2025, 3, 3, 22, 0, tzinfo=timezone.utc), 53),
            (datetime(2025, 3, 3, 22, 1, tzinfo=timezone.utc), 61),
        ],
    )
    res = _read(tmp_path, data)
    assert res.wellness.sort("date").select("date", "rhr_bpm").rows() == [
        (date(2025, 3, 3), 53.0),
        (date(2025, 3, 4), 61.0),
    ]


def test_read_order_does_not_change_a_days_resting_hr(tmp_path):
    """Two daily files: the 00:00 value of the next file no longer overwrites the new day."""
    day1 = _monitoring(
        0, [(datetime(2025, 3, 3, 7, tzinfo=timezone.utc), 52), (datetime(2025, 3, 4, 0, 0, tzinfo=timezone.utc), 50)]
    )
    r1 = _read(tmp_path, day1)
    assert r1.wellness.select("date", "rhr_bpm").rows() == [(date(2025, 3, 3), 50.0)]


def test_local_equal_to_utc_prefers_the_configured_zone(tmp_path, lowbat):
    data, orig = lowbat
    assert orig["local_offset_s"] == -21600
    acts = fs.walk(data)[1]
    act = next(m for m in acts if not m.definition and m.gnum == 34)
    # copy activity.timestamp into activity.local_timestamp (COROS, TomTom)
    pos, ts = act.offset + 1, None
    for num, size, _bt in act.fields:
        if num == 253:
            ts = struct.unpack_from("<I", data, pos)[0]
        pos += size
    coros = fs.patch(data, 34, 5, ts)
    res = _read(tmp_path, coros, ReadContext(athlete_id="a", tz="America/Denver"))
    row = res.sessions.row(0, named=True)
    assert row["local_offset_s"] == -21600 and row["local_date"] == orig["local_date"]
    assert any("equals its timestamp (local offset 0" in w and "America/Denver" in w for w in res.warnings)
    # no zone configured: 0 stands (nothing better is known)
    assert _read(tmp_path, coros).sessions["local_offset_s"].to_list() == [0]
    # a zone that agrees (UTC) or a real non-zero offset: no note, the file wins
    assert not any(
        "equals its timestamp" in w for w in _read(tmp_path, coros, ReadContext(athlete_id="a", tz="UTC")).warnings
    )
    real = _read(tmp_path, data, ReadContext(athlete_id="a", tz="Asia/Tokyo"))
    assert real.sessions["local_offset_s"].to_list() == [-21600]


def test_monitoring_local_equal_to_utc_prefers_the_configured_zone(tmp_path):
    # 23:30 UTC = 00:30 on the next day in Europe/Berlin (UTC+1 in March)
    data = _monitoring(0, [(datetime(2025, 3, 3, 23, 30, tzinfo=timezone.utc), 57)])
    assert _read(tmp_path, data).wellness["date"].to_list() == [date(2025, 3, 3)]
    res = _read(tmp_path, data, ReadContext(athlete_id="a", tz="Europe/Berlin"))
    assert res.wellness["date"].to_list() == [date(2025, 3, 4)]
    assert any("monitoring_info.local_timestamp equals its timestamp" in w for w in res.warnings)


def test_course_file_records_are_a_route_not_a_workout(tmp_path):
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [6, 7])  # file type 6: course
    b.define(1, 20, [(253, "uint32"), (3, "uint8")])
    t0 = fit_time(datetime(2025, 6, 1, 6, tzinfo=timezone.utc))
    for k in range(600):
        b.data(1, [t0 + k, 120])
    res = _read(tmp_path, b.to_bytes())
    assert res.sessions.height == 0
    assert any("has no messages the pipeline uses" in w for w in res.warnings)


def test_multisport_cut_in_the_last_leg_keeps_every_leg(tmp_path, corpus_dir):
    """A triathlon whose watch crashed before the run's session message: the run is rebuilt from its laps."""
    path = corpus_dir / "fit/activity/muktihari__triathlon_summary_last.fit"
    data = path.read_bytes()
    orig = fit.read(path, CTX).sessions
    last = [m for m in fs.walk(data)[1] if not m.definition and m.gnum == 18][-1]
    res = _read(tmp_path, data[: last.offset])
    got = res.sessions
    assert got["sport"].to_list() == orig["sport"].to_list()
    assert got["recording_repair"].to_list() == [None] * 4 + ["session_from_laps"]
    run, want = got.row(4, named=True), orig.row(4, named=True)
    assert run["start_utc"] == want["start_utc"]
    assert run["duration_s"] == pytest.approx(want["duration_s"])  # 1573.613 s: the sum of the run's laps
    assert run["distance_m"] == pytest.approx(want["distance_m"], abs=1.0)
    assert run["max_hr_bpm"] == want["max_hr_bpm"]
    assert any(f"cut at byte {last.offset} after 4 session message(s)" in w for w in res.warnings)
    # the legs before keep their session messages' values
    for c in ("duration_s", "distance_m", "avg_hr_bpm"):
        assert got[c].to_list()[:4] == orig[c].to_list()[:4]


def test_unit_left_running_without_a_session_keeps_the_ride(tmp_path):
    """Records of a 1-hour ride, then one record 20 days later (the unit left on), no session message."""
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [4, 5])
    b.define(1, 20, [(253, "uint32"), (3, "uint8")])
    t0 = fit_time(datetime(2025, 6, 1, 6, tzinfo=timezone.utc))
    for k in range(0, 3600, 5):
        b.data(1, [t0 + k, 130])
    b.data(1, [t0 + 20 * 86400, 70])
    res = _read(tmp_path, b.to_bytes())
    row = res.sessions.row(0, named=True)
    # 719 five-second intervals = 3595 s of timer time; the 20-day gap is a pause, not riding
    assert row["duration_s"] == 3595.0 and row["elapsed_s"] is None
    assert row["recording_repair"] == "session_from_records"
    assert any("span 20.0 days" in w for w in res.warnings)


def test_no_start_and_an_impossible_elapsed_time(tmp_path, lowbat):
    """start = end - elapsed would put the ride 31 days early: the start comes from the laps instead."""
    data, orig = lowbat
    res = _read(tmp_path, fs.patch(fs.patch(data, 18, 7, 2_656_055_000), 18, 2, None))
    row = res.sessions.row(0, named=True)
    assert row["start_utc"] == orig["start_utc"] and row["elapsed_s"] is None
    assert row["duration_s"] == pytest.approx(orig["duration_s"])
    assert row["recording_repair"] == "completed_from_laps"
    assert sum(row["hr_hist_s"]) == pytest.approx(sum(orig["hr_hist_s"]), abs=1)
