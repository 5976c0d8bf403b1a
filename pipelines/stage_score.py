"""Score stage: ``features`` table -> ``scores`` table (rule scorer or a learned model).

Wires the pure scorers of :mod:`models` to the store. Called by the ``score``
Prefect flow (``pipelines.flows``, per chunk of athletes) and by
``strainwatch score``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from features.schemas import SCORES, conform
from models.rules import ScorerParams, score_features
from pipelines.store import Store

__all__ = ["ScoreRunResult", "run_scores", "scorer_params"]


@dataclass
class ScoreRunResult:
    """What one score run did."""

    days_scored: int = 0
    athletes: list[str] = field(default_factory=list)
    model: str = "rules"
    bands: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        bands = ", ".join(f"{k} {v}" for k, v in sorted(self.bands.items())) or "none"
        return (f"scored {self.days_scored} athlete-days for {len(self.athletes)} athletes "
                f"with {self.model}; bands: {bands}")


def scorer_params(params: ScorerParams | Mapping[str, Any] | None) -> ScorerParams:
    """``ScorerParams`` from a config dict (``[scorer.params]``), an instance or None."""
    if isinstance(params, ScorerParams):
        return params
    return ScorerParams.from_dict(params)


def run_scores(
    store: Store,
    *,
    as_of: date,
    athletes: Sequence[str] | None = None,
    params: ScorerParams | Mapping[str, Any] | None = None,
    model_path: str | Path | None = None,
    since: date | None = None,
) -> ScoreRunResult:
    """Score every stored feature day up to ``as_of`` and replace the ``scores`` partitions.

    Parameters
    ----------
    store : Store
    as_of : datetime.date
        Last day scored; feature rows after it are not read.
    athletes : list of str, optional
        Only these athletes (default: every athlete with features).
    params : ScorerParams or dict, optional
        Scorer parameters (the ``[scorer.params]`` config section).
    model_path : path, optional
        A model bundle saved by ``strainwatch model train``; None: rule scorer.
    since : datetime.date, optional
        Recompute only days >= ``since``; stored scores before it are kept.
        All earlier feature rows are still read (streaks, the d-1 row).

    Returns
    -------
    ScoreRunResult

    Raises
    ------
    ValueError
        Bad ``params`` (the message names the key).
    models.learned.ModelError
        ``model_path`` is not a readable strainwatch model bundle.
    """
    p = scorer_params(params)
    ids = list(athletes) if athletes is not None else store.athletes("features")
    result = ScoreRunResult(athletes=ids)
    if not ids:
        return result
    feats = store.read_table("features", athletes=ids)
    if model_path is not None:
        from models.learned import load_model, score_features_learned

        bundle = load_model(model_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = score_features_learned(feats, as_of=as_of, bundle=bundle, params=p, start=since)
        result.warnings.extend(str(w.message) for w in caught)
        result.model = bundle.model_id
    else:
        scores = score_features(feats, as_of=as_of, params=p, start=since)
    if since is not None:
        old = store.read_table("scores", athletes=ids)
        keep = old.filter(pl.col("date") < since)
        scores = pl.concat([conform(keep, SCORES), conform(scores, SCORES)], how="vertical_relaxed")
    with store.lock():
        store.replace_athletes("scores", scores, athletes=ids)
    new = scores if since is None else scores.filter(pl.col("date") >= since)
    result.days_scored = new.height
    result.bands = dict(new.group_by("risk_band").len().iter_rows()) if new.height else {}
    return result
