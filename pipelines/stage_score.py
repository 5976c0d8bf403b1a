"""Score stage: ``features`` table -> ``scores`` table (rule scorer or a learned model).

Wires the pure scorers of :mod:`models` to the store. Called by the ``score``
Prefect flow (``pipelines.flows``, per chunk of athletes) and by
``strainwatch score``.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from models.columnar import score_features_columnar
from models.rules import ScorerParams, streaks_before
from pipelines.store import Store

__all__ = [
    "ScoreRunResult",
    "run_scores",
    "scorer_params",
    "score_lookback_days",
    "read_features_for_scoring",
    "SCORER_PARAMS_KEY",
    "params_used",
]

#: state map: athlete_id -> JSON of the ScorerParams their stored scores were made with
SCORER_PARAMS_KEY = "scorer_params_used"

#: Default walk-back budget [d] for the high-band / recovery streaks before ``since``.
SCORE_WALK_DAYS = 28


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
        return (
            f"scored {self.days_scored} athlete-days for {len(self.athletes)} athletes "
            f"with {self.model}; bands: {bands}"
        )


#: athletes scored at a time by the rule scorer (:func:`run_scores`): bounds a backfill's memory
SCORE_CHUNK_ATHLETES = 250


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
        Recompute only days >= ``since``; stored scores before it are kept
        as stored. With the rule scorer only the feature rows from
        ``since - score_lookback_days(params)`` are read (more when a streak
        before ``since`` is longer, see :func:`read_features_for_scoring`);
        the result equals a full run bit for bit. A learned model reads every
        feature row (its athlete-relative inputs use the whole history).

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
    if model_path is not None:
        from models.learned import load_model, score_features_learned

        # the learned model's athlete-relative inputs use every earlier day: read all
        feats = store.read_table("features", athletes=ids, until=as_of)
        bundle = load_model(model_path)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            scores = score_features_learned(feats, as_of=as_of, bundle=bundle, params=p, start=since)
        result.warnings.extend(str(w.message) for w in caught)
        result.model = bundle.model_id
    else:
        # the rule scorer, SCORE_CHUNK_ATHLETES at a time: every frame is per athlete, so a team's
        # backfill holds one chunk's features and scores at a time (the result is the same)
        bands: dict[str, int] = {}
        for k in range(0, len(ids), SCORE_CHUNK_ATHLETES):
            chunk = ids[k : k + SCORE_CHUNK_ATHLETES]
            if since is not None:
                feats = read_features_for_scoring(store, chunk, since=since, as_of=as_of, params=p)
            else:
                feats = store.read_table("features", athletes=chunk, until=as_of)
            # issue 19: columnar, equal to models.rules.score_features (the test oracle) bit for bit
            scores = score_features_columnar(feats, as_of=as_of, params=p, start=since)
            del feats
            _write_scores(store, scores, chunk, since, p)
            new = scores if since is None else scores.filter(pl.col("date") >= since)
            result.days_scored += new.height
            for band, n in new.group_by("risk_band").len().iter_rows():
                bands[band] = bands.get(band, 0) + n
        result.bands = bands
        return result
    _write_scores(store, scores, ids, since, p)
    new = scores if since is None else scores.filter(pl.col("date") >= since)
    result.days_scored = new.height
    result.bands = dict(new.group_by("risk_band").len().iter_rows()) if new.height else {}
    return result


def _write_scores(store: Store, scores: pl.DataFrame, ids: Sequence[str], since: date | None, p: ScorerParams) -> None:
    with store.lock():
        if since is None:
            store.replace_athletes("scores", scores, athletes=ids)
        else:
            # stored scores before ``since`` are kept as stored (not re-read into the scorer)
            store.splice_athletes("scores", scores, {a: since for a in ids})
        # the parameters these scores were made with: the report and alert texts quote them (issue 16)
        used = json.dumps(p.to_dict(), sort_keys=True)  # once, not once per athlete (0.7 s for 1,000)
        store.update_state_map(SCORER_PARAMS_KEY, dict.fromkeys(ids, used))


def params_used(
    store: Store, athletes: Iterable[str] | None, fallback: ScorerParams | Mapping[str, Any] | None
) -> ScorerParams:
    """The ScorerParams the stored scores of ``athletes`` were made with.

    Read from the state map the score stage writes; when athletes were scored
    with different parameters, the most common set. ``fallback`` (the
    configured parameters) when nothing is recorded or a recorded set no
    longer validates.
    """
    rec = store.get_state_map(SCORER_PARAMS_KEY, athletes)
    if rec:
        best = Counter(rec.values()).most_common(1)[0][0]
        try:
            return ScorerParams.from_dict(json.loads(best))
        except (ValueError, TypeError):
            pass
    return scorer_params(fallback)


def score_lookback_days(params: ScorerParams, walk_days: int = SCORE_WALK_DAYS) -> int:
    """Days before ``since`` that a ``since``-limited rule scoring reads at first.

    A day d reads the FEATURES rows d-1 and d-8 (:func:`models.rules.score_day`);
    the red-flag hold and advice follow-up look back ``max(red_flag_hold_d,
    red_flag_followup_d)`` days; the high-band and recovery streaks walk back
    from ``since - 1`` until both break (:func:`models.rules.streaks_before`),
    scoring each day on its way (so reading its d-8 row). ``walk_days`` is the
    walk-back budget; a longer open streak makes :func:`read_features_for_scoring`
    read the athlete's whole history.
    """
    return max(8, params.red_flag_hold_d, params.red_flag_followup_d) + walk_days + 8


def read_features_for_scoring(
    store: Store,
    athletes: Sequence[str],
    *,
    since: date,
    as_of: date,
    params: ScorerParams,
    walk_days: int = SCORE_WALK_DAYS,
) -> pl.DataFrame:
    """The stored FEATURES rows a rule scoring of ``since..as_of`` needs, and no more than that.

    Reads the rows from ``since - score_lookback_days(params)``. An athlete
    whose streak walk-back (:func:`models.rules.streaks_before`) would score
    a day whose d-8 row lies before the rows read, while older rows exist, is
    read again in full, so that the scores equal a full run's bit for bit.
    """
    lo = since - timedelta(days=score_lookback_days(params, walk_days))
    feats = store.read_table("features", athletes=athletes, since=lo, until=as_of)
    if feats.is_empty():
        return feats
    short: list[str] = []
    one = timedelta(days=1)
    for (a,), frame in (
        feats.filter(pl.col("date") < since).partition_by("athlete_id", as_dict=True, maintain_order=True).items()
    ):
        if frame.is_empty() or frame["date"].min() > lo:
            continue  # the athlete's whole history is in the frame
        rows = {r["date"]: r for r in frame.iter_rows(named=True)}
        high, recov = streaks_before(rows, since, params)
        # days scored by the walk: since-1 .. since-1-max(streak) (the breaking day included)
        lowest = since - one - timedelta(days=max(high, recov)) - 8 * one
        if lowest < lo:
            short.append(a)
    if short:
        full = store.read_table("features", athletes=short, until=as_of)
        feats = pl.concat([feats.filter(~pl.col("athlete_id").is_in(short)), full], how="vertical")
    return feats
