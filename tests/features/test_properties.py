"""Hypothesis properties of the features, and the cross-check against the pandas reference."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.compute import compute_features
from features.schemas import DAILY, FEATURES, conform
from tests.budget import examples

from .daily_synth import random_daily
from .pandas_reference import reference_features

D0 = date(2024, 1, 1)
SETTINGS = settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frame(athletes: dict[str, tuple[int, list[float | None]]], **extra) -> pl.DataFrame:
    """DAILY from {athlete: (start offset, loads)}."""
    rows = []
    for a, (off, loads) in athletes.items():
        for i, v in enumerate(loads):
            rows.append({"athlete_id": a, "date": D0 + timedelta(days=off + i), "load_au": v, "n_sessions": 1})
    return conform(pl.DataFrame(rows, schema_overrides={"load_au": pl.Float64}), DAILY)


loads_st = st.lists(st.one_of(st.just(0.0), st.floats(0.5, 2000, allow_nan=False)), min_size=1, max_size=90)


@SETTINGS
@given(value=st.floats(0.5, 5000, allow_nan=False), n=st.integers(28, 120))
def test_constant_load_gives_acwr_one_after_warm_up(value, n):
    f = compute_features(frame({"a": (0, [value] * n)}), as_of=D0 + timedelta(days=n - 1))
    for c in ("acwr", "acwr_uncoupled", "acwr_ewma"):
        s = f[c]
        assert s[:27].null_count() == 27  # null before 28 days
        assert np.allclose(s[27:].to_numpy(), 1.0, rtol=1e-12, atol=0)
    assert f["monotony"][6:].to_list() == [10.0] * (n - 6)  # SD 0, mean > 0: the cap


@SETTINGS
@given(loads=loads_st, k=st.sampled_from([0.1, 2.0, 3.7, 1000.0]))
def test_scaling_loads_leaves_ratios_unchanged(loads, k):
    rng = np.random.default_rng(len(loads))
    n = len(loads)
    base = frame({"a": (0, loads)}).with_columns(
        pl.Series("rhr_bpm", rng.normal(50, 3, n)), pl.Series("hrv_ln_rmssd", rng.normal(4, 0.2, n))
    )
    scaled = base.with_columns(pl.col("load_au") * k)
    as_of = D0 + timedelta(days=n - 1)
    f, g = compute_features(base, as_of=as_of), compute_features(scaled, as_of=as_of)
    for c in ("acwr", "acwr_uncoupled", "acwr_ewma", "monotony", "weekly_change_pct", "rhr_z", "hrv_z"):
        a, b = f[c].to_numpy(), g[c].to_numpy()
        assert np.array_equal(np.isnan(a), np.isnan(b)), c
        assert np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True), c
    # absolute loads scale by k
    assert np.allclose(g["acute_7d_au"].to_numpy(), k * f["acute_7d_au"].to_numpy(), rtol=1e-12, equal_nan=True)
    assert np.allclose(g["ctl"].to_numpy(), k * f["ctl"].to_numpy(), rtol=1e-9, equal_nan=True)


@SETTINGS
@given(
    spans=st.lists(st.tuples(st.integers(0, 40), st.integers(1, 80)), min_size=1, max_size=4),
    gap=st.integers(0, 20),
    seed=st.integers(0, 2**16),
)
def test_one_row_per_athlete_and_day_nothing_negative(spans, gap, seed):
    rng = np.random.default_rng(seed)
    athletes = {}
    for j, (off, n) in enumerate(spans):
        loads = [float(x) if rng.random() > 0.3 else 0.0 for x in rng.gamma(2, 50, n)]
        athletes[f"x{j}"] = (off, loads)
    d = frame(athletes)
    # drop a few days in the middle: they become rest days, not missing rows
    d = d.filter(pl.int_range(pl.len()) % 11 != 5)
    d = d.with_columns(
        pl.Series("sleep_h", rng.uniform(3, 10, d.height)),
        pl.Series("in_bed_h", rng.uniform(10, 11, d.height)),
        pl.Series("rhr_bpm", rng.normal(50, 4, d.height)),
        pl.Series("back_pain_0_10", rng.integers(0, 10, d.height).astype(float)),
    )
    as_of = D0 + timedelta(days=max(o + n for o, n in spans) + gap)
    f = compute_features(d, as_of=as_of)
    firsts = d.group_by("athlete_id").agg(pl.col("date").min())
    expected = sum((as_of - first).days + 1 for _, first in firsts.iter_rows())
    assert f.height == expected
    assert f.select(pl.struct("athlete_id", "date").is_duplicated().any()).item() is False
    assert f.group_by("athlete_id").agg(pl.col("date").max())["date"].to_list() == [as_of] * firsts.height
    nonneg = [
        "load_au",
        "acute_7d_au",
        "chronic_28d_au",
        "acwr",
        "acwr_uncoupled",
        "acwr_ewma",
        "monotony",
        "strain_au",
        "ctl",
        "atl",
        "rhr_7d_bpm",
        "sleep_7d_h",
        "sleep_debt_7d_h",
        "hard_day_streak",
        "data_coverage_7d",
        "sleep_eff_7d_pct",
        "strain_p90_au",
        "back_pain_streak_d",
        "load_ewma_7d_au",
        "load_ewma_28d_au",
    ]
    for c in nonneg:
        assert (f[c].drop_nulls() >= 0).all(), c
    assert (f["data_coverage_7d"] <= 1).all() and (f["monotony"].drop_nulls() <= 10).all()
    assert (f["weekly_change_pct"].drop_nulls() >= -100).all()
    assert f.columns[: len(FEATURES.columns)] == list(FEATURES.columns)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_independent_pandas_implementation(seed):
    d = random_daily(12, 420, seed=seed, p_null_load=0.01 if seed else 0.0)
    as_of = d["date"].max()
    f = compute_features(d, as_of=as_of)
    r = pl.from_pandas(reference_features(d.to_pandas(), as_of))
    # every day is covered here (no load_covered in the input): the recursion state is the ctl / atl
    r = r.with_columns(
        pl.lit(True).alias("load_covered"), pl.col("ctl").alias("ctl_state"), pl.col("atl").alias("atl_state")
    )
    passed = [c for c in FEATURES.columns if c in DAILY.columns and c not in r.columns]  # self-reports etc.
    r = r.join(conform(d, DAILY).select("athlete_id", "date", *passed), on=["athlete_id", "date"], how="left")
    assert f.height == r.height
    assert f["athlete_id"].to_list() == r["athlete_id"].to_list() and f["date"].to_list() == r["date"].to_list()
    for c in FEATURES.columns:
        a = f[c]
        b = r[c]
        if a.dtype == pl.Float64:
            b = b.cast(pl.Float64)
            assert (a.is_null() == b.is_null()).all(), f"{c}: null pattern differs"
            diff = (a - b).abs().max()
            assert diff is None or diff < 1e-9, f"{c}: max abs difference {diff}"
        else:
            assert a.eq_missing(b.cast(a.dtype)).all(), c
