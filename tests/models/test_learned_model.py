"""Learned model: labels, causal features, leakage guards, validation, bundle, scoring."""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from features.schemas import FEATURES, SCORES, conform, require
from models import learned
from models.learned import FEATURE_COLUMNS, LabelParams, ModelError
from tests.models import synth

D0 = date(2024, 1, 1)
AS_OF = date(2030, 1, 1)


def pain_frame(pain: list[float | None], athlete: str = "a") -> pl.DataFrame:
    n = len(pain)
    return conform(
        pl.DataFrame(
            {"athlete_id": [athlete] * n, "date": [D0 + timedelta(days=i) for i in range(n)], "back_pain_0_10": pain},
            schema_overrides={"back_pain_0_10": pl.Float64},
        ),
        FEATURES,
    )


# ------------------------------------------------------------------ labels
def test_labels_onset_gap_rule_episode_and_return_window():
    pain = [0.0] * 60
    for i in (10, 11, 12, 16):  # one episode: day 16 is within 7 days of day 12
        pain[i] = 4.0
    pain[30] = 5.0  # 30 - 16 = 14 > 7: a new onset
    lab = learned.make_labels(pain_frame(pain), as_of=D0 + timedelta(days=59))
    by = {(r["date"] - D0).days: r for r in lab.iter_rows(named=True)}
    assert [i for i, r in by.items() if r["onset"]] == [10, 30]
    # onset 10 lies in d+1..d+7 for d = 3..9
    assert [i for i in range(10) if by[i]["label"] == 1] == list(range(3, 10))
    assert by[2]["label"] == 0
    # 10..16 in the episode (13-15 too: between symptomatic days), then the 14-day return window
    # 17..30; day 30 itself is the next episode. Days 23..29 precede the onset at 30 but are
    # dropped (return window), not positive.
    assert all(by[i]["drop_reason"] == "in_episode" for i in range(10, 17))
    assert all(by[i]["drop_reason"] == "return_window" for i in range(17, 30))
    assert by[30]["drop_reason"] == "in_episode"
    assert by[31]["drop_reason"] == "return_window"  # after the one-day episode at 30
    assert all(by[i]["drop_reason"] == "return_window" for i in range(31, 45))  # 31..44
    assert all(by[i]["label"] == 0 for i in range(45, 53))
    # the last 7 days have windows past the last day: censored, not negative
    assert all(by[i]["drop_reason"] == "censored" and by[i]["label"] is None for i in range(53, 60))


def test_labels_without_reports_are_unknown_not_negative():
    pain = [0.0] * 10 + [None] * 12 + [0.0] * 10
    lab = learned.make_labels(pain_frame(pain), as_of=D0 + timedelta(days=31))
    by = {(r["date"] - D0).days: r for r in lab.iter_rows(named=True)}
    # day 10: window 11..17 has no report at all
    assert by[10]["label"] is None and by[10]["drop_reason"] == "no_reports"
    assert by[2]["label"] == 0


def test_labels_ignore_reports_after_as_of():
    pain = [0.0] * 30
    pain[20] = 6.0
    lab = learned.make_labels(pain_frame(pain), as_of=D0 + timedelta(days=18))
    assert lab["date"].max() == D0 + timedelta(days=18)
    assert lab["onset"].sum() == 0
    # days 12..18 have windows past as_of: censored, never labelled 0 with unseen days
    assert lab.filter(pl.col("date") >= D0 + timedelta(days=12))["label"].null_count() == 7


def test_label_params_validated():
    with pytest.raises(ValueError, match=r"horizon_d: expected an integer in \[1, 60\], got 0"):
        LabelParams(horizon_d=0)
    with pytest.raises(ValueError, match=r"pain_threshold: expected a number in \(0, 10\]"):
        LabelParams(pain_threshold=11)


# ------------------------------------------------------------------ team fixture
@pytest.fixture(scope="module")
def team() -> pl.DataFrame:
    return synth.to_features(synth.labelled_team(n_athletes=14, days=300, seed=7, signal=True))


@pytest.fixture(scope="module")
def null_team() -> pl.DataFrame:
    return synth.to_features(synth.labelled_team(n_athletes=14, days=300, seed=8, signal=False))


@pytest.fixture(scope="module")
def bundle(team) -> learned.ModelBundle:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return learned.train_model(team, as_of=AS_OF, kind="logistic")


# ------------------------------------------------------------------ leakage guards
def test_model_features_are_causal(team):
    """Features of day d computed from data up to t equal those computed from all data."""
    t = D0 + timedelta(days=150)
    full = learned.model_features(team, as_of=AS_OF).filter(pl.col("date") <= t)
    cut = learned.model_features(team.filter(pl.col("date") <= t), as_of=t)
    assert full.equals(cut)
    # and the as_of argument alone hides later rows
    assert learned.model_features(team, as_of=t).equals(cut)


def test_labels_before_the_horizon_do_not_change_with_more_future(team):
    t = D0 + timedelta(days=150)
    H = LabelParams().horizon_d
    early = learned.make_labels(team, as_of=t).filter(pl.col("date") <= t - timedelta(days=H))
    full = learned.make_labels(team, as_of=AS_OF).filter(pl.col("date") <= t - timedelta(days=H))
    assert early.equals(full)


def test_training_on_as_of_sees_no_later_rows(team):
    t = D0 + timedelta(days=200)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = learned.train_model(team, as_of=t)
        # scramble everything after t: the model must not change
        later = team.filter(pl.col("date") > t).with_columns(
            pl.lit(9.0).alias("back_pain_0_10"), pl.lit(3.0).alias("acwr_ewma")
        )
        b = learned.train_model(pl.concat([team.filter(pl.col("date") <= t), later]), as_of=t)
    assert a.training_hash == b.training_hash
    X = learned.model_features(team, as_of=t).select(FEATURE_COLUMNS).to_numpy()
    np.testing.assert_allclose(a.predict_proba(X), b.predict_proba(X))


def test_forward_splits_keep_a_gap_of_the_horizon():
    rng = np.random.default_rng(0)
    dates = np.array([D0 + timedelta(days=int(x)) for x in rng.integers(0, 200, 3000)], dtype="datetime64[D]")
    splits = learned.forward_splits(dates, n_splits=4, gap_d=7)
    assert len(splits) == 4
    for tr, te in splits:
        # every training row's label window d+1..d+7 ends before the first test day
        assert (dates[tr].max() + np.timedelta64(7, "D")) < dates[te].min()
        assert set(tr).isdisjoint(te)


def test_group_splits_never_share_an_athlete():
    y = np.array([0, 1] * 50)
    groups = np.repeat([f"a{i}" for i in range(10)], 10)
    for tr, te in learned.group_splits(y, groups, n_splits=5):
        assert set(groups[tr]).isdisjoint(groups[te])


def test_evaluate_folds_respect_gap_and_signal_beats_baselines(team):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rep = learned.evaluate(team, as_of=AS_OF, kinds=("logistic",), n_splits=4)
    H = rep.horizon_d
    for f in rep.folds:
        assert date.fromisoformat(f["train_last"]) + timedelta(days=H) < date.fromisoformat(f["test_first"])
    models = {(r["scheme"], r["model"]) for r in rep.metrics}
    assert models == {
        (s, m)
        for s in ("by_athlete", "forward")
        for m in ("logistic", "rules", "load_7d", "load_yesterday", "label_history_7d", "intercept")
    }
    prev = rep.n_positive_days / rep.n_rows
    for scheme in ("by_athlete", "forward"):
        assert rep.metric(scheme, "logistic", "roc_auc") > 0.6
        assert rep.metric(scheme, "logistic", "pr_auc") > prev * 1.5
        assert rep.metric(scheme, "logistic", "brier") <= rep.metric(scheme, "intercept", "brier") + 1e-3
        assert abs(rep.metric(scheme, "intercept", "roc_auc") - 0.5) < 0.1 or np.isnan(
            rep.metric(scheme, "intercept", "roc_auc")
        )
    text = rep.to_text()
    assert "PR-AUC" in text and "intercept" in text and "calibration by_athlete/logistic" in text
    json.dumps(rep.to_dict())  # serialisable


def test_no_signal_gives_no_skill(null_team):
    """Onsets unrelated to the features: out-of-fold skill stays near chance (nothing leaks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        rep = learned.evaluate(null_team, as_of=AS_OF, kinds=("logistic",), n_splits=4)
    assert rep.metric("by_athlete", "logistic", "roc_auc") < 0.62
    assert rep.metric("forward", "logistic", "roc_auc") < 0.62


# ------------------------------------------------------------------ honesty
def test_few_events_warn_about_epv():
    small = synth.to_features(synth.labelled_team(n_athletes=4, days=200, seed=3), reference=True)
    with pytest.warns(UserWarning, match=r"events \(episode onsets\) for 13 features \(EPV .* < 10\)"):
        b = learned.train_model(small, as_of=AS_OF)
    assert b.warnings and b.epv < 10


def test_too_few_onsets_is_a_clear_error():
    pain = [0.0] * 120
    pain[100] = 5.0
    f = pain_frame(pain)
    with pytest.raises(ModelError, match=r"only 1 back-pain episode onset in \d+ labelled days of 1 athletes: too few"):
        learned.train_model(f, as_of=AS_OF)
    # one athlete (no by-athlete folds), the only onset after every forward training fold
    with pytest.warns(UserWarning, match="EPV"):
        rep = learned.evaluate(f, as_of=AS_OF, kinds=("logistic",), n_splits=3)
    assert rep.metrics == [] and "no validation fold could be evaluated" in rep.warnings[-1]
    assert any("by-athlete validation skipped" in w for w in rep.warnings)


def test_no_labels_is_a_clear_error():
    f = synth.to_features(synth.make_daily("x", days=60).frame(), reference=True)
    with pytest.raises(ModelError, match="no labelled days"):
        learned.train_model(f, as_of=AS_OF)


# ------------------------------------------------------------------ bundle
def test_bundle_metadata_and_round_trip(bundle, team, tmp_path):
    assert bundle.feature_names == FEATURE_COLUMNS
    assert len(bundle.training_hash) == 64 and bundle.model_id.startswith("logistic-")
    assert set(bundle.version) >= {"strainwatch", "scikit-learn", "format"}
    assert 0 < bundle.thresholds["moderate"] < bundle.thresholds["high"] < 1
    path = learned.save_model(bundle, tmp_path / "m" / "model.json")
    data = json.loads(path.read_text(encoding="utf-8"))  # plain JSON data
    assert data["format"] == "strainwatch-model" and data["format_version"] == 2
    back = learned.load_model(path)
    X = learned.model_features(team, as_of=AS_OF).select(FEATURE_COLUMNS).to_numpy()
    # bit-identical probabilities and contributions after a save and load
    assert np.array_equal(back.predict_proba(X), bundle.predict_proba(X))
    assert np.array_equal(back.contributions(X[:50]), bundle.contributions(X[:50]), equal_nan=True)
    assert back.training_hash == bundle.training_hash and back.thresholds == bundle.thresholds
    assert back.label_params == bundle.label_params and back.trained_as_of == bundle.trained_as_of
    assert (back.n_rows, back.n_events, back.n_athletes) == (bundle.n_rows, bundle.n_events, bundle.n_athletes)
    # and the scores written with it are the same
    a = learned.score_features_learned(team, as_of=AS_OF, bundle=bundle)
    b = learned.score_features_learned(team, as_of=AS_OF, bundle=back)
    assert a.equals(b)


def test_load_model_errors(tmp_path):
    with pytest.raises(ModelError, match="model file not found"):
        learned.load_model(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"not json")
    with pytest.raises(ModelError, match=r"bad.json: line 1 column 1: not a readable JSON model"):
        learned.load_model(bad)
    (tmp_path / "other.json").write_text(json.dumps({"something": 1}))
    with pytest.raises(ModelError, match="not a strainwatch model bundle"):
        learned.load_model(tmp_path / "other.json")
    (tmp_path / "v1.json").write_text(json.dumps({"format": "strainwatch-model", "format_version": 1}))
    with pytest.raises(ModelError, match="bundle format version 1, expected 2"):
        learned.load_model(tmp_path / "v1.json")


def test_logistic_contributions_are_coef_times_standardized_value(bundle, team):
    X = learned.model_features(team, as_of=AS_OF).select(FEATURE_COLUMNS).to_numpy()[100:105]
    c = bundle.contributions(X)
    members = bundle.model.members
    # by hand: a missing input takes the training median, then (x - mean) / scale times the coefficient
    manual = np.mean([(np.where(np.isnan(X), m.impute, X) - m.mean) / m.scale * m.coef for m in members], axis=0)
    np.testing.assert_allclose(c, manual, rtol=1e-12)
    # (that contributions plus intercept give scikit-learn's own decision function is checked against
    # the fitted estimator in tests/models/test_model_safety.py)


def test_hgb_trains_and_explains(team):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = learned.train_model(team, as_of=AS_OF, kind="hgb")
    X = learned.model_features(team, as_of=AS_OF).select(FEATURE_COLUMNS).to_numpy()[:50]
    assert np.isnan(X).any()  # NaN-native: missing inputs are fine
    p = b.predict_proba(X)
    assert ((p >= 0) & (p <= 1)).all()
    assert b.contributions(X).shape == X.shape


# ------------------------------------------------------------------ scoring with the model
def test_score_with_model_keeps_contract_and_explains(bundle, team):
    t = D0 + timedelta(days=250)
    f = team.with_columns(pl.when(pl.col("date") == t).then(True).otherwise(pl.col("red_flag")).alias("red_flag"))
    s = learned.score_features_learned(f, as_of=AS_OF, bundle=bundle)
    require(s, SCORES)
    assert s.height == f.height
    assert set(s["model"].unique()) == {bundle.model_id}
    flagged = s.filter(pl.col("date") == t)
    assert (flagged["risk_band"] == "high").all() and (flagged["adjustments"] == "see_clinician").all()
    assert all(r.startswith("red_flag") for r in flagged["reasons"])
    ok = s.filter(pl.col("risk_band").is_in(["low", "moderate", "high"]) & (pl.col("date") != t))
    assert set(ok["risk_band"].unique()) <= {"low", "moderate", "high"}
    for r in ok.head(50).iter_rows(named=True):
        comps = json.loads(r["components_json"])
        assert comps[0]["component"] == "probability"
        p = comps[0]["value"]
        band = "high" if p >= bundle.thresholds["high"] else "moderate" if p >= bundle.thresholds["moderate"] else "low"
        assert band == r["risk_band"]
        assert [c["component"] for c in comps[1:]] != []
        pts = [c["points"] for c in comps[1:]]
        assert pts == sorted(pts, reverse=True)  # ordered by contribution
    # the piecewise map keeps band edges at 30 and 60
    for r in ok.iter_rows(named=True):
        lo, hi = {"low": (0, 30), "moderate": (30, 60), "high": (60, 100.01)}[r["risk_band"]]
        assert lo <= r["risk_score"] < hi or (r["risk_band"] == "high" and r["risk_score"] == 100.0)
    ins = s.filter(pl.col("risk_band") == "insufficient_data")
    assert ins["risk_score"].null_count() == ins.height


def test_bundle_round_trip_keeps_a_self_report_label(bundle, tmp_path):
    """A model trained on another label (``soreness_1_5 <= 2``) reads back with that label, not back pain."""
    from dataclasses import replace

    lp = LabelParams(pain_threshold=2.0, label_column="soreness_1_5", label_op="<=")
    b = replace(bundle, label_params=lp)
    back = learned.load_model(learned.save_model(b, tmp_path / "sore.json"))
    assert back.label_params == lp
