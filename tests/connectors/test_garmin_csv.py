"""Garmin Connect activity-list CSV: languages, locale numbers, units, time zones, bad rows."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors import garmin_csv, registry
from connectors._export_util import decimal_votes, parse_clock, parse_number
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from tests.connectors.vendor_helpers import (
    FIXTURES,
    FUZZ,
    mutations,
    read_or_connector_error,
    row_by,
    utc,
)

DIR = FIXTURES / "garmin_csv"
EN_KM = DIR / "Activities_en_km.csv"
DE = DIR / "Aktivitaeten_de.csv"
MILES = DIR / "Activities_en_miles.csv"
FR = DIR / "Activites_fr.csv"


def read(path, **ctx):
    ctx.setdefault("athlete_id", "ana")
    return garmin_csv.read(path, ReadContext(**ctx))


@pytest.mark.parametrize("path", [EN_KM, DE, MILES, FR])
def test_detected_by_content_in_every_language(path):
    assert garmin_csv.detect(path, path.read_bytes()[:65536])
    assert registry.detect(path) is garmin_csv


def test_english_km_values_hand_checked():
    r = read(EN_KM, tz="Europe/Berlin")
    s = r.sessions
    assert r.format == "garmin_activities_csv" and s.height == 5
    assert set(s["source"]) == {"garmin_activities_csv"} and set(s["athlete_id"]) == {"ana"}

    run = row_by(s, "start_utc", utc(2025, 2, 6, 16, 6, 3))  # 17:06:03 CET (UTC+1)
    assert run["local_date"] == date(2025, 2, 6) and run["local_offset_s"] == 3600
    assert run["sport"] == "running"
    assert run["duration_s"] == 31 * 60 + 24  # Time 00:31:24
    assert run["elapsed_s"] == 32 * 60 + 57  # Elapsed Time 00:32:57
    assert run["distance_m"] == pytest.approx(5480.0)  # 5.48 km
    assert (run["avg_hr_bpm"], run["max_hr_bpm"]) == (153.0, 176.0)
    assert (run["device_load"], run["device_load_kind"]) == (45.2, "tss")
    assert run["training_effect_aerobic"] == 3.6 and run["energy_kcal"] == 447.0
    assert run["load_au"] is None and run["load_method"] is None  # no RPE in this export

    swim = row_by(s, "sport", "swimming")
    assert swim["sub_sport"] == "lap_swimming"
    assert swim["distance_m"] == 1500.0  # "1,500" is metres with a thousands comma, not 1.5 km
    assert swim["device_load"] is None and swim["device_load_kind"] is None  # TSS 0.0 = not computed

    gym = row_by(s, "sport", "strength")
    assert gym["energy_kcal"] == 1234.0  # "1,234"
    assert gym["avg_hr_bpm"] is None and gym["max_hr_bpm"] is None  # "--"
    assert gym["training_effect_aerobic"] is None and gym["device_load"] is None
    assert gym["duration_s"] == 3900.0  # 01:05:00

    tread = row_by(s, "sub_sport", "treadmill")
    assert tread["duration_s"] == pytest.approx(45 * 60 + 12.3)  # "45:12.3" (mm:ss.s)

    ride = row_by(s, "sport", "cycling")
    assert ride["distance_m"] == pytest.approx(42200.0) and ride["energy_kcal"] == 1020.0
    assert (ride["device_load"], ride["device_load_kind"]) == (95.0, "tss")
    assert any("stride length" in w for w in r.warnings)  # how km was decided is noted


def test_german_headers_decimal_comma_and_dst():
    r = read(DE, tz="Europe/Berlin")
    s = r.sessions
    assert s.height == 4
    assert any("decimal comma" in w for w in r.warnings)
    run = row_by(s, "sport", "running")
    # 2025-03-30 is the spring DST change in Berlin; 07:15 is CEST (UTC+2) -> 05:15 UTC
    assert run["start_utc"] == utc(2025, 3, 30, 5, 15) and run["local_offset_s"] == 7200
    assert run["distance_m"] == pytest.approx(10020.0)  # "10,02" km
    assert run["energy_kcal"] == 1234.0  # "1.234" with the German thousands dot
    assert run["training_effect_aerobic"] == 3.4  # "3,4"
    assert run["device_load"] is None  # "--"
    swim = row_by(s, "sport", "swimming")
    assert swim["distance_m"] == 2000.0  # "2.000" metres
    ride = row_by(s, "sport", "cycling")
    assert ride["distance_m"] == pytest.approx(35500.0) and ride["device_load"] == 88.5  # "88,5"
    assert row_by(s, "sport", "strength")["duration_s"] == 2700.0


def test_thousands_group_decides_convention_without_any_decimal(tmp_path):
    head = "Aktivitätstyp,Datum,Favorit,Titel,Distanz,Kalorien,Zeit,Ø Herzfrequenz,Maximale Herzfrequenz\n"
    p = tmp_path / "swims.csv"
    p.write_text(
        head + 'Schwimmbadschwimmen,2025-04-02 18:00:00,false,"S","1.500","410","00:40:00","128","150"\n',
        encoding="utf-8",
    )
    assert read(p, tz="Europe/Berlin").sessions["distance_m"][0] == 1500.0  # not 1.5 m
    p.write_text(
        head + 'Schwimmbadschwimmen,2025-04-02 18:00:00,false,"S","1,500","410","00:40:00","128","150"\n',
        encoding="utf-8",
    )
    assert read(p, tz="Europe/Berlin").sessions["distance_m"][0] == 1500.0


def test_french_headers_and_language_unit_default():
    r = read(FR, tz="Europe/Paris")
    run = row_by(r.sessions, "sport", "running")
    assert run["distance_m"] == pytest.approx(3950.0)
    assert run["duration_s"] == 35 * 60 + 20 and run["elapsed_s"] == 36 * 60
    assert run["start_utc"] == utc(2026, 8, 10, 8, 52, 21)  # 10:52:21 CEST
    assert any("fr export" in w for w in r.warnings)


def test_miles_detected_from_stride_and_swims_in_yards():
    r = read(MILES, tz="America/New_York")
    s = r.sessions
    run = row_by(s, "sport", "running")
    assert run["distance_m"] == pytest.approx(3.10 * 1609.344)  # 4988.97 m
    assert run["start_utc"] == utc(2024, 10, 5, 11, 0)  # 07:00 EDT (UTC-4)
    assert run["local_offset_s"] == -4 * 3600
    walk = row_by(s, "sport", "walking")
    assert walk["distance_m"] == pytest.approx(1.50 * 1609.344)
    swim = row_by(s, "sport", "swimming")
    assert swim["distance_m"] == pytest.approx(1650 * 0.9144)  # "1,650" yards
    assert any("unit mi" in w for w in r.warnings)


def test_explicit_unit_overrides_inference(tmp_path):
    r = garmin_csv.read(EN_KM, ReadContext(athlete_id="ana", tz="UTC"), unit="mi")
    run = row_by(r.sessions, "start_utc", utc(2025, 2, 6, 17, 6, 3))
    assert run["distance_m"] == pytest.approx(5.48 * 1609.344)
    assert not any("distance unit" in w for w in r.warnings)


def test_unit_guessed_from_slow_running_speeds_without_stride(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "Activity Type,Date,Favorite,Title,Distance,Calories,Time,Avg HR,Max HR\n"
        'Running,2024-05-01 07:00:00,false,"Run","3.50","300","00:31:30","150","170"\n',
        encoding="utf-8",
    )
    # 3.50 / 0.525 h = 6.67 "km/h" would be a 9-min km; read as 6.67 mph it is a normal run
    r = read(p, tz="UTC")
    assert r.sessions["distance_m"][0] == pytest.approx(3.5 * 1000)  # 6.67 >= 6.5: stays km
    p.write_text(p.read_text().replace('"00:31:30"', '"00:35:00"'), encoding="utf-8")
    r = read(p, tz="UTC")  # 3.5 / (35/60) = 6.0 "km/h" < 6.5 -> miles
    assert r.sessions["distance_m"][0] == pytest.approx(3.5 * 1609.344)
    assert any("running speeds" in w for w in r.warnings)


def test_bom_and_windows_line_ends_read_the_same(tmp_path):
    p = tmp_path / "Activities.csv"
    p.write_bytes(b"\xef\xbb\xbf" + EN_KM.read_bytes().replace(b"\n", b"\r\n"))
    assert garmin_csv.detect(p, p.read_bytes()[:65536])
    a, b = read(p, tz="Europe/Berlin").sessions, read(EN_KM, tz="Europe/Berlin").sessions
    assert a.drop("source_file").equals(b.drop("source_file"))


def test_no_time_zone_reads_utc_and_says_so():
    r = read(EN_KM)
    run = row_by(r.sessions, "sport", "cycling")
    assert run["start_utc"] == utc(2025, 2, 10, 16, 45, 10) and run["local_offset_s"] is None
    assert run["local_date"] == date(2025, 2, 10)
    assert any("no time zone" in w for w in r.warnings)


def test_header_map_covers_every_language():
    headers = {
        "en": "Activity Type,Date,Distance,Time,Avg HR,Max HR,Aerobic TE,Training Stress Score®",
        "de": "Aktivitätstyp,Datum,Distanz,Zeit,Ø HF,Max. HF,Aerober TE,Training Stress Score®",
        "fr": (
            "Type d'activité,Date,Distance,Durée,Fréquence cardiaque moyenne,Fréquence cardiaque maximale,TE aérobie,"
            "Training Stress Score® (TSS®)"
        ),
        "es": (
            "Tipo de actividad,Fecha,Distancia,Tiempo,Frecuencia cardiaca media,Frecuencia cardiaca máxima,TE "
            "aeróbico,Training Stress Score®"
        ),
        "it": "Tipo di attività,Data,Distanza,Tempo,FC Media,FC max,TE attività aerobica,Training Stress Score®",
        "nl": "Activiteittype,Datum,Afstand,Tijd,Gem. HS,Max. HS,Aeroob TE,Training Stress Score®",
        "pt": "Tipo de atividade,Data,Distância,Tempo total,FC Média,FC máxima,TE aeróbico,Training Stress Score®",
    }
    want = ["activity_type", "date", "distance", "time", "avg_hr", "max_hr", "aerobic_te", "tss"]
    for lang, h in headers.items():
        m = garmin_csv.header_map(h.split(","))
        assert [k for k in want if k not in m] == [], lang
        assert [m[k] for k in want] == list(range(8)), lang


def test_locale_number_helpers():
    assert parse_number("1,234") == 1234.0
    assert parse_number("1.234", decimal_comma=True) == 1234.0
    assert parse_number("7,00", decimal_comma=True) == 7.0
    assert parse_number("'-12") == -12.0  # Excel guard quote
    assert parse_number("--") is None
    with pytest.raises(ValueError):
        parse_number("12a")
    assert decimal_votes(["42.02", "1,234", "3.3"]) == (2, 0)
    assert decimal_votes(["7,00", "1.234", "0,2"]) == (0, 2)
    assert parse_clock("01:05:00") == 3900.0
    assert parse_clock("45:12.3") == pytest.approx(2712.3)
    assert parse_clock("00:01:52,0") == 112.0
    with pytest.raises(ValueError):
        parse_clock("1:75:00")


def test_bad_date_row_names_line_and_column(tmp_path):
    lines = EN_KM.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("2025-02-08 18:00:00", "08.02.2025 18:00")
    p = tmp_path / "Activities.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadRowError) as e:
        read(p, tz="UTC")
    assert e.value.line == 4 and e.value.column == "Date"
    assert str(p) in str(e.value) and "08.02.2025" in str(e.value)
    r = read(p, tz="UTC", on_bad_row=OnBadRow.SKIP)
    assert r.sessions.height == 4 and r.skipped_rows == 1
    assert any("line 4" in w for w in r.warnings)


def test_bad_number_and_short_row(tmp_path):
    lines = EN_KM.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace('"153","176"', '"153","abc"')
    lines.append("Running,2025-02-11 07:00:00,false")
    p = tmp_path / "Activities.csv"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(BadRowError) as e:
        read(p, tz="UTC")
    assert e.value.line == 2 and e.value.column == "Max HR"
    r = read(p, tz="UTC", on_bad_row=OnBadRow.SKIP)
    assert r.sessions.height == 4 and r.skipped_rows == 2


def test_malformed_file_is_a_connector_error(tmp_path):
    p = tmp_path / "Activities.csv"
    p.write_bytes(EN_KM.read_bytes().replace(b'"Gym, legs"', b'"Gym, legs'))  # quote never closed
    with pytest.raises(ConnectorError) as e:
        read(p, tz="UTC")
    assert str(p) in str(e.value)
    p.write_text("Activity Type,Date,Favorite,Title\n", encoding="utf-8")  # no duration column
    with pytest.raises(ConnectorError, match="duration"):
        read(p)
    with pytest.raises(ConnectorError, match="time zone"):
        read(EN_KM, tz="Mars/Olympus")


@FUZZ
@given(data=st.sampled_from([EN_KM, DE, MILES]).flatmap(lambda p: mutations(p.read_bytes())))
def test_fuzz_only_connector_errors(data):
    read_or_connector_error(garmin_csv, data, "Activities.csv")
