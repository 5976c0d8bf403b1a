"""A release that changes the feature or score formulas recomputes stored values (issue 18).

The formula versions (:mod:`features.version`, :mod:`models.version`) join the
fingerprints that decide whether stored features may be continued
incrementally (``pipelines.stage_features``) and whether the nightly flow
recomputes every athlete from the first day (``pipelines.flows.plan_nightly``).
"""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

import features.version
import models.version
from pipelines import flows
from pipelines.config import load_config
from pipelines.ingest import ingest_paths
from pipelines.stage_features import run_features
from pipelines.store import Store

from .teamgen import athlete_ids, write_day, write_history

FIRST, LAST = date(2025, 1, 6), date(2025, 2, 20)


@pytest.fixture
def store(tmp_path):
    inputs = tmp_path / "inputs"
    write_history(inputs, athlete_ids(2), FIRST, LAST)
    st = Store(tmp_path / "store")
    assert ingest_paths(st, [inputs], workers=1).ok
    return st, inputs


def test_feature_formula_version_forces_a_full_recompute(store, monkeypatch):
    st, inputs = store
    ids = athlete_ids(2)
    assert sorted(run_features(st, as_of=LAST).full) == ids
    nxt = LAST + timedelta(days=1)
    write_day(inputs, ids, nxt)
    ingest_paths(st, [inputs], workers=1)
    # same formulas: the new night continues the stored features (tail path)
    s = run_features(st, as_of=nxt, since=nxt)
    assert sorted(s.tail) == ids and not s.full
    # a release with new feature formulas: every athlete from the first day, even with `since`
    monkeypatch.setattr(features.version, "FEATURES_FORMULA_VERSION", features.version.FEATURES_FORMULA_VERSION + 1)
    s = run_features(st, as_of=nxt, since=nxt)
    assert sorted(s.full) == ids and not s.tail
    assert s.days_recomputed == 2 * ((nxt - FIRST).days + 1)
    # and the run after that is incremental again
    s = run_features(st, as_of=nxt, since=nxt)
    assert sorted(s.tail) == ids and not s.full


@pytest.mark.parametrize(
    "module, name", [(features.version, "FEATURES_FORMULA_VERSION"), (models.version, "SCORES_FORMULA_VERSION")]
)
def test_formula_versions_change_the_nightly_fingerprint_and_plan(store, monkeypatch, tmp_path, module, name):
    st, _ = store
    cfg = load_config(None, environ={})
    fp = flows.params_fingerprint(cfg)
    st.set_state(flows.STATE_PARAMS, fp)
    st.set_state(flows.STATE_AS_OF, LAST.isoformat())
    ids = athlete_ids(2)
    for a in ids:  # scored athletes: a later night continues from the last completed one
        st.write_partition(
            "scores",
            a,
            pl.DataFrame(
                {
                    "athlete_id": [a],
                    "date": [LAST],
                    "risk_score": [10.0],
                    "risk_band": ["low"],
                    "reasons": [""],
                    "adjustments": [""],
                }
            ),
        )
    nxt = LAST + timedelta(days=1)
    assert flows.plan_nightly(st, cfg, nxt, {}, ids) == {a: nxt for a in ids}
    monkeypatch.setattr(module, name, getattr(module, name) + 1)
    assert flows.params_fingerprint(cfg) != fp
    assert flows.plan_nightly(st, cfg, nxt, {}, ids) == {a: None for a in ids}  # None: from the first day
