"""``strainwatch verify``: check every partition and reconcile the ledger with the partitions."""

from __future__ import annotations

from pathlib import Path

import typer

from pipelines.cli import ConfigOpt, StoreOpt, resolve_store
from pipelines.errors import EXIT_USAGE


def register(app: typer.Typer) -> None:
    @app.command()
    def verify(
        store: Path | None = StoreOpt,
        config: Path | None = ConfigOpt,
        quarantine: bool = typer.Option(
            True,
            "--quarantine/--no-quarantine",
            help="Move damaged partitions to <store>/quarantine/ (default), or only report them.",
        ),
    ) -> None:
        """Check every partition (checksum, plausibility) and the ledger's row counts against them.

        Like `git fsck`. Exit code 0 when all is sound, 8 otherwise; each problem is printed with
        what to do (docs/operations.md, "When something breaks").
        """
        from pipelines.errors import DataDamagedError
        from pipelines.integrity import verify as run_verify
        from pipelines.store import Store, repair_advice

        st = Store(resolve_store(store, config))
        if not st.exists():
            typer.echo(f"error: no store at {st.root}: pass --store", err=True)
            raise typer.Exit(EXIT_USAGE)
        rep = run_verify(st, quarantine=quarantine)
        for table, path, reason in rep.damaged:
            typer.echo(
                f"damaged: {path}: {reason}; "
                + ("moved to the quarantine folder; " if quarantine else "")
                + repair_advice(table)
            )
        for line in rep.mismatches:
            typer.echo(f"missing: {line}")
        for a in rep.pending:
            typer.echo(f"unfinished: the rebuild of {a} did not complete; run `strainwatch ingest --rebuild {a}` again")
        if rep.unverified:
            typer.echo(
                f"note: {len(rep.unverified)} partitions were written before checksums existed; "
                f"checked by decoding and plausibility, {rep.adopted} got their checksum now"
            )
        typer.echo(
            f"checked {rep.partitions} partitions and {rep.groups} athlete groups: "
            + ("all sound" if rep.ok else f"{len(rep.damaged)} damaged, {len(rep.mismatches)} with missing rows")
        )
        if not rep.ok:
            raise DataDamagedError(f"store {st.root} has problems (listed above)")
