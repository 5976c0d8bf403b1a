"""Issue 16 "done when": a 34-athlete report in headless Chromium with the network blocked.

Checks: the team table is in the first 900 px at 1440 px width; sorting and
filtering work; every number shown for an athlete (``[data-field]``) equals
the stored FEATURES/SCORES value of the day the page names; no reason is
shown without points; an athlete without a training file for 14 days shows
the warning and never LOW; the phone layout (390 px) does not scroll sideways.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from reports.weekly import build_weekly_report
from tests.reports.synth import team_frames
from tests.reports.test_browser import CHROMIUM, browser, open_report  # noqa: F401 (fixture)

END = date(2026, 4, 12)
N = 34
STALE = "a34"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    f, s = team_frames(N)
    # a34 stopped uploading training files 14 days ago: load 0 since, the scores stayed low
    cut = END - timedelta(days=13)
    stale = (pl.col("athlete_id") == STALE) & (pl.col("date") >= cut)
    f = f.with_columns(pl.when(stale).then(0.0).otherwise(pl.col("load_au")).alias("load_au"))
    s = s.with_columns(
        pl.when(stale).then(pl.lit("low")).otherwise(pl.col("risk_band")).alias("risk_band"),
        pl.when(stale).then(5.0).otherwise(pl.col("risk_score")).alias("risk_score"),
    )
    groups = {f"a{i:02d}": ("Forwards" if i % 2 else "Backs") for i in range(1, N + 1)}
    html = build_weekly_report(
        f, s, week="2026-W15", as_of=END, groups=groups, generated_at=datetime(2026, 4, 13, 3, 0)
    )
    p = tmp_path_factory.mktemp("team34") / "team.html"
    p.write_text(html, encoding="utf-8")
    return p, f, s, html


def _decimals(txt: str) -> int:
    return len(txt.split(".", 1)[1]) if "." in txt else 0


# 3.2 s on a quiet machine, 7 s at load average 17 (plus ~2 s to build the page and start Chromium); not
# marked slow: it is the acceptance check and should run in the default suite
def test_team_report_34_athletes(browser, team, tmp_path):  # noqa: F811
    path, f, s, html = team
    assert len(html.encode("utf-8")) < 1_500_000  # budget: 30 athletes < 1.5 MB; 34 here
    page, blocked, errors = open_report(browser, path, 1440, 900)
    try:
        # first screen: the team table starts within the first 900 px
        box = page.locator("table#team").bounding_box()
        assert box is not None and box["y"] < 900 - 150, box
        assert page.locator("table#team tbody tr").count() == N
        named = date.fromisoformat(page.locator("#named-day").get_attribute("data-day"))
        assert named == END

        # every number shown for an athlete is the stored value of the named day
        f_by = {
            (r["athlete_id"], r["date"]): r
            for r in f.filter(pl.col("date") >= named - timedelta(days=1)).iter_rows(named=True)
        }
        s_day = {r["athlete_id"]: r for r in s.filter(pl.col("date") == named).iter_rows(named=True)}
        checked = 0
        # (load figures name their own day, the day before: the row the scorer's load components read)
        cells = page.evaluate("""() => Array.from(document.querySelectorAll('[data-field]')).map(e => [
            e.closest('[data-athlete]').getAttribute('data-athlete'), e.getAttribute('data-field'),
            e.textContent.trim(), e.getAttribute('data-day')])""")
        for owner, field, txt, own_day in cells:
            if txt == "n/a":
                continue
            shown = float(txt.replace(",", ""))
            day = date.fromisoformat(own_day) if own_day else named
            assert day in (named, named - timedelta(days=1))
            stored = s_day[owner][field] if field == "risk_score" else f_by[(owner, day)][field]
            assert stored is not None, (owner, field, txt)
            assert abs(shown - stored) <= 0.5 * 10 ** -_decimals(txt) + 1e-9, (owner, field, txt, stored)
            checked += 1
        assert checked >= N * 4, checked

        # no reason without points: every reason in the table gave points on the named day
        rows = page.evaluate("""() => Array.from(document.querySelectorAll('table#team tbody tr')).map(r => [
            r.getAttribute('data-athlete'), r.getAttribute('data-reasons'),
            Array.from(r.querySelectorAll('td[data-col=reasons] .pts')).map(x => x.textContent)])""")
        for a, codes, pts_txt in rows:
            comps = json.loads(s_day[a]["components_json"] or "[]")
            pts = {c["reason"]: c["points"] for c in comps}
            for code in (codes or "").split():
                assert code == "red_flag" or pts.get(code, 0) > 0, (a, code, pts)
            assert all(float(t.lstrip("+")) > 0 for t in pts_txt)

        # the stale athlete: warning, never LOW
        row = page.locator(f"table#team tr[data-athlete={STALE}]")
        assert row.get_attribute("data-band") == "stale"
        band_txt = row.locator("td[data-col=band] .band").inner_text()
        assert "NO RECENT DATA" in band_txt and "LOW" not in band_txt
        last = (END - timedelta(days=14)).isoformat()
        assert f"no training data since {last}" in row.locator("td[data-col=fresh]").inner_text()

        # filtering by band, reason and group
        page.select_option("#f-band", "stale")
        vis = page.locator("table#team tbody tr:visible")
        assert [r.get_attribute("data-athlete") for r in vis.all()] == [
            r.get_attribute("data-athlete") for r in page.locator("table#team tbody tr[data-band=stale]").all()
        ]
        assert STALE in [r.get_attribute("data-athlete") for r in vis.all()]
        assert page.locator(f"details[data-athlete={STALE}]").is_visible()
        page.select_option("#f-band", "")
        page.select_option("#f-reason", "sleep_debt")
        rows = page.locator("table#team tbody tr:visible").all()
        assert rows and all("sleep_debt" in r.get_attribute("data-reasons").split() for r in rows)
        assert len(rows) < N
        page.select_option("#f-reason", "")
        page.select_option("#f-group", "Backs")
        rows = page.locator("table#team tbody tr:visible").all()
        assert len(rows) == N // 2 and all(r.get_attribute("data-group") == "Backs" for r in rows)
        assert page.locator("#shown").inner_text() == f"{N // 2} of {N} shown"
        page.select_option("#f-group", "")
        assert page.locator("table#team tbody tr:visible").count() == N

        # sorting: the athlete column toggles risk order ascending / descending
        last_a = page.locator("table#team tbody tr").last.get_attribute("data-athlete")
        page.locator("table#team th[data-sort=rank] button").click()
        assert page.locator("table#team th[data-sort=rank]").get_attribute("aria-sort") == "ascending"
        page.locator("table#team th[data-sort=rank] button").click()
        assert page.locator("table#team th[data-sort=rank]").get_attribute("aria-sort") == "descending"
        assert page.locator("table#team tbody tr").first.get_attribute("data-athlete") == last_a
        # sort by data freshness: the stale athlete comes first
        page.locator("table#team th[data-sort=fresh] button").click()
        assert page.locator("table#team th[data-sort=fresh]").get_attribute("aria-sort") == "ascending"
        ranks = [int(r.get_attribute("data-s-fresh")) for r in page.locator("table#team tbody tr").all()]
        assert ranks == sorted(ranks) and ranks[0] < 0  # data-s-fresh is minus the count of stale inputs
        assert page.locator("table#team tbody tr").first.get_attribute("data-athlete") == STALE
        page.screenshot(path=str(tmp_path / "team34.png"))
    finally:
        page.close()
    assert blocked == [], f"requests left file:/data: {blocked}"
    assert errors == [], errors


def test_team_report_34_athletes_phone(browser, team):  # noqa: F811
    path, *_ = team
    page, blocked, errors = open_report(browser, path, 390, 844)
    try:
        assert page.evaluate("document.documentElement.scrollWidth") <= 390 + 1
        assert page.locator("table#team thead").is_hidden()
        # the first card (who, band, why, what now) is on the first phone screen
        box = page.locator("table#team tbody tr").first.bounding_box()
        assert box is not None and box["y"] < 844, box
    finally:
        page.close()
    assert blocked == [] and errors == []


def test_page_reads_without_javascript(browser, team):  # noqa: F811
    path, *_ = team
    ctx = browser.new_context(java_script_enabled=False, viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    try:
        page.goto(path.as_uri())
        assert page.locator("table#team tbody tr").count() == N
        assert page.locator("#controls").is_hidden()  # controls need the script; the table does not
        assert re.search(r"NO RECENT DATA", page.locator(f"table#team tr[data-athlete={STALE}]").inner_text())
    finally:
        ctx.close()
