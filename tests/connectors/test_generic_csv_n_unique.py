"""``_n_unique`` (repeated keys in a generic CSV file) equals a plain set count, on every path."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.generic_csv import _n_unique
from tests.budget import examples


@settings(max_examples=examples(200), deadline=None)
@given(
    athletes=st.lists(st.one_of(st.none(), st.sampled_from(["a", "b"])), min_size=1, max_size=200),
    days=st.lists(st.one_of(st.none(), st.integers(0, 80)), min_size=1, max_size=200),
)
def test_n_unique_equals_set_count(athletes, days):
    n = max(len(athletes), len(days))
    a = [athletes[i % len(athletes)] for i in range(n)]
    d = [None if (x := days[i % len(days)]) is None else date(2025, 1, 1) + timedelta(days=x) for i in range(n)]
    df = pl.DataFrame({"athlete_id": a, "date": d}, schema={"athlete_id": pl.String, "date": pl.Date})
    assert _n_unique(df, ["athlete_id", "date"]) == len(set(zip(a, d, strict=True)))


def test_n_unique_one_athlete_by_hand():
    # 100 rows of one athlete on 70 distinct days plus a null day twice: 71 distinct keys
    d = [date(2025, 1, 1) + timedelta(days=i % 70) for i in range(98)] + [None, None]
    df = pl.DataFrame({"athlete_id": ["x"] * 100, "date": d})
    assert _n_unique(df, ["athlete_id", "date"]) == 71
    two = df.with_columns(pl.when(pl.int_range(100) == 0).then(pl.lit("y")).otherwise("athlete_id").alias("athlete_id"))
    assert _n_unique(two, ["athlete_id", "date"]) == 72  # (y, day 0) is new; (x, day 0) stays (row 70)
