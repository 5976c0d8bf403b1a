"""``strainwatch evaluate``: store labels or a labels CSV, Markdown and JSON, clear errors."""

from __future__ import annotations

import json
from datetime import timedelta

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from features.schemas import WELLNESS, conform
from pipelines.cli import app
from pipelines.stage_evaluate import read_labels_csv
from pipelines.stage_score import run_scores
from pipelines.store import Store
from tests.models import synth

runner = CliRunner()


@pytest.fixture(scope="module")
def team_features() -> pl.DataFrame:
    athletes = [synth.make_daily(f"ath{i}", days=120, seed=i) for i in range(4)]
    synth.load_spike(athletes[0], 90, days=10, factor=2.5)
    return synth.to_features(pl.concat([a.frame() for a in athletes]), reference=True)


@pytest.fixture()
def store(tmp_path, team_features, monkeypatch) -> Store:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.delenv("STRAINWATCH_STORE", raising=False)
    st = Store(tmp_path / "data")
    st.replace_athletes("features", team_features)
    run_scores(st, as_of=team_features["date"].max())
    rng = np.random.default_rng(0)
    # soreness 0-10 (wellness schema), high = sore, after the load spike of ath0 more often
    w = team_features.select("athlete_id", "date").with_columns(
        pl.lit("test").alias("source"),
        pl.Series("soreness", rng.integers(0, 6, team_features.height).astype(float)),
        pl.lit("x.csv").alias("source_file"),
    )
    spike = (
        (pl.col("athlete_id") == "ath0")
        & (pl.col("date") >= synth.START + timedelta(days=92))
        & (pl.col("date") <= synth.START + timedelta(days=104))
    )
    w = w.with_columns(pl.when(spike).then(8.0).otherwise(pl.col("soreness")).alias("soreness"))
    st.replace_athletes("wellness", conform(w, WELLNESS))
    return st


def test_evaluate_markdown_and_json(store, tmp_path):
    r = runner.invoke(
        app, ["evaluate", "--store", str(store.root), "--label", "soreness>=5", "--horizon", "3", "--bootstrap", "100"]
    )
    assert r.exit_code == 0, r.output
    assert "| risk_score | score |" in r.output and "7-day load sum to d-1" in r.output
    assert "constant" in r.output and "moderate or high" in r.output and "not a diagnosis" in r.output
    r = runner.invoke(
        app, ["evaluate", "--store", str(store.root), "--label", "soreness>=5", "--bootstrap", "50", "--json", "-"]
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["horizon_d"] == 3 and d["predictors"][0]["predictor"] == "risk_score"
    assert d["band_share"]["n_all"] == 480
    # the in-memory rule score of the same features gives the same figures
    r2 = runner.invoke(
        app,
        [
            "evaluate",
            "--store",
            str(store.root),
            "--label",
            "soreness>=5",
            "--bootstrap",
            "50",
            "--json",
            "-",
            "--rules",
        ],
    )
    assert json.loads(r2.output)["predictors"] == d["predictors"]


def test_evaluate_labels_csv_and_errors(store, tmp_path):
    csv = tmp_path / "labels.csv"
    rows = ["athlete_id,date,sore"] + [
        f"ath{i},{(synth.START + timedelta(days=k)).isoformat()},{(k * 7 + i) % 5}"
        for i in range(4)
        for k in range(120)
    ]
    csv.write_text("\n".join(rows) + "\n")
    r = runner.invoke(
        app,
        ["evaluate", "--store", str(store.root), "--label", "sore>=4", "--labels-csv", str(csv), "--bootstrap", "20"],
    )
    assert r.exit_code == 0, r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("athlete_id,date,sore\nath0,2024-01-01,3\nath0,01.02.2024,3\n")
    with pytest.raises(ValueError, match=r"bad.csv: line 3: expected a date YYYY-MM-DD, got '01.02.2024'"):
        read_labels_csv(bad, "sore")
    r = runner.invoke(app, ["evaluate", "--store", str(store.root), "--label", "sore>=4", "--labels-csv", str(bad)])
    assert r.exit_code == 2 and "line 3" in r.output
    r = runner.invoke(app, ["evaluate", "--store", str(store.root), "--label", "fatigue<=2"])
    assert r.exit_code == 2 and "'fatigue' is not in the wellness table" in r.output
    r = runner.invoke(app, ["evaluate", "--store", str(store.root)])
    assert r.exit_code == 2 and "--label" in r.output
    r = runner.invoke(app, ["evaluate", "--store", str(store.root), "--label", "soreness=2"])
    assert r.exit_code == 2 and "COLUMN OP NUMBER" in r.output


# ---------------------------------------------------------------- the weekly report's section


def test_report_evaluation_reads_nothing_after_the_report_day(store):
    """Scores up to as_of - horizon against reports up to as_of: removing every later report
    (what a report written on as_of would have seen) changes nothing."""
    from models.evaluate import LabelSpec, report_summary
    from pipelines.stage_evaluate import evaluate_store, report_evaluation

    cut = synth.START + timedelta(days=100)
    got = report_evaluation(store, as_of=cut, label="soreness>=5", n_boot=50)
    assert got["status"] == "ok" and got["command"] == 'strainwatch evaluate --label "soreness>=5" --horizon 3'
    # the same figures from a store that never had the later reports
    w = store.read_table("wellness")
    store.replace_athletes("wellness", w.filter(pl.col("date") <= cut))
    again = report_evaluation(store, as_of=cut, label="soreness>=5", n_boot=50)
    assert again == got
    # and they are evaluate_store's: scores to cut - 3 d, the short predictor list
    ev = evaluate_store(
        store,
        spec=LabelSpec.parse("soreness>=5"),
        n_boot=50,
        until=cut - timedelta(days=3),
        components=False,
    )
    assert {k: v for k, v in got.items() if k not in ("status", "command")} == report_summary(ev)
    assert [p.name for p in ev.predictors] == [
        "risk_score",
        "7-day load sum to d-1",
        "yesterday's load",
        "label's own last 7 days",
    ]
    assert got["n_days"] == ev.n_days and ev.n_days < 4 * 98  # 4 athletes, days 1..97 at most


def test_report_evaluation_auto_label_and_too_few(store):
    from pipelines.stage_evaluate import AUTO_LABELS, report_evaluation

    last = store.read_table("scores")["date"].max()
    # the store's soreness column is a 0-10 item, not one of the automatic outcomes: no section
    assert report_evaluation(store, as_of=last) is None
    # back pain reports appear: the first automatic outcome is checked
    w = store.read_table("wellness").with_columns(
        pl.when(pl.col("soreness") >= 5).then(pl.col("soreness")).otherwise(0.0).alias("back_pain_0_10")
    )
    store.replace_athletes("wellness", conform(w, WELLNESS))
    got = report_evaluation(store, as_of=last, n_boot=20)
    assert AUTO_LABELS[0] == "back_pain_0_10>=3"
    assert got["status"] == "ok" and got["label"] == "back_pain_0_10 >= 3"
    # a report early in the history: too few labelled days yet, said so with the counts
    early = report_evaluation(store, as_of=synth.START + timedelta(days=10), n_boot=20)
    assert early["status"] == "too_few" and early["min_days"] == 60
    assert early["n_days"] < 60 or early["n_events"] < 10


def test_weekly_report_has_the_section(store, tmp_path):
    from pipelines.stage_report import run_report

    last = store.read_table("scores")["date"].max()
    out = run_report(store, as_of=last, out_path=tmp_path / "r.html", evaluation_label="soreness>=5")
    html = out.path.read_text()
    assert (
        "How the indicator tracked this team&#39;s reports" in html or "How the indicator tracked this team's" in html
    )
    assert "strainwatch evaluate --label" in html and "not a diagnosis" in html
    off = run_report(store, as_of=last, out_path=tmp_path / "r2.html", evaluation=False)
    assert "tracked-sec" not in off.path.read_text() and "tracked-sec" in html


def test_config_evaluation_label_is_checked(tmp_path):
    from pipelines.config import ConfigError, load_config

    cfg = tmp_path / "strainwatch.toml"
    cfg.write_text('[report]\nevaluation_label = "soreness=>2"\n')
    with pytest.raises(ConfigError, match="evaluation_label"):
        load_config(cfg)
    cfg.write_text('[report]\nevaluation_label = "soreness_1_5<=2"\nevaluation_horizon_d = 7\n')
    c = load_config(cfg)
    assert c.report.evaluation_label == "soreness_1_5<=2" and c.report.evaluation_horizon_d == 7
