"""Shared helpers of the vendor connectors: sport names, local time, JSON errors, bad-row policy."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from connectors._export_util import (
    BadRows,
    LocalTime,
    UnexpectedErrors,
    iter_json_items,
    normalise_sport,
    parse_float,
    parse_local_datetime,
    parse_number,
    parse_offset,
    srpe_load,
)
from connectors.base import BadRowError, ConnectorError, CorruptFileError, OnBadRow, ReadContext, ReadResult
from tests.connectors.vendor_helpers import utc


@pytest.mark.parametrize(
    "name, expected",
    [
        ("Run", ("running", None)),
        ("Trail Run", ("running", "trail")),
        ("treadmill_running", ("running", "treadmill")),
        ("Weight Training", ("strength", None)),
        ("WeightTraining", ("strength", None)),
        ("strength_training", ("strength", None)),
        ("Virtual Ride", ("cycling", "virtual")),
        ("road_biking", ("cycling", "road")),
        ("Pool Swim", ("swimming", "lap_swimming")),
        ("open_water_swimming", ("swimming", "open_water")),
        ("Laufen", ("running", None)),
        ("Schwimmbadschwimmen", ("swimming", "lap_swimming")),
        ("Course à pied", ("running", None)),
        ("Musculation", ("strength", None)),
        ("Carrera", ("running", None)),
        ("Nuoto in piscina", ("swimming", "lap_swimming")),
        ("Hardlopen", ("running", None)),
        ("Krachttraining", ("strength", None)),
        ("Corrida em esteira", ("running", "treadmill")),
        ("Musculação", ("strength", None)),
        ("Indoor-Radfahren", ("cycling", "indoor")),
        ("Bergwandern", ("hiking", None)),  # keyword rule
        ("Padel", ("padel", None)),  # unknown: a slug, never dropped
        ("", ("generic", None)),
    ],
)
def test_sport_names_in_every_language(name, expected):
    assert normalise_sport(name) == expected


def test_local_time_dst_edges():
    clock = LocalTime(ReadContext(tz="Europe/Berlin"), Path("x"), "t")
    # autumn: 02:30 happens twice on 2024-10-27; the first (CEST, UTC+2) is taken
    assert clock.to_utc(datetime(2024, 10, 27, 2, 30)) == (utc(2024, 10, 27, 0, 30), 7200)
    # spring: 02:30 does not exist on 2024-03-31; read with the pre-change offset (UTC+1)
    assert clock.to_utc(datetime(2024, 3, 31, 2, 30))[0] == utc(2024, 3, 31, 1, 30)
    assert clock.local_date_of(utc(2024, 3, 30, 23, 30)) == datetime(2024, 3, 31).date()
    r = ReadResult(format="x")
    clock.note(r)
    assert r.warnings == []


def test_no_time_zone_note_only_when_used():
    clock = LocalTime(ReadContext(), Path("x"), "the Date column")
    r = ReadResult(format="x")
    clock.note(r)
    assert r.warnings == []
    assert clock.to_utc(datetime(2024, 1, 1, 12)) == (utc(2024, 1, 1, 12), None)
    clock.note(r)
    assert r.warnings and "the Date column read as UTC" in r.warnings[0]


def test_unknown_time_zone():
    with pytest.raises(ConnectorError, match="Mars/Base"):
        LocalTime(ReadContext(tz="Mars/Base"), Path("f.csv"), "t")


def test_local_datetime_layouts():
    want = datetime(2019, 11, 1, 23, 31, 30)
    for raw in ("2019-11-01T23:31:30.000", "2019-11-01 23:31:30", "11/01/19 23:31:30", "11/01/2019 23:31:30"):
        assert parse_local_datetime(raw) == want, raw
    for bad in ("2019-11-01T23:31:30Z", "2019-11-01T23:31:30+01:00", "tomorrow", None):
        with pytest.raises(ValueError):
            parse_local_datetime(bad)


def test_json_error_positions(tmp_path):
    p = tmp_path / "x.json"
    p.write_text('[\n {"a": 1},\n {"a": 2,}\n]')
    with pytest.raises(CorruptFileError) as e:
        list(iter_json_items(p, ReadContext(), "item"))
    assert e.value.line == 3 and "after record 0" in str(e.value)
    p.write_bytes(b'[{"a": "\xff"}]')
    with pytest.raises(CorruptFileError, match="UTF-8|malformed"):
        list(iter_json_items(p, ReadContext(), "item"))


def test_bad_rows_policy():
    err = BadRowError("f.csv", "bad", line=3)
    with pytest.raises(BadRowError):
        BadRows(ReadContext())(err)
    bad = BadRows(ReadContext(on_bad_row=OnBadRow.SKIP))
    for _ in range(7):
        bad(err)
    r = bad.finish(ReadResult(format="x"))
    assert r.skipped_rows == 7
    assert len(r.warnings) == 6 and "7 bad records" in r.warnings[-1]
    # Oura, WHOOP and Apple Health name up to 20 skipped rows one by one
    bad = BadRows(ReadContext(on_bad_row=OnBadRow.SKIP), max_notes=20)
    for _ in range(22):
        bad(err)
    r = bad.finish(ReadResult(format="x"))
    # 20 named rows + 1 summary; 22 counted
    assert r.skipped_rows == 22 and len(r.warnings) == 21
    assert r.warnings[0].startswith("skipped: ") and "line 3" in r.warnings[0]
    assert r.warnings[-1] == "skipped 22 bad records in all (first 20 shown)"


def test_parse_float_is_strict_and_names_the_cell():
    def pf(v, lo=20.0, hi=200.0):
        return parse_float(v, "w.csv", line=4, column="RHR", lo=lo, hi=hi)

    assert pf(" 52.5 ") == 52.5 and pf(52) == 52.0
    for missing in (None, "", "--", "n/a", "NaN", "null"):
        assert pf(missing) is None
    # Oura/WHOOP write plain numbers: a thousands separator is a bad row here,
    # while the Garmin/Strava reader takes it as one thousand two hundred and thirty-four
    with pytest.raises(BadRowError, match=r"^w\.csv, line 4, column 'RHR': expected a number, found '1,234'$"):
        pf("1,234", hi=1e6)
    assert parse_number("1,234") == 1234.0
    with pytest.raises(BadRowError, match="expected a finite number"):
        pf("inf")
    with pytest.raises(BadRowError, match=r"value 250 outside the plausible range 20\.\.200"):
        pf("250")
    with pytest.raises(BadRowError, match="expected a number, found True"):
        pf(True)


@pytest.mark.parametrize(
    "text, hours",
    [
        ("UTC-04:00", -4.0),
        ("GMT+5", 5.0),
        ("+0530", 5.5),
        ("-03:30", -3.5),
        ("UTC", 0.0),
        ("Z", 0.0),
    ],
)
def test_parse_offset_fixed(text, hours):
    tz = parse_offset(text, "w.csv", line=2, column="Cycle timezone")
    assert tz.utcoffset(None).total_seconds() == hours * 3600


def test_parse_offset_iana_and_errors():
    tz = parse_offset("Europe/Paris", "w.csv", line=2, column="Cycle timezone")
    assert datetime(2024, 7, 1, 12).replace(tzinfo=tz).utcoffset().total_seconds() == 7200  # CEST
    with pytest.raises(BadRowError, match=r"line 2, column 'Cycle timezone': time-zone offset out of range"):
        parse_offset("UTC+15:00", "w.csv", line=2, column="Cycle timezone")
    with pytest.raises(BadRowError, match="expected a time zone like 'UTC-04:00' or 'Europe/Paris'"):
        parse_offset("Mars/Olympus", "w.csv", line=2, column="Cycle timezone")


def test_unexpected_errors_name_the_file():
    with pytest.raises(ConnectorError, match=r"^a\.json: garmin_x: unexpected KeyError: 'k'$") as info:
        with UnexpectedErrors("a.json", "garmin_x"):
            {}["k"]
    assert isinstance(info.value.__cause__, KeyError)
    own = CorruptFileError("a.json", "bad", line=2)
    with pytest.raises(CorruptFileError) as info:
        with UnexpectedErrors("a.json", "garmin_x"):
            raise own
    assert info.value is own  # a ConnectorError passes unchanged
    with pytest.raises(KeyboardInterrupt):
        with UnexpectedErrors("a.json", "garmin_x"):
            raise KeyboardInterrupt


def test_srpe_load():
    assert srpe_load(6.0, 50.0) == (300.0, "srpe")  # CR10 6 x 50 min
    assert srpe_load(None, 50.0) == (None, None)
    assert srpe_load(6.0, None) == (None, None)
    assert srpe_load(6.0, 0.0) == (None, None)
