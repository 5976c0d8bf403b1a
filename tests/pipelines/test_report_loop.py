"""Issue 16 items 5 and 7: acknowledgements and sent alerts in the next report; title and sleep need from config."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.ack import read_acks, record_ack, sent_alerts
from pipelines.cli import app
from pipelines.store import Store
from tests.reports._extract import parse
from tests.reports.synth import team_frames

runner = CliRunner()


@pytest.fixture
def store(tmp_path) -> Store:
    f, s = team_frames(4)
    st = Store(tmp_path / "store")
    st.replace_athletes("features", f)
    st.replace_athletes("scores", s)
    return st


def cfg(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "strainwatch.toml"
    p.write_text(body, encoding="utf-8")
    return p


def test_ack_then_report_shows_it_and_the_alerts_sent(store, tmp_path):
    c = cfg(tmp_path, '[[athletes]]\nid = "a01"\nname = "Alice Moreau"\ngroup = "Sculls"\n')
    base = ["--store", str(store.root), "--config", str(c)]
    # the night's alerts are queued (no channel configured: recorded as no_channel, listed in the report)
    r = runner.invoke(app, ["alert", "--as-of", "2026-04-10", *base])
    assert r.exit_code == 0, r.output
    r = runner.invoke(
        app,
        [
            "ack",
            "a01",
            "--note",
            "deload agreed: 3 easy rows",
            "--plan-changed",
            "--by",
            "Sam",
            "--date",
            "2026-04-11",
            *base,
        ],
    )
    assert r.exit_code == 0, r.output
    assert "recorded: plan changed for a01 on 2026-04-11 (alert " in r.output
    r = runner.invoke(app, ["ack", "nobody", *base])
    assert r.exit_code == 2 and "unknown athlete id 'nobody'" in r.output
    out = tmp_path / "w.html"
    r = runner.invoke(app, ["report", "--week", "2026-W15", "--out", str(out), *base])
    assert r.exit_code == 0, r.output
    root = parse(out.read_text(encoding="utf-8"))
    sec = next(n for n in root.find_all("details", class_="athlete") if n.attrs["data-athlete"] == "a01")
    loop = [li.clean() for ul in sec.find_all("ul", class_="loop") for li in ul.find_all("li")]
    assert "Alert sent: moderate-streak alert (episode from 2026-04-09), no_channel" in loop
    assert "Coach plan changed on Sat 11 Apr (Sam): deload agreed: 3 easy rows" in loop
    row = next(n for n in root.find_all("tr", data_athlete="a01") if n.attrs.get("data-group") is not None)
    assert row.attrs["data-group"] == "Sculls"
    assert "plan changed Sat 11 Apr: deload agreed: 3 easy rows" in row.clean()
    chips = next(root.find_all("ul", class_="counts")).clean()
    assert "alerts sent this week: 2, acknowledged: 1" in chips
    # appended, never overwritten
    record_ack(store, "a01", note="checked in", at=date(2026, 4, 12))
    acks = read_acks(store, date(2026, 4, 6), date(2026, 4, 12))
    assert [a["note"] for a in acks] == ["deload agreed: 3 easy rows", "checked in"]
    assert {a["athlete_id"] for a in sent_alerts(store, date(2026, 4, 6), date(2026, 4, 12))} == {"a01", "a02"}


def test_title_without_team_name_and_configured_sleep_need(store, tmp_path):
    # no [team] name: no "team:" prefix; the sleep need of [features.params] is what the texts use
    c = cfg(tmp_path, "[features.params]\nsleep_need_h = 7.5\n")
    out = tmp_path / "r.html"
    r = runner.invoke(
        app, ["report", "--week", "2026-W15", "--out", str(out), "--store", str(store.root), "--config", str(c)]
    )
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    h1 = next(parse(html).find_all("h1")).clean()
    assert h1 == "Weekly strain-risk report, 2026-W15"
    # the sleep status compares with the athlete's usual sleep (the scorer's rule); the configured
    # need is what the advice and the sleep chart aim for
    assert "vs 8 h" not in html and "sleep need 7.5 h" in html
    assert "h/night vs usual" in html or "usual sleep not known yet" in html
    # a tuned scorer threshold shows in the text (no restated constants)
    c = cfg(tmp_path, "[scorer.params]\nband_high = 65\nband_moderate = 35\n")
    r = runner.invoke(
        app, ["report", "--week", "2026-W15", "--out", str(out), "--store", str(store.root), "--config", str(c)]
    )
    assert r.exit_code == 0, r.output
    about = next(parse(out.read_text(encoding="utf-8")).find_all("section", id="about")).clean()
    assert "score 65 or more" in about and "below 35" in about


def test_texts_use_the_parameters_the_scores_were_made_with(store, tmp_path):
    import json as _json

    from models.rules import ScorerParams
    from pipelines.stage_score import SCORER_PARAMS_KEY, params_used, run_scores

    # the score stage records its parameters per athlete
    run_scores(store, as_of=date(2026, 4, 12), params={"band_high": 70.0, "sleep_need_h": 7.0})
    used = params_used(store, None, None)
    assert used.band_high == 70.0 and used.sleep_need_h == 7.0
    rec = store.get_state_map(SCORER_PARAMS_KEY)
    assert set(rec) == {"a01", "a02", "a03", "a04"} and _json.loads(rec["a01"])["band_high"] == 70.0
    # the config changed afterwards: the report still quotes what the stored scores used
    c = cfg(tmp_path, "[scorer.params]\nband_high = 61\n")
    out = tmp_path / "r.html"
    r = runner.invoke(
        app, ["report", "--week", "2026-W15", "--out", str(out), "--store", str(store.root), "--config", str(c)]
    )
    assert r.exit_code == 0, r.output
    about = next(parse(out.read_text(encoding="utf-8")).find_all("section", id="about")).clean()
    assert "score 70 or more" in about and "61" not in about
    # nothing recorded (or no longer valid): the configured parameters
    store.update_state_map(SCORER_PARAMS_KEY, {a: '{"no_such_param": 1}' for a in rec})
    assert params_used(store, ["a01"], {"band_high": 61.0}) == ScorerParams(band_high=61.0)
