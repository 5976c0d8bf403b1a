"""intervals.icu and TrainingPeaks exports (issue 17): detection by content, hand-checked values.

Fixture layouts: the TrainingPeaks workouts header is the header of a real
export found in public code; the intervals.icu columns and the TrainingPeaks
metrics shape are the platforms' field names as public readers of these
exports use them (``docs/exports.md``, "Coach platforms"). Values are ours.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from hypothesis import given

from connectors import coach, registry
from connectors.base import BadRowError, ConnectorError, OnBadRow, ReadContext
from features.load import assign_session_loads
from features.schemas import SESSIONS, SLEEP, WELLNESS, require
from tests.connectors.vendor_helpers import (
    FIXTURES,
    FUZZ,
    mutations,
    read_or_connector_error,
    row_by,
)

CTX = ReadContext(athlete_id="a", tz="Europe/Berlin")
ICU = FIXTURES / "intervals_icu"
TP = FIXTURES / "trainingpeaks"
OWN = {
    ICU / "activities.csv": "intervals_icu_activities",
    ICU / "wellness.csv": "intervals_icu_wellness",
    TP / "workouts.csv": "trainingpeaks_workouts",
    TP / "metrics.csv": "trainingpeaks_metrics",
}


def _utc(*a):
    return datetime(*a, tzinfo=timezone.utc)


def test_each_export_is_detected_by_content(tmp_path):
    for path, fmt in OWN.items():
        assert registry.detect(path) is coach
        renamed = tmp_path / "export.txt"  # the name does not matter
        renamed.write_bytes(path.read_bytes())
        assert registry.detect(renamed) is coach
        assert coach.read(renamed, CTX).format == fmt


def test_nothing_else_is_mistaken_for_a_coach_export(corpus_dir, sample_data_dir):
    others = [
        p
        for p in FIXTURES.rglob("*")
        if p.is_file()
        and p.parts[-2] not in ("intervals_icu", "trainingpeaks")
        and "intervals_icu" not in p.parts
        and "trainingpeaks" not in p.parts
    ]
    others += [p for p in sample_data_dir.rglob("*") if p.is_file()]
    others += [p for p in (corpus_dir / "xml").rglob("*") if p.is_file()] if (corpus_dir / "xml").exists() else []
    assert len(others) > 20
    for p in others:
        assert not coach.detect(p, registry.read_head(p)), p


@pytest.mark.parametrize(
    "text",
    [
        "Timestamp,Type,Value\n2026-01-01 07:00:00,temperature,21.5\n",  # the same shape from another app
        "timestamp,type,value\n2026-01-01 07:00:00,Pulse,50\n",  # not TrainingPeaks' capitalisation
        "date,restingHR,steps\n2026-01-01,50,1000\n",  # one intervals-like column is not enough
        "start_date_local,type,moving_time\n2024-01-01T07:00:00,Run,100\n",  # no icu_ column
        "Title,WorkoutType,WorkoutDay\nx,Run,2026-01-01\n",  # no TimeTotalInHours/TSS
    ],
)
def test_look_alikes_are_not_claimed(tmp_path, text):
    p = tmp_path / "x.csv"
    p.write_text(text)
    assert not coach.detect(p, p.read_bytes())


def test_intervals_activities_rpe_and_tss():
    res = coach.read(ICU / "activities.csv", CTX)
    require(res.sessions, SESSIONS)
    s = res.sessions
    assert s.height == 4 and set(s["source"]) == {"intervals_icu_activities"}
    run = row_by(s, "sport", "running")
    # 07:30:12 in Berlin (CEST, UTC+2) on 1 May 2024
    assert run["start_utc"] == _utc(2024, 5, 1, 5, 30, 12) and run["local_offset_s"] == 7200
    assert (run["duration_s"], run["elapsed_s"], run["distance_m"]) == (2712.0, 2790.0, 8120.4)
    assert (run["avg_hr_bpm"], run["max_hr_bpm"], run["energy_kcal"]) == (142.0, 161.0, 540.0)
    assert (run["rpe"], run["device_load"], run["device_load_kind"]) == (4.0, 48.0, "tss")
    assert run["load_au"] == pytest.approx(4 * 2712 / 60) and run["load_method"] == "srpe"
    strength = row_by(s, "sport", "strength")  # WeightTraining; empty distance and HR stay null
    assert strength["distance_m"] is None and strength["avg_hr_bpm"] is None and strength["energy_kcal"] is None
    zwift = s.filter(s["start_utc"] == _utc(2024, 5, 4, 7, 15, 30)).row(0, named=True)
    assert zwift["rpe"] is None and zwift["load_au"] is None and zwift["device_load"] is None


def test_intervals_wellness_rows_and_nights():
    res = coach.read(ICU / "wellness.csv", CTX)
    require(res.wellness, WELLNESS)
    require(res.sleep, SLEEP)
    w = res.wellness.sort("date")
    assert w["date"].to_list() == [date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 4)]  # 3 May: no measurement
    assert w["rhr_bpm"].to_list() == [48.0, 50.0, 47.0]
    assert w["hrv_rmssd_ms"].to_list() == [62.5, 58.0, None]
    assert w["hrv_sdnn_ms"].to_list() == [None, 71.0, None]
    assert w["soreness"].to_list() == [0.0, pytest.approx(20 / 3), None]  # 1 -> 0, 3 -> 6.67 on 0-10
    assert w["note"][1] == "intervals.icu: fatigue 3, injury 2"
    n = res.sleep.sort("wake_date")
    assert n["wake_date"].to_list() == [date(2024, 5, 1), date(2024, 5, 2)]
    assert n["asleep_s"].to_list() == [27360.0, 25200.0] and n["sleep_score"].to_list() == [82.0, None]
    assert n["in_bed_s"].to_list() == [None, None]
    assert any("no bed times" in x for x in res.warnings)
    assert any("1 day(s) with no wellness value" in x for x in res.warnings)


def test_trainingpeaks_workouts_done_ones_only():
    res = coach.read(TP / "workouts.csv", CTX)
    s = res.sessions.sort("start_utc")
    # planned-only "Sweet spot" (no TimeTotalInHours) and the day off are skipped
    assert s["sport"].to_list() == ["running", "strength", "swimming"]
    run = s.row(0, named=True)
    assert run["local_date"] == date(2026, 1, 5) and run["start_utc"] == _utc(2026, 1, 4, 23, 0)  # 00:00 CET
    assert run["duration_s"] == pytest.approx(1.4625 * 3600)
    assert (run["distance_m"], run["avg_hr_bpm"], run["max_hr_bpm"]) == (15230.5, 146.0, 171.0)
    assert (run["rpe"], run["device_load"], run["device_load_kind"]) == (5.0, 88.6, "tss")
    assert run["load_au"] == pytest.approx(5 * 1.4625 * 60)
    assert run["energy_kcal"] is None  # Energy is kJ of work, not kcal
    # the second workout that day keeps its own row (00:01)
    assert s["start_utc"][1] == _utc(2026, 1, 4, 23, 1)
    assert s["rpe"][2] is None and s["load_au"][2] is None
    assert any("2 planned workout(s)" in x for x in res.warnings)
    assert any("not the real start time" in x for x in res.warnings)


def test_trainingpeaks_metrics_wellness_and_sleep():
    res = coach.read(TP / "metrics.csv", CTX)
    w = res.wellness.sort("date")
    assert w.select("date", "rhr_bpm", "hrv_rmssd_ms").rows() == [
        (date(2026, 1, 5), 49.0, 63.2),
        (date(2026, 1, 6), 51.0, None),
    ]  # lowest Pulse; an empty HRV is no row
    assert w["note"][0] == "TrainingPeaks: Soreness 3, Fatigue 4, Stress Level Max : 52 / Avg : 14"
    assert res.sleep.sort("wake_date")["asleep_s"].to_list() == [7.25 * 3600, 6.5 * 3600]
    assert any("Weight Kilograms (1)" in x for x in res.warnings)


def test_sessions_load_by_family():
    s = coach.read(TP / "workouts.csv", CTX).sessions
    # both native loads reach the load stage: TSS on every workout, RPE x minutes on the two rated ones
    tss = assign_session_loads(s, primary_family="tss").sort("start_utc")
    assert tss["load_au"].to_list() == [88.6, 21.0, 62.9] and set(tss["load_method"]) == {"tss"}
    srpe = assign_session_loads(s, primary_family="srpe").sort("start_utc")
    assert srpe["load_au"].to_list()[:2] == [pytest.approx(438.75), pytest.approx(252.0)]
    assert srpe["load_method"].to_list()[:2] == ["srpe", "srpe"]


def test_bad_value_names_file_line_and_column(tmp_path):
    p = tmp_path / "activities.csv"
    text = (ICU / "activities.csv").read_text().replace(",4,3,false", ",14,3,false")
    p.write_text(text)
    with pytest.raises(BadRowError) as info:
        coach.read(p, CTX)
    assert info.value.line == 2 and info.value.column == "icu_rpe"
    assert "icu_rpe 14 outside the plausible range 0..10" in str(info.value)
    res = coach.read(p, ReadContext(athlete_id="a", tz="Europe/Berlin", on_bad_row=OnBadRow.SKIP))
    assert res.sessions.height == 3 and res.skipped_rows == 1


def test_athlete_is_required():
    with pytest.raises(ConnectorError, match="carry no athlete id"):
        coach.read(TP / "metrics.csv", ReadContext())


@FUZZ
@given(data=mutations((ICU / "activities.csv").read_bytes()))
def test_damaged_exports_only_raise_connector_errors(data):
    read_or_connector_error(coach, data, "activities.csv")
