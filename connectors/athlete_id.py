"""Athlete ids: one Unicode form, no control characters, no two ids that a file system could merge.

Ids come from input folder names, ``--athlete``, ``athlete_id`` columns and
the roster. They name partition files (``tables/<table>/a-<id>.parquet``) and
appear in reports, alert texts and the terminal, so:

* :func:`normalize_athlete_id` puts an id in Unicode NFC, so ``"Zoë"`` typed
  as one code point (NFC, Linux/Windows) and as ``e`` + combining diaeresis
  (NFD, macOS file names) are the same athlete;
* :func:`id_problem` names what makes an id unusable: empty, spaces at the
  ends, control characters (newline, CR, tab, ESC ...), line/paragraph
  separators and invisible format characters (bidi overrides, zero-width
  characters, BOM) that would reach alert texts and the terminal or make two
  ids look the same;
* :func:`collision_key` is equal for ids that differ only by case or by
  compatibility look-alikes (NFKC: full-width ``Ｃａｒｌａ``, ligatures,
  superscripts): on a case-insensitive file system (macOS, Windows)
  ``Carla`` and ``carla`` would share one partition file, and one of them
  would silently lose scores and alerts. :func:`find_collisions` lists such
  pairs so the caller can refuse the newcomer with a clear error.

Reference: Unicode Standard Annex #15 (normalization forms), Unicode
``CaseFolding.txt`` (full case folding, as in :meth:`str.casefold`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

__all__ = ["normalize_athlete_id", "id_problem", "collision_key", "find_collisions", "describe"]

#: Unicode general categories refused in ids: controls, format (invisible), line/paragraph separators,
#: surrogates, unassigned.
_BAD_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a surrogate",
    "Cn": "an unassigned code point",
}


def normalize_athlete_id(raw: str) -> str:
    """``raw`` in Unicode NFC (canonical composition); nothing else changes."""
    return unicodedata.normalize("NFC", raw)


def describe(athlete_id: str) -> str:
    """The id as a printable literal: escapes control and invisible characters (safe for terminals)."""
    bad = any(unicodedata.category(c) in _BAD_CATEGORIES for c in athlete_id)
    return ascii(athlete_id) if bad else repr(athlete_id)


def id_problem(athlete_id: str) -> str | None:
    """What makes ``athlete_id`` unusable, or None when it is fine.

    The message quotes the id with escapes (``'a\\nb'``), so it is safe to print.
    """
    if not athlete_id or not athlete_id.strip():
        return "athlete id is empty"
    if athlete_id != athlete_id.strip():
        return f"athlete id {describe(athlete_id)} has spaces at the start or end"
    for i, c in enumerate(athlete_id):
        cat = unicodedata.category(c)
        if cat in _BAD_CATEGORIES:
            return (
                f"athlete id {describe(athlete_id)} contains {_BAD_CATEGORIES[cat]} "
                f"(U+{ord(c):04X} at character {i + 1}); ids must be printable text"
            )
    return None


def collision_key(athlete_id: str) -> str:
    """Equal for ids that differ only by case or compatibility look-alikes (NFKC of the case fold)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", athlete_id).casefold())


def find_collisions(new_ids: Iterable[str], known_ids: Iterable[str]) -> dict[str, str]:
    """New ids that collide with a known id or an earlier new id: ``{new id: the id it collides with}``.

    An id equal to a known id is no collision (it is the same athlete). Among
    new ids, the first one (in the given order) keeps its key.
    """
    owner: dict[str, str] = {}
    for k in known_ids:
        owner.setdefault(collision_key(k), k)
    out: dict[str, str] = {}
    for a in new_ids:
        key = collision_key(a)
        other = owner.get(key)
        if other is None:
            owner[key] = a
        elif other != a:
            out[a] = other
    return out
