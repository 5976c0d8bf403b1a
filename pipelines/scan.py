"""Finding the input files and their content hashes, fast on folders of tens of thousands of files.

A team's input folder grows by a few files per athlete every night: after a
year of nightly drops, 30 athletes leave about 32,000 files, and every run
must tell the new ones from those already ingested. Two costs dominated that
on the reference machine (2 cores, 32,044 small files, one process):

* walking the tree with :mod:`pathlib` (``rglob``, ``relative_to``,
  ``resolve`` per file): about 3.9 s. :func:`walk_inputs` does the same with
  :func:`os.scandir` (file types from the directory listing, no ``stat`` per
  file) and string operations: 0.08 s;
* reading every file again to hash it: about 1 s for 127 MB, and it grows with
  the folder. :class:`HashCache` remembers each file's SHA-256 together with
  its size, modification time, change time and inode, and re-reads a file
  only when one of them changed. This is the rule ``git``'s index and
  ``rsync`` use: ``ctime`` cannot be set back by tools (unlike ``mtime`` with
  ``touch``), so rewriting a file in place is always seen. The cache is an
  optimisation only: the ledger still decides by content hash, and a missing
  or unreadable cache just means hashing again.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass
from pathlib import Path

from pipelines.store import Store, file_sha256

__all__ = ["walk_inputs", "FileStat", "HashCache", "ZipMemo", "SKIP_NAMES"]

SKIP_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


@dataclass(frozen=True)
class FileStat:
    """What :class:`HashCache` compares: if all equal, the content is taken as unchanged."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    device: int

    @classmethod
    def from_stat(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)

    @classmethod
    def of(cls, path: str | Path) -> FileStat:
        return cls.from_stat(os.stat(path))


def walk_inputs(
    inputs: Sequence[str | Path], problems: list[tuple[str, str | None, str]] | None = None
) -> list[tuple[str, str | None]]:
    """Every regular file under ``inputs``: (path, athlete folder or None), in ingest order.

    Same selection and order as a sorted ``Path.rglob("*")`` per input:
    hidden files and folders (a name starting with ``.``) and OS clutter
    (:data:`SKIP_NAMES`) are skipped; symbolic links to folders are not followed;
    files are sorted by their path components. The athlete folder is the
    first component below an input folder (``inputs/<athlete>/...``); a file
    given directly, or lying directly in an input folder, has none.

    ``problems``, when given, receives (folder, athlete folder, reason) for
    every sub-folder that cannot be listed (else they are skipped silently).
    An entry whose type cannot be told (a symbolic link loop) is returned as
    a file: reading it fails, and ingest ledgers that as a rejection.

    Raises
    ------
    FileNotFoundError
        An input that is neither a file nor a folder.
    """
    out: list[tuple[str, str | None]] = []
    for raw in inputs:
        root = str(Path(raw))  # the spelling pathlib gives (no "./", no "//"): ledger paths stay the same
        if os.path.isfile(root):
            if os.path.basename(root) not in SKIP_NAMES and not os.path.basename(root).startswith("."):
                out.append((root, None))
            continue
        if not os.path.isdir(root):
            raise FileNotFoundError(f"input not found: {raw}")
        found: list[tuple[tuple[str, ...], str, str | None]] = []
        stack: list[tuple[str, tuple[str, ...]]] = [(root, ())]
        while stack:  # os.scandir: file types come from the directory listing, no stat per file
            folder, rel_parts = stack.pop()
            who = rel_parts[0] if rel_parts else None
            try:
                entries = list(os.scandir(folder))
            except OSError as err:
                if not rel_parts:
                    raise
                if problems is not None:
                    problems.append((folder, who, err.strerror or str(err)))
                continue  # an unreadable sub-folder: as os.walk, skip it
            for e in entries:
                if e.name.startswith("."):
                    continue
                if e.is_dir(follow_symlinks=False):
                    stack.append((e.path, rel_parts + (e.name,)))
                elif e.name not in SKIP_NAMES and _is_file(e):  # a stat only for symbolic links
                    found.append((rel_parts + (e.name,), e.path, who))
        found.sort(key=lambda t: t[0])
        out.extend((full, who) for _, full, who in found)
    return out


def _is_file(e: os.DirEntry) -> bool:
    """``e.is_file()``, True for an entry that cannot be stat'ed (a symbolic link loop: ingest rejects it)."""
    try:
        return e.is_file()
    except OSError:
        return True


def _stat_table(store: Store, table: str, columns: str) -> sqlite3.Connection:
    """A ledger-database connection with ``table`` (path, the :class:`FileStat` fields, ``columns``)."""
    con = store.connect()
    con.execute(
        f"CREATE TABLE IF NOT EXISTS {table} (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
        "mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, "
        f"device INTEGER NOT NULL, {columns})"
    )
    return con


class HashCache:
    """SHA-256 of input files, re-read only when their :class:`FileStat` changed.

    Kept in the table ``file_hashes`` of the store's ledger database, keyed by
    the file's path as given to ingest.

    Parameters
    ----------
    store : pipelines.store.Store
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.hits = 0
        self.misses = 0

    def _connect(self) -> sqlite3.Connection:
        return _stat_table(self.store, "file_hashes", "sha256 TEXT NOT NULL")

    def hashes(
        self,
        paths: Iterable[str | Path],
        *,
        remember: bool = True,
        stats: Sequence[os.stat_result | None] | None = None,
    ) -> list[tuple[int, str]]:
        """(size in bytes, SHA-256 hex) of each path, in order.

        Parameters
        ----------
        paths : iterable of path
        stats : sequence of os.stat_result, optional
            The files' ``os.stat`` results if the caller has them (one per
            path, None where not), so they are not asked for twice.
        remember : bool
            Store new and changed hashes for the next run (False for
            temporary files such as extracted zip members).

        Raises
        ------
        OSError
            A file cannot be read (as :func:`pipelines.store.file_sha256`).
        """
        keys = [os.fspath(p) for p in paths]
        known: dict[str, tuple] = {}
        con = None
        try:
            con = self._connect()
            if remember:
                for i in range(0, len(keys), 900):  # SQLite's default limit of bound parameters
                    part = keys[i : i + 900]
                    rows = con.execute(
                        "SELECT path, size, mtime_ns, ctime_ns, inode, device, sha256 FROM file_hashes "
                        f"WHERE path IN ({','.join('?' * len(part))})",
                        part,
                    )
                    known.update((r[0], r[1:]) for r in rows)
        except sqlite3.Error:
            known = {}  # an optimisation only: hash everything
        out: list[tuple[int, str]] = []
        fresh: list[tuple] = []
        for i, k in enumerate(keys):
            given = stats[i] if stats is not None else None
            st = FileStat.from_stat(given) if given is not None else FileStat.of(k)
            prev = known.get(k)
            if prev is not None and tuple(prev[:5]) == astuple(st):
                self.hits += 1
                out.append((st.size, prev[5]))
                continue
            self.misses += 1
            sha = file_sha256(k)
            out.append((st.size, sha))
            if FileStat.of(k) == st:  # else it was written while we read it: hash it again next run
                fresh.append((k, *astuple(st), sha))
        if remember and fresh and con is not None:
            try:
                with con:
                    con.executemany("INSERT OR REPLACE INTO file_hashes VALUES (?,?,?,?,?,?,?)", fresh)
            except sqlite3.Error:
                pass
        if con is not None:
            con.close()
        return out


class ZipMemo:
    """Zip archives whose members were all ledgered, so an unchanged archive is not extracted again.

    A team's Garmin or Apple Health export is one zip of thousands of files
    (often gigabytes) that stays in the input folder; extracting and hashing
    it every night costs as much as the first time. After a run in which
    every member of an archive got a ledger row, the archive's
    :class:`FileStat` is remembered with its member count and how many of the
    members were rejected; a later run finds the same archive unchanged and
    counts its members as unchanged (or previously rejected) without opening
    it. An archive that could not be read is remembered as rejected, like a
    rejected file. Kept in the table ``zip_memo`` of the ledger database; an
    optimisation only, like :class:`HashCache`.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def _connect(self) -> sqlite3.Connection:
        return _stat_table(
            self.store, "zip_memo", "status TEXT NOT NULL, members INTEGER NOT NULL, rejected INTEGER NOT NULL"
        )

    def lookup(self, path: str, st: os.stat_result) -> tuple[str, int, int] | None:
        """(status ``expanded``/``rejected``, members, rejected members) if ``path`` is unchanged, else None."""
        try:
            con = self._connect()
            try:
                row = con.execute(
                    "SELECT size, mtime_ns, ctime_ns, inode, device, status, members, rejected "
                    "FROM zip_memo WHERE path = ?",
                    (path,),
                ).fetchone()
            finally:
                con.close()
        except sqlite3.Error:
            return None
        if row is None or tuple(row[:5]) != astuple(FileStat.from_stat(st)):
            return None
        return str(row[5]), int(row[6]), int(row[7])

    def remember(self, path: str, st: os.stat_result, *, status: str, members: Sequence[str] = ()) -> bool:
        """Remember ``path`` as ``status`` (``expanded`` or ``rejected``).

        For ``expanded``, ``members`` are the ledger paths of its members; the
        archive is remembered only when each has a ledger row (its latest row
        decides whether it counts as rejected). Returns whether it was remembered.
        """
        try:
            con = self._connect()
            try:
                latest: dict[str, str] = {}
                for i in range(0, len(members), 900):
                    part = list(members[i : i + 900])
                    q = f"SELECT path, status FROM ledger WHERE path IN ({','.join('?' * len(part))}) ORDER BY id"
                    latest.update(con.execute(q, part).fetchall())
                if status == "expanded" and len(latest) != len(set(members)):
                    return False  # a member without a ledger row: extract again next time
                rejected = sum(1 for s in latest.values() if s == "rejected")
                fs = FileStat.from_stat(st)
                with con:
                    con.execute(
                        "INSERT OR REPLACE INTO zip_memo VALUES (?,?,?,?,?,?,?,?,?)",
                        (
                            path,
                            fs.size,
                            fs.mtime_ns,
                            fs.ctime_ns,
                            fs.inode,
                            fs.device,
                            status,
                            len(set(members)),
                            rejected,
                        ),
                    )
                return True
            finally:
                con.close()
        except sqlite3.Error:
            return False
