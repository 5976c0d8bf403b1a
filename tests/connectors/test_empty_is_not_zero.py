"""Empty is not zero (issue 17): an empty or missing vendor field stays null in every connector.

Each case takes a real-layout fixture, empties one measurement of one record
(an empty CSV cell, a JSON key removed or set to null), reads it with its
connector and checks that the value is null, never 0, and that the record's
other values are unchanged.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest

from connectors import fitbit, garmin_csv, garmin_json, oura, strava, whoop
from connectors.base import ReadContext
from tests.connectors.vendor_helpers import FIXTURES

CTX = ReadContext(athlete_id="a", tz="Europe/Berlin")


def _csv_blank(src: Path, dst: Path, row: int, cols: list[str], sep: str = ",") -> None:
    text = src.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    for c in cols:
        rows[row][rows[0].index(c)] = ""
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows(rows)
    dst.write_text(out.getvalue(), encoding="utf-8")


def _copy(rel: str, tmp_path: Path) -> tuple[Path, Path]:
    src = FIXTURES / rel
    dst = tmp_path / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(src, dst)
    return src, dst


def _read_both(module, src: Path, dst: Path, table: str):
    return getattr(module.read(src, CTX), table), module.read(dst, CTX)


def _changed(before, after) -> list[int]:
    b, a = before.drop("source_file"), after.drop("source_file")
    return [i for i in range(a.height) if a.row(i) != b.row(i)]


# (connector, fixture, CSV row (1 = first data row) or JSON editor, columns emptied, table, expected null columns)
CSV_CASES = [
    ("whoop sleep asleep", whoop, "whoop/sleeps.csv", 1, ["Asleep duration (min)"], "sleep", ["asleep_s"], ","),
    (
        "whoop workout HR",
        whoop,
        "whoop/workouts.csv",
        1,
        ["Average HR (bpm)", "Energy burned (cal)"],
        "sessions",
        ["avg_hr_bpm", "energy_kcal"],
        ",",
    ),
    (
        "whoop cycle HRV",
        whoop,
        "whoop/physiological_cycles.csv",
        2,
        ["Heart rate variability (ms)"],
        "wellness",
        ["hrv_rmssd_ms"],
        ",",
    ),
    (
        "oura sleep durations",
        oura,
        "oura/sleepmodel.csv",
        1,
        ["total_sleep_duration", "deep_sleep_duration"],
        "sleep",
        ["asleep_s", "deep_s"],
        ";",
    ),
    (
        "oura workout calories",
        oura,
        "oura/workout.csv",
        1,
        ["calories", "distance"],
        "sessions",
        ["energy_kcal", "distance_m"],
        ";",
    ),
    (
        "garmin csv HR",
        garmin_csv,
        "garmin_csv/Activities_en_km.csv",
        1,
        ["Avg HR", "Calories", "Distance"],
        "sessions",
        ["avg_hr_bpm", "energy_kcal", "distance_m"],
        ",",
    ),
    ("strava distance", strava, "strava/export_2019/activities.csv", 1, ["Distance"], "sessions", ["distance_m"], ","),
]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c[0] for c in CSV_CASES])
def test_empty_csv_cell_stays_null(case, tmp_path):
    _name, module, rel, row, cols, table, nulls, sep = case
    src, dst = _copy(rel, tmp_path)
    _csv_blank(src, dst, row, cols, sep)
    before, res = _read_both(module, src, dst, table)
    after = getattr(res, table)
    assert after.height == before.height
    changed = _changed(before, after)
    assert len(changed) == 1, "exactly the edited record changes"
    got, was = after.row(changed[0], named=True), before.row(changed[0], named=True)
    for c in nulls:
        assert was[c] is not None and was[c] != 0
        assert got[c] is None, f"{c} became {got[c]!r} from an empty cell"
    for c in got:
        if c not in nulls and c != "source_file":
            assert got[c] == was[c], c


def _json_case(rel: str, edit, table: str, nulls: list[str], tmp_path: Path, module):
    src, dst = _copy(rel, tmp_path)
    data = json.loads(src.read_text())
    edit(data)
    dst.write_text(json.dumps(data))
    before, res = _read_both(module, src, dst, table)
    after = getattr(res, table)
    assert after.height == before.height
    changed = _changed(before, after)
    assert len(changed) == 1
    got = after.row(changed[0], named=True)
    for c in nulls:
        assert got[c] is None, f"{c} became {got[c]!r} from a missing field"
    return res


def test_fitbit_missing_minutes_asleep_and_exercise_hr(tmp_path):
    base = "fitbit/Takeout/Fitbit/Global Export Data/"
    _json_case(
        base + "sleep-2019-11-01.json", lambda d: d[0].pop("minutesAsleep"), "sleep", ["asleep_s"], tmp_path, fitbit
    )
    _json_case(
        base + "exercise-0.json",
        lambda d: d[0].update(averageHeartRate=None, calories=None),
        "sessions",
        ["avg_hr_bpm", "energy_kcal"],
        tmp_path,
        fitbit,
    )


def test_garmin_json_missing_hr_and_sleep_stages(tmp_path):
    fit_rel = "garmin_di_connect/DI_CONNECT/DI-Connect-Fitness/jane.doe@example.com_0_summarizedActivities.json"
    _json_case(
        fit_rel,
        lambda d: [d[0]["summarizedActivitiesExport"][0].pop(k) for k in ("avgHr", "calories")],
        "sessions",
        ["avg_hr_bpm", "energy_kcal"],
        tmp_path,
        garmin_json,
    )

    def no_stages(d):
        for k in ("deepSleepSeconds", "lightSleepSeconds", "remSleepSeconds", "awakeSleepSeconds"):
            d[0].pop(k)

    res = _json_case(
        "garmin_di_connect/DI_CONNECT/DI-Connect-Wellness/87654321_sleepData.json",
        no_stages,
        "sleep",
        ["asleep_s", "deep_s", "light_s", "rem_s", "awake_s"],
        tmp_path,
        garmin_json,
    )
    assert any("no measured sleep" in w for w in res.warnings), res.warnings


def test_whoop_sleep_entered_by_hand_is_kept_without_a_zero_night(tmp_path):
    """The real case: onset and wake entered by hand, every duration empty."""
    src, dst = _copy("whoop/sleeps.csv", tmp_path)
    cols = [
        "Sleep performance %",
        "Respiratory rate (rpm)",
        "Asleep duration (min)",
        "In bed duration (min)",
        "Light sleep duration (min)",
        "Deep (SWS) duration (min)",
        "REM duration (min)",
        "Awake duration (min)",
        "Sleep need (min)",
        "Sleep debt (min)",
        "Sleep efficiency %",
        "Sleep consistency %",
    ]
    _csv_blank(src, dst, 1, cols)
    res = whoop.read(dst, CTX)
    night = res.sleep.sort("start_utc").row(0, named=True)
    assert night["asleep_s"] is None and night["deep_s"] is None and night["in_bed_s"] is None
    assert any("line 2" in w and "no measured sleep" in w for w in res.warnings), res.warnings
    # and downstream the night is an unknown, not 0 h of sleep
    import polars as pl

    from features.daily import build_daily
    from features.schemas import SESSIONS, WELLNESS

    daily = build_daily(SESSIONS.empty(), res.sleep, WELLNESS.empty(), as_of=night["wake_date"])
    first = daily.filter(pl.col("date") == night["wake_date"]).row(0, named=True)
    assert first["sleep_h"] is None


GENERIC = Path(__file__).resolve().parents[2] / "sample_data" / "inputs" / "ben"


@pytest.mark.parametrize(
    "name,cols,table,nulls",
    [
        ("sessions.csv", ["avg_hr", "rpe", "distance_km"], "sessions", ["avg_hr_bpm", "rpe", "distance_m"]),
        # total_sleep_min is required: its empty cell is a bad row naming line and column, never 0 h (below)
        ("sleep.csv", ["deep_min", "rem_min"], "sleep", ["deep_s", "rem_s"]),
        ("daily.csv", ["resting_hr", "hrv_rmssd_ms"], "wellness", ["rhr_bpm", "hrv_rmssd_ms"]),
    ],
)
def test_generic_csv_empty_cells_stay_null(name, cols, table, nulls, tmp_path):
    from connectors import generic_csv

    src = GENERIC / name
    dst = tmp_path / name
    _csv_blank(src, dst, 1, cols)
    ctx = ReadContext(athlete_id="ben", tz="Europe/London")
    before = getattr(generic_csv.read(src, ctx), table)
    after = getattr(generic_csv.read(dst, ctx), table)
    changed = _changed(before, after)
    assert after.height == before.height  # the row stays, with the emptied values null
    assert len(changed) == 1
    got = after.row(changed[0], named=True)
    for c in nulls:
        assert got[c] is None, f"{c} became {got[c]!r} from an empty cell"


def test_coach_exports_empty_cells_stay_null(tmp_path):
    from connectors import coach

    src, dst = _copy("intervals_icu/activities.csv", tmp_path)
    _csv_blank(src, dst, 1, ["average_heartrate", "icu_training_load", "icu_rpe"])
    before, res = _read_both(coach, src, dst, "sessions")
    row = res.sessions.row(_changed(before, res.sessions)[0], named=True)
    assert row["avg_hr_bpm"] is None and row["device_load"] is None and row["rpe"] is None
    assert row["load_au"] is None  # no RPE: no sRPE load, left to the load stage's chain


def test_generic_csv_empty_required_sleep_is_a_bad_row_not_zero(tmp_path):
    from connectors import generic_csv
    from connectors.base import BadRowError

    dst = tmp_path / "sleep.csv"
    _csv_blank(GENERIC / "sleep.csv", dst, 1, ["total_sleep_min"])
    with pytest.raises(BadRowError, match="total_sleep_min.*empty"):
        generic_csv.read(dst, ReadContext(athlete_id="ben", tz="Europe/London"))


def test_apple_health_empty_workout_totals_stay_null(tmp_path):
    from connectors import apple_health

    src, dst = _copy("apple_health/export.xml", tmp_path)
    text = src.read_text(encoding="utf-8")
    old = 'totalDistance="5" totalDistanceUnit="mi" totalEnergyBurned="480"'
    assert text.count(old) == 1
    dst.write_text(text.replace(old, 'totalDistance="" totalDistanceUnit="mi" totalEnergyBurned=""'), encoding="utf-8")
    before, res = _read_both(apple_health, src, dst, "sessions")
    changed = _changed(before, res.sessions)
    assert len(changed) == 1
    row = res.sessions.row(changed[0], named=True)
    assert row["distance_m"] is None and row["energy_kcal"] is None
    assert row["duration_s"] == before.row(changed[0], named=True)["duration_s"]
