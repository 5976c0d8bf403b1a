"""``strainwatch report`` (weekly coach report) and ``strainwatch alert`` (deload alerts)."""

from __future__ import annotations

import re
from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, load_config_or_exit, parse_date_option, resolve_store
from pipelines.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE


def register(app: typer.Typer) -> None:
    @app.command()
    def report(
        week: str | None = typer.Option(
            None, "--week", help="ISO week, e.g. 2026-W15 (default: the week of the latest scored day)."
        ),
        out: Path | None = typer.Option(
            None, "--out", help="HTML file to write (default: strainwatch-<week>[-<athlete>].html)."
        ),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        as_of: str | None = typer.Option(
            None, "--as-of", help="Last day to use, YYYY-MM-DD (default: end of the week or the latest scored day)."
        ),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Write the weekly coach report: one self-contained HTML file (no network needed)."""
        from pipelines.stage_args import report_args
        from pipelines.stage_report import run_report
        from pipelines.store import Store

        if week is not None and not re.match(r"^\d{4}-?W\d{1,2}$", week.strip()):
            typer.echo(f"error: --week expects an ISO week like 2026-W15, got {week!r}", err=True)
            raise typer.Exit(EXIT_USAGE)
        cfg = load_config_or_exit(config)
        st = Store(resolve_store(store, config))
        try:
            r = run_report(
                st,
                **report_args(
                    cfg, week=week, as_of=parse_date_option(as_of, "--as-of"), out_path=out, athletes=athlete or None
                ),
            )
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        typer.echo(
            f"wrote {r.path} ({r.bytes / 1024:,.0f} kB, {r.athletes} athlete{'s' if r.athletes != 1 else ''}, "
            f"week {r.week}, data to {r.as_of})"
        )

    @app.command()
    def alert(
        as_of: str | None = typer.Option(
            None, "--as-of", help="Night to evaluate, YYYY-MM-DD (default: the latest scored day)."
        ),
        dry_run: bool = typer.Option(False, "--dry-run", help="Print what would be sent; send and record nothing."),
        athlete: list[str] | None = typer.Option(None, "--athlete", help="Only this athlete (repeatable)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Send deload alerts (high band, moderate 3+ days, red flag) through the outbox.

        Each alert is sent once per athlete, episode and rule; a failed delivery is retried on the next run.
        Exit code 1 when a delivery failed.
        """
        from pipelines.stage_alert import ChannelConfigError, run_alerts
        from pipelines.stage_args import alert_args
        from pipelines.store import Store

        cfg = load_config_or_exit(config)
        st = Store(resolve_store(store, config))
        try:
            s = run_alerts(
                st,
                **alert_args(
                    cfg,
                    as_of=parse_date_option(as_of, "--as-of"),
                    dry_run=True if dry_run else None,
                    athletes=athlete or None,
                ),
            )
        except (ChannelConfigError, ValueError) as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        for line in s.lines:
            typer.echo(line)
        for p in s.problems:
            typer.echo(f"problem: {p}", err=True)
        if s.dry_run:
            typer.echo(
                f"dry run: {s.fired} alert(s) fire, {s.would_send} message(s) would be sent"
                + (f", {s.no_channel} not (no channel configured)" if s.no_channel else "")
                + (f", {s.already_sent} already sent" if s.already_sent else "")
                + "; nothing was sent or recorded"
            )
        raise typer.Exit(EXIT_OK if s.ok else EXIT_FAILED)

    @app.command()
    def ack(
        athlete: str = typer.Argument(..., help="Athlete id whose alert you acknowledge."),
        note: str = typer.Option("", "--note", help="What you decided, e.g. 'deload agreed, 3 easy runs'."),
        plan_changed: bool = typer.Option(False, "--plan-changed", help="Record that the training plan was changed."),
        by: str = typer.Option("", "--by", help="Who acknowledges (shown in the report)."),
        on: str | None = typer.Option(None, "--date", help="Day of the decision, YYYY-MM-DD (default: today)."),
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
    ) -> None:
        """Acknowledge an athlete's alert or record a plan change; the next report shows it."""
        from pipelines.ack import record_ack
        from pipelines.store import Store

        load_config_or_exit(config)
        st = Store(resolve_store(store, config))
        known = set(st.athletes("scores")) | set(st.athletes("features"))
        if known and athlete not in known:
            typer.echo(f"error: unknown athlete id {athlete!r}; known: {', '.join(sorted(known)[:20])}", err=True)
            raise typer.Exit(EXIT_USAGE)
        try:
            a = record_ack(
                st,
                athlete,
                note=note,
                kind="plan_changed" if plan_changed else "ack",
                by=by,
                at=parse_date_option(on, "--date"),
            )
        except ValueError as err:
            typer.echo(f"error: {err}", err=True)
            raise typer.Exit(EXIT_USAGE) from None
        typer.echo(
            f"recorded: {'plan changed' if a.kind == 'plan_changed' else 'acknowledged'} for {a.athlete_id} "
            f"on {a.at.isoformat()}"
            + (f" (alert {a.alert_id[:12]})" if a.alert_id else " (no alert queued)")
            + (f": {a.note}" if a.note else "")
        )
