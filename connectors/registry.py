"""Format detection by content and dispatch to the connector modules.

Each module listed in :data:`CONNECTOR_MODULES` exposes ``FORMAT``,
``detect(path, head) -> bool`` and ``read(path, ctx) -> ReadResult`` (see
:mod:`connectors.base`). Detection tries the modules in order and takes the
first that says yes, so put specific formats before generic ones.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from types import ModuleType

from connectors.base import ConnectorError, ReadContext, ReadResult, UnknownFormatError

#: Module names under ``connectors``, most specific first.
CONNECTOR_MODULES: tuple[str, ...] = (
    "checkin",
    "fit",
    "whoop",
    "apple_health",
    "oura",
    "garmin_json",
    "fitbit",
    "strava",
    "coach",  # intervals.icu and TrainingPeaks exports (issue 17)
    "pmsys",
    "garmin_csv",
    "generic_csv",
)

HEAD_BYTES = 65536


@cache
def modules() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"connectors.{name}") for name in CONNECTOR_MODULES)


def read_head(path: Path, n: int = HEAD_BYTES) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def detect(path: Path, head: bytes | None = None) -> ModuleType | None:
    """The connector module whose ``detect`` accepts the file, or None."""
    if head is None:
        head = read_head(path)
    for mod in modules():
        try:
            if mod.detect(path, head):
                return mod
        except Exception:  # a detector must never break ingestion of other files
            continue
    return None


def _looks_utf16(head: bytes) -> bool:
    """A UTF-16 byte-order mark, or ASCII text with a NUL byte after (or before) every character."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return True
    h = head[:64]
    return len(h) >= 8 and any(
        not any(zeros) and all(9 <= b < 127 for b in text) for zeros, text in ((h[1::2], h[0::2]), (h[0::2], h[1::2]))
    )


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Detect the format of ``path`` and read it.

    Raises
    ------
    UnknownFormatError
        When no connector recognises the content.
    ConnectorError
        When the recognised connector cannot read the file.
    """
    head = read_head(path)
    mod = detect(path, head)
    if mod is None:
        from connectors.generic_csv import closest_kind_hint

        hint = None if _looks_utf16(head) else closest_kind_hint(head)
        raise UnknownFormatError(
            ctx.source_name or path,
            "unrecognised content: not a FIT file, nor a supported CSV/JSON/XML export "
            "(see README, 'Supported exports')"
            + ("; the file looks like UTF-16 text: save or export it as UTF-8" if _looks_utf16(head) else "")
            + (f"; {hint}" if hint else ""),
            offset=0,
        )
    try:
        return mod.read(path, ctx)
    except ConnectorError:
        raise
    except Exception as err:  # a bug or an unforeseen input: still name the file
        raise ConnectorError(ctx.source_name or path, f"{mod.FORMAT}: unexpected {type(err).__name__}: {err}") from err


def supported_formats() -> list[str]:
    return [m.FORMAT for m in modules()]
