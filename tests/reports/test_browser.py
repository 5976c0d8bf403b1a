"""The weekly report in a real browser: Debian's chromium driven by playwright.

Never ``playwright install``: the test uses ``/usr/bin/chromium`` and skips
without it. All requests other than ``file:``/``data:`` are aborted and
recorded; the test fails if there is any, if a console error is logged, if a
chart does not render, or if the phone layout scrolls sideways.

Screenshots go to ``tmp_path``; the README's screenshots of the sample team
are written by ``python benchmarks/report_size.py --sample --docs``.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest

from reports.weekly import build_weekly_report
from tests.reports.synth import team_frames

CHROMIUM = "/usr/bin/chromium"
NAMES = {
    "a01": "Alice Moreau",
    "a02": "Bea O'Neil",
    "a03": "Chidi Okafor",
    "a04": "Dana Kowalski",
    "a05": "Emil Sørensen",
    "a06": "Femi Adeyemi",
}
HOSTILE = '<img src=x onerror="window.__xss=1">'

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"),
]


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


def open_report(browser, path: Path, width: int, height: int = 1200):
    page = browser.new_page(viewport={"width": width, "height": height})
    blocked, errors = [], []

    def route(r):
        if r.request.url.startswith(("file:", "data:")):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("file:", "data:")) else blocked.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, blocked, errors


RENDERED_CHARTS = """() => Array.from(document.querySelectorAll('svg.chart')).filter(s => {
    const r = s.getBoundingClientRect();
    return r.width > 150 && r.height > 60 && s.querySelectorAll('rect.frame').length > 0;
}).length"""


@pytest.fixture(scope="module")
def report_file(tmp_path_factory):
    f, s = team_frames(6)
    html = build_weekly_report(
        f,
        s,
        week="2026-W15",
        as_of=date(2026, 4, 12),
        names=NAMES,
        team_name="Harbour Rowing",
        generated_at=datetime(2026, 4, 13, 3, 0),
    )
    p = tmp_path_factory.mktemp("report") / "weekly.html"
    p.write_text(html, encoding="utf-8")
    return p


def test_report_renders_offline_desktop(browser, report_file, tmp_path):
    page, blocked, errors = open_report(browser, report_file, 1280)
    try:
        n_svg = page.locator("svg.chart").count()
        assert n_svg == 6 * 4
        assert page.evaluate(RENDERED_CHARTS) == n_svg
        # every chart draws data marks except a04's recovery chart (no RHR/HRV at all: a labelled gap)
        assert page.locator("svg.chart:has(path, circle)").count() == n_svg - 1
        assert page.locator("details[data-athlete=a04] svg.chart text.gapt").count() >= 2
        assert page.locator("table#team tbody tr").count() == 6
        page.screenshot(path=str(tmp_path / "desktop.png"), full_page=False)
        assert (tmp_path / "desktop.png").stat().st_size > 10_000
        # printable: a PDF comes out and the charts survive print media
        page.emulate_media(media="print")
        assert page.evaluate(RENDERED_CHARTS) == n_svg
        pdf = page.pdf(format="A4")
        assert pdf[:4] == b"%PDF" and len(pdf) > 50_000
    finally:
        page.close()
    assert blocked == [], f"requests left file:/data: {blocked}"
    assert errors == [], errors


def test_report_readable_on_a_phone(browser, report_file, tmp_path):
    page, blocked, errors = open_report(browser, report_file, 390, 844)
    try:
        # no sideways scrolling: the team table turns into cards, charts scale to the width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        assert page.evaluate(RENDERED_CHARTS) == 24
        assert page.locator("table#team thead").is_hidden()
        page.screenshot(path=str(tmp_path / "phone.png"))
    finally:
        page.close()
    assert blocked == [] and errors == []


def test_single_athlete_report(browser, tmp_path):
    f, s = team_frames(2)
    p = tmp_path / "one.html"
    notes = pl.DataFrame({"athlete_id": ["a01"], "date": [date(2026, 4, 8)], "note": [HOSTILE]})
    p.write_text(
        build_weekly_report(f, s, week="2026-W15", athletes=["a01"], names={"a01": HOSTILE}, notes=notes),
        encoding="utf-8",
    )
    page, blocked, errors = open_report(browser, p, 1000)
    try:
        assert page.locator("table#team").count() == 0
        assert page.evaluate(RENDERED_CHARTS) == 4
        # a hostile name and note render as text and run nothing
        assert page.title().startswith(HOSTILE)
        assert page.get_by_text(HOSTILE).count() >= 2
        assert page.locator("img").count() == 0
        assert page.evaluate("window.__xss") is None
    finally:
        page.close()
    assert blocked == [] and errors == []
