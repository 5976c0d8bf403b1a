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


def read_labels_csv(path: Path, column: str):
    """``athlete_id,date,<column>`` rows of a labels CSV (dates YYYY-MM-DD).

    Raises
    ------
    ValueError
        A missing column or a bad date/number, naming the file and the line.
    """
    import polars as pl

    try:
        raw = pl.read_csv(path, infer_schema=False)
    except Exception as err:  # noqa: BLE001 - polars raises several kinds
        raise ValueError(f"{path}: not a readable CSV ({err})") from None
    for c in ("athlete_id", "date", column):
        if c not in raw.columns:
            raise ValueError(f"{path}: line 1: expected a column {c!r}; found {', '.join(raw.columns)}")
    out = raw.select(
        pl.col("athlete_id").str.strip_chars(),
        pl.col("date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias("date"),
        pl.col(column).str.strip_chars().cast(pl.Float64, strict=False).alias(column),
        pl.col("date").alias("_d"),
        pl.col(column).alias("_v"),
    ).with_row_index("_line", offset=2)
    bad = out.filter(
        pl.col("date").is_null()
        | (pl.col("_v").is_not_null() & (pl.col("_v").str.strip_chars() != "") & pl.col(column).is_null())
    )
    if bad.height:
        r = bad.row(0, named=True)
        what = (
            f"a date YYYY-MM-DD, got {r['_d']!r}"
            if r["date"] is None
            else f"a number in column {column!r}, got {r['_v']!r}"
        )
        raise ValueError(f"{path}: line {r['_line']}: expected {what}")
    return out.select("athlete_id", "date", column)


def _injury_table() -> str | None:
    from features.schemas import TABLES

    return next((t for t in TABLES if "injur" in t), None)


class NoLabelledDays(ValueError):
    """No scored day has a known outcome."""


def evaluate_store(
    st,
    *,
    spec=None,
    injuries: bool = False,
    back_only: bool = False,
    labels_csv: Path | None = None,
    horizon_d: int = 3,
    gap_d: int = 7,
    n_boot: int = 1000,
    seed: int = 0,
    athletes=None,
    since=None,
    until=None,
    rules_params=None,
):
    """:class:`models.evaluate.Evaluation` of the scores in store ``st`` (the CLI's work; the weekly
    report can call it and render :func:`models.evaluate.report_section`).

    ``rules_params`` (a ScorerParams) scores the stored features in memory instead of reading the
    stored scores.

    Raises
    ------
    ValueError
        Missing tables or columns, a bad labels CSV (file and line named).
    NoLabelledDays
        Nothing to evaluate.
    """
    import polars as pl

    from models.evaluate import evaluate_scores

    if (spec is None) == (not injuries):
        raise ValueError("give --label ITEM<=N (a self-report item) or --injuries")
    feats = st.read_table("features", athletes=athletes) if st.table_dir("features").exists() else None
    if feats is None or feats.is_empty():
        raise ValueError(f"no features in {st.root}; run `strainwatch run` (or ingest, features, score) first")
    if rules_params is not None:
        from models.columnar import score_features_columnar  # equal to models.rules.score_features

        scores = score_features_columnar(feats, as_of=until or feats["date"].max(), params=rules_params)
    else:
        if not st.table_dir("scores").exists():
            raise ValueError(f"no scores in {st.root}; run `strainwatch score` first (or use --rules)")
        scores = st.read_table("scores", athletes=athletes)
    if since is not None:
        scores = scores.filter(pl.col("date") >= since)
    if until is not None:
        scores = scores.filter(pl.col("date") <= until)
    if scores.is_empty():
        raise NoLabelledDays("no scored days in the chosen period")
    reports = inj = None
    if injuries:
        table = _injury_table()
        if table is None or not st.table_dir(table).exists():
            raise ValueError(f"no injury reports in {st.root} (ingest a PMSys export with injury.csv first)")
        inj = st.read_table(table, athletes=athletes)
        if "severity" in inj.columns:  # a report that says "no injury" is not an injury
            inj = inj.filter(pl.col("severity").is_null() | (pl.col("severity") != "none"))
        if back_only:
            if "is_back" not in inj.columns:
                raise ValueError(f"the {table} table has no is_back column")
            inj = inj.filter(pl.col("is_back").fill_null(False))
    elif labels_csv is not None:
        reports = read_labels_csv(labels_csv, spec.column)
    else:
        reports = st.read_table("wellness", athletes=athletes)
        if spec.column not in reports.columns:
            raise ValueError(
                f"label column {spec.column!r} is not in the wellness table; known: "
                f"{', '.join(c for c in reports.columns if c not in ('athlete_id', 'source', 'date', 'source_file'))}"
            )
    ev = evaluate_scores(
        scores,
        feats,
        reports=reports,
        spec=spec,
        injuries=inj,
        horizon_d=horizon_d,
        gap_d=gap_d,
        n_boot=n_boot,
        seed=seed,
    )
    if ev.n_days == 0:
        raise NoLabelledDays(
            "no labelled day with a score: no report of the label item in the days after any scored day"
        )
    return ev


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
