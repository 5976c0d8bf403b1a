"""Weekly report size and build time; README screenshots and alert example from the sample team.

Usage::

    python benchmarks/report_size.py                 # synthetic teams of 10/30/34/100 athletes (budgets:
                                                     # 30 athletes < 1.5 MB, 100 athletes < 3 MB)
    python benchmarks/report_size.py --sample        # also the real pipeline on sample_data/inputs
    python benchmarks/report_size.py --sample --docs # and (re)write docs/report-screenshot*.png
                                                     # and docs/alerts-example.txt

The sample run ingests ``sample_data/inputs`` into a temporary store, computes
features and scores with the real stages, writes the report of 2026-W46 and
evaluates the alerts of 2026-11-15 (dry run). Screenshots use Debian's
``/usr/bin/chromium`` through playwright (never ``playwright install``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from reports.weekly import build_weekly_report  # noqa: E402
from tests.reports.synth import team_frames  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
AS_OF = date(2026, 11, 15)


#: athletes -> size budget [bytes] (issue 16)
BUDGET = {30: 1_500_000, 100: 3_000_000}


def synthetic() -> bool:
    print(
        "synthetic teams (84 days of data, 42 chart days, 4 inline SVG charts per athlete, "
        "8-week sparkline, 28-day heatmap):"
    )
    ok = True
    for n in (10, 30, 34, 100):
        f, s = team_frames(n)
        t0 = time.perf_counter()
        html = build_weekly_report(f, s, week="2026-W15", generated_at=datetime(2026, 4, 13, 3, 0))
        dt = time.perf_counter() - t0
        size = len(html.encode("utf-8"))
        budget = BUDGET.get(n)
        verdict = (
            ""
            if budget is None
            else (
                f"  within the {budget / 1e6:g} MB budget"
                if size < budget
                else f"  OVER the {budget / 1e6:g} MB budget"
            )
        )
        ok = ok and (budget is None or size < budget)
        print(
            f"  {n:3d} athletes: {size:>10,d} bytes ({size / n / 1024:5.1f} kB/athlete), built in {dt:.2f} s{verdict}"
        )
    return ok


def _features_and_scores(store, cfg):
    """Run the real feature and score stages (pipelines.stage_* when present)."""
    try:
        from pipelines.stage_features import run_features  # type: ignore

        run_features(store, as_of=AS_OF)
    except ImportError:
        from features.compute import compute_features
        from features.daily import build_daily
        from features.load import assign_session_loads
        from features.merge import merge_duplicate_nights, merge_duplicate_sessions

        ses, _ = merge_duplicate_sessions(store.read_table("sessions"))
        slp, _ = merge_duplicate_nights(store.read_table("sleep"))
        ov = cfg.athlete_overrides()
        ses = assign_session_loads(
            ses,
            hr_rest_bpm={a: v["hr_rest_bpm"] for a, v in ov.items() if "hr_rest_bpm" in v},
            hr_max_bpm={a: v["hr_max_bpm"] for a, v in ov.items() if "hr_max_bpm" in v},
            sex={a: v["sex"] for a, v in ov.items() if "sex" in v},
        )
        daily = build_daily(ses, slp, store.read_table("wellness"), as_of=AS_OF)
        store.replace_athletes("daily", daily)
        store.replace_athletes("features", compute_features(daily, as_of=AS_OF))
    from pipelines.stage_score import run_scores

    run_scores(store, as_of=AS_OF)


def sample(docs: bool) -> None:
    from pipelines.config import load_config
    from pipelines.ingest import ingest_paths
    from pipelines.stage_alert import run_alerts
    from pipelines.stage_report import run_report
    from pipelines.store import Store

    cfg = load_config(REPO / "sample_data" / "strainwatch.toml")
    with tempfile.TemporaryDirectory() as tmp:
        st = Store(Path(tmp) / "store")
        t0 = time.perf_counter()
        ingest_paths(st, [REPO / "sample_data" / "inputs"], tz_for=cfg.tz_for, workers=1)
        t1 = time.perf_counter()
        _features_and_scores(st, cfg)
        t2 = time.perf_counter()
        out = Path(tmp) / "report.html"
        r = run_report(
            st,
            week="2026-W46",
            out_path=out,
            names=cfg.names(),
            team_name=cfg.team_title(),
            generated_at=datetime(2026, 11, 16, 3, 0, tzinfo=timezone.utc),
            params=cfg.scorer_params(),
            stale_after_d=cfg.report.stale_after_d,
            groups=cfg.groups(),
        )
        t3 = time.perf_counter()
        print(
            f"sample team: ingest {t1 - t0:.1f} s, features+scores {t2 - t1:.1f} s, report {t3 - t2:.2f} s; "
            f"report {r.bytes:,d} bytes for {r.athletes} athletes"
        )
        # dry run with a placeholder coach address, so the digest text is produced too (nothing is sent)
        s = run_alerts(
            st,
            as_of=AS_OF,
            channels={"coach": ["mailto://localhost?to=coach@example.org"]},
            dry_run=True,
            names=cfg.names(),
            team_name=cfg.team_title(),
            params=cfg.scorer_params(),
            stale_after_d=cfg.report.stale_after_d,
        )
        print(
            f"alerts of {AS_OF}: {s.fired} fire: "
            + ", ".join(m["rule"] + " " + m["recipient"] for m in s.messages if m["rule"] != "digest")
        )
        if docs:
            _docs(out, s)


def _docs(report: Path, summary) -> None:
    from playwright.sync_api import sync_playwright

    d = REPO / "docs"
    d.mkdir(exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"],
        )

        def block(r):
            return r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort()

        page = b.new_page(viewport={"width": 1440, "height": 900})
        page.route("**/*", block)
        page.goto(report.as_uri())
        page.screenshot(path=str(d / "report-screenshot.png"))  # the first desktop screen
        page.locator("details.athlete").nth(1).screenshot(path=str(d / "report-athlete-screenshot.png"))
        phone = b.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        phone.route("**/*", block)
        phone.goto(report.as_uri())
        phone.screenshot(path=str(d / "report-screenshot-phone.png"))  # the first phone screen
        b.close()
    by_rule = {}
    for m in summary.messages:
        by_rule.setdefault(m["rule"], m)
    parts = [
        "# Example alerts, produced by strainwatch from the sample team (sample_data/, 2026-11-15).",
        "# Regenerate with: python benchmarks/report_size.py --sample --docs",
        "",
    ]
    from reports.alerts import push_text

    for rule in ("high_band", "red_flag", "moderate_streak", "digest"):
        m = by_rule.get(rule)
        if m:
            head = "coach digest" if rule == "digest" else f"{rule} (to the athlete)"
            if rule != "digest":
                short = push_text(m["body"])
                parts += [f"=== {rule}: push text ({len(short)} characters) ===", short, ""]
                head += ", e-mail version"
            parts += [f"=== {head} ===", f"Title: {m['title']}", "", m["body"], ""]
    (d / "alerts-example.txt").write_text("\n".join(parts), encoding="utf-8")
    print(
        f"wrote {d}/report-screenshot.png, report-athlete-screenshot.png, report-screenshot-phone.png, "
        "alerts-example.txt"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sample", action="store_true", help="also run the real pipeline on sample_data/inputs")
    ap.add_argument("--docs", action="store_true", help="write the README screenshots and alert example")
    args = ap.parse_args()
    ok = synthetic()
    if args.sample or args.docs:
        sample(args.docs)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
