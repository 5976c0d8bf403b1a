"""``strainwatch score`` and ``strainwatch model train|evaluate``."""

from __future__ import annotations

import json
import warnings
from datetime import date
from enum import StrEnum
from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, parse_date_option, resolve_store
from pipelines.errors import EXIT_FAILED, EXIT_USAGE


class Kind(StrEnum):
    logistic = "logistic"
    hgb = "hgb"


def _params(cfg):
    """``[scorer.params]``; the sleep need defaults to ``[features.params] sleep_need_h`` so the
    scorer's 7-d mean rule and advice use the need the feature stage's sleep debt was computed with."""
    from models.rules import ScorerParams

    try:
        return ScorerParams.from_dict(cfg.scorer_params())
    except ValueError as err:
        typer.echo(f"error: [scorer.params] {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _features(st, athletes, as_of: date | None):
    """The stored features (exit 2 when there are none) and the as_of date to use."""
    import polars as pl

    if not st.table_dir("features").exists():
        typer.echo(
            f"error: no features in {st.root}; run `strainwatch features` (or `strainwatch run`) first", err=True
        )
        raise typer.Exit(EXIT_USAGE)
    feats = st.read_table("features", athletes=athletes)
    if feats.is_empty():
        typer.echo(
            f"error: no feature rows in {st.root}" + (f" for {', '.join(athletes)}" if athletes else ""), err=True
        )
        raise typer.Exit(EXIT_USAGE)
    last = feats["date"].max()
    return feats.filter(pl.col("date") <= (as_of or last)), (as_of or last)


def _self_report_label(st, feats, label: str, horizon: int):
    """Features with the wellness item of ``label`` (worst report of the day) and its LabelParams."""
    import polars as pl

    from models.evaluate import LabelSpec
    from models.learned import LabelParams

    spec = LabelSpec.parse(label)
    if spec.op not in ("<=", ">="):
        raise ValueError(f"--label: use <= or >= for an episode threshold, got {spec.op!r}")
    w = st.read_table("wellness")
    if spec.column not in w.columns:
        raise ValueError(f"--label: no column {spec.column!r} in the wellness table")
    worst = pl.col(spec.column).min() if spec.op == "<=" else pl.col(spec.column).max()
    item = w.filter(pl.col(spec.column).is_not_null()).group_by("athlete_id", "date").agg(worst.alias(spec.column))
    feats = feats.drop(spec.column, strict=False).join(item, on=["athlete_id", "date"], how="left")
    return feats, LabelParams(
        horizon_d=horizon, pain_threshold=spec.threshold, label_column=spec.column, label_op=spec.op
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def score(
        as_of: str | None = typer.Option(
            None, "--as-of", help="Last day to score, YYYY-MM-DD (default: the latest feature day)."
        ),
        model: Path | None = typer.Option(
            None,
            "--model",
            help=(
                "Learned model bundle from `strainwatch model train` (default: [scorer] model_path, else the rule "
                "scorer)."
            ),
        ),
        rules: bool = typer.Option(False, "--rules", help="Use the rule scorer even when the config names a model."),
        since: str | None = typer.Option(
            None, "--since", help="Recompute only days from this date; earlier scores are kept."
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Score every athlete-day: risk 0-100, band, reasons and adjustments (a risk indicator, not a diagnosis)."""
        from models.learned import ModelError
        from pipelines.stage_args import score_args
        from pipelines.stage_score import run_scores
        from pipelines.store import Store

        cfg = load_config_or_exit(config)
        _params(cfg)  # [scorer.params] checked here: exit code 2 naming the key
        st = Store(resolve_store(store, config))
        day = parse_date_option(as_of, "--as-of")
        if day is None:
            _, day = _features(st, athlete or None, None)
        try:
            r = run_scores(
                st,
                **score_args(
                    cfg,
                    as_of=day,
                    athletes=athlete or None,
                    model_path=model,
                    rules=rules,
                    since=parse_date_option(since, "--since"),
                ),
            )
        except ModelError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        for w in r.warnings:
            typer.echo(f"warning: {w}", err=True)
        if not r.athletes:
            typer.echo(f"error: no features in {st.root}; run `strainwatch features` first", err=True)
            raise typer.Exit(EXIT_USAGE)
        typer.echo(r.summary() + f" (to {day})")

    model_app = typer.Typer(
        help="Learned back-strain model (opt-in): train and evaluate on days with a back-pain log.",
        no_args_is_help=True,
    )

    @model_app.command("train")
    def train(
        out: Path | None = typer.Option(
            None, "--out", help="Model file to write (default: <store>/models/backstrain-<kind>.json)."
        ),
        kind: Kind = typer.Option(Kind.logistic, "--kind", help="logistic (default) or hgb (gradient boosting)."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Last day to learn from (default: the latest feature day)."
        ),
        horizon: int = typer.Option(7, "--horizon", help="Days ahead a new pain episode counts as the outcome."),
        pain_threshold: float = typer.Option(3.0, "--pain-threshold", help="Back pain 0-10 that counts as an episode."),
        budget_high: float = typer.Option(0.05, "--budget-high", help="Share of training days that should be 'high'."),
        budget_moderate: float = typer.Option(
            0.20, "--budget-moderate", help="Share of training days that should be 'moderate' or 'high'."
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Fit and calibrate a model on the labelled days; save it with its feature list, version and data hash."""
        from models.learned import LabelParams, ModelError, save_model, train_model
        from pipelines.store import Store

        cfg = load_config_or_exit(config)
        params = _params(cfg)
        st = Store(resolve_store(store, config))
        feats, day = _features(st, athlete or None, parse_date_option(as_of, "--as-of"))
        try:
            lp = LabelParams(horizon_d=horizon, pain_threshold=pain_threshold)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the EPV warning is printed below
                b = train_model(
                    feats,
                    as_of=day,
                    kind=kind.value,
                    label_params=lp,
                    scorer_params=params,
                    alert_budget_high=budget_high,
                    alert_budget_moderate=budget_moderate,
                )
        except (ModelError, ValueError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        path = out or (st.root / "models" / f"backstrain-{kind.value}.json")
        save_model(b, path)
        typer.echo(
            f"trained {b.model_id} on {b.n_rows} labelled days of {b.n_athletes} athletes to {day}: "
            f"{b.n_events} episode onsets, {len(b.feature_names)} features (EPV {b.epv:.1f})"
        )
        typer.echo(
            f"band thresholds (calibrated probability of an onset within {lp.horizon_d} d): "
            f"moderate >= {b.thresholds['moderate']:.3f}, high >= {b.thresholds['high']:.3f}"
        )
        typer.echo(f"training data sha256 {b.training_hash}")
        for w in b.warnings:
            typer.echo(f"WARNING: {w}", err=True)
        typer.echo(
            f"wrote {path}; check it with `strainwatch model evaluate` before `strainwatch score --model {path}`"
        )

    @model_app.command("evaluate")
    def evaluate_cmd(
        kind: list[Kind] | None = typer.Option(None, "--kind", help="Models to validate (repeatable; default both)."),
        as_of: str | None = typer.Option(None, "--as-of", help="Last day to use (default: the latest feature day)."),
        splits: int = typer.Option(5, "--splits", help="Folds per validation scheme."),
        horizon: int = typer.Option(7, "--horizon", help="Days ahead a new pain episode counts as the outcome."),
        pain_threshold: float = typer.Option(3.0, "--pain-threshold", help="Back pain 0-10 that counts as an episode."),
        json_out: Path | None = typer.Option(None, "--json", help="Also write the full report as JSON."),
        label: str | None = typer.Option(
            None,
            "--label",
            help=(
                "Episodes from another self-report item of the wellness table instead of back pain, e.g. "
                "'soreness_1_5<=2' (>= or <=)."
            ),
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Validate by athlete and forward in time: PR-AUC, ROC-AUC, Brier, calibration vs the rule score and
        intercept-only.

        Exit code 1 when no fold could be evaluated (too few labelled episodes).
        """
        from models.learned import LabelParams, ModelError, evaluate
        from pipelines.store import Store

        if splits < 2:
            typer.echo(f"error: --splits must be at least 2, got {splits}", err=True)
            raise typer.Exit(EXIT_USAGE)
        cfg = load_config_or_exit(config)
        params = _params(cfg)
        st = Store(resolve_store(store, config))
        feats, day = _features(st, athlete or None, parse_date_option(as_of, "--as-of"))
        kinds = tuple(k.value for k in (kind or [Kind.logistic, Kind.hgb]))
        try:
            if label is not None:
                feats, lp = _self_report_label(st, feats, label, horizon)
            else:
                lp = LabelParams(horizon_d=horizon, pain_threshold=pain_threshold)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # the report carries its warnings
                rep = evaluate(feats, as_of=day, kinds=kinds, label_params=lp, scorer_params=params, n_splits=splits)
        except (ModelError, ValueError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        typer.echo(f"validation to {day}")
        typer.echo(rep.to_text())
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(rep.to_dict(), indent=2), encoding="utf-8")
            typer.echo(f"wrote {json_out}")
        if not rep.metrics:
            raise typer.Exit(EXIT_FAILED)

    app.add_typer(model_app, name="model")
