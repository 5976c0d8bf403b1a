"""``strainwatch evaluate``: how the indicator tracked the team's own reports.

The figures come from :mod:`models.evaluate` (pure); this module reads the
store (scores, features, wellness self-reports, injury reports) or a labels
CSV and prints Markdown, or JSON with ``--json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, parse_date_option, resolve_store
from pipelines.stage_evaluate import NoLabelledDays, evaluate_store


def register(app: typer.Typer) -> None:
    @app.command()
    def evaluate(
        label: str | None = typer.Option(
            None,
            "--label",
            help=(
                "Self-report item, comparison and threshold that counts as an event, e.g. 'soreness<=2' (PMSys: 1 = "
                "very sore) or 'back_pain_0_10>=3'. Read from the store's wellness table, or from --labels-csv."
            ),
        ),
        labels_csv: Path | None = typer.Option(
            None,
            "--labels-csv",
            help="CSV with athlete_id,date and the --label column, instead of the store's wellness table.",
        ),
        injuries: bool = typer.Option(
            False,
            "--injuries",
            help="Use the store's injury reports: a new episode after --injury-gap days without a report is the event.",
        ),
        back_only: bool = typer.Option(False, "--back-only", help="With --injuries: only back injuries (is_back)."),
        injury_gap: int = typer.Option(
            7, "--injury-gap", help="Days without an injury report before a report counts as a new episode."
        ),
        horizon: int = typer.Option(
            3, "--horizon", help="An event on any of the next N days after the scored day counts."
        ),
        since: str | None = typer.Option(None, "--since", help="First scored day to evaluate, YYYY-MM-DD."),
        until: str | None = typer.Option(None, "--until", help="Last scored day to evaluate, YYYY-MM-DD."),
        rules: bool = typer.Option(
            False,
            "--rules",
            help=(
                "Score the stored features with the rule scorer (config parameters) in memory instead of reading the "
                "stored scores."
            ),
        ),
        bootstrap: int = typer.Option(1000, "--bootstrap", help="Bootstrap resamples of athletes for the 95 % CIs."),
        seed: int = typer.Option(0, "--seed", help="Seed of the bootstrap."),
        json_out: str | None = typer.Option(
            None, "--json", help="Write the figures as JSON to this file ('-' = standard output, instead of Markdown)."
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Pooled and within-athlete ROC AUC (95 % CIs) of the score, its components and naive baselines
        for the team's own reports; precision/recall per band; share of days per band.

        Exit codes: 0 done, 1 no labelled day, 2 bad option or data.
        """
        from models.evaluate import LabelSpec
        from pipelines.store import Store

        def fail(msg: str, code: int = 2):
            typer.echo(f"error: {msg}", err=True)
            raise typer.Exit(code)

        if (label is None) == (not injuries):
            fail("give --label ITEM<=N (a self-report item) or --injuries")
        if horizon < 1 or bootstrap < 0 or injury_gap < 1:
            fail("--horizon and --injury-gap must be at least 1, --bootstrap at least 0")
        try:
            spec = LabelSpec.parse(label) if label is not None else None
        except ValueError as err:
            fail(str(err))
        cfg = load_config_or_exit(config)
        st = Store(resolve_store(store, config))
        lo, hi = parse_date_option(since, "--since"), parse_date_option(until, "--until")
        params = None
        if rules:
            from models.rules import ScorerParams

            try:
                params = ScorerParams.from_dict(cfg.scorer_params())
            except ValueError as err:
                fail(f"[scorer.params] {err}")
        try:
            ev = evaluate_store(
                st,
                spec=spec,
                injuries=injuries,
                back_only=back_only,
                labels_csv=labels_csv,
                horizon_d=horizon,
                gap_d=injury_gap,
                n_boot=bootstrap,
                seed=seed,
                athletes=athlete or None,
                since=lo,
                until=hi,
                rules_params=params,
            )
        except NoLabelledDays as err:
            fail(str(err), 1)
        except ValueError as err:
            fail(str(err))
        if json_out == "-":
            typer.echo(json.dumps(ev.to_dict(), indent=2))
            return
        typer.echo(ev.to_markdown())
        if json_out:
            p = Path(json_out)
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(json.dumps(ev.to_dict(), indent=2), encoding="utf-8")
            typer.echo(f"\nwrote {p}")
