"""Recording test doubles for the stage functions: they compute nothing.

They take exactly the parameters of the real stages (a test compares the
signatures) and return the real result types, so a renamed parameter or
result field fails loudly.

Used only to test the flows' wiring (chunks, changed athletes and dates,
idempotence of the orchestration) independently of the real stages. Every call
appends one JSON line to ``<store>/calls.jsonl``.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

from pipelines.stage_alert import AlertRunSummary
from pipelines.stage_features import FeaturesSummary
from pipelines.stage_report import ReportResult
from pipelines.stage_score import ScoreRunResult

FAIL_ATHLETE_ENV = "FAKE_STAGES_FAIL_ATHLETE"


def _log(store, **rec) -> None:
    rec["pid"] = os.getpid()
    with open(Path(store.root) / "calls.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(rec, default=str, sort_keys=True) + "\n")


def calls(root: Path) -> list[dict]:
    p = Path(root) / "calls.jsonl"
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text().splitlines()]


def run_features(store, *, as_of: date, athletes=None, params=None, since=None, full=False, athlete_info=None):
    with store.lock():  # must be a no-op inside a run (the flow holds the lock)
        if os.environ.get(FAIL_ATHLETE_ENV) in (athletes or []):
            raise ValueError(f"bad data for {os.environ[FAIL_ATHLETE_ENV]}")
        _log(
            store,
            stage="features",
            as_of=as_of,
            athletes=athletes,
            params=params,
            since=since,
            athlete_info=athlete_info,
        )
    return FeaturesSummary(as_of=as_of, athletes=len(athletes or []))


def run_scores(store, *, as_of: date, athletes=None, params=None, model_path=None, since=None):
    import polars as pl

    _log(store, stage="score", as_of=as_of, athletes=athletes, params=params, since=since, model_path=model_path)
    for a in athletes or []:  # a placeholder row, so the athlete counts as scored
        store.write_partition(
            "scores",
            a,
            pl.DataFrame(
                {
                    "athlete_id": [a],
                    "date": [as_of],
                    "risk_score": [0.0],
                    "risk_band": ["insufficient_data"],
                    "reasons": [""],
                    "adjustments": [""],
                }
            ),
        )
    return ScoreRunResult(days_scored=10 * len(athletes or []), athletes=list(athletes or []))


def run_report(
    store,
    *,
    week=None,
    as_of=None,
    out_path=None,
    athletes=None,
    names=None,
    team_name=None,
    sleep_need_h=None,
    history_days=42,
    generated_at=None,
    params=None,
    stale_after_d=7,
    groups=None,
    evaluation=True,
    evaluation_label=None,
    evaluation_injuries=False,
    evaluation_horizon_d=3,
):
    _log(store, stage="report", week=week, out_path=out_path, names=names, team_name=team_name, params=params)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(f"<html>{week}</html>")
    return ReportResult(
        path=Path(out_path), bytes=Path(out_path).stat().st_size, week=week, as_of=as_of, athletes=len(names or {})
    )


def run_alerts(
    store,
    *,
    as_of=None,
    channels=None,
    dry_run=False,
    names=None,
    athletes=None,
    team_name=None,
    max_attempts=8,
    max_age_days=7,
    moderate_days=3,
    environ=None,
    sender=None,
    params=None,
    stale_after_d=7,
):
    _log(
        store,
        stage="alert",
        as_of=as_of,
        channels={"coach": list(channels.coach), **{k: list(v) for k, v in channels.athletes.items()}},
        dry_run=dry_run,
    )
    return AlertRunSummary(as_of=as_of, dry_run=dry_run)


#: (attribute of pipelines.flows, double) for monkeypatching the downstream stages
DOUBLES = (
    ("run_features", run_features),
    ("run_scores", run_scores),
    ("run_report", run_report),
    ("run_alerts", run_alerts),
)
