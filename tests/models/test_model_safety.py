"""A learned model is stored as data: it equals scikit-learn's, and a pickle in a model file never runs.

* :mod:`models.portable` reproduces the fitted ``CalibratedClassifierCV``
  (logistic pipeline and gradient boosting) exactly, also with missing inputs
  and with a feature that had no value at all in training.
* A pickle/joblib payload whose unpickling would create a file is refused with
  a clear error by ``load_model``, by ``strainwatch score --model`` and by a
  config's ``[scorer] model_path``; the file is never created and no unpickler
  is ever called.
* Hand-made models (one linear member, one two-split tree) give hand-computed
  probabilities, and malformed model data are refused naming the field.
"""

from __future__ import annotations

import json
import math
import pickle
import warnings
from datetime import date

import numpy as np
import pytest
from typer.testing import CliRunner

from models import learned, portable
from models.learned import FEATURE_COLUMNS, ModelError
from models.portable import PortableModelError
from tests.models import synth

AS_OF = date(2030, 1, 1)
NF = len(FEATURE_COLUMNS)


@pytest.fixture(scope="module")
def team():
    return synth.to_features(synth.labelled_team(n_athletes=12, days=280, seed=7, signal=True))


@pytest.fixture(scope="module")
def training(team):
    ds = learned.build_dataset(team, as_of=AS_OF)
    return learned._xy(ds)


@pytest.mark.parametrize("kind", ["logistic", "hgb"])
def test_portable_model_equals_scikit_learn(training, team, kind):
    X, y, groups, dates = training
    X = X.copy()
    j = FEATURE_COLUMNS.index("sleep_eff_7d_pct")
    if kind == "logistic":
        X[:, j] = np.nan  # a feature never observed in training (imputed as 0)
    else:  # gradient boosting cannot bin an all-missing feature; mostly missing instead
        X[np.random.default_rng(0).random(len(X)) < 0.7, j] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = learned._fit_calibrated(kind, X, y, groups, dates, 7, 0)
    pm = portable.from_sklearn(fitted, kind, NF)
    assert len(pm.members) == len(fitted.calibrated_classifiers_)
    Xs = learned.model_features(team, as_of=AS_OF).select(FEATURE_COLUMNS).to_numpy()
    rng = np.random.default_rng(1)
    Xs[rng.random(Xs.shape) < 0.2] = np.nan  # many missing inputs
    want = fitted.predict_proba(Xs)[:, 1]
    got = pm.predict_proba(Xs)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    for m, cc in zip(pm.members, fitted.calibrated_classifiers_, strict=True):
        np.testing.assert_allclose(m.decision(Xs), cc.estimator.decision_function(Xs), rtol=1e-12, atol=1e-12)
    # JSON round trip is bit-identical
    back = portable.from_dict(json.loads(json.dumps(portable.to_dict(pm), allow_nan=False)))
    assert np.array_equal(back.predict_proba(Xs), got)


def test_hand_made_linear_model():
    # one member: impute 2, mean 1, scale 2, coef 3, intercept -1, Platt a=-1, b=0.5
    d = {
        "kind": "logistic",
        "n_features": 1,
        "members": [
            {
                "type": "linear",
                "calibration": {"method": "sigmoid", "a": -1.0, "b": 0.5},
                "impute": [2.0],
                "mean": [1.0],
                "scale": [2.0],
                "coef": [3.0],
                "intercept": -1.0,
            }
        ],
    }
    m = portable.from_dict(d)
    p = m.predict_proba(np.array([[5.0], [np.nan]]))
    # x=5: z=2, decision 3*2-1=5, p = 1/(1+exp(-1*5+0.5)) = 1/(1+exp(-4.5))
    # x=nan -> 2: z=0.5, decision 0.5, p = 1/(1+exp(-0.5+0.5)) = 0.5
    assert p[0] == pytest.approx(1 / (1 + math.exp(-4.5)), rel=1e-15)
    assert p[1] == pytest.approx(0.5, rel=1e-15)


def test_hand_made_tree_model():
    # root: x0 <= 1.5 (missing -> right); left leaf 1.0; right: x1 <= 0 (missing -> left) -> -2.0 / 3.0
    tree = {
        "feature": [0, 0, 1, 0, 0],
        "threshold": [1.5, 0.0, 0.0, 0.0, 0.0],
        "missing_left": [False, False, True, False, False],
        "left": [1, 0, 3, 0, 0],
        "right": [2, 0, 4, 0, 0],
        "leaf": [False, True, False, True, True],
        "value": [0.0, 1.0, 0.0, -2.0, 3.0],
    }
    d = {
        "kind": "hgb",
        "n_features": 2,
        "members": [
            {
                "type": "trees",
                "calibration": {"method": "sigmoid", "a": -1.0, "b": 0.0},
                "baseline": 0.25,
                "trees": [tree, tree],
            }
        ],
    }
    m = portable.from_dict(d)
    X = np.array([[1.5, 9.0], [2.0, 0.0], [2.0, 0.1], [np.nan, np.nan], [np.nan, 1.0]])
    # decision = 0.25 + 2 * leaf
    leaves = np.array([1.0, -2.0, 3.0, -2.0, 3.0])
    np.testing.assert_array_equal(m.decisions(X)[0], 0.25 + 2 * leaves)
    np.testing.assert_allclose(m.predict_proba(X), 1 / (1 + np.exp(-(0.25 + 2 * leaves))), rtol=1e-15)


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda d: d["members"][0]["trees"][0]["left"].__setitem__(0, 0), r"trees\[0\]\.left"),  # a loop
        (lambda d: d["members"][0]["trees"][0]["feature"].__setitem__(0, 7), r"trees\[0\]\.feature"),
        (lambda d: d["members"][0]["trees"][0]["value"].pop(), r"trees\[0\]\.value"),
        (lambda d: d["members"][0]["calibration"].__setitem__("a", "x"), r"calibration\.a"),
        (lambda d: d["members"][0]["calibration"].__setitem__("method", "isotonic"), r"calibration\.method"),
        (lambda d: d.__setitem__("members", []), r"model\.members"),
        (lambda d: d["members"][0].__setitem__("baseline", "inf"), r"members\[0\]\.baseline"),
    ],
)
def test_malformed_model_data_are_refused_naming_the_field(mutate, field):
    tree = {
        "feature": [0, 0, 0],
        "threshold": [0.5, 0, 0],
        "missing_left": [True, False, False],
        "left": [1, 0, 0],
        "right": [2, 0, 0],
        "leaf": [False, True, True],
        "value": [0.0, -1.0, 1.0],
    }
    d = {
        "kind": "hgb",
        "n_features": 2,
        "members": [
            {
                "type": "trees",
                "calibration": {"method": "sigmoid", "a": -1.0, "b": 0.0},
                "baseline": 0.0,
                "trees": [tree],
            }
        ],
    }
    portable.from_dict(json.loads(json.dumps(d)))  # valid as made
    mutate(d)
    with pytest.raises(PortableModelError, match=field):
        portable.from_dict(d)


# ------------------------------------------------------------------ pickle payloads never run
class _Payload:
    """Unpickling this creates ``marker`` (as an attacker's code would)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _payload_files(tmp_path):
    marker = tmp_path / "PWNED"
    files = {}
    p = tmp_path / "pickle.joblib"
    p.write_bytes(pickle.dumps({"format": "strainwatch-model", "format_version": 1, "bundle": _Payload(str(marker))}))
    files["pickle"] = p
    p0 = tmp_path / "pickle0.json"  # protocol 0 is ASCII text and does not start with 0x80
    p0.write_bytes(pickle.dumps(_Payload(str(marker)), protocol=0))
    files["pickle-protocol-0"] = p0
    import joblib

    j = tmp_path / "model.joblib"
    joblib.dump(_Payload(str(marker)), j)
    files["joblib"] = j
    jz = tmp_path / "model.json"  # compressed joblib under a .json name
    joblib.dump(_Payload(str(marker)), jz, compress=3)
    files["joblib-compressed"] = jz
    return marker, files


@pytest.fixture
def no_unpickling(monkeypatch):
    """Any call to an unpickler fails the test."""
    import joblib

    def boom(*a, **k):
        raise AssertionError("an unpickler was called")

    monkeypatch.setattr(pickle, "load", boom)
    monkeypatch.setattr(pickle, "loads", boom)
    monkeypatch.setattr(pickle, "Unpickler", boom)
    monkeypatch.setattr(joblib, "load", boom)


def test_the_payload_would_run_if_unpickled(tmp_path):
    """Control: the payload really creates the marker when unpickled (so the tests below can fail)."""
    marker, files = _payload_files(tmp_path)
    pickle.loads(files["pickle"].read_bytes())
    assert marker.exists()


def test_pickle_payload_in_a_model_file_never_runs(tmp_path, no_unpickling):
    marker, files = _payload_files(tmp_path)
    for name, path in files.items():
        with pytest.raises(ModelError) as err:
            learned.load_model(path)
        msg = str(err.value)
        assert str(path) in msg and "JSON" in msg and "pickle" in msg, (name, msg)
        assert not marker.exists(), name


def test_pickle_payload_via_cli_and_config_never_runs(tmp_path, monkeypatch):
    from features.schemas import FEATURES, conform
    from pipelines.cli import app
    from pipelines.store import Store

    monkeypatch.delenv("STRAINWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    marker, files = _payload_files(tmp_path)
    st = Store(tmp_path / "data")
    st.replace_athletes(
        "features", conform(synth.to_features(synth.make_daily("x", days=40).frame(), reference=True), FEATURES)
    )
    runner = CliRunner()
    for path in files.values():
        res = runner.invoke(app, ["score", "--store", str(st.root), "--model", str(path)])
        assert res.exit_code == 2, res.output
        assert "expected a JSON model" in res.output or "not a readable JSON model" in res.output
        assert not marker.exists()
    cfg = tmp_path / "sw.toml"
    cfg.write_text(f'[store]\npath = "{st.root}"\n[scorer]\nmodel_path = "{files["joblib"]}"\n')
    res = runner.invoke(app, ["score", "--config", str(cfg)])
    assert res.exit_code == 2 and "pickle" in res.output, res.output
    assert not marker.exists()


def test_trained_model_file_is_json_and_scores_like_the_in_memory_model(team, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        b = learned.train_model(team, as_of=AS_OF, kind="hgb")
    path = learned.save_model(b, tmp_path / "hgb.json")
    assert path.read_bytes()[:1] == b"{"
    back = learned.load_model(path)
    X = learned.model_features(team, as_of=AS_OF).select(FEATURE_COLUMNS).to_numpy()
    assert np.array_equal(back.predict_proba(X), b.predict_proba(X))
    assert learned.score_features_learned(team, as_of=AS_OF, bundle=back).equals(
        learned.score_features_learned(team, as_of=AS_OF, bundle=b)
    )
