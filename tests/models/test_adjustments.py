"""Adjustments: each cause gives its code, its numbers and its sentence."""

from __future__ import annotations

import json
from datetime import date, timedelta

import polars as pl

from features.schemas import ADJUSTMENT_CODES, FEATURES, conform
from models.adjustments import recommend
from models.rules import ScorerParams, score_day, score_features
from models.vocab import RED_FLAG_TEXT

D = date(2024, 3, 10)
LOAD = {
    "acwr_ewma": 1.0,
    "weekly_change_pct": 0.0,
    "monotony": 1.5,
    "acute_7d_au": 2000.0,
    "chronic_28d_au": 2000.0,
    "hard_day_streak": 0,
}
OK = dict(
    hrv_z=0.0, rhr_delta_bpm=0.0, sleep_7d_h=8.2, sleep_debt_7d_h=0.5, sleep_eff_7d_pct=92.0, sleep_baseline_h=8.0
)


def advise(load=None, high=0, recov=0, params=None, **today):
    t = {"athlete_id": "a", "date": D, **OK, **today}
    load = {**LOAD, **(load or {})}
    day = score_day(t, load, params=params)
    return recommend(day, load=load, high_streak_d=high, recovery_streak_d=recov, params=params)


def codes(adjs):
    return [a.code for a in adjs]


def test_nothing_fired_no_advice():
    assert advise() == []


def test_load_spike_cuts_to_1_1_x_chronic():
    adjs = advise({"acwr_ewma": 1.7, "acute_7d_au": 3000.0, "chronic_28d_au": 1800.0, "weekly_change_pct": 40.0})
    a = adjs[0]
    # target 1.1 x 1800 = 1980 AU; cut 100 * (1 - 1980 / 3000) = 34 %
    assert a.code == "cut_volume" and a.cause == "acwr_spike"
    assert a.values["target_au"] == 1980 and a.values["cut_pct"] == 34.0
    assert a.text == (
        "Cut next week's training load to about 1980 AU (1.1 x your chronic weekly load of "
        "1800 AU), 34 % less than this week's 3000 AU."
    )
    assert codes(adjs) == ["cut_volume"]  # one adjustment per code; the weekly jump adds no second


def test_spike_without_a_cut_holds():
    # acute 1900 < 1.1 x 1800 = 1980: no cut needed -> hold
    adjs = advise({"acwr_ewma": 1.6, "acute_7d_au": 1900.0, "chronic_28d_au": 1800.0})
    assert codes(adjs) == ["hold_volume"]


def test_moderate_ramp_holds_then_ten_percent():
    adjs = advise({"acwr_ewma": 1.2, "weekly_change_pct": 20.0, "acute_7d_au": 2400.0})
    assert codes(adjs) == ["hold_volume"]
    assert adjs[0].cause == "weekly_ramp"
    assert "2400 AU" in adjs[0].text and "no more than 10 % a week" in adjs[0].text
    assert "20 % above last week's" in adjs[0].text


def test_slightly_short_sleep_alone_gives_points_but_no_advice():
    # 7-d mean 7.6 h, 0.4 h below the usual 8 h: no points, and a fair last night: nothing to change today
    assert codes(advise(sleep_7d_h=7.6, sleep_debt_7d_h=3.0)) == []
    t = {"athlete_id": "a", "date": D, **OK, "sleep_7d_h": 7.6, "sleep_debt_7d_h": 3.0}
    day = score_day(t, LOAD)
    # last night 5.1 h < 6 h: no intensity today
    assert codes(recommend(day, load=LOAD, last_night_h=5.1)) == ["prioritise_sleep"]


def test_recent_red_flag_keeps_see_clinician_first():
    adjs = recommend(
        score_day({"athlete_id": "a", "date": D, **OK, "sleep_7d_h": 5.0, "sleep_debt_7d_h": 20.0}, LOAD),
        load=LOAD,
        recent_red_flag=D - timedelta(days=2),
    )
    assert codes(adjs) == ["see_clinician", "prioritise_sleep"]
    assert "reported on 2024-03-08" in adjs[0].text


def test_poor_sleep_no_intensity_and_eight_hours():
    adjs = advise(sleep_7d_h=6.1, sleep_debt_7d_h=13.0)
    assert codes(adjs) == ["prioritise_sleep"]
    assert "No high-intensity sessions or heavy lifting today" in adjs[0].text
    assert "at least 8 h" in adjs[0].text and "6.1 h" in adjs[0].text


def test_hrv_down_rhr_up_easy_then_rest():
    one = advise(hrv_z=-0.8, rhr_delta_bpm=4.0, recov=1)
    assert codes(one) == ["easy_day"]
    two = advise(hrv_z=-0.8, rhr_delta_bpm=4.0, recov=2)
    assert codes(two) == ["rest_day"]
    assert "2 days in a row" in two[0].text


def test_strong_hrv_drop_alone_is_an_easy_day():
    assert codes(advise(hrv_z=-1.4)) == ["easy_day"]
    assert codes(advise(hrv_z=-0.7)) == []  # mild alone: points but no advice


def test_monotony_one_or_two_easy_days():
    adjs = advise({"monotony": 2.4})
    assert codes(adjs) == ["vary_load"]
    assert "monotony 2.4, above 2.0" in adjs[0].text and "1-2 easy or rest days" in adjs[0].text


def test_hard_day_streak_easy_day():
    adjs = advise({"hard_day_streak": 4})
    assert codes(adjs) == ["easy_day"] and "4 hard days in a row" in adjs[0].text


def test_high_three_days_deload_40_60():
    adjs = advise({"acwr_ewma": 1.9, "acute_7d_au": 3000.0, "chronic_28d_au": 2000.0}, high=3)
    assert codes(adjs)[0] == "deload_week"
    # 0.4 x 2000 = 800, 0.6 x 2000 = 1200
    assert "40-60 %" in adjs[0].text and "800-1200 AU" in adjs[0].text
    assert codes(advise({"acwr_ewma": 1.9, "acute_7d_au": 3000.0, "chronic_28d_au": 2000.0}, high=2))[0] == "cut_volume"


def test_red_flag_only_see_clinician_with_list():
    adjs = advise(
        {"acwr_ewma": 1.9, "acute_7d_au": 3000.0, "chronic_28d_au": 2000.0}, high=5, red_flag=True, sleep_7d_h=5.0
    )
    assert codes(adjs) == ["see_clinician"]
    assert RED_FLAG_TEXT in adjs[0].text and "stop training" in adjs[0].text


def test_early_back_soreness_mobility_lasting_pain_clinician():
    early = advise(back_pain_0_10=4.0, back_pain_streak_d=2)
    assert codes(early) == ["mobility"]
    week = advise(back_pain_0_10=4.0, back_pain_streak_d=8)
    assert codes(week)[0] == "see_clinician" and "8 days" in week[0].text


def test_order_follows_cause_points():
    # sleep 30 > HRV/RHR easy day (12 + 6 = 18) > monotony 6
    adjs = advise({"monotony": 2.2}, hrv_z=-0.8, rhr_delta_bpm=3.5, recov=1, sleep_7d_h=5.5, sleep_debt_7d_h=17.0)
    assert codes(adjs) == ["prioritise_sleep", "easy_day", "vary_load"]


def test_params_change_advice_numbers():
    p = ScorerParams(target_acwr=1.0, coach_sleep_need_h=7.0)
    adjs = advise(
        {"acwr_ewma": 1.7, "acute_7d_au": 3000.0, "chronic_28d_au": 1800.0},
        params=p,
        sleep_7d_h=6.0,
        sleep_debt_7d_h=7.0,
    )
    cut = adjs[0]
    assert cut.values["target_au"] == 1800 and "1 x your chronic" in cut.text
    assert cut.values["cut_pct"] == 40.0  # 100 * (1 - 1800 / 3000)
    assert "at least 7 h" in adjs[1].text
    # without a coach's need: the athlete's usual 8 h
    assert (
        "at least 8 h"
        in advise(
            {"acwr_ewma": 1.7, "acute_7d_au": 3000.0, "chronic_28d_au": 1800.0}, sleep_7d_h=6.0, sleep_debt_7d_h=7.0
        )[1].text
    )


def test_frame_adjustments_json_and_codes_are_consistent():
    rows = [
        {
            "athlete_id": "a",
            "date": D + timedelta(days=i),
            "acwr_ewma": 1.0 + 0.2 * i,
            "weekly_change_pct": 10.0 * i,
            "monotony": 2.2,
            "acute_7d_au": 1000.0 + 300 * i,
            "chronic_28d_au": 1000.0,
            "hard_day_streak": 0,
            "sleep_7d_h": 6.0,
            "sleep_debt_7d_h": 14.0,
        }
        for i in range(6)
    ]
    out = score_features(conform(pl.DataFrame(rows), FEATURES), as_of=D + timedelta(days=5))
    for r in out.iter_rows(named=True):
        items = json.loads(r["adjustments_json"])
        assert ";".join(i["code"] for i in items) == r["adjustments"]
        for i in items:
            assert i["code"] in ADJUSTMENT_CODES and i["text"] and "{" not in i["text"]
