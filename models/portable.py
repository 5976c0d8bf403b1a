"""A learned model as plain data: evaluated with numpy, stored as JSON, loaded without running code.

A model file from anywhere must never execute code when it is read, so
strainwatch does not unpickle models (pickle and joblib run arbitrary code on
load). :func:`from_sklearn` turns the fitted ``CalibratedClassifierCV`` of
:mod:`models.learned` into numbers only, and :class:`PortableModel` computes
the same probabilities from them with numpy:

``linear`` member (``Pipeline(SimpleImputer(median), StandardScaler(), LogisticRegression)``)
    ``z = (x_imputed - mean) / scale``; ``decision = z . coef + intercept``;
    a missing input takes the training median (0 for a feature that had no
    value in training, as ``SimpleImputer(keep_empty_features=True)`` does).
``trees`` member (``HistGradientBoostingClassifier``, binary, numeric features)
    ``decision = baseline + sum of the trees' leaf values``; at a split node
    a value ``<= threshold`` goes left, a missing value goes to the side the
    node recorded in training.
Calibration (``method="sigmoid"``, Platt)
    ``p = 1 / (1 + exp(a * decision + b))`` per member; the probability is the
    mean over the calibration folds' members (``CalibratedClassifierCV``).

The arithmetic follows scikit-learn's own step by step (same operations in the
same order), so the probabilities equal the fitted estimator's (tested to
1e-12, and a saved and loaded model gives bit-identical probabilities).

:func:`to_dict` / :func:`from_dict` convert to and from JSON-compatible data;
:func:`from_dict` checks every field's type, length and range and every tree's
node links (children after their parent, so a walk always ends), and raises
:class:`PortableModelError` naming the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

__all__ = [
    "PortableModelError",
    "LinearMember",
    "TreeEnsembleMember",
    "Member",
    "PortableModel",
    "from_sklearn",
    "to_dict",
    "from_dict",
]

#: Refuse absurd sizes before allocating (a JSON bomb is not a model).
MAX_MEMBERS = 50
MAX_TREES = 10_000
MAX_NODES_PER_TREE = 100_000


class PortableModelError(ValueError):
    """The model data are not a valid portable model (the message names the field)."""


# ------------------------------------------------------------------ members
@dataclass(frozen=True)
class LinearMember:
    """Impute, standardize, linear decision, then Platt calibration."""

    impute: np.ndarray  # value used for a missing input, per feature
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    a: float  # sigmoid calibration slope
    b: float  # sigmoid calibration intercept

    def standardized(self, X: np.ndarray) -> np.ndarray:
        Z = np.where(np.isnan(X), self.impute, X)
        Z = Z - self.mean
        Z /= self.scale
        return Z

    def decision(self, X: np.ndarray) -> np.ndarray:
        Z = self.standardized(X)
        return (Z @ self.coef.reshape(-1, 1) + np.array([self.intercept])).reshape(-1)


@dataclass(frozen=True)
class Tree:
    """One regression tree in array form (node 0 is the root)."""

    feature: np.ndarray  # int64, split feature (unused at leaves)
    threshold: np.ndarray  # float64, go left when x <= threshold
    missing_left: np.ndarray  # bool, where a missing value goes
    left: np.ndarray  # int64 child indices (unused at leaves)
    right: np.ndarray
    leaf: np.ndarray  # bool
    value: np.ndarray  # float64, leaf value

    def predict(self, X: np.ndarray) -> np.ndarray:
        n = X.shape[0]
        node = np.zeros(n, dtype=np.int64)
        rows = np.arange(n)
        # children come after their parent (checked on load), so at most len(nodes) steps
        for _ in range(len(self.leaf)):
            active = ~self.leaf[node]
            if not active.any():
                break
            x = X[rows, self.feature[node]]
            nan = np.isnan(x)
            with np.errstate(invalid="ignore"):
                go_left = np.where(nan, self.missing_left[node], x <= self.threshold[node])
            nxt = np.where(go_left, self.left[node], self.right[node])
            node = np.where(active, nxt, node)
        return self.value[node]


@dataclass(frozen=True)
class TreeEnsembleMember:
    """Gradient-boosted trees (binary): baseline plus the sum of the trees, then Platt calibration."""

    baseline: float
    trees: tuple[Tree, ...]
    a: float
    b: float

    def decision(self, X: np.ndarray) -> np.ndarray:
        raw = np.zeros(X.shape[0], dtype=np.float64)
        raw += self.baseline
        for t in self.trees:
            raw += t.predict(X)
        return raw


Member = LinearMember | TreeEnsembleMember


@dataclass(frozen=True)
class PortableModel:
    """Mean of calibrated members over the calibration folds.

    Attributes
    ----------
    kind : str
        ``"logistic"`` (linear members) or ``"hgb"`` (tree members).
    n_features : int
    members : tuple
    """

    kind: str
    n_features: int
    members: tuple[Member, ...]

    def _check(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} inputs, got shape {X.shape}")
        return X

    def decisions(self, X: np.ndarray) -> list[np.ndarray]:
        """Uncalibrated decision values (logit scale) of every member."""
        X = self._check(X)
        return [m.decision(X) for m in self.members]

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of the positive class, per row."""
        X = self._check(X)
        acc = np.zeros(X.shape[0], dtype=np.float64)
        for m in self.members:
            p = expit(-(m.a * m.decision(X) + m.b))
            p[(1.0 < p) & (p <= 1.0 + 1e-5)] = 1.0
            acc += p
        acc /= len(self.members)
        return acc


# ------------------------------------------------------------------ from scikit-learn
def from_sklearn(model: Any, kind: str, n_features: int) -> PortableModel:
    """Extract the numbers of a fitted binary ``CalibratedClassifierCV(method="sigmoid")``.

    Raises
    ------
    PortableModelError
        An estimator or calibrator this module cannot represent.
    """
    members: list[Member] = []
    for cc in model.calibrated_classifiers_:
        if len(cc.calibrators) != 1 or cc.method != "sigmoid":
            raise PortableModelError("only binary models with sigmoid calibration can be stored")
        cal = cc.calibrators[0]
        a, b = float(cal.a_), float(cal.b_)
        est = cc.estimator
        if list(getattr(est, "classes_", [0, 1])) != [0, 1]:
            raise PortableModelError(f"expected classes [0, 1], got {list(est.classes_)}")
        if kind == "logistic":
            imp, sc, lr = est[0], est[1], est[2]
            stats = np.asarray(imp.statistics_, dtype=np.float64)
            fill = np.where(np.isnan(stats), 0.0, stats)  # keep_empty_features=True imputes 0
            mean = np.asarray(sc.mean_, dtype=np.float64) if sc.with_mean else np.zeros(n_features)
            scale = np.asarray(sc.scale_, dtype=np.float64) if sc.with_std else np.ones(n_features)
            members.append(
                LinearMember(
                    impute=fill,
                    mean=mean,
                    scale=scale,
                    coef=np.asarray(lr.coef_[0], dtype=np.float64),
                    intercept=float(lr.intercept_[0]),
                    a=a,
                    b=b,
                )
            )
        elif kind == "hgb":
            if est.n_trees_per_iteration_ != 1:
                raise PortableModelError("only binary gradient boosting can be stored")
            if getattr(est, "is_categorical_", None) is not None and np.any(est.is_categorical_):
                raise PortableModelError("categorical features cannot be stored")
            trees = []
            for it in est._predictors:
                (pred,) = it
                nd = pred.nodes
                trees.append(
                    Tree(
                        feature=nd["feature_idx"].astype(np.int64),
                        threshold=nd["num_threshold"].astype(np.float64),
                        missing_left=nd["missing_go_to_left"].astype(bool),
                        left=nd["left"].astype(np.int64),
                        right=nd["right"].astype(np.int64),
                        leaf=nd["is_leaf"].astype(bool),
                        value=nd["value"].astype(np.float64),
                    )
                )
            members.append(
                TreeEnsembleMember(
                    baseline=float(np.asarray(est._baseline_prediction).ravel()[0]), trees=tuple(trees), a=a, b=b
                )
            )
        else:
            raise PortableModelError(f"model kind must be 'logistic' or 'hgb', got {kind!r}")
    return PortableModel(kind=kind, n_features=n_features, members=tuple(members))


# ------------------------------------------------------------------ JSON-compatible data
def _enc(x: float) -> float | str:
    """Floats for JSON: finite values as numbers (repr round-trips exactly), others as strings."""
    x = float(x)
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def _enc_list(a: np.ndarray) -> list[float | str]:
    return [_enc(v) for v in np.asarray(a, dtype=np.float64).tolist()]


def to_dict(model: PortableModel) -> dict[str, Any]:
    """JSON-compatible data of ``model`` (only numbers, strings, lists and dicts)."""
    members = []
    for m in model.members:
        cal = {"method": "sigmoid", "a": _enc(m.a), "b": _enc(m.b)}
        if isinstance(m, LinearMember):
            members.append(
                {
                    "type": "linear",
                    "calibration": cal,
                    "impute": _enc_list(m.impute),
                    "mean": _enc_list(m.mean),
                    "scale": _enc_list(m.scale),
                    "coef": _enc_list(m.coef),
                    "intercept": _enc(m.intercept),
                }
            )
        else:
            members.append(
                {
                    "type": "trees",
                    "calibration": cal,
                    "baseline": _enc(m.baseline),
                    "trees": [
                        {
                            "feature": t.feature.tolist(),
                            "threshold": _enc_list(t.threshold),
                            "missing_left": t.missing_left.tolist(),
                            "left": t.left.tolist(),
                            "right": t.right.tolist(),
                            "leaf": t.leaf.tolist(),
                            "value": _enc_list(t.value),
                        }
                        for t in m.trees
                    ],
                }
            )
    return {"kind": model.kind, "n_features": model.n_features, "members": members}


def _num(v: Any, where: str, *, finite: bool = True) -> float:
    if isinstance(v, bool):
        raise PortableModelError(f"{where}: expected a number, got {v!r}")
    if isinstance(v, (int, float)):
        x = float(v)
    elif isinstance(v, str) and v in ("nan", "inf", "-inf"):
        x = float(v)
    else:
        raise PortableModelError(f"{where}: expected a number, got {type(v).__name__}")
    if finite and not math.isfinite(x):
        raise PortableModelError(f"{where}: expected a finite number, got {v!r}")
    return x


def _vec(v: Any, n: int | None, where: str, *, finite: bool = True) -> np.ndarray:
    if not isinstance(v, list):
        raise PortableModelError(f"{where}: expected a list of numbers, got {type(v).__name__}")
    if n is not None and len(v) != n:
        raise PortableModelError(f"{where}: expected {n} numbers, got {len(v)}")
    return np.array([_num(x, f"{where}[{i}]", finite=finite) for i, x in enumerate(v)], dtype=np.float64)


def _ints(v: Any, n: int, where: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) != n:
        raise PortableModelError(f"{where}: expected a list of {n} integers")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in v):
        raise PortableModelError(f"{where}: expected integers")
    return np.array(v, dtype=np.int64)


def _bools(v: Any, n: int, where: str) -> np.ndarray:
    if not isinstance(v, list) or len(v) != n or not all(isinstance(x, bool) for x in v):
        raise PortableModelError(f"{where}: expected a list of {n} true/false values")
    return np.array(v, dtype=bool)


def _obj(v: Any, keys: set[str], where: str) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise PortableModelError(f"{where}: expected an object, got {type(v).__name__}")
    missing = keys - set(v)
    if missing:
        raise PortableModelError(f"{where}: missing {', '.join(sorted(missing))}")
    return v


def _tree(d: Any, n_features: int, where: str) -> Tree:
    d = _obj(d, {"feature", "threshold", "missing_left", "left", "right", "leaf", "value"}, where)
    if not isinstance(d["leaf"], list) or not 1 <= len(d["leaf"]) <= MAX_NODES_PER_TREE:
        raise PortableModelError(f"{where}.leaf: expected 1 to {MAX_NODES_PER_TREE} nodes")
    n = len(d["leaf"])
    leaf = _bools(d["leaf"], n, f"{where}.leaf")
    feature = _ints(d["feature"], n, f"{where}.feature")
    left = _ints(d["left"], n, f"{where}.left")
    right = _ints(d["right"], n, f"{where}.right")
    threshold = _vec(d["threshold"], n, f"{where}.threshold", finite=False)
    value = _vec(d["value"], n, f"{where}.value")
    missing_left = _bools(d["missing_left"], n, f"{where}.missing_left")
    idx = np.arange(n)
    split = ~leaf
    if np.any(split & ((feature < 0) | (feature >= n_features))):
        raise PortableModelError(f"{where}.feature: a split feature is outside 0..{n_features - 1}")
    for name, child in (("left", left), ("right", right)):
        if np.any(split & ((child <= idx) | (child >= n))):
            raise PortableModelError(f"{where}.{name}: a child must come after its node and exist")
    if np.any(split & np.isnan(threshold)):
        raise PortableModelError(f"{where}.threshold: a split threshold is missing")
    # leaves' unused fields are normalised so that indexing with them is always safe
    feature = np.where(split, feature, 0)
    left = np.where(split, left, idx)
    right = np.where(split, right, idx)
    return Tree(
        feature=feature, threshold=threshold, missing_left=missing_left, left=left, right=right, leaf=leaf, value=value
    )


def from_dict(d: Any) -> PortableModel:
    """Build and check a :class:`PortableModel` from :func:`to_dict` data.

    Raises
    ------
    PortableModelError
        A missing or ill-typed field, wrong lengths, or a tree whose links do not form a tree.
    """
    d = _obj(d, {"kind", "n_features", "members"}, "model")
    kind, nf = d["kind"], d["n_features"]
    if kind not in ("logistic", "hgb"):
        raise PortableModelError(f"model.kind: expected 'logistic' or 'hgb', got {kind!r}")
    if isinstance(nf, bool) or not isinstance(nf, int) or not 1 <= nf <= 1000:
        raise PortableModelError(f"model.n_features: expected an integer in [1, 1000], got {nf!r}")
    ms = d["members"]
    if not isinstance(ms, list) or not 1 <= len(ms) <= MAX_MEMBERS:
        raise PortableModelError(f"model.members: expected a list of 1 to {MAX_MEMBERS} members")
    members: list[Member] = []
    for i, m in enumerate(ms):
        where = f"model.members[{i}]"
        m = _obj(m, {"type", "calibration"}, where)
        cal = _obj(m["calibration"], {"method", "a", "b"}, f"{where}.calibration")
        if cal["method"] != "sigmoid":
            raise PortableModelError(f"{where}.calibration.method: expected 'sigmoid', got {cal['method']!r}")
        a, b = _num(cal["a"], f"{where}.calibration.a"), _num(cal["b"], f"{where}.calibration.b")
        want = "linear" if kind == "logistic" else "trees"
        if m["type"] != want:
            raise PortableModelError(f"{where}.type: a {kind} model has {want!r} members, got {m['type']!r}")
        if want == "linear":
            m = _obj(m, {"impute", "mean", "scale", "coef", "intercept"}, where)
            scale = _vec(m["scale"], nf, f"{where}.scale")
            if np.any(scale == 0):
                raise PortableModelError(f"{where}.scale: must not be 0")
            members.append(
                LinearMember(
                    impute=_vec(m["impute"], nf, f"{where}.impute"),
                    mean=_vec(m["mean"], nf, f"{where}.mean"),
                    scale=scale,
                    coef=_vec(m["coef"], nf, f"{where}.coef"),
                    intercept=_num(m["intercept"], f"{where}.intercept"),
                    a=a,
                    b=b,
                )
            )
        else:
            m = _obj(m, {"baseline", "trees"}, where)
            ts = m["trees"]
            if not isinstance(ts, list) or not 1 <= len(ts) <= MAX_TREES:
                raise PortableModelError(f"{where}.trees: expected a list of 1 to {MAX_TREES} trees")
            members.append(
                TreeEnsembleMember(
                    baseline=_num(m["baseline"], f"{where}.baseline"),
                    trees=tuple(_tree(t, nf, f"{where}.trees[{j}]") for j, t in enumerate(ts)),
                    a=a,
                    b=b,
                )
            )
    return PortableModel(kind=kind, n_features=nf, members=tuple(members))
