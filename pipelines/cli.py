"""The ``strainwatch`` command line.

Commands live in small modules that each expose ``register(app)``; this file
only assembles them, so heavy imports (prefect, plotly, scikit-learn) happen
inside the commands that need them and ``strainwatch --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Optional

import typer

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
)

StoreOpt = typer.Option(None, "--store", help="Data directory (default: config file, else ./strainwatch-data).")


def resolve_store(store: Optional[Path], config: Optional[Path] = None) -> Path:
    """The store directory from the flag, else ``STRAINWATCH_STORE``, else the config
    file's ``[store] path`` (``config``, ``$STRAINWATCH_CONFIG`` or ``./strainwatch.toml``),
    else the default."""
    import os

    from pipelines.store import DEFAULT_STORE

    if store is not None:
        return store
    env = os.environ.get("STRAINWATCH_STORE")
    if env:
        return Path(env)
    from pipelines.config import ConfigError, store_from_config

    try:
        configured = store_from_config(config)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    return configured if configured is not None else DEFAULT_STORE


ConfigOpt = typer.Option(None, "--config", help="strainwatch.toml (default: $STRAINWATCH_CONFIG, else ./strainwatch.toml if present).")


def load_config_or_exit(config: Optional[Path]):
    """The validated configuration (defaults when there is no file); exit code 2 on an error."""
    from pipelines.config import ConfigError, load_config

    try:
        return load_config(config)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


def parse_date_option(value: Optional[str], flag: str):
    """``YYYY-MM-DD`` from an option as a date (None stays None); exit code 2 otherwise."""
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {flag} expects a date YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(2) from None


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
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version (package and formulas) and exit."),
) -> None:
    pass


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(f"pipelines.{name}").register(app)


_register_all()


def main() -> None:  # console-script entry point
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)

