"""Store read side by date (``read_table(since=, until=)``) and ``splice_athletes``."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from features.schemas import SCORES, conform
from pipelines.store import Store

D0 = date(2025, 1, 1)


def _scores(athlete: str, days: range, score: float) -> pl.DataFrame:
    return conform(
        pl.DataFrame(
            {
                "athlete_id": [athlete] * len(days),
                "date": [D0 + timedelta(days=i) for i in days],
                "risk_score": [score] * len(days),
                "risk_band": ["low"] * len(days),
                "model": ["rules"] * len(days),
            }
        ),
        SCORES,
    )


def test_read_table_date_filters(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    st.replace_athletes("scores", pl.concat([_scores("a", range(10), 1.0), _scores("b", range(5), 2.0)]))
    got = st.read_table("scores", since=D0 + timedelta(days=3), until=D0 + timedelta(days=6))
    # a: days 3..6 (4 rows), b: days 3..4 (2 rows)
    assert got.group_by("athlete_id").len().sort("athlete_id").rows() == [("a", 4), ("b", 2)]
    per = st.read_table("scores", ["a", "b"], since={"a": D0 + timedelta(days=8)})  # b read in full
    assert per.group_by("athlete_id").len().sort("athlete_id").rows() == [("a", 2), ("b", 5)]
    assert st.read_table("scores", ["zz"], since=D0).is_empty()
    assert_frame_equal(st.read_table("scores"), st.read_table("scores", since=None, until=None))


def test_splice_keeps_the_prefix_and_replaces_the_rest(tmp_path: Path) -> None:
    st = Store(tmp_path / "s")
    st.replace_athletes("scores", pl.concat([_scores("a", range(10), 1.0), _scores("b", range(10), 1.0)]))
    before_b = st.read_table("scores", ["b"])
    cut = D0 + timedelta(days=6)
    # new rows for days 4..11 (those before the cut are ignored), only athlete a
    st.splice_athletes("scores", _scores("a", range(4, 12), 9.0), {"a": cut})
    a = st.read_table("scores", ["a"])
    assert a["date"].to_list() == [D0 + timedelta(days=i) for i in range(12)]
    # days 0..5 kept (1.0), days 6..11 new (9.0)
    assert a["risk_score"].to_list() == [1.0] * 6 + [9.0] * 6
    assert_frame_equal(st.read_table("scores", ["b"]), before_b)  # untouched
    # an athlete with no new rows keeps only its prefix; one without a partition gets its new rows
    st.splice_athletes("scores", _scores("c", range(3), 5.0), {"b": cut, "c": D0})
    assert st.read_table("scores", ["b"]).height == 6
    assert st.read_table("scores", ["c"])["risk_score"].to_list() == [5.0] * 3
    # the caller's read of the partition is used instead of the file
    stored = {"a": pl.read_parquet(st.partition_path("scores", "a"))}
    st.splice_athletes("scores", _scores("a", range(12, 13), 7.0), {"a": D0 + timedelta(days=12)}, stored=stored)
    assert st.read_table("scores", ["a"])["risk_score"].to_list() == [1.0] * 6 + [9.0] * 6 + [7.0]


def test_splice_conforms_an_old_file_schema(tmp_path: Path) -> None:
    # a partition written before an optional column existed (here: without 'model'/'reasons')
    st = Store(tmp_path / "s")
    old = _scores("a", range(3), 1.0).drop("model", "reasons")
    path = st.partition_path("scores", "a")
    path.parent.mkdir(parents=True)
    old.write_parquet(path)
    st.splice_athletes("scores", _scores("a", range(2, 4), 3.0), {"a": D0 + timedelta(days=2)})
    got = st.read_table("scores", ["a"])
    assert got.columns == list(SCORES.columns) and got["risk_score"].to_list() == [1.0, 1.0, 3.0, 3.0]
    assert got["model"].to_list() == [None, None, "rules", "rules"]
