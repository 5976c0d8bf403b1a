"""Report stage: write the weekly coach report from the store (I/O around :mod:`reports.weekly`).

:func:`run_report` reads FEATURES, SCORES and the WELLNESS notes from the
store, builds the HTML with :func:`reports.weekly.build_weekly_report` and
writes it atomically (:func:`pipelines.atomic.atomic_write_bytes`), so a
reader never sees a half-written file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl

from models.rules import ScorerParams
from pipelines.ack import read_acks, sent_alerts
from pipelines.atomic import atomic_write_bytes
from pipelines.stage_score import params_used
from pipelines.store import Store
from reports.weekly import build_weekly_report, iso_week_of, parse_iso_week

__all__ = ["ReportResult", "run_report", "default_report_path"]


@dataclass(frozen=True)
class ReportResult:
    path: Path
    bytes: int
    week: str
    as_of: date
    athletes: int


def default_report_path(week: str, athlete: str | None = None) -> Path:
    """``strainwatch-2026-W15.html`` (``strainwatch-2026-W15-<athlete>.html`` for one athlete)."""
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in athlete) if athlete else None
    return Path(f"strainwatch-{week}{'-' + safe if safe else ''}.html")


def run_report(
    store: Store,
    *,
    week: str | None = None,
    as_of: date | None = None,
    out_path: str | Path | None = None,
    athletes: Iterable[str] | None = None,
    names: Mapping[str, str] | None = None,
    team_name: str | None = None,
    sleep_need_h: float | None = None,
    history_days: int = 42,
    generated_at: datetime | None = None,
    params: ScorerParams | Mapping | None = None,
    stale_after_d: int = 7,
    groups: Mapping[str, str] | None = None,
    evaluation: bool = True,
    evaluation_label: str | None = None,
    evaluation_injuries: bool = False,
    evaluation_horizon_d: int = 3,
) -> ReportResult:
    """Build the weekly report for ``week`` (or the week of ``as_of``) and write it.

    Parameters
    ----------
    store : Store
    week : str, optional
        ISO week ``"2026-W15"``; default the week of ``as_of``, else of the
        latest scored day.
    as_of : datetime.date, optional
        Last day to use; default the week's Sunday, or the latest scored day
        when the week is still in progress.
    out_path : path, optional
        Where to write; default :func:`default_report_path` in the working directory.
    athletes : iterable of str, optional
        Only these athletes (``--athlete``).
    names : mapping, optional
        athlete_id -> display name (the config roster).
    team_name : str, optional
        Shown in the title; None (or the unconfigured default ``"team"``): no team name.
    sleep_need_h : float, optional
        Overrides ``params.sleep_need_h``.
    params : ScorerParams or mapping, optional
        The configured scorer parameters (``Config.scorer_params()``); used when
        the store does not record the ones the scores were made with
        (:func:`pipelines.stage_score.params_used`).
    stale_after_d : int
        Inputs without data for longer are flagged ("no data is not low") [d].
    groups : mapping, optional
        athlete_id -> group or squad (roster), for the report's filter.
    evaluation, evaluation_label, evaluation_injuries, evaluation_horizon_d
        The section "how the indicator tracked this team's reports"
        (:func:`pipelines.stage_evaluate.report_evaluation`): off, the outcome
        (``ITEM<=N``; None: the first of ``AUTO_LABELS`` reported), injury
        episodes instead, and the horizon in days.

    The week's acknowledgements (:mod:`pipelines.ack`) and the athlete alerts
    queued in the outbox that week are shown per athlete.

    Raises
    ------
    ValueError
        No scores in the store, an unknown athlete, or a bad week.
    """
    ids = list(athletes) if athletes is not None else None
    if ids is not None:
        known = sorted(set(store.athletes("scores")) | set(store.athletes("features")))
        unknown = [a for a in ids if a not in known]
        if unknown and known:
            raise ValueError(
                f"unknown athlete id(s) {', '.join(map(repr, unknown))}; known: "
                + ", ".join(known[:20])
                + (" ..." if len(known) > 20 else "")
            )
    scores = store.read_table("scores", athletes=ids)
    features = store.read_table("features", athletes=ids)
    if scores.is_empty() and features.is_empty():
        raise ValueError(
            f"no features or scores in {store.root}"
            + (f" for athlete(s) {', '.join(ids)}" if ids else "")
            + ": run `strainwatch features` and `strainwatch score` first"
        )
    last = scores["date"].max() if scores.height else features["date"].max()
    if week is None:
        week = iso_week_of(as_of or last)
    monday, sunday = parse_iso_week(week)
    if as_of is None:
        as_of = min(sunday, last) if last >= monday else sunday
    notes = None
    wellness = store.read_table("wellness", athletes=ids)
    if "note" in wellness.columns and wellness.height:
        notes = wellness.filter(pl.col("date").is_between(monday, sunday)).select("athlete_id", "date", "note")
    from reports.checkin_compliance import checkin_compliance

    report_ids = (
        ids if ids is not None else sorted(set(scores["athlete_id"].to_list()) | set(features["athlete_id"].to_list()))
    )
    checkin = checkin_compliance(
        wellness, week_start=monday, week_end=min(sunday, max(as_of, monday)), athletes=report_ids, names=names
    )
    p = params_used(store, ids, params)  # the parameters the stored scores were made with
    tracked = None
    if evaluation and scores.height:
        from pipelines.stage_evaluate import report_evaluation

        tracked = report_evaluation(
            store,
            as_of=as_of,
            athletes=ids,
            label=evaluation_label,
            injuries=evaluation_injuries,
            horizon_d=evaluation_horizon_d,
            tables={"features": features, "scores": scores, "wellness": wellness},
        )
    html = build_weekly_report(
        features,
        scores,
        week=week,
        as_of=as_of,
        names=names,
        athletes=ids,
        notes=notes,
        checkin=checkin,
        team_name=team_name if team_name != "team" else None,
        sleep_need_h=sleep_need_h,
        history_days=history_days,
        generated_at=generated_at or datetime.now(timezone.utc),
        params=p,
        stale_after_d=stale_after_d,
        groups=groups,
        acks=read_acks(store, monday, sunday + timedelta(days=1)),
        sent_alerts=sent_alerts(store, monday, sunday),
        evaluation=tracked,
    )
    path = (
        Path(out_path) if out_path is not None else default_report_path(week, ids[0] if ids and len(ids) == 1 else None)
    )
    data = html.encode("utf-8")
    atomic_write_bytes(path, data)
    n = (
        len(ids)
        if ids is not None
        else len(set(scores["athlete_id"].to_list()) | set(features["athlete_id"].to_list()))
    )
    return ReportResult(path=path, bytes=len(data), week=week, as_of=as_of, athletes=n)
