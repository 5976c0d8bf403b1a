"""One function per stage that turns a :class:`~pipelines.config.Config` into that stage's arguments.

Both the CLI commands (``strainwatch ingest/features/score/report/alert``) and the
flow tasks of :mod:`pipelines.flows` call these, so a configured value (a sleep
need, a team name, a roster time zone, an alert URL) reaches a stage the same way
whichever path runs it. Each returns the keyword arguments of the stage function
(:func:`pipelines.ingest.ingest_paths`, :func:`pipelines.stage_features.run_features`,
:func:`pipelines.stage_score.run_scores`, :func:`pipelines.stage_report.run_report`,
:func:`pipelines.stage_alert.run_alerts`) except the store; the caller adds what is
specific to its run (a chunk of athletes, a dirty date) through the parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pipelines.config import Config

__all__ = ["ingest_args", "features_args", "score_args", "report_args", "alert_args", "alert_channels"]


def ingest_args(
    cfg: Config,
    *,
    athlete: str | None = None,
    rebuild: Sequence[str] = (),
    progress: Callable[[int, int, str], None] | None = None,
    workers: int | None = None,
    max_file_mb: float | None = None,
    on_bad_row: str | None = None,
    retry_rejected: bool | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`pipelines.ingest.ingest_paths`: the roster's time zones, device
    serials and aliases and ``[inputs]``; explicit values (CLI options) win over the config."""
    mb = cfg.inputs.max_file_mb if max_file_mb is None else max_file_mb
    return dict(
        athlete=athlete,
        tz_for=cfg.tz_for,
        device_map=cfg.device_map(),
        aliases=cfg.alias_map(),
        max_file_bytes=int(mb * 1e6) if mb else None,
        on_bad_row=cfg.inputs.on_bad_row if on_bad_row is None else on_bad_row,
        retry_rejected=cfg.inputs.retry_rejected if retry_rejected is None else retry_rejected,
        workers=cfg.inputs.workers if workers is None else workers,
        lock_timeout_s=cfg.store.lock_timeout_s,
        rebuild=tuple(rebuild),
        progress=progress,
    )


def features_args(
    cfg: Config,
    *,
    as_of: date,
    athletes: Sequence[str] | None = None,
    since: date | None = None,
    full: bool = False,
    load_family: str | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`pipelines.stage_features.run_features`: ``[features.params]``
    (``load_family`` overriding it) and the roster's physiology overrides of ``athletes``."""
    params = dict(cfg.features.params)
    if load_family is not None:
        params["load_family"] = load_family
    info = cfg.athlete_overrides()
    if athletes is not None:
        info = {a: info[a] for a in athletes if a in info}
    return dict(
        as_of=as_of,
        athletes=list(athletes) if athletes else None,
        params=params or None,
        since=since,
        full=full,
        athlete_info=info,
    )


def score_args(
    cfg: Config,
    *,
    as_of: date,
    athletes: Sequence[str] | None = None,
    since: date | None = None,
    model_path: str | Path | None = None,
    rules: bool = False,
) -> dict[str, Any]:
    """Keyword arguments of :func:`pipelines.stage_score.run_scores`: ``[scorer.params]`` (sleep need
    defaulting to the feature stage's) and the model (``model_path``, else ``[scorer] model_path``;
    ``rules`` forces the rule scorer)."""
    mp = None if rules else (model_path or cfg.scorer.model_path)
    return dict(
        as_of=as_of,
        athletes=list(athletes) if athletes else None,
        params=cfg.scorer_params(),
        model_path=str(mp) if mp else None,
        since=since,
    )


def report_args(
    cfg: Config,
    *,
    as_of: date | None,
    week: str | None = None,
    out_path: str | Path | None = None,
    athletes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`pipelines.stage_report.run_report`: roster names and groups, the
    team title (None for an unnamed team), the scorer's parameters, ``[report] stale_after_d`` and the
    ``[report] evaluation*`` settings."""
    return dict(
        week=week,
        as_of=as_of,
        out_path=Path(out_path) if out_path is not None else None,
        athletes=list(athletes) if athletes else None,
        names=cfg.names(),
        team_name=cfg.team_title(),
        params=cfg.scorer_params(),
        stale_after_d=cfg.report.stale_after_d,
        groups=cfg.groups(),
        evaluation=cfg.report.evaluation,
        evaluation_label=cfg.report.evaluation_label,
        evaluation_injuries=cfg.report.evaluation_injuries,
        evaluation_horizon_d=cfg.report.evaluation_horizon_d,
    )


def alert_channels(cfg: Config):
    """The alert URLs of ``cfg`` as one typed :class:`~pipelines.stage_alert.ChannelConfig`
    (``${VAR}`` unresolved: the alert stage substitutes and masks them at send time)."""
    from pipelines.stage_alert import channels_from_config

    urls = cfg.alert_urls()
    return channels_from_config(
        {"athletes": {k: v for k, v in urls.items() if k != "coach"}, "coach": urls.get("coach", [])}
    )


def alert_args(
    cfg: Config,
    *,
    as_of: date | None,
    dry_run: bool | None = None,
    athletes: Sequence[str] | None = None,
    channels_from: Config | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`pipelines.stage_alert.run_alerts`.

    ``dry_run`` None means ``[alerts] dry_run``. ``channels_from`` is the config to read the alert
    URLs from when ``cfg`` had them removed (:meth:`Config.without_secrets`, what a flow task gets).
    """
    return dict(
        as_of=as_of,
        channels=alert_channels(channels_from if channels_from is not None else cfg),
        dry_run=cfg.alerts.dry_run if dry_run is None else dry_run,
        names=cfg.names(),
        athletes=list(athletes) if athletes else None,
        team_name=cfg.team_title(),
        params=cfg.scorer_params(),
        stale_after_d=cfg.report.stale_after_d,
    )
