"""models.evaluate: labels, AUCs with bootstrap CIs, band tables, no label leaking into a score."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.evaluate import (
    LabelSpec,
    assemble,
    auc,
    evaluate_frame,
    evaluate_scores,
    event_days,
    horizon_labels,
    injury_onsets,
    label_history,
    onset_labels,
    report_summary,
)
from models.rules import score_features
from tests.models import synth

D0 = date(2024, 1, 1)


def d(i: int) -> date:
    return D0 + timedelta(days=i)


# ---------------------------------------------------------------- label spec
def test_label_spec_parse_and_errors():
    s = LabelSpec.parse("soreness<=2")
    assert (s.column, s.op, s.threshold) == ("soreness", "<=", 2.0)
    assert LabelSpec.parse(" back_pain_0_10 >= 3.5 ").threshold == 3.5
    assert s.describe() == "soreness <= 2"
    with pytest.raises(ValueError, match="expected COLUMN OP NUMBER"):
        LabelSpec.parse("soreness=2")
    with pytest.raises(ValueError, match="operator"):
        LabelSpec("soreness", "==", 2)


def test_event_days_any_source_and_missing_column():
    r = pl.DataFrame(
        {"athlete_id": ["a", "a", "a", "b"], "date": [d(0), d(0), d(1), d(0)], "soreness": [4.0, 2.0, None, 5.0]}
    )
    ev = event_days(r, LabelSpec.parse("soreness<=2"))
    assert ev.rows() == [("a", d(0), True), ("b", d(0), False)]  # null report dropped
    with pytest.raises(ValueError, match="label column 'fatigue' not found"):
        event_days(r, LabelSpec.parse("fatigue<=2"))


# ---------------------------------------------------------------- horizon labels
def test_horizon_labels_window_starts_the_day_after():
    ev = pl.DataFrame({"athlete_id": ["a"] * 3, "date": [d(3), d(5), d(6)], "event": [True, False, False]})
    days = pl.DataFrame({"athlete_id": ["a"] * 8, "date": [d(i) for i in range(8)]})
    lab = horizon_labels(days, ev, horizon_d=3).sort("date")
    # day 0: window 1..3 has the event on 3; day 3: window 4..6 has two non-events (its own day not counted)
    assert lab["label"].to_list() == [True, True, True, False, False, False, None, None]
    assert lab["n_reports"].to_list() == [1, 1, 2, 2, 2, 1, 0, 0]


def test_injury_onsets_after_a_gap_and_onset_labels():
    inj = pl.DataFrame({"athlete_id": ["a"] * 5, "date": [d(10), d(11), d(12), d(25), d(40)]})
    on = injury_onsets(inj, gap_d=7)
    assert on["date"].to_list() == [d(10), d(25), d(40)]  # 12 -> 25 is 13 d, a new episode
    on2 = injury_onsets(inj, gap_d=14)
    assert on2["date"].to_list() == [d(10), d(40)]
    days = pl.DataFrame({"athlete_id": ["a"] * 30, "date": [d(i) for i in range(30)]})
    lab = onset_labels(days, inj, horizon_d=3, gap_d=7).sort("date")
    v = dict(zip(lab["date"].to_list(), lab["label"].to_list(), strict=True))
    assert v[d(6)] is False and v[d(7)] is True and v[d(9)] is True
    assert v[d(10)] is None and v[d(18)] is None  # inside the episode: report on 12 (12+6 = 18)
    assert v[d(19)] is False and v[d(22)] is True and v[d(25)] is None


def test_label_history_reads_up_to_day_d():
    ev = pl.DataFrame({"athlete_id": ["a"] * 3, "date": [d(0), d(2), d(9)], "event": [True, False, True]})
    days = pl.DataFrame({"athlete_id": ["a"] * 10, "date": [d(i) for i in range(10)]})
    h = label_history(days, ev).sort("date")["label_history_7d"].to_list()
    assert h[0] == 1.0 and h[2] == 0.5 and h[6] == 0.5 and h[7] == 0.0 and h[8] == 0.0 and h[9] == 1.0


# ---------------------------------------------------------------- AUC
def test_auc_hand_computed_with_ties():
    # positives 3, 2; negatives 1, 2: pairs (3>1, 3>2, 2>1, 2=2) = 3.5 / 4
    assert auc(np.array([1, 1, 0, 0], bool), np.array([3, 2, 1, 2.0])) == pytest.approx(0.875)
    assert auc(np.array([1, 0], bool), np.array([0.0, 1.0])) == 0.0
    assert auc(np.array([1, 1], bool), np.array([0.0, 1.0])) is None


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 6)), min_size=2, max_size=40))
def test_auc_equals_pair_count(rows):
    y = np.array([r[0] for r in rows], bool)
    x = np.array([r[1] for r in rows], float)
    got = auc(y, x)
    pos, neg = x[y], x[~y]
    if len(pos) == 0 or len(neg) == 0:
        assert got is None
        return
    want = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
    assert got == pytest.approx(want)


def _frame(n_ath: int, n_days: int, signal: float, seed: int = 0) -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(seed)
    rows = []
    for a in range(n_ath):
        offset = rng.normal(0, 20)  # a stable per-athlete trait that has nothing to do with the label
        for i in range(n_days):
            y = bool(rng.random() < 0.3)
            s = float(np.clip(20 + offset + signal * y + rng.normal(0, 10), 0, 100))
            band = "high" if s >= 60 else "moderate" if s >= 30 else "low"
            rows.append(
                {
                    "athlete_id": f"a{a}",
                    "date": d(i),
                    "risk_band": band,
                    "risk_score": s,
                    "label": y,
                    "load_7d_au": float(rng.normal(1000, 100)),
                    "load_yesterday_au": None,
                    "label_history_7d": None,
                }
            )
    f = pl.DataFrame(rows)
    return f, f.select("athlete_id", "date", "risk_score", "risk_band")


def test_evaluate_frame_signal_vs_noise_and_cis():
    f, scores = _frame(12, 120, signal=15.0)
    ev = evaluate_frame(f, scores, label="x", horizon_d=3, n_boot=200)
    rs = ev.predictor("risk_score")
    assert rs.within > 0.75 and rs.within_ci[0] < rs.within < rs.within_ci[1]
    assert rs.pooled < rs.within  # the athlete trait blurs the pooled ranking
    assert ev.predictor("constant").pooled == 0.5 and ev.predictor("constant").within == 0.5
    ld = ev.predictor("7-day load sum to d-1")
    assert 0.4 < ld.within < 0.6 and ld.within_ci[0] < 0.5 < ld.within_ci[1]
    assert ev.predictor("yesterday's load").n_days == 0 and ev.predictor("yesterday's load").pooled is None
    # band table: recall of the three bands adds up to 1, shares add up to 1
    bands = {b["band"]: b for b in ev.bands}
    assert sum(bands[b]["recall"] for b in ("low", "moderate", "high") if bands[b]["recall"]) == pytest.approx(1.0)
    assert bands["moderate or high"]["n_days"] == bands["moderate"]["n_days"] + bands["high"]["n_days"]
    s = ev.band_share
    assert s["low"] + s["moderate"] + s["high"] == pytest.approx(1.0)
    md = ev.to_markdown()
    assert "risk_score" in md and "not a diagnosis" in md and "[" in md
    assert json.loads(json.dumps(ev.to_dict()))["predictors"][0]["predictor"] == "risk_score"
    summary = report_summary(ev)
    assert report_summary(ev.to_dict()) == summary
    assert [r["what"] for r in summary["rows"]] == ["risk score", "7-day load alone", "the outcome's own last 7 days"]
    assert summary["rows"][0]["within"] == f"{rs.within:.2f} ({rs.within_ci[0]:.2f}-{rs.within_ci[1]:.2f})"
    # the whole CI is above 0.5: the verdict says the score ranked the athlete's own days above the others
    assert summary["verdict"].startswith("The score ranked an athlete's own days before the outcome above")
    assert [b["band"] for b in summary["bands"]] == ["low", "moderate", "high"]


def test_band_table_hand_computed():
    f = pl.DataFrame(
        {
            "athlete_id": ["a"] * 8,
            "date": [d(i) for i in range(8)],
            "risk_band": ["low", "low", "low", "low", "moderate", "moderate", "high", "high"],
            "risk_score": [1.0, 2, 3, 4, 40, 41, 70, 71],
            "label": [False, False, False, True, True, False, True, True],
        }
    )
    scores = pl.concat(
        [
            f.select("athlete_id", "date", "risk_score", "risk_band"),
            pl.DataFrame(
                {"athlete_id": ["a"], "date": [d(9)], "risk_score": [None], "risk_band": ["insufficient_data"]},
                schema={"athlete_id": pl.String, "date": pl.Date, "risk_score": pl.Float64, "risk_band": pl.String},
            ),
        ]
    )
    ev = evaluate_frame(f, scores, label="x", horizon_d=3, n_boot=50)
    b = {r["band"]: r for r in ev.bands}
    assert ev.base_rate == 0.5
    assert b["high"]["precision"] == 1.0 and b["high"]["lift"] == 2.0 and b["high"]["recall"] == 0.5
    assert b["low"]["precision"] == 0.25 and b["moderate or high"]["precision"] == 0.75
    assert ev.band_share["n_insufficient"] == 1 and ev.band_share["n_scored"] == 8
    assert ev.band_share["high"] == 0.25 and ev.band_share["moderate_or_high"] == 0.5


# ---------------------------------------------------------------- end to end, no leakage
def _team(n: int = 4, days: int = 150) -> pl.DataFrame:
    frames = []
    for i in range(n):
        a = synth.make_daily(f"ath{i}", days=days, seed=i)
        if i % 2 == 0:
            synth.load_spike(a, 100, 10)
        frames.append(a.frame())
    return pl.concat(frames)


def _reports(daily: pl.DataFrame, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return daily.select("athlete_id", "date").with_columns(
        pl.Series("soreness", rng.integers(1, 6, daily.height).astype(float))
    )


def test_evaluate_scores_end_to_end_on_synthetic_team():
    daily = _team()
    feats = synth.to_features(daily)
    scores = score_features(feats, as_of=feats["date"].max())
    rep = _reports(daily)
    ev = evaluate_scores(scores, feats, reports=rep, spec=LabelSpec.parse("soreness<=2"), horizon_d=3, n_boot=100)
    names = [p.name for p in ev.predictors]
    assert names[0] == "risk_score" and "load_spike" in names and "sleep" in names and names[-1] == "constant"
    assert "label's own last 7 days" in names
    # labels drawn at random: nothing ranks them
    assert abs(ev.predictor("risk_score").pooled - 0.5) < 0.1
    assert ev.n_days > 0 and ev.n_athletes == 4
    with pytest.raises(ValueError, match="not both or neither"):
        evaluate_scores(scores, feats, horizon_d=3)


def test_no_label_leaks_into_a_score():
    """Scores of days <= t are the same whatever is reported after t, and equal those computed
    on data cut at t; the outcome of day t reads reports after t only."""
    daily = _team(3, 140).with_columns(pl.lit(2.0).alias("back_pain_0_10"))
    t = D0 + timedelta(days=100)
    feats = synth.to_features(daily)
    base = score_features(feats, as_of=feats["date"].max())
    # change every label-source value after t (back pain, the score's own input, and soreness)
    changed = daily.with_columns(
        pl.when(pl.col("date") > t).then(pl.lit(9.0)).otherwise(pl.col("back_pain_0_10")).alias("back_pain_0_10")
    )
    after = score_features(synth.to_features(changed), as_of=feats["date"].max())
    cut = score_features(synth.to_features(daily.filter(pl.col("date") <= t)), as_of=t)
    cols = ["athlete_id", "date", "risk_score", "risk_band", "components_json"]

    def upto(s: pl.DataFrame) -> pl.DataFrame:
        return s.filter(pl.col("date") <= t).select(cols).sort("athlete_id", "date")

    assert upto(base).equals(upto(after))
    assert upto(base).equals(upto(cut))
    assert (
        not base.filter(pl.col("date") > t + timedelta(days=4))
        .select(cols)
        .equals(after.filter(pl.col("date") > t + timedelta(days=4)).select(cols))
    )  # the change is visible later
    # labels: changing reports up to t leaves the outcome of day t alone
    rep = _reports(daily)
    spec = LabelSpec.parse("soreness<=2")
    days = base.select("athlete_id", "date")
    lab1 = horizon_labels(days, event_days(rep, spec), horizon_d=3)
    rep2 = rep.with_columns(
        pl.when(pl.col("date") <= t).then(6.0 - pl.col("soreness")).otherwise(pl.col("soreness")).alias("soreness")
    )
    lab2 = horizon_labels(days, event_days(rep2, spec), horizon_d=3)

    def on_t(lab: pl.DataFrame) -> pl.DataFrame:
        return lab.filter(pl.col("date") >= t).sort("athlete_id", "date")

    assert on_t(lab1).equals(on_t(lab2))


def test_assemble_uses_load_of_the_day_before():
    feats = pl.DataFrame(
        {
            "athlete_id": ["a"] * 3,
            "date": [d(0), d(1), d(2)],
            "load_au": [100.0, 200.0, 300.0],
            "acute_7d_au": [100.0, 300.0, 600.0],
        }
    )
    scores = pl.DataFrame(
        {
            "athlete_id": ["a"] * 3,
            "date": [d(0), d(1), d(2)],
            "risk_score": [10.0, 20.0, 30.0],
            "risk_band": ["low"] * 3,
        }
    )
    labels = pl.DataFrame({"athlete_id": ["a"] * 3, "date": [d(0), d(1), d(2)], "label": [True, False, None]})
    f = assemble(scores, feats, labels)
    assert f["date"].to_list() == [d(0), d(1)]
    assert f["load_yesterday_au"].to_list() == [None, 100.0] and f["load_7d_au"].to_list() == [None, 100.0]


def test_learned_evaluation_uses_the_same_naive_baselines():
    """models.learned's naive rankings are strainwatch evaluate's (one implementation), hand-computed."""
    from models.learned import LabelParams, _naive_baselines

    d0 = date(2024, 1, 1)
    days = [d0 + timedelta(days=i) for i in range(9)]
    sore = [1.0, None, 4.0, 2.0, None, 5.0, 5.0, 1.0, 3.0]  # event: soreness <= 2
    features = pl.DataFrame(
        {
            "athlete_id": ["a"] * 9,
            "date": days,
            "acute_7d_au": [float(100 * i) for i in range(9)],
            "load_au": [float(10 * i) for i in range(9)],
            "soreness_1_5": sore,
        }
    )
    ds = pl.DataFrame({"athlete_id": ["a", "a", "a"], "date": [days[8], days[0], days[4]]})
    lp = LabelParams(label_column="soreness_1_5", label_op="<=", pain_threshold=2.0)
    got = _naive_baselines(ds, features, lp)
    np.testing.assert_array_equal(got["load_7d"], [700.0, np.nan, 300.0])
    np.testing.assert_array_equal(got["load_yesterday"], [70.0, np.nan, 30.0])
    # d8: reports of d2..d8 = 4, 2, 5, 5, 1, 3 -> events 0, 1, 0, 0, 1, 0 = 2/6; d0: 1/1; d4: d0..d4 = 1, 4, 2 -> 2/3
    np.testing.assert_allclose(got["label_history_7d"], [2 / 6, 1.0, 2 / 3], rtol=0, atol=1e-15)
