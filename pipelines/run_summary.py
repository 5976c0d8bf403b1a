"""What one run of a flow did: :class:`RunSummary`, its one-screen text and :class:`PipelineFailed`.

Split out of :mod:`pipelines.flows`, which re-exports every public name here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PipelineFailed", "RunSummary", "format_summary"]


class PipelineFailed(RuntimeError):
    """A run finished with failed steps; ``summary`` holds what was done."""

    def __init__(self, message: str, summary: RunSummary) -> None:
        super().__init__(message)
        self.summary = summary

    def __reduce__(self):  # picklable for Prefect result handling
        return (PipelineFailed, (self.args[0], self.summary))


@dataclass
class RunSummary:
    """What one run did; printed as a one-screen summary by the CLI."""

    flow: str
    as_of: str | None
    store: str
    files: dict[str, int] = field(default_factory=dict)
    rows_added: int = 0
    athletes_total: int = 0
    athletes_changed: int = 0
    athletes_processed: int = 0
    changed_from: str | None = None
    days_scored: int | None = None
    bands: dict[str, int] = field(default_factory=dict)
    report_path: str | None = None
    alerts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # input files rejected by this run, with reasons
    alert_lines: list[str] = field(default_factory=list)  # dry run: what would be sent (URLs masked)
    notes: list[str] = field(default_factory=list)
    steps: dict[str, dict[str, float]] = field(default_factory=dict)
    failed: bool = False
    wall_s: float = 0.0
    exit_code: int | None = None  # of a failure the CLI has its own code for (pipelines.errors), e.g. disk full

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def own_seconds(self) -> float:
        """Seconds spent inside strainwatch's stage functions (per step, capped at the step's wall time)."""
        return sum(min(s.get("own_s", 0.0), s.get("wall_s", 0.0)) for s in self.steps.values())


def format_summary(s: RunSummary) -> str:
    """The one-screen summary printed at the end of every run."""
    lines = [f"strainwatch {s.flow}" + (f" for {s.as_of}" if s.as_of else "") + f"  (store {s.store})"]
    if s.files:
        f = s.files
        lines.append(
            f"  files      {f.get('seen', 0)} seen, {f.get('ingested', 0)} ingested, "
            f"{f.get('unchanged', 0)} unchanged, "
            f"{f.get('duplicate', 0)} duplicate, {f.get('rejected', 0)} rejected"
            + (f", {f['previously_rejected']} rejected earlier" if f.get("previously_rejected") else "")
            + f"; {s.rows_added} new rows"
        )
    lines.append(
        f"  athletes   {s.athletes_total} in store, {s.athletes_changed} with new data"
        + (f" (from {s.changed_from})" if s.changed_from and s.athletes_changed else "")
        + f", {s.athletes_processed} recomputed"
    )
    if s.days_scored is not None:
        lines.append(f"  scored     {s.days_scored} athlete-days")
    if s.bands:
        order = ["high", "moderate", "low", "insufficient_data"]
        parts = [f"{b} {s.bands[b]}" for b in order if b in s.bands] + [
            f"{b} {n}" for b, n in s.bands.items() if b not in order
        ]
        lines.append(f"  flags      {s.as_of}: " + ", ".join(parts))
    if s.report_path:
        lines.append(f"  report     {s.report_path}")
    if s.alerts:
        lines.append("  alerts     " + ", ".join(f"{k} {v}" for k, v in s.alerts.items()))
        for a in s.alert_lines[:8]:
            lines.append(f"    {a}")
        if len(s.alert_lines) > 8:
            lines.append(f"    ... and {len(s.alert_lines) - 8} more lines (strainwatch alert --dry-run)")
    for n in s.notes:
        lines.append(f"  note       {n}")
    steps = ", ".join(f"{k} {v.get('wall_s', 0):.1f} s" for k, v in s.steps.items())
    lines.append(f"  time       {s.wall_s:.1f} s" + (f" ({steps})" if steps else ""))
    if s.rejected:
        lines.append(f"  rejected   {len(s.rejected)} input files:")
        for p in s.rejected[:5]:
            lines.append(f"    - {p}")
        if len(s.rejected) > 5:
            lines.append(f"    ... and {len(s.rejected) - 5} more (see `strainwatch ledger --status rejected`)")
    if s.problems:
        lines.append(f"  problems   {len(s.problems)}:")
        for p in s.problems[:10]:
            lines.append(f"    - {p}")
        if len(s.problems) > 10:
            lines.append(f"    ... and {len(s.problems) - 10} more")
    elif not s.rejected:
        lines.append("  problems   none")
    return "\n".join(lines)
