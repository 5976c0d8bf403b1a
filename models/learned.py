"""Learned back-strain model (opt-in): labels, causal features, training, validation, scoring.

When a team has labelled days (``back_pain_0_10`` in the wellness data, e.g.
from the generic CSV's pain log), a scikit-learn model can replace the rule
score. It predicts the probability that **a new back-pain episode starts
within the next H = 7 days** (domain brief section 6, "Learned model").

Labels (:func:`make_labels`)
    A day is *symptomatic* when ``back_pain_0_10 >= pain_threshold`` (3).
    An *episode* starts on a symptomatic day with no symptomatic day in the
    ``gap_d`` (7) days before it (the 7-day gap rule) and ends on its last
    symptomatic day before such a gap. The label of day d is 1 when an onset
    falls in d+1..d+H, else 0. Dropped (label null): days inside an episode,
    the ``return_window_d`` (14) days after an episode ends, days whose
    window d+1..d+H has no pain report at all and no onset (unknown), and
    days whose window runs past the athlete's last day (censored).
Features (:func:`model_features`)
    Causal and athlete-relative, with the scorer's timing (load from row
    d-1, morning recovery from row d): EWMA ACWR, weekly change (clipped to
    [-100, 300] %, 300 after an empty week), monotony, strain / own P90,
    hard-day streak, 7-d load as a z-score against the athlete's own past,
    HRV z, RHR z, RHR delta, 7-d sleep minus the athlete's own past mean,
    7-d sleep debt and efficiency, and today's (sub-episode) pain. Every
    athlete-relative statistic uses days strictly before d.
Models (:func:`train_model`)
    ``"logistic"``: ``Pipeline(SimpleImputer(median), StandardScaler(),
    LogisticRegression(class_weight="balanced"))`` - scaling is fitted inside
    each fold; ``"hgb"``: ``HistGradientBoostingClassifier`` (NaN-native,
    ``monotonic_cst`` from the direction of each risk factor). Both are wrapped
    in ``CalibratedClassifierCV(method="sigmoid")`` (isotonic overfits below
    ~1000 samples [M1]) whose inner folds are grouped by athlete (or forward in
    time for a single athlete).
Validation (:func:`evaluate`)
    ``StratifiedGroupKFold`` by athlete and a forward split in time
    (``TimeSeriesSplit`` over calendar days with ``gap >= H``, so no training
    day's label window reaches the test days) [M2]. PR-AUC, ROC-AUC and Brier
    score, and a calibration table, for each model, the rule score (ranked
    raw; Platt-scaled inside each fold for Brier/calibration) and an
    intercept-only baseline (the training prevalence) [R16].
Honesty
    Events per feature (EPV) below 10 [M3] gives a warning in the training
    result, the evaluation report and the CLI output.

Scoring with a model (:func:`score_features_learned`) keeps the rule
scorer's coverage rule, red-flag override and cause-tied adjustments; the
reasons come from per-feature contributions (coefficient x standardized
value for the logistic model, occlusion against the training median for
gradient boosting).

References
----------
M1 scikit-learn ``CalibratedClassifierCV`` documentation. M2 scikit-learn
``StratifiedGroupKFold`` / ``TimeSeriesSplit`` documentation. M3 Peduzzi et
al., J Clin Epidemiol 1996;49:1373. R16 Impellizzeri et al., Sports Med
2021;51:581.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from features.schemas import FEATURES, SCORES, conform, require
from models.components import REGISTRY
from models.evaluate import LabelSpec, event_days, label_history, load_baselines
from models.portable import LinearMember, PortableModel, PortableModelError, from_dict, from_sklearn, to_dict
from models.rules import ScorerParams

__all__ = [
    "FEATURE_COLUMNS",
    "FEATURE_REASON",
    "LabelParams",
    "ModelBundle",
    "ModelError",
    "EvaluationReport",
    "make_labels",
    "model_features",
    "build_dataset",
    "train_model",
    "evaluate",
    "forward_splits",
    "group_splits",
    "save_model",
    "load_model",
    "bundle_to_dict",
    "bundle_from_dict",
    "score_features_learned",
]

BUNDLE_FORMAT = "strainwatch-model"
#: 2: JSON data (models.portable); 1 was a joblib pickle, which is no longer read (unpickling runs code).
BUNDLE_FORMAT_VERSION = 2
#: A model file larger than this is refused before it is parsed.
MAX_MODEL_BYTES = 64 * 1024 * 1024
MIN_EPV = 10.0
#: Fewer distinct onsets than this: refuse to train at all.
MIN_ONSETS_TO_TRAIN = 5

#: Model input columns, in the order a model file stores them (each belongs to the component whose
#: registry entry lists it in ``learned``: models.components.REGISTRY).
FEATURE_COLUMNS: tuple[str, ...] = (
    "acwr_ewma",
    "weekly_change_clip_pct",
    "monotony",
    "strain_rel_p90",
    "hard_day_streak",
    "acute_load_z",
    "hrv_z",
    "rhr_z",
    "rhr_delta_bpm",
    "sleep_rel_h",
    "sleep_debt_7d_h",
    "sleep_eff_7d_pct",
    "back_pain_0_10",
)

#: Feature -> reason code (for the reasons of a learned score): the registry's ``learned`` columns.
FEATURE_REASON: dict[str, str] = {col: c.reason for c in REGISTRY for col, _ in c.learned}

#: Direction of each feature's effect on risk (HistGradientBoosting ``monotonic_cst``): the registry's.
FEATURE_DIRECTION: dict[str, int] = {col: sign for c in REGISTRY for col, sign in c.learned}

if set(FEATURE_REASON) != set(FEATURE_COLUMNS):  # an input without a component, or the reverse
    raise ImportError(
        f"models.learned: FEATURE_COLUMNS {sorted(FEATURE_COLUMNS)} differ from the registry's learned columns "
        f"{sorted(FEATURE_REASON)} (models.components)"
    )

ModelKind = Literal["logistic", "hgb"]


class ModelError(ValueError):
    """A model bundle cannot be trained, read or used (the message says why)."""


@dataclass(frozen=True)
class LabelParams:
    """Label definition (domain brief section 6).

    Parameters
    ----------
    horizon_d : int
        H: an onset within d+1..d+H labels day d positive [d]. Default 7.
    pain_threshold : float
        Pain [0-10] that counts as symptomatic. Default 3.
    gap_d : int
        Symptom-free days that separate two episodes (7-day gap rule) [d].
    return_window_d : int
        Days after an episode's end that are dropped [d]. Default 14.
    """

    horizon_d: int = 7
    pain_threshold: float = 3.0
    gap_d: int = 7
    return_window_d: int = 14
    #: the self-report column that defines a symptomatic day, and the comparison with
    #: ``pain_threshold`` (e.g. ``soreness_1_5 <= 2`` for PMSys soreness, 1 = very sore)
    label_column: str = "back_pain_0_10"
    label_op: str = ">="

    def __post_init__(self) -> None:
        for name, lo, hi in (("horizon_d", 1, 60), ("gap_d", 1, 60), ("return_window_d", 0, 120)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ValueError(f"{name}: expected an integer in [{lo}, {hi}], got {v!r}")
        if self.label_op not in (">=", "<="):
            raise ValueError(f"label_op: expected '>=' or '<=', got {self.label_op!r}")
        v = self.pain_threshold
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"pain_threshold: expected a finite number, got {v!r}")
        if self.label_column == "back_pain_0_10" and not 0 < v <= 10:
            raise ValueError(f"pain_threshold: expected a number in (0, 10], got {v!r}")

    def describe(self) -> str:
        t = int(self.pain_threshold) if float(self.pain_threshold).is_integer() else self.pain_threshold
        return f"{self.label_column} {self.label_op} {t}"


# ---------------------------------------------------------------- labels
def make_labels(features: pl.DataFrame, *, as_of: date, params: LabelParams | None = None) -> pl.DataFrame:
    """Episode-onset labels for every athlete-day up to ``as_of``.

    Parameters
    ----------
    features : polars.DataFrame
        FEATURES (uses ``athlete_id``, ``date``, ``back_pain_0_10``).
    as_of : datetime.date
        Last day whose pain report is read; windows past it are censored.
    params : LabelParams, optional

    Returns
    -------
    polars.DataFrame
        ``athlete_id, date, label`` (Int8: 1, 0 or null = dropped),
        ``onset`` (bool), ``in_episode`` (bool), ``drop_reason`` (String,
        null when kept: "in_episode", "return_window", "no_reports",
        "censored").
    """
    lp = params or LabelParams()
    require(features, FEATURES)
    if lp.label_column not in features.columns:
        raise ModelError(f"no column {lp.label_column!r} for the label; available: {', '.join(features.columns)}")
    f = (
        features.filter(pl.col("date") <= as_of)
        .select("athlete_id", "date", pl.col(lp.label_column).cast(pl.Float64).fill_nan(None).alias("_pain"))
        .sort("athlete_id", "date")
    )
    return _labels(f, lp)


def _labels(f: pl.DataFrame, lp: LabelParams) -> pl.DataFrame:
    """The labels of :func:`make_labels`, as polars expressions over every athlete's calendar days.

    ``f``: ``athlete_id, date, _pain`` (null = no report), sorted. Each athlete's
    days from its first to its last row are indexed ``i`` (gaps are days without
    a report); windows are differences of cumulative counts.
    """
    schema = {
        "athlete_id": pl.String,
        "date": pl.Date,
        "label": pl.Int8,
        "onset": pl.Boolean,
        "in_episode": pl.Boolean,
        "drop_reason": pl.String,
    }
    if f.is_empty():
        return pl.DataFrame(schema=schema)
    f = f.unique(["athlete_id", "date"], keep="last", maintain_order=True)  # one value a day, as before
    span = f.group_by("athlete_id", maintain_order=True).agg(pl.col("date").min().alias("_lo"), pl.col("date").max())
    cal = (
        span.select("athlete_id", pl.date_ranges("_lo", "date").alias("date"))
        .explode("date")
        .join(f.with_columns(pl.lit(True).alias("_row")), on=["athlete_id", "date"], how="left")
        .sort("athlete_id", "date")
    )
    a = "athlete_id"
    i = pl.int_range(pl.len(), dtype=pl.Int64).over(a)
    n = pl.len().over(a)
    pain = pl.col("_pain")
    reported = pain.is_not_null()
    sym = reported & ((pain <= lp.pain_threshold) if lp.label_op == "<=" else (pain >= lp.pain_threshold))
    g = cal.with_columns(i.alias("_i"), n.alias("_n"), reported.alias("_rep"), sym.fill_null(False).alias("_sym"))
    # an onset: a symptomatic day more than gap_d days after the previous symptomatic day
    prev_sym = pl.when(pl.col("_sym")).then(pl.col("_i")).shift(1).forward_fill().over(a)
    g = g.with_columns((pl.col("_sym") & (prev_sym.is_null() | (pl.col("_i") - prev_sym > lp.gap_d))).alias("onset"))
    # an episode runs from its onset to its last symptomatic day before the next onset
    g = g.with_columns(pl.col("onset").cast(pl.Int64).cum_sum().over(a).alias("_ep"))
    g = g.with_columns(pl.when(pl.col("_sym")).then(pl.col("_i")).max().over(a, "_ep").alias("_end"))
    last_end = pl.when(pl.col("_sym") & (pl.col("_i") == pl.col("_end"))).then(pl.col("_i"))
    g = g.with_columns(
        ((pl.col("_ep") > 0) & (pl.col("_i") <= pl.col("_end"))).alias("in_episode"),
        # within return_window_d days after the end of an episode
        ((pl.col("_i") - last_end.shift(1).forward_fill().over(a)) <= lp.return_window_d)
        .fill_null(False)
        .alias("_ret"),
    )
    # the window d+1..d+H: onsets and reports counted by cumulative sums (clipped at the last day)
    H = lp.horizon_d
    c_on = pl.col("onset").cast(pl.Int64).cum_sum().over(a)
    c_rep = pl.col("_rep").cast(pl.Int64).cum_sum().over(a)
    g = g.with_columns(c_on.alias("_con"), c_rep.alias("_crep"))
    on_ahead = pl.col("_con").shift(-H).over(a).fill_null(pl.col("_con").last().over(a)) - pl.col("_con")
    rep_ahead = pl.col("_crep").shift(-H).over(a) - pl.col("_crep")
    reason = (
        pl.when(pl.col("in_episode"))
        .then(pl.lit("in_episode"))
        .when(pl.col("_ret"))
        .then(pl.lit("return_window"))
        .when(on_ahead > 0)
        .then(pl.lit(None, dtype=pl.String))
        .when(pl.col("_i") + H > pl.col("_n") - 1)
        .then(pl.lit("censored"))
        .when(rep_ahead == 0)
        .then(pl.lit("no_reports"))
    )
    g = g.with_columns(reason.alias("drop_reason"), (on_ahead > 0).alias("_pos"))
    return (
        g.filter(pl.col("_row").fill_null(False))
        .select(
            "athlete_id",
            "date",
            pl.when(pl.col("drop_reason").is_null()).then(pl.col("_pos").cast(pl.Int8)).alias("label"),
            "onset",
            "in_episode",
            "drop_reason",
        )
        .cast(schema)
    )


# ---------------------------------------------------------------- features
def _expanding_before(x: pl.Expr, min_n: int) -> tuple[pl.Expr, pl.Expr]:
    """Mean and sample SD of the athlete's values strictly before each day (>= min_n values)."""
    prev = x.shift(1)
    n = prev.is_not_null().cast(pl.Float64).cum_sum()
    s1 = prev.fill_null(0.0).cum_sum()
    s2 = (prev.fill_null(0.0) ** 2).cum_sum()
    mean = s1 / n
    var = (s2 - n * mean**2) / (n - 1)
    ok = n >= min_n
    return (pl.when(ok).then(mean).otherwise(None), pl.when(ok & (var > 0)).then(var.sqrt()).otherwise(None))


def model_features(features: pl.DataFrame, *, as_of: date, min_history: int = 28) -> pl.DataFrame:
    """Causal, athlete-relative model inputs for every athlete-day up to ``as_of``.

    Load columns come from the FEATURES row of d-1 and recovery columns from
    row d (the rule scorer's timing, :mod:`models.rules`). The athlete-relative
    statistics (``acute_load_z``, ``sleep_rel_h``) use only days before d,
    with at least ``min_history`` values.

    Returns
    -------
    polars.DataFrame
        ``athlete_id, date`` and :data:`FEATURE_COLUMNS` (Float64, null when
        unknown).
    """
    require(features, FEATURES)
    f = features.filter(pl.col("date") <= as_of).sort("athlete_id", "date")
    # the d-1 load row by calendar join (robust to missing rows)
    load_cols = [
        "acwr_ewma",
        "weekly_change_pct",
        "monotony",
        "strain_au",
        "strain_p90_au",
        "hard_day_streak",
        "acute_7d_au",
    ]
    prev = f.select(
        "athlete_id",
        (pl.col("date") + timedelta(days=1)).alias("date"),
        *[pl.col(c).alias(f"_l_{c}") for c in load_cols],
    )
    wk = f.select(
        "athlete_id", (pl.col("date") + timedelta(days=8)).alias("date"), pl.col("acute_7d_au").alias("_l8_acute")
    )
    g = (
        f.join(prev, on=["athlete_id", "date"], how="left")
        .join(wk, on=["athlete_id", "date"], how="left")
        .sort("athlete_id", "date")
    )
    acute = pl.col("_l_acute_7d_au")
    acute_mean, acute_sd = _expanding_before(acute, min_history)
    sleep_mean, _ = _expanding_before(pl.col("sleep_7d_h"), min_history)
    wc = pl.col("_l_weekly_change_pct")
    g = g.with_columns(
        pl.col("_l_acwr_ewma").alias("acwr_ewma_in"),
        pl.when(wc.is_not_null())
        .then(wc.clip(-100.0, 300.0))
        .when((pl.col("_l8_acute") == 0) & (acute > 0))
        .then(300.0)
        .when((pl.col("_l8_acute") == 0) & (acute == 0))
        .then(0.0)
        .otherwise(None)
        .alias("weekly_change_clip_pct"),
        pl.when(pl.col("_l_monotony").is_null() & (acute == 0))
        .then(0.0)
        .otherwise(pl.col("_l_monotony"))
        .alias("monotony_in"),
        pl.when(pl.col("_l_strain_p90_au") > 0)
        .then(pl.col("_l_strain_au") / pl.col("_l_strain_p90_au"))
        .otherwise(None)
        .alias("strain_rel_p90"),
        pl.col("_l_hard_day_streak").cast(pl.Float64).alias("hard_day_streak_in"),
        ((acute - acute_mean.over("athlete_id")) / acute_sd.over("athlete_id")).alias("acute_load_z"),
        (pl.col("sleep_7d_h") - sleep_mean.over("athlete_id")).alias("sleep_rel_h"),
    )
    built = {"acwr_ewma": "acwr_ewma_in", "monotony": "monotony_in", "hard_day_streak": "hard_day_streak_in"}
    return g.select(
        "athlete_id",
        "date",
        *[pl.col(built.get(c, c)).cast(pl.Float64).fill_nan(None).alias(c) for c in FEATURE_COLUMNS],
    )


def build_dataset(
    features: pl.DataFrame,
    *,
    as_of: date,
    label_params: LabelParams | None = None,
    scorer_params: ScorerParams | None = None,
) -> pl.DataFrame:
    """Labelled rows (label not null) with model inputs and the rule score.

    Returns
    -------
    polars.DataFrame
        ``athlete_id, date, label`` (Int8), ``onset_date`` (the onset a
        positive day precedes; events are counted as distinct onsets, not
        positive days), :data:`FEATURE_COLUMNS`,
        ``rule_points`` (the rule scorer's points, also on insufficient-data
        days), sorted by date then athlete.
    """
    lab = make_labels(features, as_of=as_of, params=label_params)
    # the onset each positive day points to (its next onset), to count events, not positive days
    lab = lab.with_columns(
        pl.when(pl.col("onset"))
        .then(pl.col("date"))
        .otherwise(None)
        .backward_fill()
        .shift(-1)
        .over("athlete_id")
        .alias("next_onset")
    ).filter(pl.col("label").is_not_null())
    X = model_features(features, as_of=as_of)
    # the rule points need only the numbers: columnar (issue 19), equal to score_features' columns
    from models.columnar import score_numbers

    rules = score_numbers(features, as_of=as_of, params=scorer_params).select(
        "athlete_id",
        "date",
        (pl.col("score_pct_of_coverage").fill_null(0.0) * pl.col("coverage_points") / 100.0).alias("rule_points"),
    )
    ds = lab.select(
        "athlete_id",
        "date",
        "label",
        pl.when(pl.col("label") == 1).then(pl.col("next_onset")).otherwise(None).alias("onset_date"),
    ).join(X, on=["athlete_id", "date"], how="inner")
    ds = ds.join(rules, on=["athlete_id", "date"], how="left")
    return ds.sort("date", "athlete_id")


# ---------------------------------------------------------------- splits
def forward_splits(
    dates: Sequence[date] | np.ndarray, *, n_splits: int = 4, gap_d: int = 7
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Forward-in-time splits over calendar days with a gap of ``gap_d`` days.

    ``TimeSeriesSplit(n_splits, gap=gap_d)`` is applied to the sorted unique
    calendar days (all athletes pooled), then mapped back to rows, so every
    training day is at least ``gap_d + 1`` days before every test day: a
    training row's label window d+1..d+H (H <= gap_d) never reaches a test day.
    """
    from sklearn.model_selection import TimeSeriesSplit

    d = np.asarray(dates, dtype="datetime64[D]")
    first = d.min()
    days = np.arange(first, d.max() + np.timedelta64(1, "D"))  # every calendar day, also without rows
    if len(days) < (n_splits + 1) + gap_d * n_splits:
        raise ModelError(
            f"forward validation needs more calendar days: {len(days)} days for {n_splits} splits "
            f"with a {gap_d}-day gap"
        )
    out = []
    for tr, te in TimeSeriesSplit(n_splits=n_splits, gap=gap_d).split(days):
        tr_days, te_days = days[tr], days[te]
        tr_rows = np.flatnonzero(d <= tr_days.max())
        te_rows = np.flatnonzero((d >= te_days.min()) & (d <= te_days.max()))
        if len(tr_rows) and len(te_rows):
            out.append((tr_rows, te_rows))
    return out


def group_splits(
    y: np.ndarray, groups: np.ndarray, *, n_splits: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``StratifiedGroupKFold`` by athlete (no athlete in both train and test)."""
    from sklearn.model_selection import StratifiedGroupKFold

    n_groups = len(np.unique(groups))
    k = min(n_splits, n_groups)
    if k < 2:
        raise ModelError(f"validation by athlete needs at least 2 athletes, found {n_groups}")
    cv = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, te) for tr, te in cv.split(np.zeros(len(y)), y, groups)]


def _inner_cv(y: np.ndarray, groups: np.ndarray, dates: np.ndarray, gap_d: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Calibration folds inside a training set: by athlete, else forward in time."""
    pos_groups = len(np.unique(groups[y == 1]))
    if len(np.unique(groups)) >= 3 and pos_groups >= 3:
        from sklearn.model_selection import StratifiedGroupKFold

        return list(StratifiedGroupKFold(n_splits=3).split(np.zeros(len(y)), y, groups))
    splits = forward_splits(dates, n_splits=3, gap_d=gap_d)
    splits = [(tr, te) for tr, te in splits if y[tr].min() != y[tr].max()]
    if not splits:
        raise ModelError("too few events to calibrate the model inside the training data")
    return splits


# ---------------------------------------------------------------- models
def _estimator(kind: ModelKind, seed: int, columns: Sequence[str] = FEATURE_COLUMNS):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "logistic":
        return Pipeline(
            [
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
                ("clf", LogisticRegression(class_weight="balanced", max_iter=2000)),
            ]
        )
    if kind == "hgb":
        return HistGradientBoostingClassifier(
            max_depth=3,
            learning_rate=0.1,
            max_iter=100,
            min_samples_leaf=40,
            l2_regularization=1.0,
            monotonic_cst=[FEATURE_DIRECTION[c] for c in columns],
            random_state=seed,
        )
    raise ModelError(f"model kind must be 'logistic' or 'hgb', got {kind!r}")


def _fit_calibrated(
    kind: ModelKind,
    X: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    dates: np.ndarray,
    gap_d: int,
    seed: int,
    columns: Sequence[str] = FEATURE_COLUMNS,
):
    from sklearn.calibration import CalibratedClassifierCV

    if y.min() == y.max():
        raise ModelError("training data have only one class (no onset, or only onsets)")
    cv = _inner_cv(y, groups, dates, gap_d)
    model = CalibratedClassifierCV(_estimator(kind, seed, columns), method="sigmoid", cv=cv)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ss]kipping features without any observed values.*")
        model.fit(X, y)
    return model


def usable_columns(X: np.ndarray, names: Sequence[str] = FEATURE_COLUMNS) -> tuple[list[int], list[str]]:
    """Indices of the columns a model can learn from, and a note for each one dropped.

    A column with no value at all (e.g. ``hrv_z`` for a team without HRV) or a
    single value everywhere carries no information and breaks some
    estimators (scikit-learn's gradient boosting on an all-empty column).
    """
    keep, notes = [], []
    for j, name in enumerate(names):
        col = X[:, j]
        vals = col[np.isfinite(col)]
        if vals.size == 0:
            notes.append(f"dropped {name}: empty everywhere (no such data)")
        elif np.all(vals == vals[0]):
            notes.append(f"dropped {name}: the same value ({vals[0]:g}) on every day with data")
        else:
            keep.append(j)
    return keep, notes


def _xy(ds: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X = ds.select(FEATURE_COLUMNS).to_numpy().astype(float)
    y = ds["label"].to_numpy().astype(int)
    groups = ds["athlete_id"].to_numpy()
    dates = ds["date"].to_numpy().astype("datetime64[D]")
    return X, y, groups, dates


def _dataset_hash(ds: pl.DataFrame) -> str:
    h = hashlib.sha256()
    cols = ["athlete_id", "date", "label", *FEATURE_COLUMNS]
    h.update(ds.select(cols).sort("athlete_id", "date").write_csv(float_precision=9).encode())
    return h.hexdigest()


def _count_onsets(ds: pl.DataFrame) -> int:
    """Distinct episode onsets behind the positive rows (the events of EPV)."""
    return ds.filter(pl.col("label") == 1).select("athlete_id", "onset_date").unique().height


def _epv_warning(n_events: int, n_features: int) -> str | None:
    epv = n_events / max(1, n_features)
    if epv < MIN_EPV:
        return (
            f"only {n_events} event{'s' if n_events != 1 else ''} (episode onsets) for {n_features} features "
            f"(EPV {epv:.1f} < {MIN_EPV:g}): "
            "too few for a reliable model; treat its output as exploratory and prefer the rule score"
        )
    return None


@dataclass
class ModelBundle:
    """A trained, calibrated model with what is needed to use and audit it.

    Attributes
    ----------
    kind : str
        ``"logistic"`` or ``"hgb"``.
    model : models.portable.PortableModel
        The fitted ``CalibratedClassifierCV`` as plain numbers (coefficients,
        scaler, trees, Platt calibration), evaluated with numpy; stored as
        JSON and never unpickled (:mod:`models.portable`).
    feature_names : tuple of str
    label_params : LabelParams
    version : dict
        ``strainwatch``, ``scikit-learn`` and bundle format versions.
    training_hash : str
        SHA-256 of the training rows (ids, dates, labels, inputs).
    trained_as_of : datetime.date
    n_rows, n_events, n_athletes : int
    thresholds : dict
        Calibrated probabilities where the band turns ``moderate`` and
        ``high``, chosen by alert budget on the training data.
    medians : dict
        Training medians of the inputs (occlusion reference for ``hgb``).
    warnings : list of str
        e.g. the EPV warning.
    """

    kind: str
    model: PortableModel
    feature_names: tuple[str, ...]
    label_params: LabelParams
    version: dict[str, str]
    training_hash: str
    trained_as_of: date
    n_rows: int
    n_events: int
    n_athletes: int
    thresholds: dict[str, float]
    medians: dict[str, float]
    warnings: list[str] = field(default_factory=list)

    @property
    def model_id(self) -> str:
        return f"{self.kind}-{self.training_hash[:12]}"

    @property
    def epv(self) -> float:
        return self.n_events / max(1, len(self.feature_names))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probability of an onset within H days, for rows of inputs."""
        return self.model.predict_proba(np.asarray(X, dtype=float))

    def contributions(self, X: np.ndarray) -> np.ndarray:
        """Per-feature contributions (rows x features) on the model's logit scale.

        ``logistic``: coefficient x standardized value, averaged over the
        calibration folds' fitted pipelines. ``hgb``: the drop in the
        uncalibrated logit when the feature is set to its training median.
        """
        X = np.asarray(X, dtype=float)
        parts = []
        for m in self.model.members:
            if isinstance(m, LinearMember):
                parts.append(m.standardized(X) * m.coef)
            else:
                base = m.decision(X)
                c = np.empty_like(X)
                for j, name in enumerate(self.feature_names):
                    Xj = X.copy()
                    Xj[:, j] = self.medians.get(name, np.nan)
                    c[:, j] = base - m.decision(Xj)
                parts.append(c)
        return np.mean(parts, axis=0)


def train_model(
    features: pl.DataFrame,
    *,
    as_of: date,
    kind: ModelKind = "logistic",
    label_params: LabelParams | None = None,
    scorer_params: ScorerParams | None = None,
    alert_budget_high: float = 0.05,
    alert_budget_moderate: float = 0.20,
    seed: int = 0,
) -> ModelBundle:
    """Fit and calibrate a model on every labelled day up to ``as_of``.

    Parameters
    ----------
    features : polars.DataFrame
        FEATURES of the team (with ``back_pain_0_10`` reports).
    as_of : datetime.date
        Last day read (labels whose window runs past it are censored).
    kind : {"logistic", "hgb"}
    label_params : LabelParams, optional
    scorer_params : ScorerParams, optional
        Only for the rule score carried in the dataset.
    alert_budget_high, alert_budget_moderate : float
        Share of training days that should fall in ``high`` (and in
        ``moderate`` or ``high``): the band thresholds are the corresponding
        quantiles of the calibrated training probabilities (brief s6: "choose
        the threshold by alert budget").
    seed : int

    Returns
    -------
    ModelBundle
        ``warnings`` holds the EPV warning when events / features < 10 (also
        emitted with :func:`warnings.warn`).

    Raises
    ------
    ModelError
        No labelled days, a single class, or too few events to calibrate.
    """
    if not 0 < alert_budget_high < alert_budget_moderate < 1:
        raise ValueError(
            f"alert budgets must satisfy 0 < high < moderate < 1, got high={alert_budget_high!r}, "
            f"moderate={alert_budget_moderate!r}"
        )
    lp = label_params or LabelParams()
    ds = build_dataset(features, as_of=as_of, label_params=lp, scorer_params=scorer_params)
    if ds.is_empty():
        raise ModelError("no labelled days: the model needs back_pain_0_10 reports (a pain log)")
    X, y, groups, dates = _xy(ds)
    empty = [j for j in range(X.shape[1]) if not np.isfinite(X[:, j]).any()]
    for j in empty:  # the bundle keeps every feature; an empty one becomes a constant without information
        X[:, j] = 0.0
    n_onsets = _count_onsets(ds)
    if n_onsets < MIN_ONSETS_TO_TRAIN:
        raise ModelError(
            f"only {n_onsets} back-pain episode onset{'s' if n_onsets != 1 else ''} in {len(y)} labelled days of "
            f"{len(np.unique(groups))} athletes: too few to train a model (at least {MIN_ONSETS_TO_TRAIN}; "
            f"about {int(MIN_EPV * len(FEATURE_COLUMNS))} for a reliable one). Keep using the rule score."
        )
    fitted = _fit_calibrated(kind, X, y, groups, dates, lp.horizon_d, seed)
    model = from_sklearn(fitted, kind, len(FEATURE_COLUMNS))
    p = model.predict_proba(X)
    thresholds = {
        "moderate": float(np.quantile(p, 1 - alert_budget_moderate)),
        "high": float(np.quantile(p, 1 - alert_budget_high)),
    }
    if thresholds["high"] <= thresholds["moderate"]:
        thresholds["high"] = float(np.nextafter(thresholds["moderate"], 1.0))
    medians = {
        c: float(np.nanmedian(X[:, j])) if np.isfinite(X[:, j]).any() else float("nan")
        for j, c in enumerate(FEATURE_COLUMNS)
    }
    import sklearn

    warns = [
        f"{FEATURE_COLUMNS[j]} is empty everywhere (no such data): trained as a constant, it carries no information"
        for j in empty
    ]
    w = _epv_warning(n_onsets, len(FEATURE_COLUMNS))
    if w:
        warns.append(w)
        warnings.warn(w, UserWarning, stacklevel=2)
    return ModelBundle(
        kind=kind,
        model=model,
        feature_names=FEATURE_COLUMNS,
        label_params=lp,
        version={
            "strainwatch": _version(),
            "scikit-learn": sklearn.__version__,
            "format": f"{BUNDLE_FORMAT}/{BUNDLE_FORMAT_VERSION}",
        },
        training_hash=_dataset_hash(ds),
        trained_as_of=as_of,
        n_rows=int(len(y)),
        n_events=n_onsets,
        n_athletes=int(len(np.unique(groups))),
        thresholds=thresholds,
        medians=medians,
        warnings=warns,
    )


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("strainwatch")
    except Exception:  # pragma: no cover - not installed
        return "unknown"


# ---------------------------------------------------------------- evaluation
@dataclass
class EvaluationReport:
    """Out-of-fold metrics of the models against the rule score and an intercept-only baseline.

    ``metrics`` rows: ``scheme`` ("by_athlete" / "forward"), ``model``
    ("logistic", "hgb", "rules", "intercept"), ``pr_auc``, ``roc_auc``,
    ``brier``, ``n``, ``events``. ``calibration`` maps "scheme/model" to
    rows of ``bin, n, mean_predicted, observed_rate``. ``folds`` records each
    forward fold's last training day and first test day.
    """

    n_rows: int
    n_events: int
    n_positive_days: int
    n_athletes: int
    n_features: int
    horizon_d: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
    calibration: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    folds: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def epv(self) -> float:
        return self.n_events / max(1, self.n_features)

    def metric(self, scheme: str, model: str, name: str) -> float:
        for r in self.metrics:
            if r["scheme"] == scheme and r["model"] == model:
                return r[name]
        raise KeyError((scheme, model))

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_rows": self.n_rows,
            "n_events": self.n_events,
            "n_positive_days": self.n_positive_days,
            "n_athletes": self.n_athletes,
            "n_features": self.n_features,
            "epv": self.epv,
            "horizon_d": self.horizon_d,
            "metrics": self.metrics,
            "calibration": self.calibration,
            "folds": self.folds,
            "warnings": self.warnings,
        }

    def to_text(self) -> str:
        lines = [
            f"labelled days {self.n_rows}, positive (onset within {self.horizon_d} d) {self.n_positive_days} "
            f"(prevalence {self.n_positive_days / max(1, self.n_rows):.1%}), distinct onsets (events) {self.n_events}, "
            f"athletes {self.n_athletes}, "
            f"features {self.n_features}, events per feature {self.epv:.1f}",
        ]
        for w in self.warnings:
            lines.append(f"WARNING: {w}")
        if not self.metrics:
            return "\n".join(lines)
        lines.append("")
        lines.append(f"{'scheme':<11} {'model':<16} {'PR-AUC':>7} {'ROC-AUC':>8} {'Brier':>7} {'n':>7} {'events':>7}")
        for r in self.metrics:
            lines.append(
                f"{r['scheme']:<11} {r['model']:<16} {_f(r['pr_auc']):>7} {_f(r['roc_auc']):>8} "
                f"{_f(r['brier']):>7} {r['n']:>7} {r['events']:>7}"
            )
        lines.append("")
        lines.append(
            "PR-AUC of a useless model equals the prevalence; ROC-AUC 0.5. Brier: lower is better; "
            "compare with the intercept-only row."
        )
        for key, rows in self.calibration.items():
            lines.append(
                f"calibration {key}: "
                + "; ".join(f"{r['mean_predicted']:.3f}->{r['observed_rate']:.3f} (n {r['n']})" for r in rows)
            )
        return "\n".join(lines)


def _f(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.3f}"


def _metrics(y: np.ndarray, p: np.ndarray, rank: np.ndarray | None = None) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    r = p if rank is None else rank
    two = y.min() != y.max()
    return {
        "pr_auc": float(average_precision_score(y, r)) if two else float("nan"),
        "roc_auc": float(roc_auc_score(y, r)) if two else float("nan"),
        "brier": float(brier_score_loss(y, p)),
        "n": int(len(y)),
        "events": int(y.sum()),
    }


def _calibration_table(y: np.ndarray, p: np.ndarray, bins: int = 5) -> list[dict[str, Any]]:
    edges = np.unique(np.quantile(p, np.linspace(0, 1, bins + 1)))
    idx = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(0, len(edges) - 2))
    rows = []
    for b in range(max(1, len(edges) - 1)):
        m = idx == b
        if m.any():
            rows.append(
                {"bin": b, "n": int(m.sum()), "mean_predicted": float(p[m].mean()), "observed_rate": float(y[m].mean())}
            )
    return rows


def _naive_baselines(ds: pl.DataFrame, features: pl.DataFrame, lp: LabelParams) -> dict[str, np.ndarray]:
    """The naive rankings of ``strainwatch evaluate`` (:func:`models.evaluate.load_baselines` and
    :func:`models.evaluate.label_history`), aligned with ``ds``: the 7-day load sum to d-1
    (``load_7d``), yesterday's load (``load_yesterday``) and the share of symptomatic reports of the
    label item in d-6..d (``label_history_7d``)."""
    days = ds.select("athlete_id", "date")
    events = event_days(features, LabelSpec(lp.label_column, lp.label_op, lp.pain_threshold))
    j = (
        days.with_row_index("_i")
        .join(load_baselines(features), on=["athlete_id", "date"], how="left")
        .join(label_history(days, events), on=["athlete_id", "date"], how="left")
        .sort("_i")
    )
    named = {"load_7d": "load_7d_au", "load_yesterday": "load_yesterday_au", "label_history_7d": "label_history_7d"}
    return {k: j[c].fill_null(float("nan")).to_numpy().astype(float) for k, c in named.items()}


def evaluate(
    features: pl.DataFrame,
    *,
    as_of: date,
    kinds: Sequence[ModelKind] = ("logistic", "hgb"),
    label_params: LabelParams | None = None,
    scorer_params: ScorerParams | None = None,
    n_splits: int = 5,
    seed: int = 0,
) -> EvaluationReport:
    """Validate by athlete groups and forward in time; compare with the rule score and intercept-only.

    Every model, scaler, calibrator and the rule score's Platt scaling are
    fitted on each training fold only. Forward folds keep a gap of H days
    between the last training day and the first test day.

    Returns
    -------
    EvaluationReport
    """
    lp = label_params or LabelParams()
    ds = build_dataset(features, as_of=as_of, label_params=lp, scorer_params=scorer_params)
    if ds.is_empty():
        raise ModelError(
            f"no labelled days: the model needs {lp.label_column} reports "
            f"({'a pain log' if lp.label_column == 'back_pain_0_10' else 'a self-report log'})"
        )
    X, y, groups, dates = _xy(ds)
    keep, dropped = usable_columns(X)
    columns = [FEATURE_COLUMNS[j] for j in keep]
    X = X[:, keep]
    rule = ds["rule_points"].fill_null(0.0).to_numpy().astype(float)
    naive = _naive_baselines(ds, features, lp)
    rep = EvaluationReport(
        n_rows=len(y),
        n_events=_count_onsets(ds),
        n_positive_days=int(y.sum()),
        n_athletes=len(np.unique(groups)),
        n_features=len(columns),
        horizon_d=lp.horizon_d,
    )
    rep.warnings.extend(dropped)
    if not columns:
        rep.warnings.append("no usable feature column: only the rule score and the naive baselines are compared")
        kinds = ()
    w = _epv_warning(rep.n_events, rep.n_features)
    if w:
        rep.warnings.append(w)
        warnings.warn(w, UserWarning, stacklevel=2)
    schemes: list[tuple[str, list]] = []
    try:
        schemes.append(("by_athlete", group_splits(y, groups, n_splits=n_splits, seed=seed)))
    except ModelError as err:
        rep.warnings.append(f"by-athlete validation skipped: {err}")
    try:
        fw = forward_splits(dates, n_splits=max(2, n_splits - 1), gap_d=lp.horizon_d)
        schemes.append(("forward", fw))
        for tr, te in fw:
            rep.folds.append(
                {
                    "train_last": str(dates[tr].max()),
                    "test_first": str(dates[te].min()),
                    "test_last": str(dates[te].max()),
                    "n_train": int(len(tr)),
                    "n_test": int(len(te)),
                }
            )
    except ModelError as err:
        rep.warnings.append(f"forward validation skipped: {err}")
    from sklearn.linear_model import LogisticRegression

    ranked = {"rules": rule, **naive}
    for scheme, splits in schemes:
        preds: dict[str, list[np.ndarray]] = {k: [] for k in (*kinds, *ranked, "intercept")}
        ranks: dict[str, list[np.ndarray]] = {k: [] for k in ranked}
        ys: list[np.ndarray] = []
        failed: dict[str, str] = {}
        skipped = 0
        for tr, te in splits:
            if y[tr].min() == y[tr].max():
                skipped += 1
                continue
            fold: dict[str, np.ndarray] = {}
            try:
                for k in kinds:  # each kind on its own: one failing keeps the others' results
                    if k in failed:
                        continue
                    try:
                        m = _fit_calibrated(k, X[tr], y[tr], groups[tr], dates[tr], lp.horizon_d, seed, columns)
                        fold[k] = m.predict_proba(X[te])[:, 1]
                    except ModelError:
                        raise  # this fold's data cannot calibrate any model: skip the fold
                    except Exception as err:  # noqa: BLE001 - an estimator failure is reported, not fatal
                        failed[k] = f"{type(err).__name__}: {err}"
            except ModelError:
                skipped += 1
                continue
            for k, v in fold.items():
                preds[k].append(v)
            for k, x in ranked.items():
                fill = float(np.nanmedian(x[tr])) if np.isfinite(x[tr]).any() else 0.0
                xt = np.where(np.isfinite(x), x, fill)
                platt = LogisticRegression().fit(xt[tr].reshape(-1, 1), y[tr])
                preds[k].append(platt.predict_proba(xt[te].reshape(-1, 1))[:, 1])
                ranks[k].append(xt[te])
            preds["intercept"].append(np.full(len(te), y[tr].mean()))
            ys.append(y[te])
        if skipped:
            rep.warnings.append(
                f"{scheme}: {skipped} fold(s) skipped (a single class in training, or too few events to calibrate)"
            )
        for k, why in failed.items():
            rep.warnings.append(f"{scheme}: model {k} failed and is left out ({why}); the other results stand")
        if not ys:
            continue
        yy = np.concatenate(ys)
        for k, parts in preds.items():
            if k in failed or len(parts) != len(ys):
                continue
            p = np.concatenate(parts)
            rank = np.concatenate(ranks[k]) if k in ranks else None
            rep.metrics.append({"scheme": scheme, "model": k, **_metrics(yy, p, rank)})
            rep.calibration[f"{scheme}/{k}"] = _calibration_table(yy, p)
    if not rep.metrics:
        rep.warnings.append(
            "no validation fold could be evaluated (every training fold lacked onsets): "
            "not enough labelled episodes to judge a model; keep using the rule score"
        )
    return rep


# ---------------------------------------------------------------- persistence
def bundle_to_dict(bundle: ModelBundle) -> dict[str, Any]:
    """JSON-compatible data of ``bundle`` (numbers, strings, lists, dicts only)."""
    lp = bundle.label_params
    return {
        "format": BUNDLE_FORMAT,
        "format_version": BUNDLE_FORMAT_VERSION,
        "kind": bundle.kind,
        "feature_names": list(bundle.feature_names),
        "label_params": {
            "horizon_d": lp.horizon_d,
            "pain_threshold": lp.pain_threshold,
            "gap_d": lp.gap_d,
            "return_window_d": lp.return_window_d,
            "label_column": lp.label_column,
            "label_op": lp.label_op,
        },
        "version": dict(bundle.version),
        "training_hash": bundle.training_hash,
        "trained_as_of": bundle.trained_as_of.isoformat(),
        "n_rows": bundle.n_rows,
        "n_events": bundle.n_events,
        "n_athletes": bundle.n_athletes,
        "thresholds": {k: float(v) for k, v in bundle.thresholds.items()},
        "medians": {k: (None if math.isnan(v) else float(v)) for k, v in bundle.medians.items()},
        "warnings": list(bundle.warnings),
        "model": to_dict(bundle.model),
    }


def bundle_from_dict(d: Any) -> ModelBundle:
    """Check and build a :class:`ModelBundle` from :func:`bundle_to_dict` data.

    Raises
    ------
    ModelError
        Not a strainwatch model, another format version, or a field of the wrong type or range.
    """
    if not isinstance(d, dict) or d.get("format") != BUNDLE_FORMAT:
        raise ModelError('not a strainwatch model bundle (no "format": "strainwatch-model")')
    if d.get("format_version") != BUNDLE_FORMAT_VERSION:
        raise ModelError(
            f"bundle format version {d.get('format_version')!r}, expected {BUNDLE_FORMAT_VERSION}; "
            "train it again with `strainwatch model train`"
        )
    try:
        names = d["feature_names"]
        if not isinstance(names, list) or tuple(names) != FEATURE_COLUMNS:
            raise ModelError(
                f"model features {names!r} differ from this version's {list(FEATURE_COLUMNS)}; train it again"
            )
        lpd = d["label_params"]
        base = {"horizon_d", "pain_threshold", "gap_d", "return_window_d"}
        # label_column / label_op: the label a model was trained on (older bundles: back pain >= threshold)
        if not isinstance(lpd, dict) or not base <= set(lpd) <= base | {"label_column", "label_op"}:
            raise ModelError(
                "label_params: expected horizon_d, pain_threshold, gap_d, return_window_d "
                "(and optionally label_column, label_op)"
            )
        lp = LabelParams(**lpd)
        th = d["thresholds"]
        if (
            not isinstance(th, dict)
            or set(th) != {"moderate", "high"}
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in th.values())
            or not 0 <= th["moderate"] < th["high"] <= 1
        ):
            raise ModelError("thresholds: expected moderate < high, both in [0, 1]")
        med = d["medians"]
        if (
            not isinstance(med, dict)
            or set(med) != set(FEATURE_COLUMNS)
            or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in med.values())
        ):
            raise ModelError("medians: expected a number or null for every feature")
        kind = d["kind"]
        model = from_dict(d["model"])
        if model.kind != kind or model.n_features != len(FEATURE_COLUMNS):
            raise ModelError(
                f"model: kind {model.kind!r} with {model.n_features} inputs does not match "
                f"{kind!r} with {len(FEATURE_COLUMNS)}"
            )
        ints = {k: d[k] for k in ("n_rows", "n_events", "n_athletes")}
        if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in ints.values()):
            raise ModelError("n_rows, n_events, n_athletes: expected non-negative integers")
        version, th_hash, warns = d["version"], d["training_hash"], d["warnings"]
        if not isinstance(version, dict) or not all(isinstance(v, str) for v in version.values()):
            raise ModelError("version: expected an object of strings")
        if not isinstance(th_hash, str) or len(th_hash) != 64:
            raise ModelError("training_hash: expected a SHA-256 hex string")
        if not isinstance(warns, list) or not all(isinstance(w, str) for w in warns):
            raise ModelError("warnings: expected a list of strings")
        return ModelBundle(
            kind=kind,
            model=model,
            feature_names=FEATURE_COLUMNS,
            label_params=lp,
            version=version,
            training_hash=th_hash,
            trained_as_of=date.fromisoformat(d["trained_as_of"]),
            **ints,
            thresholds={"moderate": float(th["moderate"]), "high": float(th["high"])},
            medians={k: (float("nan") if v is None else float(v)) for k, v in med.items()},
            warnings=warns,
        )
    except KeyError as err:
        raise ModelError(f"missing field {err.args[0]!r}") from None
    except PortableModelError as err:
        raise ModelError(str(err)) from None
    except (TypeError, ValueError) as err:
        if isinstance(err, ModelError):
            raise
        raise ModelError(str(err)) from None


def save_model(bundle: ModelBundle, path: str | Path) -> Path:
    """Write ``bundle`` as JSON (atomic: temporary file then rename). Nothing in it is executable."""
    import os
    import uuid

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    text = json.dumps(bundle_to_dict(bundle), allow_nan=False, separators=(",", ":"))
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


#: First bytes of files that are not strainwatch JSON models but are often mistaken for them.
_PICKLE_HINT = (
    "strainwatch reads models only as JSON data written by `strainwatch model train`, never as "
    "pickle/joblib (unpickling a file can run any code in it); train the model again"
)


def load_model(path: str | Path) -> ModelBundle:
    """Read a bundle written by :func:`save_model`: JSON parsed as data, nothing is executed.

    Pickle and joblib files are refused without being unpickled.

    Raises
    ------
    ModelError
        Missing file, too large, not JSON (e.g. a pickle), not a strainwatch
        bundle, an unsupported format version, or an invalid field (the
        message names the file and the field).
    """
    import sklearn

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    size = path.stat().st_size
    if size > MAX_MODEL_BYTES:
        raise ModelError(f"{path}: {size} bytes, more than the {MAX_MODEL_BYTES} bytes a model file may have")
    raw = path.read_bytes()
    if raw[:1] == b"\x80" or raw[:2] in (b"PK", b"\x1f\x8b", b"BZ", b"\xfd7", b"ZL"):
        raise ModelError(
            f"{path}: byte 0: a binary (pickle/joblib or compressed) file, expected a JSON model. " + _PICKLE_HINT
        )
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ModelError(f"{path}: byte {err.start}: not UTF-8 text, expected a JSON model. {_PICKLE_HINT}") from None
    except json.JSONDecodeError as err:
        raise ModelError(
            f"{path}: line {err.lineno} column {err.colno}: not a readable JSON model ({err.msg}). {_PICKLE_HINT}"
        ) from None
    except RecursionError:
        raise ModelError(f"{path}: JSON nested too deeply, not a model") from None
    try:
        bundle = bundle_from_dict(data)
    except ModelError as err:
        raise ModelError(f"{path}: {err}") from None
    if bundle.version.get("scikit-learn") != sklearn.__version__:
        warnings.warn(
            f"{path}: trained with scikit-learn {bundle.version.get('scikit-learn')}, "
            f"running {sklearn.__version__}; the stored model is plain numbers and scores the same, "
            "but retraining uses the new version",
            UserWarning,
            stacklevel=2,
        )
    return bundle


# ---------------------------------------------------------------- scoring
def _prob_to_score(p: float, t: dict[str, float]) -> float:
    """Map a probability piecewise-linearly so the band edges land on 30 and 60.

    Rounded to 0.1 and kept inside its band (29.96 in ``low`` is 29.9, not 30).
    """
    mod, high = t["moderate"], t["high"]
    if p < mod:
        s, lo, hi = (30.0 * p / mod if mod > 0 else 0.0), 0.0, 29.9
    elif p < high:
        s, lo, hi = 30.0 + 30.0 * (p - mod) / (high - mod), 30.0, 59.9
    else:
        s, lo, hi = (60.0 + 40.0 * (p - high) / (1.0 - high) if high < 1 else 100.0), 60.0, 100.0
    return min(hi, max(lo, math.floor(s * 10) / 10))


def score_features_learned(
    features: pl.DataFrame,
    *,
    as_of: date,
    bundle: ModelBundle,
    params: ScorerParams | None = None,
    start: date | None = None,
) -> pl.DataFrame:
    """SCORES from a learned model, explained by per-feature contributions.

    The rule scorer still decides coverage (``insufficient_data``), the red
    flag override and the adjustments (which are tied to the rule
    components' causes). ``risk_score`` maps the calibrated probability
    piecewise-linearly so that the bundle's band thresholds fall on 30 and
    60; the probability itself is the first entry of ``components_json``
    (``component`` = "probability"). The other entries are one per feature:
    ``points`` = contribution on the logit scale, ``rule`` e.g.
    ``"hrv_z -1.8: +0.62 logit"``. ``reasons``: reason codes of features with
    a positive contribution, largest first (a reason once).
    """
    from models.columnar import score_features_columnar  # equal to models.rules.score_features (issue 19)

    p = params or ScorerParams()
    rules = score_features_columnar(features, as_of=as_of, params=p, start=start)
    if rules.is_empty():
        return rules
    X = model_features(features, as_of=as_of)
    X = rules.select("athlete_id", "date").join(X, on=["athlete_id", "date"], how="left")
    M = X.select(FEATURE_COLUMNS).to_numpy().astype(float)
    prob = bundle.predict_proba(M)
    contrib = bundle.contributions(M)
    return _learned_columns(rules, M, prob, contrib, bundle)


def _learned_rows(
    rules: pl.DataFrame, M: np.ndarray, prob: np.ndarray, contrib: np.ndarray, bundle: ModelBundle
) -> pl.DataFrame:
    """:func:`score_features_learned`'s rows one by one in Python: the test oracle of
    :func:`_learned_columns` (``tests/models/test_learned_columnar.py``)."""
    rows = []
    for i, r in enumerate(rules.iter_rows(named=True)):
        band = r["risk_band"]
        reasons_rule = r["reasons"].split(";") if r["reasons"] else []
        order = np.argsort(-contrib[i])
        comps = [
            {
                "component": "probability",
                "reason": None,
                "points": None,
                "cap": None,
                "value": round(float(prob[i]), 4),
                "rule": f"P(new back-pain episode within {bundle.label_params.horizon_d} d) = {prob[i]:.3f} "
                f"(moderate from {bundle.thresholds['moderate']:.3f}, "
                f"high from {bundle.thresholds['high']:.3f})",
            }
        ]
        reasons: list[str] = []
        for j in order:
            name = FEATURE_COLUMNS[j]
            v = M[i, j]
            c = float(contrib[i, j])
            comps.append(
                {
                    "component": name,
                    "reason": FEATURE_REASON[name],
                    "points": round(c, 4),
                    "cap": None,
                    "value": None if math.isnan(v) else round(float(v), 4),
                    "rule": f"{name} {'missing' if math.isnan(v) else f'{v:.2f}'}: {c:+.2f} logit",
                }
            )
            if c > 0.05 and FEATURE_REASON[name] not in reasons:
                reasons.append(FEATURE_REASON[name])
        if band == "high" and reasons_rule[:1] == ["red_flag"]:
            score, reasons = 100.0, ["red_flag", *[x for x in reasons if x != "red_flag"]]
        elif band == "insufficient_data":
            score = None
        else:
            score = _prob_to_score(float(prob[i]), bundle.thresholds)
            band = (
                "high"
                if prob[i] >= bundle.thresholds["high"]
                else ("moderate" if prob[i] >= bundle.thresholds["moderate"] else "low")
            )
        rows.append(
            {
                **r,
                "risk_score": score,
                "risk_band": band,
                "reasons": ";".join(reasons),
                "score_pct_of_coverage": r["score_pct_of_coverage"],
                "components_json": json.dumps(comps, separators=(",", ":")),
                "model": bundle.model_id,
            }
        )
    return conform(pl.DataFrame(rows, schema=SCORES.polars_schema), SCORES)


def _learned_columns(
    rules: pl.DataFrame, M: np.ndarray, prob: np.ndarray, contrib: np.ndarray, bundle: ModelBundle
) -> pl.DataFrame:
    """The learned SCORES from the rule scores, the inputs ``M``, the probabilities and the
    contributions, columnar: equal bit for bit to :func:`_learned_rows` (numbers printed as Python
    prints them by :func:`models.columnar_text.printed`)."""
    from models.columnar_text import printed

    n, nf = contrib.shape
    t_mod, t_high = bundle.thresholds["moderate"], bundle.thresholds["high"]
    order = np.argsort(-contrib, axis=1)  # the per-row np.argsort(-contrib[i]), row by row
    # one JSON object per (feature, row), feature-major, then each row's objects in its order
    entries = []
    for j, name in enumerate(FEATURE_COLUMNS):
        v = pl.Series(M[:, j]).fill_nan(None)
        c = pl.Series(contrib[:, j])
        f = pl.DataFrame(
            {
                "c4": printed(c, 4, "json"),
                "v4": printed(v, 4, "json"),
                "v2": printed(v, 2, "fixed"),
                "c2": printed(c, 2, "fixed"),
            }
        )
        entries.append(
            f.select(
                pl.concat_str(
                    pl.lit(f'{{"component":{json.dumps(name)},"reason":{json.dumps(FEATURE_REASON[name])},"points":'),
                    pl.col("c4"),
                    pl.lit(',"cap":null,"value":'),
                    pl.col("v4"),
                    pl.lit(f',"rule":{json.dumps(name)[:-1]} '),
                    pl.col("v2").fill_null("missing"),
                    pl.lit(": "),
                    pl.when(pl.col("c2").str.starts_with("-")).then(pl.lit("")).otherwise(pl.lit("+")),
                    pl.col("c2"),
                    pl.lit(' logit"}'),
                )
            ).to_series()
        )
    by_row = pl.concat(entries).gather((order * n + np.arange(n)[:, None]).ravel()).reshape((n, nf)).arr.join(",")
    pr = pl.Series(prob.astype(float))
    components_json = (
        pl.DataFrame({"v4": printed(pr, 4, "json"), "v3": printed(pr, 3, "fixed"), "rest": by_row})
        .select(
            pl.concat_str(
                pl.lit('[{"component":"probability","reason":null,"points":null,"cap":null,"value":'),
                pl.col("v4"),
                pl.lit(f',"rule":"P(new back-pain episode within {bundle.label_params.horizon_d} d) = '),
                pl.col("v3"),
                pl.lit(f' (moderate from {t_mod:.3f}, high from {t_high:.3f})"}},'),
                pl.col("rest"),
                pl.lit("]"),
            )
        )
        .to_series()
    )

    # reasons: of features contributing > 0.05, largest first, each reason once
    reason_names = list(dict.fromkeys(FEATURE_REASON[f] for f in FEATURE_COLUMNS))
    code = np.array([reason_names.index(FEATURE_REASON[f]) for f in FEATURE_COLUMNS])
    sorted_c = np.take_along_axis(contrib, order, axis=1)
    sorted_r = code[order]
    first = np.full((n, len(reason_names)), nf)
    for r in range(len(reason_names)):
        hit = (sorted_r == r) & (sorted_c > 0.05)
        first[:, r] = np.where(hit.any(axis=1), hit.argmax(axis=1), nf)
    rank = np.argsort(first, axis=1, kind="stable")
    at = np.take_along_axis(first, rank, axis=1) < nf  # rank q of the row names a reason
    ranked = pl.DataFrame({f"n{q}": np.array(reason_names)[rank[:, q]] for q in range(len(reason_names))})
    named = [pl.when(pl.Series(at[:, q])).then(pl.col(f"n{q}")) for q in range(len(reason_names))]

    band_rule = rules["risk_band"]
    red = (
        ((band_rule == "high") & (rules["reasons"].str.split(";").list.first() == "red_flag"))
        .fill_null(False)
        .to_numpy()
    )
    insufficient = (band_rule == "insufficient_data").to_numpy()
    p = prob.astype(float)
    with np.errstate(all="ignore"):
        s_low = 30.0 * p / t_mod if t_mod > 0 else np.zeros(n)
        s_mid = 30.0 + 30.0 * (p - t_mod) / (t_high - t_mod)
        s_top = 60.0 + 40.0 * (p - t_high) / (1.0 - t_high) if t_high < 1 else np.full(n, 100.0)
    s_ = np.where(p < t_mod, s_low, np.where(p < t_high, s_mid, s_top))
    lo = np.where(p < t_mod, 0.0, np.where(p < t_high, 30.0, 60.0))
    hi = np.where(p < t_mod, 29.9, np.where(p < t_high, 59.9, 100.0))
    mapped = np.minimum(hi, np.maximum(lo, np.floor(s_ * 10) / 10))
    score = np.where(red, 100.0, mapped)
    learned_band = np.where(p >= t_high, "high", np.where(p >= t_mod, "moderate", "low"))
    keep_band = red | insufficient
    reasons = ranked.select(
        pl.concat_str(
            [pl.when(pl.Series(red)).then(pl.lit("red_flag")), *named],
            separator=";",
            ignore_nulls=True,
        )
    ).to_series()
    out = rules.with_columns(
        pl.Series("risk_score", np.where(insufficient, np.nan, score), dtype=pl.Float64).fill_nan(None),
        pl.Series("risk_band", np.where(keep_band, band_rule.to_numpy(), learned_band), dtype=pl.String),
        reasons.alias("reasons"),
        components_json.alias("components_json"),
        pl.lit(bundle.model_id, dtype=pl.String).alias("model"),
    )
    return conform(out.select(SCORES.polars_schema.names()), SCORES)
