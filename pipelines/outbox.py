"""The alert outbox: "never twice, never lost" for deload alerts.

Two control tables in the store's ledger database (:meth:`Store.connect`):

``alert_outbox``
    One row per alert, keyed by ``alert_id = sha256("athlete|day|rule")``
    (:func:`reports.alerts.alert_id`). Inserted with ``INSERT ... ON CONFLICT
    DO NOTHING``, so evaluating the same episode again adds nothing. The title
    and body are stored when the alert is first queued: a retry sends the same
    text. ``status`` is ``pending`` (queued, not tried), ``sent`` (every
    target delivered), ``failed`` (some target failed; retried next run),
    ``no_channel`` (no URL configured for the recipient; retried when one is)
    or ``gave_up`` (failed ``max_attempts`` times).
``alert_delivery``
    One row per alert and target URL (``target`` = sha256 of the configured
    URL, so the URL itself - which may hold a token - is never stored). A
    target that already received an alert is not sent it again when another
    target of the same alert is retried. A target is marked ``sending``
    (committed) before each send; a run killed during a send leaves that mark,
    and the next run reports the delivery as ``interrupted`` instead of sending
    again: never twice, and never silently lost.

Everything here is plain SQLite; sending is done by :mod:`pipelines.stage_alert`.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["Outbox", "OutboxRow", "target_key", "RETRYABLE"]

#: Statuses that the next run tries again.
RETRYABLE = ("pending", "failed", "no_channel")

_DDL = (
    """CREATE TABLE IF NOT EXISTS alert_outbox (
        alert_id TEXT PRIMARY KEY,
        recipient TEXT NOT NULL,          -- athlete id, or "coach" for the digest
        athlete_id TEXT,
        day TEXT NOT NULL,                -- key day (start of the episode)
        rule TEXT NOT NULL,
        as_of TEXT NOT NULL,              -- the night that queued it
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT,
        sent_at TEXT)""",
    "CREATE INDEX IF NOT EXISTS alert_outbox_status ON alert_outbox(status)",
    """CREATE TABLE IF NOT EXISTS alert_delivery (
        alert_id TEXT NOT NULL,
        target TEXT NOT NULL,             -- sha256 of the configured URL (never the URL)
        target_label TEXT NOT NULL,       -- masked URL for people
        status TEXT NOT NULL,             -- sent | failed
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        sent_at TEXT,
        PRIMARY KEY (alert_id, target))""",
)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def target_key(url: str) -> str:
    """Stable id of a configured URL: the first 16 hex digits of its sha256."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class OutboxRow:
    alert_id: str
    recipient: str
    athlete_id: str | None
    day: str
    rule: str
    as_of: str
    title: str
    body: str
    status: str
    attempts: int
    last_error: str | None
    created_at: str
    sent_at: str | None


class Outbox:
    """The outbox tables on an open SQLite connection (created on first use)."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        with con:
            for stmt in _DDL:
                con.execute(stmt)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self.con:
            yield self.con

    def enqueue(
        self,
        alert_id: str,
        *,
        recipient: str,
        athlete_id: str | None,
        day: str,
        rule: str,
        as_of: str,
        title: str,
        body: str,
    ) -> bool:
        """Queue an alert; False when ``alert_id`` is already in the outbox (any status)."""
        with self._tx() as con:
            cur = con.execute(
                "INSERT INTO alert_outbox (alert_id, recipient, athlete_id, day, rule, as_of, title, body, "
                "status, attempts, created_at) VALUES (?,?,?,?,?,?,?,?, 'pending', 0, ?) "
                "ON CONFLICT(alert_id) DO NOTHING",
                (alert_id, recipient, athlete_id, day, rule, as_of, title, body, _now()),
            )
            return cur.rowcount == 1

    def get(self, alert_id: str) -> OutboxRow | None:
        row = self.con.execute(
            "SELECT alert_id, recipient, athlete_id, day, rule, as_of, title, body, status, attempts, "
            "last_error, created_at, sent_at FROM alert_outbox WHERE alert_id = ?",
            (alert_id,),
        ).fetchone()
        return OutboxRow(*row) if row else None

    def due(self, max_attempts: int) -> list[OutboxRow]:
        """Rows to (re)try, oldest first: status in :data:`RETRYABLE` and fewer than ``max_attempts`` tries."""
        marks = ",".join("?" * len(RETRYABLE))
        rows = self.con.execute(
            "SELECT alert_id, recipient, athlete_id, day, rule, as_of, title, body, status, attempts, "
            f"last_error, created_at, sent_at FROM alert_outbox WHERE status IN ({marks}) AND attempts < ? "
            "ORDER BY created_at, day, alert_id",
            (*RETRYABLE, max_attempts),
        ).fetchall()
        return [OutboxRow(*r) for r in rows]

    def delivered_targets(self, alert_id: str) -> set[str]:
        """Targets never to send this alert again: delivered, or interrupted mid-send."""
        rows = self.con.execute(
            "SELECT target FROM alert_delivery WHERE alert_id = ? AND status IN ('sent', 'interrupted')", (alert_id,)
        ).fetchall()
        return {r[0] for r in rows}

    def begin_delivery(self, alert_id: str, target: str, label: str) -> None:
        """Mark a target ``sending`` (committed) just before the send.

        A run killed between the send and :meth:`record_delivery` leaves the
        mark behind; the next run finds it with :meth:`interrupted_targets`
        and does not send again, because the message may already have arrived.
        """
        with self._tx() as con:
            con.execute(
                "INSERT INTO alert_delivery (alert_id, target, target_label, status, attempts) "
                "VALUES (?,?,?,'sending',0) ON CONFLICT(alert_id, target) DO UPDATE SET status = 'sending', "
                "target_label = excluded.target_label",
                (alert_id, target, label),
            )

    def interrupted_targets(self, alert_id: str) -> set[str]:
        """Targets whose send was interrupted by a crash (still ``sending``)."""
        rows = self.con.execute(
            "SELECT target FROM alert_delivery WHERE alert_id = ? AND status = 'sending'", (alert_id,)
        ).fetchall()
        return {r[0] for r in rows}

    def mark_interrupted(self, alert_id: str, target: str) -> None:
        """Record that a target's delivery outcome is unknown; it is never re-sent automatically."""
        with self._tx() as con:
            con.execute(
                "UPDATE alert_delivery SET status = 'interrupted', last_error = ? WHERE alert_id = ? AND target = ?",
                ("the run was killed while sending; delivery unknown, not re-sent", alert_id, target),
            )

    def record_delivery(self, alert_id: str, target: str, label: str, ok: bool, error: str | None) -> None:
        with self._tx() as con:
            con.execute(
                "INSERT INTO alert_delivery (alert_id, target, target_label, status, attempts, last_error, sent_at) "
                "VALUES (?,?,?,?,1,?,?) ON CONFLICT(alert_id, target) DO UPDATE SET "
                "status = excluded.status, attempts = alert_delivery.attempts + 1, "
                "last_error = excluded.last_error, sent_at = excluded.sent_at, target_label = excluded.target_label",
                (alert_id, target, label, "sent" if ok else "failed", None if ok else error, _now() if ok else None),
            )

    def finish(self, alert_id: str, status: str, error: str | None = None, *, count_attempt: bool = True) -> None:
        """Set the alert's status after a delivery attempt."""
        with self._tx() as con:
            con.execute(
                "UPDATE alert_outbox SET status = ?, attempts = attempts + ?, last_error = ?, updated_at = ?, "
                "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE alert_id = ?",
                (status, 1 if count_attempt else 0, error, _now(), status, _now(), alert_id),
            )

    def rows(self, status: str | None = None) -> list[OutboxRow]:
        q = (
            "SELECT alert_id, recipient, athlete_id, day, rule, as_of, title, body, status, attempts, "
            "last_error, created_at, sent_at FROM alert_outbox"
        )
        args: tuple = ()
        if status:
            q += " WHERE status = ?"
            args = (status,)
        return [OutboxRow(*r) for r in self.con.execute(q + " ORDER BY created_at, alert_id", args).fetchall()]
