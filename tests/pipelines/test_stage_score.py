"""Score stage and CLI: features in the store -> scores -> export; model train/evaluate/score."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta

import polars as pl
import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.stage_score import run_scores
from pipelines.store import Store
from tests.models import synth

runner = CliRunner()


@pytest.fixture(scope="module")
def team_features() -> pl.DataFrame:
    athletes = [synth.make_daily(f"ath{i}", days=120, seed=i, phys_ar=0.3) for i in range(3)]
    synth.load_spike(athletes[0], 90, days=10, factor=2.5)
    return synth.to_features(pl.concat([a.frame() for a in athletes]), reference=True)


@pytest.fixture()
def store(tmp_path, team_features, monkeypatch) -> Store:
    monkeypatch.chdir(tmp_path)  # no ./strainwatch.toml from elsewhere
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STRAINWATCH_STORE", raising=False)
    st = Store(tmp_path / "data")
    st.replace_athletes("features", team_features)
    return st


def test_run_scores_writes_every_feature_day(store, team_features):
    last = team_features["date"].max()
    r = run_scores(store, as_of=last)
    assert r.days_scored == team_features.height == 360 and r.model == "rules"
    assert sorted(r.athletes) == ["ath0", "ath1", "ath2"]
    s = store.read_table("scores")
    assert s.height == 360
    assert set(s["risk_band"].unique()) <= {"low", "moderate", "high", "insufficient_data"}
    spike = s.filter((pl.col("athlete_id") == "ath0") & (pl.col("date") > synth.START + timedelta(days=90)))
    assert (spike["risk_band"] == "high").any()
    assert r.bands["high"] >= 1 and sum(r.bands.values()) == 360


def test_as_of_limits_scored_days(store):
    r = run_scores(store, as_of=synth.START + timedelta(days=59))
    assert r.days_scored == 180
    assert store.read_table("scores")["date"].max() == synth.START + timedelta(days=59)


def test_since_keeps_earlier_scores(store, team_features):
    last = team_features["date"].max()
    run_scores(store, as_of=last)
    before = store.read_table("scores")
    cut = synth.START + timedelta(days=100)
    # change the stored features from `cut` on: only those days may change
    changed = team_features.with_columns(
        pl.when(pl.col("date") >= cut).then(pl.lit(-3.0)).otherwise(pl.col("hrv_z")).alias("hrv_z")
    )
    store.replace_athletes("features", changed)
    r = run_scores(store, as_of=last, since=cut)
    assert r.days_scored == 3 * 20
    after = store.read_table("scores")
    assert after.height == before.height
    assert after.filter(pl.col("date") < cut).equals(before.filter(pl.col("date") < cut))
    assert (after.filter(pl.col("date") >= cut)["reasons"].str.contains("hrv_suppressed")).all()


def test_params_dict_is_validated(store):
    with pytest.raises(ValueError, match="unknown scorer parameter 'acwr_high'"):
        run_scores(store, as_of=date(2024, 3, 1), params={"acwr_high": 1.6})
    r = run_scores(store, as_of=date(2024, 4, 29), params={"band_high": 90})
    assert "high" not in r.bands or r.bands["high"] < 5


def test_cli_score_then_export_has_the_contract_columns(store, tmp_path):
    res = runner.invoke(app, ["score", "--store", str(store.root)])
    assert res.exit_code == 0, res.output
    assert "scored 360 athlete-days for 3 athletes with rules" in res.output
    out = tmp_path / "scores.csv"
    res = runner.invoke(app, ["export", "scores", "--store", str(store.root), "--out", str(out)])
    assert res.exit_code == 0, res.output
    with out.open() as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["athlete_id", "date", "risk_score", "risk_band", "reasons", "adjustments"]
    assert len(rows) == 361
    explained = [r for r in rows[1:] if r[3] in ("moderate", "high")]
    assert explained and all(r[4] for r in explained)  # every moderate/high day says why


def test_cli_bad_config_param_names_the_key(store, tmp_path):
    cfg = tmp_path / "sw.toml"
    cfg.write_text("[scorer.params]\nacwr_danger = 9.0\n")
    res = runner.invoke(app, ["score", "--store", str(store.root), "--config", str(cfg)])
    assert res.exit_code == 2
    assert "acwr_danger: expected a value in [0.5, 3.0], got 9.0" in res.output


def test_cli_score_without_features(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(app, ["score", "--store", str(tmp_path / "empty")])
    assert res.exit_code == 2 and "no features" in res.output


@pytest.fixture(scope="module")
def labelled_store(tmp_path_factory) -> Store:
    st = Store(tmp_path_factory.mktemp("lab") / "data")
    feats = synth.to_features(synth.labelled_team(n_athletes=10, days=280, seed=11), reference=True)
    st.replace_athletes("features", feats)
    return st


def test_cli_model_train_evaluate_and_score(labelled_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    model = tmp_path / "m.json"
    res = runner.invoke(app, ["model", "train", "--store", str(labelled_store.root), "--out", str(model)])
    assert res.exit_code == 0, res.output
    assert model.is_file()
    assert "training data sha256" in res.output and "EPV" in res.output
    assert "WARNING: only" in res.output  # this small team has fewer than 10 events per feature

    rep = tmp_path / "eval.json"
    res = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--store",
            str(labelled_store.root),
            "--kind",
            "logistic",
            "--splits",
            "3",
            "--json",
            str(rep),
        ],
    )
    assert res.exit_code == 0, res.output
    for word in ("PR-AUC", "ROC-AUC", "Brier", "intercept", "rules", "by_athlete", "forward", "calibration"):
        assert word in res.output
    data = json.loads(rep.read_text())
    assert data["n_events"] > 0 and data["epv"] < 10 and data["warnings"]

    res = runner.invoke(app, ["score", "--store", str(labelled_store.root), "--model", str(model)])
    assert res.exit_code == 0, res.output
    s = labelled_store.read_table("scores")
    assert s["model"].str.starts_with("logistic-").all()
    comps = json.loads(s.filter(pl.col("risk_band") != "insufficient_data")["components_json"][0])
    assert comps[0]["component"] == "probability"


def test_cli_score_with_a_missing_model(store, tmp_path):
    res = runner.invoke(app, ["score", "--store", str(store.root), "--model", str(tmp_path / "nope.json")])
    assert res.exit_code == 2 and "model file not found" in res.output


def test_cli_sleep_need_follows_the_feature_config(store, tmp_path):
    from pipelines.cli_score import _params
    from pipelines.config import load_config

    cfg = tmp_path / "sw.toml"
    cfg.write_text("[features.params]\nsleep_need_h = 7.0\n")
    assert _params(load_config(cfg)).sleep_need_h == 7.0
    cfg.write_text("[features.params]\nsleep_need_h = 7.0\n[scorer.params]\nsleep_need_h = 7.5\n")
    assert _params(load_config(cfg)).sleep_need_h == 7.5
