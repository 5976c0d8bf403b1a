"""``strainwatch report`` and ``strainwatch alert`` end to end on a store (CliRunner, real sinks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.stage_report import run_report
from pipelines.store import Store
from tests.reports._extract import report_data
from tests.reports.synth import team_frames
from tests.webhook import Webhook

runner = CliRunner()


@pytest.fixture
def store(tmp_path) -> Store:
    f, s = team_frames(4)
    st = Store(tmp_path / "store")
    st.replace_athletes("features", f)
    st.replace_athletes("scores", s)
    return st


@pytest.fixture
def hook():
    h = Webhook()
    yield h
    h.close()


def write_config(tmp_path: Path, hook: Webhook) -> Path:
    cfg = tmp_path / "strainwatch.toml"
    cfg.write_text(
        f"""
[team]
name = "Harbour Rowing"

[alerts]
coach_urls = ["json://127.0.0.1:{hook.port}/coach"]

[[athletes]]
id = "a01"
name = "Alice Moreau"
alert_urls = ["json://127.0.0.1:{hook.port}/a01/${{HOOK_TOKEN}}"]

[[athletes]]
id = "a02"
name = "Bea O'Neil"
""",
        encoding="utf-8",
    )
    return cfg


def test_report_command_team_and_single_athlete(store, tmp_path, hook):
    cfg = write_config(tmp_path, hook)
    out = tmp_path / "out" / "week.html"
    r = runner.invoke(
        app, ["report", "--week", "2026-W15", "--out", str(out), "--store", str(store.root), "--config", str(cfg)]
    )
    assert r.exit_code == 0, r.output
    assert f"wrote {out}" in r.output and "4 athletes, week 2026-W15, data to 2026-04-12" in r.output
    data = report_data(out.read_text(encoding="utf-8"))
    assert [t["athlete_id"] for t in data["team"]][:2] == ["a02", "a01"]  # red flag first, then the high band
    assert data["team"][1]["athlete"].startswith("Alice Moreau")
    assert "Harbour Rowing" in out.read_text(encoding="utf-8")
    assert [p.name for p in out.parent.iterdir()] == ["week.html"]  # atomic write leaves no temp file

    one = tmp_path / "alice.html"
    r = runner.invoke(
        app,
        [
            "report",
            "--week",
            "2026-W15",
            "--athlete",
            "a01",
            "--out",
            str(one),
            "--store",
            str(store.root),
            "--config",
            str(cfg),
        ],
    )
    assert r.exit_code == 0, r.output
    d1 = report_data(one.read_text(encoding="utf-8"))
    assert d1["team"] == [] and [a["athlete_id"] for a in d1["athletes"]] == ["a01"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--week", "2026-15"], "--week expects an ISO week like 2026-W15"),
        (["--week", "2025-W53"], "ISO year 2025 has no week 53"),
        (["--week", "2026-W15", "--athlete", "zed"], "unknown athlete id(s) 'zed'"),
        (["--week", "2026-W15", "--as-of", "15/04/2026"], "--as-of expects a date YYYY-MM-DD"),
    ],
)
def test_report_command_errors(store, tmp_path, args, message):
    r = runner.invoke(app, ["report", *args, "--store", str(store.root), "--out", str(tmp_path / "x.html")])
    assert r.exit_code == 2
    assert message in r.output


def test_report_on_empty_store_says_what_to_run(tmp_path):
    with pytest.raises(ValueError, match="run `strainwatch features` and `strainwatch score` first"):
        run_report(Store(tmp_path / "empty"), week="2026-W15", out_path=tmp_path / "r.html")


def test_default_week_is_the_latest_scored_week(store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = run_report(store)
    assert r.week == "2026-W15" and r.path == Path("strainwatch-2026-W15.html") and (tmp_path / r.path).exists()


def test_alert_command_dry_run_then_send_then_dedupe(store, tmp_path, hook):
    cfg = write_config(tmp_path, hook)
    env = {"HOOK_TOKEN": "tok-9f8e7d"}
    base = ["alert", "--as-of", "2026-04-10", "--store", str(store.root), "--config", str(cfg)]
    r = runner.invoke(app, base + ["--dry-run"], env=env)
    assert r.exit_code == 0, r.output
    assert "would send (new): moderate_streak for a01 (key day 2026-04-09) -> json://127.0.0.1:" in r.output
    assert "Moderate strain risk for Alice Moreau 4 days in a row" in r.output
    assert "would NOT send (no channel configured) (new): red_flag for a02 (key day 2026-04-10)" in r.output
    # counts agree with the lines above: 2 alerts fire; a01 + coach digest would go, a02 has no channel
    assert (
        "dry run: 2 alert(s) fire, 2 message(s) would be sent, 1 not (no channel configured); "
        "nothing was sent or recorded"
    ) in r.output
    assert hook.received == [] and not store.ledger_path.exists()
    assert "tok-9f8e7d" not in r.output and "${HOOK_TOKEN}" not in r.output

    r = runner.invoke(app, base, env=env)
    assert r.exit_code == 0, r.output
    assert (
        "summary: 3 new, 2 sent (0 retried from earlier runs), 0 failed, 0 already sent, 1 without a channel"
        in r.output
    )
    assert sorted(hook.paths) == ["/a01/tok-9f8e7d", "/coach"]
    assert "tok-9f8e7d" not in r.output

    r = runner.invoke(app, base, env=env)
    assert r.exit_code == 0
    assert "0 new, 0 sent" in r.output and "2 already sent" in r.output
    assert len(hook.received) == 2


def test_alert_command_reports_failure_with_exit_code_1(store, tmp_path):
    bad = Webhook(fail_first=5)
    try:
        cfg = write_config(tmp_path, bad)
        r = runner.invoke(
            app,
            ["alert", "--as-of", "2026-04-10", "--store", str(store.root), "--config", str(cfg)],
            env={"HOOK_TOKEN": "tok-1"},
        )
        assert r.exit_code == 1
        assert "problem: delivery failed (attempt 1, retried next run): moderate_streak for a01" in r.output
        assert "tok-1" not in r.output
    finally:
        bad.close()
