"""``strainwatch evaluate`` and ``model evaluate`` on the real SoccerMon team A (read in place; skipped when absent).

Midoglu C. et al., Scientific Data 2024, doi:10.1038/s41597-024-03386-x; CC BY 4.0. The figures are
recorded in docs/validation.md; these tests check the plumbing and the alarm budget, not a target AUC.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from pipelines.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def sm_store(soccermon_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("sm") / "store"
    r = runner.invoke(app, ["ingest", str(soccermon_dir), "--store", str(root), "--workers", "1"])
    assert r.exit_code in (0, 1), r.output  # 1: the folder's README.md is rejected
    assert runner.invoke(app, ["features", "--store", str(root), "--as-of", "2021-12-31"]).exit_code == 0
    r = runner.invoke(app, ["score", "--store", str(root), "--rules"])
    assert r.exit_code == 0, r.output
    return root


@pytest.mark.slow
def test_evaluate_on_the_real_team(sm_store):
    r = runner.invoke(
        app,
        [
            "evaluate",
            "--store",
            str(sm_store),
            "--label",
            "soreness_1_5<=2",
            "--horizon",
            "3",
            "--bootstrap",
            "200",
            "--json",
            "-",
        ],
    )
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["n_athletes"] == 27 and d["n_days"] > 10_000
    preds = {p["predictor"]: p for p in d["predictors"]}
    assert preds["constant"]["pooled_auc"] == 0.5
    for name in ("risk_score", "7-day load sum to d-1", "yesterday's load", "label's own last 7 days"):
        p = preds[name]
        assert p["pooled_ci95"][0] <= p["pooled_auc"] <= p["pooled_ci95"][1]
        assert p["n_athletes_within"] >= 20
    # the alarm budget of issue 15 (measured, docs/validation.md): most days of a healthy squad are low
    assert d["band_share"]["moderate_or_high"] <= 0.15 and d["band_share"]["high"] <= 0.05
    # injury episodes as labels
    r = runner.invoke(
        app, ["evaluate", "--store", str(sm_store), "--injuries", "--horizon", "7", "--bootstrap", "50", "--json", "-"]
    )
    assert r.exit_code == 0, r.output
    assert 0 < json.loads(r.output)["n_events"] < 1000


@pytest.mark.slow
def test_model_evaluate_on_the_real_team_drops_empty_columns(sm_store):
    r = runner.invoke(
        app,
        [
            "model",
            "evaluate",
            "--store",
            str(sm_store),
            "--label",
            "soreness_1_5<=2",
            "--horizon",
            "3",
            "--kind",
            "logistic",
            "--splits",
            "2",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "dropped hrv_z: empty everywhere (no such data)" in r.output
    for m in ("logistic", "rules", "load_7d", "load_yesterday", "intercept"):
        assert f" {m} " in r.output


@pytest.mark.slow
def test_weekly_report_of_the_real_team(sm_store, tmp_path):
    """What the coach of an RPE-only team reads: nobody is 'no recent data' for sleep or HR/HRV the
    team never tracked, the week's bands are shown, and the section 'How the indicator tracked this
    team's reports' checks the score against the players' soreness reports."""
    from datetime import date

    from pipelines.stage_report import run_report
    from pipelines.store import Store
    from reports.weekly import build_weekly_data

    st = Store(sm_store)
    out = run_report(st, as_of=date(2021, 10, 31), out_path=tmp_path / "sm.html", evaluation_label="soreness_1_5<=2")
    html = out.path.read_text(encoding="utf-8")
    assert "How the indicator tracked this team" in html and "soreness_1_5 &lt;= 2" in html
    assert "Too few reports yet" not in html and "no better than chance" in html  # docs/validation.md
    data = build_weekly_data(
        st.read_table("features"), st.read_table("scores"), week="2021-W43", as_of=date(2021, 10, 31)
    )
    for a in data["athletes"]:
        assert not {"sleep", "hr"} & set(a["fresh"]["stale"]), a["athlete_id"]
        rows = {r["key"]: r for r in a["fresh"]["rows"]}
        assert rows["sleep"]["txt"] == rows["hr"]["txt"] == "not tracked"
        # no empty RHR/HRV and sleep charts, no "gaps" in inputs nobody has; said once instead
        assert [c["key"] for c in a["charts"]] == ["load", "pmc"]
        assert a["untracked"] == ["sleep", "HR/HRV"]
        assert a["rhr"]["word"] == a["hrv"]["word"] == a["sleep"]["word"] == "not tracked"
        assert not any(g["what"] in ("no resting HR", "no HRV", "no sleep") for g in a["gaps"])
    assert "Not tracked in this team: sleep, HR/HRV" in html
    shown = [a["shown_band"] for a in data["athletes"]]
    assert shown.count("stale") < len(shown) // 2 and "low" in shown
