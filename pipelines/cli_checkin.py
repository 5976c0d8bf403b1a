"""``strainwatch checkin serve | links | import``: the athletes' daily check-in."""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, resolve_store
from pipelines.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE

checkin_app = typer.Typer(
    help="The athletes' daily check-in: a phone form, personal links, CSV import.", no_args_is_help=True
)


def _athletes(cfg, store_root: Path) -> list[str]:
    if cfg.athletes:
        return [a.id for a in cfg.athletes]
    from pipelines.store import Store

    return Store(store_root).all_athletes()


@checkin_app.command("serve")
def serve(
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface of the local network)."
    ),
    port: int = typer.Option(8765, "--port", min=1, max=65535),
    store: Path | None = StoreOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Serve the check-in form (personal links from `strainwatch checkin links`)."""
    import uvicorn

    from pipelines.checkin_app import create_app

    cfg = load_config_or_exit(config)
    root = resolve_store(store, config)
    typer.echo(
        f"strainwatch check-in on http://{host}:{port}/ (store {root}); links: strainwatch checkin links", err=True
    )
    uvicorn.run(create_app(root, cfg), host=host, port=port, access_log=False, log_level="warning")


@checkin_app.command("links")
def links(
    rotate: list[str] | None = typer.Option(
        None, "--rotate", help="Issue a new token for this athlete (repeatable); the old link stops working."
    ),
    base_url: str | None = typer.Option(
        None, "--base-url", help="Address the phones use (default: \\[checkin] base_url)."
    ),
    store: Path | None = StoreOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Print personal check-in links: new ones for athletes without a token, and for --rotate IDs.

    Only a hash of each token is stored, so a link is printed once, when it is
    issued; issue a new one with --rotate ID if it is lost.
    """
    from pipelines.checkin import issue_token, token_status

    cfg = load_config_or_exit(config)
    root = resolve_store(store, config)
    base = (base_url or cfg.checkin.base_url).rstrip("/")
    ids = _athletes(cfg, root)
    unknown = [a for a in (rotate or []) if a not in ids]
    if unknown:
        typer.echo(f"error: unknown athlete id(s) {', '.join(map(repr, unknown))}; known: {', '.join(ids)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    if not ids:
        typer.echo("error: no athletes: add a roster ([[athletes]] in strainwatch.toml) or ingest data first", err=True)
        raise typer.Exit(EXIT_USAGE)
    have = token_status(root)
    for a in ids:
        if a in (rotate or []) or a not in have:
            token = issue_token(root, a)
            typer.echo(f"{a}\t{base}/c/{a}/{token}")
        else:
            typer.echo(f"{a}\t(link issued {have[a]}; --rotate {a} to issue a new one)")


@checkin_app.command("import")
def import_csv(
    files: list[Path] = typer.Argument(..., help="CSV exports of a form service (Google Forms, Microsoft Forms, ...)."),
    store: Path | None = StoreOpt,
    config: Path | None = ConfigOpt,
) -> None:
    """Import check-in answers from a form service's CSV, mapped by \\[checkin] csv_columns.

    Every row is checked first; one bad row refuses the file (exit code 1) with
    its line and column, and nothing of that file is stored.
    """
    import hashlib

    from pipelines.checkin import CheckinError, ingest_answers, read_form_csv, write_answer_file

    cfg = load_config_or_exit(config)
    root = resolve_store(store, config)
    if not cfg.checkin.csv_columns:
        typer.echo(
            "error: [checkin] csv_columns is empty: map the check-in fields to your form's column titles "
            "(docs/operations.md, 'Daily check-in')",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE)
    roster = [a.id for a in cfg.athletes] or None
    failed = False
    written = []
    for f in files:
        try:
            data = f.read_bytes()
            answers = read_form_csv(
                data,
                name=str(f),
                columns=cfg.checkin.csv_columns,
                time_format=cfg.checkin.csv_time_format,
                true_words=cfg.checkin.csv_true,
                tz_for=cfg.tz_for,
                athletes=roster,
            )
        except (OSError, UnicodeDecodeError, CheckinError) as err:
            typer.echo(f"error: {err}" if isinstance(err, CheckinError) else f"error: {f}: {err}", err=True)
            failed = True
            continue
        if not answers:
            typer.echo(f"{f}: no answers")
            continue
        # named by content: importing the same export again is recognised as unchanged
        name = f"{hashlib.sha256(data).hexdigest()[:16]}.checkin.json"
        written.append(write_answer_file(root, answers, folder="_import", name=name, team=True))
        typer.echo(f"{f}: {len(answers)} answer(s)")
    if written:
        s = ingest_answers(root, written, tz_for=cfg.tz_for, lock_timeout_s=cfg.store.lock_timeout_s)
        if s is None:
            typer.echo("store busy: the answers wait in the check-in inbox for the next run")
        else:
            typer.echo(f"ingested {s.ingested} file(s), {s.rows_added} new row(s); rejected {s.rejected}")
            for p in s.problems:
                typer.echo(f"  {p}", err=True)
            failed = failed or bool(s.rejected)
    raise typer.Exit(EXIT_FAILED if failed else EXIT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(checkin_app, name="checkin")
