"""build_daily: calendar, session sums, main sleep, wellness merge, DST (hand-computed)."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import polars as pl
import pytest

from features.daily import build_daily
from features.params import FeatureParams
from features.schemas import DAILY, SESSIONS, SLEEP, WELLNESS, SchemaError, conform

UTC = timezone.utc


def sessions(rows: list[dict]) -> pl.DataFrame:
    base = {"athlete_id": "a", "source": "fit", "source_file": "x.fit", "duration_s": 3600.0}
    return conform(pl.DataFrame([{**base, **r} for r in rows]), SESSIONS) if rows else SESSIONS.empty()


def sleep(rows: list[dict]) -> pl.DataFrame:
    base = {"athlete_id": "a", "source": "oura", "source_file": "s.csv", "is_nap": False}
    return conform(pl.DataFrame([{**base, **r} for r in rows]), SLEEP) if rows else SLEEP.empty()


def wellness(rows: list[dict]) -> pl.DataFrame:
    base = {"athlete_id": "a", "source": "oura", "source_file": "w.csv"}
    return conform(pl.DataFrame([{**base, **r} for r in rows]), WELLNESS) if rows else WELLNESS.empty()


def t(day: int, hour: int = 7, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=UTC)


def test_calendar_sessions_summed_rest_days_zero():
    s = sessions(
        [
            {"start_utc": t(3, 6), "local_date": date(2025, 3, 3), "load_au": 200.0, "duration_s": 1800.0},
            {"start_utc": t(3, 17), "local_date": date(2025, 3, 3), "load_au": 150.0, "duration_s": 2400.0},
            {"start_utc": t(6, 7), "local_date": date(2025, 3, 6), "load_au": 300.0},
            {"start_utc": t(9, 7), "local_date": date(2025, 3, 9), "load_au": 999.0},  # after as_of: ignored
        ]
    )
    w = wellness([{"date": date(2025, 3, 1), "rhr_bpm": 50.0}])
    d = build_daily(s, SLEEP.empty(), w, as_of=date(2025, 3, 7))
    assert d.columns == list(DAILY.columns)
    # calendar from the first day with any data (the wellness row on 1 March) to as_of
    assert d["date"].to_list() == [date(2025, 3, i) for i in range(1, 8)]
    # 3 March: 200 + 150 = 350 AU, 2 sessions, 1800 + 2400 = 4200 s; other days rest (0), 6 March 300;
    # 1-2 March come before the first session: no session source covers them, no training data (null)
    assert d["load_au"].to_list() == [None, None, 350.0, 0.0, 0.0, 300.0, 0.0]
    assert d["load_covered"].to_list() == [False, False] + [True] * 5
    assert d["n_sessions"].to_list() == [0, 0, 2, 0, 0, 1, 0]
    assert d["duration_s"][2] == 4200.0
    # physiology only where measured: never 0, never carried forward
    assert d["rhr_bpm"].to_list() == [50.0] + [None] * 6
    assert d["load_family"].to_list() == [None] * 7  # no load_method / load_family given


def test_null_session_load_makes_the_day_unknown():
    s = sessions(
        [
            {"start_utc": t(3, 6), "local_date": date(2025, 3, 3), "load_au": 200.0, "load_method": "srpe"},
            {"start_utc": t(3, 17), "local_date": date(2025, 3, 3), "load_au": None},
        ]
    )
    d = build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 4))
    assert d["load_au"].to_list() == [None, 0.0] and d["n_sessions"].to_list() == [2, 0]
    assert d["load_family"].to_list() == ["srpe", None]


def test_negative_load_is_an_error():
    s = sessions([{"start_utc": t(3), "local_date": date(2025, 3, 3), "load_au": -5.0}])
    with pytest.raises(ValueError, match=r"negative load_au -5.0 for athlete 'a'.*x.fit"):
        build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 4))


def test_load_family_of_day():
    s = sessions(
        [
            {"start_utc": t(3, 6), "local_date": date(2025, 3, 3), "load_au": 50.0, "load_method": "tss"},
            {"start_utc": t(3, 9), "local_date": date(2025, 3, 3), "load_au": 80.0, "load_method": "trimp_avg"},
            {"start_utc": t(4, 9), "local_date": date(2025, 3, 4), "load_au": 80.0, "load_method": "trimp_stream"},
        ]
    )
    d = build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 4))
    assert d["load_family"].to_list() == ["mixed", "trimp"]


def test_main_sleep_naps_and_duplicate_nights():
    z = sleep(
        [
            # two sources recorded the night ending 5 March: the longer one (oura, 7.5 h asleep) is the main sleep
            {
                "source": "oura",
                "start_utc": t(4, 22),
                "end_utc": t(5, 6, 30),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 27000.0,
                "in_bed_s": 30600.0,
            },
            {
                "source": "apple_health",
                "start_utc": t(4, 22, 10),
                "end_utc": t(5, 6, 20),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 25200.0,
                "in_bed_s": 29400.0,
            },
            # naps on 5 March: 20 min (oura) and the same nap from apple (25 min) -> the larger source total, 25 min
            {
                "source": "oura",
                "start_utc": t(5, 13),
                "end_utc": t(5, 13, 20),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 1200.0,
                "in_bed_s": 1200.0,
                "is_nap": True,
            },
            {
                "source": "apple_health",
                "start_utc": t(5, 13),
                "end_utc": t(5, 13, 25),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 1500.0,
                "in_bed_s": 1500.0,
                "is_nap": True,
            },
            # 6 March: only a nap -> no main sleep (sleep_h null), nap_h 0.5
            {
                "start_utc": t(6, 14),
                "end_utc": t(6, 14, 30),
                "wake_date": date(2025, 3, 6),
                "asleep_s": 1800.0,
                "in_bed_s": 1800.0,
                "is_nap": True,
            },
            # 7 March: asleep missing -> deep + light + rem = 3600 + 14400 + 5400 = 23400 s = 6.5 h;
            # in_bed missing -> end - start = 8 h
            {
                "start_utc": t(6, 23),
                "end_utc": t(7, 7),
                "wake_date": date(2025, 3, 7),
                "asleep_s": None,
                "deep_s": 3600.0,
                "light_s": 14400.0,
                "rem_s": 5400.0,
                "in_bed_s": None,
            },
        ]
    )
    d = build_daily(SESSIONS.empty(), z, WELLNESS.empty(), as_of=date(2025, 3, 8))
    assert d["date"].to_list() == [date(2025, 3, i) for i in range(5, 9)]
    # 27000 s / 3600 = 7.5 h asleep, 30600 s = 8.5 h in bed
    assert d["sleep_h"].to_list() == [7.5, None, 6.5, None]
    assert d["in_bed_h"].to_list() == [8.5, None, 8.0, None]
    assert d["nap_h"].to_list() == [1500 / 3600, 0.5, 0.0, None]


def test_equal_nights_use_sleep_priority():
    z = sleep(
        [
            {
                "source": "garmin",
                "start_utc": t(4, 22),
                "end_utc": t(5, 6),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 25200.0,
                "in_bed_s": 28800.0,
            },
            {
                "source": "whoop",
                "start_utc": t(4, 22),
                "end_utc": t(5, 6),
                "wake_date": date(2025, 3, 5),
                "asleep_s": 25200.0,
                "in_bed_s": 27000.0,
            },
        ]
    )
    p = FeatureParams(sleep_source_priority=("whoop", "garmin"))
    d = build_daily(SESSIONS.empty(), z, WELLNESS.empty(), as_of=date(2025, 3, 5), params=p)
    assert d["in_bed_h"].to_list() == [7.5]  # whoop's 27000 s
    d2 = build_daily(
        SESSIONS.empty(),
        z,
        WELLNESS.empty(),
        as_of=date(2025, 3, 5),
        params=FeatureParams(sleep_source_priority=("garmin",)),
    )
    assert d2["in_bed_h"].to_list() == [8.0]


def test_duplicate_wellness_day_from_two_sources():
    w = wellness(
        [
            {"source": "oura", "date": date(2025, 3, 5), "rhr_bpm": 48.0, "hrv_rmssd_ms": 60.0, "back_pain_0_10": 2.0},
            {
                "source": "garmin",
                "date": date(2025, 3, 5),
                "rhr_bpm": 52.0,
                "hrv_rmssd_ms": None,
                "back_pain_0_10": 4.0,
                "red_flag": True,
            },
            {"source": "whoop", "date": date(2025, 3, 5), "rhr_bpm": 50.0, "hrv_rmssd_ms": 90.0, "red_flag": False},
        ]
    )
    # no priority: all sources rank equal -> mean: rhr (48 + 52 + 50) / 3 = 50; rMSSD (60 + 90) / 2 = 75 -> ln 75
    d = build_daily(SESSIONS.empty(), SLEEP.empty(), w, as_of=date(2025, 3, 5))
    assert d["rhr_bpm"][0] == pytest.approx(50.0)
    assert d["hrv_ln_rmssd"][0] == pytest.approx(math.log(75.0))
    # symptoms: the most cautious value: pain max(2, 4) = 4, red flag if any source says so
    assert d["back_pain_0_10"][0] == 4.0 and d["red_flag"][0] is True
    # priority garmin first: rhr 52 (garmin); garmin has no rMSSD -> next best that has one: oura 60
    p = FeatureParams(wellness_source_priority=("garmin", "oura"))
    d = build_daily(SESSIONS.empty(), SLEEP.empty(), w, as_of=date(2025, 3, 5), params=p)
    assert d["rhr_bpm"][0] == 52.0 and d["hrv_ln_rmssd"][0] == pytest.approx(math.log(60.0))
    assert d.height == 1


def test_sentinel_physiology_is_missing():
    w = wellness([{"date": date(2025, 3, 5), "rhr_bpm": 0.0, "hrv_rmssd_ms": -1.0, "hrv_sdnn_ms": 0.0}])
    d = build_daily(SESSIONS.empty(), SLEEP.empty(), w, as_of=date(2025, 3, 5))
    assert d.row(0, named=True)["rhr_bpm"] is None and d["hrv_ln_rmssd"][0] is None and d["hrv_sdnn_ms"][0] is None


def test_dst_spring_forward_and_fall_back():
    # Europe/Berlin: 30 March 2025 02:00 -> 03:00 (UTC+1 -> UTC+2); 26 October 03:00 -> 02:00
    s = sessions(
        [
            # 29 March 23:30 UTC = 30 March 01:30 local (UTC+1): local_date missing, the offset decides
            {
                "start_utc": datetime(2025, 3, 29, 23, 30, tzinfo=UTC),
                "local_date": None,
                "local_offset_s": 3600,
                "load_au": 100.0,
            },
            # 30 March 22:30 UTC = 31 March 00:30 local (UTC+2)
            {
                "start_utc": datetime(2025, 3, 30, 22, 30, tzinfo=UTC),
                "local_date": None,
                "local_offset_s": 7200,
                "load_au": 60.0,
            },
        ]
    )
    z = sleep(
        [
            # night into the spring-forward morning: 22:00 -> 07:00 local is 9 h on the wall clock but
            # 21:00 -> 05:00 UTC = 8 h elapsed; in_bed missing -> 8.0 h (recorded time, not wall clock)
            {
                "start_utc": datetime(2025, 3, 29, 21, tzinfo=UTC),
                "end_utc": datetime(2025, 3, 30, 5, tzinfo=UTC),
                "wake_date": date(2025, 3, 30),
                "asleep_s": 25200.0,
                "in_bed_s": None,
            },
            # night into the fall-back morning: 22:00 -> 07:00 local = 20:00 -> 06:00 UTC = 10 h
            {
                "start_utc": datetime(2025, 10, 25, 20, tzinfo=UTC),
                "end_utc": datetime(2025, 10, 26, 6, tzinfo=UTC),
                "wake_date": date(2025, 10, 26),
                "asleep_s": 30600.0,
                "in_bed_s": None,
            },
        ]
    )
    d = build_daily(s, z, WELLNESS.empty(), as_of=date(2025, 10, 27))
    # one row per local day, including the 23-h and the 25-h day
    days = d["date"].to_list()
    assert (
        days[0] == date(2025, 3, 30)
        and len(days) == len(set(days)) == (date(2025, 10, 27) - date(2025, 3, 30)).days + 1
    )
    by = {r["date"]: r for r in d.iter_rows(named=True)}
    assert by[date(2025, 3, 30)]["load_au"] == 100.0 and by[date(2025, 3, 31)]["load_au"] == 60.0
    assert by[date(2025, 3, 30)]["in_bed_h"] == 8.0 and by[date(2025, 3, 30)]["sleep_h"] == 7.0
    assert by[date(2025, 10, 26)]["in_bed_h"] == 10.0 and by[date(2025, 10, 26)]["sleep_h"] == 8.5


def test_athlete_filter_and_missing_athlete_id():
    s = sessions(
        [
            {"athlete_id": "a", "start_utc": t(3), "local_date": date(2025, 3, 3), "load_au": 1.0},
            {"athlete_id": "b", "start_utc": t(4), "local_date": date(2025, 3, 4), "load_au": 2.0},
        ]
    )
    d = build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 5), athletes=["b"])
    assert d["athlete_id"].unique().to_list() == ["b"] and d.height == 2
    bad = s.with_columns(pl.lit(None, pl.String).alias("athlete_id"))
    with pytest.raises(SchemaError, match="without athlete_id"):
        build_daily(bad, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 5))


def test_schema_checked_on_entry():
    s = SESSIONS.empty().drop("load_au")
    with pytest.raises(SchemaError, match="sessions: missing column 'load_au'"):
        build_daily(s, SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 5))
    with pytest.raises(ValueError, match="as_of must be a datetime.date"):
        build_daily(SESSIONS.empty(), SLEEP.empty(), WELLNESS.empty(), as_of=datetime(2025, 3, 5))


def test_empty_inputs_give_empty_daily():
    d = build_daily(SESSIONS.empty(), SLEEP.empty(), WELLNESS.empty(), as_of=date(2025, 3, 5))
    assert d.is_empty() and d.columns == list(DAILY.columns)
