"""Regression tests for the bugs the bad-input fuzz suite found (one case each, hand-picked).

1. Absurd values were stored by several connectors (strava, garmin_csv, fitbit,
   garmin_json, apple_health, generic_csv, whoop's workout span) and from
   damaged FIT files: ``connectors.base.check_plausible`` (called by
   ``ingest_paths`` on every connector's result) now rejects the file naming
   the record and the column (or drops the record with ``--on-bad-row skip``).
   The FIT connector has since got its own checks with byte offsets.
2. A ``NaN``/``Infinity`` token in a vendor JSON file was rejected without a
   line (Python's json, used to locate the error, accepts it).
3. The Fitbit HRV-summary CSV with reordered or extra columns was not
   recognised (covered by ``test_bad_input.test_reordered_columns_...``).
4. A UTF-16 export was "unrecognised content" without a hint.
"""

from __future__ import annotations

from datetime import datetime, timezone

import polars as pl
import pytest

from connectors.base import PLAUSIBLE, PLAUSIBLE_YEARS
from tests.connectors.fit_builder import Builder, fit_time
from tests.reliability import harness as H


def _seed(seeds, name, connector=None):
    return next(s for s in seeds if s.name == name and (connector is None or s.connector == connector))


# (seed name, op, target, value, expected column in the error); row 3 of each file
STORED_BEFORE = [
    ("activities.csv", "set", "Average Heart Rate", "400", "avg_hr_bpm"),  # strava
    ("activities.csv", "set", "Distance", "-5", "distance_m"),
    ("activities.csv", "set", "Moving Time", "144000", "duration_s"),  # 40 h
    ("activities.csv", "set", "Activity Date", "Jan 1, 2200, 3:30:10 PM", "local_date"),
    ("Activities.csv", "set", "Time", "40:00:00", "duration_s"),  # garmin_csv
    ("Activities.csv", "set", "Avg HR", "400", "avg_hr_bpm"),
    ("Activities.csv", "set", "Distance", "-5", "distance_m"),
    ("exercise-0.json", "set", "activeDuration", 144_000_000, "duration_s"),  # fitbit, [ms]
    ("exercise-0.json", "set", "averageHeartRate", 400, "avg_hr_bpm"),
    ("sleep-2019-11-01.json", "set", "minutesAsleep", 2400, "asleep_s"),
    ("Daily Heart Rate Variability Summary - 2023-05-01.csv", "set", "timestamp", "2200-01-01T00:00:00", "date"),
    ("summarizedActivities.json", "set", "duration", 144_000_000.0, "duration_s"),  # garmin_json, [ms]
    ("summarizedActivities.json", "set", "distance", -500.0, "distance_m"),  # [cm]
    ("summarizedActivities.json", "set", "distance", 1e15, "distance_m"),
    ("2026-08-26_2026-12-04_123456_sleepData.json", "set", "deepSleepSeconds", 144000, "asleep_s"),
    ("UDSFile_2026-05-18_2026-11-15.json", "set", "calendarDate", "2200-01-01", "date"),
    ("sessions.csv", "set", "distance_km", "1e9", "distance_m"),  # generic_csv has no distance limit
    ("workouts.csv", "set", "Workout end time", "2026-11-16 10:00:00", "elapsed_s"),  # whoop: 11 days
]


@pytest.mark.parametrize(
    "name,op,target,value,column", STORED_BEFORE, ids=[f"{c[0]}:{c[2]}={c[3]}" for c in STORED_BEFORE]
)
def test_absurd_value_rejects_the_file_naming_record_and_column(
    baseline, workdir, seeds, name, op, target, value, column
):
    seed = _seed(seeds, name)
    rel = seed.rel
    mutated = H.absurd(seed, op, target, value, 3 if name != "workouts.csv" else 7)
    out = H.run_ingest(baseline, {rel: mutated}, workdir=workdir)
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "rejected"
        err = out.error(rel)
        assert err.startswith(out.displays[rel]) and f"column {column!r}" in err
        assert " record " in err and ("outside" in err), err
        for t in H.CANONICAL:
            assert out.rows_from(rel, t).is_empty()
    finally:
        H.cleanup(out)


def test_skip_policy_keeps_the_valid_rows_of_the_same_file(baseline, workdir, seeds):
    seed = _seed(seeds, "activities.csv", "strava")
    rel = seed.rel
    mutated = H.absurd(seed, "set", "Average Heart Rate", "400", 3)
    out = H.run_ingest(baseline, {rel: mutated}, workdir=workdir, on_bad_row="skip")
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "ingested"
        row = out.ledger_new.filter(pl.col("path") == out.displays[rel]).row(0, named=True)
        # the seed has 122 rides; line 5 (the 4th data row) has an average HR of 400 bpm
        assert row["skipped_rows"] == 1 and row["rows_sessions"] == 121
        assert "avg_hr_bpm 400.0 outside the plausible range 20..250" in row["warnings"]
        assert out.rows_from(rel, "sessions")["avg_hr_bpm"].max() <= 250
    finally:
        H.cleanup(out)


def test_plausible_limits_are_the_documented_ones():
    # 24 h of moving time (generic_csv/whoop), 7 days elapsed (apple_health/oura), 1000 km (whoop/oura)
    assert PLAUSIBLE["sessions"]["duration_s"] == (0.0, 86400.0)
    assert PLAUSIBLE["sessions"]["elapsed_s"] == (0.0, 604800.0)
    assert PLAUSIBLE["sessions"]["distance_m"] == (0.0, 1e6)
    assert PLAUSIBLE["wellness"]["rhr_bpm"] == (20.0, 250.0)
    assert PLAUSIBLE_YEARS == (1970, 2100)


T0 = datetime(2026, 6, 1, 6, 0, tzinfo=timezone.utc)


def _fit_activity(timer_ms: int, distance_cm: int, avg_hr: int) -> bytes:
    """A one-session FIT activity (values raw, as a damaged file could carry them)."""
    b = Builder()
    b.define(0, 0, [(0, "enum"), (1, "uint16"), (3, "uint32z"), (4, "uint32")])
    b.data(0, [4, 1, 123456, fit_time(T0)])
    t0 = fit_time(T0)
    b.define(1, 20, [(253, "uint32"), (3, "uint8")])
    for k in range(10):
        b.data(1, [t0 + k, 120])
    b.define(
        2, 18, [(253, "uint32"), (2, "uint32"), (5, "enum"), (7, "uint32"), (8, "uint32"), (9, "uint32"), (16, "uint8")]
    )
    b.data(2, [t0 + 10, t0, 1, timer_ms, timer_ms, distance_cm, avg_hr])
    return b.to_bytes(bad_crc=True)  # CRC damage: the values are read "unverified"


def _fit_sleep(levels: list[tuple[int, int]]) -> bytes:
    b = Builder()
    b.define(0, 0, [(0, "enum"), (1, "uint16"), (3, "uint32z")])
    b.data(0, [49, 1, 42])
    b.define(1, 275, [(253, "uint32"), (0, "enum")])
    for t, lv in levels:
        b.data(1, [t, lv])
    return b.to_bytes(bad_crc=True)


@pytest.mark.parametrize(
    "data,column",
    [
        # 4294967050 ms = 49.7 days of timer time (a flipped high byte)
        (_fit_activity(4_294_967_050, 360_000, 130), "duration_s"),
        # 3 523 216 640 cm = 35 232 km
        (_fit_activity(3_600_000, 3_523_216_640, 130), "distance_m"),
        (_fit_activity(3_600_000, 360_000, 254), "avg_hr_bpm"),
        # a sleep_level timestamp one year late: a 365-day "night"
        # a sleep_level timestamp one year late: a 365-day "night" (the FIT connector drops it: nothing usable)
        (_fit_sleep([(fit_time(T0), 2), (fit_time(T0) + 3600, 3), (fit_time(T0) + 365 * 86400, 1)]), None),
    ],
    ids=["timer-49-days", "distance-35000-km", "avg-hr-254", "sleep-365-days"],
)
def test_damaged_fit_values_are_not_stored(baseline, workdir, data, column):
    rel = "hana/damaged.fit"
    out = H.run_ingest(baseline, {rel: data}, workdir=workdir)
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "rejected"
        assert "byte " in out.error(rel)
        if column is not None:
            assert f"column {column!r}" in out.error(rel) and "outside the plausible range" in out.error(rel)
    finally:
        H.cleanup(out)


def test_sane_damaged_fit_is_still_read(baseline, workdir):
    """The guard does not change the documented FIT policy: CRC damage alone still ingests (unverified)."""
    rel = "hana/ok.fit"
    out = H.run_ingest(baseline, {rel: _fit_activity(3_600_000, 1_000_000, 140)}, workdir=workdir)
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "ingested", out.error(rel)
        s = out.rows_from(rel, "sessions").row(0, named=True)
        assert (s["duration_s"], s["distance_m"], s["avg_hr_bpm"]) == (3600.0, 10000.0, 140.0)
    finally:
        H.cleanup(out)


@pytest.mark.parametrize("name", ["UDSFile_2026-05-18_2026-11-15.json", "resting_heart_rate-2019-11-01.json"])
def test_nan_token_in_json_is_located(baseline, workdir, seeds, name):
    seed = _seed(seeds, name)
    key = "restingHeartRate" if name.startswith("UDS") else "value"
    mutated = H.absurd(seed, "set", key, float("nan"), 0)  # json.dumps writes the bare token NaN
    assert b"NaN" in mutated
    line = 1 + mutated[: mutated.index(b"NaN")].count(b"\n")
    rel = seed.rel
    out = H.run_ingest(baseline, {rel: mutated}, workdir=workdir)
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "rejected"
        assert f"line {line}" in out.error(rel) and "NaN is not a JSON number" in out.error(rel), out.error(rel)
    finally:
        H.cleanup(out)


def test_utf16_export_is_rejected_with_a_hint(baseline, workdir, seeds):
    seed = _seed(seeds, "activities.csv", "strava")
    rel = seed.rel
    out = H.run_ingest(baseline, {rel: seed.data.decode().encode("utf-16")}, workdir=workdir)
    try:
        H.check_outcome(out, [rel])
        assert out.status(rel) == "rejected"
        assert "byte 0" in out.error(rel) and "looks like UTF-16 text: save or export it as UTF-8" in out.error(rel)
    finally:
        H.cleanup(out)
