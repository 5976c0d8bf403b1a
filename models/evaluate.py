"""How well did the indicator track a team's own reports? (pure functions)

``strainwatch evaluate`` (``pipelines/cli_evaluate.py``) reads the stored
scores, features and self-reports; everything here is a pure function of
polars frames, so it can be tested with hand-computed numbers.

Labels
------
A *label spec* names a self-report item, a comparison and a threshold, e.g.
``soreness<=2`` (PMSys soreness 1-5, where 1 is very sore) or
``back_pain_0_10>=3``. Each athlete-day with a report of that item is an
*event* day or not. Injury reports become events only as **new episodes**: a
report with no report of the same athlete in the ``gap_d`` (7) days before
(:func:`injury_onsets`).

The outcome of day ``d`` for horizon ``H`` is whether an event is reported on
any of the days ``d+1 .. d+H``. The score of day ``d`` uses data up to ``d``
only (load up to ``d-1`` and the morning values of ``d``), so the outcome
window starts the day after: nothing the outcome reads can feed the score
(``tests/models/test_evaluate.py`` checks this on recomputed scores). A day
without any report of the item in ``d+1 .. d+H`` has an unknown outcome and is
left out (no report is not "not sore"). For injury onsets a day is labelled
when it has a score and is not inside an episode (no injury report in
``d-gap_d+1 .. d``).

Predictors
----------
Every predictor is evaluated on the labelled days with a score (band not
``insufficient_data``), on the rows where it is not null (its ``n`` is
printed):

* ``risk_score`` and the points of every score component (``components_json``);
* naive baselines with the scorer's timing: the 7-day load sum to ``d-1``
  (``acute_7d_au`` of ``d-1``), yesterday's load (``load_au`` of ``d-1``), and
  the label's own recent history (share of event reports among the reports of
  ``d-6 .. d``);
* a constant (ROC AUC 0.5 by definition: the line a predictor must beat).

Figures
-------
* **pooled ROC AUC**: all labelled athlete-days together (Mann-Whitney, ties
  count one half). It mixes between-athlete differences (who reports sore more
  often) with within-athlete timing.
* **mean within-athlete AUC**: the AUC of each athlete with at least
  ``min_class_n`` (5) event and 5 non-event days, averaged. It answers "are an
  athlete's worse days ranked above their other days", what a coach reads the
  indicator for.
* **95 % confidence intervals** by a percentile bootstrap over athletes
  (``n_boot`` 1000 resamples of whole athletes, seed fixed), because days of
  one athlete are not independent.
* **bands**: for low, moderate, high and moderate-or-high the number of
  labelled days, the precision (share followed by an event), the recall
  (share of all event-followed days that fell in the band) and the lift
  (precision / base rate); and the share of all scored athlete-days per band
  (the alarm budget).

It measures association with the team's reports, not causation and not back
pain unless the label is a back-pain item.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np
import polars as pl

__all__ = [
    "LabelSpec",
    "event_days",
    "injury_onsets",
    "horizon_labels",
    "onset_labels",
    "label_history",
    "load_baselines",
    "assemble",
    "auc",
    "PredictorResult",
    "Evaluation",
    "evaluate_frame",
    "evaluate_scores",
    "report_summary",
    "BASELINES",
]

_OPS = {
    "<=": lambda c, t: c <= t,
    "<": lambda c, t: c < t,
    ">=": lambda c, t: c >= t,
    ">": lambda c, t: c > t,
}

#: naive baselines: column of the assembled frame -> human name
BASELINES: dict[str, str] = {
    "load_7d_au": "7-day load sum to d-1",
    "load_yesterday_au": "yesterday's load",
    "label_history_7d": "label's own last 7 days",
}

BANDS = ("low", "moderate", "high")


@dataclass(frozen=True)
class LabelSpec:
    """A self-report item, a comparison and a threshold: ``soreness<=2``.

    ``column`` is a column of the wellness table (or a labels CSV);
    ``op`` one of ``<=, <, >=, >``.
    """

    column: str
    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"label operator must be one of {', '.join(_OPS)}, got {self.op!r}")
        if not isinstance(self.threshold, (int, float)) or not math.isfinite(self.threshold):
            raise ValueError(f"label threshold must be a finite number, got {self.threshold!r}")

    @classmethod
    def parse(cls, text: str) -> LabelSpec:
        """``"soreness<=2"`` -> ``LabelSpec("soreness", "<=", 2.0)``.

        Raises
        ------
        ValueError
            Text not of the form ``COLUMN OP NUMBER``.
        """
        m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|<|>)\s*(-?[0-9]+(?:\.[0-9]+)?)\s*", text or "")
        if not m:
            raise ValueError(
                f"label {text!r}: expected COLUMN OP NUMBER with OP one of <=, <, >=, > "
                "(for example 'soreness<=2' or 'back_pain_0_10>=3')"
            )
        return cls(m.group(1), m.group(2), float(m.group(3)))

    def describe(self) -> str:
        t = int(self.threshold) if float(self.threshold).is_integer() else self.threshold
        return f"{self.column} {self.op} {t}"

    def test(self, col: pl.Expr) -> pl.Expr:
        return _OPS[self.op](col, self.threshold)


# ---------------------------------------------------------------- labels
def event_days(reports: pl.DataFrame, spec: LabelSpec) -> pl.DataFrame:
    """One row per athlete-day with a report of ``spec.column``: ``athlete_id, date, event``.

    Several reports on one day (several sources) count as an event when any is.

    Raises
    ------
    ValueError
        ``reports`` lacks ``athlete_id``, ``date`` or the label column.
    """
    missing = [c for c in ("athlete_id", "date", spec.column) if c not in reports.columns]
    if missing:
        raise ValueError(f"label column {missing[0]!r} not found; available: {', '.join(sorted(reports.columns))}")
    r = reports.select("athlete_id", "date", pl.col(spec.column).cast(pl.Float64).fill_nan(None).alias("_v"))
    r = r.filter(pl.col("_v").is_not_null())
    return r.group_by("athlete_id", "date").agg(spec.test(pl.col("_v")).any().alias("event")).sort("athlete_id", "date")


def injury_onsets(injuries: pl.DataFrame, *, gap_d: int = 7) -> pl.DataFrame:
    """New injury episodes: ``athlete_id, date`` of reports with no report in the ``gap_d`` days before.

    A report is repeated while an injury lasts (PMSys), so only a report after
    a gap starts a new episode.
    """
    if gap_d < 1:
        raise ValueError(f"gap_d must be >= 1, got {gap_d}")
    d = injuries.select("athlete_id", "date").unique().sort("athlete_id", "date")
    prev = pl.col("date").shift(1).over("athlete_id")
    return d.filter(prev.is_null() | ((pl.col("date") - prev).dt.total_days() > gap_d)).select("athlete_id", "date")


def _shifted(events: pl.DataFrame, offsets: Sequence[int]) -> pl.DataFrame:
    """``events`` once per offset k with ``date - k``: row (a, d) then stands for day d+k."""
    parts = [events.with_columns((pl.col("date") - timedelta(days=k)).alias("date")) for k in offsets]
    return pl.concat(parts) if parts else events.clear()


def horizon_labels(days: pl.DataFrame, events: pl.DataFrame, *, horizon_d: int) -> pl.DataFrame:
    """Outcome of each athlete-day of ``days``: an event reported on ``d+1 .. d+horizon_d``.

    Parameters
    ----------
    days : polars.DataFrame
        ``athlete_id, date`` to label.
    events : polars.DataFrame
        :func:`event_days` output (``athlete_id, date, event``; one row per report day).
    horizon_d : int
        Days after ``d`` that count.

    Returns
    -------
    polars.DataFrame
        ``days`` with ``label`` (Boolean; null when no report in the window)
        and ``n_reports`` (reports in the window).
    """
    if horizon_d < 1:
        raise ValueError(f"horizon_d must be >= 1, got {horizon_d}")
    win = (
        _shifted(events.select("athlete_id", "date", "event"), range(1, horizon_d + 1))
        .group_by("athlete_id", "date")
        .agg(pl.len().cast(pl.Int32).alias("n_reports"), pl.col("event").any().alias("label"))
    )
    out = days.select("athlete_id", "date").join(win, on=["athlete_id", "date"], how="left")
    return out.with_columns(pl.col("n_reports").fill_null(0))


def onset_labels(days: pl.DataFrame, injuries: pl.DataFrame, *, horizon_d: int, gap_d: int = 7) -> pl.DataFrame:
    """Outcome of each athlete-day: a new injury episode starts on ``d+1 .. d+horizon_d``.

    Days inside an episode (an injury report on ``d-gap_d+1 .. d``) get a null
    label: the next report would not be a new episode.
    """
    reports = injuries.select("athlete_id", "date").unique()
    onsets = injury_onsets(reports, gap_d=gap_d).with_columns(pl.lit(True).alias("event"))
    lab = horizon_labels(days, onsets, horizon_d=horizon_d).drop("n_reports")
    inside = _shifted(reports, [-k for k in range(gap_d)]).unique().with_columns(pl.lit(True).alias("_in"))
    lab = lab.join(inside, on=["athlete_id", "date"], how="left")
    return lab.with_columns(
        pl.when(pl.col("_in").is_null()).then(pl.col("label").fill_null(False)).alias("label"),
        pl.lit(None, dtype=pl.Int32).alias("n_reports"),
    ).drop("_in")


def label_history(days: pl.DataFrame, events: pl.DataFrame, *, window_d: int = 7) -> pl.DataFrame:
    """Share of event reports among the reports of ``d-window_d+1 .. d`` (null without reports).

    The naive "the label's own recent history" baseline; it reads reports up to
    day ``d``, the same data cut as the score.
    """
    win = (
        _shifted(events.select("athlete_id", "date", "event"), [-k for k in range(window_d)])
        .group_by("athlete_id", "date")
        .agg(pl.col("event").cast(pl.Float64).mean().alias("label_history_7d"))
    )
    return days.select("athlete_id", "date").join(win, on=["athlete_id", "date"], how="left")


def load_baselines(features: pl.DataFrame) -> pl.DataFrame:
    """The naive load baselines of day d with the score's timing (load of d-1 and before):
    ``athlete_id, date, load_7d_au`` (the 7-day load sum to d-1) and ``load_yesterday_au``."""
    return features.select(
        "athlete_id",
        (pl.col("date") + timedelta(days=1)).alias("date"),
        pl.col("acute_7d_au").cast(pl.Float64).alias("load_7d_au"),
        pl.col("load_au").cast(pl.Float64).alias("load_yesterday_au"),
    )


def _component_points(scores: pl.DataFrame) -> pl.DataFrame:
    """``components_json`` -> one Float64 column ``comp_<name>`` per component (points)."""
    if "components_json" not in scores.columns:
        return scores.select("athlete_id", "date")
    rows: list[dict[str, Any]] = []
    names: list[str] = []
    for a, d, cj in scores.select("athlete_id", "date", "components_json").iter_rows():
        row: dict[str, Any] = {"athlete_id": a, "date": d}
        for c in json.loads(cj) if cj else []:
            name = c.get("component")
            if name is None or not isinstance(c.get("points"), (int, float)):
                continue  # the learned model's probability entry
            key = f"comp_{name}"
            if key not in names:
                names.append(key)
            row[key] = float(c["points"])
        rows.append(row)
    schema = {"athlete_id": pl.String, "date": pl.Date, **{n: pl.Float64 for n in names}}
    return pl.DataFrame(rows, schema=schema) if rows else pl.DataFrame(schema=schema)


def assemble(
    scores: pl.DataFrame, features: pl.DataFrame, labels: pl.DataFrame, history: pl.DataFrame | None = None
) -> pl.DataFrame:
    """One row per scored athlete-day with its label and every predictor.

    Parameters
    ----------
    scores : polars.DataFrame
        SCORES rows (``athlete_id, date, risk_score, risk_band``, optional ``components_json``).
    features : polars.DataFrame
        FEATURES rows (``load_au``, ``acute_7d_au``) for the naive load baselines.
    labels : polars.DataFrame
        ``athlete_id, date, label`` (:func:`horizon_labels` or :func:`onset_labels`).
    history : polars.DataFrame, optional
        :func:`label_history` output.

    Returns
    -------
    polars.DataFrame
        ``athlete_id, date, risk_band, risk_score, label, load_7d_au,
        load_yesterday_au, label_history_7d, comp_*``; only days with a known
        label and a band other than ``insufficient_data``.
    """
    s = scores.select("athlete_id", "date", "risk_band", pl.col("risk_score").cast(pl.Float64))
    prev = load_baselines(features)
    out = (
        s.join(labels.select("athlete_id", "date", "label"), on=["athlete_id", "date"], how="inner")
        .filter(
            pl.col("label").is_not_null()
            & (pl.col("risk_band") != "insufficient_data")
            & pl.col("risk_score").is_not_null()
        )
        .join(prev, on=["athlete_id", "date"], how="left")
    )
    if history is not None:
        out = out.join(history.select("athlete_id", "date", "label_history_7d"), on=["athlete_id", "date"], how="left")
    else:
        out = out.with_columns(pl.lit(None, dtype=pl.Float64).alias("label_history_7d"))
    comps = _component_points(scores.join(out.select("athlete_id", "date"), on=["athlete_id", "date"], how="semi"))
    out = out.join(comps, on=["athlete_id", "date"], how="left")
    return out.sort("athlete_id", "date")


# ---------------------------------------------------------------- metrics
def auc(y: np.ndarray, x: np.ndarray) -> float | None:
    """ROC AUC of ``x`` for boolean ``y`` (Mann-Whitney; ties count 1/2); None with one class."""
    y = np.asarray(y, dtype=bool)
    x = np.asarray(x, dtype=float)
    return _weighted_auc(y, *_uniq(x), np.ones(len(y)))


def _uniq(x: np.ndarray) -> tuple[np.ndarray, int]:
    _, inv = np.unique(x, return_inverse=True)
    return inv.ravel(), int(inv.max()) + 1 if len(inv) else 0


def _weighted_auc(y: np.ndarray, inv: np.ndarray, n_values: int, w: np.ndarray) -> float | None:
    pos = np.bincount(inv, weights=w * y, minlength=n_values)
    neg = np.bincount(inv, weights=w * (~y), minlength=n_values)
    p_tot, n_tot = pos.sum(), neg.sum()
    if p_tot <= 0 or n_tot <= 0:
        return None
    below = np.cumsum(neg) - neg
    return float((pos * (below + 0.5 * neg)).sum() / (p_tot * n_tot))


@dataclass(frozen=True)
class PredictorResult:
    """AUCs of one predictor with bootstrap CIs over athletes."""

    name: str
    kind: str  # "score", "component", "baseline", "constant"
    n_days: int
    n_events: int
    pooled: float | None
    pooled_ci: tuple[float, float] | None
    within: float | None
    within_ci: tuple[float, float] | None
    n_athletes_within: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "predictor": self.name,
            "kind": self.kind,
            "n_days": self.n_days,
            "n_events": self.n_events,
            "pooled_auc": _r(self.pooled),
            "pooled_ci95": [_r(v) for v in self.pooled_ci] if self.pooled_ci else None,
            "within_auc": _r(self.within),
            "within_ci95": [_r(v) for v in self.within_ci] if self.within_ci else None,
            "n_athletes_within": self.n_athletes_within,
        }


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else round(float(x), nd)


def _predictor(
    name: str, kind: str, ath: np.ndarray, y: np.ndarray, x: np.ndarray, *, n_boot: int, seed: int, min_class_n: int
) -> PredictorResult:
    ok = ~np.isnan(x)
    ath, y, x = ath[ok], y[ok], x[ok]
    n = len(y)
    if n == 0:
        return PredictorResult(name, kind, 0, 0, None, None, None, None, 0)
    inv, nv = _uniq(x)
    athletes, a_idx = np.unique(ath, return_inverse=True)
    a_idx = a_idx.ravel()
    pooled = _weighted_auc(y, inv, nv, np.ones(n))
    # per-athlete AUCs (athletes with enough days of both classes)
    per: dict[int, float] = {}
    for i in range(len(athletes)):
        m = a_idx == i
        yi = y[m]
        if yi.sum() >= min_class_n and (~yi).sum() >= min_class_n:
            v = auc(yi, x[m])
            if v is not None:
                per[i] = v
    within = float(np.mean(list(per.values()))) if per else None
    rng = np.random.default_rng(seed)
    pooled_bs: list[float] = []
    within_bs: list[float] = []
    n_a = len(athletes)
    for _ in range(n_boot):
        pick = rng.integers(0, n_a, n_a)
        counts = np.bincount(pick, minlength=n_a).astype(float)
        v = _weighted_auc(y, inv, nv, counts[a_idx])
        if v is not None:
            pooled_bs.append(v)
        vals = [per[i] for i in pick if i in per]
        if vals:
            within_bs.append(float(np.mean(vals)))

    def ci(b: list[float]) -> tuple[float, float] | None:
        return (float(np.percentile(b, 2.5)), float(np.percentile(b, 97.5))) if len(b) >= 20 else None

    return PredictorResult(name, kind, n, int(y.sum()), pooled, ci(pooled_bs), within, ci(within_bs), len(per))


@dataclass
class Evaluation:
    """Everything ``strainwatch evaluate`` prints."""

    label: str
    horizon_d: int
    n_days: int
    n_events: int
    n_athletes: int
    predictors: list[PredictorResult]
    bands: list[dict[str, Any]]
    band_share: dict[str, Any]
    n_boot: int
    min_class_n: int
    notes: list[str] = field(default_factory=list)

    @property
    def base_rate(self) -> float | None:
        return self.n_events / self.n_days if self.n_days else None

    def predictor(self, name: str) -> PredictorResult:
        for p in self.predictors:
            if p.name == name:
                return p
        raise KeyError(name)

    def band(self, name: str) -> dict[str, Any]:
        for b in self.bands:
            if b["band"] == name:
                return b
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "horizon_d": self.horizon_d,
            "n_days": self.n_days,
            "n_events": self.n_events,
            "n_athletes": self.n_athletes,
            "base_rate": _r(self.base_rate),
            "n_boot": self.n_boot,
            "min_class_n": self.min_class_n,
            "predictors": [p.as_dict() for p in self.predictors],
            "bands": [{k: _r(v) if isinstance(v, float) else v for k, v in b.items()} for b in self.bands],
            "band_share": {k: _r(v) if isinstance(v, float) else v for k, v in self.band_share.items()},
            "notes": list(self.notes),
        }

    def to_markdown(self) -> str:
        br = self.base_rate
        lines = [
            "## How the indicator tracked the team's reports (a risk indicator, not a diagnosis)",
            "",
            f"Outcome: `{self.label}` reported on any of the {self.horizon_d} days after the scored day. "
            f"{self.n_days} labelled athlete-days with a score, {self.n_athletes} athletes, "
            f"{self.n_events} followed by the outcome (base rate {_pct(br)}).",
            "",
            f"ROC AUC, 95 % CI from {self.n_boot} bootstrap resamples of athletes; within = mean of the "
            f"per-athlete AUCs (athletes with >= {self.min_class_n} days of each class).",
            "",
            "| predictor | kind | days | pooled AUC [95 % CI] | within-athlete AUC [95 % CI] | athletes |",
            "|---|---|---|---|---|---|",
        ]
        for p in self.predictors:
            lines.append(
                f"| {p.name} | {p.kind} | {p.n_days} | {_auc_ci(p.pooled, p.pooled_ci)} | "
                f"{_auc_ci(p.within, p.within_ci)} | {p.n_athletes_within} |"
            )
        lines += ["", "| band | labelled days | precision | recall | lift vs base rate |", "|---|---|---|---|---|"]
        for b in self.bands:
            lines.append(
                f"| {b['band']} | {b['n_days']} | {_f3(b['precision'])} | {_f3(b['recall'])} | {_f2(b['lift'])} |"
            )
        s = self.band_share
        lines += [
            "",
            f"Share of scored athlete-days per band ({s['n_scored']} scored of {s['n_all']} athlete-days; "
            f"{s['n_insufficient']} `insufficient_data`): low {_pct(s['low'])}, moderate {_pct(s['moderate'])}, "
            f"high {_pct(s['high'])}, moderate or high {_pct(s['moderate_or_high'])}.",
        ]
        if self.notes:
            lines += [""] + [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def _f3(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def _f2(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _auc_ci(v: float | None, ci: tuple[float, float] | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:.3f} [{ci[0]:.2f}-{ci[1]:.2f}]" if ci else f"{v:.3f}"


def band_share(scores: pl.DataFrame) -> dict[str, Any]:
    """Share of scored athlete-days (band not ``insufficient_data``) in each band."""
    counts = dict(scores.group_by("risk_band").len().iter_rows())
    n_all = int(sum(counts.values()))
    n_ins = int(counts.get("insufficient_data", 0))
    n_sc = n_all - n_ins
    out: dict[str, Any] = {"n_all": n_all, "n_scored": n_sc, "n_insufficient": n_ins}
    for b in BANDS:
        out[b] = counts.get(b, 0) / n_sc if n_sc else None
    out["moderate_or_high"] = (counts.get("moderate", 0) + counts.get("high", 0)) / n_sc if n_sc else None
    return out


def _band_table(frame: pl.DataFrame) -> list[dict[str, Any]]:
    y = frame["label"].to_numpy().astype(bool)
    band = frame["risk_band"].to_numpy()
    n_pos = int(y.sum())
    base = n_pos / len(y) if len(y) else None
    rows = []
    for name, members in (
        ("low", ("low",)),
        ("moderate", ("moderate",)),
        ("high", ("high",)),
        ("moderate or high", ("moderate", "high")),
    ):
        m = np.isin(band, members)
        n = int(m.sum())
        prec = float(y[m].mean()) if n else None
        rows.append(
            {
                "band": name,
                "n_days": n,
                "precision": prec,
                "recall": float(y[m].sum() / n_pos) if n_pos else None,
                "lift": prec / base if prec is not None and base else None,
            }
        )
    return rows


def evaluate_frame(
    frame: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    label: str,
    horizon_d: int,
    n_boot: int = 1000,
    seed: int = 0,
    min_class_n: int = 5,
    components: bool = True,
) -> Evaluation:
    """AUCs with CIs for every predictor of an :func:`assemble` frame, band table and band shares.

    ``scores`` (all stored score rows of the evaluated athletes and period)
    gives the share of days per band. ``components=False`` leaves out the
    per-component rows and the constant (the weekly report's short version).
    """
    ath = frame["athlete_id"].to_numpy()
    y = frame["label"].to_numpy().astype(bool)
    cols: list[tuple[str, str, str]] = [("risk_score", "risk_score", "score")]
    if components:
        cols += [(c, c.removeprefix("comp_"), "component") for c in frame.columns if c.startswith("comp_")]
    cols += [(c, n, "baseline") for c, n in BASELINES.items()]
    preds = []
    for col, name, kind in cols:
        x = (
            frame[col].cast(pl.Float64).fill_null(float("nan")).to_numpy()
            if col in frame.columns
            else np.full(len(y), np.nan)
        )
        preds.append(_predictor(name, kind, ath, y, x, n_boot=n_boot, seed=seed, min_class_n=min_class_n))
    if components:
        preds.append(
            _predictor(
                "constant", "constant", ath, y, np.zeros(len(y)), n_boot=n_boot, seed=seed, min_class_n=min_class_n
            )
        )
    notes = []
    n_ath = len(np.unique(ath)) if len(ath) else 0
    if n_ath < 10:
        notes.append(f"only {n_ath} athletes: the bootstrap CIs over athletes are rough")
    return Evaluation(
        label=label,
        horizon_d=horizon_d,
        n_days=len(y),
        n_events=int(y.sum()),
        n_athletes=n_ath,
        predictors=preds,
        bands=_band_table(frame) if len(y) else [],
        band_share=band_share(scores),
        n_boot=n_boot,
        min_class_n=min_class_n,
        notes=notes,
    )


def evaluate_scores(
    scores: pl.DataFrame,
    features: pl.DataFrame,
    *,
    reports: pl.DataFrame | None = None,
    spec: LabelSpec | None = None,
    injuries: pl.DataFrame | None = None,
    horizon_d: int = 3,
    gap_d: int = 7,
    n_boot: int = 1000,
    seed: int = 0,
    min_class_n: int = 5,
    components: bool = True,
) -> Evaluation:
    """Labels, predictors and figures in one call (``components``: as :func:`evaluate_frame`).

    Give either ``reports`` with a ``spec`` (a self-report item) or
    ``injuries`` (``athlete_id, date`` of injury reports: new episodes after
    ``gap_d`` days without a report).

    Raises
    ------
    ValueError
        Neither or both label sources; a label column that is missing.
    """
    if (spec is None) == (injuries is None):
        raise ValueError("give a self-report label (reports and spec) or injury reports, not both or neither")
    days = scores.select("athlete_id", "date")
    if injuries is not None:
        labels = onset_labels(days, injuries, horizon_d=horizon_d, gap_d=gap_d)
        history = None
        name = f"new injury episode (after {gap_d} d without a report)"
    else:
        if reports is None:
            raise ValueError("a label spec needs the reports it reads")
        ev = event_days(reports, spec)
        labels = horizon_labels(days, ev, horizon_d=horizon_d)
        history = label_history(days, ev)
        name = spec.describe()
    frame = assemble(scores, features, labels, history)
    return evaluate_frame(
        frame,
        scores,
        label=name,
        horizon_d=horizon_d,
        n_boot=n_boot,
        seed=seed,
        min_class_n=min_class_n,
        components=components,
    )


def report_summary(ev: Evaluation | Mapping[str, Any]) -> dict[str, Any]:
    """The weekly report's "how the indicator tracked this team's reports": a few figures and one
    plain verdict, as template data (strings ready to show).

    Accepts an :class:`Evaluation` or its :meth:`Evaluation.to_dict`. The verdict reads the
    within-athlete AUC of ``risk_score`` and its 95 % CI: above chance only when the whole CI is
    above 0.5, below chance only when it is wholly below, otherwise "no better than chance". A
    team with too few athletes for a within-athlete AUC gets the pooled figure instead.
    """
    d = ev.to_dict() if isinstance(ev, Evaluation) else dict(ev)
    preds = {p["predictor"]: p for p in d["predictors"]}

    def auc_txt(p: Mapping[str, Any] | None, key: str) -> str:
        if not p or p.get(key) is None:
            return "n/a"
        ci = p.get(key.replace("_auc", "_ci95"))
        return f"{p[key]:.2f} ({ci[0]:.2f}-{ci[1]:.2f})" if ci else f"{p[key]:.2f}"

    rows = []
    for name, what in (
        ("risk_score", "risk score"),
        (BASELINES["load_7d_au"], "7-day load alone"),
        (BASELINES["label_history_7d"], "the outcome's own last 7 days"),
    ):
        p = preds.get(name)
        if p is not None:
            rows.append({"what": what, "within": auc_txt(p, "within_auc"), "pooled": auc_txt(p, "pooled_auc")})
    share = d["band_share"]
    bands = {b["band"]: b for b in d["bands"]}
    band_rows = []
    for b in BANDS:
        x = bands.get(b, {})
        band_rows.append(
            {
                "band": b,
                "share": _pct(share.get(b)),
                "precision": _pct(x.get("precision")),
                "lift": "n/a" if x.get("lift") is None else f"{x['lift']:.2f} x",
            }
        )
    rs = preds.get("risk_score", {})
    key = "within" if rs.get("within_auc") is not None else "pooled"
    v, ci = rs.get(f"{key}_auc"), rs.get(f"{key}_ci95")
    scope = "an athlete's own days" if key == "within" else "the team's days"
    if v is None:
        verdict = "Too few days with and without the outcome to rank them yet."
    elif ci and ci[0] > 0.5:
        verdict = f"The score ranked {scope} before the outcome above the others (ROC AUC {auc_txt(rs, key + '_auc')})."
    elif ci and ci[1] < 0.5:
        verdict = (
            f"The score ranked {scope} before the outcome below the others (ROC AUC {auc_txt(rs, key + '_auc')}): "
            "on this team it does not forecast these reports; read the bands as a load and recovery summary."
        )
    else:
        verdict = (
            f"The score ranked {scope} before the outcome no better than chance (ROC AUC "
            f"{auc_txt(rs, key + '_auc')}; 0.5 = chance): on this team it does not forecast these reports; "
            "read the bands as a load and recovery summary."
        )
    return {
        "label": d["label"],
        "horizon_d": d["horizon_d"],
        "n_days": d["n_days"],
        "n_events": d["n_events"],
        "n_athletes": d["n_athletes"],
        "base_rate": _pct(d["base_rate"]),
        "n_boot": d["n_boot"],
        "rows": rows,
        "bands": band_rows,
        "moderate_or_high": _pct(share.get("moderate_or_high")),
        "verdict": verdict,
    }
