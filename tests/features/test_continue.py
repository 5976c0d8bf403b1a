"""``continue_features``: a DAILY tail + stored rows (strain only before s-H) == a full recomputation."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features import compute as C
from features.compute import compute_features, continue_features
from features.params import FeatureParams

from .daily_synth import random_daily


def _inputs(d: pl.DataFrame, prev: pl.DataFrame, s, p: FeatureParams, strain_only: bool = True):
    """The tail inputs a store reader builds: DAILY from s-H, FEATURES before s (strain only before s-H)."""
    h = p.history_days
    lo = s - timedelta(days=h)
    tail = d.filter(pl.col("date") >= lo)
    before = prev.filter(pl.col("date") < s)
    if strain_only:
        old = before.filter(pl.col("date") < lo).select("athlete_id", "date", "strain_au")
        before = pl.concat([old, before.filter(pl.col("date") >= lo)], how="diagonal_relaxed")
    firsts = dict(d.group_by("athlete_id").agg(pl.col("date").min()).iter_rows())
    return tail, before, firsts


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    cut=st.integers(1, 179),
    extra=st.integers(0, 6),
    params=st.sampled_from(
        [
            FeatureParams(),
            FeatureParams(
                baseline_days=20, baseline_min_values=5, chronic_days=21, family_window_d=10, strain_min_values=5
            ),
        ]
    ),
)
@example(
    seed=1,
    cut=173,
    extra=0,  # found by CI: first + cut fell past the data's last day
    params=FeatureParams(
        baseline_days=20, baseline_min_values=5, chronic_days=21, family_window_d=10, strain_min_values=5
    ),
)
def test_tail_equals_full(seed, cut, extra, params):
    d = random_daily(4, 180, seed=seed, p_null_load=0.02)
    first = d["date"].min()
    # s at most the last day of the data: a DAILY tail always reaches as_of (complete calendar), and a
    # random first day can put first + cut past the end of the 180-day span
    s = min(first + timedelta(days=cut), d["date"].max())
    as_of = s + timedelta(days=extra)
    # stored features of the old DAILY (which ends before s) with the same parameters
    prev = compute_features(d.filter(pl.col("date") < s), as_of=s - timedelta(days=1), params=params)
    tail, before, firsts = _inputs(d, prev, s, params)
    since = {a: s for a, f in firsts.items() if f < s}  # athletes starting later have nothing stored
    got = continue_features(tail, before, as_of=as_of, since=since, first_days=firsts, params=params)
    want = compute_features(d, as_of=as_of, params=params).filter(
        (pl.col("date") >= s) & pl.col("athlete_id").is_in(list(since))
    )
    assert_frame_equal(got, want, check_exact=True)


def test_tail_with_changed_days_from_s(monkeypatch):
    # DAILY changes from s on (a late file), stored rows before s stay valid: rows s.. equal a full run
    d = random_daily(5, 150, seed=3, p_null_load=0.01)
    first = d["date"].min()
    s = first + timedelta(days=100)
    p = FeatureParams()
    prev = compute_features(d, as_of=d["date"].max(), params=p)
    changed = d.with_columns(
        pl.when(pl.col("date") >= s).then(pl.col("load_au") * 1.7 + 3).otherwise(pl.col("load_au")).alias("load_au")
    )
    tail, before, firsts = _inputs(changed, prev, s, p)
    # several chunks of athletes: the same rows
    monkeypatch.setattr(C, "CHUNK_ROWS", 120)
    got = continue_features(tail, before, as_of=d["date"].max(), since={a: s for a in firsts}, first_days=firsts)
    want = compute_features(changed, as_of=d["date"].max()).filter(pl.col("date") >= s)
    assert_frame_equal(got, want, check_exact=True)


def test_conditions_are_checked():
    d = random_daily(2, 120, seed=5)
    first = d["date"].min()
    s = first + timedelta(days=90)
    p = FeatureParams()
    prev = compute_features(d, as_of=d["date"].max())
    tail, before, firsts = _inputs(d, prev, s, p)
    ids = list(firsts)
    with pytest.raises(ValueError, match="must start on or before"):
        continue_features(
            tail.filter(pl.col("date") > s - timedelta(days=10)),
            before,
            as_of=s,
            since={a: s for a in ids},
            first_days=firsts,
        )
    with pytest.raises(ValueError, match="every day from"):
        continue_features(
            tail,
            before.filter(pl.col("date") != first + timedelta(days=3)),
            as_of=s,
            since={a: s for a in ids},
            first_days=firsts,
        )
    with pytest.raises(ValueError, match="not after the first day"):
        continue_features(tail, before, as_of=s, since={a: first for a in ids}, first_days=firsts)
