"""The learned scorer's SCORES columns, columnar (models.learned._learned_columns), equal bit for bit
to the per-row oracle (models.learned._learned_rows): a trained model on a synthetic team, and
hypothesis over probabilities, contributions and inputs with ties, rounding near-ties, NaN and
red-flag / insufficient-data rows."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.schemas import SCORES, conform
from models import learned
from models.columnar import score_features_columnar
from models.learned import FEATURE_COLUMNS, LabelParams
from tests.budget import examples
from tests.models import synth

AS_OF = date(2030, 1, 1)
NF = len(FEATURE_COLUMNS)


def _same(a: pl.DataFrame, b: pl.DataFrame) -> None:
    assert_frame_equal(a, b, check_exact=True)
    assert a["components_json"].to_list() == b["components_json"].to_list()
    assert a["reasons"].to_list() == b["reasons"].to_list()
    sa, sb = a["risk_score"].to_numpy(), b["risk_score"].to_numpy()
    assert np.array_equal(np.signbit(sa), np.signbit(sb))  # -0.0 is not 0.0 in a stored file


@pytest.mark.slow
def test_trained_model_scores_equal_the_per_row_oracle():
    team = synth.to_features(synth.labelled_team(n_athletes=8, days=240, seed=11, signal=True))
    t = team["date"].min() + timedelta(days=200)
    team = team.with_columns(
        pl.when(pl.col("date") == t).then(True).otherwise(pl.col("red_flag")).alias("red_flag")  # red-flag rows
    )
    for kind in ("logistic", "hgb"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            bundle = learned.train_model(team, as_of=AS_OF, kind=kind)
        rules = score_features_columnar(team, as_of=AS_OF)
        X = rules.select("athlete_id", "date").join(
            learned.model_features(team, as_of=AS_OF), on=["athlete_id", "date"], how="left"
        )
        M = X.select(FEATURE_COLUMNS).to_numpy().astype(float)
        prob, contrib = bundle.predict_proba(M), bundle.contributions(M)
        got = learned._learned_columns(rules, M, prob, contrib, bundle)
        _same(got, learned._learned_rows(rules, M, prob, contrib, bundle))
        assert got.equals(learned.score_features_learned(team, as_of=AS_OF, bundle=bundle))
        assert set(got["risk_band"].unique()) >= {"insufficient_data", "high"}


# values whose printing at 2, 3 or 4 decimals is a near tie, exact zeros of both signs, the 0.05 cut
_SPECIAL = [0.0, -0.0, 0.05, 0.125, -0.125, 0.0005, 1.00005, -2.345, 0.04999999999999999, 1e-7, -1e-7, 0.3, 2.0]


def _values(rng: np.random.Generator, shape: tuple[int, int], nan: bool) -> np.ndarray:
    """Special values, small integers (ties in the contribution order) and uniform floats, mixed."""
    pool = np.concatenate([_SPECIAL, rng.integers(-3, 4, 8).astype(float), rng.uniform(-5, 5, 16)])
    if nan:
        pool = np.concatenate([pool, [np.nan] * 6])
    return rng.choice(pool, size=shape)


@st.composite
def _case(draw):
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    M, C = _values(rng, (n, NF), nan=True), _values(rng, (n, NF), nan=False)
    prob = rng.choice(
        np.concatenate([[0.0, 0.1, 0.2, 0.5, 0.9995, 1.0, 0.0625, 0.3, 0.12345], rng.uniform(0, 1, 8)]), n
    )
    t_mod = draw(st.sampled_from([0.0, 0.1, 0.2, 0.3]))
    t_high = draw(st.sampled_from([t_mod, 0.5, 0.6, 1.0]))
    bands = draw(st.lists(st.sampled_from(["low", "moderate", "high", "insufficient_data"]), min_size=n, max_size=n))
    reasons = draw(
        st.lists(
            st.sampled_from(["", "red_flag", "red_flag;sleep_debt", "acwr_spike", "acwr_spike;red_flag"]),
            min_size=n,
            max_size=n,
        )
    )
    d0 = date(2024, 1, 1)
    rules = conform(
        pl.DataFrame(
            {
                "athlete_id": ["a"] * n,
                "date": [d0 + timedelta(days=i) for i in range(n)],
                "risk_score": [None if b == "insufficient_data" else 10.0 for b in bands],
                "risk_band": bands,
                "reasons": reasons,
                "adjustments": [""] * n,
                "coverage_points": [50.0] * n,
                "score_pct_of_coverage": [12.5] * n,
                "components_json": ["[]"] * n,
                "adjustments_json": ["[]"] * n,
                "model": ["rules"] * n,
            }
        ),
        SCORES,
    )
    bundle = SimpleNamespace(
        thresholds={"moderate": t_mod, "high": t_high},
        label_params=LabelParams(horizon_d=draw(st.integers(1, 14))),
        model_id="logistic-test",
    )
    return rules, M, prob, C, bundle


@settings(max_examples=examples(80), deadline=None)
@given(_case())
def test_columns_equal_the_per_row_oracle(case):
    rules, M, prob, contrib, bundle = case
    _same(
        learned._learned_columns(rules, M, prob, contrib, bundle),
        learned._learned_rows(rules, M, prob, contrib, bundle),
    )
