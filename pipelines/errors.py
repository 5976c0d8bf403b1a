"""Errors a user can act on, each with its own exit code (docs/operations.md, "Exit codes").

Every such error derives from :class:`StrainwatchError`, carries the exit code
of the command line and a message of one line naming the path and what to do;
``pipelines.cli.main`` maps them (and the operating-system errors
:func:`translate` recognises) to that line and that code, without a traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

__all__ = [
    "StrainwatchError",
    "UsageError",
    "StoreNotADirectoryError",
    "StoreReadOnlyError",
    "DiskFullError",
    "LedgerCorruptError",
    "DataDamagedError",
    "NoInputFilesError",
    "translate",
    "check_store_path",
    "EXIT_OK",
    "EXIT_FAILED",
    "EXIT_USAGE",
    "EXIT_LOCKED",
    "EXIT_INTERRUPTED",
]

EXIT_OK = 0  # done
EXIT_FAILED = 1  # a step failed or a file was rejected (the summary says which)
EXIT_USAGE = 2  # a bad option, date, time zone or configuration
EXIT_LOCKED = 3  # another strainwatch process holds the store
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class StrainwatchError(Exception):
    """Base of the errors the command line reports as one line with :attr:`exit_code`."""

    exit_code = EXIT_FAILED


class UsageError(StrainwatchError):
    """A bad option value (future ``--as-of``, unknown ``--tz``)."""

    exit_code = EXIT_USAGE


class StoreNotADirectoryError(StrainwatchError):
    """The store path exists and is not a folder."""

    exit_code = 4


class StoreReadOnlyError(StrainwatchError):
    """The store cannot be written (read-only file system, permissions)."""

    exit_code = 5


class DiskFullError(StrainwatchError):
    """No space left while writing the store (what was stored before is intact)."""

    exit_code = 6


class LedgerCorruptError(StrainwatchError):
    """``ledger.sqlite`` is not a readable SQLite database."""

    exit_code = 7


class DataDamagedError(StrainwatchError):
    """Damaged partitions were found (and quarantined) or the ledger disagrees with the partitions."""

    exit_code = 8


class NoInputFilesError(StrainwatchError):
    """The input folders hold no files at all."""

    exit_code = 9


def check_store_path(root: str | Path) -> Path:
    """``root`` when it is a folder or does not exist yet; :class:`StoreNotADirectoryError` otherwise."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreNotADirectoryError(
            f"store path {root} is a file, not a folder: pass --store (or [store] path) naming a folder "
            "(a new one is created)"
        )
    for parent in root.parents:  # a file where a parent folder should be
        if parent.exists():
            if not parent.is_dir():
                raise StoreNotADirectoryError(
                    f"store path {root}: {parent} is a file, not a folder: choose another --store"
                )
            break
    return root


def translate(err: BaseException) -> StrainwatchError | None:
    """The :class:`StrainwatchError` for an operating-system or SQLite error, or None if unknown."""
    if isinstance(err, StrainwatchError):
        return err
    if isinstance(err, OSError):
        where = err.filename if err.filename is not None else "the store"
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            return DiskFullError(
                f"no space left on the device writing {where}: free some space and run again "
                "(every partition is written atomically: what was stored before is intact)"
            )
        if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            ro = "read-only file system" if err.errno == errno.EROFS else "permission denied"
            return StoreReadOnlyError(
                f"cannot write {where} ({ro}): make the store folder writable for this user "
                f"(e.g. chmod -R u+w {Path(str(where)).parent if err.filename else 'STORE'}) or pass another --store"
            )
        if err.errno in (errno.ENOTDIR, errno.EEXIST) and err.filename is not None:
            return StoreNotADirectoryError(
                f"{where} (or one of its parent folders) is a file where a folder is needed: "
                "pass --store naming a folder"
            )
        return None
    if isinstance(err, sqlite3.DatabaseError):
        msg = str(err)
        if "readonly" in msg or "unable to open" in msg:
            return StoreReadOnlyError(
                f"cannot write the ledger database ({msg}): make the store folder and ledger.sqlite writable, "
                "or pass another --store"
            )
        if "disk is full" in msg or "database or disk is full" in msg:
            return DiskFullError(f"no space left for the ledger database ({msg}): free some space and run again")
        if "not a database" in msg or "malformed" in msg or "disk image" in msg:
            return LedgerCorruptError(
                f"the ledger database is damaged ({msg}): restore ledger.sqlite from a backup "
                "(docs/operations.md, 'When something breaks')"
            )
    return None


def ledger_corrupt(path: Path, err: sqlite3.DatabaseError) -> LedgerCorruptError:
    return LedgerCorruptError(
        f"{path} is not a readable SQLite database ({err}): restore it from a backup, or move it away to start "
        "a new ledger (every input is then read again and alerts already sent may be sent again); "
        "see docs/operations.md, 'When something breaks'"
    )


def writable(root: Path) -> bool:
    """Whether a file can be created in the existing folder ``root``."""
    return os.access(root, os.W_OK)
