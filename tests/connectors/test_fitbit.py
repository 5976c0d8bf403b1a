"""Fitbit account export / Google Takeout: resting HR, sleep, exercise, HRV summary CSV."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import fitbit, registry
from connectors.base import BadRowError, ConnectorError, CorruptFileError, OnBadRow, ReadContext
from tests.connectors.vendor_helpers import (
    FIXTURES,
    FUZZ,
    mutations,
    read_or_connector_error,
    row_by,
    utc,
)

FB = FIXTURES / "fitbit" / "Takeout" / "Fitbit"
RHR = FB / "Global Export Data" / "resting_heart_rate-2019-11-01.json"
SLEEP = FB / "Global Export Data" / "sleep-2019-11-01.json"
EXERCISE = FB / "Global Export Data" / "exercise-0.json"
HRV = FB / "Heart Rate Variability" / "Daily Heart Rate Variability Summary - 2023-05-01.csv"
ALL = {RHR: fitbit.RESTING_HR, SLEEP: fitbit.SLEEP, EXERCISE: fitbit.EXERCISE, HRV: fitbit.HRV_SUMMARY}


def read(path, **ctx):
    ctx.setdefault("athlete_id", "ola")
    return fitbit.read(path, ReadContext(**ctx))


@pytest.mark.parametrize("path", list(ALL), ids=lambda p: p.name)
def test_detected_by_content(path, tmp_path):
    assert fitbit.kind_of(path, path.read_bytes()[:65536]) == ALL[path]
    assert registry.detect(path) is fitbit
    renamed = tmp_path / "data.bin"
    renamed.write_bytes(path.read_bytes())
    assert fitbit.kind_of(renamed, renamed.read_bytes()) == ALL[path]


def test_intraday_heart_rate_is_not_resting_hr():
    head = b'[{"dateTime":"11/01/19 07:00:05","value":{"bpm":61,"confidence":2}}]'
    assert fitbit.kind_of(RHR, head) is None


def test_resting_hr_zero_means_not_worn():
    r = read(RHR)
    w = r.wellness
    # 11/02/19 has value 0.0: the tracker was not worn, so no row (never 0 bpm)
    assert w["date"].to_list() == [date(2019, 11, 1), date(2019, 11, 3)]
    assert w["rhr_bpm"].to_list() == [53.74, 54.12]
    assert any("not worn" in x for x in r.warnings)
    assert set(w["source"]) == {"fitbit_resting_hr"}


def test_sleep_stages_classic_naps_and_two_time_layouts():
    r = read(SLEEP, tz="Europe/Oslo")
    s = r.sleep
    assert s.height == 3 and not any("no time zone" in x for x in r.warnings)

    main = row_by(s, "start_utc", utc(2019, 11, 1, 22, 31, 30))  # 23:31:30 CET (UTC+1)
    assert main["end_utc"] == utc(2019, 11, 2, 6, 10) and main["wake_date"] == date(2019, 11, 2)
    assert main["asleep_s"] == 412 * 60 and main["awake_s"] == 46 * 60
    assert main["in_bed_s"] == 458 * 60
    assert (main["deep_s"], main["light_s"], main["rem_s"]) == (78 * 60, 240 * 60, 94 * 60)
    assert main["is_nap"] is False

    # the nap uses the other layout, "11/02/19 14:05:00", in the same file
    nap = row_by(s, "is_nap", True)
    assert nap["start_utc"] == utc(2019, 11, 2, 13, 5) and nap["end_utc"] == utc(2019, 11, 2, 13, 52)
    assert nap["asleep_s"] == 41 * 60 and nap["in_bed_s"] == 47 * 60 and nap["awake_s"] == 6 * 60
    assert nap["deep_s"] is None and nap["rem_s"] is None  # classic: no stages

    classic = row_by(s, "wake_date", date(2019, 11, 3))
    assert classic["asleep_s"] == 372 * 60 and classic["awake_s"] == 30 * 60  # restless 24 + awake 6
    assert classic["light_s"] is None and classic["is_nap"] is False


def test_sleep_without_time_zone_is_read_as_utc_with_a_note():
    r = read(SLEEP)
    main = row_by(r.sleep, "wake_date", date(2019, 11, 3))
    assert main["start_utc"] == utc(2019, 11, 2, 23, 58)
    assert any("no time zone" in x for x in r.warnings)


def test_exercise_hand_checked():
    r = read(EXERCISE, tz="Europe/Oslo")
    s = r.sessions
    assert s.height == 3 and set(s["source"]) == {"fitbit_exercise"}
    run = row_by(s, "sport", "running")
    assert run["start_utc"] == utc(2019, 11, 1, 6, 1, 2) and run["local_date"] == date(2019, 11, 1)
    assert run["duration_s"] == 2700.0 and run["elapsed_s"] == 2723.0  # activeDuration / duration
    assert run["distance_m"] == pytest.approx(7520.0)  # 7.52 Kilometer
    assert run["avg_hr_bpm"] == 152.0 and run["energy_kcal"] == 512.0 and run["max_hr_bpm"] is None
    assert run["load_au"] is None and run["load_method"] is None and run["local_offset_s"] == 3600
    walk = row_by(s, "sport", "walking")
    assert walk["distance_m"] == pytest.approx(2.1 * 1609.344)  # 3379.62 m from 2.1 Mile
    weights = row_by(s, "sport", "strength")
    assert weights["distance_m"] is None and weights["avg_hr_bpm"] is None
    assert weights["duration_s"] == 3600.0


def test_time_with_offset_is_taken_as_is(tmp_path):
    ex = json.loads(EXERCISE.read_text())
    ex[0]["startTime"] = "2019-11-01T07:01:02.000+01:00"
    p = tmp_path / "exercise-9.json"
    p.write_text(json.dumps(ex))
    run = row_by(read(p, tz="America/New_York").sessions, "sport", "running")  # tz not applied
    assert run["start_utc"] == utc(2019, 11, 1, 6, 1, 2) and run["local_offset_s"] == 3600
    assert run["local_date"] == date(2019, 11, 1)


def test_hrv_summary_csv():
    w = read(HRV).wellness
    assert w["date"].to_list() == [date(2023, 5, 1), date(2023, 5, 2)]  # empty 05-03 dropped
    assert w["hrv_rmssd_ms"].to_list() == [38.412, 41.203]
    assert w["rhr_bpm"].null_count() == 2  # nremhr is not a resting HR


def test_malformed_json_names_line_and_column(tmp_path):
    text = EXERCISE.read_text()
    p = tmp_path / "exercise-0.json"
    bad = text.replace('"activityName": "Walk",', '"activityName": "Walk"', 1)
    p.write_text(bad)
    with pytest.raises(CorruptFileError) as e:
        read(p)
    assert e.value.line == bad[: bad.index('"activityName": "Walk"')].count("\n") + 2
    assert str(p) in str(e.value) and "malformed JSON" in str(e.value)


def test_bad_records(tmp_path):
    logs = json.loads(SLEEP.read_text())
    logs[1]["startTime"] = "2nd Nov 14:05"
    p = tmp_path / "sleep-2019-11-01.json"
    p.write_text(json.dumps(logs))
    with pytest.raises(BadRowError) as e:
        read(p, tz="UTC")
    assert e.value.column == "startTime" and "record 1" in str(e.value)
    assert read(p, tz="UTC", on_bad_row=OnBadRow.SKIP).sleep.height == 2

    ex = json.loads(EXERCISE.read_text())
    ex[0]["distanceUnit"] = "Furlong"
    q = tmp_path / "exercise-1.json"
    q.write_text(json.dumps(ex))
    with pytest.raises(BadRowError, match="Furlong"):
        read(q, tz="UTC")


def test_hrv_details_csv_is_not_a_daily_summary(tmp_path):
    p = tmp_path / "Heart Rate Variability Details - 2023-05-01.csv"
    p.write_text(
        "timestamp,rmssd,coverage,low_frequency,high_frequency\n"
        "2023-05-01T03:05:00,41.2,0.94,512.1,303.3\n2023-05-01T03:10:00,37.9,0.97,498.0,280.1\n"
    )
    assert fitbit.kind_of(p, p.read_bytes()) == fitbit.OTHER
    assert sum(read(p).rows().values()) == 0
    q = tmp_path / "summary.csv"  # reordered and extra columns are still a summary
    q.write_text("rmssd,timestamp,entropy,nremhr,extra\n38.4,2023-05-01T00:00:00,2.9,52.1,x\n")
    assert fitbit.kind_of(q, q.read_bytes()) == fitbit.HRV_SUMMARY
    assert read(q).wellness["hrv_rmssd_ms"].to_list() == [38.4]
    q.write_text("timestamp,rmssd,nremhr,entropy\n2023-05-01T00:00:00,38.4,52,2.9\n2023-05-01T00:00:00,39.0,52,2.9\n")
    with pytest.raises(BadRowError, match="second value"):
        read(q)


def test_malformed_hrv_csv(tmp_path):
    p = tmp_path / "Daily Heart Rate Variability Summary - x.csv"
    p.write_text("timestamp,rmssd,nremhr,entropy\n2023-05-01T00:00:00,fast,52,2.9\n")
    with pytest.raises(BadRowError) as e:
        read(p)
    assert e.value.line == 2 and e.value.column == "rmssd"


def test_other_fitbit_series_are_ledgered_not_rejected(tmp_path):
    steps = tmp_path / "steps-2019-11-01.json"
    steps.write_text('[{"dateTime":"11/01/19 00:00:00","value":"0"}]')
    intraday = tmp_path / "heart_rate-2019-11-01.json"
    intraday.write_text('[{"dateTime":"11/01/19 07:00:05","value":{"bpm":61,"confidence":2}}]')
    for p in (steps, intraday):
        assert fitbit.kind_of(p, p.read_bytes()) == fitbit.OTHER
        r = read(p)
        assert r.format == "fitbit_other_series" and sum(r.rows().values()) == 0
        assert any("not used" in w for w in r.warnings)


def test_misshapen_known_file_is_not_waved_through(tmp_path):
    p = tmp_path / "sleep-2019-12-01.json"  # a sleep file name, but a series shape
    p.write_text('[{"dateTime":"12/01/19 00:00:00","value":"7"}]')
    assert fitbit.kind_of(p, p.read_bytes()) is None


def test_unknown_json_is_connector_error(tmp_path):
    p = tmp_path / "whatever.json"
    p.write_text('{"hello": [1, 2]}')
    with pytest.raises(ConnectorError, match="unrecognised shape"):
        read(p)


@FUZZ
@given(pick=st.sampled_from(list(ALL)).flatmap(lambda p: st.tuples(st.just(p.name), mutations(p.read_bytes()))))
def test_fuzz_only_connector_errors(pick):
    name, data = pick
    read_or_connector_error(fitbit, data, name)
