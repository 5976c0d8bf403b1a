"""Apple Health export.xml connector (connectors/apple_health.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors import apple_health
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from features.schemas import SESSIONS, SLEEP, WELLNESS, require

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "vendor" / "apple_health" / "export.xml"
CTX = ReadContext(athlete_id="lea")


def Z(*a) -> datetime:
    return datetime(*a, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def fixture_result():
    return apple_health.read(FIX, CTX)


def test_detect_by_root_element(tmp_path):
    assert apple_health.detect(FIX, FIX.read_bytes()[:65536])
    other = tmp_path / "export.xml"
    other.write_text('<?xml version="1.0"?>\n<!-- HealthData -->\n<gpx><HealthData/></gpx>')
    assert not apple_health.detect(other, other.read_bytes())
    assert not apple_health.detect(other, b"\x89PNG\r\n")
    assert not apple_health.detect(other, b"date,HealthData\n")


def test_wellness_sdnn_never_rmssd(fixture_result):
    w = fixture_result.wellness.sort("date")
    require(w, WELLNESS)
    # 2024-01-16: RHR 51 (Watch) and 49 (Withings) -> mean 50; SDNN 42 and 58 -> mean 50
    # 2024-01-17: RHR 53, SDNN 61; 2024-01-18: SDNN 38 only (record with nested HRV metadata list)
    assert w.select("date", "rhr_bpm", "hrv_sdnn_ms").rows() == [
        (date(2024, 1, 16), 50.0, 50.0),
        (date(2024, 1, 17), 53.0, 61.0),
        (date(2024, 1, 18), None, 38.0),
    ]
    assert w["hrv_rmssd_ms"].null_count() == w.height
    # the plain HeartRate record is not a resting heart rate
    assert 58.0 not in w["rhr_bpm"].to_list()


def test_sleep_overlapping_sources_not_double_counted(fixture_result):
    s = fixture_result.sleep
    require(s, SLEEP)
    assert s["start_utc"].is_sorted()
    nights = s.filter(~pl.col("is_nap")).sort("wake_date")
    assert nights["wake_date"].to_list() == [date(2024, 1, 16), date(2024, 1, 17), date(2024, 1, 19)]
    n1, n2, n3 = nights.iter_rows(named=True)
    # night 1: the Watch has stages, so it measures the night (AutoSleep's one block 22:45-06:35
    # spans the Watch's awakenings and is not added):
    # core 90+165+20 = 275 min = 16500 s, deep 60 min = 3600 s, REM 40+60 = 100 min = 6000 s,
    # asleep 275+60+100 = 435 min = 26100 s, awake 15+10 = 25 min = 1500 s;
    # in bed = union of everything = iPhone InBed 22:30-06:45 = 495 min = 29700 s.
    # (a naive sum over sources would give 435 + 470 = 905 min asleep)
    assert (n1["asleep_s"], n1["light_s"], n1["deep_s"], n1["rem_s"], n1["awake_s"], n1["in_bed_s"]) == (
        26100.0,
        16500.0,
        3600.0,
        6000.0,
        1500.0,
        29700.0,
    )
    assert (n1["start_utc"], n1["end_utc"]) == (Z(2024, 1, 15, 21, 30), Z(2024, 1, 16, 5, 45))
    # night 2 (pre-iOS 16 "Asleep", no stages): Watch 23:00-03:00 + 03:20-07:00, Pillow 23:10-06:50
    # -> union 23:00-07:00 = 480 min = 28800 s (the sum would be 240+220+460 = 920 min);
    # in bed: iPhone 22:50-07:05 = 495 min
    assert (n2["asleep_s"], n2["in_bed_s"], n2["awake_s"]) == (28800.0, 29700.0, 0.0)
    assert n2["deep_s"] is None and n2["rem_s"] is None and n2["light_s"] is None
    # night 3: up 02:00-03:30 (gap 90 min > 30 min: two episodes) -> one night for wake date 19th:
    # 150 + 180 = 330 min = 19800 s asleep; core 150+120 = 270 min; REM 60 min; deep measured 0
    assert (n3["asleep_s"], n3["light_s"], n3["rem_s"], n3["deep_s"], n3["in_bed_s"]) == (
        19800.0,
        16200.0,
        3600.0,
        0.0,
        19800.0,
    )
    assert (n3["start_utc"], n3["end_utc"]) == (Z(2024, 1, 18, 22, 30), Z(2024, 1, 19, 5, 30))
    # one night per wake date
    assert nights["wake_date"].is_unique().all()


def test_nap_is_short_daytime_sleep(fixture_result):
    naps = fixture_result.sleep.filter(pl.col("is_nap"))
    # Watch 14:10-14:50 and AutoSleep 14:05-14:45 -> union 14:05-14:50 = 45 min
    assert naps.select("start_utc", "end_utc", "wake_date", "asleep_s").rows() == [
        (Z(2024, 1, 17, 13, 5), Z(2024, 1, 17, 13, 50), date(2024, 1, 17), 2700.0)
    ]


def test_workouts_units_time_zones_and_duplicates(fixture_result):
    s = fixture_result.sessions.sort("start_utc")
    require(s, SESSIONS)
    assert s.height == 3  # the Strava copy of the run is kept once
    run, lift, ride = s.iter_rows(named=True)
    # 45.5 min -> 2730 s; 5 mi x 1609.344 = 8046.72 m; 07:30:00 -> 08:16:10 = 2770 s elapsed
    assert (run["sport"], run["duration_s"], run["elapsed_s"]) == ("running", 2730.0, 2770.0)
    assert run["distance_m"] == pytest.approx(8046.72)
    assert (run["avg_hr_bpm"], run["max_hr_bpm"], run["energy_kcal"]) == (148.0, 171.0, 480.0)
    assert run["start_utc"] == Z(2024, 1, 16, 6, 30) and run["local_offset_s"] == 3600
    # written 2024-01-19 00:30 +0100 (export offset) but HKTimeZone America/New_York:
    # 23:30 UTC on the 18th = 18:30 EST -> local date 18th, offset -5 h
    assert lift["start_utc"] == Z(2024, 1, 18, 23, 30)
    assert (lift["local_date"], lift["local_offset_s"], lift["sport"], lift["sub_sport"]) == (
        date(2024, 1, 18),
        -18000,
        "strength",
        "indoor",
    )
    assert lift["distance_m"] is None
    # iOS 16+: totals in WorkoutStatistics: 25.5 km, 610 kcal, HR 135/162
    assert (ride["distance_m"], ride["energy_kcal"], ride["avg_hr_bpm"], ride["max_hr_bpm"]) == (
        25500.0,
        610.0,
        135.0,
        162.0,
    )
    assert ride["duration_s"] == 62 * 60
    assert any("Strava" in w for w in fixture_result.warnings)


def test_real_corpus_exports(corpus_dir):
    for name in ("healthkit-to-sqlite__export.xml", "healthkit-to-sqlite-zip__export.xml"):
        p = corpus_dir / "xml" / "apple_health" / name
        assert apple_health.detect(p, p.read_bytes()[:65536])
        res = apple_health.read(p, CTX)
        assert res.sleep.is_empty() and res.wellness.is_empty()  # only BMI and HeartRate records
        w = res.sessions.row(0, named=True)
        assert res.sessions.height == 1
        # duration 5.19412346680959 min x 60 = 311.647 s; 0.4971749504535062 mi x 1609.344 = 800.126 m
        assert w["duration_s"] == pytest.approx(311.6474080, abs=1e-6)
        assert w["distance_m"] == pytest.approx(800.1255235, abs=1e-6)
        assert w["energy_kcal"] == pytest.approx(48.745)
        # written "2016-11-14 07:25:41 -0700" (the phone's offset at export, July 2019) = 14:25:41 UTC;
        # HKTimeZone America/Los_Angeles was on PST (-8 h) that day -> 06:25:41 local, same date
        assert w["start_utc"] == Z(2016, 11, 14, 14, 25, 41)
        assert (w["local_date"], w["local_offset_s"], w["sport"]) == (date(2016, 11, 14), -28800, "running")
        assert w["elapsed_s"] == 311.0  # 07:25:41 -> 07:30:52


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE HealthData [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<HealthData locale="en_US"><Record type="HKQuantityTypeIdentifierRestingHeartRate" sourceName="&lol9;"
 unit="count/min" startDate="2024-01-01 00:00:00 +0000" endDate="2024-01-01 00:00:00 +0000" value="50"/></HealthData>
"""


def test_billion_laughs_is_rejected(tmp_path):
    p = tmp_path / "export.xml"
    p.write_text(BILLION_LAUGHS)
    assert apple_health.detect(p, p.read_bytes())
    with pytest.raises(ConnectorError, match=r"line 3: .*entity 'lol'.*not allowed") as ei:
        apple_health.read(p, CTX)
    assert str(p) in str(ei.value)


def test_external_entities_are_never_fetched(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    p = tmp_path / "export.xml"
    p.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file://{secret}">]>
<HealthData><Record type="HKQuantityTypeIdentifierRestingHeartRate" sourceName="x" unit="count/min"
 startDate="2024-01-01 00:00:00 +0000" endDate="2024-01-01 00:00:00 +0000" value="50">&xxe;</Record></HealthData>""")
    with pytest.raises(ConnectorError, match="external entity 'xxe'") as ei:
        apple_health.read(p, CTX)
    assert "TOP-SECRET" not in str(ei.value)
    # an external DTD subset with an entity definition is not read either: the reference fails
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY pwn "pwned">')
    p.write_text(f"""<?xml version="1.0"?>
<!DOCTYPE HealthData SYSTEM "file://{dtd}">
<HealthData><Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="x"
 startDate="2024-01-01 00:00:00 +0000" endDate="2024-01-01 01:00:00 +0000"
 value="HKCategoryValueSleepAnalysisAsleepCore">&pwn;</Record></HealthData>""")
    # the DOCTYPE is never used (not even read from disk), so the reference is undefined
    with pytest.raises(ConnectorError, match=r"line 5: malformed XML at column \d+: undefined entity") as ei:
        apple_health.read(p, CTX)
    assert "pwned" not in str(ei.value)
    p.write_text(p.read_text().replace('sourceName="x"', 'sourceName="&pwn;"').replace(">&pwn;</Record>", "/>"))
    with pytest.raises(ConnectorError, match="undefined entity") as ei:
        apple_health.read(p, CTX)
    assert "pwned" not in str(ei.value)
    # defence in depth: without the Apple root the DOCTYPE reaches the parser, whose handlers refuse
    p.write_text(f'<?xml version="1.0"?>\n<!DOCTYPE x SYSTEM "file://{dtd}">\n<x>&pwn;</x>')
    with pytest.raises(ConnectorError, match="undeclared entity 'pwn'|root element is <x>"):
        apple_health.read(p, CTX)


def test_malformed_xml_names_line_and_column(tmp_path):
    lines = FIX.read_text().splitlines()
    i = next(k for k, ln in enumerate(lines) if "AsleepDeep" in ln)
    lines[i] = lines[i].replace('value="HK', "value=HK")  # unquoted attribute
    p = tmp_path / "export.xml"
    p.write_text("\n".join(lines))
    with pytest.raises(ConnectorError, match=rf"line {i + 1}: malformed XML at column \d+: not well-formed"):
        apple_health.read(p, CTX)
    # truncated mid-file
    p.write_bytes(FIX.read_bytes()[:5000])
    with pytest.raises(ConnectorError, match="malformed XML"):
        apple_health.read(p, CTX)
    # wrong root
    p.write_text("<gpx><trk/></gpx>")
    with pytest.raises(ConnectorError, match=r"line 1: root element is <gpx>"):
        apple_health.read(p, CTX)


def test_bad_record_raises_or_is_skipped(tmp_path):
    text = FIX.read_text().replace(
        'unit="ms" creationDate="2024-01-17 06:40:00 +0100" startDate="2024-01-17 06:39:00 +0100" endDate="2024-01-17 '
        '06:40:00 +0100" value="61"',
        'unit="ms" creationDate="2024-01-17 06:40:00 +0100" startDate="2024-01-17 06:39:00 +0100" endDate="2024-01-17 '
        '06:40:00 +0100" value="sixty"',
    )
    line = next(k + 1 for k, ln in enumerate(text.splitlines()) if 'value="sixty"' in ln)
    p = tmp_path / "export.xml"
    p.write_text(text)
    with pytest.raises(BadRowError) as ei:
        apple_health.read(p, CTX)
    assert ei.value.line == line and ei.value.column == "value"
    res = apple_health.read(p, ReadContext(athlete_id="lea", on_bad_row=OnBadRow.SKIP))
    assert res.skipped_rows == 1
    assert res.wellness.filter(pl.col("date") == date(2024, 1, 17))["hrv_sdnn_ms"].to_list() == [None]
    # unknown duration unit
    p.write_text(FIX.read_text().replace('duration="62" durationUnit="min"', 'duration="62" durationUnit="fortnight"'))
    with pytest.raises(BadRowError, match="durationUnit"):
        apple_health.read(p, CTX)


def test_duration_in_seconds_and_distance_in_metres(tmp_path):
    p = tmp_path / "export.xml"
    p.write_text("""<HealthData><Workout workoutActivityType="HKWorkoutActivityTypeRowing" duration="1800"
 durationUnit="s" totalDistance="6000" totalDistanceUnit="m" sourceName="ErgData" startDate="2024-02-01 18:00:00 -0500"
 endDate="2024-02-01 18:31:00 -0500"/></HealthData>""")
    r = apple_health.read(p, CTX).sessions.row(0, named=True)
    # no HKTimeZone: the written offset (-05:00) gives local date and offset
    assert (r["sport"], r["duration_s"], r["distance_m"], r["elapsed_s"]) == ("rowing", 1800.0, 6000.0, 1860.0)
    assert (r["start_utc"], r["local_date"], r["local_offset_s"]) == (Z(2024, 2, 1, 23, 0), date(2024, 2, 1), -18000)


def test_needs_athlete():
    with pytest.raises(ConnectorError, match="--athlete"):
        apple_health.read(FIX, ReadContext())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzz_only_connector_errors(tmp_path, data):
    raw = FIX.read_bytes()
    mode = data.draw(st.sampled_from(["truncate", "random", "flip", "splice"]))
    if mode == "truncate":
        blob = raw[: data.draw(st.integers(0, len(raw)))]
    elif mode == "random":
        blob = data.draw(st.binary(max_size=3000))
    elif mode == "flip":
        i = data.draw(st.integers(0, len(raw) - 1))
        blob = raw[:i] + bytes([data.draw(st.integers(0, 255))]) + raw[i + 1 :]
    else:
        i = data.draw(st.integers(0, len(raw)))
        blob = raw[:i] + data.draw(st.binary(max_size=50)) + raw[i:]
    p = tmp_path / "export.xml"
    p.write_bytes(blob)
    try:
        res = apple_health.read(p, CTX)
    except ConnectorError:
        return
    require(res.sessions, SESSIONS)
    require(res.sleep, SLEEP)
    require(res.wellness, WELLNESS)


COMPANIONS = {
    "export_cda.xml": (
        '<?xml version="1.0"?>\n<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>\n'
        '<ClinicalDocument xmlns="urn:hl7-org:v3" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        "<title>Health Export CDA</title></ClinicalDocument>\n",
        "apple_health_cda",
    ),
    "route_2024-01-16_8.16am.gpx": (
        '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="Apple Health Export" '
        'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg/></trk></gpx>\n',
        "apple_health_route",
    ),
    "ecg_2024-01-16.csv": (
        'Name,Léa Martin\nDate of Birth,"Apr 2, 1995"\nRecorded Date,2024-01-16 09:00:00 +0100\n'
        'Classification,Sinus Rhythm\nSymptoms,\nSoftware Version,2\nDevice,"Watch6,2"\n'
        "Sample Rate,512 hertz\n\nLead,Lead I\nUnit,µV\n\n-17.292\n-20.121\n",
        "apple_health_ecg",
    ),
}


@pytest.mark.parametrize("name", sorted(COMPANIONS))
def test_other_files_of_an_export_folder_are_recognised_and_add_nothing(tmp_path, name):
    text, fmt = COMPANIONS[name]
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    assert apple_health.detect(p, p.read_bytes())
    res = apple_health.read(p, ReadContext())  # no athlete needed: nothing is read
    assert res.format == fmt and res.rows() == {"sessions": 0, "sleep": 0, "wellness": 0}
    assert res.warnings and "not" in res.warnings[0]


def test_plain_gpx_and_other_cda_are_not_claimed(tmp_path):
    assert not apple_health.detect(tmp_path, b'<?xml version="1.0"?><gpx creator="Garmin Connect"><trk/></gpx>')
    assert not apple_health.detect(tmp_path, b'<?xml version="1.0"?><ClinicalDocument><x/></ClinicalDocument>')


def test_record_as_root_is_not_health_data(tmp_path):
    p = tmp_path / "export.xml"
    p.write_text(
        '<Record type="HKQuantityTypeIdentifierRestingHeartRate" unit="count/min" '
        'startDate="2024-01-01 00:00:00 +0000" endDate="2024-01-01 00:00:00 +0000" value="50"/>'
    )
    assert not apple_health.detect(p, p.read_bytes())
    with pytest.raises(ConnectorError, match="root element is <Record>"):
        apple_health.read(p, CTX)


def test_metadata_of_a_workout_route_is_not_the_workouts(tmp_path):
    # HKTimeZone inside the nested WorkoutRoute must not set the workout's zone
    p = tmp_path / "export.xml"
    p.write_text("""<HealthData><Workout workoutActivityType="HKWorkoutActivityTypeWalking" duration="30"
 durationUnit="min" sourceName="Watch" startDate="2024-06-01 23:30:00 +0000" endDate="2024-06-02 00:00:00 +0000">
 <WorkoutRoute sourceName="Watch" startDate="2024-06-01 23:30:00 +0000" endDate="2024-06-02 00:00:00 +0000">
  <MetadataEntry key="HKTimeZone" value="Asia/Tokyo"/>
 </WorkoutRoute>
</Workout></HealthData>""")
    r = apple_health.read(p, CTX).sessions.row(0, named=True)
    assert (r["local_date"], r["local_offset_s"]) == (date(2024, 6, 1), 0)


def test_ios16_export_with_broken_dtd_and_control_character():
    # HealthKit Export Version 12 (iOS 16) ships a DTD whose ATTLISTs lack their '>'
    # (xml.etree: "syntax error: line 30"); a \x0b in an attribute is not allowed in XML 1.0 either.
    p = FIX.parent / "export_ios16_broken_dtd.xml"
    assert apple_health.detect(p, p.read_bytes()[:65536])
    res = apple_health.read(p, CTX)
    assert res.wellness.select("date", "rhr_bpm").rows() == [(date(2023, 1, 30), 56.0)]
    w = res.sessions.row(0, named=True)
    # 31.5 min = 1890 s; 6.1 km from WorkoutStatistics; 18:00 +0100 = 17:00 UTC
    assert (w["duration_s"], w["distance_m"], w["start_utc"]) == (1890.0, 6100.0, Z(2023, 1, 31, 17, 0))
    assert any("1 control characters" in n for n in res.warnings)


def test_error_line_numbers_survive_the_dropped_doctype(tmp_path):
    text = (FIX.parent / "export_ios16_broken_dtd.xml").read_text(encoding="utf-8")
    lines = text.splitlines()
    i = next(k for k, ln in enumerate(lines) if "<Workout " in ln)
    lines[i] = lines[i].replace('durationUnit="min"', 'durationUnit="min" durationUnit="s"')  # duplicate attribute
    p = tmp_path / "export.xml"
    p.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConnectorError, match=rf"line {i + 1}: malformed XML at column \d+: duplicate attribute"):
        apple_health.read(p, CTX)


def test_workout_heart_rate_from_heart_rate_records(tmp_path):
    # pre-iOS 16: no WorkoutStatistics; HeartRate samples (count/min) inside the workout give the HR
    def hr(t, v, src="Apple Watch"):
        return (
            f'<Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{src}" unit="count/min" '
            f'creationDate="2024-02-01 {t} +0000" startDate="2024-02-01 {t} +0000" endDate="2024-02-01 {t} +0000" '
            f'value="{v}"/>\n'
        )

    p = tmp_path / "export.xml"
    p.write_text(
        "<HealthData>\n"
        + hr("17:59:50", 90)
        + hr("18:00:00", 100)
        + hr("18:00:20", 120)
        + hr("18:01:30", 140)
        + hr("18:09:50", 150)
        + hr("18:20:00", 160)
        + '<Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="10" durationUnit="min" '
        'sourceName="Apple Watch" startDate="2024-02-01 18:00:00 +0000" endDate="2024-02-01 18:10:00 +0000"/>\n'
        "</HealthData>\n"
    )
    r = apple_health.read(p, CTX).sessions.row(0, named=True)
    # weights: 100 bpm until the next sample 20 s; 120 -> 70 s capped at 30; 140 -> 500 s capped at 30;
    # 150 -> until the end, 10 s. 90 bpm (before) and 160 bpm (after) are outside.
    # avg = (100*20 + 120*30 + 140*30 + 150*10) / 90 = 11300 / 90 = 125.556
    assert r["avg_hr_bpm"] == pytest.approx(11300 / 90)
    assert r["max_hr_bpm"] == 150.0
    hist = r["hr_hist_s"]
    assert len(hist) == 256 and sum(hist) == pytest.approx(90.0)
    assert (hist[100], hist[120], hist[140], hist[150], hist[90], hist[160]) == (20.0, 30.0, 30.0, 10.0, 0.0, 0.0)


def test_workout_statistics_are_not_overwritten_by_samples(fixture_result):
    # the fixture's run has WorkoutStatistics 148/171 and only one HeartRate record, 26 min before it
    run = fixture_result.sessions.sort("start_utc").row(0, named=True)
    assert (run["avg_hr_bpm"], run["max_hr_bpm"], run["hr_hist_s"]) == (148.0, 171.0, None)


SUMMER_IN_A_WINTER_EXPORT = """<HealthData locale="fr_FR">
 <ExportDate value="2025-01-10 09:00:00 +0100"/>
 <Record type="HKQuantityTypeIdentifierRestingHeartRate" sourceName="Watch" unit="count/min"
  startDate="2024-07-09 23:02:00 +0100" endDate="2024-07-10 21:58:00 +0100" value="48"/>
 <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Watch" unit="ms"
  startDate="2024-07-09 23:30:00 +0100" endDate="2024-07-09 23:31:00 +0100" value="66"/>
 <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30" durationUnit="min" sourceName="Watch"
  startDate="2024-07-09 23:40:00 +0100" endDate="2024-07-10 00:10:00 +0100"/>
</HealthData>
"""


def test_export_time_offset_and_athlete_zone(tmp_path):
    # exported in January (+0100) in Paris; the July records were made at 00:02, 00:30 and 00:40 CEST (+0200)
    # on 10 July but are written one hour earlier, on 9 July.
    p = tmp_path / "export.xml"
    p.write_text(SUMMER_IN_A_WINTER_EXPORT)
    plain = apple_health.read(p, CTX)
    # the RHR record is dated by its midpoint (10:30 on the 10th) even without a zone
    assert plain.wellness.filter(pl.col("rhr_bpm").is_not_null())["date"].to_list() == [date(2024, 7, 10)]
    # without --tz the SDNN reading and the workout fall on the written date (9 July)
    assert plain.wellness.filter(pl.col("hrv_sdnn_ms").is_not_null())["date"].to_list() == [date(2024, 7, 9)]
    assert plain.sessions["local_date"].to_list() == [date(2024, 7, 9)]
    paris = apple_health.read(p, ReadContext(athlete_id="lea", tz="Europe/Paris"))
    w = paris.wellness.sort("date")
    assert w.select("date", "rhr_bpm", "hrv_sdnn_ms").rows() == [(date(2024, 7, 10), 48.0, 66.0)]
    s = paris.sessions.row(0, named=True)
    # 23:40 +0100 = 22:40 UTC = 00:40 CEST on 10 July
    assert (s["start_utc"], s["local_date"], s["local_offset_s"]) == (Z(2024, 7, 9, 22, 40), date(2024, 7, 10), 7200)
    with pytest.raises(ConnectorError, match="unknown time zone 'Mars/Olympus'"):
        apple_health.read(p, ReadContext(athlete_id="lea", tz="Mars/Olympus"))


def test_unknown_encoding_in_declaration_is_a_connector_error(tmp_path):
    from connectors.base import ConnectorError, ReadContext

    bad = tmp_path / "export.xml"
    bad.write_bytes(b'<?xml version="1.0" encoding="U-TF-8"?>\n<HealthData locale="en"></HealthData>\n')
    with pytest.raises(ConnectorError, match="line 1.*unknown encoding"):
        apple_health.read(bad, ReadContext(athlete_id="x"))
