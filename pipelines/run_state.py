"""Run state kept in the store and the plans made from it: dirty marks, the ledger mark, the last
completed night, the parameter and formula fingerprint, quarantine marks and athlete chunks.

See "Incremental" in :mod:`pipelines.flows`, which re-exports every public name here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl

from pipelines.config import Config
from pipelines.store import Store

__all__ = [
    "STATE_DIRTY",
    "STATE_QUARANTINE_SEEN",
    "STATE_LEDGER_SEEN",
    "STATE_AS_OF",
    "STATE_PARAMS",
    "collect_changes",
    "plan_nightly",
    "params_fingerprint",
    "chunked",
    "plan_chunks",
]


STATE_DIRTY = "pipeline.dirty"


STATE_QUARANTINE_SEEN = "pipeline.quarantine_seen"  # last quarantine row whose athlete was recomputed


STATE_LEDGER_SEEN = "pipeline.ledger_seen"


STATE_AS_OF = "pipeline.as_of"


STATE_PARAMS = "pipeline.params"


_DATE_COLS = (("sessions", "local_date"), ("sleep", "wake_date"), ("wellness", "date"))


def collect_changes(store: Store) -> dict[str, str]:
    """Mark athletes dirty from ledger rows not yet consumed; return the dirty map.

    Every ``ingested`` ledger row with an id above ``state['pipeline.ledger_seen']``
    makes its athletes dirty from the earliest date that the file's stored rows
    touch (sessions ``local_date``, sleep ``wake_date``, wellness ``date``). The
    dirty map is saved before the mark moves, so a crash in between only causes
    a recompute, never a lost change.

    Returns
    -------
    dict of str to str
        Athlete id -> earliest changed date (ISO), including older dirty marks.
    """
    dirty: dict[str, str] = json.loads(store.get_state(STATE_DIRTY, "{}") or "{}")
    if not store.ledger_path.exists():
        return dirty
    seen = int(store.get_state(STATE_LEDGER_SEEN, "0") or 0)
    con = store.connect()
    try:
        rows = con.execute(
            "SELECT id, path, athlete_id FROM ledger WHERE id > ? AND status = 'ingested' ORDER BY id", (seen,)
        ).fetchall()
        top = con.execute("SELECT COALESCE(MAX(id), 0) FROM ledger").fetchone()[0]
    finally:
        con.close()
    if top <= seen:
        return dirty
    paths_by_athlete: dict[str, set[str]] = {}
    for _id, path, athletes in rows:
        for a in (athletes or "").split(","):
            if a:
                paths_by_athlete.setdefault(a, set()).add(path)
    for a, paths in paths_by_athlete.items():
        earliest: date | None = None
        for table, col in _DATE_COLS:
            part = store.read_partition(table, a)  # verified: a damaged one is quarantined
            if part is None:
                continue
            d = (
                part.lazy()
                .filter(pl.col("source_file").is_in(sorted(paths)))
                .select(pl.col(col).min())
                .collect()
                .item()
            )
            if d is not None and (earliest is None or d < earliest):
                earliest = d
        if earliest is None:
            continue  # the file's rows were all superseded: nothing of its own is stored
        old = dirty.get(a)
        dirty[a] = min(old, earliest.isoformat()) if old else earliest.isoformat()
    store.set_state(STATE_DIRTY, json.dumps(dirty, sort_keys=True))
    store.set_state(STATE_LEDGER_SEEN, str(top))
    return dirty


def _clear_dirty(store: Store, athletes: Sequence[str], snapshot: dict[str, str]) -> None:
    """Clear dirty marks of ``athletes`` that are unchanged since ``snapshot``."""
    dirty: dict[str, str] = json.loads(store.get_state(STATE_DIRTY, "{}") or "{}")
    for a in athletes:
        if a in dirty and dirty[a] == snapshot.get(a, dirty[a]):
            del dirty[a]
    store.set_state(STATE_DIRTY, json.dumps(dirty, sort_keys=True))


def _bands_on(store: Store, as_of: date) -> dict[str, int]:
    d = store.table_dir("scores")
    if not d.exists() or not any(d.glob("a-*.parquet")):
        return {}
    df = (
        store.read_table("scores", since=as_of, until=as_of).filter(pl.col("date") == as_of).group_by("risk_band").len()
    )
    return {b: int(n) for b, n in df.sort("risk_band").iter_rows()}


def plan_nightly(
    store: Store, cfg: Config, as_of: date, dirty: dict[str, str], all_athletes: list[str], rebuild: Sequence[str] = ()
) -> dict[str, date | None]:
    """Which athletes the night recomputes, and from which day (None: every day).

    * the same ``as_of`` as the last completed night: only dirty athletes, from
      their earliest changed day;
    * a later ``as_of``: every athlete (each calendar grows), from the day after
      the last completed night or the earliest changed day, whichever is first;
    * an earlier ``as_of``, no completed night yet, changed parameters or
      roster overrides (``params_fingerprint``), an athlete without stored
      scores, or one in ``rebuild`` (a derived partition of it was quarantined
      as damaged): from the first day.
    """
    last_s = store.get_state(STATE_AS_OF)
    last = date.fromisoformat(last_s) if last_s else None
    same_params = store.get_state(STATE_PARAMS) == params_fingerprint(cfg)
    scored = set(store.athletes("scores")) - set(rebuild)  # rebuild: a derived partition was quarantined
    plan: dict[str, date | None] = {}
    for a in all_athletes:
        d = date.fromisoformat(dirty[a]) if a in dirty else None
        if last == as_of and a not in dirty and same_params and a in scored:
            continue  # nothing new for this athlete tonight
        if last is None or as_of < last or not same_params or a not in scored:
            plan[a] = None
        else:
            nxt = last + timedelta(days=1) if as_of > last else None
            cands = [x for x in (d, nxt) if x is not None]
            plan[a] = min(cands) if cands else None
    return plan


def params_fingerprint(cfg: Config) -> str:
    """Hash of everything that changes features or scores besides the data (formula versions included)."""
    import hashlib

    from features.version import FEATURES_FORMULA_VERSION
    from models.version import SCORES_FORMULA_VERSION

    blob = json.dumps(
        {
            "features": cfg.features.params,
            "scorer": cfg.scorer.params,
            "model": str(cfg.scorer.model_path) if cfg.scorer.model_path else None,
            "athletes": cfg.athlete_overrides(),
            "formulas": {"features": FEATURES_FORMULA_VERSION, "scores": SCORES_FORMULA_VERSION},
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _quarantine_mark(store: Store) -> int:
    """Id of the last ``quarantine`` row (partitions found damaged before this run)."""
    try:
        rows = store.quarantine_log()
    except Exception:  # noqa: BLE001 - a damaged ledger is reported by the steps that need it
        return 0
    return rows[-1]["id"] if rows else 0


def _derived_quarantined(store: Store, after_id: int) -> tuple[set[str], int]:
    """Athletes with a ``daily``/``features``/``scores`` partition quarantined after ``after_id``
    (recomputed from their first day), and the last quarantine id."""
    try:
        rows = store.quarantine_log(after_id)
    except Exception:  # noqa: BLE001
        return set(), after_id
    return (
        {r["athlete_id"] for r in rows if r["table_name"] in ("daily", "features", "scores")},
        rows[-1]["id"] if rows else after_id,
    )


def chunked(items: Sequence[str], size: int) -> list[list[str]]:
    """Split ``items`` into consecutive chunks of at most ``size``."""
    if size < 1:
        raise ValueError(f"chunk size must be >= 1, got {size}")
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def plan_chunks(since_by_athlete: dict[str, date | None], size: int) -> tuple[list[list[str]], list[date | None]]:
    """Chunks of at most ``size`` athletes, grouped by how far back they must be recomputed.

    Athletes to recompute in full (``None``) come first, then by their first
    changed day, so that a chunk's ``since`` (the earliest of its athletes) does
    not drag many athletes far back.
    """
    order = sorted(
        since_by_athlete, key=lambda a: (since_by_athlete[a] is not None, since_by_athlete[a] or date.min, a)
    )
    chunks = chunked(order, size)
    sinces: list[date | None] = []
    for c in chunks:
        vals = [since_by_athlete[a] for a in c]
        sinces.append(None if any(v is None for v in vals) else min(vals))  # type: ignore[type-var]
    return chunks, sinces
