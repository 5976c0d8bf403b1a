"""The embedded store: Parquet tables partitioned by athlete, plus an SQLite ledger.

Layout of a store directory (default ``./strainwatch-data``)::

    tables/<table>/<athlete-key>.parquet   one file per athlete and table
    tables/<table>/<athlete-key>.parquet.sha256   its checksum and row count (JSON)
    ledger.sqlite                          ledger of input files, plus control tables
    .lock                                  writer lock (one writer at a time)
    tmp/                                   scratch (zip members), emptied by writers
    quarantine/<table>/                    damaged partitions moved aside (never deleted)

Guarantees
----------
* Inputs are never modified or deleted: the store only reads them.
* Every Parquet write goes to a temporary file in the same directory, is fsynced
  and renamed over the old file (``os.replace``), so a process killed at any
  moment leaves each partition either old or new, never half written.
* Data are written before the ledger rows that describe them. A run killed
  between the two re-reads those files next time; the upsert on the table keys
  makes that idempotent.
* Damage is detected and confined: each partition's SHA-256 is recorded at write
  (before the rename, with the previous one, so a kill in between still verifies)
  and checked on every read, with the plausibility limits of ingest applied again;
  a damaged partition is quarantined (:meth:`Store.quarantine`) and reads as
  absent, so other athletes go on (docs/operations.md section 7).
* One writer at a time: :meth:`Store.lock` takes an exclusive ``flock``; a
  second writer waits up to a timeout and then fails with :class:`StoreLockedError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import polars as pl

from features.schemas import TABLES, TableSchema, conform
from pipelines.atomic import atomic_write_bytes, fsync_dir
from pipelines.errors import EXIT_LOCKED, StrainwatchError, ledger_corrupt, translate

__all__ = [
    "Store",
    "StoreError",
    "StoreLockedError",
    "LedgerEntry",
    "file_sha256",
    "DEFAULT_STORE",
    "PartitionDamaged",
    "checksum_path",
]

log = logging.getLogger("strainwatch.store")

#: Canonical tables (rows from input files); the others are derived from them and rebuilt.
CANONICAL_TABLES = ("sessions", "sleep", "wellness")

QUARANTINE_DDL = """CREATE TABLE IF NOT EXISTS quarantine (
    id INTEGER PRIMARY KEY AUTOINCREMENT, table_name TEXT NOT NULL, athlete_id TEXT, path TEXT NOT NULL,
    moved_to TEXT NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL)"""
REBUILDS_DDL = """CREATE TABLE IF NOT EXISTS rebuilds (
    id INTEGER PRIMARY KEY AUTOINCREMENT, athlete_id TEXT NOT NULL, ledger_id INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, at TEXT NOT NULL)"""

DEFAULT_STORE = Path("strainwatch-data")

#: The date column of each table, used by :meth:`Store.read_table`'s ``since``/``until``.
DATE_COLUMNS: dict[str, str] = {
    "sessions": "local_date",
    "sleep": "wake_date",
    "wellness": "date",
    "injuries": "date",
    "daily": "date",
    "features": "date",
    "scores": "date",
}

LEDGER_COLUMNS = (
    "path",
    "size_bytes",
    "sha256",
    "format",
    "athlete_id",
    "status",
    "rows_sessions",
    "rows_sleep",
    "rows_wellness",
    "rows_added",
    "skipped_rows",
    "error",
    "warnings",
    "ingested_at",
    "run_id",
)


class StoreError(StrainwatchError, RuntimeError):
    """The store cannot be used (corrupt, unwritable, wrong layout)."""


class StoreLockedError(StoreError):
    """Another strainwatch process holds the store's writer lock."""

    exit_code = EXIT_LOCKED


@dataclass
class LedgerEntry:
    """One row of the ledger: what happened to one input file."""

    path: str
    size_bytes: int
    sha256: str
    format: str | None
    athlete_id: str | None
    status: str  # "ingested" | "rejected" | "duplicate"
    rows_sessions: int = 0
    rows_sleep: int = 0
    rows_wellness: int = 0
    rows_added: int = 0
    skipped_rows: int = 0
    error: str | None = None
    warnings: tuple[str, ...] = ()
    ingested_at: str = ""
    run_id: str = ""

    def as_row(self) -> tuple:
        return (
            self.path,
            self.size_bytes,
            self.sha256,
            self.format,
            self.athlete_id,
            self.status,
            self.rows_sessions,
            self.rows_sleep,
            self.rows_wellness,
            self.rows_added,
            self.skipped_rows,
            self.error,
            json.dumps(list(self.warnings)) if self.warnings else None,
            self.ingested_at or datetime.now(timezone.utc).isoformat(timespec="seconds"),
            self.run_id,
        )


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


#: Longest partition key [bytes]: the file name adds ``.parquet`` and, while it is written, a
#: temporary ``.<name>.<32 hex>.tmp`` (46 bytes more); file systems allow 255 bytes per name.
MAX_KEY_BYTES = 200


def _athlete_key(athlete_id: str) -> str:
    """File-name stem of an athlete's partitions: ``a-`` + the percent-encoded id.

    An id whose encoding is longer than :data:`MAX_KEY_BYTES` (246+ ASCII or 28+
    CJK characters) keeps its first 150 encoded bytes plus ``+`` and 32 hex
    digits of its SHA-256 (``+`` never occurs in an encoded id, so the two kinds
    cannot collide); the full id is read back from the file's ``athlete_id``.
    """
    key = "a-" + quote(athlete_id, safe="")
    if len(key) <= MAX_KEY_BYTES:
        return key
    head = key[:152]
    if "%" in head[-2:]:  # do not cut an escape in two
        head = head[: head.rindex("%")]
    return head + "+" + hashlib.sha256(athlete_id.encode()).hexdigest()[:32]


def _athlete_from_key(stem: str, path: Path | None = None) -> str:
    if "+" in stem and path is not None:  # a hashed long id: the file holds it
        try:
            got = pl.scan_parquet(path).select(pl.col("athlete_id").first()).collect().item()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:  # noqa: BLE001 - a damaged file (even a polars panic): the reader reports it
            got = None
        if got is not None:
            return str(got)
    return unquote(stem[2:])


def repair_advice(table: str, athlete: str | None = None) -> str:
    """What to do about a damaged partition of ``table``: derived tables are rebuilt by the next run
    from the canonical ones; a canonical table's athlete reads its inputs again."""
    if table not in CANONICAL_TABLES:
        return "it is rebuilt from the canonical tables by the next `strainwatch run`"
    return f"run `strainwatch ingest --rebuild {athlete or 'ATHLETE'}` with the inputs, or restore it from a backup"


def checksum_path(path: Path) -> Path:
    """The checksum file next to a partition: ``<name>.parquet.sha256``."""
    return path.with_name(path.name + ".sha256")


def _read_checksum(path: Path) -> dict | None:
    """The recorded checksum of a partition (None when the partition has none: written by an old version)."""
    try:
        return json.loads(checksum_path(path).read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"sha256": "unreadable checksum file"}


def atomic_write_parquet(df: pl.DataFrame, path: Path, *, sync_dir: bool = True) -> None:
    """Write ``df`` as Parquet atomically (temporary file, fsync, rename), with its checksum.

    The SHA-256 of the file's bytes and its row count go to
    ``<name>.parquet.sha256`` *before* the rename, together with the previous
    file's checksum: a process killed between the two leaves the old file,
    which the previous checksum still vouches for. Readers verify it
    (:meth:`Store.read_partition`). The folder is fsynced after both renames, so
    that they survive a power cut before the caller ledgers the write;
    ``sync_dir=False`` leaves that to a caller writing many partitions of one
    folder (one fsync of the folder after the batch, :meth:`Store.upsert`).
    """
    import io

    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd", statistics=True)
    data = buf.getvalue()
    old = _read_checksum(path) if path.exists() else None
    record = {
        "sha256": hashlib.sha256(data).hexdigest(),
        "rows": df.height,
        "previous": {k: old.get(k) for k in ("sha256", "rows")} if old else None,
    }
    atomic_write_bytes(
        path,
        data,
        # the checksum is in place before the partition's rename (the previous one vouches for the old file)
        before_rename=lambda: atomic_write_bytes(checksum_path(path), json.dumps(record).encode(), sync_dir=False),
        sync_dir=sync_dir,
    )


def _remove_partition(path: Path) -> None:
    path.unlink(missing_ok=True)
    checksum_path(path).unlink(missing_ok=True)


class PartitionDamaged(Exception):
    """A partition file failed its checksum, could not be parsed or holds implausible values."""


def _implausible(table: str, df: pl.DataFrame) -> str | None:
    """The plausibility limits of ingest (:data:`connectors.base.PLAUSIBLE`), applied again on read."""
    from connectors.base import PLAUSIBLE, PLAUSIBLE_YEARS

    checks = []
    for col, (lo, hi) in PLAUSIBLE.get(table, {}).items():
        if col in df.columns and df.schema[col].is_numeric():
            v = pl.col(col).cast(pl.Float64)
            checks.append((col, v.is_not_null() & (v.is_nan() | (v < lo) | (v > hi))))
    ylo, yhi = PLAUSIBLE_YEARS
    for col, dt in df.schema.items():
        if dt == pl.Date or isinstance(dt, pl.Datetime):
            y = pl.col(col).dt.year()
            checks.append((col, y.is_not_null() & ((y < ylo) | (y > yhi))))
    if not checks:
        return None
    hits = df.select([e.any().alias(c) for c, e in checks]).row(0)
    bad = [c for (c, _), h in zip(checks, hits, strict=True) if h]
    return f"implausible values in {', '.join(bad)}" if bad else None


#: Threads of :func:`_each_partition` for partition writes. Each write ends with two fsyncs (the
#: file, then its checksum file) that mostly wait for the disk's journal; concurrent fsyncs share
#: journal commits, so more threads than cores pay: 200 features partitions written in 2.9 s on 4
#: threads, 2.2 s on 16, 1.7 s on 32 (1.3-1.45 s CPU each; 2 cores, load average ~12), and 400 bare
#: 60 kB fsynced files took 2.3-3.1 s one by one, 0.53 s on 4 threads, 0.25 s on 16.
WRITE_THREADS = 16
#: Threads of :func:`_each_partition` for verified reads (hashing and decoding: CPU, not waiting).
READ_THREADS = 4


def _each_partition(fn: Callable[[Any], Any], items: Sequence[Any], threads: int = WRITE_THREADS) -> list[Any]:
    """``[fn(x) for x in items]``, on up to ``threads`` threads when there are several partitions.

    Each call reads, merges and atomically writes one athlete's partition file;
    polars and the file system release the GIL (Parquet encoding, fsync), so
    a night touching 30 athletes writes in about half the time on 2 cores,
    and a backfill's fsyncs overlap (:data:`WRITE_THREADS`).
    Every call runs to its end before the first error is raised, and each
    partition is written atomically, so a failure leaves every file either
    old or new, as the sequential loop did.
    """
    if len(items) < 4:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=min(threads, len(items)), thread_name_prefix="store-write") as ex:
        futures = [ex.submit(fn, x) for x in items]
    return [f.result() for f in futures]


def _last_per_key_sorted(df: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """``df.unique(subset=key, keep="last", maintain_order=True).sort(key)``, by one stable sort.

    After a stable sort on ``key`` the rows of one key are adjacent and in their input order, so the
    last of each run is the row ``unique(keep="last")`` keeps; the unique keys then leave no freedom
    to the order. Nulls in a key compare equal, as in ``unique``. 1.5-1.9x faster on a backfill batch.
    """
    if df.height < 2:
        return df
    srt = df.sort(key, maintain_order=True)
    differs = pl.any_horizontal([pl.col(k).ne_missing(pl.col(k).shift(-1)) for k in key])
    return srt.filter(differs | (pl.int_range(pl.len()) == pl.len() - 1))


class Store:
    """A strainwatch data directory.

    Parameters
    ----------
    root : str or Path
        The data directory; created on first write.
    """

    def __init__(self, root: str | Path = DEFAULT_STORE) -> None:
        self.root = Path(root)
        self._lock_fh: int | None = None
        self._lock_depth = 0
        #: (table, athlete, path, moved to, reason) of partitions quarantined through this object
        self.quarantined: list[tuple[str, str, str, str, str]] = []

    # ------------------------------------------------------------------ paths
    @property
    def tables_dir(self) -> Path:
        return self.root / "tables"

    @property
    def ledger_path(self) -> Path:
        return self.root / "ledger.sqlite"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def table_dir(self, table: str) -> Path:
        return self.tables_dir / table

    def partition_path(self, table: str, athlete_id: str) -> Path:
        return self.table_dir(table) / f"{_athlete_key(athlete_id)}.parquet"

    def exists(self) -> bool:
        return self.ledger_path.exists() or self.tables_dir.exists()

    # ------------------------------------------------------------------ lock
    @contextlib.contextmanager
    def lock(self, timeout_s: float = 30.0, poll_s: float = 0.2) -> Iterator[None]:
        """Hold the exclusive writer lock for the duration of the block.

        Re-entrant within one :class:`Store` object. Waits up to ``timeout_s``
        seconds for another process to finish, then raises
        :class:`StoreLockedError` naming the holder's pid.
        """
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise StoreLockedError(
                        f"store {self.root} is in use by another strainwatch process "
                        f"(pid {holder}); waited {timeout_s:.0f} s. Try again when it has finished."
                    ) from None
                time.sleep(poll_s)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fh = fd
        self._lock_depth = 1
        self._remove_stale_temp_files()
        try:
            yield
        finally:
            self._lock_depth = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            self._lock_fh = None

    def _remove_stale_temp_files(self) -> None:
        """Remove temporary files left by a writer that was killed mid-write.

        Only called with the writer lock held, so no live writer owns them.
        """
        if self.tables_dir.exists():
            for tmp in self.tables_dir.rglob(".*.tmp"):
                tmp.unlink(missing_ok=True)

    # ------------------------------------------------------------------ tables
    def athletes(self, table: str) -> list[str]:
        d = self.table_dir(table)
        if not d.exists():
            return []
        return sorted(_athlete_from_key(p.stem, p) for p in d.glob("a-*.parquet"))

    def all_athletes(self) -> list[str]:
        ids: set[str] = set()
        for t in ("sessions", "sleep", "wellness"):
            ids.update(self.athletes(t))
        return sorted(ids)

    def read_table(
        self,
        table: str,
        athletes: Iterable[str] | None = None,
        *,
        since: date | Mapping[str, date] | None = None,
        until: date | None = None,
    ) -> pl.DataFrame:
        """Read a table (all athletes, or only ``athletes``), conformed to its schema.

        Parameters
        ----------
        table : str
            A table of :data:`features.schemas.TABLES`.
        athletes : iterable of str, optional
            Only these athletes' partitions (default: all).
        since : datetime.date or mapping of athlete_id to date, optional
            Keep only rows whose date (:data:`DATE_COLUMNS`: ``local_date``
            for sessions, ``wake_date`` for sleep, ``date`` otherwise) is on or
            after it (per athlete with a mapping; athletes missing from the
            mapping are read in full). Each partition is read whole (its
            checksum covers the file) and filtered before the rows are
            conformed. Rows with a null date are kept (they cannot be placed
            before or after).
        until : datetime.date, optional
            Keep only rows on or before it (nulls kept, as above).
        """
        schema = TABLES[table]
        if athletes is None:
            paths = sorted(self.table_dir(table).glob("a-*.parquet")) if self.table_dir(table).exists() else []
        else:
            paths = [p for a in athletes if (p := self.partition_path(table, a)).exists()]
        if not paths:
            return schema.empty()
        col = DATE_COLUMNS[table]

        def window(p: Path, df: pl.DataFrame) -> pl.DataFrame:
            lo = since.get(_athlete_from_key(p.stem, p)) if isinstance(since, Mapping) else since
            if lo is None and until is None:
                return df
            cond = pl.lit(True)
            if lo is not None:
                cond = cond & (pl.col(col) >= lo)
            if until is not None:
                cond = cond & (pl.col(col) <= until)
            return df.filter(pl.col(col).is_null() | cond)

        frames = [
            window(p, f) for p, f in zip(paths, self._read_many_verified(table, paths), strict=True) if f is not None
        ]
        if not frames:
            return schema.empty()
        df = pl.concat([conform(f, schema) for f in frames], how="diagonal_relaxed")
        return conform(df, schema)

    #: Partitions whose plausibility limits are checked together by :meth:`_read_many_verified`.
    PLAUSIBLE_CHUNK = 64

    def _read_many_verified(self, table: str, paths: Sequence[Path]) -> list[pl.DataFrame | None]:
        """:meth:`_read_verified` of each path, in order, with the same checks and quarantine.

        Checksums are verified and files decoded on :data:`READ_THREADS` threads (hashing and
        Parquet decoding release the GIL); the plausibility limits, whose
        per-call cost dominates a small partition, are applied to up to
        :data:`PLAUSIBLE_CHUNK` partitions of one schema at a time: a value out of
        limits in the concatenation is a value out of limits in one of them, so
        when a chunk fails, each of its partitions is read again alone by
        :meth:`_read_verified`, which quarantines the damaged ones exactly as a
        single read does (a file replaced by a writer meanwhile is read anew).
        """
        if len(paths) < 2:
            return [self._read_verified(table, p) for p in paths]

        def parsed(p: Path) -> pl.DataFrame | None:
            for _ in range(3):
                try:
                    return self._load_checked(table, p, values=False)
                except FileNotFoundError:
                    return None
                except PartitionDamaged as err:
                    if self.quarantine(table, p, err.args[0], expect_ino=err.args[1] if len(err.args) > 1 else None):
                        return None
            return None

        out = _each_partition(parsed, list(paths), threads=READ_THREADS)
        groups: dict[tuple, list[int]] = {}
        for i, df in enumerate(out):
            if df is not None:
                groups.setdefault(tuple(df.schema.items()), []).append(i)
        for idx in groups.values():
            for k in range(0, len(idx), self.PLAUSIBLE_CHUNK):
                chunk = idx[k : k + self.PLAUSIBLE_CHUNK]
                frames = [out[i] for i in chunk]
                if _implausible(table, pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]) is None:
                    continue
                for i in chunk:  # the rare damaged chunk: each partition through the single read
                    out[i] = self._read_verified(table, paths[i])
        return out

    # ------------------------------------------------------------------ integrity
    def read_partition(self, table: str, athlete_id: str) -> pl.DataFrame | None:
        """One athlete's partition as stored (its own schema), verified; None when absent or damaged.

        A damaged partition (checksum mismatch, unreadable Parquet, values
        outside the plausibility limits) is quarantined
        (:meth:`quarantine`) and reads as absent, so the other athletes go on.
        """
        path = self.partition_path(table, athlete_id)
        return self._read_verified(table, path) if path.exists() else None

    def check_partition(self, table: str, path: Path, *, parse: bool = True) -> str | None:
        """Why the partition file at ``path`` is damaged, or None when it is sound.

        Compares the SHA-256 of its bytes with the checksum recorded when it was
        written (or the previous one, for a writer killed between the two), then
        (``parse``) decodes it and applies the plausibility limits again.
        """
        try:
            self._load_checked(table, path, parse=parse)
        except PartitionDamaged as err:
            return str(err.args[0])
        return None

    def _load_checked(self, table: str, path: Path, *, parse: bool = True, values: bool = True) -> pl.DataFrame | None:
        """The verified frame of the partition at ``path`` (None without ``parse``); raises :class:`PartitionDamaged`.

        ``values=False`` leaves the plausibility limits to the caller (:meth:`_read_many_verified`).
        """
        import io

        ino = None
        for attempt in (0, 1):  # a concurrent writer may replace file and checksum between our two reads
            with open(path, "rb") as fh:
                ino = os.fstat(fh.fileno()).st_ino
                data = fh.read()
            rec = _read_checksum(path)
            if rec is None:
                break  # written before checksums: parsed and checked below
            digest = hashlib.sha256(data).hexdigest()
            prev = rec.get("previous") or {}
            if digest in (rec.get("sha256"), prev.get("sha256")):
                break
            if attempt:
                raise PartitionDamaged(
                    f"checksum mismatch: file has sha256 {digest[:16]}..., "
                    f"{checksum_path(path).name} says {str(rec.get('sha256'))[:16]}...",
                    ino,
                )
            time.sleep(0.05)
        if not parse:
            return None
        try:
            df = pl.read_parquet(io.BytesIO(data))
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as err:  # noqa: BLE001 - any decoder error is damage; polars' Rust panics
            # (pyo3 PanicException, seen on bit-flipped files) derive from BaseException, not Exception
            msg = str(err).splitlines()[0][:200] if str(err) else ""
            raise PartitionDamaged(f"not readable as Parquet: {type(err).__name__}: {msg}", ino) from None
        why = _implausible(table, df) if values else None
        if why:
            raise PartitionDamaged(why, ino)
        return df

    def _read_verified(self, table: str, path: Path) -> pl.DataFrame | None:
        for _ in range(3):
            try:
                return self._load_checked(table, path)
            except FileNotFoundError:
                return None
            except PartitionDamaged as err:
                if self.quarantine(table, path, err.args[0], expect_ino=err.args[1] if len(err.args) > 1 else None):
                    return None
                # a writer replaced the file meanwhile: read the new one
        return None

    @property
    def quarantine_dir(self) -> Path:
        return self.root / "quarantine"

    def quarantine(
        self, table: str, path: Path, reason: str, *, damaged: bool = True, expect_ino: int | None = None
    ) -> Path | None:
        """Move a damaged partition (and its checksum file) to ``<store>/quarantine/<table>/``.

        Recorded in the ``quarantine`` table of the ledger database and logged
        with both paths. ``expect_ino``: the inode that was read and found
        damaged; when the path holds another file by now (a writer replaced
        it), nothing is moved and None is returned. Derived tables are rebuilt by the next run (an athlete
        without features or scores is recomputed in full); canonical tables
        need ``strainwatch ingest --rebuild ATHLETE``.
        """
        athlete = _athlete_from_key(path.stem, path)
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        dest = self.quarantine_dir / table / f"{path.name}.{stamp}-{uuid.uuid4().hex[:6]}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            if expect_ino is not None and os.stat(path).st_ino != expect_ino:
                return None  # replaced by a writer since it was read: not the damaged file any more
            os.replace(path, dest)
        except FileNotFoundError:
            return dest  # another reader moved it already
        side = checksum_path(path)
        if side.exists():
            os.replace(side, dest.with_name(dest.name + ".sha256"))
        if not damaged:  # moved aside on purpose (ingest --rebuild): kept, not reported as damage
            log.info("partition %s moved to %s: %s", path, dest, reason)
            return dest
        log.error("damaged partition %s (%s) moved to %s; %s", path, reason, dest, repair_advice(table, athlete))
        self.quarantined.append((table, athlete, str(path), str(dest), reason))
        try:
            con = self.connect()
            try:
                with con:
                    con.execute(QUARANTINE_DDL)
                    con.execute(
                        "INSERT INTO quarantine (table_name, athlete_id, path, moved_to, reason, at) "
                        "VALUES (?,?,?,?,?,?)",
                        (
                            table,
                            athlete,
                            str(path),
                            str(dest),
                            reason,
                            datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        ),
                    )
            finally:
                con.close()
        except sqlite3.Error:  # a damaged ledger: the log line and the moved file remain
            pass
        return dest

    def quarantine_log(self, after_id: int = 0) -> list[dict]:
        """Rows of the ``quarantine`` table with ``id > after_id``, oldest first."""
        if not self.ledger_path.exists():
            return []
        con = self.connect()
        try:
            con.execute(QUARANTINE_DDL)
            cur = con.execute(
                "SELECT id, table_name, athlete_id, path, moved_to, reason, at FROM quarantine "
                "WHERE id > ? ORDER BY id",
                (after_id,),
            )
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()

    def verify_partitions(
        self, tables: Sequence[str] | None = None, *, parse: bool = True, quarantine: bool = True
    ) -> list[tuple[str, str, str]]:
        """Check every partition file: (table, path, reason) of each damaged one.

        ``quarantine``: move the damaged ones aside (:meth:`quarantine`).
        ``parse=False`` only compares checksums (what the nightly run does
        before planning: cheap, and finds bit flips of derived tables before
        they are trusted).
        """
        out = []
        for table in tables or tuple(TABLES):
            d = self.table_dir(table)
            if not d.exists():
                continue
            paths = sorted(d.glob("a-*.parquet"))

            def check(p: Path, table: str = table) -> str | None:
                try:
                    return self.check_partition(table, p, parse=parse)
                except FileNotFoundError:
                    return None

            # checked on threads (hashing releases the GIL), then reported and quarantined in order
            for p, why in zip(paths, _each_partition(check, paths, threads=READ_THREADS), strict=True):
                if why:
                    out.append((table, str(p), why))
                    if quarantine:
                        self.quarantine(table, p, why)
        return out

    def write_partition(self, table: str, athlete_id: str, df: pl.DataFrame, *, sync_dir: bool = True) -> None:
        """Replace one athlete's partition of ``table`` (atomic; ``sync_dir``: see :func:`atomic_write_parquet`)."""
        schema = TABLES[table]
        df = conform(df, schema)
        if schema.key and df.height:
            df = df.sort(list(schema.key))
        self._write_ready(table, athlete_id, df, sync_dir=sync_dir)

    def _write_ready(self, table: str, athlete_id: str, df: pl.DataFrame, *, sync_dir: bool = True) -> None:
        """:meth:`write_partition` of a frame already conformed and sorted by the table's key."""
        path = self.partition_path(table, athlete_id)
        if df.is_empty():
            _remove_partition(path)
            if sync_dir:
                self._sync_dir(table)
            return
        atomic_write_parquet(df, path, sync_dir=sync_dir)

    def _sync_dir(self, table: str) -> None:
        """fsync the folder of ``table``'s partitions: the renames and removals of a batch are durable."""
        d = self.table_dir(table)
        if d.is_dir():
            fsync_dir(d)

    def replace_athletes(self, table: str, df: pl.DataFrame, athletes: Sequence[str] | None = None) -> None:
        """Replace whole partitions of a derived table (``daily``, ``features``, ``scores``).

        Every athlete in ``athletes`` (default: those in ``df``) gets exactly the
        rows of ``df`` for that athlete; other athletes are untouched.
        """
        schema = TABLES[table]
        df = conform(df, schema)
        if athletes is None:
            athletes = df["athlete_id"].unique().sort().to_list()
        # one sort of the whole frame (partition_by keeps the order) instead of one per partition
        if schema.key and df.height:
            df = df.sort(list(schema.key))
        parts = {k[0]: v for k, v in df.partition_by("athlete_id", as_dict=True).items()} if df.height else {}
        del df
        empty = schema.empty()
        _each_partition(lambda a: self._write_ready(table, a, parts.get(a, empty), sync_dir=False), list(athletes))
        self._sync_dir(table)

    def splice_athletes(
        self,
        table: str,
        df: pl.DataFrame,
        since: Mapping[str, date],
        athletes: Sequence[str] | None = None,
        *,
        stored: Mapping[str, pl.DataFrame] | None = None,
    ) -> None:
        """Replace the rows from ``since[a]`` on of derived partitions, keeping the stored rows before it.

        For every athlete in ``athletes`` (default: those in ``since``) the new
        partition is the stored rows dated before ``since[a]``, as read
        (re-conformed only when the stored file's schema differs from the
        table's), followed by the rows of ``df`` for that athlete dated on or
        after ``since[a]`` (rows of ``df`` before it are ignored). Athletes
        without stored rows get just their new rows. Each partition is
        written atomically, like :meth:`replace_athletes`.

        Parameters
        ----------
        stored : mapping of athlete_id to polars.DataFrame, optional
            The athlete's partition as the caller already read it (all its
            rows before ``since[a]`` at least, with the file's own schema),
            so that it is not read twice.
        """
        schema = TABLES[table]
        col = DATE_COLUMNS[table]
        df = conform(df, schema)
        if athletes is None:
            athletes = sorted(since)
        if schema.key and df.height:
            df = df.sort(list(schema.key))
        parts = {k[0]: v for k, v in df.partition_by("athlete_id", as_dict=True).items()} if df.height else {}
        empty = schema.empty()

        def one(a: str) -> None:
            lo = since[a]
            new = parts.get(a)
            if new is None:
                new = empty
            new = new.filter(pl.col(col) >= lo)
            path = self.partition_path(table, a)
            if stored is not None and a in stored:
                old = stored[a].filter(pl.col(col) < lo)
            else:
                old = self.read_partition(table, a)
                old = old.filter(pl.col(col) < lo) if old is not None else None
            if old is None or old.is_empty():
                out = new
            elif old.schema == new.schema:
                out = pl.concat([old, new], how="vertical")
            else:
                out = conform(pl.concat([conform(old, schema), new], how="diagonal_relaxed"), schema)
            if out.is_empty():
                _remove_partition(path)
                return
            atomic_write_parquet(out, path, sync_dir=False)

        _each_partition(one, list(athletes))
        self._sync_dir(table)

    def upsert(
        self,
        table: str,
        df: pl.DataFrame,
        *,
        stored: Mapping[str, pl.DataFrame | None] | None = None,
        written: Callable[[str, pl.DataFrame], None] | None = None,
    ) -> dict[str, int]:
        """Insert or replace rows of a canonical table on its key; the new row wins.

        Parameters
        ----------
        stored : mapping of athlete_id to polars.DataFrame or None, optional
            Partitions the caller has just read with :meth:`read_partition`
            (None: absent or damaged), so that they are not read (and
            hashed) twice; athletes missing from it are read here.
        written : callable, optional
            ``written(athlete_id, frame)`` with each partition's new rows
            (before :meth:`write_partition` conforms and sorts them), once it
            is written. Called from the writer threads.

        Returns
        -------
        dict of str to int
            New (previously absent) keys per ``source_file``.
        """
        schema: TableSchema = TABLES[table]
        df = conform(df, schema)
        if df.is_empty():
            return {}
        key = list(schema.key)

        def one(item: tuple[tuple[Any, ...], pl.DataFrame]) -> list[tuple[str, int]]:
            (athlete,), new = item
            if stored is not None and athlete in stored:
                stored_part = stored[athlete]
            else:
                stored_part = self.read_partition(table, athlete)
            if stored_part is None or stored_part.is_empty():
                # a new partition (a backfill): every row is fresh, and the merge below would give `new`,
                # already conformed, unique and sorted by the key
                self._write_ready(table, athlete, new, sync_dir=False)
                if written is not None:
                    written(athlete, new)
                return list(new.group_by("source_file").len().iter_rows())
            old = conform(stored_part, schema)
            if "device_id" in key and old.height:
                # rows stored before devices were identified (device_id null) are replaced by the
                # same recording read again with its device identity
                base = [c for c in key if c != "device_id"]
                ident = new.filter(pl.col("device_id").is_not_null()).select(base).unique()
                legacy = old.filter(pl.col("device_id").is_null()).join(ident, on=base, how="semi", nulls_equal=True)
                if legacy.height:
                    old = old.join(legacy.select(key), on=key, how="anti", nulls_equal=True)
            fresh = new.join(old.select(key), on=key, how="anti", nulls_equal=True)
            merged = pl.concat([old, new], how="diagonal_relaxed")
            merged = merged.unique(subset=key, keep="last", maintain_order=True)
            self.write_partition(table, athlete, merged, sync_dir=False)
            if written is not None:
                written(athlete, merged)
            return list(fresh.group_by("source_file").len().iter_rows())

        # the new rows' duplicates dropped (the last wins) and the rows sorted by the key once for the
        # whole batch (the key starts with athlete_id), not once per partition: `one` then finds each
        # partition's new rows unique and in the order write_partition would store them
        df = _last_per_key_sorted(df, key)
        added: dict[str, int] = {}
        for counts in _each_partition(one, list(df.partition_by("athlete_id", as_dict=True).items())):
            for src, n in counts:
                added[src] = added.get(src, 0) + n
        self._sync_dir(table)
        return added

    # ------------------------------------------------------------------ ledger
    def connect(self) -> sqlite3.Connection:
        """An SQLite connection to the ledger database (tables created on first use).

        Other components (alert outbox, run state) keep their control tables in
        the same database.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.ledger_path, timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
        except sqlite3.DatabaseError as err:
            con.close()
            if "not a database" in str(err) or "malformed" in str(err):
                raise ledger_corrupt(self.ledger_path, err) from None
            mapped = translate(err)
            if mapped is not None:
                raise mapped from None
            raise
        con.execute("PRAGMA synchronous=FULL")
        con.execute(
            """CREATE TABLE IF NOT EXISTS ledger (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                path TEXT NOT NULL, size_bytes INTEGER, sha256 TEXT NOT NULL,
                format TEXT, athlete_id TEXT, status TEXT NOT NULL,
                rows_sessions INTEGER, rows_sleep INTEGER, rows_wellness INTEGER,
                rows_added INTEGER, skipped_rows INTEGER,
                error TEXT, warnings TEXT, ingested_at TEXT, run_id TEXT)"""
        )
        con.execute("CREATE INDEX IF NOT EXISTS ledger_sha ON ledger(sha256)")
        con.execute("CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        return con

    def ledger_add(self, entries: Sequence[LedgerEntry]) -> None:
        """Append ledger rows in one transaction."""
        if not entries:
            return
        cols = ",".join(LEDGER_COLUMNS)
        marks = ",".join("?" * len(LEDGER_COLUMNS))
        con = self.connect()
        try:
            with con:
                con.executemany(f"INSERT INTO ledger ({cols}) VALUES ({marks})", [e.as_row() for e in entries])
        finally:
            con.close()

    def ledger_by_hash(self, hashes: Iterable[str], columns: Sequence[str] | None = None) -> dict[str, list[dict]]:
        """Ledger rows for each known hash (most recent first).

        ``columns`` limits the keys of each row dict (default: every column);
        ingest asks for the five it needs, which matters when a nightly run
        looks up tens of thousands of unchanged files.
        """
        hashes = list(hashes)
        out: dict[str, list[dict]] = {}
        if not hashes or not self.ledger_path.exists():
            return out
        con = self.connect()
        try:
            if columns is not None:
                unknown = sorted(set(columns) - {"id", *LEDGER_COLUMNS})
                if unknown:
                    raise ValueError(f"unknown ledger column(s) {unknown}")
                cols = list(dict.fromkeys(["sha256", *columns]))
            else:
                cols = list(dict.fromkeys(["sha256", *(r[1] for r in con.execute("PRAGMA table_info(ledger)"))]))
            sel = ",".join(cols)
            for i in range(0, len(hashes), 500):
                chunk = hashes[i : i + 500]
                q = f"SELECT {sel} FROM ledger WHERE sha256 IN ({','.join('?' * len(chunk))}) ORDER BY id DESC"
                for row in con.execute(q, chunk):
                    out.setdefault(row[0], []).append(dict(zip(cols, row, strict=True)))
        finally:
            con.close()
        return out

    def ledger(self) -> pl.DataFrame:
        """The whole ledger as a frame, oldest first."""
        schema = {
            "path": pl.String,
            "size_bytes": pl.Int64,
            "sha256": pl.String,
            "format": pl.String,
            "athlete_id": pl.String,
            "status": pl.String,
            "rows_sessions": pl.Int64,
            "rows_sleep": pl.Int64,
            "rows_wellness": pl.Int64,
            "rows_added": pl.Int64,
            "skipped_rows": pl.Int64,
            "error": pl.String,
            "warnings": pl.String,
            "ingested_at": pl.String,
            "run_id": pl.String,
        }
        if not self.ledger_path.exists():
            return pl.DataFrame(schema=schema)
        con = self.connect()
        try:
            rows = con.execute(f"SELECT {','.join(LEDGER_COLUMNS)} FROM ledger ORDER BY id").fetchall()
        finally:
            con.close()
        return pl.DataFrame(rows, schema=schema, orient="row")

    # ------------------------------------------------------------------ state
    def get_state(self, key: str, default: str | None = None) -> str | None:
        if not self.ledger_path.exists():
            return default
        con = self.connect()
        try:
            row = con.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        finally:
            con.close()
        return row[0] if row else default

    def set_state(self, key: str, value: str) -> None:
        con = self.connect()
        try:
            with con:
                con.execute(
                    "INSERT INTO state(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )
        finally:
            con.close()

    # ------------------------------------------------------------------ state maps
    # A state map is a small {item: value} dictionary under one key (e.g. one
    # parameter fingerprint per athlete), stored one row per item in the table
    # ``state_map`` so that writers touching different items never lose each
    # other's updates. Earlier versions kept such a map as one JSON object in
    # ``state[key]``; it is still read, and folded into ``state_map`` (and
    # removed from ``state``) by the first update, inside the same transaction.

    @staticmethod
    def _ensure_state_map(con: sqlite3.Connection) -> None:
        con.execute(
            "CREATE TABLE IF NOT EXISTS state_map ("
            "key TEXT NOT NULL, item TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (key, item))"
        )

    def get_state_map(self, key: str, items: Iterable[str] | None = None) -> dict[str, str]:
        """The state map ``key`` (only ``items`` when given); {} when absent.

        One row per item in ``state_map`` (no release stored these maps in any other format).
        """
        if not self.ledger_path.exists():
            return {}
        wanted = None if items is None else set(items)
        con = self.connect()
        con.isolation_level = None
        try:
            self._ensure_state_map(con)
            con.execute("BEGIN")  # one snapshot for both reads (a migration may commit in between otherwise)
            try:
                out = dict(con.execute("SELECT item, value FROM state_map WHERE key = ?", (key,)).fetchall())
            finally:
                con.execute("COMMIT")
        finally:
            con.close()
        return out if wanted is None else {k: v for k, v in out.items() if k in wanted}

    def update_state_map(self, key: str, values: dict[str, str], remove: Iterable[str] = ()) -> None:
        """Set ``values`` and delete ``remove`` in the state map ``key``, atomically.

        One ``BEGIN IMMEDIATE`` transaction: concurrent updaters (threads, or
        processes without the writer lock, such as Dask workers of one run)
        are serialised by SQLite, and each only touches its own items, so no
        update is lost.
        """
        con = self.connect()
        con.isolation_level = None  # explicit transaction control
        try:
            self._ensure_state_map(con)
            con.execute("BEGIN IMMEDIATE")
            try:
                con.executemany(
                    "INSERT INTO state_map(key, item, value) VALUES (?, ?, ?) "
                    "ON CONFLICT(key, item) DO UPDATE SET value = excluded.value",
                    [(key, str(k), str(v)) for k, v in values.items()],
                )
                con.executemany("DELETE FROM state_map WHERE key = ? AND item = ?", [(key, str(k)) for k in remove])
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()
