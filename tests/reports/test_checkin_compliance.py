"""Check-in compliance in the weekly report: answered days per athlete, by hand."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from reports.checkin_compliance import checkin_compliance
from reports.weekly import build_weekly_report
from tests.reports.synth import team_frames

MON = date(2026, 4, 6)  # ISO week 2026-W15: Mon 6 .. Sun 12 April


def wellness(rows):
    return pl.DataFrame(
        rows,
        schema={"athlete_id": pl.String, "source": pl.String, "date": pl.Date, "red_flag": pl.Boolean},
        orient="row",
    )


W = wellness(
    [
        ("a01", "checkin", date(2026, 4, 6), False),  # Mon
        ("a01", "checkin", date(2026, 4, 8), True),  # Wed, red flag
        ("a01", "checkin", date(2026, 4, 9), False),  # Thu
        ("a01", "generic_csv", date(2026, 4, 7), False),  # not a check-in: not counted
        ("a01", "checkin", date(2026, 4, 5), False),  # Sunday before the week: not counted
        ("a01", "checkin", date(2026, 4, 10), None),  # Fri: after the report's last day (Thu)
        ("a02", "generic_csv", date(2026, 4, 6), True),
    ]
)


def test_answered_days_counted_by_hand():
    rows = checkin_compliance(
        W, week_start=MON, week_end=date(2026, 4, 9), athletes=["a01", "a02", "a03"], names={"a01": "Alice"}
    )
    by = {r["athlete_id"]: r for r in rows}
    # a01: Mon, Wed, Thu of Mon..Thu = 3/4; a02 only has generic CSV rows: 0/4; a03 nothing: 0/4
    assert (by["a01"]["answered"], by["a01"]["of"], by["a01"]["days"]) == (3, 4, ["Mon", "Wed", "Thu"])
    assert by["a01"]["red_flag_days"] == ["Wed"] and by["a01"]["name"] == "Alice"
    assert (by["a02"]["answered"], by["a03"]["answered"], by["a03"]["of"]) == (0, 0, 4)
    assert [r["athlete_id"] for r in rows] == ["a01", "a02", "a03"]  # every athlete, in the given order


def test_no_checkin_ever_leaves_the_section_out():
    no_ci = W.filter(pl.col("source") != "checkin")
    assert checkin_compliance(no_ci, week_start=MON, week_end=date(2026, 4, 12), athletes=["a01"]) is None
    assert checkin_compliance(W.clear(), week_start=MON, week_end=date(2026, 4, 12), athletes=["a01"]) is None


def test_report_shows_the_compliance_table_only_when_given():
    f, s = team_frames(3)
    rows = checkin_compliance(W, week_start=MON, week_end=date(2026, 4, 12), athletes=["a01", "a02", "a03"])
    html = build_weekly_report(
        f, s, week="2026-W15", as_of=date(2026, 4, 12), checkin=rows, generated_at=datetime(2026, 4, 13, 3, 0)
    )
    assert "Daily check-in this week" in html
    assert '<tr data-athlete="a01"><td>a01</td><td class="num">4/7 days</td><td>Mon, Wed, Thu, Fri' in html
    assert "red flag Wed" in html
    plain = build_weekly_report(
        f, s, week="2026-W15", as_of=date(2026, 4, 12), generated_at=datetime(2026, 4, 13, 3, 0)
    )
    assert "Daily check-in" not in plain
