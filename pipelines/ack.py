"""Close the loop: a coach acknowledges an alert or records a plan change.

``strainwatch ack ATHLETE --note "..." [--plan-changed]`` appends a row to the
``alert_ack`` table of the store's ledger database; the next weekly report
shows it under the athlete (and the latest one in the team table), next to
the alerts that went out that week (:func:`sent_alerts` reads the outbox).

Rows are only ever appended: nothing already stored is changed or lost.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timezone

from pipelines.store import Store

__all__ = ["Ack", "record_ack", "read_acks", "sent_alerts", "KINDS"]

KINDS = ("ack", "plan_changed")

_DDL = """CREATE TABLE IF NOT EXISTS alert_ack (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    athlete_id TEXT NOT NULL,
    at TEXT NOT NULL,                 -- day the coach acted (YYYY-MM-DD)
    kind TEXT NOT NULL,               -- ack | plan_changed
    note TEXT NOT NULL DEFAULT '',
    by TEXT NOT NULL DEFAULT '',
    alert_id TEXT,                    -- the acknowledged alert (latest of the athlete), if any
    created_at TEXT NOT NULL)"""


@dataclass(frozen=True)
class Ack:
    athlete_id: str
    at: date
    kind: str
    note: str
    by: str
    alert_id: str | None


def record_ack(
    store: Store,
    athlete_id: str,
    *,
    note: str = "",
    kind: str = "ack",
    by: str = "",
    at: date | None = None,
    now: datetime | None = None,
) -> Ack:
    """Append an acknowledgement for ``athlete_id`` and return it.

    It refers to the athlete's latest queued alert when there is one
    (``alert_id``), but an acknowledgement without an alert (a plan change
    after reading the report) is fine too.

    Raises
    ------
    ValueError
        Unknown ``kind`` or an empty athlete id.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if not athlete_id or not athlete_id.strip():
        raise ValueError("athlete id must not be empty")
    now = now or datetime.now(timezone.utc)
    at = at or now.date()
    with store.lock():
        con = store.connect()
        try:
            con.execute(_DDL)
            alert = None
            if _has_table(con, "alert_outbox"):
                r = con.execute(
                    "SELECT alert_id FROM alert_outbox WHERE athlete_id = ? ORDER BY as_of DESC, day DESC LIMIT 1",
                    (athlete_id,),
                ).fetchone()
                alert = r[0] if r else None
            con.execute(
                "INSERT INTO alert_ack (athlete_id, at, kind, note, by, alert_id, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (athlete_id, at.isoformat(), kind, note.strip(), by.strip(), alert, now.isoformat(timespec="seconds")),
            )
            con.commit()
        finally:
            con.close()
    return Ack(athlete_id, at, kind, note.strip(), by.strip(), alert)


def _has_table(con: sqlite3.Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None


def _ro(store: Store) -> sqlite3.Connection | None:
    if not store.ledger_path.exists():
        return None
    return sqlite3.connect(f"file:{store.ledger_path}?mode=ro", uri=True, timeout=60)


def read_acks(store: Store, start: date, end: date) -> list[dict]:
    """Acknowledgements dated ``start`` .. ``end`` as dicts (``athlete_id``, ``at``, ``kind``, ``note``, ``by``)."""
    con = _ro(store)
    if con is None:
        return []
    try:
        if not _has_table(con, "alert_ack"):
            return []
        rows = con.execute(
            "SELECT athlete_id, at, kind, note, by, alert_id FROM alert_ack WHERE at BETWEEN ? AND ? ORDER BY at, id",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
    finally:
        con.close()
    return [
        {"athlete_id": a, "at": date.fromisoformat(d), "kind": k, "note": n, "by": b, "alert_id": al}
        for a, d, k, n, b, al in rows
    ]


def sent_alerts(store: Store, start: date, end: date) -> list[dict]:
    """Athlete alerts queued for the nights ``start`` .. ``end`` (``athlete_id``, ``rule``, ``day``, ``status``).

    ``status`` is the outbox status (``sent``, ``failed``, ``no_channel``, ...);
    the coach digest is not listed.
    """
    con = _ro(store)
    if con is None:
        return []
    try:
        if not _has_table(con, "alert_outbox"):
            return []
        rows = con.execute(
            "SELECT athlete_id, rule, day, status FROM alert_outbox WHERE athlete_id IS NOT NULL "
            "AND as_of BETWEEN ? AND ? ORDER BY day, athlete_id",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
    finally:
        con.close()
    return [{"athlete_id": a, "rule": r, "day": d, "status": s} for a, r, d, s in rows]
