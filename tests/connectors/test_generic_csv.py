"""Generic CSV connector: detection, parsing edge cases, bad rows, properties."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import generic_csv, registry
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext, UnknownFormatError
from tests.budget import examples

SESS_HEAD = "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km"
SLEEP_HEAD = "athlete_id,sleep_start,sleep_end,total_sleep_min"
DAILY_HEAD = "athlete_id,date,resting_hr,hrv_rmssd_ms"
UTC = timezone.utc


def write(tmp_path: Path, text: str | bytes, name: str = "f.csv") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def read(tmp_path: Path, text: str | bytes, name: str = "f.csv", **ctx):
    return generic_csv.read(write(tmp_path, text, name), ReadContext(**ctx))


def utc(*a: int) -> datetime:
    return datetime(*a, tzinfo=UTC)


# --------------------------------------------------------------------------- detection
@pytest.mark.parametrize(
    "header",
    [
        SESS_HEAD,
        SLEEP_HEAD + ",deep_min,is_nap",
        DAILY_HEAD,
        "RPE; Start Time ;Athlete_ID;duration_min;sport;avg_hr;distance_km",  # reordered, case, spaces, ;
        "\ufeff" + DAILY_HEAD,  # BOM
        "athlete_id\tdate\tresting_hr",  # tab-separated, hrv column missing (read() names it)
    ],
)
def test_detect_by_header(tmp_path: Path, header: str) -> None:
    p = write(tmp_path, header + "\n", name="export.dat")  # the name is irrelevant
    assert generic_csv.detect(p, p.read_bytes())


@pytest.mark.parametrize(
    "head",
    [
        b"Date,Activity Type,Distance,Calories\n2024-01-01,Run,5,300\n",  # some vendor CSV
        b"cycle start time,cycle end time,Recovery score %\n",  # WHOOP-like
        b"\x0e\x10\x98\x08.FIT\x00\x00\x00\x00",  # FIT header
        b"<?xml version='1.0'?><HealthData/>",
        b'{"date": "2024-01-01", "resting_hr": 50}',
        b"date\n2024-01-01\n",  # a date alone is not a daily file
    ],
)
def test_detect_rejects_other_content_even_named_like_ours(tmp_path: Path, head: bytes) -> None:
    p = write(tmp_path, head, name="sessions.csv")
    assert not generic_csv.detect(p, head)


def test_detect_empty_csv_is_accepted_and_read_gives_no_rows(tmp_path: Path) -> None:
    p = write(tmp_path, b"", name="sessions.csv")
    assert generic_csv.detect(p, b"")
    res = generic_csv.read(p, ReadContext())
    assert res.format == "generic_csv"
    assert res.rows() == {"sessions": 0, "sleep": 0, "wellness": 0}
    assert any("empty file" in w for w in res.warnings)


@pytest.mark.parametrize("head", [SESS_HEAD, SLEEP_HEAD, DAILY_HEAD])
def test_header_only_file_gives_zero_rows_and_a_note(tmp_path: Path, head: str) -> None:
    res = read(tmp_path, head + "\n\n")
    kind = {"start_time": "sessions", "sleep_start": "sleep", "date": "daily"}[head.split(",")[1]]
    assert res.format == f"generic_csv_{kind}"
    assert sum(res.rows().values()) == 0
    assert any("no data rows" in w for w in res.warnings)


def test_registry_routes_generic_files(tmp_path: Path) -> None:
    p = write(tmp_path, SESS_HEAD + "\na,2024-03-01T07:00:00Z,30,run,,,\n", name="anything.txt")
    assert registry.detect(p) is generic_csv


# --------------------------------------------------------------------------- sessions
def test_sessions_values_and_session_rpe_load(tmp_path: Path) -> None:
    res = read(
        tmp_path,
        SESS_HEAD + ",load,max_hr\n"
        "alice,2024-03-01T07:30:00+01:00,60,Running,145,6,10.5,,171\n"
        "alice,2024-03-02T07:30:00+01:00,45,strength,,7,,500,\n"
        "alice,2024-03-03T07:30:00+01:00,30,cycling,120,,12,,\n",
    )
    assert res.format == "generic_csv_sessions"
    s = res.sessions.sort("start_utc")
    assert s["athlete_id"].to_list() == ["alice"] * 3
    assert s["source"].to_list() == ["generic_csv"] * 3
    assert s["sport"].to_list() == ["running", "strength", "cycling"]
    assert s["duration_s"].to_list() == [3600.0, 2700.0, 1800.0]
    assert s["distance_m"].to_list() == [10500.0, None, 12000.0]
    assert s["avg_hr_bpm"].to_list() == [145.0, None, 120.0]
    assert s["max_hr_bpm"].to_list() == [171.0, None, None]
    # 6 x 60 min = 360 AU (session-RPE); the load column wins; neither -> null
    assert s["load_au"].to_list() == [360.0, 500.0, None]
    assert s["load_method"].to_list() == ["srpe", "manual", None]
    assert s["load_confidence"].to_list() == ["high", "medium", None]
    assert s["start_utc"][0] == utc(2024, 3, 1, 6, 30)
    assert res.athlete_ids == ("alice",)
    assert res.warnings == []


@pytest.mark.parametrize(
    "value, tz, start_utc, local_date, offset_s, note",
    [
        ("2024-03-01T07:30:00+01:00", None, utc(2024, 3, 1, 6, 30), date(2024, 3, 1), 3600, None),
        # 23:30 in New York is 04:30 UTC the next day; the local date stays the 1st
        ("2024-03-01T23:30:00-05:00", None, utc(2024, 3, 2, 4, 30), date(2024, 3, 1), -18000, None),
        ("2024-03-01T23:30:00-0500", None, utc(2024, 3, 2, 4, 30), date(2024, 3, 1), -18000, None),
        ("2024-03-01T07:30:00Z", None, utc(2024, 3, 1, 7, 30), date(2024, 3, 1), 0, None),
        (
            "2024-03-01 07:30:00.250+01:00",
            None,
            datetime(2024, 3, 1, 6, 30, 0, 250000, tzinfo=UTC),
            date(2024, 3, 1),
            3600,
            None,
        ),
        ("2024-03-01T07:30+05:30", None, utc(2024, 3, 1, 2, 0), date(2024, 3, 1), 19800, None),
        # naive: athlete zone (New York is UTC-5 in winter, UTC-4 after 2024-03-10)
        (
            "2024-03-01T23:30:00",
            "America/New_York",
            utc(2024, 3, 2, 4, 30),
            date(2024, 3, 1),
            -18000,
            "local time in America/New_York",
        ),
        (
            "2024-03-11T23:30:00",
            "America/New_York",
            utc(2024, 3, 12, 3, 30),
            date(2024, 3, 11),
            -14400,
            "local time in America/New_York",
        ),
        # naive and no zone known: UTC with a note
        ("2024-03-01T23:30:00", None, utc(2024, 3, 1, 23, 30), date(2024, 3, 1), 0, "taken as UTC"),
        # an explicit offset wins over the athlete zone
        ("2024-03-01T07:30:00+09:00", "Europe/Berlin", utc(2024, 2, 29, 22, 30), date(2024, 3, 1), 32400, None),
    ],
)
def test_session_time_zones(tmp_path: Path, value, tz, start_utc, local_date, offset_s, note) -> None:
    res = read(tmp_path, SESS_HEAD + f"\na,{value},30,run,,,\n", tz=tz)
    row = res.sessions.row(0, named=True)
    assert row["start_utc"] == start_utc
    assert row["local_date"] == local_date
    assert row["local_offset_s"] == offset_s
    if note:
        assert any(note in w for w in res.warnings), res.warnings
    else:
        assert not any("offset" in w for w in res.warnings), res.warnings


def test_ambiguous_local_time_takes_the_first_instant_with_a_note(tmp_path: Path) -> None:
    # Berlin 2024-10-27: 02:30 happens twice (CEST +02:00, then CET +01:00); the first is 00:30 UTC
    res = read(tmp_path, SESS_HEAD + "\na,2024-10-27T02:30:00,30,run,,,\n", tz="Europe/Berlin")
    assert res.sessions["start_utc"].to_list() == [utc(2024, 10, 27, 0, 30)]
    assert res.sessions["local_offset_s"].to_list() == [7200]
    assert any("repeated when clocks go back" in w for w in res.warnings)


def test_invalid_athlete_time_zone_is_a_connector_error(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="Mars/Olympus"):
        read(tmp_path, SESS_HEAD + "\na,2024-03-01T07:30:00,30,run,,,\n", tz="Mars/Olympus")
    # not needed when every time has an offset
    res = read(tmp_path, SESS_HEAD + "\na,2024-03-01T07:30:00Z,30,run,,,\n", tz="Mars/Olympus")
    assert res.sessions.height == 1


def test_bom_semicolon_decimal_comma_reordered_and_extra_columns(tmp_path: Path) -> None:
    text = (
        "\ufeff RPE ;Distance_KM;Start Time;athlete_id;Sport;duration_min;AVG_HR;Weather;comment\n"
        '6,5;10,25;2024-03-01T07:30:00+01:00;bob;run;45,5;150;sunny;"a; b"\n'
    )
    res = read(tmp_path, text)
    row = res.sessions.row(0, named=True)
    assert row["rpe"] == 6.5
    assert row["distance_m"] == 10250.0
    assert row["duration_s"] == 45.5 * 60
    assert row["load_au"] == 6.5 * 45.5  # 295.75 AU
    assert row["avg_hr_bpm"] == 150.0
    assert row["athlete_id"] == "bob"
    notes = [w for w in res.warnings if "ignored column" in w]
    assert len(notes) == 1 and "'Weather'" in notes[0] and "'comment'" in notes[0]


def test_tab_separated_and_crlf(tmp_path: Path) -> None:
    text = SESS_HEAD.replace(",", "\t") + "\r\nbob\t2024-03-01T07:30:00Z\t30\trun\t\t5\t\r\n"
    res = read(tmp_path, text)
    assert res.sessions["load_au"].to_list() == [150.0]


def test_cp1252_bytes_are_decoded_with_a_note(tmp_path: Path) -> None:
    text = SESS_HEAD + "\nJosé,2024-03-01T07:30:00Z,30,course à pied,,,\n"
    res = read(tmp_path, text.encode("cp1252"))
    assert res.sessions["athlete_id"].to_list() == ["José"]
    assert res.sessions["sport"].to_list() == ["course à pied"]
    assert any("Windows-1252" in w for w in res.warnings)


def test_athlete_id_fallback_to_context(tmp_path: Path) -> None:
    text = SESS_HEAD + "\n,2024-03-01T07:30:00Z,30,run,,,\nbob,2024-03-02T07:30:00Z,30,run,,,\n"
    res = read(tmp_path, text, athlete_id="alice")
    assert res.sessions.sort("start_utc")["athlete_id"].to_list() == ["alice", "bob"]
    assert res.athlete_ids == ("alice", "bob")
    assert any("1 empty cell" in w for w in res.warnings)
    with pytest.raises(BadRowError) as err:
        read(tmp_path, text)
    assert err.value.line == 2 and err.value.column == "athlete_id"


def test_missing_athlete_column_uses_context_or_fails(tmp_path: Path) -> None:
    text = "start_time,duration_min,sport,avg_hr,rpe,distance_km\n2024-03-01T07:30:00Z,30,run,,,\n"
    res = read(tmp_path, text, athlete_id="alice")
    assert res.sessions["athlete_id"].to_list() == ["alice"]
    assert any("no athlete_id column" in w for w in res.warnings)
    with pytest.raises(BadRowError) as err:
        read(tmp_path, text)
    assert err.value.line == 1 and err.value.column == "athlete_id"


@pytest.mark.parametrize(
    "header, missing",
    [
        ("athlete_id,start_time,duration_min,sport,avg_hr,distance_km", "rpe"),
        ("athlete_id,sleep_start,sleep_end", "total_sleep_min"),
        ("athlete_id,date,resting_hr", "hrv_rmssd_ms"),
    ],
)
def test_missing_required_column_names_it_and_lists_found(tmp_path: Path, header: str, missing: str) -> None:
    with pytest.raises(BadRowError) as err:
        read(tmp_path, header + "\n", name="x.csv")
    e = err.value
    assert e.line == 1 and e.column == missing
    assert missing in e.message and "found columns: " + header.replace(",", ", ") in e.message
    assert str(e).startswith(str(tmp_path / "x.csv") + ", line 1")


def test_duplicate_column_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(BadRowError, match="appears twice") as err:
        read(tmp_path, SESS_HEAD + ",RPE\n")
    assert err.value.column == "rpe" and err.value.line == 1


def test_not_a_generic_header_is_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(UnknownFormatError) as err:
        read(tmp_path, "a,b,c\n1,2,3\n")
    assert "expected one of" in err.value.message


# --------------------------------------------------------------------------- sleep
def test_night_across_midnight_belongs_to_wake_date(tmp_path: Path) -> None:
    res = read(
        tmp_path,
        SLEEP_HEAD + ",deep_min,light_min,rem_min,awake_min,is_nap\n"
        "a,2024-03-01T22:45:00+01:00,2024-03-02T06:45:00+01:00,450,80,270,100,30,false\n"
        "a,2024-03-02T13:00:00+01:00,2024-03-02T13:30:00+01:00,25,,,,,yes\n",
    )
    s = res.sleep.sort("start_utc")
    assert s["wake_date"].to_list() == [date(2024, 3, 2), date(2024, 3, 2)]
    assert s["start_utc"][0] == utc(2024, 3, 1, 21, 45)
    assert s["end_utc"][0] == utc(2024, 3, 2, 5, 45)
    assert s["in_bed_s"].to_list() == [8 * 3600.0, 1800.0]  # 22:45 -> 06:45 = 8 h
    assert s["asleep_s"].to_list() == [450 * 60.0, 25 * 60.0]
    assert s["deep_s"].to_list() == [4800.0, None]
    assert s["light_s"][0] == 16200.0 and s["rem_s"][0] == 6000.0 and s["awake_s"][0] == 1800.0
    assert s["is_nap"].to_list() == [False, True]


def test_wake_date_uses_the_end_offset_not_utc(tmp_path: Path) -> None:
    # ends 2024-03-02 00:30 in Tokyo = 2024-03-01 15:30 UTC: the wake date is local, the 2nd
    res = read(tmp_path, SLEEP_HEAD + "\na,2024-03-01T20:00:00+09:00,2024-03-02T00:30:00+09:00,240\n")
    assert res.sleep["wake_date"].to_list() == [date(2024, 3, 2)]
    assert res.sleep["end_utc"].to_list() == [utc(2024, 3, 1, 15, 30)]


@pytest.mark.parametrize(
    "start, end, tz, in_bed_h",
    [
        # Europe/Berlin springs forward 2024-03-31 02:00 CET -> 03:00 CEST: 23:00 -> 07:00 is 7 h
        ("2024-03-30T23:00:00+01:00", "2024-03-31T07:00:00+02:00", None, 7),
        ("2024-03-30T23:00:00", "2024-03-31T07:00:00", "Europe/Berlin", 7),
        # and falls back 2024-10-27 03:00 CEST -> 02:00 CET: 23:00 -> 07:00 is 9 h
        ("2024-10-26T23:00:00", "2024-10-27T07:00:00", "Europe/Berlin", 9),
    ],
)
def test_dst_night_has_true_duration(tmp_path: Path, start, end, tz, in_bed_h) -> None:
    asleep_min = 6 * 60 + 40  # 400 min fits either night
    res = read(tmp_path, SLEEP_HEAD + f"\na,{start},{end},{asleep_min}\n", tz=tz)
    row = res.sleep.row(0, named=True)
    assert row["in_bed_s"] == in_bed_h * 3600.0
    assert row["asleep_s"] == 400 * 60.0
    assert row["wake_date"] == date.fromisoformat(end[:10])
    assert (row["end_utc"] - row["start_utc"]).total_seconds() == in_bed_h * 3600.0


def test_asleep_may_exceed_in_bed_by_minute_rounding_only(tmp_path: Path) -> None:
    # in bed 7 h 59 min 30 s = 28770 s; 480 min = 28800 s asleep is within the 60 s tolerance
    ok = read(tmp_path, SLEEP_HEAD + "\na,2024-03-01T23:00:30Z,2024-03-02T07:00:00Z,480\n")
    assert ok.sleep["asleep_s"].to_list() == [28800.0]
    with pytest.raises(BadRowError) as err:
        read(tmp_path, SLEEP_HEAD + "\na,2024-03-01T23:00:30Z,2024-03-02T07:00:00Z,482\n")
    assert err.value.column == "total_sleep_min" and err.value.line == 2


# --------------------------------------------------------------------------- daily
def test_daily_rows_to_wellness(tmp_path: Path) -> None:
    res = read(
        tmp_path,
        DAILY_HEAD + ",back_pain_0_10,soreness,red_flag\n"
        "a,2024-03-01,48,65.2,2,3,false\n"
        "a,2024-03-02,,,,,\n"
        "a,2024-03-03,50,,7,,TRUE\n",
    )
    assert res.format == "generic_csv_daily"
    w = res.wellness.sort("date")
    assert w["date"].to_list() == [date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3)]
    assert w["rhr_bpm"].to_list() == [48.0, None, 50.0]  # missing stays null, never 0
    assert w["hrv_rmssd_ms"].to_list() == [65.2, None, None]
    assert w["back_pain_0_10"].to_list() == [2.0, None, 7.0]
    assert w["soreness"].to_list() == [3.0, None, None]
    assert w["red_flag"].to_list() == [False, None, True]
    assert w["source"].to_list() == ["generic_csv"] * 3


# --------------------------------------------------------------------------- bad rows
MULTILINE = 'a,2024-03-01T07:00:00Z,30,"trail\nrun, hilly",,,\n'  # one record over two lines


@pytest.mark.parametrize(
    "head, bad_row, line, column, text",
    [
        # sessions; the multi-line record (lines 2-3) and a blank line (4) come first
        (SESS_HEAD, "a,2024-13-01T07:00:00Z,30,run,,,", 5, "start_time", "not an ISO 8601"),
        (SESS_HEAD, "a,yesterday,30,run,,,", 5, "start_time", "not an ISO 8601"),
        (SESS_HEAD, "a,,30,run,,,", 5, "start_time", "empty"),
        (SESS_HEAD, "a,2024-03-01T07:00:00+25:00,30,run,,,", 5, "start_time", "offset"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,-5,run,,,", 5, "duration_min", "-5 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,1500,run,,,", 5, "duration_min", "1500 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,abc,run,,,", 5, "duration_min", "not a number"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,,run,,,", 5, "duration_min", "empty"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,300,,", 5, "avg_hr", "300 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,19,,", 5, "avg_hr", "19 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,,11,", 5, "rpe", "11 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,,-1,", 5, "rpe", "-1 is outside"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,,,-2", 5, "distance_km", "negative"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,,,nan", 5, "distance_km", "not a number"),
        (SESS_HEAD + ",max_hr", "a,2024-03-01T07:00:00Z,30,run,,,,260", 5, "max_hr", "260 is outside"),
        (SESS_HEAD + ",load", "a,2024-03-01T07:00:00Z,30,run,,,,-3", 5, "load", "negative"),
        (SESS_HEAD, "a,2024-03-01T07:00:00Z,30,run,,,,9,9", 5, None, "fields but the header has 7"),
        # sleep
        (SLEEP_HEAD, "a,2024-03-02T07:00:00Z,2024-03-01T23:00:00Z,400", 5, "sleep_end", "not after"),
        (SLEEP_HEAD, "a,2024-03-01T23:00:00Z,2024-03-03T07:00:00Z,400", 5, "sleep_end", "more than 24 h"),
        (SLEEP_HEAD, "a,2024-03-01T23:00:00Z,2024-03-02T07:00:00Z,500", 5, "total_sleep_min", "longer than"),
        (SLEEP_HEAD, "a,2024-03-01T23:00:00Z,2024-03-02 25:00,400", 5, "sleep_end", "not an ISO 8601"),
        (SLEEP_HEAD + ",is_nap", "a,2024-03-01T23:00:00Z,2024-03-02T07:00:00Z,400,maybe", 5, "is_nap", "not a boolean"),
        (SLEEP_HEAD + ",deep_min", "a,2024-03-01T23:00:00Z,2024-03-02T07:00:00Z,400,-1", 5, "deep_min", "outside"),
        # daily
        (DAILY_HEAD, "a,2024-02-30,50,60", 5, "date", "not a date"),
        (DAILY_HEAD, "a,01.03.2024,50,60", 5, "date", "not a date"),
        (DAILY_HEAD, "a,2024-03-01,251,60", 5, "resting_hr", "251 is outside"),
        (DAILY_HEAD, "a,2024-03-01,50,0", 5, "hrv_rmssd_ms", "outside"),
        (DAILY_HEAD + ",back_pain_0_10", "a,2024-03-01,50,60,11", 5, "back_pain_0_10", "11 is outside"),
        (DAILY_HEAD + ",back_pain_0_10", "a,2024-03-01,50,60,-1", 5, "back_pain_0_10", "-1 is outside"),
        (DAILY_HEAD + ",soreness", "a,2024-03-01,50,60,12", 5, "soreness", "12 is outside"),
        (DAILY_HEAD + ",red_flag", "a,2024-03-01,50,60,perhaps", 5, "red_flag", "not a boolean"),
    ],
)
def test_bad_row_names_file_line_and_column(tmp_path: Path, head, bad_row, line, column, text) -> None:
    # line 1 header; lines 2-4: one good record (two lines for sessions) and blank lines; line 5 bad
    if head.startswith(SESS_HEAD):
        extra = "," * (head.count(",") - SESS_HEAD.count(","))
        first = MULTILINE.replace(",,,\n", ",,," + extra + "\n") + "\n"
    elif head.startswith(SLEEP_HEAD):
        extra = "," * (head.count(",") - SLEEP_HEAD.count(","))
        first = 'a,2024-02-29T23:00:00Z,"2024-03-01T07:00:00Z",400' + extra + "\n\n\n"
    else:
        extra = "," * (head.count(",") - DAILY_HEAD.count(","))
        first = "a,2024-02-29,50,60" + extra + "\n\n\n"
    body = head + "\n" + first + bad_row + "\n"
    assert body.split("\n")[line - 1] == bad_row
    with pytest.raises(BadRowError) as err:
        read(tmp_path, body, source_name="inputs/a/x.csv")
    e = err.value
    assert e.path == "inputs/a/x.csv"
    assert e.line == line, str(e)
    assert e.column == column, str(e)
    assert text in e.message, str(e)
    assert str(e).startswith(f"inputs/a/x.csv, line {line}")


def test_first_bad_row_reported_and_later_rows_do_not_matter(tmp_path: Path) -> None:
    rows = [f"a,2024-03-{d:02d}T07:00:00Z,30,run,150,5," for d in range(1, 21)]
    rows[11] = rows[11].replace(",150,", ",400,")  # line 13
    rows[15] = rows[15].replace(",30,", ",-30,")  # line 17
    with pytest.raises(BadRowError) as err:
        read(tmp_path, SESS_HEAD + "\n" + "\n".join(rows) + "\n")
    assert (err.value.line, err.value.column) == (13, "avg_hr")


def test_leftmost_column_reported_when_a_row_has_several_problems(tmp_path: Path) -> None:
    head = "rpe,avg_hr,athlete_id,start_time,duration_min,sport,distance_km"
    with pytest.raises(BadRowError) as err:
        read(tmp_path, head + "\n20,400,a,2024-03-01T07:00:00Z,30,run,\n")
    assert err.value.column == "rpe"


def test_nonexistent_local_time_in_dst_gap_is_a_bad_row(tmp_path: Path) -> None:
    with pytest.raises(BadRowError, match="does not exist in Europe/Berlin") as err:
        read(tmp_path, SESS_HEAD + "\na,2024-03-31T02:30:00,30,run,,,\n", tz="Europe/Berlin")
    assert (err.value.line, err.value.column) == (2, "start_time")


def test_skip_policy_drops_and_counts_bad_rows(tmp_path: Path) -> None:
    text = (
        SESS_HEAD + "\n"
        "a,2024-03-01T07:00:00Z,30,run,150,5,\n"  # 2 ok
        "a,2024-03-02T07:00:00Z,30,run,400,5,\n"  # 3 bad hr
        "a,not a time,30,run,150,5,\n"  # 4 bad time
        "a,2024-03-04T07:00:00Z,30,run,150,5,\n"  # 5 ok
        "a,2024-03-05T07:00:00Z,30,run,150,5,,extra\n"  # 6 ragged
        "a,2024-03-06T07:00:00Z,30,run,150,12,\n"  # 7 bad rpe
    )
    res = read(tmp_path, text, on_bad_row=OnBadRow.SKIP)
    assert res.sessions.height == 2
    assert res.sessions["local_date"].to_list() == [date(2024, 3, 1), date(2024, 3, 4)]
    assert res.skipped_rows == 4
    notes = " | ".join(res.warnings)
    assert "skipped 3 bad row(s) (line 3, 4, 7" in notes
    assert "too many fields (line 6)" in notes
    assert "avg_hr outside 20-250 bpm: 1" in notes


def test_skip_policy_still_rejects_a_missing_column(tmp_path: Path) -> None:
    with pytest.raises(BadRowError):
        read(tmp_path, "athlete_id,start_time,duration_min\n", on_bad_row=OnBadRow.SKIP)


def test_line_numbers_with_quoted_newlines_on_fast_path(tmp_path: Path) -> None:
    rows = [SESS_HEAD + ",note"]
    for d in range(1, 8):
        rows.append(f'a,2024-03-{d:02d}T07:00:00Z,30,run,150,5,,"day {d}\nsecond line\nthird"')
    rows.append("a,2024-03-09T07:00:00Z,30,run,150,5,-1,x")  # 1 + 7 * 3 + 1 = line 23
    with pytest.raises(BadRowError) as err:
        read(tmp_path, "\n".join(rows) + "\n")
    assert (err.value.line, err.value.column) == (23, "distance_km")


def test_unterminated_quote_is_reported_not_crashed(tmp_path: Path) -> None:
    text = SESS_HEAD + '\na,2024-03-01T07:00:00Z,30,"run,,,\na,2024-03-02T07:00:00Z,30,run,,,\n'
    with pytest.raises(ConnectorError) as err:
        read(tmp_path, text)
    assert err.value.line == 2


# --------------------------------------------------------------------------- properties
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise_anything_but_connector_error(tmp_path: Path, data: bytes) -> None:
    p = write(tmp_path, data, name="r.csv")
    generic_csv.detect(p, data)  # never raises
    try:
        res = generic_csv.read(p, ReadContext(athlete_id="x", tz="Europe/Berlin"))
    except ConnectorError:
        return
    assert res.format.startswith("generic_csv")


_cell = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "a",
            "x y",
            "7",
            "7,5",
            "-1",
            "1e9",
            "nan",
            "2024-03-01",
            "2024-03-01T07:00:00Z",
            "2024-03-31T02:30:00",
            "true",
            "maybe",
            '"',
            '""',
            "\u00e9",
            "\r",
            "\t",
            ";",
        ]
    ),
    st.text(max_size=6),
)
_headers = st.sampled_from(
    [SESS_HEAD + ",load,max_hr,extra", SLEEP_HEAD + ",deep_min,is_nap", DAILY_HEAD + ",red_flag"]
)


@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=_headers,
    sep=st.sampled_from([",", ";"]),
    rows=st.lists(st.lists(_cell, max_size=12), max_size=6),
    skip=st.booleans(),
)
def test_random_csvish_text_never_raises_anything_but_connector_error(tmp_path: Path, head, sep, rows, skip) -> None:
    text = head.replace(",", sep) + "\n" + "\n".join(sep.join(r) for r in rows)
    p = write(tmp_path, text, name="t.csv")
    ctx = ReadContext(tz="Europe/Berlin", on_bad_row=OnBadRow.SKIP if skip else OnBadRow.RAISE)
    try:
        res = generic_csv.read(p, ctx)
    except ConnectorError as err:
        assert err.path.endswith("t.csv")
        return
    assert res.format.startswith("generic_csv")
    for df in res.tables().values():
        if df.height:
            assert df["athlete_id"].null_count() == 0


_ids = st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄé0123456789_-. ", min_size=1, max_size=8).filter(
    lambda s: s.strip() == s and s
)
_offsets = st.integers(min_value=-12 * 4, max_value=14 * 4).map(lambda q: q * 15 * 60)  # quarter hours [s]
_starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 12, 31)).map(
    lambda d: d.replace(microsecond=0)
)


def _iso(local: datetime, offset_s: int) -> str:
    return local.replace(tzinfo=timezone(timedelta(seconds=offset_s))).isoformat()


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(
            _ids,
            _starts,
            _offsets,
            st.integers(1, 24 * 60 * 4).map(lambda q: q / 4),
            st.sampled_from(["running", "cycling", "strength"]),
            st.one_of(st.none(), st.integers(20, 250)),
            st.one_of(st.none(), st.integers(0, 10)),
            st.one_of(st.none(), st.integers(0, 100000).map(lambda m: m / 1000)),
        ),
        min_size=1,
        max_size=8,
    ),
    sep=st.sampled_from([",", ";"]),
)
def test_valid_sessions_round_trip(tmp_path: Path, rows, sep) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=sep, lineterminator="\n")
    w.writerow(SESS_HEAD.split(","))
    dec = (lambda x: str(x).replace(".", ",")) if sep == ";" else str
    for aid, start, off, dur, sport, hr, rpe, km in rows:
        w.writerow(
            [
                aid,
                _iso(start, off),
                dec(dur),
                sport,
                "" if hr is None else hr,
                "" if rpe is None else rpe,
                "" if km is None else dec(km),
            ]
        )
    res = read(tmp_path, buf.getvalue(), name="rt.csv")
    got = res.sessions
    assert got.height == len(rows) and res.skipped_rows == 0
    for i, (aid, start, off, dur, sport, hr, rpe, km) in enumerate(rows):
        r = got.row(i, named=True)
        assert r["athlete_id"] == aid
        assert r["start_utc"] == start.replace(tzinfo=timezone(timedelta(seconds=off))).astimezone(UTC)
        assert r["local_date"] == start.date()
        assert r["local_offset_s"] == off
        assert r["duration_s"] == pytest.approx(dur * 60)
        assert r["sport"] == sport
        assert r["avg_hr_bpm"] == (None if hr is None else float(hr))
        assert r["rpe"] == (None if rpe is None else float(rpe))
        assert r["distance_m"] == (None if km is None else pytest.approx(km * 1000))
        assert r["load_au"] == (None if rpe is None else pytest.approx(rpe * dur))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    nights=st.lists(
        st.tuples(_starts, _offsets, _offsets, st.integers(10 * 60, 16 * 3600), st.floats(0, 1)),
        min_size=1,
        max_size=6,
    ),
)
def test_valid_sleep_round_trip(tmp_path: Path, nights) -> None:
    lines = [SLEEP_HEAD]
    expect = []
    for start, off_s, off_e, in_bed, frac in nights:
        s_utc = start.replace(tzinfo=timezone(timedelta(seconds=off_s))).astimezone(UTC)
        e_utc = s_utc + timedelta(seconds=in_bed)
        e_local = e_utc.astimezone(timezone(timedelta(seconds=off_e)))
        asleep_min = int(in_bed * frac / 60)
        lines.append(f"a,{_iso(start, off_s)},{e_local.isoformat()},{asleep_min}")
        expect.append((s_utc, e_utc, e_local.date(), asleep_min * 60.0, float(in_bed)))
    res = read(tmp_path, "\n".join(lines) + "\n")
    got = res.sleep
    assert got.height == len(nights)
    for i, (s_utc, e_utc, wake, asleep, in_bed) in enumerate(expect):
        r = got.row(i, named=True)
        assert (r["start_utc"], r["end_utc"], r["wake_date"]) == (s_utc, e_utc, wake)
        assert r["asleep_s"] == asleep and r["in_bed_s"] == in_bed


def test_repeated_key_in_one_file_is_noted(tmp_path: Path) -> None:
    res = read(tmp_path, DAILY_HEAD + "\na,2024-03-01,50,60\na,2024-03-01,51,61\nb,2024-03-01,52,62\n")
    assert res.wellness.height == 3  # the store keeps the last of a key
    assert any("1 row(s) repeat the athlete_id and date" in w for w in res.warnings)
