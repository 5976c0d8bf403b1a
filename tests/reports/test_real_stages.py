"""Contract test: the report and the alerts on the output of the real feature stage and rule scorer.

The other report tests use hand-made SCORES; this one feeds
``features.compute.compute_features`` and ``models.rules.score_features``
output (tests/models/synth scenarios) straight in, so a change in the
scorer's ``components_json`` / ``adjustments_json`` that the report or the
alert text cannot read fails here.
"""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest

from models.rules import score_features
from models.vocab import RED_FLAG_TEXT
from reports.alerts import alerts_for_day
from reports.weekly import build_weekly_data, build_weekly_report, iso_week_of
from tests.models import synth
from tests.reports._extract import report_data

S = 120  # perturbation start (day index); baselines are warm by then


@pytest.fixture(scope="module")
def team():
    athletes = [
        synth.load_spike(synth.make_daily("spike", seed=1, phys_ar=0.3, days=S + 10), S, days=10, factor=2.5),
        synth.strained_recovery(
            synth.make_daily("hrv", seed=2, phys_ar=0.3, days=S + 10), S, days=10, rhr_up_bpm=8.0, hrv_down_ln=0.35
        ),
        synth.make_daily("steady", seed=3, phys_ar=0.3, days=S + 10),
    ]
    rf = synth.make_daily("rf", seed=4, phys_ar=0.3, days=S + 10)
    rf.red_flag[S + 8] = True
    athletes.append(rf)
    daily = pl.concat([a.frame() for a in athletes])
    features = synth.to_features(daily)
    as_of = features["date"].max()
    scores = score_features(features, as_of=as_of)
    return features, scores, as_of


def test_report_reads_real_scorer_output(team):
    features, scores, as_of = team
    week = iso_week_of(as_of)
    data = build_weekly_data(features, scores, week=week, as_of=as_of)
    by_id = {a["athlete_id"]: a for a in data["athletes"]}
    assert [a["athlete_id"] for a in data["athletes"]][0] == "rf"  # the red flag comes first
    assert by_id["spike"]["peak_band"] in ("moderate", "high")
    assert by_id["spike"]["reasons"][0]["code"] in ("acwr_spike", "weekly_ramp", "sleep_debt", "hrv_suppressed")
    # every flagged-day component shown is one the scorer gave points, with its own rule text
    for a in data["athletes"]:
        for fd in a["flagged"]:
            row = scores.filter(
                (pl.col("athlete_id") == a["athlete_id"]) & (pl.col("date").cast(pl.String) == fd["date"])
            ).row(0, named=True)
            rules = {c["rule"] for c in json.loads(row["components_json"]) if c["points"] > 0}
            assert {c["rule"] for c in fd["components"]} == rules
    assert by_id["hrv"]["hrv"]["word"] in ("below normal", "well below normal")
    assert by_id["hrv"]["rhr"]["word"] in ("slightly up", "elevated")
    # adjustments come with the scorer's numbers
    spike_adj = " ".join([by_id["spike"]["advice"]["text"]] + [x["text"] for x in by_id["spike"]["context"]])
    assert any(ch.isdigit() for ch in spike_adj)
    html = build_weekly_report(features, scores, week=week, as_of=as_of)
    assert report_data(html)["team"][0]["athlete_id"] == "rf"


def test_alerts_on_real_scorer_output(team):
    features, scores, as_of = team
    fired = {}
    for k in range(10, -1, -1):  # every night of the last 11 days, like the nightly run
        for al in alerts_for_day(features, scores, as_of=as_of - timedelta(days=k)):
            fired.setdefault(al.alert_id, al)
    rules = {(a.athlete_id, a.rule) for a in fired.values()}
    assert ("rf", "red_flag") in rules
    assert any(a == "spike" and r in ("high_band", "moderate_streak") for a, r in rules)
    assert not any(a == "steady" for a, _ in rules)
    rf = next(a for a in fired.values() if a.rule == "red_flag")
    assert RED_FLAG_TEXT in rf.body
    # one alert per episode: the ids are unique per (athlete, key day, rule)
    assert len(fired) == len({(a.athlete_id, a.day, a.rule) for a in fired.values()})
