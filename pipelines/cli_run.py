"""``strainwatch run``, ``strainwatch serve`` and ``strainwatch backfill``.

``run`` and ``backfill`` execute the Prefect flows of :mod:`pipelines.flows`
in-process against a temporary (ephemeral) Prefect server: no server to install.
``serve`` registers the nightly schedule with a real Prefect server
(``prefect server start``) and runs each scheduled run; see docs/operations.md.

Prefect is imported inside the commands, after the environment is prepared:
telemetry off (``DO_NOT_TRACK=1``, ``PREFECT_SERVER_ANALYTICS_ENABLED=false``),
``PREFECT_HOME`` inside the store unless set, Prefect's own INFO logs hidden
unless ``--verbose``.
"""

from __future__ import annotations

import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

import typer

from pipelines.cli_options import ConfigOpt, InputOpt, StoreRunOpt
from pipelines.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def prepare_environment(store_root: Path, *, verbose: bool = False, prefect_home: bool = True) -> None:
    """Environment for an in-process Prefect run: quiet, offline, state under the store.

    Only sets variables that are not already set, so a user's or a service's
    choices win.
    """
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_UI_ENABLED", "false")
    if prefect_home and "PREFECT_HOME" not in os.environ:
        home = (store_root / ".prefect").resolve()
        home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
        os.environ.setdefault("PREFECT_LOGGING_LOG_PRINTS", "false")


def _load(config: Path | None, store: Path | None, inputs: list[Path] | None, **extra: Any):
    from pipelines.config import ConfigError, load_config

    overrides: dict[str, dict[str, Any]] = {}
    if store is not None:
        overrides["store"] = {"path": str(store)}
    if inputs:
        overrides["inputs"] = {"folders": [str(p) for p in inputs]}
    for k, v in extra.items():
        if v is not None:
            section, key = k.split("__")
            overrides.setdefault(section, {})[key] = v
    try:
        return load_config(config, overrides=overrides or None)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _check_date(value: str | None, flag: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        typer.echo(f"error: {flag}: expected a date YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


class _Progress:
    """A one-line rich progress display on stderr (only on a terminal)."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self._bar = None
        self._task = None

    def __enter__(self) -> _Progress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description:<9}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                transient=True,
                console=Console(stderr=True),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("starting", total=None)
        return self

    def __call__(self, step: str, done: int, total: int | None) -> None:
        if self._bar is not None:
            self._bar.update(self._task, description=step, completed=done, total=total)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def _write_json(path: Path | None, summary) -> None:
    if path is not None:
        import json

        from pipelines.atomic import atomic_write_bytes

        atomic_write_bytes(path, json.dumps(summary.to_dict(), indent=1, default=str).encode())


def _run(flow_name: str, cfg, verbose: bool, summary_json: Path | None = None, **params: Any):
    """Run a flow in-process with the store lock held; print the summary; exit with its code."""
    prepare_environment(Path(cfg.store.path), verbose=verbose)
    from pipelines.prefect_server import early_server, use_api
    from pipelines.run_runtime import run_lock

    # The store's writer lock first (re-entrant: the flow takes it again as a no-op), so that a second run
    # waits, or fails after --lock-timeout, before it boots a Prefect server, whose start costs ~10 s of
    # CPU that the run holding the store would lose on a small machine. A StoreLockedError carries its
    # exit code to main() like every other StrainwatchError. Then Prefect's temporary server boots while
    # Prefect, polars and the pipeline are imported.
    with run_lock(cfg.store.path, cfg.store.lock_timeout_s), early_server() as srv:
        from pipelines import flows

        try:
            with _Progress() as bar, use_api(srv):
                if srv is not None and srv.problem:
                    typer.echo(f"note: {srv.problem}; Prefect starts its own temporary server", err=True)
                flows.set_progress(bar)
                try:
                    summary = flows.run_flow(flow_name, **params)
                finally:
                    flows.set_progress(None)
        except flows.PipelineFailed as err:
            typer.echo(flows.format_summary(err.summary))
            _write_json(summary_json, err.summary)
            raise typer.Exit(getattr(err.summary, "exit_code", None) or EXIT_FAILED) from None
    typer.echo(flows.format_summary(summary))
    _write_json(summary_json, summary)
    return summary


def _check_ledger(root: Path) -> None:
    """Raise :class:`pipelines.errors.LedgerCorruptError` before Prefect starts, not inside a task."""
    if (root / "ledger.sqlite").exists():
        from pipelines.store import Store

        Store(root).connect().close()


def _check_inputs_not_empty(cfg) -> None:
    """:class:`pipelines.errors.NoInputFilesError` when every input folder is empty and the store has no data."""
    from pipelines.errors import NoInputFilesError
    from pipelines.scan import walk_inputs
    from pipelines.store import Store

    folders = [str(p) for p in cfg.inputs.folders]
    if not folders or Store(cfg.store.path).all_athletes():
        return
    if not walk_inputs(folders):
        raise NoInputFilesError(
            f"no input files in {', '.join(folders)}: put each athlete's exports in <folder>/<athlete>/ "
            "(see docs/exports.md), or pass --input with the right folder"
        )


def register(app: typer.Typer) -> None:
    @app.command()
    def run(
        config: Path | None = ConfigOpt,
        inputs: list[Path] | None = InputOpt,
        store: Path | None = StoreRunOpt,
        as_of: str | None = typer.Option(
            None, "--as-of", help="Day to score, YYYY-MM-DD (default: today in the team's time zone)."
        ),
        dry_run: bool | None = typer.Option(
            None, "--dry-run/--send", help="Print alerts instead of sending (overrides [alerts] dry_run)."
        ),
        lock_timeout: float | None = typer.Option(
            None,
            "--lock-timeout",
            help="Seconds to wait for another run on the same store (overrides [store] lock_timeout_s).",
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
        summary_json: Path | None = typer.Option(
            None, "--summary-json", help="Also write the run summary as JSON (for monitoring)."
        ),
    ) -> None:
        """Run the nightly pipeline once, in-process: ingest, features, scores, report, alerts.

        Works without a config file: `strainwatch run --input exports/ --store data/`.
        Exit code 0 when everything worked, 1 when a file was rejected or a step failed,
        2 on a usage or configuration error, 3 when another run holds the store; the
        other codes are listed in docs/operations.md ("Exit codes").
        """
        as_of = _check_date(as_of, "--as-of")
        cfg = _load(config, store, inputs, alerts__dry_run=dry_run, store__lock_timeout_s=lock_timeout)
        from pipelines.cli import check_not_future
        from pipelines.errors import check_store_path

        if as_of is not None:
            check_not_future(as_of, cfg.today())
        check_store_path(cfg.store.path)
        _check_ledger(Path(cfg.store.path))
        for p in cfg.inputs.folders:
            if not Path(p).exists():
                typer.echo(f"error: input folder not found: {p}", err=True)
                raise typer.Exit(EXIT_USAGE)
        _check_inputs_not_empty(cfg)
        summary = _run(
            "nightly",
            cfg,
            verbose,
            summary_json,
            as_of=as_of,
            config_path=str(cfg.source) if cfg.source else None,
            store=str(cfg.store.path),
            inputs=[str(p) for p in cfg.inputs.folders] or None,
            dry_run=cfg.alerts.dry_run,
        )
        raise typer.Exit(EXIT_FAILED if summary.rejected else EXIT_OK)

    @app.command()
    def backfill(
        date_from: str = typer.Option(..., "--from", help="First day to recompute, YYYY-MM-DD."),
        date_to: str = typer.Option(..., "--to", help="Last day to recompute, YYYY-MM-DD."),
        config: Path | None = ConfigOpt,
        store: Path | None = StoreRunOpt,
        reports: bool = typer.Option(
            False, "--reports", help="Also rewrite the weekly report of every week in the range."
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
    ) -> None:
        """Recompute features and scores of every athlete for a date range (no alerts are sent)."""
        d0, d1 = _check_date(date_from, "--from"), _check_date(date_to, "--to")
        if d1 < d0:
            typer.echo(f"error: --to {d1} is before --from {d0}", err=True)
            raise typer.Exit(EXIT_USAGE)
        cfg = _load(config, store, None)
        from pipelines.cli import check_not_future
        from pipelines.errors import check_store_path

        check_not_future(d1, cfg.today(), "--to")
        check_store_path(cfg.store.path)
        _check_ledger(Path(cfg.store.path))
        _run(
            "backfill",
            cfg,
            verbose,
            date_from=d0,
            date_to=d1,
            config_path=str(cfg.source) if cfg.source else None,
            store=str(cfg.store.path),
            reports=reports,
        )

    @app.command()
    def serve(
        cron: str = typer.Option("0 3 * * *", "--cron", help="When to run nightly (cron, in the team's time zone)."),
        config: Path | None = ConfigOpt,
        inputs: list[Path] | None = InputOpt,
        store: Path | None = StoreRunOpt,
        name: str = typer.Option("nightly", "--name", help="Deployment name."),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
    ) -> None:
        """Register the nightly schedule with a Prefect server and run it (long-running).

        Needs a real server: `prefect server start --host 127.0.0.1` and
        PREFECT_API_URL=http://127.0.0.1:4200/api (see docs/operations.md). Stop with
        SIGTERM or Ctrl-C; the schedule stays active (pause_on_shutdown=False) and runs
        missed while stopped show up as Late.
        """
        cfg = _load(config, store, inputs)
        prepare_environment(Path(cfg.store.path), verbose=True, prefect_home=False)
        if not os.environ.get("PREFECT_API_URL"):
            from prefect.settings import PREFECT_API_URL

            if not PREFECT_API_URL.value():
                typer.echo(
                    "error: scheduling needs a Prefect server. Start one with\n"
                    "  prefect server start --host 127.0.0.1 --port 4200\n"
                    "and set PREFECT_API_URL=http://127.0.0.1:4200/api (or `prefect config set "
                    "PREFECT_API_URL=...`), then run `strainwatch serve` again.",
                    err=True,
                )
                raise typer.Exit(EXIT_USAGE)
        from prefect.schedules import Cron

        try:
            schedule = Cron(cron, timezone=cfg.team.timezone)
        except Exception as err:
            typer.echo(f"error: --cron {cron!r}: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None

        from pipelines import flows

        params = {
            "config_path": str(cfg.source.resolve()) if cfg.source else None,
            "store": str(Path(cfg.store.path).resolve()),
            "inputs": [str(Path(p).resolve()) for p in cfg.inputs.folders] or None,
        }
        typer.echo(f"serving nightly ({name}) on {cron!r} in {cfg.team.timezone}; store {params['store']}")
        flows.nightly.serve(
            name=name,
            schedule=schedule,
            parameters={k: v for k, v in params.items() if v is not None},
            pause_on_shutdown=False,
            print_starting_message=True,
        )
