"""The upsert's batch dedupe (one stable sort) equals ``unique(keep="last", maintain_order=True).sort(key)``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.store import _last_per_key_sorted
from tests.budget import examples

T0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
KEY = ["athlete_id", "source", "start_utc", "device_id"]


@settings(max_examples=examples(200), deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.one_of(st.none(), st.sampled_from(["fit", "csv"])),
            st.one_of(st.none(), st.integers(0, 4)),
            st.one_of(st.none(), st.sampled_from(["d1", "d2"])),
            st.floats(allow_nan=True),
        ),
        max_size=60,
    )
)
def test_equals_unique_keep_last_then_sort(rows):
    df = pl.DataFrame(
        {
            "athlete_id": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "start_utc": [None if r[2] is None else T0 + timedelta(hours=r[2]) for r in rows],
            "device_id": [r[3] for r in rows],
            "value": [r[4] for r in rows],
            "row": list(range(len(rows))),
        },
        schema={
            "athlete_id": pl.String,
            "source": pl.String,
            "start_utc": pl.Datetime("us", "UTC"),
            "device_id": pl.String,
            "value": pl.Float64,
            "row": pl.Int64,
        },
    )
    want = df.unique(subset=KEY, keep="last", maintain_order=True).sort(KEY)
    assert _last_per_key_sorted(df, KEY).equals(want)


def test_last_row_of_a_key_wins_by_hand():
    df = pl.DataFrame({"athlete_id": ["b", "a", "b", "a"], "source": ["x"] * 4, "v": [1, 2, 3, 4]})
    out = _last_per_key_sorted(df, ["athlete_id", "source"])
    assert out.rows() == [("a", "x", 4), ("b", "x", 3)]
