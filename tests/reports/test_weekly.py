"""Weekly report: data model, escaping, size, golden data."""

from __future__ import annotations

import json
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from features.schemas import FEATURES, SCORES, SchemaError, conform
from reports.weekly import build_weekly_data, build_weekly_report, iso_week_of, parse_iso_week
from tests.reports._extract import parse, report_data
from tests.reports.synth import team_frames

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "weekly_data.json"
UPDATE = os.environ.get("STRAINWATCH_UPDATE_GOLDEN") == "1"
MON = date(2026, 4, 6)  # 2026-W15 is Mon 6 Apr .. Sun 12 Apr


def frames(rows: list[dict], feats: list[dict] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    s = conform(pl.DataFrame(rows, schema_overrides=dict(SCORES.columns), infer_schema_length=None), SCORES)
    f = conform(
        pl.DataFrame(
            feats or [{"athlete_id": r["athlete_id"], "date": r["date"]} for r in rows],
            schema_overrides=dict(FEATURES.columns),
            infer_schema_length=None,
        ),
        FEATURES,
    )
    return f, s


def sc(a, d, band, score, reasons="", adjustments="", **kw):
    return {
        "athlete_id": a,
        "date": d,
        "risk_band": band,
        "risk_score": score,
        "reasons": reasons,
        "adjustments": adjustments,
        **kw,
    }


def test_parse_iso_week():
    assert parse_iso_week("2026-W15") == (date(2026, 4, 6), date(2026, 4, 12))
    assert parse_iso_week("2026W01") == (date(2025, 12, 29), date(2026, 1, 4))  # ISO week 1 starts in December
    assert iso_week_of(date(2026, 1, 1)) == "2026-W01"
    assert iso_week_of(date(2026, 4, 12)) == "2026-W15"
    with pytest.raises(ValueError, match="2026-W15"):
        parse_iso_week("2026-15")
    with pytest.raises(ValueError, match="no week 53"):
        parse_iso_week("2025-W53")  # 2025 has 52 ISO weeks


def test_band_days_peak_and_risk_order():
    d = [MON + timedelta(days=i) for i in range(7)]
    rows = [
        # x: low, moderate, high, high, moderate, (no score Sat), insufficient
        sc("x", d[0], "low", 10.0),
        sc("x", d[1], "moderate", 35.0, "acwr_spike"),
        sc("x", d[2], "high", 61.0, "acwr_spike;sleep_debt"),
        sc("x", d[3], "high", 70.0, "sleep_debt;acwr_spike"),
        sc("x", d[4], "moderate", 40.0, "sleep_debt"),
        sc("x", d[6], "insufficient_data", 5.0),
        # y: all low
        *[sc("y", di, "low", 5.0) for di in d],
        # z: low band but a red flag on Friday -> sorted first
        *[sc("z", di, "low", 2.0) for di in d],
        # w: two moderate days -> after x (fewer high days), before y
        *[sc("w", di, "moderate" if i in (2, 3) else "low", 31.0 if i in (2, 3) else 1.0) for i, di in enumerate(d)],
    ]
    feats = [
        {"athlete_id": r["athlete_id"], "date": r["date"], "red_flag": r["athlete_id"] == "z" and r["date"] == d[4]}
        for r in rows
    ]
    f, s = frames(rows, feats)
    data = build_weekly_data(f, s, week="2026-W15")
    order = [a["athlete_id"] for a in data["athletes"]]
    assert order == ["z", "x", "w", "y"]
    x = data["athletes"][1]
    assert x["band_days"] == {"high": 2, "moderate": 2, "low": 1, "insufficient_data": 1, "none": 1}
    assert x["peak_band"] == "high" and x["peak_score"] == 70.0 and x["peak_day"] == "Thu 9 Apr"
    # every number is of the named day: the last scored day of the week (Sun, not enough data, nothing added points)
    assert x["day"] == "2026-04-12" and x["band"] == "insufficient_data" and x["reasons"] == []
    w = data["athletes"][2]
    assert w["day"] == "2026-04-12" and w["band"] == "low" and w["score"] == 1.0
    assert [fd["date"] for fd in x["flagged"]] == ["2026-04-07", "2026-04-08", "2026-04-09", "2026-04-10"]
    z = data["athletes"][0]
    assert z["red_flag"] and z["red_flag_day"] == "Fri 10 Apr"
    assert z["advice"]["code"] == "see_clinician" and z["context"] == []  # one advice, nothing next to a red flag
    # the summary counts the named day's bands
    assert data["summary"]["red_flag"] == 1 and data["summary"]["low"] == 3
    assert data["summary"]["insufficient_data"] == 1


def test_statuses_from_features():
    # load figures are the row the scorer's load components read (the day before); recovery is the day's own
    f, s = frames(
        [sc("a", MON, "low", 10.0)],
        [
            {
                "athlete_id": "a",
                "date": MON - timedelta(days=1),
                "acwr": 1.62,
                "acute_7d_au": 1620.0,
                "chronic_28d_au": 1000.0,
            },
            {
                "athlete_id": "a",
                "date": MON,
                "acwr": 0.9,
                "acute_7d_au": 900.0,
                "chronic_28d_au": 1000.0,
                "rhr_bpm": 56.0,
                "rhr_delta_bpm": 5.4,
                "rhr_z": 1.1,
                "hrv_ln_rmssd": 4.1,
                "hrv_z": -0.7,
                "sleep_h": 6.2,
                "sleep_7d_h": 6.5,
                "sleep_baseline_h": 8.0,
                "sleep_debt_7d_h": 10.5,
            },
        ],
    )
    a = build_weekly_data(f, s, week="2026-W15", as_of=MON)["athletes"][0]
    assert a["day"] == "2026-04-06" and a["load_day"] == "2026-04-05"
    assert a["acwr_txt"] == "1.62" and a["acwr_zone"] == "above 1.5"
    assert a["load_pct_txt"] == "+62"  # 100 * (1620 / 1000 - 1)
    assert a["rhr"]["word"] == "elevated"  # +5.4 bpm >= 5
    assert a["hrv"]["word"] == "below normal"  # -1 <= -0.7 < -0.5
    # the scorer's own sleep rule: 7 x (8.0 - 6.5) = 10.5 h below the usual > 10 h (sleep_debt_severe_h)
    assert a["sleep"]["word"] == "very short"
    assert a["sleep"]["detail"] == "6.5 h/night vs usual 8.0 h; 10.5 h short over 7 days"


def test_sleep_status_is_the_scorers_rule():
    from models.rules import ScorerParams
    from reports.weekly import _sleep_status

    p = ScorerParams()
    # a stable 6.8-h sleeper is normal: only a change from the athlete's usual sleep counts
    assert _sleep_status(6.8, 6.8, None, p)["word"] == "normal"
    # 7 x (7.5 - 6.7) = 5.6 h > 5 h (sleep_debt_h): short
    assert _sleep_status(6.7, 7.5, None, p)["word"] == "short"
    # below the 6-h floor even when usual
    st = _sleep_status(5.8, 5.8, None, p)
    assert st["word"] == "short" and "below the 6-h floor" in st["detail"]
    # no usual sleep yet, above the floor: no judgement beyond the number
    assert _sleep_status(6.5, None, None, p) == {
        "level": 0,
        "word": "normal",
        "detail": "6.5 h/night (usual sleep not known yet)",
    }
    # a coach's fixed need applies only when set
    coach = ScorerParams(coach_sleep_need_h=8.0)
    assert _sleep_status(7.5, 7.5, 3.5, coach)["word"] == "short"
    assert _sleep_status(7.5, 7.5, 3.5, p)["word"] == "normal"
    assert _sleep_status(None, 7.5, None, p)["word"] == "no data"


def test_partial_week_and_bad_args():
    f, s = team_frames(2)
    data = build_weekly_data(f, s, week="2026-W15", as_of=date(2026, 4, 9))
    assert data["partial_week"] and data["days"][-1] == "2026-04-09"
    assert all(sum(a["band_days"].values()) == 4 for a in data["athletes"])
    with pytest.raises(ValueError, match="before the start of week"):
        build_weekly_data(f, s, week="2026-W15", as_of=date(2026, 4, 1))
    with pytest.raises(ValueError, match="unknown athlete id.*'nobody'"):
        build_weekly_data(f, s, week="2026-W15", athletes=["nobody"])
    with pytest.raises(SchemaError, match="risk_score"):
        build_weekly_data(f, s.drop("risk_score"), week="2026-W15")
    bad = s.with_columns(pl.lit("{not json").alias("components_json"))
    with pytest.raises(ValueError, match="components_json of athlete 'a01' on 2026-04-06 is not valid JSON"):
        build_weekly_data(f, bad, week="2026-W15")


def test_gaps_are_gaps_not_zeros():
    f, s = team_frames(3)  # a03 has no data on Tue 7 .. Thu 9 Apr (end - 5 .. end - 3 days)
    html = build_weekly_report(f, s, week="2026-W15", athletes=["a03"])
    data = report_data(html)
    (a,) = data["athletes"]
    assert any(g.startswith("no resting HR (3 of 7 days): Tue 7 Apr, Wed 8 Apr, Thu 9 Apr") for g in a["gaps"])
    assert any(g.startswith("no sleep (3 of 7 days)") for g in a["gaps"])
    sec = next(parse(html).find_all("details", class_="athlete"))
    # each recovery panel and the sleep chart shade the 3-day gap and label it
    assert sum(1 for t in sec.find_all("text", class_="gapt")) == 3
    assert data["team"] == []  # single-athlete report: no team table


def test_escaping_of_every_input_string():
    f, s = team_frames(2)
    evil_id = '<img src=x onerror="alert(2)">'
    evil_name = "<script>alert(1)</script>"
    f = f.with_columns(
        pl.when(pl.col("athlete_id") == "a02").then(pl.lit(evil_id)).otherwise(pl.col("athlete_id")).alias("athlete_id")
    )
    comps = json.dumps(
        [
            {
                "component": "<b>load</b>",
                "reason": "acwr_spike",
                "points": 20,
                "cap": 25,
                "value": 1.7,
                "rule": "ACWR 1.7 > 1.5 <i>&</i>",
            }
        ]
    )
    adj = json.dumps([{"code": "cut_volume", "text": "Cut to <u>500</u> AU & rest"}])
    s = s.with_columns(
        pl.when(pl.col("athlete_id") == "a02")
        .then(pl.lit(evil_id))
        .otherwise(pl.col("athlete_id"))
        .alias("athlete_id"),
        pl.lit(comps).alias("components_json"),
        pl.lit("high").alias("risk_band"),
        pl.lit("cut_volume").alias("adjustments"),
        pl.lit(adj).alias("adjustments_json"),
    )
    notes = pl.DataFrame(
        {
            "athlete_id": ["a01"],
            "date": [date(2026, 4, 8)],
            "note": ["back tight</blockquote><script>alert(3)</script>"],
        }
    )
    html = build_weekly_report(f, s, week="2026-W15", names={"a01": evil_name}, notes=notes)
    assert html.lower().count("<script") == 1  # only the report's own inline script (allowed by its hash)
    assert "<script>alert" not in html.lower()
    assert "<img" not in html.lower() and "<b>" not in html and "<u>" not in html and "<i>" not in html
    root = parse(html)
    text = root.clean()
    assert evil_name in text and evil_id in text and "back tight</blockquote><script>alert(3)</script>" in text
    assert "Cut to <u>500</u> AU & rest" in text and "ACWR 1.7 > 1.5 <i>&</i>" in text
    # also inside SVG <title> (accessible chart names)
    titles = [t.clean() for t in root.find_all("title")]
    assert f"{evil_name}: training load and acute:chronic workload ratio" in titles
    data = report_data(html)
    assert {r["athlete_id"] for r in data["team"]} == {"a01", evil_id}


def test_self_contained_no_external_references():
    f, s = team_frames(3)
    html = build_weekly_report(f, s, week="2026-W15")
    low = html.lower()
    assert low.count("<script") == 1 and "<script src" not in low  # one inline script, allowed by its sha256
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/=]{44}'", html) and "unsafe-inline'; img" in html
    assert "<link" not in low and "<iframe" not in low and "@import" not in low
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", low)
    assert "url(http" not in low
    assert "@media print" in html and 'name="viewport"' in html


def test_size_30_athletes_under_3_mb():
    f, s = team_frames(30)
    html = build_weekly_report(f, s, week="2026-W15", generated_at=datetime(2026, 4, 13, 3, 0))
    size = len(html.encode("utf-8"))
    data = report_data(html)
    assert len(data["team"]) == 30 and all(a["charts"] == 4 for a in data["athletes"])
    # measured 2026-11: about 0.8 MB for 30 athletes x 42 chart days (4 inline SVG charts each)
    assert size < 3_000_000, f"report is {size:,} bytes"


def test_golden_report_data():
    f, s = team_frames(6)
    html = build_weekly_report(
        f,
        s,
        week="2026-W15",
        as_of=date(2026, 4, 12),
        names={"a01": "Alice <Ace> Moreau", "a02": "Bea O'Neil"},
        generated_at=datetime(2026, 4, 13, 3, 0),
    )
    data = report_data(html)
    if UPDATE or not GOLDEN.exists():
        if not UPDATE:
            pytest.fail(f"{GOLDEN} is missing; create it with STRAINWATCH_UPDATE_GOLDEN=1")
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert data == expected


def test_athletes_without_data_this_week_are_named_not_drawn():
    f, s = team_frames(3)
    # a03 stopped syncing two weeks before the report week
    f = f.filter(~((pl.col("athlete_id") == "a03") & (pl.col("date") >= date(2026, 3, 23))))
    s = s.filter(~((pl.col("athlete_id") == "a03") & (pl.col("date") >= date(2026, 3, 23))))
    data = build_weekly_data(f, s, week="2026-W15", names={"a03": "Chidi <Okafor>"})
    assert [a["athlete_id"] for a in data["athletes"]] == ["a02", "a01"]
    assert data["summary"]["inactive"] == ["Chidi <Okafor>"]
    html = build_weekly_report(f, s, week="2026-W15", names={"a03": "Chidi <Okafor>"})
    node = next(parse(html).find_all("p", id="inactive"))
    assert node.clean() == "No data this week (not shown): Chidi <Okafor>."
    # asked for explicitly, it is drawn (with its gaps)
    one = build_weekly_data(f, s, week="2026-W15", athletes=["a03"])
    assert one["athletes"][0]["band_days"]["none"] == 7


def test_stale_athlete_shows_the_warning_never_low():
    # a01 has no training file for the last 14 days (load 0) while its scores stayed low
    f, s = team_frames(3)
    end = date(2026, 4, 12)
    stale = (pl.col("athlete_id") == "a01") & (pl.col("date") >= end - timedelta(days=13))
    f = f.with_columns(pl.when(stale).then(0.0).otherwise(pl.col("load_au")).alias("load_au"))
    s = s.with_columns(
        pl.when(stale).then(pl.lit("low")).otherwise(pl.col("risk_band")).alias("risk_band"),
        pl.when(stale).then(pl.lit("")).otherwise(pl.col("reasons")).alias("reasons"),
        pl.when(stale).then(pl.lit("[]")).otherwise(pl.col("components_json")).alias("components_json"),
    )
    data = build_weekly_data(f, s, week="2026-W15")
    a = next(x for x in data["athletes"] if x["athlete_id"] == "a01")
    assert a["band"] == "low" and a["shown_band"] == "stale" and a["band_word"] == "NO RECENT DATA"
    assert a["fresh"]["stale"] == ["training"] and a["fresh"]["text"] == "no training data since 2026-03-29"
    assert data["summary"]["stale"] == 1
    html = build_weekly_report(f, s, week="2026-W15")
    row = next(r for r in report_data(html)["team"] if r["athlete_id"] == "a01")
    assert "NO RECENT DATA" in row["band"] and "LOW" not in row["band"]
    assert row["fresh"].startswith("⚠ no training data since 2026-03-29")
    assert row["action"].startswith("Get the data: no training data since 2026-03-29")
    # with a longer limit the same athlete is simply low
    a = next(
        x for x in build_weekly_data(f, s, week="2026-W15", stale_after_d=21)["athletes"] if x["athlete_id"] == "a01"
    )
    assert a["shown_band"] == "low"


def test_one_advice_and_reasons_only_with_points_in_the_table():
    d = date(2026, 4, 12)
    comps = json.dumps(
        [
            {"component": "load_spike", "reason": "acwr_spike", "points": 0.0, "cap": 55, "rule": "ACWR 1.08 <= 1.3"},
            {"component": "weekly_jump", "reason": "weekly_ramp", "points": 0.0, "cap": 20, "rule": "+1 % <= 10 %"},
            {
                "component": "sleep",
                "reason": "sleep_debt",
                "points": 8.0,
                "cap": 30,
                "rule": "7-d sleep 7.4 h < 8 h: +8",
            },
            {"component": "hrv", "reason": "hrv_suppressed", "points": 12.0, "cap": 20, "rule": "HRV z -0.8: +12"},
        ]
    )
    adj = json.dumps(
        [
            {"code": "deload_week", "text": "Plan a deload week (about 826-1239 AU)."},
            {"code": "cut_volume", "text": "Cut next week's load to about 2272 AU."},
        ]
    )
    f, s = frames(
        [
            sc(
                "a",
                d,
                "moderate",
                20.0,
                "hrv_suppressed;sleep_debt",
                "deload_week;cut_volume",
                components_json=comps,
                adjustments_json=adj,
            )
        ],
        [{"athlete_id": "a", "date": d, "load_au": 300.0, "sleep_h": 7.0, "rhr_bpm": 50.0}],
    )
    html = build_weekly_report(f, s, week="2026-W15")
    (row,) = report_data(html)["team"]
    assert row["reasons"] == "heart-rate variability below its normal range +12 ; short or poor sleep +8"
    assert "load spike" not in row["reasons"] and "week-over-week" not in row["reasons"]
    # one advice in the table (the strongest), the other as context in the athlete section
    assert row["action"].startswith("Plan a deload week (about 826-1239 AU).") and "2272" not in row["action"]
    (sec,) = report_data(html)["athletes"]
    assert sec["adjustments"] == ["Plan a deload week (about 826-1239 AU).", "Cut next week's load to about 2272 AU."]
