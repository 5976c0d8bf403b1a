"""``strainwatch ingest``, ``strainwatch ledger`` and ``strainwatch export``."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, resolve_store
from pipelines.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


class ExportTable(StrEnum):
    sessions = "sessions"
    sleep = "sleep"
    wellness = "wellness"
    injuries = "injuries"
    daily = "daily"
    features = "features"
    scores = "scores"


class BadRowPolicy(StrEnum):
    raise_ = "raise"
    skip = "skip"


def print_ingest_summary(summary, echo=typer.echo) -> None:
    """One-screen summary of an ingest run (also used by ``strainwatch run``)."""
    s = summary
    echo(
        f"files: {s.files_seen} seen, {s.ingested} ingested, {s.unchanged} unchanged, "
        f"{s.duplicate} duplicate, {s.rejected} rejected"
        + (
            f", {s.previously_rejected} rejected earlier (--retry-rejected to read again)"
            if s.previously_rejected
            else ""
        )
    )
    echo(
        "rows read: "
        + ", ".join(f"{k} {v}" for k, v in s.rows.items())
        + f"; new rows stored: {s.rows_added}"
        + (f"; bad rows skipped: {s.skipped_rows}" if s.skipped_rows else "")
    )
    if s.by_format:
        echo("formats: " + ", ".join(f"{k} {v}" for k, v in sorted(s.by_format.items())))
    merged_s, merged_n = getattr(s, "merged_sessions", 0), getattr(s, "merged_nights", 0)
    if merged_s or merged_n:
        echo(
            f"merged {merged_s} duplicate workouts across sources"
            + (f" and {merged_n} duplicate sleep records" if merged_n else "")
            + " (stored rows kept; see the `merges` table in the ledger database)"
        )
    for p in s.problems[:20]:
        echo(f"rejected: {p}", err=True)
    if len(s.problems) > 20:
        echo(f"... and {len(s.problems) - 20} more (see `strainwatch ledger --status rejected`)", err=True)


def check_tz_option(tz: str) -> None:
    """:class:`pipelines.errors.UsageError` naming the closest zones for an unknown IANA time zone."""
    import difflib
    import zoneinfo

    from pipelines.errors import UsageError

    try:
        zoneinfo.ZoneInfo(tz)
        return
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    close = difflib.get_close_matches(tz, sorted(zoneinfo.available_timezones()), n=3)
    raise UsageError(
        f"--tz {tz!r} is not an IANA time zone"
        + (f"; did you mean {' or '.join(close)}?" if close else " (e.g. Europe/Berlin, America/New_York)")
    )


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        paths: list[Path] = typer.Argument(..., help="Export files or folders (recursive; .zip accepted)."),
        store: Path | None = StoreOpt,
        as_athlete: str | None = typer.Option(
            None, "--as-athlete", help="Assign this athlete id to files without one."
        ),
        athlete_old: str | None = typer.Option(
            None, "--athlete", hidden=True, help="Deprecated spelling of --as-athlete."
        ),
        tz: str | None = typer.Option(
            None,
            "--tz",
            help=(
                "IANA time zone for formats with local times only (default: the roster's or [team] timezone with "
                "--config)."
            ),
        ),
        on_bad_row: BadRowPolicy | None = typer.Option(
            None,
            "--on-bad-row",
            help="raise: reject the file; skip: drop bad rows and count them (default: [inputs] on_bad_row, raise).",
        ),
        retry_rejected: bool = typer.Option(
            False, "--retry-rejected", help="Read again files rejected by an earlier run."
        ),
        workers: int | None = typer.Option(
            None, "--workers", help="Decoder processes (default: [inputs] workers, else all cores)."
        ),
        rebuild: list[str] | None = typer.Option(
            None,
            "--rebuild",
            help=(
                "Read this athlete's inputs again whatever the ledger says, after moving its stored partitions aside "
                "(repeatable; see `strainwatch verify`)."
            ),
        ),
        max_file_mb: float | None = typer.Option(
            None, "--max-file-mb", help="Reject larger input files unread (default: [inputs] max_file_mb, 1024)."
        ),
        config: Path | None = ConfigOpt,
    ) -> None:
        """Read export files into the store. Exit code 1 when any file was rejected.

        With a configuration, the roster's time zones, device serials and aliases apply as in `strainwatch run`.
        """
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from pipelines.errors import NoInputFilesError
        from pipelines.ingest import ingest_paths
        from pipelines.stage_args import ingest_args
        from pipelines.store import Store, repair_advice

        for p in paths:
            if not p.exists():
                typer.echo(f"error: input not found: {p}", err=True)
                raise typer.Exit(EXIT_USAGE)
        if tz is not None:
            check_tz_option(tz)
        if athlete_old is not None:
            typer.echo(
                "warning: `strainwatch ingest --athlete` is deprecated: use --as-athlete (elsewhere --athlete "
                "filters athletes)",
                err=True,
            )
        cfg = load_config_or_exit(config)
        st = Store(resolve_store(store, config))
        with Progress(
            TextColumn("ingest"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            transient=True,
            disable=not sys.stderr.isatty(),
        ) as bar:
            task = bar.add_task("ingest", total=None)

            def progress(done: int, total: int, _name: str) -> None:
                bar.update(task, completed=done, total=total)

            kw = ingest_args(
                cfg,
                athlete=as_athlete or athlete_old,
                rebuild=rebuild or (),
                progress=progress,
                workers=workers,
                max_file_mb=max_file_mb,
                on_bad_row=on_bad_row.value if on_bad_row is not None else None,
                retry_rejected=True if retry_rejected else None,
            )
            if tz is not None:
                kw["tz_for"] = lambda _a: tz
            elif cfg.source is None:  # no configuration: the formats' own rule for local times
                kw["tz_for"] = None
            summary = ingest_paths(st, paths, **kw)
        if summary.files_seen == 0:
            raise NoInputFilesError(
                f"no input files in {', '.join(str(p) for p in paths)}: give the folder holding the exports "
                "(<folder>/<athlete>/...; hidden files are skipped), see docs/exports.md"
            )
        print_ingest_summary(summary)
        for note in summary.notes[:20]:
            typer.echo(f"note: {note}", err=True)
        if rebuild:
            typer.echo(f"rebuilt {', '.join(rebuild)}: check with `strainwatch verify`")
        for table, athlete_id, path, moved, reason in st.quarantined:
            typer.echo(f"damaged: {path} ({reason}) moved to {moved}; {repair_advice(table, athlete_id)}", err=True)
        raise typer.Exit(EXIT_OK if summary.ok and not st.quarantined else EXIT_FAILED)

    @app.command()
    def ledger(
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
        status: str | None = typer.Option(
            None, "--status", help="Only rows with this status (ingested, rejected, duplicate)."
        ),
        csv: Path | None = typer.Option(None, "--csv", help="Write the full ledger as CSV instead of printing."),
        merges: bool = typer.Option(
            False,
            "--merges",
            help=(
                "List the cross-source duplicates instead: which copy of a workout/night is kept, which dropped, and "
                "why."
            ),
        ),
    ) -> None:
        """What was ingested, and why anything was rejected."""
        import polars as pl

        from pipelines.store import Store

        if merges:
            from pipelines.ingest import read_merges

            m = read_merges(Store(resolve_store(store, config)))
            if csv:
                from pipelines.atomic import atomic_write_bytes
                from reports.csv_safe import people_csv_bytes

                atomic_write_bytes(csv, people_csv_bytes(m))
                typer.echo(f"wrote {m.height} merge rows to {csv}")
                return
            for r in m.iter_rows(named=True):
                typer.echo(
                    f"{r['table_name']:<8} {r['athlete_id']:<12} kept {r['kept_source']} {r['kept_start_utc']} "
                    f"({r['kept_source_file']}); dropped {r['dropped_source']} {r['dropped_start_utc']} "
                    f"({r['dropped_source_file']})"
                )
                typer.echo(f"          reason: {r['reason']}" + (f"; filled: {r['filled']}" if r["filled"] else ""))
            typer.echo(f"total: {m.height} duplicates merged" if m.height else "no duplicates merged")
            from pipelines.stage_features import read_load_families

            fams = read_load_families(Store(resolve_store(store, config)))
            if fams:
                typer.echo("load family per athlete (last `strainwatch features` run):")
                for a in sorted(fams):
                    typer.echo(f"  {a:<12} {fams[a].get('reason')}")
            return
        df = Store(resolve_store(store, config)).ledger()
        if status:
            df = df.filter(pl.col("status") == status)
        if csv:
            from pipelines.atomic import atomic_write_bytes
            from reports.csv_safe import people_csv_bytes

            atomic_write_bytes(csv, people_csv_bytes(df))
            typer.echo(f"wrote {df.height} ledger rows to {csv}")
            return
        if df.is_empty():
            typer.echo("ledger is empty")
            return
        for r in df.iter_rows(named=True):
            rows = (
                f"sessions {r['rows_sessions'] or 0}, sleep {r['rows_sleep'] or 0}, wellness {r['rows_wellness'] or 0}"
            )
            line = f"{r['status']:<9} {r['format'] or '?':<22} {r['athlete_id'] or '-':<12} {r['path']}"
            if r["status"] == "ingested":
                line += f"  ({rows}; new {r['rows_added'] or 0}"
                line += f"; skipped rows {r['skipped_rows']})" if r["skipped_rows"] else ")"
            typer.echo(line)
            if r["error"]:
                typer.echo(f"          reason: {r['error']}")
            if r["warnings"]:
                import json

                for w in json.loads(r["warnings"]):
                    typer.echo(f"          note: {w}")
        counts = df.group_by("status").len().sort("status")
        typer.echo("total: " + ", ".join(f"{s} {n}" for s, n in counts.iter_rows()))

    @app.command()
    def export(
        table: ExportTable = typer.Argument(..., help="Table to export."),
        out: Path = typer.Option(..., "--out", help="CSV file to write."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only these athletes (repeatable)."),
    ) -> None:
        """Write a stored table as CSV (the output contracts of docs/design.md)."""
        from features.schemas import TABLES
        from pipelines.atomic import atomic_write_bytes
        from pipelines.store import Store, repair_advice

        st = Store(resolve_store(store, config))
        schema = TABLES[table.value]
        df = st.read_table(table.value, athletes=athlete)
        if df.is_empty() and table.value in ("daily", "features", "scores") and not st.table_dir(table.value).exists():
            typer.echo(
                f"error: no {table.value} in {st.root}; run `strainwatch "
                f"{'features' if table.value != 'scores' else 'score'}` first",
                err=True,
            )
            raise typer.Exit(EXIT_USAGE)
        cols = schema.export_columns()
        extra = (
            [c for c in df.columns if c not in cols and c not in schema.columns and df.schema[c].is_nested() is False]
            if schema.export is None
            else []
        )
        key = [c for c in schema.key if c in df.columns]
        df = df.select(cols + extra).sort(key) if key else df.select(cols + extra)
        from reports.csv_safe import people_csv_bytes

        out.parent.mkdir(parents=True, exist_ok=True)
        # text cells starting with = + - @ tab CR get a leading ' (OWASP CSV injection); numbers unchanged
        atomic_write_bytes(out, people_csv_bytes(df, datetime_format="%Y-%m-%dT%H:%M:%SZ", float_precision=None))
        typer.echo(f"wrote {df.height} rows to {out}")
        if st.quarantined:
            from pipelines.errors import DataDamagedError

            raise DataDamagedError(
                "; ".join(
                    f"{path} is damaged ({reason}): moved to {moved}, its rows are NOT in {out}; "
                    + repair_advice(table, a)
                    for table, a, path, moved, reason in st.quarantined
                )
            )
