"""Alert rules and texts (pure)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl
import pytest

from features.schemas import FEATURES, SCORES, conform
from models.vocab import DISCLAIMER, RED_FLAG_TEXT
from reports.alerts import alert_id, alerts_for_day, coach_digest

D0 = date(2026, 4, 1)


def make(
    bands: dict[str, list[str | None]],
    *,
    red: dict[str, list[int]] | None = None,
    feats: dict | None = None,
    comps: list[dict] | None = None,
    adj: list[dict] | None = None,
):
    """Scores for consecutive days from D0; None = no score that day."""
    srows, frows = [], []
    for a, seq in bands.items():
        for i, b in enumerate(seq):
            d = D0 + timedelta(days=i)
            rf = i in (red or {}).get(a, [])
            frows.append({"athlete_id": a, "date": d, "red_flag": rf, **(feats or {})})
            if b is None:
                continue
            score = {"low": 10.0, "moderate": 45.0, "high": 72.0, "insufficient_data": 0.0}[b]
            srows.append(
                {
                    "athlete_id": a,
                    "date": d,
                    "risk_score": score,
                    "risk_band": b,
                    "reasons": ("red_flag;" if rf else "") + "acwr_spike;sleep_debt",
                    "adjustments": ";".join(x["code"] for x in adj or []),
                    "components_json": json.dumps(comps or []),
                    "adjustments_json": json.dumps(adj or []),
                }
            )
    s = conform(pl.DataFrame(srows, schema_overrides=dict(SCORES.columns), infer_schema_length=None), SCORES)
    f = conform(pl.DataFrame(frows, schema_overrides=dict(FEATURES.columns), infer_schema_length=None), FEATURES)
    return f, s


def day(i: int) -> date:
    return D0 + timedelta(days=i)


def fired(f, s, i, **kw):
    return [(a.athlete_id, a.rule, a.day) for a in alerts_for_day(f, s, as_of=day(i), **kw)]


def test_high_band_fires_with_key_day_of_entry():
    f, s = make({"a": ["low", "moderate", "high", "high", "low", "low", "low", "high"]})
    assert fired(f, s, 1) == []
    assert fired(f, s, 2) == [("a", "high_band", day(2))]
    # still high the next day: same key day -> same outbox id (no second alert)
    assert fired(f, s, 3) == [("a", "high_band", day(2))]
    assert fired(f, s, 4) == []
    # a new episode after three days out of the high band is a new alert
    assert fired(f, s, 7) == [("a", "high_band", day(7))]
    a2, a3 = alerts_for_day(f, s, as_of=day(2))[0], alerts_for_day(f, s, as_of=day(3))[0]
    assert a2.alert_id == a3.alert_id == alert_id("a", day(2), "high_band")


def test_moderate_streak_needs_three_consecutive_days():
    f, s = make(
        {
            "a": ["moderate", "moderate", "low", "moderate", "moderate", "moderate", "moderate"],
            "b": ["moderate", "moderate", None, "moderate"],
        }
    )  # a missing score breaks the run
    assert fired(f, s, 1) == []
    assert fired(f, s, 4) == []
    assert fired(f, s, 5) == [("a", "moderate_streak", day(5))]  # days 3, 4, 5
    assert fired(f, s, 6) == [("a", "moderate_streak", day(5))]  # key day stays the 3rd day
    assert fired(f, s, 3, athletes=["b"]) == []
    assert fired(f, s, 5, moderate_days=2) == [("a", "moderate_streak", day(4))]


def test_red_flag_replaces_band_alerts_and_says_see_a_clinician():
    f, s = make({"a": ["high", "high", "high"], "b": ["low", "low", "low"]}, red={"b": [1, 2]})
    al = alerts_for_day(f, s, as_of=day(2), names={"b": "Bea"})
    assert [(x.athlete_id, x.rule, x.day) for x in al] == [("b", "red_flag", day(1)), ("a", "high_band", day(0))]
    rf = al[0]
    assert "see a clinician" in rf.title.lower() and "Bea" in rf.title
    assert RED_FLAG_TEXT in rf.body and DISCLAIMER in rf.body
    assert "The one change" in rf.body
    assert len(rf.short) <= 300 and rf.body.startswith(rf.short) and "clinician" in rf.short
    assert "stop training" in rf.body.lower()
    # no training-load advice on a red flag: the score is overridden
    assert "Cut next week" not in rf.body


def test_no_alert_without_a_score_on_as_of_or_for_low_and_insufficient():
    f, s = make({"a": ["high", "high", None], "b": ["insufficient_data"] * 3, "c": ["low"] * 3})
    assert fired(f, s, 2) == []


def test_alert_text_has_numbers_and_changes():
    feats = {
        "acute_7d_au": 1640.0,
        "chronic_28d_au": 1000.0,
        "acwr": 1.64,
        "sleep_7d_h": 6.4,
        "sleep_baseline_h": 8.0,
        "sleep_debt_7d_h": 11.2,
    }
    comps = [
        {
            "component": "load_spike",
            "reason": "acwr_spike",
            "points": 17,
            "cap": 25,
            "value": 1.64,
            "rule": "ACWR 1.64 > 1.5: +17",
        },
        {
            "component": "sleep",
            "reason": "sleep_debt",
            "points": 10,
            "cap": 12,
            "value": 6.4,
            "rule": "7-day sleep 6.4 h < 8 h, debt 11.2 h > 5 h: +10",
        },
    ]
    adj = [
        {"code": "cut_volume", "text": "Cut next week's training load to about 1100 AU."},
        {"code": "prioritise_sleep", "text": "Aim for at least 8 h of sleep tonight."},
    ]
    f, s = make({"a": ["low", "high"]}, feats=feats, comps=comps, adj=adj)
    (al,) = alerts_for_day(f, s, as_of=day(1), names={"a": "Alice"})
    b = al.body
    # 100 * (1640 / 1000 - 1) = +64 %
    assert "1,640 AU in the last 7 days against a usual week of 1,000 AU (+64 %)" in b
    assert "ratio 1.64" in b and "6.4 h a night over the last 7 nights, 1.6 h less than your usual 8.0 h." in b
    assert "What added points: ACWR 1.64 > 1.5: +17; 7-day sleep 6.4 h < 8 h, debt 11.2 h > 5 h: +10." in b
    assert "- Cut next week's training load to about 1100 AU." in b
    assert "- Aim for at least 8 h of sleep tonight." in b
    assert b.index("What we saw") < b.index("The one change") < b.index("Also worth knowing") < b.index(DISCLAIMER)
    # the push text: the strongest advice only, plain words, under 300 characters
    assert al.short == (
        "Alice, your training in the last 7 days was 1.6 times your usual week and you slept 6.4 h "
        "a night this week (1.6 h less than usual). Next 7 days: train clearly less than this week, easy pace. "
        "See a clinician if back pain lasts over a week or spreads below the knee."
    )
    assert "ACWR" not in al.short and "AU" not in al.short
    assert "\nSee a clinician\n" + RED_FLAG_TEXT in b  # when to see one, in every e-mail
    assert al.title == "strainwatch: High strain risk for Alice: deload suggested"


def test_coach_digest():
    f, s = make({"a": ["high"], "b": ["high"]}, red={"b": [0]})
    al = alerts_for_day(f, s, as_of=day(0), names={"a": "Alice"})
    title, body = coach_digest(al, as_of=day(0), team_name="Harbour RC")
    assert title == "strainwatch: Harbour RC: 2 alerts for 2026-04-01 (1 red flag, 1 high)"
    assert "* b: RED FLAG" in body and "* Alice: HIGH band" in body
    assert body.index("* b:") < body.index("* Alice:")
    assert RED_FLAG_TEXT in body and body.endswith(DISCLAIMER)
    assert coach_digest([], as_of=day(0)) is None


def test_bad_parameters():
    f, s = make({"a": ["high"]})
    with pytest.raises(ValueError, match="moderate_days"):
        alerts_for_day(f, s, as_of=day(0), moderate_days=0)


def test_red_flag_of_a_missed_night_is_still_alerted_once():
    # red flag reported on day 1 only; the score on day 2 no longer carries it
    f, s = make({"a": ["low", "low", "low", "low", "low"]}, red={"a": [1]})
    assert fired(f, s, 1) == [("a", "red_flag", day(1))]
    assert fired(f, s, 2) == [("a", "red_flag", day(1))]  # same key: the outbox sends it once
    assert fired(f, s, 3) == [("a", "red_flag", day(1))]  # lookback 3 days: days 1..3
    assert fired(f, s, 4) == []
    assert fired(f, s, 2, red_flag_lookback_days=1) == []
    (al,) = alerts_for_day(f, s, as_of=day(3))
    assert "A red-flag symptom was reported on Thu 2 Apr 2026." in al.body


def test_coach_digest_marks_new_and_ongoing():
    f, s = make({"a": ["high", "high"], "b": ["moderate", "moderate", "moderate"]})
    al = alerts_for_day(f, s, as_of=day(1)) + alerts_for_day(f, s, as_of=day(2))
    title, body = coach_digest(al, as_of=day(2), new_ids={al[1].alert_id})
    assert title.endswith("(1 high, 1 moderate 3+ days; 1 new)")
    assert "* ongoing a: HIGH band" in body and "* NEW b: MODERATE band 3 days in a row" in body


def test_flapping_high_band_is_one_episode():
    # high, low, high, low, low, high: gaps of 1 and 2 days -> one episode keyed on day 0
    f, s = make({"a": ["high", "low", "high", "low", "low", "high", "low", "low", "low", "high"]})
    assert fired(f, s, 2) == [("a", "high_band", day(0))]
    assert fired(f, s, 5) == [("a", "high_band", day(0))]
    (al,) = alerts_for_day(f, s, as_of=day(5))
    assert "since Wed 1 Apr 2026 (high on 3 of those 6 days)" in al.body
    # three low days in between start a new episode
    assert fired(f, s, 9) == [("a", "high_band", day(9))]
    assert fired(f, s, 5, episode_gap_days=0) == [("a", "high_band", day(5))]
