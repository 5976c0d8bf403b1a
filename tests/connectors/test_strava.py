"""Strava bulk export activities.csv: duplicate columns, multi-line descriptions, versions, sRPE."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import registry, strava
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from tests.connectors.vendor_helpers import (
    FIXTURES,
    FUZZ,
    mutations,
    read_or_connector_error,
    row_by,
    utc,
)

NEW = FIXTURES / "strava" / "export_8812345" / "activities.csv"
OLD = FIXTURES / "strava" / "export_2019" / "activities.csv"


def read(path, **ctx):
    ctx.setdefault("athlete_id", "kai")
    return strava.read(path, ReadContext(**ctx))


@pytest.mark.parametrize("path", [NEW, OLD], ids=["current", "2019"])
def test_detected_by_header(path):
    assert strava.detect(path, path.read_bytes()[:65536])
    assert registry.detect(path) is strava


def test_fixture_really_has_the_quirks():
    header = NEW.read_text(encoding="utf-8").splitlines()[0].split(",")
    for name in ("Distance", "Elapsed Time", "Max Heart Rate", "Relative Effort", "Commute"):
        assert header.count(name) == 2, name
    assert NEW.read_text(encoding="utf-8").count("\n") > 5  # descriptions span lines


def test_current_export_hand_checked():
    r = read(NEW, tz="Europe/Berlin")
    s = r.sessions
    assert r.format == "strava_activities" and s.height == 4 and r.skipped_rows == 0

    run = row_by(s, "sport", "running")
    # "Oct 6, 2022, 11:19:20 PM" is UTC; in Berlin (CEST, UTC+2) it is already Oct 7
    assert run["start_utc"] == utc(2022, 10, 6, 23, 19, 20)
    assert run["local_date"] == date(2022, 10, 7) and run["local_offset_s"] == 7200
    assert run["distance_m"] == 8020.5  # second Distance column (metres), not 8.02 km x 1000
    assert run["duration_s"] == 2845.0 and run["elapsed_s"] == 2910.0  # Moving / Elapsed Time
    assert (run["avg_hr_bpm"], run["max_hr_bpm"]) == (148.2, 171.0)
    assert (run["device_load"], run["device_load_kind"]) == (58.0, "relative_effort")
    # sRPE: Perceived Exertion 6 x 2845 s / 60 = 6 x 47.4167 min = 284.5 AU
    assert run["rpe"] == 6.0 and run["load_au"] == pytest.approx(284.5) and run["load_method"] == "srpe"
    assert run["energy_kcal"] == 612.0

    ride = row_by(s, "sport", "cycling")
    assert ride["distance_m"] == 52310.0 and ride["rpe"] is None
    assert ride["load_au"] is None and ride["load_method"] is None  # no RPE: left to the load stage
    assert ride["device_load"] == 120.0

    gym = row_by(s, "sport", "strength")  # "Weight Training", description with quotes and CRLF
    assert gym["start_utc"] == utc(2022, 10, 9, 17, 30)
    assert gym["load_au"] == pytest.approx(8 * 60.0)  # RPE 8 x 60 min
    swim = row_by(s, "sport", "swimming")
    assert swim["distance_m"] == 1500.0 and swim["device_load"] is None


def test_without_time_zone_local_date_is_utc_date():
    r = read(NEW)
    run = row_by(r.sessions, "sport", "running")
    assert run["local_date"] == date(2022, 10, 6) and run["local_offset_s"] is None
    assert any("UTC dates" in w for w in r.warnings)


def test_older_export_with_fewer_columns():
    r = read(OLD, tz="UTC")
    s = r.sessions
    assert s.height == 2
    run = row_by(s, "sport", "running")
    assert run["distance_m"] == pytest.approx(10120.0)  # only the km column: 10.12 x 1000
    assert run["duration_s"] == 3050.0 == run["elapsed_s"]  # no Moving Time in 2019
    assert run["avg_hr_bpm"] is None and run["rpe"] is None
    assert any("km column" in w for w in r.warnings) and any("Moving Time" in w for w in r.warnings)


def test_bom_and_windows_line_ends_read_the_same(tmp_path):
    p = tmp_path / "activities.csv"
    p.write_bytes(b"\xef\xbb\xbf" + NEW.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    assert strava.detect(p, p.read_bytes()[:65536])
    a, b = read(p, tz="UTC").sessions, read(NEW, tz="UTC").sessions
    assert a.drop("source_file").equals(b.drop("source_file"))


def test_activity_date_layouts():
    assert strava.parse_activity_date("Oct 6, 2022, 11:19:20 PM") == utc(2022, 10, 6, 23, 19, 20)
    assert strava.parse_activity_date("Jan 1, 2023, 12:05:00 AM") == utc(2023, 1, 1, 0, 5)
    assert strava.parse_activity_date("2023-01-01 00:05:00") == utc(2023, 1, 1, 0, 5)
    with pytest.raises(ValueError):
        strava.parse_activity_date("yesterday")


def test_bad_rows(tmp_path):
    text = NEW.read_text(encoding="utf-8").replace("Oct 8, 2022, 7:02:11 AM", "8/10/2022 07:02", 1)
    p = tmp_path / "activities.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(BadRowError) as e:
        read(p)
    # the ride's record starts after the run's three-line description: header 1, run 2-4, ride 5
    assert e.value.line == 5 and e.value.column == "Activity Date"
    r = read(p, on_bad_row=OnBadRow.SKIP)
    assert r.sessions.height == 3 and r.skipped_rows == 1

    # the gym row's Perceived Exertion 8.0 becomes 11.0, outside Strava's scale
    text = NEW.read_text(encoding="utf-8").replace(",8.0,,,,,1.0,", ",11.0,,,,,1.0,", 1)
    assert ",11.0," in text
    p.write_text(text, encoding="utf-8")
    with pytest.raises(BadRowError, match="1-10"):
        read(p)


def test_malformed_file_is_connector_error(tmp_path):
    p = tmp_path / "activities.csv"
    data = NEW.read_bytes()
    p.write_bytes(data[: data.index(b"Easy shakeout.") + 20])  # cut inside the quoted description
    with pytest.raises(ConnectorError) as e:
        read(p)
    assert str(p) in str(e.value)
    p.write_text("Activity ID,Activity Name\n1,x\n", encoding="utf-8")
    with pytest.raises(ConnectorError, match="Activity Date"):
        read(p)


@FUZZ
@given(data=st.sampled_from([NEW, OLD]).flatmap(lambda p: mutations(p.read_bytes())))
def test_fuzz_only_connector_errors(data):
    read_or_connector_error(strava, data, "activities.csv")
