"""Option definitions shared by every ``strainwatch`` command (one place for their flags and help).

Kept apart from :mod:`pipelines.cli`, which registers the commands on import, so that a command
module can import these without a circular import.
"""

from __future__ import annotations

import typer

__all__ = ["ConfigOpt", "StoreOpt", "StoreRunOpt", "InputOpt", "AthleteFilterOpt"]

ConfigOpt = typer.Option(
    None, "--config", help="strainwatch.toml (default: $STRAINWATCH_CONFIG, else ./strainwatch.toml if present)."
)
StoreOpt = typer.Option(
    None,
    "--store",
    help="Data directory (default: [store] path of the config or $STRAINWATCH_STORE__PATH, else ./strainwatch-data).",
)
StoreRunOpt = typer.Option(None, "--store", help="Data directory (overrides [store] path; default ./strainwatch-data).")
InputOpt = typer.Option(None, "--input", help="Input folder with exports (repeatable; overrides [inputs] folders).")
AthleteFilterOpt = typer.Option(None, "--athlete", help="Only this athlete (repeatable).")
