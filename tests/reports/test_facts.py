"""reports.facts: the one source of the report's and alerts' numbers (hand-computed expectations)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.schemas import FEATURES, SESSIONS, conform
from reports.facts import (
    Usual,
    day_facts,
    freshness,
    last_data_dates,
    load_as_time,
    load_range_as_time,
    one_advice,
    reasons_with_points,
    red_flag_cause,
    tracked_inputs,
    usual_training,
)

D = date(2026, 4, 12)


def test_day_facts_reads_load_from_the_row_the_scorer_read():
    f = {"acute_7d_au": 900.0, "chronic_28d_au": 1000.0, "sleep_7d_h": 6.5, "red_flag": False}
    fl = {"acute_7d_au": 1620.0, "chronic_28d_au": 1000.0, "acwr": 1.62, "sleep_7d_h": 9.9}
    s = {"risk_score": 61.0, "risk_band": "high", "reasons": "acwr_spike"}
    fc = day_facts(f, s, D, fl)
    assert fc["acute_7d_au"] == 1620.0 and fc["acwr"] == 1.62  # load: the day before
    assert fc["sleep_7d_h"] == 6.5  # morning values: the day itself
    assert fc["load_pct"] == pytest.approx(62.0)  # 100 * (1620 / 1000 - 1)
    assert fc["load_day"] == date(2026, 4, 11) and fc["risk_score"] == 61.0 and not fc["red_flag"]
    assert day_facts(None, {"reasons": "red_flag;sleep_debt"}, D)["red_flag"]


def comps(*pts):
    names = ["load_spike", "weekly_jump", "sleep", "hrv"]
    reasons = ["acwr_spike", "weekly_ramp", "sleep_debt", "hrv_suppressed"]
    return json.dumps(
        [
            {"component": n, "reason": r, "points": p, "cap": 20, "rule": f"{n}: +{p}"}
            for n, r, p in zip(names, reasons, pts, strict=True)
        ]
    )


def test_reasons_only_with_points_in_order_of_points():
    s = {"reasons": "weekly_ramp;acwr_spike;sleep_debt", "components_json": comps(6.0, 12.0, 0.0, 0.4)}
    got = reasons_with_points(s)
    assert [(r["code"], r["points"]) for r in got] == [
        ("weekly_ramp", 12.0),
        ("acwr_spike", 6.0),
        ("hrv_suppressed", 0.4),
    ]
    # a red flag (an override, not a component) comes first
    s["reasons"] = "red_flag;" + s["reasons"]
    assert reasons_with_points(s)[0] == {"code": "red_flag", "points": None, "rule": None, "component": None}
    # no components_json: the scorer's codes (it lists only what gave points)
    assert [r["code"] for r in reasons_with_points({"reasons": "sleep_debt;rhr_elevated"})] == [
        "sleep_debt",
        "rhr_elevated",
    ]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=55, allow_nan=False), min_size=4, max_size=4))
def test_property_reasons_have_points_and_are_sorted(pts):
    got = reasons_with_points({"reasons": "", "components_json": comps(*pts)})
    assert all(r["points"] > 0 for r in got)
    assert [r["points"] for r in got] == sorted((p for p in pts if p > 0), reverse=True)


def test_one_advice_strongest_first_and_red_flag_alone():
    adj = json.dumps(
        [
            {"code": "deload_week", "text": "deload"},
            {"code": "cut_volume", "text": "cut"},
            {"code": "see_clinician", "text": "clinician", "cause": "back_symptoms"},
        ]
    )
    main, others = one_advice({"adjustments_json": adj})
    assert main["code"] == "see_clinician" and [o["code"] for o in others] == ["deload_week", "cut_volume"]
    main, others = one_advice({"adjustments_json": adj}, red_flag=True)
    assert main["code"] == "see_clinician" and others == []
    assert one_advice({"adjustments_json": "[]"}) == (None, [])


def test_red_flag_cause_reported_or_the_scorers_rule():
    assert red_flag_cause({"red_flag": True}, None) == "red-flag symptom reported"
    adj = json.dumps(
        [
            {
                "code": "see_clinician",
                "cause": "red_flag",
                "values": {"cause": "back pain 7/10 still rising after 5 days; stop training"},
            }
        ]
    )
    assert red_flag_cause({"red_flag": False}, {"adjustments_json": adj}) == "back pain 7/10 still rising after 5 days"
    assert red_flag_cause(None, None) is None


def test_freshness_no_data_is_not_low():
    f = conform(
        pl.DataFrame(
            [
                {"athlete_id": "a", "date": date(2026, 3, 29), "load_au": 300.0, "sleep_h": 7.0, "rhr_bpm": 50.0},
                {"athlete_id": "a", "date": date(2026, 4, 12), "load_au": 0.0, "sleep_h": 7.5, "hrv_ln_rmssd": 4.0},
                {
                    "athlete_id": "b",
                    "date": date(2026, 4, 12),
                    "load_au": 200.0,
                    "sleep_h": 7.5,
                    "rhr_bpm": 50.0,
                    "back_pain_0_10": 2.0,
                },
            ],
            schema_overrides=dict(FEATURES.columns),
            infer_schema_length=None,
        ),
        FEATURES,
    )
    last = last_data_dates(f, as_of=D)
    assert last["a"] == {"training": date(2026, 3, 29), "sleep": D, "hr": D, "checkin": None}
    fa = freshness(last["a"], day=D, stale_after_d=7)
    assert fa["stale"] == ["training"] and fa["stale_core"]  # 14 days without a training file
    assert [r["age_d"] for r in fa["inputs"]] == [14, 0, 0, None]
    assert freshness(last["a"], day=D, stale_after_d=14)["stale"] == []  # the limit is configurable
    fb = freshness(last["b"], day=D, stale_after_d=7)
    assert fb["stale"] == [] and not fb["stale_core"]
    assert freshness({}, day=D, stale_after_d=7)["stale"] == ["training", "sleep", "hr"]  # never: stale
    with pytest.raises(ValueError, match="stale_after_d"):
        freshness({}, day=D, stale_after_d=0)
    # what the team tracks: both athletes had training, sleep and HR/HRV; b sent a check-in
    assert tracked_inputs(last) == {"training", "sleep", "hr", "checkin"}
    # an athlete of this team who never had sleep data is missing it: stale
    c = {"training": D, "sleep": None, "hr": D, "checkin": None}
    fc = freshness(c, day=D, stale_after_d=7, tracked=tracked_inputs(last))
    assert fc["stale"] == ["sleep"] and fc["stale_core"]
    # a team that logs session RPE and wears no devices (SoccerMon-like) tracks no sleep or HR/HRV:
    # not stale, "not tracked"; a training log that went quiet is still stale
    rpe_team = {"p1": {"training": D, "sleep": None, "hr": None, "checkin": None}}
    fr = freshness(rpe_team["p1"], day=D, stale_after_d=7, tracked=tracked_inputs(rpe_team))
    assert fr["stale"] == [] and not fr["stale_core"]
    assert [r["tracked"] for r in fr["inputs"]] == [True, False, False, False]
    quiet = {"training": D - timedelta(days=9), "sleep": None, "hr": None, "checkin": None}
    fq = freshness(quiet, day=D, stale_after_d=7, tracked=tracked_inputs(rpe_team))
    assert fq["stale"] == ["training"] and fq["stale_core"]
    # training always counts: an athlete without any is stale even if nobody in the team has any
    assert freshness({}, day=D, stale_after_d=7, tracked=frozenset())["stale"] == ["training"]


def _ses(rows):
    base = {
        "source": "csv",
        "start_utc": datetime(2026, 4, 1, tzinfo=timezone.utc),
        "avg_hr_bpm": None,
        "max_hr_bpm": None,
        "rpe": None,
        "device_load": None,
        "load_method": "srpe",
        "source_file": "x",
    }
    return conform(
        pl.DataFrame([{**base, **r} for r in rows], schema_overrides=dict(SESSIONS.columns), infer_schema_length=None),
        SESSIONS,
    )


def test_usual_training_and_load_as_time():
    rows = [
        {
            "athlete_id": "a",
            "local_date": date(2026, 4, d),
            "sport": "running",
            "duration_s": 3600.0,
            "distance_m": 10_000.0,
            "load_au": 360.0,
        }
        for d in (2, 4, 6)
    ]
    rows.append(
        {
            "athlete_id": "a",
            "local_date": date(2026, 4, 7),
            "sport": "strength",
            "duration_s": 1800.0,
            "distance_m": None,
            "load_au": 200.0,
        }
    )
    rows += [
        {
            "athlete_id": "b",
            "local_date": date(2026, 4, 2),
            "sport": "cycling",
            "duration_s": 3600.0,
            "distance_m": 30_000.0,
            "load_au": 300.0,
        }
    ]  # one session only: no entry
    u = usual_training(_ses(rows), as_of=D)
    assert set(u) == {"a"}
    # running: 1080 AU over 180 min = 6 AU/min; 30 km over 1080 AU
    assert u["a"].sport == "running" and u["a"].au_per_min == pytest.approx(6.0)
    assert u["a"].km_per_au == pytest.approx(30 / 1080)
    # 1200 AU = 200 min = 3 h 20 min, 33.3 km
    assert load_as_time(1200.0, u["a"]) == "about 3 h 20 min of running at your usual effort (about 33 km)"
    assert load_range_as_time(480.0, 720.0, u["a"]) == (
        "about 1 h 20 min to 2 h of running at your usual effort (about 13-20 km)"
    )
    assert load_as_time(None, u["a"]) is None and load_as_time(500.0, None) is None
    assert load_as_time(30.0, Usual("rowing", 6.0, None, 5)) == "about 10 min of rowing at your usual effort"
