"""The learned model on real-looking data: empty and constant columns dropped with a note, each model
kind on its own, compared with the rule score and naive baselines; a self-report label."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from models import learned
from models.learned import LabelParams, evaluate, make_labels, usable_columns
from tests.models import synth


@pytest.fixture(scope="module")
def team() -> pl.DataFrame:
    f = synth.to_features(synth.labelled_team(10, 220, seed=5), reference=True)
    # no HRV in this export (PMData, SoccerMon) and a device that always reports the same efficiency
    return f.with_columns(pl.lit(None, dtype=pl.Float64).alias("hrv_z"), pl.lit(90.0).alias("sleep_eff_7d_pct"))


def test_usable_columns_notes():
    X = np.array([[np.nan, 1.0, 2.0], [np.nan, 1.0, np.nan], [np.nan, np.nan, 3.0]])
    keep, notes = usable_columns(X, ["a", "b", "c"])
    assert keep == [2]
    assert notes == [
        "dropped a: empty everywhere (no such data)",
        "dropped b: the same value (1) on every day with data",
    ]


@pytest.mark.slow
def test_evaluate_survives_an_empty_column_and_a_failing_kind(team, monkeypatch):
    real = learned._fit_calibrated

    def flaky(kind, *a, **k):
        if kind == "hgb":
            raise RuntimeError("estimator exploded")
        return real(kind, *a, **k)

    monkeypatch.setattr(learned, "_fit_calibrated", flaky)
    rep = evaluate(team, as_of=team["date"].max(), n_splits=3)
    assert "dropped hrv_z: empty everywhere (no such data)" in rep.warnings
    assert any(w.startswith("dropped sleep_eff_7d_pct: the same value (90)") for w in rep.warnings)
    assert rep.n_features == len(learned.FEATURE_COLUMNS) - 2
    assert any("model hgb failed and is left out (RuntimeError: estimator exploded)" in w for w in rep.warnings)
    models = {(r["scheme"], r["model"]) for r in rep.metrics}
    assert ("by_athlete", "logistic") in models and ("by_athlete", "hgb") not in models
    for m in ("rules", "load_7d", "load_yesterday", "label_history_7d", "intercept"):
        assert ("by_athlete", m) in models
    # the planted signal (pain after load spikes) is found by the model and the rule score, not by chance
    assert rep.metric("by_athlete", "logistic", "roc_auc") > 0.6
    assert rep.metric("by_athlete", "rules", "roc_auc") > 0.6
    assert "load_yesterday" in rep.to_text()


def test_self_report_label_lower_is_worse():
    d = [synth.START + __import__("datetime").timedelta(days=i) for i in range(30)]
    sore = [4.0] * 10 + [2.0, 1.0] + [4.0] * 18  # soreness 1-5, 1 = very sore: an episode on days 10-11
    f = synth.to_features(
        pl.DataFrame(
            {
                "athlete_id": ["a"] * 30,
                "date": d,
                "load_au": [300.0] * 30,
                "rhr_bpm": [None] * 30,
                "hrv_ln_rmssd": [None] * 30,
                "sleep_h": [None] * 30,
                "in_bed_h": [None] * 30,
                "back_pain_0_10": [None] * 30,
                "red_flag": [False] * 30,
            },
            schema_overrides={
                "rhr_bpm": pl.Float64,
                "hrv_ln_rmssd": pl.Float64,
                "sleep_h": pl.Float64,
                "in_bed_h": pl.Float64,
                "back_pain_0_10": pl.Float64,
            },
        ),
        reference=True,
    ).with_columns(pl.Series("soreness_1_5", sore))
    lp = LabelParams(horizon_d=3, pain_threshold=2, label_column="soreness_1_5", label_op="<=")
    lab = make_labels(f, as_of=d[-1], params=lp)
    on = lab.filter(pl.col("onset"))["date"].to_list()
    assert on == [d[10]]
    pos = lab.filter(pl.col("label") == 1)["date"].to_list()
    assert pos == [d[7], d[8], d[9]]
    with pytest.raises(ValueError, match="label_op"):
        LabelParams(label_column="soreness_1_5", label_op="<")


@pytest.mark.slow
def test_train_with_an_empty_column_keeps_the_feature_list(team):
    from models.learned import FEATURE_COLUMNS, score_features_learned, train_model

    b = train_model(team, as_of=team["date"].max(), kind="hgb")
    assert tuple(b.feature_names) == FEATURE_COLUMNS
    assert any(w.startswith("hrv_z is empty everywhere") for w in b.warnings)
    s = score_features_learned(team, as_of=team["date"].max(), bundle=b)
    assert s["risk_score"].drop_nulls().len() > 0
