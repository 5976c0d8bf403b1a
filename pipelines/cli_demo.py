"""``strainwatch demo``: the whole nightly job on the bundled sample team, in one command."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import typer

from pipelines.errors import EXIT_USAGE

#: The sample team shipped in the repository (see sample_data/README.md).
SAMPLE_DIR = Path(__file__).resolve().parents[1] / "sample_data"
#: Last day of the sample data; the demo scores as of this day.
DEMO_AS_OF = "2026-11-15"
#: A store created by the demo carries this marker, so a re-run may replace it.
MARKER = ".strainwatch-demo"


def _fresh_demo_store(store: Path) -> None:
    if store.exists() and any(store.iterdir()):
        if not (store / MARKER).exists():
            typer.echo(f"error: {store} exists and is not a demo store; choose another --store", err=True)
            raise typer.Exit(EXIT_USAGE)
        shutil.rmtree(store)
    store.mkdir(parents=True, exist_ok=True)
    (store / MARKER).write_text("created by `strainwatch demo`; safe to delete\n")


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        store: Path = typer.Option(
            Path("strainwatch-demo"), "--store", help="Store for the demo (replaced on every demo run)."
        ),
        verbose: bool = typer.Option(False, "--verbose", "-v", help="Show Prefect's logs."),
    ) -> None:
        """Ingest the sample team, run the nightly pipeline for 2026-11-15, write the weekly
        report and print the alerts it would send (nothing is delivered)."""
        from pipelines.cli_run import _load, _run

        t0 = time.perf_counter()
        config = SAMPLE_DIR / "strainwatch.toml"
        inputs = SAMPLE_DIR / "inputs"
        if not config.exists() or not inputs.is_dir():
            typer.echo(
                f"error: sample data not found in {SAMPLE_DIR}; run from a clone installed "
                "with `pip install -e .` (or `python sample_data/generate.py`)",
                err=True,
            )
            raise typer.Exit(EXIT_USAGE)
        _fresh_demo_store(store)
        typer.echo(f"strainwatch demo: 10 sample athletes, 26 weeks of exports in {inputs}")
        typer.echo(
            "  (FIT, generic CSV, Strava, Oura, WHOOP, Garmin Connect zip and Apple Health; "
            "see sample_data/README.md for who is who)\n"
        )
        cfg = _load(config, store, [inputs], alerts__dry_run=True)
        summary = _run(
            "nightly",
            cfg,
            verbose,
            as_of=DEMO_AS_OF,
            config_path=str(config),
            store=str(cfg.store.path),
            inputs=[str(inputs)],
            dry_run=True,
        )
        if len(summary.alert_lines) > 8:  # the run summary shows the first lines only
            typer.echo(
                "\nalerts the nightly run would send (dry run, nothing delivered; push texts here, "
                "the e-mail versions with `strainwatch alert --dry-run`):"
            )
            for line in summary.alert_lines:
                if not line.startswith("  | "):
                    typer.echo(f"  {line}")
        typer.echo("")
        typer.echo(f"weekly report: {summary.report_path}")
        typer.echo(f"scores:        strainwatch export scores --store {store} --out scores.csv")
        typer.echo(f"all alerts:    strainwatch alert --store {store} --as-of {DEMO_AS_OF} --dry-run")
        typer.echo("Scores are risk indicators, not diagnoses.")
        typer.echo(f"demo finished in {time.perf_counter() - t0:.1f} s")
