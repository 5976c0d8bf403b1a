"""Self-reported monitoring items in the generic daily.csv: scale, direction, range checks, daily merge."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from connectors import generic_csv
from connectors.base import BadRowError, ReadContext
from features.daily import build_daily
from features.schemas import SESSIONS, SLEEP, WELLNESS, conform

HEAD = (
    "athlete_id,date,resting_hr,hrv_rmssd_ms,soreness_1_5,fatigue_1_5,sleep_quality_1_5,mood_1_5,stress_1_5,"
    "readiness_0_10,sleep_reported_h"
)


def _read(tmp_path: Path, body: str):
    p = tmp_path / "daily.csv"
    p.write_text(HEAD + "\n" + body)
    return generic_csv.read(p, ReadContext())


def test_items_are_read_with_their_scale(tmp_path):
    r = _read(tmp_path, "alice,2025-03-04,48,,2,3,4,5,1,7,7.5\nalice,2025-03-05,,,,,,,,,\n")
    w = r.wellness.sort("date")
    row = w.row(0, named=True)
    assert [
        row[c]
        for c in (
            "soreness_1_5",
            "fatigue_1_5",
            "sleep_quality_1_5",
            "mood_1_5",
            "stress_1_5",
            "readiness_0_10",
            "sleep_reported_h",
        )
    ] == [2.0, 3.0, 4.0, 5.0, 1.0, 7.0, 7.5]
    empty = w.row(1, named=True)
    assert all(empty[c] is None for c in ("soreness_1_5", "readiness_0_10", "sleep_reported_h"))  # empty is not 0


@pytest.mark.parametrize(
    "cells,column",
    [
        ("6,3,4,5,1,7,7", "soreness_1_5"),
        ("2,0,4,5,1,7,7", "fatigue_1_5"),
        ("2,3,4,5,1,11,7", "readiness_0_10"),
        ("2,3,4,5,1,7,25", "sleep_reported_h"),
    ],
)
def test_out_of_scale_values_are_bad_rows(tmp_path, cells, column):
    with pytest.raises(BadRowError) as e:
        _read(tmp_path, f"alice,2025-03-04,48,,{cells}\n")
    assert e.value.line == 2 and e.value.column == column


def test_daily_takes_the_worst_report_of_a_day():
    w = conform(
        WELLNESS.empty().vstack(
            conform(
                __import__("polars").DataFrame(
                    {
                        "athlete_id": ["a", "a"],
                        "source": ["pmsys", "generic_csv"],
                        "date": [date(2025, 3, 4)] * 2,
                        "soreness_1_5": [4.0, 2.0],
                        "readiness_0_10": [None, 6.0],
                        "stress_1_5": [3.0, None],
                    }
                ),
                WELLNESS,
            )
        ),
        WELLNESS,
    )
    d = build_daily(SESSIONS.empty(), SLEEP.empty(), w, as_of=date(2025, 3, 4))
    assert d.select("soreness_1_5", "readiness_0_10", "stress_1_5").row(0) == (2.0, 6.0, 3.0)
