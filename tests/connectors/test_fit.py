"""FIT connector: every corpus file has an expected outcome; values checked against fitdecode.

Corpus files are read in place from ``../shared/sample_corpus/fit`` (fixture
``corpus_dir``). Synthetic files for what the corpus lacks (sleep stages,
big-endian, compressed timestamps with a HR stream, developer fields, RPE)
are built in code with ``tests/connectors/fit_builder.py``.
"""

from __future__ import annotations

import functools
import math
import warnings
from datetime import date, datetime, timezone
from itertools import pairwise
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import fit, registry
from connectors.base import BadRowError, ConnectorError, CorruptFileError, OnBadRow, ReadContext
from connectors.fit_decode import decode, fit_crc
from connectors.fit_multisport import leg_groups
from features.schemas import SESSIONS, SLEEP, WELLNESS, require
from tests.connectors.fit_builder import Builder, crc16, fit_time

fitdecode = pytest.importorskip("fitdecode")

CTX = ReadContext(athlete_id="a")


# ----------------------------------------------------------------------------- expectations
def S(start: str, sport: str, duration_s: float, avg_hr: float | None, offset_s: int, hist_s: float | None):
    """One expected session: start (UTC), sport, timer time, avg HR, local offset, sum of hr_hist_s."""
    return (start, sport, duration_s, avg_hr, offset_s, hist_s)


SESSIONS_EXPECTED: dict[str, list[tuple]] = {
    "activity/fit2gpx__530-HRV.fit": [S("2020-08-02T07:29:14", "cycling", 724.451, 73, 10800, 725)],
    "activity/fit2gpx__530-breath.fit": [S("2020-08-01T11:44:45", "cycling", 8812.548, 148, 10800, 8828)],
    "activity/fit2gpx__Edge-25-2047912212.fit": [S("2017-10-05T12:50:18", "cycling", 7458.007, 153, 10800, 7549)],
    "activity/fit2gpx__FR-235-hiking-optical-HR-5573615933.fit": [
        S("2020-09-14T12:05:51", "generic", 7155.865, 105, 10800, 7155)
    ],
    "activity/fit2gpx__Fenix3-Ski-4634898924.fit": [
        S("2020-01-14T14:27:56", "cross_country_skiing", 1327.213, 132, 10800, 1325)
    ],
    # HR only in buffered hr messages (HRM-Tri): histogram from mesg 132 covers the swim
    "activity/fit2gpx__Fenix3-Swim-with-HRM-Tri-1285021986.fit": [
        S("2016-08-02T15:37:34", "swimming", 3200.852, 151, 10800, 3201)
    ],
    # apnea: record HR during surface intervals, hr messages fill the dives
    "activity/fitdecode__garmin-fr935-cr.fit": [S("2018-03-24T11:02:35", "swimming", 7552.97, 80, 3600, 7515)],
    "activity/fitparse__20170518-191602-1740899583.fit": [
        S("2017-05-18T16:37:30", "fitness_equipment", 1707.308, 132, 3600, 1709)
    ],
    "activity/fitparse__2019-02-17-062644-ELEMNT-297E-195-0.fit": [
        S("2019-02-17T06:26:44", "cycling", 13471.0, 124, 28800, 13636)
    ],
    # FR70 with the clock never set (relative times): start from activity.local_timestamp, UTC unknown
    "activity/fitparse__compressed-speed-distance.fit": [S("2012-02-13T11:16:16", "running", 3772.75, 170, 0, 3770)],
    "activity/fitparse__coros-pace-2-cycling-misaligned-fields.fit": [
        S("2020-10-25T11:10:19", "cycling", 11287.0, None, 0, 8946)
    ],
    "activity/fitparse__developer-types-sample.fit": [S("2017-01-17T17:06:47", "running", 3424.0, None, 0, 3424)],
    "activity/fitparse__garmin-fenix-5-run.fit": [S("2017-06-11T14:34:09", "running", 56.887, 90, -25200, 59)],
    "activity/fitparse__null_compressed_speed_dist.fit": [S("2017-10-05T00:04:06", "cycling", 1808.0, None, 0, None)],
    "activity/fitparse__sample_mulitple_header.fit": [
        S("2018-05-27T07:33:01", "swimming", 1987.521, 165, 7200, 1988),
        S("2018-05-27T08:06:08", "transition", 170.269, 176, 7200, 176),
        S("2018-05-27T08:08:58", "cycling", 4422.14, 172, 7200, 4428),
        S("2018-05-27T09:22:40", "transition", 60.724, 164, 7200, 66),
        S("2018-05-27T09:23:41", "running", 2850.694, 176, 7200, 2857),
    ],
    "activity/garmin-fit-python-sdk__HrmPluginTestActivity.fit": [
        S("2022-08-29T18:31:22", "walking", 309.0, 73, -21600, 310)
    ],
    "activity/muktihari__activity_lowbattery.fit": [S("2020-05-29T13:17:42", "cycling", 3975.076, 118, -21600, 3976)],
    "activity/muktihari__activity_multisport.fit": [
        S("2020-04-20T19:56:20", "cycling", 55.353, 69, -21600, 57),
        S("2020-04-20T19:57:15", "running", 21.519, 74, -21600, 23),
    ],
    "activity/muktihari__big_activity.fit": [S("2023-09-04T12:55:19", "cycling", 30877.0, None, 0, 30878)],
    "activity/muktihari__triathlon_summary_first.fit": [
        S("2023-09-02T13:15:24", "swimming", 675.701, 95, -18000, None),
        S("2023-09-02T13:26:40", "transition", 157.151, 104, -18000, 153),
        S("2023-09-02T13:29:18", "cycling", 1566.657, 164, -18000, 1568),
        S("2023-09-02T13:55:24", "transition", 69.623, 161, -18000, 71),
        S("2023-09-02T13:56:34", "running", 1573.613, 168, -18000, 1575),
    ],
    "activity/tormoder__0134902991.fit": [S("2021-03-04T12:04:26", "cycling", 720.318, None, 0, None)],
    "activity/tormoder__activity_poolswim_with_hr.fit": [
        S("2016-08-13T13:10:47", "swimming", 3485.293, 103, -21600, 3494)
    ],
    "activity/tormoder__mornindew-broken.fit": [S("2019-05-18T14:11:39", "running", 6855.96, 147, -21600, 6945)],
    "activity/tormoder__unterminated-strings.fit": [S("2023-11-08T10:19:38", "cycling", 32.0, 90, -14400, 31)],
    # corrupt files that are read up to the damage (warning) ...
    "corrupt/fit2gpx__Bryton-bad-data-170729181231.fit": [
        S("2017-07-29T15:12:31", "cycling", 4724.0, 167, 10800, 4801)
    ],
    "corrupt/fitparse__activity-activity-filecrc.fit": [S("2012-04-09T21:22:26", "running", 13.749, None, -14400, None)]
    * 2,
    "corrupt/fitparse__activity-filecrc.fit": [S("2012-04-09T21:22:26", "running", 13.749, None, -14400, None)],
    "corrupt/fitparse__activity-settings-corruptheader.fit": [
        S("2012-04-09T21:22:26", "running", 13.749, None, -14400, None)
    ],
    "corrupt/fitparse__activity-settings-nodata.fit": [S("2012-04-09T21:22:26", "running", 13.749, None, -14400, None)],
    "corrupt/fitparse__activity-unexpected-eof.fit": [S("2012-04-09T21:22:26", "running", 13.749, None, 0, None)],
    "corrupt/fitparse__strava-android-app-201.10-b1218918.fit": [
        S("2021-09-27T14:13:10", "running", 3558.0, None, 0, None)
    ],
    # cut before its session message (issue 17): rebuilt from its 14,391 records (first record 12:23:38, pauses
    # over 30 s left out of the timer time); the sport from its sport message
    "corrupt/fitparse__nick.fit": [S("2020-09-12T12:23:38", "cycling", 14384.0, 143, 0, 14391)],
}
SESSIONS_EXPECTED["activity/muktihari__triathlon_summary_last.fit"] = SESSIONS_EXPECTED[
    "activity/muktihari__triathlon_summary_first.fit"
]

#: warnings expected in the ledger (substring)
WARNINGS_EXPECTED = {
    "corrupt/fitparse__activity-activity-filecrc.fit": "byte 1540: file CRC mismatch: stored 0xB1D5, computed 0xA1D5",
    "corrupt/fitparse__activity-filecrc.fit": "byte 769: file CRC mismatch: stored 0xB1D5, computed 0xA1D5",
    "corrupt/fitparse__activity-settings-corruptheader.fit": (
        "ignored bytes after the last complete FIT file at byte 771"
    ),
    "corrupt/fitparse__activity-settings-nodata.fit": (
        "damaged at byte 786: file ends at byte 786 but its header announces 68 data bytes"
    ),
    "corrupt/fitparse__activity-unexpected-eof.fit": (
        "damaged at byte 768: file ends at byte 768 but its header announces 757"
    ),
    "corrupt/fitparse__strava-android-app-201.10-b1218918.fit": (
        "damaged at byte 7471: data message uses local message type 11, which has no definition"
    ),
    "activity/fitparse__compressed-speed-distance.fit": "device clock was not set",
    "activity/muktihari__big_activity.fit": "no activity.local_timestamp and no athlete time zone",
    "corrupt/fitparse__nick.fit": (
        "the recording was cut at byte 403437 before its session message: session rebuilt from 14391 record messages"
    ),
}

#: rejected: (byte offset, message substring)
REJECTED = {
    # a finished file holding only 14 records (13 s): too short to rebuild a session from
    "corrupt/muktihari__activity_truncated.fit": (
        277,
        "its 14 records span 13 s of timer time, less than 60 s: too short to rebuild a session from",
    ),
}

#: non-activity files: wellness rows (date, rhr, hrv), sleep rows, expected note
OTHER = {
    "hrv/kaiord__HealthHrvOvernight.fit": ([(date(2026, 5, 22), None, 48.0)], 0, "dates in UTC"),
    "metrics/fit2gpx__68484168401.fit": ([], 0, "FIT file (metrics) has no messages the pipeline uses"),
    # vivosmart 4 (UTC+3): 2020-03-04 current_day_resting_heart_rate
    "monitoring/fit2gpx__50675718946.fit": ([(date(2020, 3, 4), 45.0, None)], 0, None),
    "monitoring/fit2gpx__68432691503.fit": ([(date(2020, 9, 25), 47.0, None)], 0, None),
    "monitoring/fit2gpx__68484110985.fit": ([(date(2020, 9, 25), 47.0, None)], 0, None),
    "monitoring/fitparse__MonitoringFile.fit": ([], 0, "FIT file (monitoring_b) has no messages the pipeline uses"),
    # fenix 5 Plus: 23:11 UTC + 1 h (monitoring_info.local_timestamp) = 2025-01-01; last value 58 wins, not
    # resting_heart_rate (50, the 7-day average)
    "monitoring/kaiord__HealthMonitoringStressDay.fit": ([(date(2025, 1, 1), 58.0, None)], 0, None),
    # its second value is written at 00:00 local on 2025-01-02: the resting HR of the day that just ended
    # (issue 17), so 2025-01-01 ends with 49 and 2025-01-02 has no value yet
    "monitoring/kaiord__HealthMonitoringStressFullDay.fit": ([(date(2025, 1, 1), 49.0, None)], 0, None),
    "sleep/fit2gpx__50673966218.fit": ([], 0, "sleep file without sleep_level (275) stage messages: no night"),
    "sleep/fit2gpx__50675984291.fit": ([], 0, "6 sleep_level message(s) but no light/deep/rem epoch: no night"),
    "sleep/fit2gpx__68432743746.fit": ([], 0, "22 sleep_level message(s) but no light/deep/rem epoch"),
    "sleep/fit2gpx__68484122559.fit": ([], 0, "186 sleep_level message(s) but no light/deep/rem epoch"),
    "sleep/kaiord__HealthSleepFullNight.fit": ([], 0, "311 sleep_level message(s) but no light/deep/rem epoch"),
    "sleep/kaiord__HealthSleepOvernight.fit": ([], 0, "34 sleep_level message(s) but no light/deep/rem epoch"),
}


def corpus_files(corpus: Path) -> list[str]:
    return sorted(str(p.relative_to(corpus / "fit")) for p in (corpus / "fit").rglob("*.fit"))


def test_every_corpus_file_has_an_expectation(corpus_dir):
    known = set(SESSIONS_EXPECTED) | set(REJECTED) | set(OTHER)
    files = set(corpus_files(corpus_dir))
    assert files == known, f"missing: {sorted(files - known)}; stale: {sorted(known - files)}"
    assert FITDECODE_SLOW <= known, sorted(FITDECODE_SLOW - known)


@pytest.mark.parametrize("rel", sorted(SESSIONS_EXPECTED))
def test_activity_files(corpus_dir, rel):
    path = corpus_dir / "fit" / rel
    assert registry.detect(path).FORMAT == "fit"
    res = fit.read(path, CTX)
    require(res.sessions, SESSIONS)
    got = res.sessions
    exp = SESSIONS_EXPECTED[rel]
    assert got.height == len(exp)
    for row, (start, sport, dur, avg, off, hist) in zip(got.iter_rows(named=True), exp, strict=True):
        assert row["start_utc"] == datetime.fromisoformat(start).replace(tzinfo=timezone.utc)
        assert row["sport"] == sport
        assert row["duration_s"] == pytest.approx(dur)
        assert row["avg_hr_bpm"] == (None if avg is None else float(avg))
        assert row["local_offset_s"] == off
        assert (
            row["local_date"]
            == (row["start_utc"].replace(tzinfo=None) + __import__("datetime").timedelta(seconds=off)).date()
        )
        assert row["source"] == "fit" and row["athlete_id"] == "a"
        if hist is None:
            assert row["hr_hist_s"] is None
        else:
            assert len(row["hr_hist_s"]) == 256
            assert sum(row["hr_hist_s"]) == pytest.approx(hist, abs=1)
            # the histogram never claims more time than the session's wall clock (+ one sample)
            assert sum(row["hr_hist_s"]) <= (row["elapsed_s"] or row["duration_s"]) + 10
    if rel in WARNINGS_EXPECTED:
        assert any(WARNINGS_EXPECTED[rel] in w for w in res.warnings), res.warnings
    elif not rel.startswith("corrupt/"):
        assert not any("damage" in w or "CRC" in w for w in res.warnings), res.warnings


@pytest.mark.parametrize("rel", sorted(REJECTED))
def test_rejected_files_name_file_offset_and_reason(corpus_dir, rel):
    path = corpus_dir / "fit" / rel
    with pytest.raises(CorruptFileError) as info:
        fit.read(path, ReadContext(athlete_id="a", source_name=rel))
    offset, text = REJECTED[rel]
    assert info.value.offset == offset
    assert text in info.value.message
    assert str(info.value).startswith(f"{rel}, byte {offset}: ")


@pytest.mark.parametrize("rel", sorted(OTHER))
def test_wellness_sleep_and_other_files(corpus_dir, rel):
    res = fit.read(corpus_dir / "fit" / rel, CTX)
    require(res.wellness, WELLNESS)
    require(res.sleep, SLEEP)
    rows, n_sleep, note = OTHER[rel]
    assert res.sessions.height == 0
    assert res.sleep.height == n_sleep  # no zero-hour nights from stage-less sleep files
    got = res.wellness.sort("date", "source").select("date", "rhr_bpm", "hrv_rmssd_ms").rows()
    assert got == rows
    if note:
        assert any(note in w for w in res.warnings), res.warnings
    if rel.startswith("hrv/"):
        assert res.wellness["source"].to_list() == ["fit_hrv"]


def test_specific_session_fields(corpus_dir):
    elemnt = fit.read(corpus_dir / "fit/activity/fitparse__2019-02-17-062644-ELEMNT-297E-195-0.fit", CTX).sessions.row(
        0, named=True
    )
    # TSS field 35 raw 1900 / 10; elapsed 23595 s >> timer 13471 s (manifest)
    assert (elemnt["device_load"], elemnt["device_load_kind"]) == (190.0, "tss")
    assert elemnt["elapsed_s"] == pytest.approx(23595.0)
    tri = fit.read(corpus_dir / "fit/activity/muktihari__triathlon_summary_last.fit", CTX).sessions
    # training_load_peak (#168, /65536) is Garmin EPOC
    assert tri["device_load_kind"].to_list() == ["epoc"] * 5
    # written cumulatively per leg (2.94 ... 404.02): per-leg increments that sum to the race's value,
    # and the race's training effect on the last leg only (connectors.fit_multisport)
    assert tri["device_load"].sum() == pytest.approx(404.0186, abs=1e-3)
    assert tri["sub_sport"][0] == "open_water"
    assert tri["training_effect_aerobic"].to_list() == [None, None, None, None, 5.0]
    lowbat = fit.read(corpus_dir / "fit/activity/muktihari__activity_lowbattery.fit", CTX).sessions.row(0, named=True)
    assert lowbat["device_load"] == pytest.approx(74.9) and lowbat["sub_sport"] == "road"
    assert lowbat["energy_kcal"] is not None and lowbat["distance_m"] == pytest.approx(28156.69)


def test_athlete_fallback_to_device_serial(corpus_dir):
    res = fit.read(corpus_dir / "fit/monitoring/kaiord__HealthMonitoringStressDay.fit", ReadContext())
    assert res.wellness["athlete_id"].to_list() == ["device-3973485084"]
    assert any("serial_number" in w for w in res.warnings)


def test_time_zone_from_context_when_file_has_none(corpus_dir):
    p = corpus_dir / "fit/activity/muktihari__big_activity.fit"
    res = fit.read(p, ReadContext(athlete_id="a", tz="Asia/Tokyo"))
    row = res.sessions.row(0, named=True)
    assert row["local_offset_s"] == 9 * 3600 and not res.warnings
    # 12:55 UTC + 9 h = 21:55 on the same day
    assert row["local_date"] == date(2023, 9, 4)


# ----------------------------------------------------------------------------- second decoder
SESSION_FIELDS = (253, 2, 5, 6, 7, 8, 9, 11, 16, 17, 24, 35, 36, 137, 168, 193)
COMPARE = {
    18: SESSION_FIELDS,
    34: (253, 0, 1, 5),
    211: (253, 0, 1),
    275: (253, 0),
    370: (253, 1),
    346: (6,),
    103: (253, 0),
    0: (0, 1, 2, 3, 4),
}


@functools.cache
def _fitdecode_messages(path: Path):
    """fitdecode raw values of the compared messages, record heart rates, and scaled values of
    session/hrv_status_summary messages; stops where fitdecode stops. Cached: one pass per file."""
    out: dict[int, list[dict]] = {k: [] for k in COMPARE}
    rec_hr: list[int] = []
    scaled: list[tuple[str, dict]] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.DISABLED) as fr:
                for fm in fr:
                    if not isinstance(fm, fitdecode.FitDataMessage):
                        continue
                    g = fm.global_mesg_num
                    if g == 20:
                        v = next(
                            (
                                f.raw_value
                                for f in fm.fields
                                if f.def_num == 3
                                and f.field_def is not None
                                and not isinstance(f.field_def, fitdecode.types.DevFieldDefinition)
                            ),
                            None,
                        )
                        if v is not None:
                            rec_hr.append(v)
                    elif g in COMPARE:
                        if fm.name in ("session", "hrv_status_summary"):
                            scaled.append(
                                (
                                    fm.name,
                                    {
                                        f.name: f.value
                                        for f in fm.fields
                                        if f.field_def is not None
                                        and not isinstance(f.field_def, fitdecode.types.DevFieldDefinition)
                                    },
                                )
                            )
                        d = {}
                        for f in fm.fields:
                            if (
                                f.def_num in COMPARE[g]
                                and f.field_def is not None
                                and not isinstance(f.field_def, fitdecode.types.DevFieldDefinition)
                            ):
                                v = f.raw_value
                                if isinstance(v, tuple):
                                    v = v[0]
                                d[f.def_num] = v
                        out[g].append(d)
        except fitdecode.FitError:
            pass
    return out, rec_hr, scaled


# The corpus files over 400 kB: fitdecode (pure Python) needs seconds for each, so their comparisons run in
# the full suite (.ci/run) only; test_activity_files reads them with our decoder in the inner loop too.
FITDECODE_SLOW = {
    "activity/muktihari__big_activity.fit",
    "activity/fitparse__2019-02-17-062644-ELEMNT-297E-195-0.fit",
    "activity/fit2gpx__530-breath.fit",
}


def _fitdecode_params(rels: list[str]) -> list:
    return [pytest.param(r, marks=pytest.mark.slow) if r in FITDECODE_SLOW else r for r in rels]


@pytest.mark.parametrize("rel", _fitdecode_params(sorted(SESSIONS_EXPECTED) + sorted(REJECTED) + sorted(OTHER)))
def test_decoder_matches_fitdecode(corpus_dir, rel):
    path = corpus_dir / "fit" / rel
    theirs, their_hr, _ = _fitdecode_messages(path)
    ours = decode(path.read_bytes())
    for g, fields in COMPARE.items():
        mine = ours.all(g)
        if rel == "corrupt/fitparse__strava-android-app-201.10-b1218918.fit" or "eof" in rel or "nick" in rel:
            mine = mine[: len(theirs[g])]
        assert len(mine) == len(theirs[g]), (g, len(mine), len(theirs[g]))
        for a, b in zip(mine, theirs[g], strict=True):
            for f in fields:
                if f in b:
                    assert a.get(f) == b[f], (g, f, a.get(f), b[f])
    # heart-rate stream: same valid samples as fitdecode (first samples where fitdecode stops early)
    mine_hr = (
        np.concatenate([s.record_hr for s in ours.segments if s.record_hr is not None])
        if any(s.record_hr is not None for s in ours.segments)
        else np.zeros(0, dtype=np.uint8)
    )
    mine_hr = [int(x) for x in mine_hr if x != 255]
    assert mine_hr[: len(their_hr)] == their_hr


@pytest.mark.parametrize("rel", _fitdecode_params(sorted(SESSIONS_EXPECTED) + sorted(OTHER)))
def test_connector_values_are_fitdecode_values_scaled(corpus_dir, rel):
    """Session, monitoring and HRV values in the tables equal fitdecode's scaled values."""
    path = corpus_dir / "fit" / rel
    res = fit.read(path, CTX)
    _, _, theirs = _fitdecode_messages(path)
    sess = [v for name, v in theirs if name == "session"]
    # sessions rebuilt from laps/records have no session message: checked in test_fit_recovery.py
    kept = res.sessions.filter(~pl.col("recording_repair").fill_null("").str.starts_with("session_from"))
    assert len(sess) >= kept.height
    # multisport legs (one file, several sessions): EPOC and training effect are running totals in
    # the file; the connector stores per-leg EPOC increments and the training effect on the last leg
    multi = bool(leg_groups(decode(path.read_bytes()).segments))
    if multi and kept.height == len(sess):
        epoc = [m.get("training_load_peak") for m in sess]
        if all(v is not None for v in epoc) and all(b >= a for a, b in pairwise(epoc)):
            assert kept["device_load"].cum_sum().to_list() == pytest.approx(epoc, abs=1e-6)
        for col, name in (
            ("training_effect_aerobic", "total_training_effect"),
            ("training_effect_anaerobic", "total_anaerobic_training_effect"),
        ):
            vals = [m.get(name) for m in sess]
            if all(v is not None for v in vals) and all(b >= a for a, b in pairwise(vals)):
                assert kept[col].to_list() == [None] * (len(vals) - 1) + [pytest.approx(float(vals[-1]))]
    for row, m in zip(kept.iter_rows(named=True), sess, strict=True):
        assert row["duration_s"] == pytest.approx(m.get("total_timer_time") or m.get("total_elapsed_time"))
        for col, name in (
            ("distance_m", "total_distance"),
            ("max_hr_bpm", "max_heart_rate"),
            ("training_effect_aerobic", "total_training_effect"),
            ("training_effect_anaerobic", "total_anaerobic_training_effect"),
            ("energy_kcal", "total_calories"),
            ("elapsed_s", "total_elapsed_time"),
        ):
            if multi and col.startswith("training_effect"):
                continue  # checked above
            want = m.get(name)
            if want is not None and not (name == "max_heart_rate" and want == 0):
                assert row[col] == pytest.approx(float(want)), (rel, col)
        if m.get("training_stress_score") is not None:
            assert row["device_load"] == pytest.approx(m["training_stress_score"])
        elif m.get("training_load_peak") is not None and not multi:
            assert row["device_load"] == pytest.approx(m["training_load_peak"])
    hrv = [v for name, v in theirs if name == "hrv_status_summary"]
    if hrv:
        assert res.wellness["hrv_rmssd_ms"].to_list() == [v["last_night_average"] for v in hrv]


# ----------------------------------------------------------------------------- synthetic files
T0 = datetime(2025, 6, 1, 6, 0, tzinfo=timezone.utc)


def _activity(*, big: bool = False, compressed: bool = False, dev: bool = False, rpe: int | None = 65) -> bytes:
    b = Builder()
    b.define(0, 0, [(0, "enum"), (1, "uint16"), (3, "uint32z"), (4, "uint32")], big=big)
    b.data(0, [4, 1, 123456, fit_time(T0)])
    t0 = fit_time(T0)
    devf = [(0, 2, 0)] if dev else None
    if compressed:
        # one full-timestamp record, then compressed headers (offset = low 5 bits of the time)
        b.define(1, 20, [(253, "uint32"), (3, "uint8")], big=big, dev=devf)
        b.define(2, 20, [(3, "uint8")], big=big, dev=devf)
        b.data(1, [t0, 100], dev_bytes=b"\x01\x02" if dev else b"")
        for k in range(1, 60):
            b.data(
                2, [100 if k < 30 else 150], compressed_offset=(t0 + k) & 0x1F, dev_bytes=b"\x01\x02" if dev else b""
            )
    else:
        b.define(1, 20, [(253, "uint32"), (3, "uint8")], big=big, dev=devf)
        for k in range(60):
            b.data(1, [t0 + k, 100 if k < 30 else 150], dev_bytes=b"\x01\x02" if dev else b"")
    b.define(
        3,
        18,
        [
            (253, "uint32"),
            (2, "uint32"),
            (5, "enum"),
            (6, "enum"),
            (7, "uint32"),
            (8, "uint32"),
            (9, "uint32"),
            (16, "uint8"),
            (17, "uint8"),
            (35, "uint16"),
            (193, "uint8"),
        ],
        big=big,
    )
    b.data(3, [t0 + 60, t0, 1, 0, 60000, 60000, 25000, 125, 150, 1234, rpe])
    b.define(4, 34, [(253, "uint32"), (0, "uint32"), (1, "uint16"), (5, "uint32")], big=big)
    b.data(4, [t0 + 60, 60000, 1, t0 + 60 + 7200])
    return b.to_bytes()


@pytest.mark.parametrize("big", [False, True])
@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("dev", [False, True])
def test_synthetic_activity_layouts(tmp_path, big, compressed, dev):
    p = tmp_path / "a.fit"
    p.write_bytes(_activity(big=big, compressed=compressed, dev=dev))
    res = fit.read(p, CTX)
    assert not res.warnings
    r = res.sessions.row(0, named=True)
    assert r["start_utc"] == T0 and r["local_offset_s"] == 7200 and r["local_date"] == date(2025, 6, 1)
    assert (r["sport"], r["sub_sport"]) == ("running", "generic")
    assert r["duration_s"] == 60.0 and r["distance_m"] == 250.0
    assert (r["avg_hr_bpm"], r["max_hr_bpm"]) == (125.0, 150.0)
    assert (r["device_load"], r["device_load_kind"]) == (123.4, "tss")
    assert r["rpe"] == 6.5  # workout_rpe 65 = CR10 x 10
    h = r["hr_hist_s"]
    # 60 one-second records: 30 s at 100 bpm, 30 s at 150 bpm (the last sample gets the 1-s median interval)
    assert (h[100], h[150], sum(h)) == (30.0, 30.0, 60.0)


def test_invalid_sentinels_are_null(tmp_path):
    p = tmp_path / "a.fit"
    p.write_bytes(_activity(rpe=None))
    assert fit.read(p, CTX).sessions["rpe"].to_list() == [None]


def _sleep_file(levels: list[tuple[int, int]], score: int | None = 83) -> bytes:
    b = Builder()
    b.define(0, 0, [(0, "enum"), (1, "uint16"), (3, "uint32z")])
    b.data(0, [49, 1, 42])
    b.define(1, 275, [(253, "uint32"), (0, "enum")])
    for t, lv in levels:
        b.data(1, [t, lv])
    if score is not None:
        b.define(2, 346, [(6, "uint8")])
        b.data(2, [score])
    return b.to_bytes()


def test_sleep_stages_from_sleep_level_sequence(tmp_path):
    start = fit_time(datetime(2025, 6, 1, 21, 30, tzinfo=timezone.utc))
    # light 30 min, deep 60, rem 20, awake 10, light 120, end marker (awake)
    seq = [(0, 2), (1800, 3), (5400, 4), (6600, 1), (7200, 2), (14400, 1)]
    p = tmp_path / "s.fit"
    p.write_bytes(_sleep_file([(start + dt, lv) for dt, lv in seq]))
    res = fit.read(p, ReadContext(athlete_id="a", tz="Europe/Berlin"))
    r = res.sleep.row(0, named=True)
    # light 1800 + 7200 = 9000 s, deep 3600, rem 1200, awake 600; asleep 13800; in bed 14400
    assert (r["light_s"], r["deep_s"], r["rem_s"], r["awake_s"]) == (9000.0, 3600.0, 1200.0, 600.0)
    assert (r["asleep_s"], r["in_bed_s"]) == (13800.0, 14400.0)
    # ends 01:30 UTC = 03:30 in Berlin (CEST) on 2025-06-02
    assert r["wake_date"] == date(2025, 6, 2) and r["is_nap"] is False
    assert r["sleep_score"] == 83.0
    assert not res.warnings


def test_sleep_without_stages_yields_no_night(tmp_path):
    p = tmp_path / "s.fit"
    p.write_bytes(_sleep_file([], score=None))
    res = fit.read(p, CTX)
    assert res.sleep.height == 0
    assert any("no night" in w for w in res.warnings)


def test_hrv_message_78_is_never_read(tmp_path):
    """A file with only beat-to-beat hrv (78) messages yields no wellness HRV."""
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [28, 7])
    b.define(1, 78, [(0, "uint16", 5)])
    for _ in range(10):
        b.data(1, [[800, 810, 790, None, None]])
    p = tmp_path / "h.fit"
    p.write_bytes(b.to_bytes())
    res = fit.read(p, CTX)
    assert res.wellness.height == 0


def test_bad_crc_is_a_warning_when_the_structure_is_intact(tmp_path):
    p = tmp_path / "a.fit"
    p.write_bytes(_activity().__class__(Builder().to_bytes()) if False else _bad_crc_activity())
    res = fit.read(p, CTX)
    assert res.sessions.height == 1
    assert any("file CRC mismatch" in w and "unverified" in w for w in res.warnings)


def _bad_crc_activity() -> bytes:
    data = bytearray(_activity())
    data[-1] ^= 0x10
    return bytes(data)


def test_not_a_fit_file(tmp_path):
    p = tmp_path / "x.fit"
    p.write_bytes(b"hello world, not FIT at all")
    with pytest.raises(CorruptFileError, match="byte 0: not a FIT file"):
        fit.read(p, CTX)
    assert not fit.detect(p, p.read_bytes())


def test_fit_crc_matches_reference_for_large_inputs():
    rng = np.random.default_rng(1)
    for n in (0, 1, 4095, 4096, 10_000, 70_001):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert fit_crc(data) == crc16(data)


# ----------------------------------------------------------------------------- robustness
SMALL_FILES = [
    "activity/fitparse__garmin-fenix-5-run.fit",
    "activity/muktihari__activity_multisport.fit",
    "activity/garmin-fit-python-sdk__HrmPluginTestActivity.fit",
    "activity/fitparse__compressed-speed-distance.fit",
    "sleep/kaiord__HealthSleepOvernight.fit",
    "monitoring/fit2gpx__50675718946.fit",
    "hrv/kaiord__HealthHrvOvernight.fit",
]


def _check_result_or_connector_error(path: Path) -> None:
    try:
        res = fit.read(path, CTX)
    except ConnectorError as err:
        assert str(path) in str(err)
        return
    # a result is always complete, schema-conformant frames
    require(res.sessions, SESSIONS)
    require(res.sleep, SLEEP)
    require(res.wellness, WELLNESS)
    for v in res.sessions["duration_s"].to_list():
        assert v is not None and math.isfinite(v)


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(which=st.sampled_from(SMALL_FILES), cut=st.floats(0, 1))
def test_truncation_never_raises_anything_else(corpus_dir, tmp_path, which, cut):
    data = (corpus_dir / "fit" / which).read_bytes()
    p = tmp_path / "t.fit"
    p.write_bytes(data[: int(len(data) * cut)])
    _check_result_or_connector_error(p)


@settings(max_examples=80, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(SMALL_FILES),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), min_size=1, max_size=8),
)
def test_byte_flips_never_raise_anything_else(corpus_dir, tmp_path, which, flips):
    data = bytearray((corpus_dir / "fit" / which).read_bytes())
    for where, mask in flips:
        i = min(int(where * len(data)), len(data) - 1)
        data[i] ^= mask
    p = tmp_path / "f.fit"
    p.write_bytes(bytes(data))
    _check_result_or_connector_error(p)


def test_ingest_corrupt_folder_writes_no_partial_rows(corpus_dir, tmp_path):
    from pipelines.ingest import ingest_paths
    from pipelines.store import Store

    src = tmp_path / "in" / "a"
    src.mkdir(parents=True)
    for p in (corpus_dir / "fit" / "corrupt").glob("*.fit"):
        (src / p.name).write_bytes(p.read_bytes())
    store = Store(tmp_path / "store")
    summary = ingest_paths(store, [tmp_path / "in"], workers=1)
    # nick.fit (cut before its session message) is rebuilt from its records (issue 17)
    assert summary.rejected == 1 and summary.ingested == 8
    led = store.ledger()
    rej = led.filter(pl.col("status") == "rejected")
    assert sorted(Path(x).name for x in rej["path"]) == ["muktihari__activity_truncated.fit"]
    sessions = store.read_table("sessions")
    assert not set(sessions["source_file"]) & set(rej["path"])


def test_pool_ingest_after_polars_use_does_not_hang(corpus_dir, tmp_path):
    """Two pooled ingests in one process (polars used in between) finish: workers are spawned, not forked."""
    import subprocess
    import sys

    src = tmp_path / "in" / "a"
    src.mkdir(parents=True)
    for p in sorted((corpus_dir / "fit" / "activity").glob("*.fit"))[:6]:
        (src / p.name).write_bytes(p.read_bytes())
    script = (
        "import sys, polars as pl\n"
        "from pipelines.ingest import ingest_paths\n"
        "from pipelines.store import Store\n"
        "if __name__ == '__main__':\n"
        "    pl.DataFrame({'x': list(range(100000))}).group_by(pl.col('x') % 7).len()\n"
        f"    s1 = ingest_paths(Store({str(tmp_path / 's1')!r}), [{str(tmp_path / 'in')!r}], workers=2, pool=True)\n"
        f"    s2 = ingest_paths(Store({str(tmp_path / 's2')!r}), [{str(tmp_path / 'in')!r}], workers=2, pool=True)\n"
        "    print(s1.ingested, s2.ingested)\n"
    )
    f = tmp_path / "run.py"
    f.write_text(script)
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, str(f)],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=180,
        env={**__import__("os").environ, "PYTHONPATH": str(repo)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["6", "6"]


def test_monitoring_day_value_preferred_and_7day_average_fallback(tmp_path):
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [32, 9])
    t = fit_time(datetime(2025, 3, 1, 23, 30, tzinfo=timezone.utc))
    b.define(1, 103, [(253, "uint32"), (0, "uint32")])
    b.data(1, [t, t + 3600])  # local = UTC + 1 h
    b.define(2, 211, [(253, "uint32"), (0, "uint8"), (1, "uint8")])
    b.data(2, [t, 50, 56])  # 00:30 local on 2025-03-02: the day's value 56 (not the 7-day 50)
    b.data(2, [t - 86400, 49, None])  # previous day: only the 7-day average -> used, with a note
    p = tmp_path / "m.fit"
    p.write_bytes(b.to_bytes())
    res = fit.read(p, CTX)
    assert res.wellness.sort("date").select("date", "rhr_bpm").rows() == [
        (date(2025, 3, 1), 49.0),
        (date(2025, 3, 2), 56.0),
    ]
    assert any("7-day average" in w for w in res.warnings)


def test_header_crc_mismatch_is_a_note(tmp_path):
    data = bytearray(_activity())
    data[12] ^= 0xFF  # header CRC (bytes 12-13 of a 14-byte header)
    p = tmp_path / "a.fit"
    p.write_bytes(bytes(data))
    res = fit.read(p, CTX)
    assert res.sessions.height == 1
    assert any("file header CRC mismatch" in w for w in res.warnings)


def test_truncated_sleep_file_is_rejected_not_a_short_night(tmp_path):
    start = fit_time(datetime(2025, 6, 1, 21, 30, tzinfo=timezone.utc))
    data = _sleep_file([(start + k * 600, 2 + k % 3) for k in range(40)], score=None)
    p = tmp_path / "s.fit"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptFileError, match="nothing usable before the damage") as info:
        fit.read(p, CTX)
    assert info.value.offset is not None


def test_chained_little_and_big_endian_files(tmp_path):
    p = tmp_path / "c.fit"
    p.write_bytes(_activity() + _activity(big=True, compressed=True))
    res = fit.read(p, CTX)
    assert res.sessions.height == 2 and not res.warnings
    # both sessions start at T0: each window holds the records of both files at the same 60 timestamps;
    # duplicate timestamps do not double-count time (60 s, not 120 s)
    assert [sum(h) for h in res.sessions["hr_hist_s"]] == [60.0, 60.0]
    assert res.sessions["rpe"].to_list() == [6.5, 6.5]


def _long_session_activity(bad_crc: bool = False) -> bytes:
    b = Builder()
    b.define(0, 0, [(0, "enum"), (3, "uint32z")])
    b.data(0, [4, 5])
    b.define(1, 18, [(253, "uint32"), (2, "uint32"), (5, "enum"), (8, "uint32")])
    t0 = fit_time(T0)
    b.data(1, [t0 + 3600, t0, 1, 3600 * 1000])
    b.data(1, [t0 + 7200, t0 + 3600, 1, 30 * 3600 * 1000])  # 30 h of timer time: implausible
    return b.to_bytes(bad_crc=bad_crc)


def test_implausible_session_named_by_byte_offset(tmp_path):
    p = tmp_path / "a.fit"
    p.write_bytes(_long_session_activity())
    with pytest.raises(BadRowError) as info:
        fit.read(p, CTX)
    # body of the second session: header 14 + file_id definition (6 + 2*3) + file_id data (1 + 1 + 4)
    # + session definition (6 + 4*3) + first session (1 + 4 + 4 + 1 + 4) + its record header byte = 65
    assert info.value.offset == 14 + 12 + 6 + 18 + 14 + 1 == 65
    assert "duration_s 108000 outside the plausible range" in info.value.message
    skip = fit.read(p, ReadContext(athlete_id="a", on_bad_row=OnBadRow.SKIP))
    assert skip.sessions.height == 1 and skip.skipped_rows == 1
    assert any("skipped the session message at byte 65" in w for w in skip.warnings)
    p.write_bytes(_long_session_activity(bad_crc=True))
    with pytest.raises(CorruptFileError, match="the file CRC does not match"):
        fit.read(p, CTX)


def test_pool_ingest_from_a_stdin_script_falls_back_in_process(corpus_dir, tmp_path):
    """Spawned workers cannot import a main module read from stdin: the pool breaks and the files are
    read in-process instead (no crash, nothing lost)."""
    import os
    import subprocess
    import sys

    src = tmp_path / "in" / "a"
    src.mkdir(parents=True)
    for p in sorted((corpus_dir / "fit" / "monitoring").glob("*.fit"))[:4]:
        (src / p.name).write_bytes(p.read_bytes())
    script = (
        "from pipelines.ingest import ingest_paths\n"
        "from pipelines.store import Store\n"
        f"s = ingest_paths(Store({str(tmp_path / 's')!r}), [{str(tmp_path / 'in')!r}], workers=2, pool=True)\n"
        "print('RESULT', s.ingested, s.rejected)\n"
    )
    repo = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-"],
        input=script,
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONPATH": str(repo)},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "RESULT 4 0" in out.stdout
