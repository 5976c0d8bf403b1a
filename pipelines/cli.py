"""The ``strainwatch`` command line.

Commands live in small modules that each expose ``register(app)``; this file
only assembles them, so heavy imports (prefect, plotly, scikit-learn) happen
inside the commands that need them and ``strainwatch --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from pipelines.errors import EXIT_OK, EXIT_USAGE

if __name__ == "__main__":  # `python3 -m pipelines.cli`: run the importable module, not a second copy of it
    from pipelines.cli import main as _main

    _main()
    raise SystemExit(0)

app = typer.Typer(
    name="strainwatch",
    help=(
        "Training-load spikes, recovery indicators and a lower-back strain risk indicator "
        "from tracker exports. A risk indicator, not a diagnosis."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts name config sections like [inputs]: Rich markup would eat them
)

#: Modules under ``pipelines`` that add commands with ``register(app)``.
COMMAND_MODULES: tuple[str, ...] = (
    "cli_ingest",
    "cli_run",
    "cli_report",
    "cli_score",
    "cli_features",
    "cli_demo",
    "cli_checkin",
    "cli_evaluate",
    "cli_verify",
)

from pipelines.cli_options import ConfigOpt, StoreOpt  # noqa: E402,F401 - re-exported for the command modules


def resolve_store(store: Path | None, config: Path | None = None) -> Path:
    """The store directory from the flag, else ``[store] path`` of the environment
    (``STRAINWATCH_STORE__PATH``) or the config file (``config``, ``$STRAINWATCH_CONFIG`` or
    ``./strainwatch.toml``), else the default. ``STRAINWATCH_STORE`` is a deprecated alias."""
    import os

    from pipelines.errors import check_store_path
    from pipelines.store import DEFAULT_STORE

    if store is not None:
        return check_store_path(store)
    env = os.environ.get("STRAINWATCH_STORE")
    if env and not any(k.upper() == "STRAINWATCH_STORE__PATH" for k in os.environ):
        # the one variable is STRAINWATCH_STORE__PATH (as for every config key, and `strainwatch run`)
        typer.echo("warning: STRAINWATCH_STORE is deprecated: set STRAINWATCH_STORE__PATH instead", err=True)
        return check_store_path(Path(env))
    from pipelines.config import ConfigError, store_from_config

    try:
        configured = store_from_config(config)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    return check_store_path(configured if configured is not None else DEFAULT_STORE)


def load_config_or_exit(config: Path | None):
    """The validated configuration (defaults when there is no file); exit code 2 on an error."""
    from pipelines.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def parse_date_option(value: str | None, flag: str):
    """``YYYY-MM-DD`` from an option as a date (None stays None); exit code 2 otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {flag} expects a date YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(EXIT_USAGE) from None
    if flag == "--as-of":
        check_not_future(day)
    return day


def check_not_future(day, today=None, flag: str = "--as-of") -> None:
    """:class:`pipelines.errors.UsageError` for a day after ``today`` (default: today in UTC plus one day,
    the latest date anywhere on Earth), which would silently move the default report to a future week."""
    from datetime import date, datetime, timedelta, timezone

    from pipelines.errors import UsageError

    limit = today if today is not None else datetime.now(timezone.utc).date() + timedelta(days=1)
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if day > limit:
        raise UsageError(
            f"{flag} {day} is in the future (today is {limit}): give a past day or today, or leave it out for today"
        )


def version_text() -> str:
    """``strainwatch 0.1.0 (feature formulas v1, score formulas v1)``: the package and formula versions."""
    from importlib.metadata import PackageNotFoundError, version

    from features.version import FEATURES_FORMULA_VERSION
    from models.version import SCORES_FORMULA_VERSION

    try:
        v = version("strainwatch")
    except PackageNotFoundError:  # run from a clone that is not installed
        v = "unknown (not installed)"
    return f"strainwatch {v} (feature formulas v{FEATURES_FORMULA_VERSION}, score formulas v{SCORES_FORMULA_VERSION})"


def _version(value: bool) -> None:
    if value:
        typer.echo(version_text())
        raise typer.Exit(EXIT_OK)


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version (package and formulas) and exit."
    ),
) -> None:
    pass


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"pipelines.{name}").register(app)


_register_all()


def _stop_on_interrupt() -> None:
    """Ctrl-C stops at once with one line and exit code 130.

    The store is safe against a kill at any moment (atomic partition writes,
    data before ledger, alert outbox; tests/test_crash_safety.py), so nothing
    is gained by waiting for Prefect's shutdown, which takes over a minute and
    prints pages of logs. The early Prefect server dies with this process
    (PR_SET_PDEATHSIG); spawned ingest workers see their pipe close and exit.
    """
    import os
    import signal

    def handler(_signum, _frame) -> None:
        os.write(
            2, b"\ninterrupted: stopped; the store keeps its last complete state, run the command again to finish\n"
        )
        os._exit(130)

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread (embedded use): keep Python's KeyboardInterrupt
        pass


def main() -> None:  # console-script entry point
    """Run the command line; map :class:`pipelines.errors.StrainwatchError` (and the OS and SQLite
    errors it knows) to one line on stderr and its exit code (docs/operations.md, "Exit codes")."""
    import sqlite3

    from pipelines.errors import EXIT_INTERRUPTED, StrainwatchError, translate

    if sys.argv[1:2] != ["serve"]:  # serve: Prefect shuts its runner down on SIGINT/SIGTERM itself
        _stop_on_interrupt()
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(EXIT_INTERRUPTED)
    except (StrainwatchError, OSError, sqlite3.DatabaseError) as err:
        mapped = translate(err)
        if mapped is None:
            raise
        typer.echo(f"error: {mapped}", err=True)
        sys.exit(mapped.exit_code)
