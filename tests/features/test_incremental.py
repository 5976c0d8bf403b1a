"""Incremental recomputation equals a full recomputation (exactly, bit for bit)."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.compute import _compute, compute_features, first_changed_dates, update_features
from features.params import FeatureParams
from tests.budget import examples

from .daily_synth import random_daily


@pytest.fixture(scope="module")
def history():
    d = random_daily(8, 200, seed=11, p_null_load=0.01)
    return d, d["date"].max()


def test_one_new_day(history, monkeypatch):
    d, as_of = history
    old = d.filter(pl.col("date") < as_of)
    prev = compute_features(old, as_of=as_of - timedelta(days=1))
    since = first_changed_dates(d, old)
    assert set(since.values()) == {as_of}  # only the new day is new
    seen = {}
    real = _compute

    def spy(daily, starts, previous, as_of_, p):
        seen.update(starts)
        return real(daily, starts, previous, as_of_, p)

    monkeypatch.setattr("features.compute._compute", spy)
    inc = update_features(d, prev, as_of=as_of, since=since)
    # only one day per athlete was recomputed
    assert set(seen.values()) == {as_of}
    monkeypatch.undo()
    assert_frame_equal(inc, compute_features(d, as_of=as_of), check_exact=True)


def test_only_the_tail_of_daily_is_needed(history):
    # the update reads DAILY only from s - H (H = 61 days): older rows may be left out
    d, as_of = history
    old = d.filter(pl.col("date") < as_of)
    prev = compute_features(old, as_of=as_of - timedelta(days=1))
    h = FeatureParams().history_days
    firsts = d.group_by("athlete_id").agg(pl.col("date").min().alias("first"))
    tail = (
        d.join(firsts, on="athlete_id")
        .filter((pl.col("date") >= as_of - timedelta(days=h)) | (pl.col("date") == pl.col("first")))
        .drop("first")
    )
    # keep each athlete's first row so that the calendar start is known, the gap in between is
    # filled as rest days but never read: the result is still exact
    inc = update_features(tail, prev, as_of=as_of, since={a: as_of for a in firsts["athlete_id"]})
    assert_frame_equal(
        inc.filter(pl.col("date") == as_of),
        compute_features(d, as_of=as_of).filter(pl.col("date") == as_of),
        check_exact=True,
    )


def test_several_new_days_and_unchanged_athletes(history):
    d, as_of = history
    cut = as_of - timedelta(days=5)
    prev = compute_features(d.filter(pl.col("date") <= cut), as_of=cut)
    since = first_changed_dates(d, d.filter(pl.col("date") <= cut))
    inc = update_features(d, prev, as_of=as_of, since=since)
    assert_frame_equal(inc, compute_features(d, as_of=as_of), check_exact=True)
    # nothing changed: the stored rows come back as they are
    same = update_features(d, inc, as_of=as_of, since={a: None for a in since})
    assert_frame_equal(same, inc, check_exact=True)


def test_older_data_changed_recomputes_from_there(history):
    d, as_of = history
    full = compute_features(d, as_of=as_of)
    a = d["athlete_id"][0]
    day = as_of - timedelta(days=90)
    d2 = d.with_columns(
        pl.when((pl.col("athlete_id") == a) & (pl.col("date") == day))
        .then(1234.0)
        .otherwise(pl.col("load_au"))
        .alias("load_au"),
        pl.when((pl.col("athlete_id") == a) & (pl.col("date") == day - timedelta(days=3)))
        .then(99.0)
        .otherwise(pl.col("rhr_bpm"))
        .alias("rhr_bpm"),
    )
    since = first_changed_dates(d2, d)
    assert since[a] == day - timedelta(days=3) and all(v is None for k, v in since.items() if k != a)
    inc = update_features(d2, full, as_of=as_of, since=since)
    assert_frame_equal(inc, compute_features(d2, as_of=as_of), check_exact=True)


def test_new_first_day_or_missing_previous_rows_fall_back_to_full(history):
    d, as_of = history
    full = compute_features(d, as_of=as_of)
    a = d["athlete_id"][1]
    first = d.filter(pl.col("athlete_id") == a)["date"].min()
    earlier = (
        d.filter(pl.col("athlete_id") == a)
        .head(1)
        .with_columns(pl.lit(first - timedelta(days=10)).alias("date"), pl.lit(77.0).alias("load_au"))
    )
    d2 = pl.concat([d, earlier]).sort("athlete_id", "date")
    since = first_changed_dates(d2, d)
    inc = update_features(d2, full, as_of=as_of, since=since)
    assert_frame_equal(inc, compute_features(d2, as_of=as_of), check_exact=True)
    # stored features with a hole: recomputed in full
    holed = full.filter(~((pl.col("athlete_id") == a) & (pl.col("date") == as_of - timedelta(days=30))))
    inc = update_features(d, holed, as_of=as_of, since={x: as_of for x in since})
    assert_frame_equal(inc, full, check_exact=True)


@settings(max_examples=examples(15), deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 150), extra=st.integers(1, 40))
def test_random_cut_points(seed, cut, extra):
    d = random_daily(3, 190, seed=seed, p_null_load=0.02)
    as_of = d["date"].max()
    start = d["date"].min()
    c = min(start + timedelta(days=cut), as_of - timedelta(days=1))
    end = min(c + timedelta(days=extra), as_of)
    part = d.filter(pl.col("date") <= c)
    prev = compute_features(part, as_of=c)
    now = d.filter(pl.col("date") <= end)
    inc = update_features(now, prev, as_of=end, since=first_changed_dates(now, part))
    assert_frame_equal(inc, compute_features(now, as_of=end), check_exact=True)


def test_chunked_computation_equals_one_pass(history, monkeypatch):
    d, as_of = history
    whole = compute_features(d, as_of=as_of)
    prev = compute_features(d.filter(pl.col("date") < as_of), as_of=as_of - timedelta(days=1))
    since = first_changed_dates(d, d.filter(pl.col("date") < as_of))
    one = update_features(d, prev, as_of=as_of, since=since)
    monkeypatch.setattr("features.compute.CHUNK_ROWS", 300)  # about one athlete per chunk
    assert_frame_equal(compute_features(d, as_of=as_of), whole, check_exact=True)
    assert_frame_equal(update_features(d, prev, as_of=as_of, since=since), one, check_exact=True)


@settings(max_examples=examples(15), deadline=None)
@given(seed=st.integers(0, 10_000), back=st.integers(1, 120))
def test_days_without_training_data_incremental_equals_full(seed, back):
    """Uncovered days (no session source: load null, load_covered false) null the load features;
    the CTL/ATL state kept in ctl_state/atl_state lets an update from any day equal a full run."""
    import numpy as np

    d = random_daily(4, 200, seed=seed, p_null_load=0.0)
    rng = np.random.default_rng(seed)
    # per athlete: an uncovered stretch (coverage lost, then resumed) and an uncovered start
    cov = []
    for _athlete, n in d.group_by("athlete_id", maintain_order=True).len().iter_rows():
        c = np.ones(n, dtype=bool)
        lo = int(rng.integers(0, max(n - 40, 1)))
        c[lo : lo + int(rng.integers(5, 40))] = False
        c[: int(rng.integers(0, 10))] = False
        cov.extend(c.tolist())
    d = d.with_columns(pl.Series("load_covered", cov)).with_columns(
        pl.when(pl.col("load_covered")).then(pl.col("load_au")).alias("load_au")
    )
    as_of = d["date"].max()
    full = compute_features(d, as_of=as_of)
    unc = full.filter(~pl.col("load_covered"))
    for c in ("acwr_ewma", "ctl", "atl", "tsb", "monotony", "hard_day_streak"):
        assert unc[c].null_count() == unc.height, c
    assert full["ctl_state"].null_count() == 0
    since = as_of - timedelta(days=back)
    prev = compute_features(d.filter(pl.col("date") < since), as_of=since - timedelta(days=1))
    inc = update_features(d, prev, as_of=as_of, since={a: since for a in d["athlete_id"].unique()})
    assert_frame_equal(inc, full, check_exact=True)
