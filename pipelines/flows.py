"""Prefect flows: ``nightly`` and ``backfill`` (the ``per-athlete`` subflow maps features and scores over chunks).

The flows only wire the stage functions together; all logic lives in the stages
(:func:`pipelines.ingest.ingest_paths`, :func:`pipelines.stage_features.run_features`,
:func:`pipelines.stage_score.run_scores`, :func:`pipelines.stage_report.run_report`,
:func:`pipelines.stage_alert.run_alerts`), which take a :class:`~pipelines.store.Store`
and plain parameters and can be called without Prefect. The tasks import them by
name and call them with explicit keywords built by :mod:`pipelines.stage_args`, the
same functions the CLI commands use, so both paths give a stage the same arguments.

Design
------
* **Chunks, not one task per athlete.** Per-athlete work (features, scores) is
  mapped over chunks of ``[run] chunk_size`` athletes: every Prefect task run
  has a fixed API overhead, so one task per athlete and step would spend a
  large team's night on bookkeeping (benchmarks/nightly.py measures it). Score chunk *i* depends only on
  feature chunk *i*, so chunks pipeline through both steps.
* **One writer.** Every flow holds the store's writer lock (:meth:`Store.lock`,
  ``[store] lock_timeout_s``) for its whole run; a second ``strainwatch run`` on
  the same store waits that long and then refuses with a message naming the
  holder's pid. Tasks get a :class:`RunStore`, whose ``lock()`` is a no-op because
  the flow already holds the real lock on their behalf (this also holds for
  chunks running on Dask workers of the same run).
* **Incremental.** The nightly run recomputes only what changed: every ledger row
  newer than the last consumed one (``state['pipeline.ledger_seen']``; this also
  catches files added by a separate ``strainwatch ingest``) marks its athletes
  dirty from the earliest date its rows touch (``state['pipeline.dirty']``,
  persisted *before* the ledger mark moves, so a crash never loses a change).
  Features and scores then run for the dirty athletes only, with that date;
  when ``as_of`` differs from the last completed night
  (``state['pipeline.as_of']``) every athlete's calendar grows by a day, so all
  athletes are processed (the stages themselves are incremental). Dirty marks
  are cleared only for chunks that succeeded.
* **Idempotent.** A second nightly run for the same ``as_of`` finds no new
  ledger rows and the same ``as_of``: features and scores are skipped, the
  report is left alone when it exists, and the alert stage's outbox sends
  nothing twice (but retries earlier failed deliveries).
* **Retries only on I/O.** Tasks retry (2 times) only when they fail with an
  ``OSError`` (a flaky disk or network filesystem); a logic or data error fails
  at once.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ThreadPoolTaskRunner

from pipelines.config import Config, load_config
from pipelines.ingest import IngestSummary, ingest_paths
from pipelines.run_runtime import (  # noqa: F401 - re-exported
    RunStore,
    _progress,
    _unmapped,
    build_task_runner,
    run_lock,
    set_progress,
    shared_api_for_workers,
)
from pipelines.run_state import (  # noqa: F401 - re-exported
    STATE_AS_OF,
    STATE_DIRTY,
    STATE_LEDGER_SEEN,
    STATE_PARAMS,
    STATE_QUARANTINE_SEEN,
    _bands_on,
    _clear_dirty,
    _derived_quarantined,
    _quarantine_mark,
    chunked,
    collect_changes,
    params_fingerprint,
    plan_chunks,
    plan_nightly,
)
from pipelines.run_summary import PipelineFailed, RunSummary, format_summary
from pipelines.stage_alert import AlertRunSummary, run_alerts
from pipelines.stage_args import alert_args, features_args, ingest_args, report_args, score_args
from pipelines.stage_features import FeaturesSummary, run_features
from pipelines.stage_report import ReportResult, run_report
from pipelines.stage_score import ScoreRunResult, run_scores
from pipelines.store import Store, repair_advice

__all__ = [
    "RunStore",
    "RunSummary",
    "PipelineFailed",
    "run_lock",
    "chunked",
    "collect_changes",
    "nightly",
    "backfill",
    "build_task_runner",
    "run_flow",
    "set_progress",
    "format_summary",
    "report_path_for",
    "plan_nightly",
    "plan_chunks",
    "params_fingerprint",
]


# ---------------------------------------------------------------------- paths
def report_path_for(cfg: Config, as_of: date) -> Path:
    """Report file of the ISO week containing ``as_of``: ``<out_dir>/strainwatch-2026-W47.html``."""
    y, w, _ = as_of.isocalendar()
    return cfg.report_dir() / f"strainwatch-{y}-W{w:02d}.html"


def _iso_week(d: date) -> str:
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


# ---------------------------------------------------------------------- tasks
def _retry_on_io(task_obj: Any, task_run: Any, state: Any) -> bool:
    """Retry only failures caused by I/O (``OSError``), never logic or data errors."""
    try:
        state.result()
    except OSError:
        return True
    except BaseException:
        return False
    return False


_DEFAULT_RUNNER = ThreadPoolTaskRunner(max_workers=4)

_TASK_OPTS: dict[str, Any] = dict(
    cache_policy=NO_CACHE, retries=2, retry_delay_seconds=3, retry_condition_fn=_retry_on_io
)


@task(name="ingest", **_TASK_OPTS)
def ingest_task(store_root: str, cfg: Config) -> dict[str, Any]:
    """Read new files of the input folders into the store (:func:`pipelines.ingest.ingest_paths`)."""
    t0 = time.perf_counter()
    s: IngestSummary = ingest_paths(
        RunStore(store_root),
        [str(p) for p in cfg.inputs.folders],
        **ingest_args(cfg, progress=lambda done, total, _name: _progress("ingest", done, total)),
    )
    return {
        "files": {
            "seen": s.files_seen,
            "ingested": s.ingested,
            "unchanged": s.unchanged,
            "duplicate": s.duplicate,
            "rejected": s.rejected,
            "previously_rejected": s.previously_rejected,
        },
        "rows_added": s.rows_added,
        "problems": list(s.problems),
        "notes": list(s.notes),
        "own_s": time.perf_counter() - t0,
    }


@task(name="features", task_run_name="features-{chunk_no}", **_TASK_OPTS)
def features_chunk(
    store_root: str, chunk_no: int, athletes: list[str], as_of: date, cfg: Config, since: date | None
) -> dict[str, Any]:
    """Feature stage for one chunk of athletes."""
    t0 = time.perf_counter()
    r: FeaturesSummary = run_features(
        RunStore(store_root), **features_args(cfg, as_of=as_of, athletes=athletes, since=since)
    )
    return {"athletes": athletes, "own_s": time.perf_counter() - t0, "notes": [str(p) for p in r.problems]}


@task(name="score", task_run_name="score-{chunk_no}", **_TASK_OPTS)
def score_chunk(
    feats: dict[str, Any], store_root: str, chunk_no: int, as_of: date, cfg: Config, since: date | None
) -> dict[str, Any]:
    """Scorer for one chunk of athletes (after its feature chunk)."""
    athletes = feats["athletes"]
    t0 = time.perf_counter()
    r: ScoreRunResult = run_scores(RunStore(store_root), **score_args(cfg, as_of=as_of, athletes=athletes, since=since))
    return {"athletes": athletes, "own_s": time.perf_counter() - t0, "days": r.days_scored}


@task(name="report", **_TASK_OPTS)
def report_task(store_root: str, cfg: Config, as_of: date) -> dict[str, Any]:
    """Weekly coach report for the ISO week containing ``as_of`` (:func:`report_path_for`)."""
    t0 = time.perf_counter()
    r: ReportResult = run_report(
        RunStore(store_root),
        **report_args(cfg, as_of=as_of, week=_iso_week(as_of), out_path=report_path_for(cfg, as_of)),
    )
    return {"path": str(r.path), "own_s": time.perf_counter() - t0}


@task(name="alert", cache_policy=NO_CACHE)  # no retries: the outbox retries failed deliveries next run
def alert_task(store_root: str, cfg: Config, as_of: date, config_path: str | None) -> dict[str, Any]:
    """Deload alerts through the outbox (never twice, never lost).

    ``cfg`` comes without secrets; the alert URLs are read here from
    ``config_path`` (and the environment), never passed in: a literal password
    or token in a URL must not become a task or flow parameter, which Prefect
    stores in its database and shows in its UI. ``${VAR}`` secrets stay
    unresolved until the stage sends and are masked in what it reports.
    """
    t0 = time.perf_counter()
    s: AlertRunSummary = run_alerts(
        RunStore(store_root), **alert_args(cfg, as_of=as_of, channels_from=load_config(config_path))
    )
    counts = {
        k: getattr(s, k)
        for k in (
            "fired",
            "new",
            "sent",
            "would_send",
            "retried",
            "already_sent",
            "failed",
            "pending",
            "no_channel",
            "gave_up",
            "expired",
        )
        if getattr(s, k)
    }
    return {
        "counts": counts,
        "problems": [str(p) for p in s.problems],
        "lines": [str(x) for x in s.lines],
        "own_s": time.perf_counter() - t0,
    }


# ---------------------------------------------------------------------- helpers for flows
def _config(
    config_path: str | None, store: str | None, inputs: Sequence[str] | None, dry_run: bool | None = None
) -> Config:
    overrides: dict[str, dict[str, Any]] = {}
    if store:
        overrides["store"] = {"path": str(store)}
    if inputs:
        overrides["inputs"] = {"folders": [str(p) for p in inputs]}
    if dry_run is not None:
        overrides["alerts"] = {"dry_run": dry_run}
    return load_config(config_path, overrides=overrides or None)


def _as_date(value: date | str | None, cfg: Config) -> date:
    if value is None:
        return cfg.today()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"as_of: expected a date YYYY-MM-DD, got {value!r}") from None


@contextlib.contextmanager
def _step(summary: RunSummary, name: str) -> Iterator[dict[str, float]]:
    rec = {"wall_s": 0.0, "own_s": 0.0}
    t0 = time.perf_counter()
    try:
        yield rec
    finally:
        rec["wall_s"] = time.perf_counter() - t0
        summary.steps[name] = rec


def _logger():
    try:
        return get_run_logger()
    except Exception:  # outside a run (direct .fn calls in tests)
        import logging

        return logging.getLogger("strainwatch.flows")


@flow(name="per-athlete", task_runner=_DEFAULT_RUNNER, log_prints=False)
def per_athlete(
    store_root: str,
    cfg: Config,
    as_of: date,
    chunks: list[list[str]],
    sinces: list[date | None],
    do_scores: bool = True,
) -> dict[str, Any]:
    """Features then scores, mapped over chunks of athletes (``[run] chunk_size``).

    ``sinces[i]`` is the first day whose scores chunk *i* must recompute (None:
    all days). This subflow carries the configured task runner (threads, or
    Dask through prefect-dask), so the same code fans out locally, on a
    ``LocalCluster`` or on a remote scheduler. Chunk failures are collected, not
    raised: the parent clears dirty marks only for the athletes in ``done``.
    """
    log = _logger()
    idx = list(range(len(chunks)))
    out: dict[str, Any] = {"done": [], "days": 0, "own_s": 0.0, "problems": [], "notes": []}
    fut_f = features_chunk.map(store_root, idx, chunks, as_of, _unmapped(cfg), sinces)
    fut_s = None
    if do_scores:
        fut_s = score_chunk.map(fut_f, store_root, idx, as_of, _unmapped(cfg), sinces)
    failed_f: set[int] = set()
    for i, ff in enumerate(fut_f):
        try:
            r = ff.result()
        except Exception as err:
            failed_f.add(i)
            out["problems"].append(f"features chunk {i} ({chunks[i][0]}..{chunks[i][-1]}): {type(err).__name__}: {err}")
            log.error("features chunk %s failed: %s", i, err)
            continue
        out["own_s"] += r["own_s"]
        out["notes"].extend(r.get("notes", []))
        if fut_s is None:
            out["done"].extend(chunks[i])
        _progress("features", i + 1, len(chunks))
    for i, fs in enumerate(fut_s or []):
        try:
            r = fs.result()
        except Exception as err:
            if i not in failed_f:  # else it failed only because its feature chunk did
                out["problems"].append(
                    f"score chunk {i} ({chunks[i][0]}..{chunks[i][-1]}): {type(err).__name__}: {err}"
                )
                log.error("score chunk %s failed: %s", i, err)
            continue
        out["own_s"] += r["own_s"]
        out["days"] += r["days"]
        out["done"].extend(r["athletes"])
        _progress("score", i + 1, len(chunks))
    return out


def _per_athlete(
    store: Store,
    cfg: Config,
    summary: RunSummary,
    as_of: date,
    since_by_athlete: dict[str, date | None],
    *,
    do_scores: bool = True,
) -> list[str]:
    """Run :func:`per_athlete` with the configured task runner; merge into ``summary``."""
    chunks, sinces = plan_chunks(since_by_athlete, cfg.run.chunk_size)
    with _step(summary, "features+score" if do_scores else "features") as rec:
        sub = per_athlete.with_options(task_runner=build_task_runner(cfg))
        with shared_api_for_workers(cfg):
            # no alert URLs in a flow parameter (Prefect stores parameters in its database)
            out = sub(str(store.root), cfg.without_secrets(), as_of, chunks, sinces, do_scores)
        rec["own_s"] = out["own_s"]
    for p in out["problems"]:
        _fail(summary, p)
    summary.notes.extend(dict.fromkeys(out["notes"]))
    done = out["done"]
    summary.athletes_processed = len(done)
    if do_scores:
        summary.days_scored = out["days"]
    return done


def _do_report(store: Store, cfg: Config, summary: RunSummary, as_of: date, *, force: bool) -> None:
    if not cfg.report.enabled:
        summary.notes.append("report disabled ([report] enabled = false)")
        return
    if not store.all_athletes():
        summary.notes.append("no data in the store yet: no report")
        return
    out = report_path_for(cfg, as_of)
    if out.exists() and not force:
        summary.report_path = f"{out} (unchanged)"
        return
    with _step(summary, "report") as rec:
        try:
            # params/groups/staleness: issue 16 (the report quotes the scorer's own thresholds)
            r = report_task(str(store.root), cfg.without_secrets(), as_of)
            rec["own_s"] = r["own_s"]
            summary.report_path = r["path"]
        except Exception as err:
            _fail(summary, f"report: {type(err).__name__}: {err}")


def _do_alerts(store: Store, cfg: Config, summary: RunSummary, as_of: date) -> None:
    if not cfg.alerts.enabled:
        summary.notes.append("alerts disabled ([alerts] enabled = false)")
        return
    with _step(summary, "alert") as rec:
        try:
            r = alert_task(str(store.root), cfg.without_secrets(), as_of, str(cfg.source) if cfg.source else None)
            rec["own_s"] = r["own_s"]
            summary.alerts = r["counts"] or {"sent": 0}
            if cfg.alerts.dry_run:
                summary.notes.append("alerts: dry run ([alerts] dry_run = true), nothing delivered")
                summary.alert_lines = r["lines"]
            summary.problems.extend(f"alert: {p}" for p in r["problems"])
        except Exception as err:
            _fail(summary, f"alert: {type(err).__name__}: {err}")


def _report_quarantine(store: Store, summary: RunSummary, after_id: int) -> None:
    """Fail the run (after the report and alerts of everyone else went out) for each partition
    quarantined during it, naming the file, where it went and what to do."""
    try:
        rows = store.quarantine_log(after_id)
    except Exception:  # noqa: BLE001
        return
    for r in rows:
        _fail(
            summary,
            f"damaged partition {r['path']} ({r['reason']}) moved to {r['moved_to']}; "
            f"{repair_advice(r['table_name'], r['athlete_id'])}",
        )


def _fail(summary: RunSummary, problem: str) -> None:
    """Record a failed step: the run goes on where it can and ends *Failed*."""
    summary.problems.append(problem)
    summary.failed = True


def _finish(summary: RunSummary, t0: float) -> dict[str, Any]:
    """Return the summary, or raise :class:`PipelineFailed` when a step failed.

    Rejected input files are problems to show, not a failed run.
    """
    summary.wall_s = time.perf_counter() - t0
    try:  # served and scheduled runs: the summary appears in the flow run's logs
        get_run_logger().info("%s", format_summary(summary))
    except Exception:
        pass
    if summary.failed:
        raise PipelineFailed(format_summary(summary), summary)
    return summary.to_dict()


# ---------------------------------------------------------------------- flows


def _ingest_into(store: Store, cfg: Config, summary: RunSummary) -> None:
    from pipelines.checkin import inbox_dir

    inbox = inbox_dir(store.root)  # check-in answers the server could not ingest at once (store busy)
    if inbox.is_dir() and inbox not in cfg.inputs.folders:
        cfg = cfg.model_copy(update={"inputs": cfg.inputs.model_copy(update={"folders": [*cfg.inputs.folders, inbox]})})
    if not cfg.inputs.folders:
        summary.notes.append("no input folders ([inputs] folders or --input): ingest skipped")
        return
    missing = [str(p) for p in cfg.inputs.folders if not Path(p).exists()]
    if missing:
        _fail(summary, "ingest: input folder not found: " + ", ".join(missing))
        return
    with _step(summary, "ingest") as rec:
        try:
            r = ingest_task(str(store.root), cfg.without_secrets())
        except Exception as err:
            from pipelines.errors import translate

            mapped = translate(err)  # a full disk, a read-only store, a damaged ledger: one line, own code
            _fail(summary, f"ingest: {mapped}" if mapped else f"ingest: {type(err).__name__}: {err}")
            if mapped is not None:
                summary.exit_code = mapped.exit_code
            return
        rec["own_s"] = r["own_s"]
    summary.files = r["files"]
    summary.rows_added = r["rows_added"]
    summary.rejected.extend(r["problems"])
    summary.notes.extend(r.get("notes", []))  # e.g. a red flag kept or cleared by a later file


@flow(name="nightly", task_runner=_DEFAULT_RUNNER, log_prints=False)
def nightly(
    as_of: str | None = None,
    config_path: str | None = None,
    store: str | None = None,
    inputs: list[str] | None = None,
    dry_run: bool | None = None,
) -> dict[str, Any]:
    """Ingest new exports, then features, scores, the weekly report and alerts for ``as_of``.

    Parameters
    ----------
    as_of : str, optional
        ``YYYY-MM-DD``; default today in the team's time zone (``[team] timezone``).
    config_path : str, optional
        ``strainwatch.toml`` (default ``$STRAINWATCH_CONFIG`` or ``./strainwatch.toml``).
    store, inputs : optional
        Override ``[store] path`` and ``[inputs] folders``.
    dry_run : bool, optional
        Override ``[alerts] dry_run``.

    Returns
    -------
    dict
        :class:`RunSummary` as a dict. Raises :class:`PipelineFailed` (the flow
        run ends *Failed*) when a step failed; rejected input files alone are
        reported but do not fail the run.
    """
    t0 = time.perf_counter()
    cfg = _config(config_path, store, inputs, dry_run)
    day = _as_date(as_of, cfg)
    st = Store(cfg.store.path)
    summary = RunSummary(flow="nightly", as_of=day.isoformat(), store=str(st.root))
    with run_lock(st.root, cfg.store.lock_timeout_s):
        q0 = _quarantine_mark(st)
        # checksums of every partition before anything is planned on them: a damaged derived
        # partition is quarantined here and rebuilt tonight (plan_nightly), a canonical one reported
        st.verify_partitions(parse=False)
        _ingest_into(st, cfg, summary)
        dirty = collect_changes(st)
        all_athletes = st.all_athletes()
        summary.athletes_total = len(all_athletes)
        summary.athletes_changed = len([a for a in dirty if a in set(all_athletes)])
        seen_q = int(st.get_state(STATE_QUARANTINE_SEEN, "0") or 0)
        rebuild, top_q = _derived_quarantined(st, seen_q)
        plan = plan_nightly(st, cfg, day, dirty, all_athletes, rebuild)
        dates = [d for d in plan.values() if d is not None]
        if dates:
            summary.changed_from = min(dates).isoformat()
        changed = False
        if plan:
            snapshot = dict(dirty)
            done = _per_athlete(st, cfg, summary, day, plan)
            changed = bool(done)
            if done:
                _clear_dirty(st, done, snapshot)
                if len(done) == len(plan):
                    st.set_state(STATE_AS_OF, day.isoformat())
                    st.set_state(STATE_PARAMS, params_fingerprint(cfg))
                    if top_q > seen_q:
                        st.set_state(STATE_QUARANTINE_SEEN, str(top_q))
        else:
            summary.days_scored = 0
            summary.notes.append(f"nothing changed since the last run for {day}: features and scores skipped")
        summary.bands = _bands_on(st, day)
        _do_report(st, cfg, summary, day, force=changed)
        _do_alerts(st, cfg, summary, day)
        _report_quarantine(st, summary, q0)
    return _finish(summary, t0)


@flow(name="backfill", task_runner=_DEFAULT_RUNNER)
def backfill(
    date_from: str, date_to: str, config_path: str | None = None, store: str | None = None, reports: bool = False
) -> dict[str, Any]:
    """Recompute features and scores of every athlete from ``date_from`` on.

    The stages store everything up to their ``as_of``, so to leave no day
    behind the recompute runs up to the later of ``date_to`` and the last
    completed night (a range in the past does not truncate newer days). Scores
    before ``date_from`` are kept. Alerts are never sent for past days. With
    ``reports``, the weekly report of every ISO week in the range is (re)written.
    """
    t0 = time.perf_counter()
    cfg = _config(config_path, store, None)
    d0, d1 = _as_date(date_from, cfg), _as_date(date_to, cfg)
    if d1 < d0:
        raise ValueError(f"backfill: --to {d1} is before --from {d0}")
    st = Store(cfg.store.path)
    summary = RunSummary(flow="backfill", as_of=d1.isoformat(), store=str(st.root))
    summary.notes.append(f"recomputed range {d0}..{d1}")
    with run_lock(st.root, cfg.store.lock_timeout_s):
        q0 = _quarantine_mark(st)
        st.verify_partitions(parse=False)  # a damaged derived partition is recomputed in full below
        collect_changes(st)
        all_athletes = st.all_athletes()
        summary.athletes_total = len(all_athletes)
        last_s = st.get_state(STATE_AS_OF)
        end = max(d1, date.fromisoformat(last_s)) if last_s else d1
        if end != d1:
            summary.notes.append(f"recomputed up to {end}, the last completed night, so no later day is lost")
        if all_athletes:
            scored = set(st.athletes("scores")) - _derived_quarantined(st, q0)[0]
            _per_athlete(st, cfg, summary, end, {a: (d0 if a in scored else None) for a in all_athletes})
            summary.bands = _bands_on(st, d1)
            if reports:
                weeks: dict[str, date] = {}
                d = d0
                while d <= d1:  # the last day of each ISO week in the range
                    weeks[_iso_week(d)] = d
                    d += timedelta(days=1)
                for day in weeks.values():
                    _do_report(st, cfg, summary, day, force=True)
                summary.notes.append(f"{len(weeks)} weekly reports written ({', '.join(weeks)})")
        summary.notes.append("alerts are not sent by a backfill")
        _report_quarantine(st, summary, q0)
    return _finish(summary, t0)


FLOWS = {"nightly": nightly, "backfill": backfill}


# ---------------------------------------------------------------------- running


def run_flow(name: str, **params: Any) -> RunSummary:
    """Run one flow in-process; return its summary.

    The task runner comes from the configuration inside the flow (the
    ``per-athlete`` subflow), so served, scheduled and in-process runs behave
    alike. A failed run raises :class:`PipelineFailed` carrying the summary;
    :class:`~pipelines.store.StoreLockedError` when another run holds the store.
    """
    state = FLOWS[name](**params, return_state=True)
    if state.is_completed():
        return RunSummary(**state.result())
    err = state.result(raise_on_failure=False)
    if isinstance(err, BaseException):
        raise err
    raise RuntimeError(f"flow {name} ended in state {state.type.value}: {state.message}")
