"""The evaluation stage: how the indicator tracked a team's own reports, read from the store.

The figures come from :mod:`models.evaluate` (pure); this module reads the store (scores,
features, wellness self-reports, injury reports) or a labels CSV. ``strainwatch evaluate``
(:mod:`pipelines.cli_evaluate`) prints the result; the weekly report shows a short section
(:func:`report_evaluation`).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

__all__ = ["NoLabelledDays", "evaluate_store", "read_labels_csv", "report_evaluation", "AUTO_LABELS"]


def read_labels_csv(path: Path, column: str):
    """``athlete_id,date,<column>`` rows of a labels CSV (dates YYYY-MM-DD).

    Raises
    ------
    ValueError
        A missing column or a bad date/number, naming the file and the line.
    """

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
    components: bool = True,
    tables=None,
):
    """:class:`models.evaluate.Evaluation` of the scores in store ``st`` (the CLI's work; the weekly
    report shows :func:`report_evaluation`).

    ``rules_params`` (a ScorerParams) scores the stored features in memory instead of reading the
    stored scores. ``components=False``: only the score, the naive baselines and the bands
    (:func:`models.evaluate.evaluate_frame`). ``tables``: the ``features``, ``scores`` or
    ``wellness`` frames of ``athletes`` a caller has already read (the report); the others are
    read from ``st``.

    Raises
    ------
    ValueError
        Missing tables or columns, a bad labels CSV (file and line named).
    NoLabelledDays
        Nothing to evaluate.
    """

    from models.evaluate import evaluate_scores

    if (spec is None) == (not injuries):
        raise ValueError("give --label ITEM<=N (a self-report item) or --injuries")
    tables = dict(tables or {})

    def read(table: str) -> pl.DataFrame:
        return tables[table] if table in tables else st.read_table(table, athletes=athletes)

    feats = read("features") if "features" in tables or st.table_dir("features").exists() else None
    if feats is None or feats.is_empty():
        raise ValueError(f"no features in {st.root}; run `strainwatch run` (or ingest, features, score) first")
    if rules_params is not None:
        from models.columnar import score_features_columnar  # equal to models.rules.score_features

        scores = score_features_columnar(feats, as_of=until or feats["date"].max(), params=rules_params)
    else:
        if "scores" not in tables and not st.table_dir("scores").exists():
            raise ValueError(f"no scores in {st.root}; run `strainwatch score` first (or use --rules)")
        scores = read("scores")
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
        reports = read("wellness")
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
        components=components,
    )
    if ev.n_days == 0:
        raise NoLabelledDays(
            "no labelled day with a score: no report of the label item in the days after any scored day"
        )
    return ev


#: the outcomes a weekly report checks when ``[report] evaluation_label`` is not set, first found
#: wins: back pain >= 3/10 (the indicator's own target; the domain brief's pain threshold), then
#: a "sore" report on the 1-5 soreness scale (1 = very sore; docs/exports.md).
AUTO_LABELS = ("back_pain_0_10>=3", "soreness_1_5<=2")

#: fewer labelled days or outcome days than this: the report says "too few reports yet"
MIN_REPORT_DAYS = 60
MIN_REPORT_EVENTS = 10


def _auto_label(w: pl.DataFrame) -> str | None:
    """The first of :data:`AUTO_LABELS` reported in the wellness frame ``w``, or None."""
    from models.evaluate import LabelSpec

    for text in AUTO_LABELS:
        col = LabelSpec.parse(text).column
        if col in w.columns and w.select(pl.col(col).is_not_null().any()).item():
            return text
    return None


def report_evaluation(
    st,
    *,
    as_of,
    athletes=None,
    label: str | None = None,
    injuries: bool = False,
    horizon_d: int = 3,
    n_boot: int = 200,
    seed: int = 0,
    tables=None,
) -> dict | None:
    """The weekly report's "how the indicator tracked this team's reports", or None without labels.

    The outcome is ``label`` (``ITEM<=N``), or injury episodes with ``injuries``, or the first of
    :data:`AUTO_LABELS` the athletes have reported. Scores up to ``as_of - horizon_d`` are checked
    against reports up to ``as_of`` only, so every outcome window is complete and nothing after the
    report's day is read. Only the score, the naive baselines and the bands are computed, with
    ``n_boot`` bootstrap resamples (``strainwatch evaluate`` gives the full table). ``tables``:
    frames already read, as :func:`evaluate_store`.

    Returns
    -------
    dict or None
        None when no outcome has been reported; ``{"status": "too_few", ...}`` below
        :data:`MIN_REPORT_DAYS` labelled days or :data:`MIN_REPORT_EVENTS` outcome days;
        ``{"status": "unavailable", "why": ...}`` when the stored data cannot be evaluated;
        otherwise ``{"status": "ok", **models.evaluate.report_summary(...)}``.
    """
    from datetime import timedelta

    from models.evaluate import LabelSpec, report_summary

    tables = dict(tables or {})
    if not injuries and "wellness" not in tables:
        tables["wellness"] = st.read_table("wellness", athletes=athletes)
    if not injuries and label is None:
        label = _auto_label(tables["wellness"])
        if label is None:
            return None
    spec = None if injuries else LabelSpec.parse(label)
    try:
        ev = evaluate_store(
            st,
            spec=spec,
            injuries=injuries,
            horizon_d=horizon_d,
            n_boot=n_boot,
            seed=seed,
            athletes=athletes,
            until=as_of - timedelta(days=horizon_d),  # every outcome window ends by as_of
            components=False,
            tables=tables,
        )
    except NoLabelledDays:
        return {
            "status": "too_few",
            "label": spec.describe() if spec else "new injury episode",
            "n_days": 0,
            "n_events": 0,
            "horizon_d": horizon_d,
            "min_days": MIN_REPORT_DAYS,
            "min_events": MIN_REPORT_EVENTS,
        }
    except ValueError as err:
        return {"status": "unavailable", "why": str(err)}
    if ev.n_days < MIN_REPORT_DAYS or ev.n_events < MIN_REPORT_EVENTS:
        return {
            "status": "too_few",
            "label": ev.label,
            "n_days": ev.n_days,
            "n_events": ev.n_events,
            "horizon_d": horizon_d,
            "min_days": MIN_REPORT_DAYS,
            "min_events": MIN_REPORT_EVENTS,
        }
    what = "--injuries" if injuries else f'--label "{label}"'
    return {"status": "ok", **report_summary(ev), "command": f"strainwatch evaluate {what} --horizon {horizon_d}"}
