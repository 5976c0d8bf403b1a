"""Garmin DI_CONNECT bulk export: activities, sleep (with naps), UDS resting HR, health-status HRV."""

from __future__ import annotations

import json
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import garmin_json, registry
from connectors.base import BadRowError, ConnectorError, CorruptFileError, OnBadRow, ReadContext
from tests.connectors.vendor_helpers import (
    FIXTURES,
    FUZZ,
    mutations,
    read_or_connector_error,
    row_by,
    utc,
)

DI = FIXTURES / "garmin_di_connect" / "DI_CONNECT"
ACTS = DI / "DI-Connect-Fitness" / "jane.doe@example.com_0_summarizedActivities.json"
SLEEP = DI / "DI-Connect-Wellness" / "87654321_sleepData.json"
UDS = DI / "DI-Connect-Aggregator" / "UDSFile_2024-03-01_2024-06-09.json"
HEALTH = DI / "DI-Connect-Wellness" / "87654321_healthStatusData.json"
ALL = {ACTS: garmin_json.ACTIVITIES, SLEEP: garmin_json.SLEEP, UDS: garmin_json.UDS, HEALTH: garmin_json.HEALTH_STATUS}


def read(path, **ctx):
    ctx.setdefault("athlete_id", "jane")
    return garmin_json.read(path, ReadContext(**ctx))


@pytest.mark.parametrize("path", list(ALL), ids=lambda p: p.name)
def test_detected_by_shape(path, tmp_path):
    assert garmin_json.kind_of(path, path.read_bytes()[:65536]) == ALL[path]
    assert registry.detect(path) is garmin_json
    # the shape decides, not the name
    renamed = tmp_path / "export.json"
    renamed.write_bytes(path.read_bytes())
    assert garmin_json.kind_of(renamed, renamed.read_bytes()) == ALL[path]


def test_empty_list_only_recognised_with_garmin_name(tmp_path):
    p = tmp_path / "123_sleepData.json"
    p.write_text("[]")
    assert garmin_json.kind_of(p, b"[]") == garmin_json.SLEEP
    assert read(p).sleep.height == 0
    q = tmp_path / "other.json"
    q.write_text("[]")
    assert not garmin_json.detect(q, b"[]")


def test_activities_hand_checked():
    r = read(ACTS)
    s = r.sessions
    assert r.format == "garmin_di_activities" and s.height == 5  # 6 records - 1 multisport parent
    assert any("multisport parent" in w for w in r.warnings)
    assert not any("no time zone" in w for w in r.warnings)  # startTimeLocal gives the offset

    run = row_by(s, "start_utc", utc(2024, 3, 31, 5, 30))
    assert run["local_offset_s"] == 7200 and run["local_date"] == date(2024, 3, 31)
    assert run["sport"] == "running" and run["duration_s"] == 3000.0  # 3,000,000 ms
    assert run["elapsed_s"] == 3100.0
    assert run["distance_m"] == pytest.approx(10005.0)  # 1,000,500 cm
    assert (run["avg_hr_bpm"], run["max_hr_bpm"]) == (148.0, 171.0)
    assert (run["device_load"], run["device_load_kind"]) == (112.6, "epoc")
    assert (run["training_effect_aerobic"], run["training_effect_anaerobic"]) == (3.4, 1.2)
    # directWorkoutRpe 60 -> CR10 6; load = 6 x 3000 s / 60 = 6 x 50 min = 300 AU
    assert run["rpe"] == 6.0 and run["load_au"] == pytest.approx(300.0) and run["load_method"] == "srpe"
    assert run["energy_kcal"] is None  # export's calories unit is undocumented: not read

    gym = row_by(s, "sport", "strength")
    # 01:15 UTC on Apr 2 is 21:15 EDT on Apr 1: the local date comes from startTimeLocal
    assert gym["start_utc"] == utc(2024, 4, 2, 1, 15) and gym["local_date"] == date(2024, 4, 1)
    assert gym["local_offset_s"] == -14400 and gym["distance_m"] is None
    assert gym["load_au"] is None and gym["load_method"] is None

    bike = row_by(s, "sport", "cycling")
    assert bike["sub_sport"] == "road" and bike["distance_m"] == 30000.0
    assert (bike["device_load"], bike["device_load_kind"]) == (72.5, "tss")  # TSS before EPOC
    leg = row_by(s, "start_utc", utc(2024, 4, 6, 8, 2))
    assert leg["sport"] == "running" and leg["device_load"] is None
    assert "multisport" not in set(s["sport"])

    swim = row_by(s, "sport", "swimming")
    assert swim["sub_sport"] == "lap_swimming" and swim["distance_m"] == 1500.0


def test_activity_without_start_time_local_uses_the_time_zone(tmp_path):
    data = json.loads(ACTS.read_text())
    rec = data[0]["summarizedActivitiesExport"][1]  # 2024-04-02 01:15 UTC
    del rec["startTimeLocal"]
    data[0]["summarizedActivitiesExport"] = [rec]
    p = tmp_path / "a_summarizedActivities.json"
    p.write_text(json.dumps(data))
    s = read(p, tz="America/New_York").sessions
    assert s["local_date"][0] == date(2024, 4, 1) and s["local_offset_s"][0] == -4 * 3600
    r = read(p)
    assert r.sessions["local_date"][0] == date(2024, 4, 2)  # UTC date, and the ledger says so
    assert any("no time zone" in w for w in r.warnings)


def test_sleep_nights_naps_and_missing_days():
    r = read(SLEEP)
    s = r.sleep
    assert r.format == "garmin_di_sleep" and s.height == 3
    n1 = row_by(s, "wake_date", date(2024, 3, 31))
    assert n1["start_utc"] == utc(2024, 3, 30, 21, 40) and n1["end_utc"] == utc(2024, 3, 31, 5, 10)
    assert n1["asleep_s"] == 5400 + 15600 + 5100  # deep + light + REM = 26,100 s
    assert n1["awake_s"] == 900 and n1["in_bed_s"] == 7.5 * 3600  # 21:40 -> 05:10
    assert n1["is_nap"] is False and n1["sleep_score"] == 81.0
    night = s.filter(s["wake_date"] == date(2024, 4, 1))
    assert sorted(night["is_nap"].to_list()) == [False, True]
    nap = row_by(night, "is_nap", True)
    assert nap["asleep_s"] == 1800.0 and nap["in_bed_s"] == 32 * 60  # 12:10 -> 12:42
    assert nap["deep_s"] is None
    main = row_by(night, "is_nap", False)
    assert main["asleep_s"] == 4800 + 16200 + 4500
    assert any("without a sleep window" in w for w in r.warnings)  # 2024-04-02


def test_uds_resting_hr_zero_is_no_row():
    w = read(UDS).wellness
    assert w["date"].to_list() == [date(2024, 3, 31), date(2024, 4, 1)]  # 0 and null days dropped
    assert w["rhr_bpm"].to_list() == [48.0, 51.0]
    assert w["hrv_rmssd_ms"].null_count() == 2 and set(w["source"]) == {"garmin_di_uds"}


def test_health_status_hrv_is_rmssd():
    w = read(HEALTH).wellness
    assert w["date"].to_list() == [date(2024, 3, 31), date(2024, 4, 1)]
    assert w["hrv_rmssd_ms"].to_list() == [52.0, 47.0]
    assert w["rhr_bpm"].null_count() == 2 and w["hrv_sdnn_ms"].null_count() == 2


def test_malformed_json_names_line_and_column(tmp_path):
    text = SLEEP.read_text()
    p = tmp_path / "87654321_sleepData.json"
    broken = text.replace('"calendarDate": "2024-04-01"', '"calendarDate" "2024-04-01"', 1)
    p.write_text(broken)
    with pytest.raises(CorruptFileError) as e:
        read(p)
    expected_line = broken[: broken.index('"calendarDate" "2024-04-01"')].count("\n") + 1
    assert e.value.line == expected_line and str(p) in str(e.value)
    assert "after record 0" in str(e.value) and "column" in str(e.value)


def test_truncated_activities_file(tmp_path):
    p = tmp_path / "x_summarizedActivities.json"
    p.write_bytes(ACTS.read_bytes()[:-300])
    with pytest.raises(CorruptFileError, match="malformed JSON"):
        read(p)


def test_bad_record_names_index_and_field(tmp_path):
    data = json.loads(ACTS.read_text())
    data[0]["summarizedActivitiesExport"][1]["beginTimestamp"] = "yesterday"
    p = tmp_path / "a_summarizedActivities.json"
    p.write_text(json.dumps(data))
    with pytest.raises(BadRowError) as e:
        read(p)
    assert e.value.column == "beginTimestamp" and "record 1" in str(e.value)
    r = read(p, on_bad_row=OnBadRow.SKIP)
    assert r.sessions.height == 4 and r.skipped_rows == 1

    nights = json.loads(SLEEP.read_text())
    nights[0]["sleepEndTimestampGMT"] = "2024-03-30T20:00:00.0"  # before the start
    q = tmp_path / "b_sleepData.json"
    q.write_text(json.dumps(nights))
    with pytest.raises(BadRowError, match="record 0"):
        read(q)


def test_date_and_timestamp_layouts():
    from connectors._export_util import parse_date, parse_gmt_string

    assert parse_gmt_string("2019-08-04T20:28:00.0") == utc(2019, 8, 4, 20, 28)
    assert parse_gmt_string(1564950480000) == utc(2019, 8, 4, 20, 28)  # epoch ms
    assert parse_date("2019-08-05") == date(2019, 8, 5)
    assert parse_date({"date": "Aug 5, 2019 12:00:00 AM"}) == date(2019, 8, 5)  # older UDS files
    with pytest.raises(ValueError):
        parse_gmt_string("2019-08-04 20:28")


def test_sleep_month_without_any_night_is_still_sleep(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('[{"calendarDate": "2024-04-02", "sleepWindowConfirmationType": "UNCONFIRMED"}]')
    assert garmin_json.kind_of(p, p.read_bytes()) == garmin_json.SLEEP
    assert read(p).sleep.height == 0


def test_other_files_of_the_export_are_ledgered_not_rejected(tmp_path):
    folder = tmp_path / "DI_CONNECT" / "DI-Connect-Fitness"
    folder.mkdir(parents=True)
    gear = folder / "jane_gear.json"
    gear.write_text('{"gearDTOS": [{"gearPk": 1, "displayName": "Shoes"}]}')
    assert garmin_json.kind_of(gear, gear.read_bytes()) == garmin_json.OTHER
    r = read(gear)
    assert r.format == "garmin_di_other" and sum(r.rows().values()) == 0
    assert any("not used" in w for w in r.warnings)
    # outside an export folder the same file is not Garmin's
    loose = tmp_path / "jane_gear.json"
    loose.write_bytes(gear.read_bytes())
    assert garmin_json.kind_of(loose, loose.read_bytes()) is None
    # a file named like one of the read files must have its shape
    odd = folder / "jane_sleepData.json"
    odd.write_text('{"sleep": "?"}')
    assert garmin_json.kind_of(odd, odd.read_bytes()) is None


def test_not_garmin_json_is_connector_error(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('{"hello": 1}')
    with pytest.raises(ConnectorError, match="unrecognised shape"):
        read(p)


@FUZZ
@given(pick=st.sampled_from(list(ALL)).flatmap(lambda p: st.tuples(st.just(p.name), mutations(p.read_bytes()))))
def test_fuzz_only_connector_errors(pick):
    name, data = pick
    read_or_connector_error(garmin_json, data, name)
