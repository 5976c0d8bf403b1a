"""Recording test doubles for the stage functions: they compute nothing.

Used only to test the flows' wiring (chunks, changed athletes and dates,
idempotence of the orchestration) independently of the real stages. Every call
appends one JSON line to ``<store>/calls.jsonl``.
"""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

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


def run_features(store, *, as_of: date, athletes=None, params=None, since=None):
    with store.lock():  # must be a no-op inside a run (the flow holds the lock)
        if os.environ.get(FAIL_ATHLETE_ENV) in (athletes or []):
            raise ValueError(f"bad data for {os.environ[FAIL_ATHLETE_ENV]}")
        _log(store, stage="features", as_of=as_of, athletes=athletes, params=params, since=since)
    return None


def run_scores(store, *, as_of: date, athletes=None, params=None, model_path=None, since=None):
    import polars as pl

    _log(store, stage="score", as_of=as_of, athletes=athletes, params=params, since=since)
    for a in athletes or []:  # a placeholder row, so the athlete counts as scored
        store.write_partition("scores", a, pl.DataFrame({
            "athlete_id": [a], "date": [as_of], "risk_score": [0.0], "risk_band": ["insufficient_data"],
            "reasons": [""], "adjustments": [""]}))
    return 10 * len(athletes or [])  # "days scored"


def run_report(store, *, week: str, out_path: Path, athletes=None, names=None):
    _log(store, stage="report", week=week, out_path=out_path, names=names)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(f"<html>{week}</html>")
    return out_path


def run_alerts(store, *, as_of: date, channels, dry_run: bool):
    _log(store, stage="alert", as_of=as_of, channels=channels, dry_run=dry_run)
    return {"sent": 0, "already_sent": 0, "problems": []}
