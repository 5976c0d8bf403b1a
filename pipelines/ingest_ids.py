"""Athlete-id checks of the ingest (issue 13 item 11), kept out of :mod:`pipelines.ingest`'s main loop.

* :func:`checked_ids` (per file, in the reading worker): every ``athlete_id``
  of a connector's result in Unicode NFC; a file with an id that has control
  characters, newlines or invisible format characters is rejected, the
  message naming the file and the id (escaped).
* :func:`refuse_colliding_ids` (per batch, before anything is written): a file
  whose athlete id differs from an athlete already in the store (or from one
  earlier in the same batch) only by case or a compatibility look-alike
  (``Carla`` / ``carla``, ``Ｃａｒｌａ``) is rejected instead of stored: on a
  case-insensitive file system (macOS) both would share one partition file.
  The rejection is ledgered like any other; after the folder is renamed (or
  the file is fixed) the next run reads it.

The pure rules are in :mod:`connectors.athlete_id`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.athlete_id import describe, find_collisions, id_problem, normalize_athlete_id
from connectors.base import ConnectorError, ReadResult

__all__ = ["checked_ids", "refuse_colliding_ids", "nfc_or_none"]


def nfc_or_none(athlete_id: str | None) -> str | None:
    """An id from a folder name or ``--athlete`` in NFC (None stays None)."""
    return None if athlete_id is None else normalize_athlete_id(athlete_id)


def checked_ids(result: ReadResult, display: str) -> ReadResult:
    """``result`` with every athlete id in NFC.

    Raises
    ------
    ConnectorError
        An athlete id with control characters, newlines, invisible format
        characters, or spaces at its ends (the message names the file).
    """
    for a in result.athlete_ids:
        problem = id_problem(a)
        if problem:
            raise ConnectorError(
                display,
                f"{problem}. Rename the athlete's folder or fix the athlete_id "
                "column (or pass --athlete ID), then ingest again with --retry-rejected",
            )
    if all(normalize_athlete_id(a) == a for a in result.athlete_ids):
        return result
    result.rename_athletes({a: normalize_athlete_id(a) for a in result.athlete_ids})
    return result


def refuse_colliding_ids(
    batch: Sequence[tuple[str, Any, str | None, str | None]],
    known_ids: Sequence[str],
    device_map: Mapping[str, str] | None = None,
) -> list[tuple[str, Any, str | None, str | None]]:
    """The batch with files whose athlete ids collide turned into rejections.

    ``batch`` items are ``(display, result or None, error, format)`` as read
    by the ingest. ``known_ids``: the athletes already in the store. The roster's
    device mapping (``device-<serial>`` -> id) is applied to the ids first, as
    the commit will.
    """
    mapping = {f"device-{k}": v for k, v in (device_map or {}).items()}
    new_ids: list[str] = []
    for _display, result, _error, _fmt in batch:
        if result is not None:
            new_ids.extend(mapping.get(a, a) for a in result.athlete_ids)
    clashes = find_collisions(dict.fromkeys(new_ids), known_ids)
    if not clashes:
        return list(batch)
    out = []
    for display, result, error, fmt in batch:
        hit = [a for a in (mapping.get(x, x) for x in result.athlete_ids)] if result is not None else []
        hit = [a for a in hit if a in clashes]
        if hit:
            a = hit[0]
            error = (
                f"{display}: athlete id {describe(a)} differs from athlete {describe(clashes[a])} only by "
                "upper/lower case or look-alike characters; on a case-insensitive file system (macOS) both "
                "would share one partition file, so this file is not stored. Use the same id as "
                f"{describe(clashes[a])} (rename the folder or fix the athlete_id column) or a clearly "
                "different one, then ingest again with --retry-rejected"
            )
            out.append((display, None, error, fmt))
        else:
            out.append((display, result, error, fmt))
    return out
