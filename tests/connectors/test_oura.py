"""Oura connector (connectors/oura.py): trends CSV, sleepmodel CSV/JSON, dailysleep, v1 JSON."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import oura
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from features.schemas import SLEEP, WELLNESS, require

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "oura"
TRENDS = FIX / "oura_2021-03-01_2021-03-04_trends.csv"
CTX = ReadContext(athlete_id="olli")


def Z(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "name",
    [
        "oura_2021-03-01_2021-03-04_trends.csv",
        "sleepmodel.csv",
        "sleepmodel.json",
        "dailysleep.csv",
        "oura_data_v1.json",
        "workout.csv",
        "dailyreadiness.csv",
    ],
)
def test_detect_by_content(tmp_path, name):
    p = tmp_path / "renamed.dat"
    p.write_bytes((FIX / name).read_bytes())
    assert oura.detect(p, p.read_bytes()[:65536])


def test_detect_rejects_lookalikes():
    assert not oura.detect(Path("x"), b'{"activity": [{"summary_date": "2020-01-01", "steps": 100}]}')
    assert not oura.detect(Path("x"), b"date,steps\n2020-01-01,100\n")
    assert not oura.detect(Path("x"), b"\xff\xd8\xff\xe0 JFIF")


def test_trends_csv():
    res = oura.read(TRENDS, CTX)
    assert res.format == "oura_trends_csv"
    require(res.sleep, SLEEP)
    s = res.sleep
    # the 2021-03-01 row has no ring data: no sleep, no wellness (null, never 0)
    assert s["wake_date"].to_list() == [date(2021, 3, 1), date(2021, 3, 3), date(2021, 3, 4)]
    n1 = s.row(0, named=True)
    # 23:10+01:00 -> 22:10 UTC; 07:20+01:00 -> 06:20 UTC; 8 h 10 min = 29400 s in bed
    assert (n1["start_utc"], n1["end_utc"]) == (Z(2021, 2, 28, 22, 10), Z(2021, 3, 1, 6, 20))
    # seconds as exported; REM 5700 + light 14520 + deep 6600 = 26820 asleep; 29400 - 26820 = 2580 awake
    assert (n1["asleep_s"], n1["rem_s"], n1["light_s"], n1["deep_s"], n1["awake_s"], n1["in_bed_s"]) == (
        26820.0,
        5700.0,
        14520.0,
        6600.0,
        2580.0,
        29400.0,
    )
    assert n1["sleep_score"] == 82.0 and n1["is_nap"] is False
    # Tokyo: woke 06:45+09:00 on 3 March = 21:45 UTC on 2 March; wake date is the local one
    n2 = s.row(1, named=True)
    assert n2["end_utc"] == Z(2021, 3, 2, 21, 45) and n2["wake_date"] == date(2021, 3, 3)
    w = res.wellness
    require(w, WELLNESS)
    # rhr = Lowest Resting Heart Rate (47, 55, 50), HRV = Average HRV (rMSSD); empty HRV stays null
    assert w.select("date", "rhr_bpm", "hrv_rmssd_ms").rows() == [
        (date(2021, 3, 1), 47.0, 64.0),
        (date(2021, 3, 3), 55.0, 41.0),
        (date(2021, 3, 4), 50.0, None),
    ]
    assert w["hrv_sdnn_ms"].null_count() == 3


def test_sleepmodel_csv_and_json_agree():
    c = oura.read(FIX / "sleepmodel.csv", CTX)
    j = oura.read(FIX / "sleepmodel.json", CTX)
    assert c.format == "oura_sleepmodel_csv" and j.format == "oura_sleepmodel_json"
    drop = ["source_file"]
    assert c.sleep.drop(drop).equals(j.sleep.drop(drop))
    assert c.wellness.drop(drop).equals(j.wellness.drop(drop))
    s = c.sleep
    # 4 records: long_sleep, late_nap, long_sleep, deleted (skipped)
    assert s["is_nap"].to_list() == [False, True, False]
    n1 = s.row(0, named=True)
    # 22:51:43+02:00 -> 20:51:43 UTC; deep 4860 + light 15330 + rem 6180 = 26370 s
    assert (n1["start_utc"], n1["asleep_s"], n1["in_bed_s"], n1["awake_s"]) == (
        Z(2024, 5, 1, 20, 51, 43),
        26370.0,
        29190.0,
        2820.0,
    )
    nap = s.row(1, named=True)
    assert (nap["wake_date"], nap["asleep_s"], nap["in_bed_s"]) == (date(2024, 5, 2), 1800.0, 2130.0)
    # wellness from the long sleeps only (the nap's lowest HR 57 is not a resting HR)
    assert c.wellness.select("date", "rhr_bpm", "hrv_rmssd_ms").rows() == [
        (date(2024, 5, 2), 48.0, 57.0),
        (date(2024, 5, 3), 50.0, 49.0),
    ]


def test_v1_json_export():
    res = oura.read(FIX / "oura_data_v1.json", CTX)
    r = res.sleep.row(0, named=True)
    # total 25800 = light 14400 + rem 6000 + deep 5400; duration 28200 = 23:10 -> 07:00
    assert (r["asleep_s"], r["in_bed_s"], r["wake_date"], r["is_nap"]) == (25800.0, 28200.0, date(2020, 1, 2), False)
    assert res.wellness.select("date", "rhr_bpm", "hrv_rmssd_ms").rows() == [(date(2020, 1, 2), 46.0, 70.0)]


def test_dailysleep_is_read_but_has_no_rows(tmp_path):
    res = oura.read(FIX / "dailysleep.csv", CTX)
    assert res.format == "oura_dailysleep_csv"
    assert res.sleep.is_empty() and res.wellness.is_empty()
    assert any("2 daily sleep scores" in w for w in res.warnings)
    p = tmp_path / "dailysleep.json"
    p.write_text(
        json.dumps(
            {
                "data": [
                    {
                        "id": "x",
                        "contributors": {"deep_sleep": 80, "total_sleep": 90},
                        "day": "2024-05-02",
                        "score": 81,
                        "timestamp": "2024-05-02T00:00:00+02:00",
                    }
                ]
            }
        )
    )
    assert oura.detect(p, p.read_bytes())
    res = oura.read(p, CTX)
    assert res.format == "oura_dailysleep_json" and any("1 daily sleep scores" in w for w in res.warnings)
    bad = (FIX / "dailysleep.csv").read_text().replace('""timing"": 95', '""timing"": 95,,')
    p = tmp_path / "dailysleep.csv"
    p.write_text(bad)
    with pytest.raises(BadRowError, match="contributors cell is not JSON") as ei:
        oura.read(p, CTX)
    assert ei.value.line == 2


def test_bad_rows(tmp_path):
    lines = TRENDS.read_text().splitlines()
    lines[3] = lines[3].replace("2021-03-02T23:30:00+09:00", "02/03/2021 23:30")
    p = tmp_path / "t.csv"
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(BadRowError) as ei:
        oura.read(p, CTX)
    assert ei.value.line == 4 and ei.value.column == "bedtime_start"
    res = oura.read(p, ReadContext(athlete_id="olli", on_bad_row=OnBadRow.SKIP))
    assert res.skipped_rows == 1 and res.sleep.height == 2
    # an unknown type in sleepmodel JSON names the record
    doc = json.loads((FIX / "sleepmodel.json").read_text())
    doc["data"][2]["type"] = "hibernation"
    p = tmp_path / "s.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(BadRowError, match=r"record data\[2\].*unknown sleep type 'hibernation'"):
        oura.read(p, CTX)
    doc["data"][2]["type"] = "long_sleep"
    doc["data"][2]["total_sleep_duration"] = "lots"
    p.write_text(json.dumps(doc))
    with pytest.raises(BadRowError, match=r"record data\[2\].*total_sleep_duration.*expected a number"):
        oura.read(p, CTX)


def test_malformed_files(tmp_path):
    p = tmp_path / "s.json"
    p.write_text((FIX / "sleepmodel.json").read_text()[:-40])
    with pytest.raises(ConnectorError, match=r"line \d+: malformed JSON at column \d+"):
        oura.read(p, CTX)
    p.write_text('{"sleepy": []}')
    with pytest.raises(ConnectorError, match="'data' or 'sleep' list"):
        oura.read(p, CTX)
    p = tmp_path / "t.csv"
    p.write_text(TRENDS.read_text() + "2021-03-05,1,2" + ",x" * 60 + "\n")
    with pytest.raises(ConnectorError, match=r"line 6: .*cells but the header has 56"):
        oura.read(p, CTX)
    with pytest.raises(ConnectorError, match="--athlete"):
        oura.read(TRENDS, ReadContext())


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_only_connector_errors(tmp_path, data):
    name = data.draw(
        st.sampled_from(
            [
                "oura_2021-03-01_2021-03-04_trends.csv",
                "sleepmodel.csv",
                "sleepmodel.json",
                "dailysleep.csv",
                "oura_data_v1.json",
            ]
        )
    )
    raw = (FIX / name).read_bytes()
    mode = data.draw(st.sampled_from(["truncate", "random", "flip"]))
    if mode == "truncate":
        blob = raw[: data.draw(st.integers(0, len(raw)))]
    elif mode == "random":
        blob = data.draw(st.binary(max_size=2000))
    else:
        i = data.draw(st.integers(0, len(raw) - 1))
        blob = raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1 :]
    p = tmp_path / "fuzz"
    p.write_bytes(blob)
    if not oura.detect(p, blob[:65536]):
        return
    try:
        res = oura.read(p, CTX)
    except ConnectorError:
        return
    require(res.sleep, SLEEP)
    require(res.wellness, WELLNESS)


def test_deeply_nested_json_is_a_connector_error(tmp_path):
    p = tmp_path / "deep.json"
    p.write_text(
        '{"data": [{"bedtime_start": "x", "bedtime_end": "y", "type": "long_sleep", '
        '"total_sleep_duration": ' + "[" * 100000 + "]" * 100000 + "}]}"
    )
    assert oura.detect(p, p.read_bytes()[:65536])
    with pytest.raises(ConnectorError):
        oura.read(p, CTX)


def test_date_fallback_without_bedtime_end(tmp_path):
    # trends CSV: `date` is the wake date; v1 JSON: summary_date is the day before waking
    lines = TRENDS.read_text().splitlines()
    cells = lines[3].split(",")
    hdr = lines[0].split(",")
    for c in ("Bedtime Start", "Bedtime End"):
        cells[hdr.index(c)] = ""
    p = tmp_path / "t.csv"
    p.write_text("\n".join([lines[0], ",".join(cells)]) + "\n")
    res = oura.read(p, CTX)
    assert res.sleep.is_empty()
    assert res.wellness.select("date", "rhr_bpm").rows() == [(date(2021, 3, 3), 55.0)]
    doc = json.loads((FIX / "oura_data_v1.json").read_text())
    del doc["sleep"][0]["bedtime_start"], doc["sleep"][0]["bedtime_end"]
    p = tmp_path / "v1.json"
    p.write_text(json.dumps(doc))
    res = oura.read(p, CTX)
    assert res.wellness.select("date", "rhr_bpm").rows() == [(date(2020, 1, 2), 46.0)]


def test_workouts():
    res = oura.read(FIX / "workout.csv", CTX)
    assert res.format == "oura_workout_csv"
    s = res.sessions.sort("start_utc")
    # 18:15:00+02:00 -> 16:15 UTC; 18:15:00 -> 19:02:10 = 47 min 10 s = 2830 s
    assert s.select("start_utc", "local_date", "sport", "duration_s", "distance_m", "energy_kcal").rows() == [
        (Z(2024, 5, 2, 16, 15), date(2024, 5, 2), "running", 2830.0, 8030.5, 512.3),
        (Z(2024, 5, 3, 10, 5), date(2024, 5, 3), "walking", 2100.0, None, 140.0),
        (Z(2024, 5, 3, 16, 0), date(2024, 5, 3), "strength", 3600.0, None, 230.0),
    ]
    assert s["local_offset_s"].to_list() == [7200] * 3 and set(s["source"]) == {"oura"}
    assert s["avg_hr_bpm"].null_count() == 3 and s["rpe"].null_count() == 3
    assert res.sleep.is_empty() and res.wellness.is_empty()


def test_other_oura_files_are_recognised_without_rows(tmp_path):
    res = oura.read(FIX / "dailyreadiness.csv", CTX)
    assert res.format == "oura_other_csv" and res.rows() == {"sessions": 0, "sleep": 0, "wellness": 0}
    assert "dailyreadiness" in res.warnings[0]
    p = tmp_path / "heartrate.json"
    p.write_text(json.dumps({"data": [{"bpm": 61, "source": "rest", "timestamp": "2024-05-02T03:00:00+00:00"}]}))
    assert oura.detect(p, p.read_bytes())
    res = oura.read(p, CTX)
    assert res.format == "oura_other_json" and "heartrate" in res.warnings[0]
    p = tmp_path / "x.csv"
    p.write_text("timestamp;bpm;source\n2024-05-02T03:00:00+00:00;61;rest\n")
    assert oura.read(p, CTX).format == "oura_other_csv"


def test_trends_csv_resaved_by_excel_in_cp1252(tmp_path):
    p = tmp_path / "trends.csv"
    p.write_bytes(TRENDS.read_text(encoding="utf-8").encode("cp1252"))  # "°C" becomes the single byte 0xB0
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")
    assert oura.detect(p, p.read_bytes())
    res = oura.read(p, CTX)
    assert res.sleep.drop("source_file").equals(oura.read(TRENDS, CTX).sleep.drop("source_file"))
    assert any("Windows-1252" in w for w in res.warnings)
