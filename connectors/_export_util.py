"""Helpers shared by the vendor-export connectors (Garmin, Fitbit, Strava, Oura, WHOOP, Apple Health).

Private to :mod:`connectors`: number and duration parsing with locale
separators (:func:`parse_number`) or strict with plausible ranges
(:func:`parse_float`), local-time to UTC conversion, per-row time-zone
offsets, sport-name normalisation, CSV decoding with line numbers (whole
text: :func:`open_text`/:func:`csv_rows`; dict rows: :func:`open_csv`),
streaming JSON with file/line/record error messages, and the bad-row policy.

Nothing here reads a clock or the environment; everything that depends on the
athlete (time zone, bad-row policy) comes in through
:class:`connectors.base.ReadContext`.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from connectors.base import (
    BadRowError,
    ConnectorError,
    CorruptFileError,
    OnBadRow,
    ReadContext,
    ReadResult,
)

try:  # streaming JSON (bounded memory for the 100 MB+ Garmin activity files)
    import ijson
except ImportError:  # pragma: no cover - ijson is a declared dependency
    ijson = None

UTC = timezone.utc
MILE_M = 1609.344
YARD_M = 0.9144
FOOT_M = 0.3048

#: Largest JSON file re-parsed with :mod:`json` to locate a syntax error by
#: line and column (the streaming parser only knows the record index).
LOCATE_ERROR_MAX_BYTES = 64 << 20

#: Strings that mean "no value" in vendor CSVs.
MISSING = {"", "--", "-", "—", "n/a", "na", "null", "none"}

# ----------------------------------------------------------------- bad rows


class BadRows:
    """Apply :attr:`ReadContext.on_bad_row` to records that fail validation.

    ``RAISE`` raises the :class:`BadRowError`; ``SKIP`` counts the record,
    keeps the first ``max_notes`` messages as warnings and lets the read go on.

    Parameters
    ----------
    ctx : ReadContext
        Carries the bad-row policy.
    max_notes : int, optional
        How many skipped records are named one by one in the warnings
        (default :attr:`MAX_NOTES`); the rest are only counted.
    """

    MAX_NOTES = 5

    def __init__(self, ctx: ReadContext, max_notes: int | None = None) -> None:
        self.ctx = ctx
        self.max_notes = self.MAX_NOTES if max_notes is None else max_notes
        self.count = 0
        self.notes: list[str] = []

    def __call__(self, err: BadRowError) -> None:
        if self.ctx.on_bad_row != OnBadRow.SKIP:
            raise err
        self.count += 1
        if len(self.notes) < self.max_notes:
            self.notes.append(f"skipped: {err}")

    def finish(self, result: ReadResult) -> ReadResult:
        result.skipped_rows += self.count
        for n in self.notes:
            result.warn(n)
        if self.count > len(self.notes):
            result.warn(f"skipped {self.count} bad records in all (first {len(self.notes)} shown)")
        return result


def display_name(path: Path, ctx: ReadContext) -> str:
    return ctx.source_name or str(path)


def require_athlete(display: str, ctx: ReadContext, vendor: str, what: str = "the file") -> str:
    """``ctx.athlete_id``; a :class:`ConnectorError` for exports that carry no athlete id.

    ``vendor`` and ``what`` word the fix: "put <what> in a folder named after
    the athlete or pass --athlete".
    """
    if not ctx.athlete_id:
        raise ConnectorError(
            display,
            f"{vendor} exports carry no athlete id: put {what} in a folder named after the athlete or pass --athlete",
        )
    return ctx.athlete_id


class UnexpectedErrors:
    """Context manager: any exception but a :class:`ConnectorError` becomes one naming the file.

    ``with UnexpectedErrors(name, FORMAT): return _read(...)`` turns a bug or
    an unforeseen input (a ``KeyError``, a ``TypeError`` ...) into
    ``ConnectorError(name, "<format>: unexpected KeyError: ...")``, chained to
    the original, so that the ledger always names the file. ``BaseException``
    (``KeyboardInterrupt``) passes through.
    """

    def __init__(self, name: str, fmt: str) -> None:
        self.name = name
        self.fmt = fmt

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ, err, tb) -> None:  # None: never swallows an exception
        if err is None or isinstance(err, ConnectorError) or not isinstance(err, Exception):
            return
        raise ConnectorError(self.name, f"{self.fmt}: unexpected {type(err).__name__}: {err}") from err


# ------------------------------------------------------------------- numbers


def is_missing(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and raw.strip().lower() in MISSING)


_DEC_POINT_RE = re.compile(r"^-?\d+\.(\d{1,2}|\d{4,})$")  # 42.02, 3.3 (not 1.234)
_DEC_COMMA_RE = re.compile(r"^-?\d+,(\d{1,2}|\d{4,})$")  # 7,00, 0,2 (not 1,234)
_BOTH_POINT_RE = re.compile(r"^-?\d{1,3}(,\d{3})+\.\d+$")  # 1,234.5
_BOTH_COMMA_RE = re.compile(r"^-?\d{1,3}(\.\d{3})+,\d+$")  # 1.234,5


def decimal_votes(values: list[str]) -> tuple[int, int]:
    """Count values that can only be read with a decimal point / a decimal comma.

    ``"42.02"`` or ``"1,234.5"`` vote for the point, ``"7,00"`` or
    ``"1.234,5"`` for the comma; ``"1,234"`` and ``"1.234"`` (three digits after
    the only separator) are ambiguous and do not vote.
    """
    point = comma = 0
    for v in values:
        s = _clean_number_text(v)
        if _DEC_POINT_RE.match(s) or _BOTH_POINT_RE.match(s):
            point += 1
        elif _DEC_COMMA_RE.match(s) or _BOTH_COMMA_RE.match(s):
            comma += 1
    return point, comma


def _clean_number_text(raw: str) -> str:
    s = raw.strip().strip('"').strip()
    if s.startswith("'"):  # Excel formula guard Garmin puts before negatives: '-12
        s = s[1:]
    return s.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")


def parse_number(raw: object, *, decimal_comma: bool = False) -> float | None:
    """Parse a vendor number: ``"1,234"`` -> 1234.0, ``"--"`` -> None.

    Parameters
    ----------
    raw : str or number or None
        The cell.
    decimal_comma : bool
        The file writes decimals with a comma (``"7,00"``, thousands ``"1.234"``).

    Raises
    ------
    ValueError
        When the text is not a number in that convention.
    """
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"expected a number, found {raw!r}")
    if isinstance(raw, (int, float)):
        v = float(raw)
        if v != v:
            return None
        return v
    if is_missing(raw):
        return None
    s = _clean_number_text(str(raw))
    if decimal_comma:
        s = s.replace(".", "").replace(",", ".")
    else:
        s = s.replace(",", "")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", s):
        raise ValueError(f"expected a number, found {raw!r}")
    v = float(s)
    if v != v or v in (float("inf"), float("-inf")):
        raise ValueError(f"expected a finite number, found {raw!r}")
    return v


_CLOCK_RE = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{1,2}(?:[.,]\d+)?)$")


def parse_clock(raw: object) -> float | None:
    """Seconds from ``"hh:mm:ss"``, ``"h:mm:ss.s"`` or ``"mm:ss.s"``; ``"--"`` -> None.

    Raises
    ------
    ValueError
        When the text is not a clock duration.
    """
    if is_missing(raw):
        return None
    s = str(raw).strip().strip('"')
    m = _CLOCK_RE.match(s)
    if not m:
        raise ValueError(f"expected a duration like hh:mm:ss or mm:ss.s, found {raw!r}")
    h = int(m.group(1) or 0)
    mins = int(m.group(2))
    secs = float(m.group(3).replace(",", "."))
    if mins >= 60 and m.group(1) is not None or secs >= 60:
        raise ValueError(f"minutes/seconds out of range in duration {raw!r}")
    return h * 3600.0 + mins * 60.0 + secs


#: Cells :func:`parse_float` reads as missing. Unlike :data:`MISSING` (the
#: Garmin/Strava/Fitbit exports) it includes "nan" and not the em dash.
_FLOAT_MISSING = {"", "--", "-", "n/a", "na", "nan", "null", "none"}


def parse_float(
    value: str | float | int | None,
    display: str,
    *,
    line: int | None,
    column: str,
    lo: float | None = None,
    hi: float | None = None,
) -> float | None:
    """A finite float, None for an empty/missing cell; BadRowError otherwise.

    The strict reader of the Oura and WHOOP exports, which write plain
    machine numbers: the text must be a Python float literal (no thousands
    separators, no decimal comma; compare :func:`parse_number`). The error
    names the file, ``line`` and ``column``. ``lo``/``hi`` bound plausible
    values (inclusive); outside them is a bad row.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRowError(display, f"expected a number, found {value!r}", line=line, column=column)
    if isinstance(value, (int, float)):
        v = float(value)
    elif not isinstance(value, str):
        raise BadRowError(
            display, f"expected a number, found {type(value).__name__} {value!r:.40}", line=line, column=column
        )
    else:
        s = value.strip()
        if s.lower() in _FLOAT_MISSING:
            return None
        try:
            v = float(s)
        except ValueError:
            raise BadRowError(display, f"expected a number, found {value!r}", line=line, column=column) from None
    if not math.isfinite(v):
        raise BadRowError(display, f"expected a finite number, found {value!r}", line=line, column=column)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise BadRowError(display, f"value {v:g} outside the plausible range {lo:g}..{hi:g}", line=line, column=column)
    return v


# --------------------------------------------------------------- time zones


class LocalTime:
    """Turn naive local wall-clock times into UTC with the athlete's time zone.

    With ``ctx.tz`` None the local times are read as UTC and one warning is
    recorded (``--tz`` fixes it). Ambiguous times (the repeated hour when DST
    ends) take the first occurrence; times in the spring-forward gap are
    shifted forward by the gap, as the clock on the wall would read.
    """

    def __init__(self, ctx: ReadContext, path: Path, what: str, *, no_tz_note: str | None = None) -> None:
        self.name = ctx.tz
        self.what = what
        self.no_tz_note = no_tz_note
        self.used = False
        if ctx.tz:
            try:
                self.zone: Any = ZoneInfo(ctx.tz)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ConnectorError(
                    display_name(path, ctx),
                    f"unknown time zone {ctx.tz!r} (expected an IANA name such as 'Europe/Berlin')",
                ) from err
        else:
            self.zone = None

    def to_utc(self, local: datetime) -> tuple[datetime, int | None]:
        """UTC instant and the local offset [s] (None when no time zone is known)."""
        self.used = True
        if self.zone is None:
            return local.replace(tzinfo=UTC), None
        aware = local.replace(tzinfo=self.zone, fold=0)
        utc = aware.astimezone(UTC)
        # a wall time in the DST gap does not round-trip; PEP 495 already
        # resolved it with the pre-transition offset, which is what we want
        off = aware.utcoffset()
        return utc, int(off.total_seconds()) if off is not None else None

    def local_date_of(self, utc: datetime) -> date:
        """Local calendar date of a UTC instant (UTC date without a time zone)."""
        self.used = True
        if self.zone is None:
            return utc.astimezone(UTC).date()
        return utc.astimezone(self.zone).date()

    def offset_of(self, utc: datetime) -> int | None:
        if self.zone is None:
            return None
        off = utc.astimezone(self.zone).utcoffset()
        return int(off.total_seconds()) if off is not None else None

    def note(self, result: ReadResult) -> None:
        if self.used and self.zone is None and self.no_tz_note:
            result.warn(self.no_tz_note)
        elif self.used and self.zone is None:
            result.warn(f"no time zone given (--tz): {self.what} read as UTC; local dates may be off by a day")


_LOCAL_FORMATS = (
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M",
)


def parse_local_datetime(raw: object) -> datetime:
    """A naive local datetime in any of the layouts vendors use.

    ``2019-11-01T23:31:30.000``, ``2019-11-01 23:31:30``, ``11/01/19 23:31:30``
    (Fitbit's older US layout), ``2025-02-06 17:06``.

    Raises
    ------
    ValueError
        When no layout matches.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected a local date-time, found {raw!r}")
    s = raw.strip()
    if s.endswith("Z") or re.search(r"[+-]\d\d:?\d\d$", s):
        raise ValueError(f"expected a local date-time without zone, found {raw!r}")
    for fmt in _LOCAL_FORMATS:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    raise ValueError(f"expected a local date-time like 2019-11-01T23:31:30.000 or 11/01/19 23:31:30, found {raw!r}")


def parse_date(raw: object) -> date:
    """A calendar date: ``2019-11-01``, ``11/01/19``, ``11/01/2019`` or ``{"date": ...}``."""
    if isinstance(raw, dict) and "date" in raw:
        raw = raw["date"]
    if not isinstance(raw, str):
        raise ValueError(f"expected a date, found {raw!r}")
    s = raw.strip()
    for fmt in ("%Y-%m-%d", "%m/%d/%y", "%m/%d/%Y"):
        try:
            return datetime.strptime(s[:10] if fmt == "%Y-%m-%d" else s, fmt).date()
        except ValueError:
            continue
    # "Aug 5, 2019 12:00:00 AM" (older Garmin UDS files)
    for fmt in ("%b %d, %Y %I:%M:%S %p", "%b %d, %Y"):
        try:
            return datetime.strptime(s, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"expected a date like 2019-11-01, found {raw!r}")


def epoch_ms_to_utc(raw: object) -> datetime:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise ValueError(f"expected epoch milliseconds, found {raw!r}")
    ms = float(raw)
    if not (0 < ms < 4.1e12):  # 1970 .. 2100
        raise ValueError(f"epoch milliseconds out of range: {raw!r}")
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=round(ms))


def parse_gmt_string(raw: object) -> datetime:
    """Garmin's ``"2019-08-04T20:28:00.0"`` (UTC, no zone) or epoch ms."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return epoch_ms_to_utc(raw)
    if not isinstance(raw, str):
        raise ValueError(f"expected a GMT timestamp like 2019-08-04T20:28:00.0, found {raw!r}")
    s = raw.strip().rstrip("Z")
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?", s)
    if not m:
        raise ValueError(f"expected a GMT timestamp like 2019-08-04T20:28:00.0, found {raw!r}")
    base = datetime.strptime(f"{m.group(1)} {m.group(2)}", "%Y-%m-%d %H:%M:%S")
    frac = m.group(3)
    if frac:
        base += timedelta(microseconds=int(frac.ljust(6, "0")))
    return base.replace(tzinfo=UTC)


_OFFSET_RE = re.compile(r"^(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?$", re.IGNORECASE)


def parse_offset(value: str, display: str, *, line: int | None, column: str) -> tzinfo:
    """``UTC-04:00``, ``GMT+5``, ``+0530``, ``UTC``/``Z`` or an IANA name -> tzinfo.

    For exports that write a zone per row (WHOOP's ``Cycle timezone``); a
    value that is none of these is a :class:`BadRowError` naming the file,
    ``line`` and ``column``. Offsets beyond +-14:00 are rejected.
    """
    s = value.strip()
    if s.upper() in ("UTC", "GMT", "Z", "UTC+00:00", "UTC-00:00"):
        return timezone.utc
    m = _OFFSET_RE.match(s)
    if m:
        sign, hh, mm = m.group(1), int(m.group(2)), int(m.group(3) or 0)
        if hh > 14 or mm >= 60:
            raise BadRowError(display, f"time-zone offset out of range: {value!r}", line=line, column=column)
        delta = timedelta(hours=hh, minutes=mm)
        return timezone(-delta if sign == "-" else delta)
    try:
        if s:
            return ZoneInfo(s)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    raise BadRowError(
        display,
        f"expected a time zone like 'UTC-04:00' or 'Europe/Paris', found {value!r}",
        line=line,
        column=column,
    )


# ------------------------------------------------------------------- sports

#: Exact (normalised) vendor activity names -> canonical sport, sub_sport.
_SPORT_EXACT: dict[str, tuple[str, str | None]] = {
    # English / vendor keys
    "run": ("running", None),
    "running": ("running", None),
    "trail run": ("running", "trail"),
    "trail running": ("running", "trail"),
    "treadmill running": ("running", "treadmill"),
    "treadmill": ("running", "treadmill"),
    "virtual run": ("running", "virtual"),
    "track running": ("running", "track"),
    "street running": ("running", "street"),
    "indoor running": ("running", "indoor"),
    "ride": ("cycling", None),
    "cycling": ("cycling", None),
    "bike": ("cycling", None),
    "biking": ("cycling", None),
    "road biking": ("cycling", "road"),
    "road cycling": ("cycling", "road"),
    "virtual ride": ("cycling", "virtual"),
    "virtual cycling": ("cycling", "virtual"),
    "indoor cycling": ("cycling", "indoor"),
    "spinning": ("cycling", "indoor"),
    "mountain biking": ("cycling", "mountain"),
    "mountain bike ride": ("cycling", "mountain"),
    "gravel ride": ("cycling", "gravel"),
    "gravel cycling": ("cycling", "gravel"),
    "e-bike ride": ("cycling", "e_bike"),
    "e bike ride": ("cycling", "e_bike"),
    "outdoor bike": ("cycling", None),
    "swim": ("swimming", None),
    "swimming": ("swimming", None),
    "pool swim": ("swimming", "lap_swimming"),
    "lap swimming": ("swimming", "lap_swimming"),
    "open water swimming": ("swimming", "open_water"),
    "walk": ("walking", None),
    "walking": ("walking", None),
    "hike": ("hiking", None),
    "hiking": ("hiking", None),
    "weight training": ("strength", None),
    "strength training": ("strength", None),
    "weights": ("strength", None),
    "strength": ("strength", None),
    "crossfit": ("strength", "crossfit"),
    "workout": ("training", None),
    "cardio": ("training", "cardio"),
    "hiit": ("training", "hiit"),
    "elliptical": ("fitness_equipment", "elliptical"),
    "stair stepper": ("fitness_equipment", "stair_climbing"),
    "stairstepper": ("fitness_equipment", "stair_climbing"),
    "rowing": ("rowing", None),
    "indoor rowing": ("rowing", "indoor"),
    "row": ("rowing", None),
    "yoga": ("yoga", None),
    "pilates": ("training", "pilates"),
    "nordic ski": ("cross_country_skiing", None),
    "cross country skiing": ("cross_country_skiing", None),
    "alpine ski": ("alpine_skiing", None),
    "resort skiing/snowboarding": ("alpine_skiing", None),
    "resort skiing snowboarding": ("alpine_skiing", None),
    "resort skiing snowboarding ws": ("alpine_skiing", None),
    "resort skiing": ("alpine_skiing", None),
    "indoor cardio": ("training", "cardio"),
    "fitness equipment": ("fitness_equipment", None),
    "floor climbing": ("fitness_equipment", "stair_climbing"),
    "snowboard": ("snowboarding", None),
    "backcountry ski": ("alpine_skiing", "backcountry"),
    "soccer": ("soccer", None),
    "football": ("soccer", None),
    "tennis": ("tennis", None),
    "golf": ("golf", None),
    "rock climbing": ("rock_climbing", None),
    "bouldering": ("rock_climbing", "bouldering"),
    "kayaking": ("kayaking", None),
    "stand up paddling": ("stand_up_paddleboarding", None),
    "multisport": ("multisport", None),
    "triathlon": ("multisport", "triathlon"),
    "multi sport": ("multisport", None),
    "stair-stepper": ("fitness_equipment", "stair_climbing"),
    "stair climbing": ("fitness_equipment", "stair_climbing"),
    "rock climb": ("rock_climbing", None),
    "e-mountain bike ride": ("cycling", "e_mountain"),
    "handcycle": ("cycling", "hand_cycling"),
    "velomobile": ("cycling", None),
    "wheelchair": ("wheelchair", None),
    "sport": ("generic", None),
    "other": ("generic", None),
    # German
    "laufen": ("running", None),
    "laufbandtraining": ("running", "treadmill"),
    "laufband": ("running", "treadmill"),
    "trailrunning": ("running", "trail"),
    "radfahren": ("cycling", None),
    "rennradfahren": ("cycling", "road"),
    "indoor-radfahren": ("cycling", "indoor"),
    "mountainbiken": ("cycling", "mountain"),
    "schwimmen": ("swimming", None),
    "schwimmbadschwimmen": ("swimming", "lap_swimming"),
    "freiwasserschwimmen": ("swimming", "open_water"),
    "gehen": ("walking", None),
    "wandern": ("hiking", None),
    "krafttraining": ("strength", None),
    "rudern": ("rowing", None),
    "indoor-rudern": ("rowing", "indoor"),
    "crosstrainer": ("fitness_equipment", "elliptical"),
    "skilanglauf": ("cross_country_skiing", None),
    # French
    "course à pied": ("running", None),
    "course sur tapis roulant": ("running", "treadmill"),
    "trail": ("running", "trail"),
    "cyclisme": ("cycling", None),
    "vélo": ("cycling", None),
    "vélo d'intérieur": ("cycling", "indoor"),
    "cyclisme en salle": ("cycling", "indoor"),
    "vtt": ("cycling", "mountain"),
    "natation": ("swimming", None),
    "natation en piscine": ("swimming", "lap_swimming"),
    "natation en eau libre": ("swimming", "open_water"),
    "marche": ("walking", None),
    "randonnée": ("hiking", None),
    "musculation": ("strength", None),
    "renforcement musculaire": ("strength", None),
    "aviron": ("rowing", None),
    # Spanish
    "carrera": ("running", None),
    "carrera en cinta": ("running", "treadmill"),
    "carrera por montaña": ("running", "trail"),
    "ciclismo": ("cycling", None),
    "ciclismo en sala": ("cycling", "indoor"),
    "ciclismo indoor": ("cycling", "indoor"),
    "ciclismo de montaña": ("cycling", "mountain"),
    "natación": ("swimming", None),
    "natación en piscina": ("swimming", "lap_swimming"),
    "natación en aguas abiertas": ("swimming", "open_water"),
    "caminar": ("walking", None),
    "caminata": ("walking", None),
    "senderismo": ("hiking", None),
    "entrenamiento de fuerza": ("strength", None),
    "entreno de fuerza": ("strength", None),
    "remo": ("rowing", None),
    # Italian
    "corsa": ("running", None),
    "corsa su tapis roulant": ("running", "treadmill"),
    "trail running ": ("running", "trail"),
    "ciclismo su strada": ("cycling", "road"),
    "nuoto": ("swimming", None),
    "nuoto in piscina": ("swimming", "lap_swimming"),
    "nuoto in acque libere": ("swimming", "open_water"),
    "camminata": ("walking", None),
    "escursionismo": ("hiking", None),
    "allenamento di forza": ("strength", None),
    "allenamento della forza": ("strength", None),
    "canottaggio": ("rowing", None),
    # Dutch
    "hardlopen": ("running", None),
    "hardlopen op loopband": ("running", "treadmill"),
    "loopband": ("running", "treadmill"),
    "fietsen": ("cycling", None),
    "indoor fietsen": ("cycling", "indoor"),
    "wielrennen": ("cycling", "road"),
    "zwemmen": ("swimming", None),
    "zwembadzwemmen": ("swimming", "lap_swimming"),
    "baanzwemmen": ("swimming", "lap_swimming"),
    "openwaterzwemmen": ("swimming", "open_water"),
    "wandelen": ("walking", None),
    "hiken": ("hiking", None),
    "krachttraining": ("strength", None),
    "roeien": ("rowing", None),
    # Portuguese
    "corrida": ("running", None),
    "corrida em esteira": ("running", "treadmill"),
    "corrida na passadeira": ("running", "treadmill"),
    "corrida em trilha": ("running", "trail"),
    "ciclismo em ambiente fechado": ("cycling", "indoor"),
    "natação em piscina": ("swimming", "lap_swimming"),
    "natação em águas abertas": ("swimming", "open_water"),
    "caminhada": ("walking", None),
    "trilha": ("hiking", None),
    "treino de força": ("strength", None),
    "musculação": ("strength", None),
    "cardiovascular": ("training", "cardio"),
}

#: Substring rules tried in order when no exact name matches.
_SPORT_KEYWORDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("swim", "schwimm", "natation", "natación", "natação", "nuoto", "zwem"), "swimming"),
    (("treadmill", "laufband", "tapis", "cinta", "esteira", "loopband"), "running"),
    (("run", "lauf", "course", "carrera", "corsa", "corrida", "hardlo", "trail"), "running"),
    (("cycl", "bik", "ride", "rad", "vélo", "velo", "cicl", "fiets", "vtt", "spin"), "cycling"),
    (("strength", "weight", "kraft", "muscu", "fuerza", "forza", "kracht", "força"), "strength"),
    (("hik", "wander", "randon", "sender", "escurs", "trilh"), "hiking"),
    (("walk", "gehen", "marche", "camin", "cammin", "wandel"), "walking"),
    (("row", "ruder", "aviron", "remo", "canott", "roei"), "rowing"),
    (("ski", "langlauf"), "cross_country_skiing"),
    (("yoga",), "yoga"),
)


def _norm_name(raw: str) -> str:
    s = unicodedata.normalize("NFC", raw).strip().lower()
    s = s.replace("_", " ").replace("’", "'")
    return re.sub(r"\s+", " ", s)


def normalise_sport(raw: object) -> tuple[str, str | None]:
    """Canonical ``(sport, sub_sport)`` for a vendor activity name in any UI language.

    ``"Pool Swim"`` -> ``("swimming", "lap_swimming")``, ``"Laufen"`` ->
    ``("running", None)``, ``"WeightTraining"`` -> ``("strength", None)``.
    Unknown names become a lower-case slug (``"Padel"`` -> ``"padel"``).
    """
    if not isinstance(raw, str) or not raw.strip():
        return "generic", None
    s = _norm_name(raw)
    if s in _SPORT_EXACT:
        return _SPORT_EXACT[s]
    spaced = _norm_name(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", raw))  # "WeightTraining"
    if spaced in _SPORT_EXACT:
        return _SPORT_EXACT[spaced]
    for keys, sport in _SPORT_KEYWORDS:
        if any(k in s for k in keys):
            return sport, None
    return re.sub(r"[^0-9a-zà-ÿ]+", "_", s).strip("_") or "generic", None


# ---------------------------------------------------------------------- CSV

#: Vendor CSV cells can be long (Strava descriptions, Oura JSON-in-CSV columns).
csv.field_size_limit(16 << 20)


def decode_export(data: bytes) -> tuple[str, UnicodeDecodeError | None]:
    """``data`` as UTF-8 text (BOM stripped), else as Windows-1252.

    Returns the text and, when the Windows-1252 fallback was taken (an export
    re-saved by Excel on Windows), the UTF-8 error that caused it.

    Raises
    ------
    UnicodeDecodeError
        The UTF-8 error, when the bytes are not Windows-1252 either.
    """
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        try:
            return data.decode("cp1252"), err
        except UnicodeDecodeError:
            raise err from None


def _line_of(data: bytes, offset: int) -> int:
    """1-based line of byte ``offset``."""
    return data[:offset].count(b"\n") + 1


def open_text(path: Path, ctx: ReadContext) -> str:
    """The whole file as text (UTF-8 with or without BOM; cp1252 fallback).

    Vendor CSVs are small (one row per activity); JSON goes through
    :func:`iter_json_items` instead. A NUL byte in the first 64 KiB, or
    control characters in a Windows-1252 reading, is a
    :class:`CorruptFileError`.
    """
    data = path.read_bytes()
    if b"\x00" in data[:65536]:
        nul = data.index(b"\x00")
        raise CorruptFileError(display_name(path, ctx), "binary data (NUL byte) in a CSV file", offset=nul)
    try:
        text, err = decode_export(data)
    except UnicodeDecodeError as uerr:
        raise CorruptFileError(
            display_name(path, ctx),
            f"not UTF-8 text ({uerr.reason})",
            line=_line_of(data, uerr.start),
            offset=uerr.start,
        ) from uerr
    # Excel re-saves on Windows in cp1252; accept only if that decodes cleanly
    if err is not None and any(ord(c) < 32 and c not in "\r\n\t" for c in text):
        raise CorruptFileError(
            display_name(path, ctx),
            f"not UTF-8 text ({err.reason})",
            line=_line_of(data, err.start),
            offset=err.start,
        ) from err
    return text


def _records(reader: Iterator[list[str]], display: str, start: int) -> Iterator[tuple[int, list[str]]]:
    """``(start line, cells)`` of each non-blank record a :func:`csv.reader` yields.

    ``start`` is the line the next record starts on; a malformed record is a
    :class:`CorruptFileError` naming that line.
    """
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            why = str(err)
            if "unexpected end of data" in why:
                why = "a quoted cell starting in this record is never closed (unexpected end of file)"
            raise CorruptFileError(display, f"malformed CSV: {why}", line=start) from err
        if row and any(c.strip() for c in row):
            yield start, row
        start = reader.line_num + 1


def csv_rows(text: str, path: Path, ctx: ReadContext) -> Iterator[tuple[int, list[str]]]:
    """``(line number of the record's first line, cells)`` for each CSV record.

    Quoted cells may span lines (Strava descriptions); the line number is the
    one the record starts on. Blank lines are skipped.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    return _records(reader, display_name(path, ctx), 1)


def sniff_delimiter(header_line: str) -> str:
    """``;`` when the header has more semicolons than commas, else ``,``."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def open_csv(
    path: Path, display: str, notes: list[str] | None = None
) -> tuple[list[str], Iterator[tuple[int, dict[str, str]]]]:
    """Header (stripped) and an iterator of ``(line_number, row dict)``.

    The dict-per-row reader of the Oura and WHOOP CSVs (``,`` or ``;``
    separated). Line numbers are 1-based physical lines where the record
    starts. Rows with more cells than the header raise :class:`ConnectorError`;
    short rows are padded with empty strings (vendors drop trailing empty
    cells). A NUL byte anywhere is an error. Text that is not UTF-8 but valid
    Windows-1252 (an export re-saved by Excel) is read as such, with a note
    appended to ``notes``.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    if b"\x00" in raw:
        off = raw.index(b"\x00")
        raise ConnectorError(display, "binary data (NUL byte) in a CSV export", offset=off)
    try:
        text, not_utf8 = decode_export(raw)
    except UnicodeDecodeError as err:
        raise ConnectorError(
            display, f"not UTF-8 text: {err.reason}", line=_line_of(raw, err.start), offset=err.start
        ) from err
    if not_utf8 is not None and notes is not None:
        notes.append("not UTF-8: read as Windows-1252 (a file re-saved by Excel?)")
    first = text.split("\n", 1)[0]
    delim = sniff_delimiter(first)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, strict=True)
    try:
        header = [c.strip() for c in next(reader)]
    except StopIteration:
        raise ConnectorError(display, "empty file: expected a CSV header row", line=1) from None
    except csv.Error as err:
        raise ConnectorError(display, f"malformed CSV header: {err}", line=1) from err

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        for start, cells in _records(reader, display, reader.line_num + 1):
            if len(cells) > len(header):
                raise ConnectorError(
                    display,
                    f"{len(cells)} cells but the header has {len(header)}: expected one cell per column",
                    line=start,
                )
            cells = cells + [""] * (len(header) - len(cells))
            yield start, dict(zip(header, cells, strict=True))

    return header, rows()


def first_line(head: bytes) -> str:
    """First line of ``head`` as text (BOM stripped); '' when not text."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    line = head.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return line.decode("cp1252")
        except UnicodeDecodeError:
            return ""


def split_header(line: str) -> list[str]:
    try:
        return next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return []


def head_text(head: bytes) -> str | None:
    """``head`` decoded as UTF-8 (BOM stripped), or None when it is not text.

    Unlike :func:`first_line` the whole head is decoded (Oura and Apple
    Health sniff beyond the first line); a multi-byte character cut by the
    end of the head is dropped, and a NUL in the first 4 KiB means binary.
    """
    if b"\x00" in head[:4096]:
        return None
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a multi-byte char cut by the 64 KiB head
            try:  # a CSV re-saved by Excel on Windows
                return head.decode("cp1252")
            except UnicodeDecodeError:
                return None
        text = head[: err.start].decode("utf-8-sig", errors="strict")
    return text


def header_fields(head: bytes) -> list[str] | None:
    """The stripped header cells of a CSV head (``,`` or ``;``), or None when it is not CSV text."""
    text = head_text(head)
    if not text:
        return None
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first.strip():
        return None
    try:
        row = next(csv.reader([first], delimiter=sniff_delimiter(first)))
    except (csv.Error, StopIteration):
        return None
    return [c.strip() for c in row]


# --------------------------------------------------------------------- JSON


def json_head(head: bytes) -> bytes:
    """``head`` without a UTF-8 BOM and leading whitespace."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.lstrip()


def iter_json_items(path: Path, ctx: ReadContext, prefix: str) -> Iterator[tuple[int, Any]]:
    """``(index, record)`` for each item under ``prefix`` (ijson syntax), streaming.

    Memory is bounded by the largest single record. A syntax error becomes a
    :class:`CorruptFileError` naming the file, the line and column (for files
    up to :data:`LOCATE_ERROR_MAX_BYTES`) and the last good record index.
    """
    name = display_name(path, ctx)
    index = -1
    try:
        with open(path, "rb") as fh:
            for index, item in enumerate(ijson.items(fh, prefix, use_float=True)):
                yield index, item
    except ConnectorError:
        raise
    except (ijson.JSONError, UnicodeDecodeError, ValueError) as err:
        raise _json_syntax_error(path, name, index, err) from err


_NON_JSON_NUMBER = re.compile(r"[:\[,]\s*(-?Infinity|NaN)\b")


def _json_syntax_error(path: Path, name: str, last_index: int, err: Exception) -> CorruptFileError:
    after = f" after record {last_index}" if last_index >= 0 else " before the first record"
    line = col = None
    if path.stat().st_size <= LOCATE_ERROR_MAX_BYTES:
        text = ""
        try:
            text = path.read_bytes().decode("utf-8-sig")
            json.loads(text)
        except json.JSONDecodeError as jerr:
            line, col = jerr.lineno, jerr.colno
            detail = jerr.msg
        except UnicodeDecodeError as uerr:
            detail = f"not UTF-8 ({uerr.reason}) at byte {uerr.start}"
        else:
            detail = str(err).splitlines()[0] if str(err) else type(err).__name__
            # Python's json accepts NaN/Infinity, which JSON (and ijson) does not: locate it
            if (m := _NON_JSON_NUMBER.search(text)) is not None:
                line = text.count("\n", 0, m.start(1)) + 1
                col = m.start(1) - text.rfind("\n", 0, m.start(1))
                detail = f"{m.group(1)} is not a JSON number"
    else:
        detail = str(err).splitlines()[0] if str(err) else type(err).__name__
    where = f" (column {col})" if col is not None else ""
    return CorruptFileError(name, f"malformed JSON{where}{after}: {detail}", line=line)


def record_error(path: Path, ctx: ReadContext, index: int, field: str, message: str) -> BadRowError:
    """A :class:`BadRowError` naming the record index and the field."""
    return BadRowError(display_name(path, ctx), f"record {index}: {message}", column=field)


def require_dict(path: Path, ctx: ReadContext, index: int, item: Any, what: str) -> dict:
    if not isinstance(item, dict):
        raise record_error(
            path, ctx, index, "<record>", f"expected a JSON object ({what}), found {type(item).__name__}"
        )
    return item


def opt_number(path: Path, ctx: ReadContext, index: int, rec: dict, field: str) -> float | None:
    """A numeric field of a JSON record; None when absent or null."""
    raw = rec.get(field)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise record_error(path, ctx, index, field, f"expected a number, found {raw!r}")
    try:
        return parse_number(raw)
    except ValueError as err:
        raise record_error(path, ctx, index, field, str(err)) from err


def positive_or_none(v: float | None) -> float | None:
    """Vendors write 0 for "not measured" heart rates and loads."""
    return v if v is not None and v > 0 else None


# ------------------------------------------------------------------- frames

SESSION_COLUMNS: dict[str, pl.DataType] = {
    "athlete_id": pl.String(),
    "source": pl.String(),
    "start_utc": pl.Datetime("us", "UTC"),
    "local_date": pl.Date(),
    "sport": pl.String(),
    "duration_s": pl.Float64(),
    "distance_m": pl.Float64(),
    "avg_hr_bpm": pl.Float64(),
    "max_hr_bpm": pl.Float64(),
    "rpe": pl.Float64(),
    "device_load": pl.Float64(),
    "load_au": pl.Float64(),
    "load_method": pl.String(),
    "source_file": pl.String(),
    "sub_sport": pl.String(),
    "device_load_kind": pl.String(),
    "energy_kcal": pl.Float64(),
    "elapsed_s": pl.Float64(),
    "local_offset_s": pl.Int32(),
    "training_effect_aerobic": pl.Float64(),
    "training_effect_anaerobic": pl.Float64(),
    "auto_detected": pl.Boolean(),
}
SLEEP_COLUMNS: dict[str, pl.DataType] = {
    "athlete_id": pl.String(),
    "source": pl.String(),
    "start_utc": pl.Datetime("us", "UTC"),
    "end_utc": pl.Datetime("us", "UTC"),
    "wake_date": pl.Date(),
    "asleep_s": pl.Float64(),
    "deep_s": pl.Float64(),
    "light_s": pl.Float64(),
    "rem_s": pl.Float64(),
    "awake_s": pl.Float64(),
    "in_bed_s": pl.Float64(),
    "is_nap": pl.Boolean(),
    "source_file": pl.String(),
    "sleep_score": pl.Float64(),
}
WELLNESS_COLUMNS: dict[str, pl.DataType] = {
    "athlete_id": pl.String(),
    "source": pl.String(),
    "date": pl.Date(),
    "rhr_bpm": pl.Float64(),
    "hrv_rmssd_ms": pl.Float64(),
    "hrv_sdnn_ms": pl.Float64(),
    "source_file": pl.String(),
}


def frame(rows: list[dict], columns: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows (dicts with a subset of ``columns``) as a typed frame."""
    schema = pl.Schema(columns)
    if not rows:
        return pl.DataFrame(schema=schema)
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], schema=schema)


class RowBuffer:
    """Rows collected in chunks of typed frames, so memory grows by frame, not by dict.

    A 100 MB activities export holds ~100 000 records; as Python dicts they
    would cost several times what the same rows cost as columns.
    """

    CHUNK = 5000

    def __init__(self, columns: dict[str, pl.DataType]) -> None:
        self.columns = columns
        self.rows: list[dict] = []
        self.frames: list[pl.DataFrame] = []

    def append(self, row: dict) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.CHUNK:
            self.frames.append(frame(self.rows, self.columns))
            self.rows = []

    def __len__(self) -> int:
        return sum(f.height for f in self.frames) + len(self.rows)

    def to_frame(self) -> pl.DataFrame:
        parts = self.frames + [frame(self.rows, self.columns)]
        return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


def srpe_load(rpe: float | None, minutes: float | None) -> tuple[float | None, str | None]:
    """Session-RPE load ``CR10 x minutes`` [AU] (Foster 2001; domain brief section 1).

    Returns ``(None, None)`` when either input is missing, so a later stage can
    fill the fallback chain.
    """
    if rpe is None or minutes is None or minutes <= 0:
        return None, None
    return rpe * minutes, "srpe"
