"""``strainwatch features``: compute and store DAILY and FEATURES.

Export them with ``strainwatch export features --out FILE.csv`` (the contract's
columns first, then the scorer's extra columns).
"""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, parse_date_option, resolve_store
from pipelines.errors import EXIT_USAGE


def register(app: typer.Typer) -> None:
    @app.command()
    def features(
        store: Path | None = StoreOpt,
        as_of: str | None = typer.Option(
            None, "--as-of", help="Last day to compute, YYYY-MM-DD (default: today in the team's time zone)."
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        full: bool = typer.Option(False, "--full", help="Recompute every day, not only the days after a change."),
        load_family: str | None = typer.Option(
            None,
            "--load-family",
            help=(
                "Team load unit family for this run: auto (largest share of training time), srpe, tss, trimp, epoc or "
                "kcal; overrides [features.params] load_family, not a roster athlete's own load_family."
            ),
        ),
        config: Path | None = ConfigOpt,
    ) -> None:
        """Daily load, load spikes (ACWR, monotony, CTL/ATL/TSB) and recovery indicators.

        Incremental: only days from the first changed one are recomputed.
        Exit codes: 0 done, 2 bad option or data, 3 store in use.
        """
        from pipelines.stage_args import features_args
        from pipelines.stage_features import run_features
        from pipelines.store import Store

        cfg = load_config_or_exit(config)
        day = parse_date_option(as_of, "--as-of") or cfg.today()
        st = Store(resolve_store(store, config))
        if not st.exists():
            typer.echo(f"error: no store at {st.root}; run `strainwatch ingest` first", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            s = run_features(
                st, **features_args(cfg, as_of=day, athletes=athlete or None, full=full, load_family=load_family)
            )
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        if not s.athletes:
            typer.echo(f"no athlete has data on or before {day}; nothing computed")
            return
        typer.echo(
            f"features to {day}: {s.athletes} athlete{'s' if s.athletes != 1 else ''} "
            f"({len(s.full)} full, {len(s.incremental)} incremental, {len(s.unchanged)} unchanged), "
            f"{s.days_recomputed} athlete-days computed, {s.rows} rows stored in {s.seconds:.1f} s"
        )
        if s.sessions_merged or s.nights_merged:
            typer.echo(f"merged cross-source duplicates: {s.sessions_merged} sessions, {s.nights_merged} nights")
        for msg in s.problems:
            typer.echo(f"note: {msg}", err=True)
