"""The check-in in a real browser on a phone-sized screen, then the nightly run.

Debian's chromium driven by playwright (never ``playwright install``; skipped
without ``/usr/bin/chromium``), as the report's browser test. Every request
that does not go to the local check-in server is aborted and recorded.

The athlete fills the form at 390 px, ticks a red flag (the emergency advice
appears before sending), sends it; the next ``strainwatch run`` (the real
nightly flow) scores that athlete ``high`` with ``see_clinician`` for the day
and the coach's channel receives the red-flag alert once: a second run sends
nothing new.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from pipelines.checkin import issue_token
from pipelines.checkin_app import create_app
from pipelines.config import load_config
from pipelines.store import Store
from tests.pipelines import teamgen
from tests.pipelines.test_flows import config_file
from tests.webhook import Webhook

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
DAY = date(2026, 11, 10)
NOW = datetime(2026, 11, 10, 6, 45, tzinfo=timezone.utc)  # 07:45 in Berlin

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"),
]


def strainwatch_run(cfg_path: Path, api_url: str, out: Path) -> dict:
    """``strainwatch run --as-of DAY`` in its own process (against the session's Prefect server)."""
    code = "import sys; from pipelines.cli import main; sys.argv[0] = 'strainwatch'; main()"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PREFECT_API_URL": api_url}
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            "--config",
            str(cfg_path),
            "--as-of",
            DAY.isoformat(),
            "--summary-json",
            str(out),
        ],
        env=env,
        cwd=cfg_path.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


def serve(app) -> tuple[object, int]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, port


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )
        yield b
        b.close()


def test_phone_checkin_with_red_flag_then_nightly_run_scores_high_and_alerts_coach_once(
    browser, prefect_api_url, tmp_path, monkeypatch
):
    ids = teamgen.athlete_ids(3)
    inputs = tmp_path / "inputs"
    teamgen.write_history(inputs, ids, date(2026, 10, 1), date(2026, 11, 9))
    # yesterday's session from the athlete's device export, without an RPE: the form pre-fills it
    (inputs / "ath000" / "watch-sessions.csv").write_text(
        teamgen.SESSIONS_HEADER + "ath000,2026-11-09T07:05:00+01:00,45,running,151,,8.4\n"
    )
    hook = Webhook()
    store = tmp_path / "store"
    cfg_path = config_file(
        tmp_path,
        inputs,
        store,
        extra=f'\n[alerts]\ncoach_urls = ["json://127.0.0.1:{hook.port}/coach"]\n',
        athlete_url=f"json://127.0.0.1:{hook.port}/athlete",
    )
    cfg = load_config(cfg_path)
    server = None
    try:
        s1 = strainwatch_run(cfg_path, prefect_api_url, tmp_path / "run1.json")
        before = Store(store).read_table("scores").filter((pl.col("athlete_id") == "ath000") & (pl.col("date") == DAY))
        assert before.height == 1 and "red_flag" not in before["reasons"][0]
        coach_before = len(hook.to("/coach"))

        token = issue_token(store, "ath000")
        server, port = serve(create_app(store, cfg, clock=lambda: NOW))
        base = f"http://127.0.0.1:{port}"
        page = browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True, has_touch=True
        )
        blocked, errors = [], []

        def route(r):
            if r.request.url.startswith(base):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        t0 = time.perf_counter()
        page.goto(f"{base}/c/ath000/{token}")
        assert page.locator("h1").inner_text() == "Good morning, Ana"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        # the device session is pre-filled: 45 minutes, RPE still to give
        assert page.locator("input[name=d0_min]").input_value() == "45"
        assert "Running at 07:05" in page.locator("[data-session=device]").first.inner_text()
        # the evening run already has its RPE from the export: shown, not asked again
        assert page.locator("input[name=d1_rpe]").input_value() != ""

        def chip(name: str, value: str):
            page.locator(f"label:has(input[name={name}][value='{value}'])").click()

        chip("back_pain", "7")
        chip("area", "lower_back")
        chip("soreness", "5")
        chip("sleep", "2")
        page.locator("input[name=d0_rpe]").fill("6")
        assert not page.locator("#adv-em").is_visible()
        page.locator("label:has(input[value=leg_weakness])").click()
        assert page.locator("#adv-em").is_visible()  # at once, before sending
        assert "emergency" in page.locator("#adv-em").inner_text()
        assert not page.locator("#adv-soon").is_visible()
        page.screenshot(path=str(tmp_path / "checkin-390.png"), full_page=True)
        sizes = page.evaluate("""() => Array.from(document.querySelectorAll('.chips span, input[type=number], button'))
            .filter(e => e.getBoundingClientRect().width > 0)
            .map(e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])""")
        assert min(h for _, h in sizes) >= 44 and min(w for w, _ in sizes) >= 26  # tap targets
        page.locator("button[type=submit]").click()
        page.wait_for_load_state("load")
        elapsed = time.perf_counter() - t0
        assert "Thank you, Ana" in page.locator("h1").inner_text()
        assert page.locator(".adv-em").is_visible() and "coach will be alerted" in page.content()
        page.screenshot(path=str(tmp_path / "checkin-done-390.png"), full_page=True)
        if os.environ.get("STRAINWATCH_SCREENSHOT_DIR"):  # README's screenshot: docs/checkin-screenshot-phone.png
            import shutil

            shutil.copy(
                tmp_path / "checkin-390.png",
                Path(os.environ["STRAINWATCH_SCREENSHOT_DIR"]) / "checkin-screenshot-phone.png",
            )
        assert blocked == [] and errors == []
        assert elapsed < 30
        page.close()

        w = Store(store).read_table("wellness").filter(pl.col("source") == "checkin")
        assert w.height == 1 and w["red_flag"][0] is True and w["back_pain_0_10"][0] == 7.0

        s2 = strainwatch_run(cfg_path, prefect_api_url, tmp_path / "run2.json")
        sc = Store(store).read_table("scores").filter((pl.col("athlete_id") == "ath000") & (pl.col("date") == DAY))
        assert sc["risk_band"][0] == "high"
        assert sc["reasons"][0].split(";")[0] == "red_flag"
        assert "see_clinician" in sc["adjustments"][0].split(";")
        # the weekly report of that run shows the check-in compliance: Mon 9 .. Tue 10 Nov, answered Tue
        report = Path(s2["report_path"]).read_text(encoding="utf-8")
        assert '<tr data-athlete="ath000"><td>Ana</td><td class="num">1/2 days</td><td>Tue' in report
        coach_new = hook.to("/coach")[coach_before:]
        assert len(coach_new) == 1 and "red flag" in json.dumps(coach_new[0]).lower()
        # the session RPE reached the device session: 6 x 45 min = 270 AU of session-RPE load
        d = (
            Store(store)
            .read_table("daily")
            .filter((pl.col("athlete_id") == "ath000") & (pl.col("date") == date(2026, 11, 9)))
        )
        assert d.height == 1 and d["load_au"][0] >= 270.0

        s3 = strainwatch_run(cfg_path, prefect_api_url, tmp_path / "run3.json")
        assert len(hook.to("/coach")) == coach_before + 1  # sent once
        assert s3["alerts"].get("sent", 0) == 0
        print(f"filled and sent in {elapsed:.1f} s; alerts per run: {s1['alerts']}, {s2['alerts']}, {s3['alerts']}")
    finally:
        if server is not None:
            server.should_exit = True
        hook.close()
