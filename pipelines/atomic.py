"""Write a file whole or not at all: the one atomic write of the shell.

A hidden temporary file in the target's folder (``.<name>.<uuid>.tmp``, which
ingest and the store skip), written and fsynced, renamed over the target
(``os.replace``) and the folder fsynced, so the rename itself survives a power
cut. A process killed at any moment leaves the old file or the new one, never
a mix; a failure removes the temporary file and leaves the old file as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_write_bytes", "fsync_dir"]


def fsync_dir(path: Path) -> None:
    """Make the renames and new names in folder ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(
    path: Path,
    data: bytes,
    *,
    mode: int = 0o666,
    before_rename: Callable[[], None] | None = None,
    sync_dir: bool = True,
) -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring).

    ``mode`` is the new file's permission bits before the umask, set when the temporary file is
    created (a file of secrets is never readable by others, not even for a moment); the default is
    ``open()``'s. ``before_rename`` runs after the fsync and before the rename (a crash test's pause).
    ``sync_dir=False`` leaves the folder's fsync to the caller: the store writes a partition's checksum
    and then the partition in the same folder, and one fsync of the folder after both covers the two.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before_rename is not None:
            before_rename()
        os.replace(tmp, path)
        if sync_dir:
            fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
