"""The generic CSV import format: strainwatch's own documented format.

For coaches whose tracker has no connector yet. Three kinds of file, told apart
by their header row (never by the file name):

``sessions``
    ``athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km``, plus
    optional ``load`` (overrides the computed load) and ``max_hr``.
``sleep``
    ``athlete_id,sleep_start,sleep_end,total_sleep_min``, plus optional
    ``deep_min,light_min,rem_min,awake_min,is_nap``.
``daily``
    ``athlete_id,date,resting_hr,hrv_rmssd_ms`` (either physiology value may be
    empty), plus optional ``back_pain_0_10,soreness,red_flag`` (and
    ``hrv_sdnn_ms``, ``note``) and the self-report items
    ``soreness_1_5, fatigue_1_5, sleep_quality_1_5, mood_1_5, stress_1_5``
    (1 = the bad end), ``readiness_0_10`` and ``sleep_reported_h``.

Reading rules
-------------
* Column order does not matter; names are compared case- and
  whitespace-insensitively (``" Avg HR "`` is ``avg_hr``). Extra columns are
  ignored with a note naming them. Without an ``athlete_id`` column the
  athlete from the folder layout or ``--athlete`` is used (with a note).
* The separator (``,``, ``;`` or tab) is taken from the header line; with
  ``;`` or tab, decimal commas (``7,5``) are accepted. A UTF-8 BOM is accepted;
  bytes that are not UTF-8 are decoded as Windows-1252 with a note.
* Date-times are ISO 8601 (``2024-03-01T07:30:00+01:00``, ``...Z``,
  fractional seconds, a space instead of ``T``, seconds optional). A time
  without an offset is taken in the athlete's time zone (``ctx.tz``), or in
  UTC when none is known; either way the result carries a note. Local dates
  (``local_date`` of a session, ``wake_date`` of a night) are the calendar
  dates at the offset written in the file (or in ``ctx.tz``), so a night that
  crosses midnight belongs to the date on which it ends, and a night across a
  daylight-saving change lasts its true number of seconds.
* Session load is session-RPE, ``load_au = rpe * duration_min`` [R1]
  (``load_method="srpe"``, ``load_confidence="high"``); a ``load`` value wins
  (``load_method="manual"``, ``load_confidence="medium"`` as its unit family
  is unknown); with neither, ``load_au`` stays null for the load stage.
* A bad row (see :data:`LIMITS` and the checks below) raises
  :class:`~connectors.base.BadRowError` naming the file, the 1-based line in
  the file (correct with quoted multi-line values) and the column, unless
  ``ctx.on_bad_row`` is ``SKIP``: then bad rows are dropped, counted in
  ``ReadResult.skipped_rows`` and summarised in a note.

Parsing is vectorised with polars (all columns read as strings, then parsed
and validated column-wise); the exact line of a bad row is located only on the
error path.

References
----------
R1 Foster C et al. A new approach to monitoring exercise training. J Strength
Cond Res 2001;15:109-115 (session-RPE = CR10 rating x minutes).
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import polars as pl

from connectors.base import (
    BadRowError,
    ConnectorError,
    OnBadRow,
    ReadContext,
    ReadResult,
    UnknownFormatError,
)
from features.schemas import SESSIONS, SLEEP, WELLNESS

__all__ = ["FORMAT", "KINDS", "LIMITS", "detect", "read", "read_bytes", "read_many"]

FORMAT = "generic_csv"
SOURCE = "generic_csv"

#: Plausible ranges, inclusive (name: (low, high, unit)).
LIMITS: dict[str, tuple[float, float, str]] = {
    "hr": (20.0, 250.0, "bpm"),
    "rpe": (0.0, 10.0, "CR10"),
    "minutes": (0.0, 24 * 60.0, "min"),  # one session or one night: at most 24 h
    "pain": (0.0, 10.0, "0-10"),
    "item_1_5": (1.0, 5.0, "1-5"),  # self-report items, 1 = the bad end (features.schemas.SELF_REPORT_ITEMS)
    "hours": (0.0, 24.0, "h"),
    "hrv": (0.0, 500.0, "ms"),  # rMSSD / SDNN: > 0 and at most 500 ms
    "year": (1970, 2100, ""),  # as connectors.base.PLAUSIBLE_YEARS (no wearable data before 1970)
    "offset_h": (-18, 18, "h"),
}
#: asleep may exceed in bed by this much (minute rounding of total_sleep_min) [s]
ASLEEP_TOLERANCE_S = 60.0

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")
_SEPARATORS = (",", ";", "\t")
_TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}
_MAX_HEADER_CHARS = 65536


@dataclass(frozen=True)
class Kind:
    """One file kind of the generic CSV format."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    signature: frozenset[str]  # all of these columns identify the kind
    any_of: frozenset[str] = frozenset()  # ... plus at least one of these (when given)

    @property
    def format(self) -> str:
        return f"{FORMAT}_{self.name}"

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional

    def matches(self, cols: set[str]) -> bool:
        return self.signature <= cols and (not self.any_of or bool(self.any_of & cols))


KINDS: dict[str, Kind] = {
    "sessions": Kind(
        "sessions",
        required=("athlete_id", "start_time", "duration_min", "sport", "avg_hr", "rpe", "distance_km"),
        optional=("load", "max_hr"),
        signature=frozenset({"start_time", "duration_min"}),
    ),
    "sleep": Kind(
        "sleep",
        required=("athlete_id", "sleep_start", "sleep_end", "total_sleep_min"),
        optional=("deep_min", "light_min", "rem_min", "awake_min", "is_nap"),
        signature=frozenset({"sleep_start", "sleep_end"}),
    ),
    "daily": Kind(
        "daily",
        required=("athlete_id", "date", "resting_hr", "hrv_rmssd_ms"),
        optional=(
            "back_pain_0_10",
            "soreness",
            "red_flag",
            "hrv_sdnn_ms",
            "note",
            "soreness_1_5",
            "fatigue_1_5",
            "sleep_quality_1_5",
            "mood_1_5",
            "stress_1_5",
            "readiness_0_10",
            "sleep_reported_h",
        ),
        signature=frozenset({"date"}),
        any_of=frozenset({"resting_hr", "hrv_rmssd_ms"}),
    ),
}

_TS_PATTERN = (
    r"^(?P<d>\d{4}-\d{1,2}-\d{1,2})[Tt ](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
    r"(?:[.,](?P<f>\d+))?\s*(?P<z>[Zz]|[+-]\d{2}(?::?\d{2})?)?$"
)
_DATE_PATTERN = r"^\d{4}-\d{1,2}-\d{1,2}$"
_EOL = re.compile(r"\r\n|\r|\n")


# --------------------------------------------------------------------------- text level
def _norm(name: str) -> str:
    """Canonical column name: lower case, inner whitespace/hyphens as ``_``."""
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').strip().lower())


def _decode(raw: bytes) -> tuple[str, str | None]:
    """Decoded text and a note when the bytes were not plain UTF-8."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "file is UTF-16 encoded"
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as err:
        bad = err.start
    return (
        raw.decode("cp1252", errors="replace"),
        f"not valid UTF-8 (first bad byte at offset {bad}); decoded as Windows-1252",
    )


def _first_line(text: str) -> tuple[int, str]:
    """1-based number and content of the first non-blank line (the header)."""
    pos = 0
    lineno = 1
    n = len(text)
    while pos < n:
        m = _EOL.search(text, pos, min(n, pos + _MAX_HEADER_CHARS))
        end = m.start() if m else min(n, pos + _MAX_HEADER_CHARS)
        line = text[pos:end]
        if line.strip():
            return lineno, line
        if not m:
            break
        pos = m.end()
        lineno += 1
    return lineno, ""


def _sniff_separator(header: str) -> str:
    """The separator that occurs most often outside quotes in the header line."""
    counts = dict.fromkeys(_SEPARATORS, 0)
    quoted = False
    for ch in header:
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch in counts:
            counts[ch] += 1
    best = max(_SEPARATORS, key=lambda s: counts[s])  # ties: the earlier in _SEPARATORS
    return best if counts[best] else ","


def _split_header(header: str, sep: str) -> list[str]:
    try:
        return next(csv.reader([header], delimiter=sep, quotechar='"'), [])
    except csv.Error:
        return header.split(sep)


def _kind_of(cols: set[str]) -> Kind | None:
    """The kind whose signature the columns carry (most required columns present wins)."""
    hits = [k for k in KINDS.values() if k.matches(cols)]
    if not hits:
        return None
    return max(hits, key=lambda k: len(set(k.required) & cols) / len(k.required))


def closest_kind_hint(head: bytes) -> str | None:
    """For a CSV header no connector recognised: the generic-CSV kind it resembles most, and what it lacks.

    None when the first line does not look like a header of separated names
    (or shares no column with any kind). Never raises.
    """
    try:
        text, _ = _decode(head)
        _, header = _first_line(text)
        sep = _sniff_separator(header)
        found = [_norm(c) for c in _split_header(header, sep)]
        cols = set(found)
        if len(cols) < 2:
            return None
        scored = [(len(cols & set(k.columns)) + len(cols & k.signature), k) for k in KINDS.values()]
        best, kind = max(scored, key=lambda t: t[0])
        if best == 0:
            return None
        missing = [c for c in (*sorted(kind.signature), *kind.required) if c not in cols]
        missing = list(dict.fromkeys(missing))
        return (
            f"closest format: generic CSV {kind.name} file (docs/generic-csv.md), which needs the columns "
            f"{', '.join(kind.required)}; missing: {', '.join(missing)}; found: {', '.join(found[:12])}"
            + (" ..." if len(found) > 12 else "")
        )
    except Exception:  # noqa: BLE001 - only a hint
        return None


def detect(path: Path, head: bytes) -> bool:
    """True when the first line of ``head`` is a generic-CSV header (any kind).

    An empty (or whitespace-only) file with a ``.csv``/``.txt``/``.tsv`` name
    is also accepted, so that it is ledgered as an empty export rather than an
    unknown format. Never raises.
    """
    try:
        text, _ = _decode(head)
        if not text.strip():
            return len(head) < 4096 and Path(path).suffix.lower() in _TEXT_SUFFIXES
        _, header = _first_line(text)
        sep = _sniff_separator(header)
        cols = {_norm(c) for c in _split_header(header, sep)}
        return _kind_of(cols) is not None
    except Exception:  # a detector never raises
        return False


def _records_after_header(text: str, sep: str) -> Iterator[tuple[int, list[str]]]:
    """(start line, cells) of every record after the header; ``[]`` for a blank line.

    The header is the first record with a non-blank cell. Line numbers are
    1-based physical lines of the file; a quoted value with line breaks makes
    a record span several lines. The csv field size limit is raised while
    reading and restored afterwards.
    """
    old_limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', strict=False)
        prev = 0
        seen_header = False
        for row in reader:
            start, prev = prev + 1, reader.line_num
            if not seen_header:
                if row and any(c.strip() for c in row):
                    seen_header = True
                continue
            yield start, row
    finally:
        csv.field_size_limit(old_limit)


def _iter_record_lines(text: str, sep: str) -> Iterator[tuple[int, bool]]:
    """(start line, is blank) of every record after the header."""
    for start, row in _records_after_header(text, sep):
        yield start, not row


def _python_records(text: str, sep: str, ncols: int) -> tuple[list[list[str | None]], list[int], list[tuple[int, int]]]:
    """Slow path: every data record with its line; ragged records listed apart.

    Returns (rows, start lines, ragged (line, field count)). Trailing empty
    fields beyond the header (a separator at the end of each row) are dropped.
    """
    rows: list[list[str | None]] = []
    lines: list[int] = []
    ragged: list[tuple[int, int]] = []
    for start, row in _records_after_header(text, sep):
        if not row:
            continue
        while len(row) > ncols and not row[-1].strip():
            row.pop()
        if len(row) > ncols:
            ragged.append((start, len(row)))
            continue
        rows.append(row + [None] * (ncols - len(row)))
        lines.append(start)
    return rows, lines, ragged


# --------------------------------------------------------------------------- value parsing
def _num(col: str, decimal_comma: bool) -> pl.Expr:
    e = pl.col(col)
    if decimal_comma:
        e = e.str.replace(",", ".", literal=True)
    return e.cast(pl.Float64, strict=False)


def _bool(col: str) -> pl.Expr:
    low = pl.col(col).str.to_lowercase()
    return pl.when(low.is_in(_TRUE)).then(True).when(low.is_in(_FALSE)).then(False).otherwise(None)


@dataclass
class _Check:
    """One validation: ``bad`` is True on rows that fail."""

    column: str
    bad: pl.Expr
    label: str  # short reason for the skip summary
    describe: Callable[[str | None], str]  # raw cell value -> full message


class _Parser:
    """Builds parsed columns and checks over a string frame with canonical names.

    Nothing is computed here: ``stages`` lists the ``with_columns`` steps, so
    that parsing, checks and the output columns run in one polars query
    (:func:`read_bytes` collects it once; on the small files of a nightly drop
    the fixed cost of each polars round trip is what dominates), and the
    built program is reused for every file with the same header
    (:func:`_program`). Counts that a note or an error needs (values without a
    UTC offset, ambiguous local times) are boolean columns registered in
    ``count_columns`` and summed after the collect; ``notes`` holds strings
    and callables ``(counts, file name) -> str | None`` resolved in order then.
    """

    def __init__(self, columns: Iterable[str], decimal_comma: bool, tz: str | None) -> None:
        self.stages: list[list[pl.Expr]] = []
        self.columns = set(columns)
        self.decimal_comma = decimal_comma
        self.tz = tz
        self.checks: list[_Check] = []
        self.notes: list[str | Callable[[dict[str, int], str], str | None]] = []
        self.count_columns: list[str] = []

    def add(self, *exprs: pl.Expr) -> None:
        """One ``with_columns`` step."""
        self.stages.append(list(exprs))

    def has(self, col: str) -> bool:
        return col in self.columns

    def raw(self, col: str) -> pl.Expr:
        return pl.col(col) if self.has(col) else pl.lit(None, dtype=pl.String)

    def check(self, column: str, bad: pl.Expr, label: str, describe: Callable[[str | None], str]) -> None:
        self.checks.append(_Check(column, bad.fill_null(False), label, describe))

    def required_value(self, col: str, what: str) -> None:
        self.check(col, pl.col(col).is_null(), f"{col} empty", lambda _v: f"empty; {what} is required")

    def number(self, col: str, limits: str | None, *, required: bool = False, low_open: bool = False) -> str:
        """Add ``_n_<col>`` (Float64) with format and range checks; return its name."""
        out = f"_n_{col}"
        if not self.has(col):
            self.add(pl.lit(None, dtype=pl.Float64).alias(out))
            return out
        self.add(_num(col, self.decimal_comma).alias(out))
        v = pl.col(out)
        if required:
            self.required_value(col, "a number")
        hint = " (use ';' as separator for decimal commas)" if not self.decimal_comma else ""
        self.check(
            col,
            pl.col(col).is_not_null() & (v.is_null() | ~v.is_finite()),
            f"{col} not a number",
            lambda r: f"{r!r} is not a number{hint if r and ',' in r else ''}",
        )
        if limits:
            lo, hi, unit = LIMITS[limits]
            unit_txt = f" {unit}" if unit and unit not in ("0-10", "1-5") else ""
            bad = (v <= lo) if low_open else (v < lo)
            if low_open:
                rng = f"above {_fmt(lo)} and at most {_fmt(hi)}{unit_txt}"
            else:
                rng = f"{_fmt(lo)}-{_fmt(hi)}{unit_txt}"
            self.check(
                col,
                v.is_finite() & (bad | (v > hi)),
                f"{col} outside {rng}",
                lambda r, rng=rng: f"{r} is outside the plausible range ({rng})",
            )
        return out

    def boolean(self, col: str) -> str:
        out = f"_b_{col}"
        if not self.has(col):
            self.add(pl.lit(None, dtype=pl.Boolean).alias(out))
            return out
        self.add(_bool(col).alias(out))
        self.check(
            col,
            pl.col(col).is_not_null() & pl.col(out).is_null(),
            f"{col} not a boolean",
            lambda r: f"{r!r} is not a boolean (expected one of {', '.join(_TRUE + _FALSE)})",
        )
        return out

    def date(self, col: str) -> str:
        out = f"_d_{col}"
        self.required_value(col, "a date (YYYY-MM-DD)")
        s = pl.col(col).str.replace_all("/", "-", literal=True)
        parsed = pl.when(s.str.contains(_DATE_PATTERN)).then(s.str.to_date("%Y-%m-%d", strict=False))
        self.add(parsed.alias(out))
        lo, hi, _ = LIMITS["year"]
        d = pl.col(out)
        self.check(
            col,
            pl.col(col).is_not_null() & (d.is_null() | (d.dt.year() < lo) | (d.dt.year() > hi)),
            f"{col} unparseable",
            lambda r: f"{r!r} is not a date; expected YYYY-MM-DD in the years {lo}..{hi}, e.g. 2024-03-01",
        )
        return out

    def timestamp(self, col: str) -> tuple[str, str, str]:
        """Add ``_utc_<col>``, ``_local_<col>`` (naive local time) and ``_off_<col>`` [s]."""
        utc, local, off = f"_utc_{col}", f"_local_{col}", f"_off_{col}"
        self.required_value(col, "an ISO 8601 date-time")
        gcol = f"_g_{col}"  # the regex runs once, not once per field
        self.add(pl.col(col).str.extract_groups(_TS_PATTERN).alias(gcol))
        g = pl.col(gcol)
        parts = {k: g.struct.field(k) for k in ("d", "h", "m", "s", "f", "z")}
        date = parts["d"].str.to_date("%Y-%m-%d", strict=False)
        h = parts["h"].cast(pl.Int64, strict=False)
        m = parts["m"].cast(pl.Int64, strict=False)
        sec = parts["s"].cast(pl.Int64, strict=False).fill_null(0)
        us = parts["f"].str.slice(0, 6).str.pad_end(6, "0").cast(pl.Int64, strict=False).fill_null(0)
        z = parts["z"]
        sign = pl.when(z.str.starts_with("-")).then(-1).otherwise(1)
        digits = z.str.replace_all(r"[^0-9]", "")
        off_h = digits.str.slice(0, 2).cast(pl.Int64, strict=False)
        off_m = digits.str.slice(2, 2).cast(pl.Int64, strict=False).fill_null(0)
        off_s = (
            pl.when(z.is_null())
            .then(None)
            .when(z.str.to_uppercase() == "Z")
            .then(0)
            .otherwise(sign * (off_h * 3600 + off_m * 60))
        )
        ok_clock = (h < 24) & (m < 60) & (sec < 60)
        naive = pl.when(ok_clock).then(
            date.cast(pl.Datetime("us")) + pl.duration(hours=h, minutes=m, seconds=sec, microseconds=us)
        )
        lo, hi, _ = LIMITS["year"]
        self.add(naive.alias(local), off_s.cast(pl.Int64).alias(off), off_m.alias(f"_offm_{col}"))
        n = pl.col(local)
        example = "e.g. 2024-03-01T07:30:00+01:00"
        self.check(
            col,
            pl.col(col).is_not_null() & (n.is_null() | (n.dt.year() < lo) | (n.dt.year() > hi)),
            f"{col} unparseable",
            lambda r: f"{r!r} is not an ISO 8601 date-time; expected {example} (years {lo}..{hi})",
        )
        olo, ohi, _ = LIMITS["offset_h"]
        o = pl.col(off)
        self.check(
            col,
            n.is_not_null() & ((o < olo * 3600) | (o > ohi * 3600) | (pl.col(f"_offm_{col}") >= 60)),
            f"{col} bad UTC offset",
            lambda r: f"{r!r} has an impossible UTC offset",
        )

        # values without a UTC offset: counted after the collect (a note, or the error below)
        naive_col = f"_naive_{col}"
        self.add((n.is_not_null() & o.is_null()).alias(naive_col))
        self.count_columns.append(naive_col)
        aware_utc = (n - pl.duration(seconds=o)).dt.replace_time_zone("UTC")
        tz = self.tz
        if tz and _tz_ok(tz):
            # local-time parsing is built whenever a zone is known; with no naive value it
            # yields nothing (every use below is masked by o.is_null()), as before
            zoned = n.dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
            naive_utc = zoned.dt.convert_time_zone("UTC")
            self.notes.append(
                lambda c, _name, k=naive_col: (
                    f"{col}: {c[k]} value(s) without a UTC offset were taken as local time in {tz}" if c[k] else None
                )
            )
            self.check(
                col,
                n.is_not_null() & o.is_null() & naive_utc.is_null(),
                f"{col} not a local time in {tz}",
                lambda r: f"{r!r} does not exist in {tz} (clocks moved forward); add a UTC offset",
            )
            strict = n.dt.replace_time_zone(tz, ambiguous="null", non_existent="null")
            amb_col = f"_ambiguous_{col}"
            self.add((n.is_not_null() & o.is_null() & zoned.is_not_null() & strict.is_null()).alias(amb_col))
            self.count_columns.append(amb_col)
            self.notes.append(
                lambda c, _name, k=naive_col, a=amb_col: (
                    f"{col}: {c[a]} local time(s) fall in the hour repeated when clocks go back in "
                    f"{tz}; the first (summer-time) instant was taken"
                    if c[k] and c[a]
                    else None
                )
            )
        else:
            naive_utc = n.dt.replace_time_zone("UTC")
            if tz:  # not a zone name: an error only if some value needs it

                def bad_zone(c: dict[str, int], name: str, k: str = naive_col) -> str | None:
                    if c[k]:
                        raise ConnectorError(
                            name,
                            f"{col}: times without a UTC offset need the athlete's "
                            f"time zone, but {tz!r} is not an IANA time zone "
                            "name such as Europe/Berlin",
                        )
                    return None

                self.notes.append(bad_zone)
            else:
                self.notes.append(
                    lambda c, _name, k=naive_col: (
                        f"{col}: {c[k]} value(s) without a UTC offset were taken as UTC "
                        "(no athlete time zone known; pass --tz or add offsets such as +01:00)"
                        if c[k]
                        else None
                    )
                )
        self.add(pl.when(o.is_not_null()).then(aware_utc).otherwise(naive_utc).alias(utc))
        self.add(
            pl.when(o.is_not_null())
            .then(o)
            .otherwise((n - pl.col(utc).dt.replace_time_zone(None)).dt.total_seconds())
            .cast(pl.Int32)
            .alias(off)
        )
        return utc, local, off


def _fmt(x: float) -> str:
    return f"{x:g}"


#: Up to this many rows the parse query runs without the query optimiser: on a file of a few
#: rows optimising the plan costs more than running it (same results, as optimisations do not
#: change them); bigger files get the default optimisations (common subexpressions etc.).
_SMALL_ROWS = 2048
_SMALL_OPT = pl.QueryOptFlags.none()


@cache
def _tz_ok(tz: str) -> bool:
    """True when ``tz`` is an IANA zone name that both zoneinfo and polars know."""
    try:
        zoneinfo.ZoneInfo(tz)
        pl.Series([0], dtype=pl.Datetime("us")).dt.replace_time_zone(tz)
    except Exception:  # ZoneInfoNotFoundError, ValueError, polars' ComputeError
        return False
    return True


# --------------------------------------------------------------------------- kinds
def _sessions(p: _Parser) -> pl.DataFrame:
    utc, local, off = p.timestamp("start_time")
    dur = p.number("duration_min", "minutes", required=True)
    avg = p.number("avg_hr", "hr")
    mx = p.number("max_hr", "hr")
    rpe = p.number("rpe", "rpe")
    dist = p.number("distance_km", None)
    p.check("distance_km", pl.col(dist) < 0, "distance_km negative", lambda r: f"{r} is negative")
    load = p.number("load", None)
    p.check("load", pl.col(load) < 0, "load negative", lambda r: f"{r} is negative")
    has_load = pl.col(load).is_not_null()
    has_rpe = pl.col(rpe).is_not_null()
    sport = p.raw("sport").str.to_lowercase()
    return [
        pl.col("athlete_id"),
        pl.lit(SOURCE).alias("source"),
        pl.col(utc).alias("start_utc"),
        pl.col(local).dt.date().alias("local_date"),
        sport.alias("sport"),
        (pl.col(dur) * 60.0).alias("duration_s"),
        (pl.col(dist) * 1000.0).alias("distance_m"),
        pl.col(avg).alias("avg_hr_bpm"),
        pl.col(mx).alias("max_hr_bpm"),
        pl.col(rpe).alias("rpe"),
        pl.lit(None, dtype=pl.Float64).alias("device_load"),
        pl.when(has_load).then(pl.col(load)).when(has_rpe).then(pl.col(rpe) * pl.col(dur)).alias("load_au"),
        pl.when(has_load).then(pl.lit("manual")).when(has_rpe).then(pl.lit("srpe")).alias("load_method"),
        pl.when(has_load).then(pl.lit("medium")).when(has_rpe).then(pl.lit("high")).alias("load_confidence"),
        pl.col(off).alias("local_offset_s"),
    ]


def _sleep(p: _Parser) -> pl.DataFrame:
    s_utc, _s_local, _ = p.timestamp("sleep_start")
    e_utc, e_local, _ = p.timestamp("sleep_end")
    total = p.number("total_sleep_min", "minutes", required=True)
    stages = {c: p.number(c, "minutes") for c in ("deep_min", "light_min", "rem_min", "awake_min")}
    nap = p.boolean("is_nap")
    # whole seconds plus the fraction: the same value however many rows are computed together
    # (polars divides one value exactly but multiplies longer columns by the reciprocal)
    span_us = (pl.col(e_utc) - pl.col(s_utc)).dt.total_microseconds()
    in_bed = (span_us // 1_000_000).cast(pl.Float64) + (span_us % 1_000_000) / 1e6
    p.add(in_bed.alias("_in_bed_s"))
    ib = pl.col("_in_bed_s")
    p.check("sleep_end", ib <= 0, "sleep_end not after sleep_start", lambda r: f"{r!r} is not after sleep_start")
    p.check(
        "sleep_end", ib > 24 * 3600, "sleep longer than 24 h", lambda r: f"{r!r} is more than 24 h after sleep_start"
    )
    p.check(
        "total_sleep_min",
        (ib > 0) & (pl.col(total) * 60.0 > ib + ASLEEP_TOLERANCE_S),
        "asleep longer than in bed",
        lambda r: f"{r} min asleep is longer than the time in bed (sleep_end - sleep_start)",
    )
    return [
        pl.col("athlete_id"),
        pl.lit(SOURCE).alias("source"),
        pl.col(s_utc).alias("start_utc"),
        pl.col(e_utc).alias("end_utc"),
        pl.col(e_local).dt.date().alias("wake_date"),
        (pl.col(total) * 60.0).alias("asleep_s"),
        *[(pl.col(stages[c]) * 60.0).alias(c.replace("_min", "_s")) for c in stages],
        ib.alias("in_bed_s"),
        pl.col(nap).fill_null(False).alias("is_nap"),
    ]


def _daily(p: _Parser) -> pl.DataFrame:
    d = p.date("date")
    rhr = p.number("resting_hr", "hr")
    rmssd = p.number("hrv_rmssd_ms", "hrv", low_open=True)
    sdnn = p.number("hrv_sdnn_ms", "hrv", low_open=True)
    pain = p.number("back_pain_0_10", "pain")
    sore = p.number("soreness", "pain")
    flag = p.boolean("red_flag")
    items = {
        c: p.number(c, "pain" if c == "readiness_0_10" else "item_1_5")
        for c in ("soreness_1_5", "fatigue_1_5", "sleep_quality_1_5", "mood_1_5", "stress_1_5", "readiness_0_10")
    }
    reported = p.number("sleep_reported_h", "hours")
    return [
        pl.col("athlete_id"),
        pl.lit(SOURCE).alias("source"),
        pl.col(d).alias("date"),
        pl.col(rhr).alias("rhr_bpm"),
        pl.col(rmssd).alias("hrv_rmssd_ms"),
        pl.col(sdnn).alias("hrv_sdnn_ms"),
        pl.col(pain).alias("back_pain_0_10"),
        pl.col(sore).alias("soreness"),
        pl.col(flag).alias("red_flag"),
        p.raw("note").alias("note"),
        *(pl.col(v).alias(c) for c, v in items.items()),
        pl.col(reported).alias("sleep_reported_h"),
    ]


_BUILDERS = {"sessions": _sessions, "sleep": _sleep, "daily": _daily}
_SCHEMAS = {"sessions": SESSIONS, "sleep": SLEEP, "wellness": WELLNESS}
_TABLE = {"sessions": "sessions", "sleep": "sleep", "daily": "wellness"}
_KEYS = {"sessions": ["athlete_id", "start_utc"], "sleep": ["athlete_id", "start_utc"], "daily": ["athlete_id", "date"]}


# --------------------------------------------------------------------------- read
def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one generic-CSV file (sessions, sleep or daily, told by its header).

    Parameters
    ----------
    path : Path
        The file.
    ctx : ReadContext
        ``athlete_id`` for rows whose ``athlete_id`` is empty, ``tz`` for
        date-times without an offset, ``on_bad_row`` and ``source_name``.

    Returns
    -------
    ReadResult
        ``format`` is ``generic_csv_sessions``, ``generic_csv_sleep`` or
        ``generic_csv_daily`` (``generic_csv`` for an empty file); the rows
        are in ``sessions``, ``sleep`` or ``wellness``.

    Raises
    ------
    BadRowError
        A missing required column (line of the header), a ragged row or a
        value outside what the format allows (its line and column), unless
        ``ctx.on_bad_row`` is ``SKIP`` for row-level problems.
    UnknownFormatError
        The header is not one of the three generic-CSV headers.
    ConnectorError
        The file cannot be read at all.
    """
    name = ctx.source_name or str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as err:
        raise ConnectorError(name, f"cannot read file: {err.strerror or err}") from err
    return read_bytes(raw, ctx, name=name)


def read_bytes(raw: bytes, ctx: ReadContext, *, name: str) -> ReadResult:
    """:func:`read` on the bytes of a file already in memory (``name`` for messages)."""
    prep = _prepare(raw, ctx, name)
    if isinstance(prep, ReadResult):
        return prep
    out = _read_group([prep])[0]
    if isinstance(out, BaseException):
        raise out
    return out


def read_many(items: Sequence[tuple[Path, ReadContext]]) -> list[ReadResult | Exception]:
    """:func:`read` on many files at once: one result or exception per file, in order.

    Files with the same header, separator and time zone are parsed and
    checked together in one polars query, which on small files (a nightly
    drop of one-row exports) costs a fraction of one query per file. Every
    file gets exactly what :func:`read` would return or raise (its notes,
    lines and columns in error messages are its own); a bad file does not
    affect the others.
    """
    results: list[ReadResult | Exception | None] = [None] * len(items)
    groups: dict[tuple, list[tuple[int, _Prepared]]] = {}
    for idx, (path, ctx) in enumerate(items):
        name = ctx.source_name or str(path)
        try:
            try:
                raw = Path(path).read_bytes()
            except OSError as err:
                raise ConnectorError(name, f"cannot read file: {err.strerror or err}") from err
            prep = _prepare(raw, ctx, name)
        except Exception as err:  # noqa: BLE001 - handed back per file
            results[idx] = err
            continue
        if isinstance(prep, ReadResult):
            results[idx] = prep
            continue
        key = (prep.kind.name, tuple(prep.cols), prep.sep, prep.ctx.tz, prep.line_col)
        groups.setdefault(key, []).append((idx, prep))
    for members in groups.values():
        for (idx, _), res in zip(members, _read_group([m for _, m in members]), strict=True):
            results[idx] = res
    return results  # type: ignore[return-value]


@dataclass
class _Prepared:
    """A file after its header and cells were read as strings (before parsing)."""

    name: str
    ctx: ReadContext
    text: str
    sep: str
    cols: list[str]
    kind: Kind
    keep: dict[str, str]  # __c<i> -> canonical column name
    notes: list[str]
    athlete_from_ctx: bool
    df: pl.DataFrame  # all cells as strings (__c<i>), __row and __line on the slow path
    line_col: bool
    ragged: int


def _prepare(raw: bytes, ctx: ReadContext, name: str) -> _Prepared | ReadResult:
    """Text-level work on one file: encoding, header, kind, columns, cells as strings."""
    text, enc_note = _decode(raw)
    notes: list[str] = [enc_note] if enc_note else []
    if not text.strip():
        return ReadResult(format=FORMAT, warnings=notes + ["empty file: no header, no rows"])
    if "\r" in text and "\n" not in text:  # classic Mac line ends
        text = text.replace("\r", "\n")
    header_no, header = _first_line(text)
    sep = _sniff_separator(header)
    fields = _split_header(header, sep)
    cols = [_norm(c) for c in fields]
    kind = _kind_of(set(cols))
    if kind is None:
        shown = ", ".join(repr(c) for c in fields[:12]) + (" ..." if len(fields) > 12 else "")
        raise UnknownFormatError(
            name,
            "not a generic CSV header; expected one of: "
            + "; ".join(",".join(k.required) for k in KINDS.values())
            + f" (found: {shown})",
            line=header_no,
        )

    # ---- columns: missing, duplicate, extra
    athlete_from_ctx = False
    missing = [c for c in kind.required if c not in cols]
    if missing == ["athlete_id"] and ctx.athlete_id:
        athlete_from_ctx = True
        missing = []
        notes.append(f"no athlete_id column: every row belongs to athlete {ctx.athlete_id!r}")
    if missing:
        raise BadRowError(
            name,
            f"missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} for a generic "
            f"{kind.name} file; found columns: {', '.join(c for c in cols if c)}",
            line=header_no,
            column=missing[0],
        )
    known = set(kind.columns)
    seen: dict[str, str] = {}
    for orig, c in zip(fields, cols, strict=True):
        if c in known and c in seen:
            raise BadRowError(
                name, f"column {c!r} appears twice (as {seen[c]!r} and {orig!r})", line=header_no, column=c
            )
        seen.setdefault(c, orig)
    extra = [f for f, c in zip(fields, cols, strict=True) if c not in known and c]
    if extra:
        notes.append(
            "ignored column(s) not in the generic " + kind.name + " format: " + ", ".join(repr(x) for x in extra)
        )

    # ---- strings: fast path (polars), slow path (csv module) on ragged rows
    if text.count('"') % 2:
        _check_unclosed_quote(text, sep, name)
    df, line_col, ragged = _read_strings(text, sep, len(cols), name, ctx, notes)
    keep = {f"__c{i}": c for i, c in enumerate(cols) if c in known and seen.get(c) == fields[i]}
    return _Prepared(name, ctx, text, sep, cols, kind, keep, notes, athlete_from_ctx, df, line_col, ragged)


def _per_file(values: list, file_col: str) -> pl.Expr:
    """A per-file value (``values[i]`` for file i) on every row, from the ``__file`` column."""
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(pl.col(file_col))


def _read_group(preps: list[_Prepared]) -> list[ReadResult | Exception]:
    """Parse and check files with one header, separator and time zone in one polars query."""
    p0 = preps[0]
    n = len(preps)
    kind, cols, keep, line_col = p0.kind, p0.cols, p0.keep, p0.line_col
    heights = [p.df.height for p in preps]
    frames = [p.df for p in preps]
    if n == 1:
        df = frames[0]
        extra: list[pl.Expr] = []
    else:
        df = pl.concat(frames, how="vertical").hstack(
            [pl.Series("__file", np.repeat(np.arange(n, dtype=np.uint32), heights))]
        )
        extra = [pl.col("__file")]
        if not line_col:
            df = df.hstack([pl.Series("__row", np.concatenate([np.arange(h, dtype=np.uint32) for h in heights]))])
    stripped = {v: pl.col(k).str.strip_chars() for k, v in keep.items()}
    row_index = pl.col("__row") if "__row" in df.columns else pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row")
    small = df.height <= _SMALL_ROWS
    pre = (
        df.lazy()
        .select(
            [pl.when(e != "").then(e).alias(v) for v, e in stripped.items()]  # empty cell -> null
            + [row_index, *([pl.col("__line")] if line_col else []), *extra]
        )
        .filter(pl.any_horizontal([pl.col(c).is_not_null() for c in keep.values()]))  # blank lines
        .collect(optimizations=_SMALL_OPT if small else pl.QueryOptFlags())
    )
    has_athlete = "athlete_id" in pre.columns
    if n == 1:
        per_file_rows = [pre.height]
        nulls = [pre["athlete_id"].null_count() if has_athlete else pre.height]
    else:
        fidx = pre["__file"].to_numpy()
        per_file_rows = np.bincount(fidx, minlength=n).tolist()
        nulls = (
            np.bincount(fidx[pre["athlete_id"].is_null().to_numpy()], minlength=n).tolist()
            if has_athlete
            else per_file_rows
        )
    for p, filled in zip(preps, nulls, strict=True):
        if p.ctx.athlete_id and filled and not p.athlete_from_ctx:
            p.notes.append(f"athlete_id: {filled} empty cell(s) taken as athlete {p.ctx.athlete_id!r}")

    prog = _program(kind.name, tuple(cols), p0.sep != ",", p0.ctx.tz)
    final = None
    if pre.height:
        lf = pre.lazy()
        ids = {p.ctx.athlete_id for p in preps}
        if len(ids) == 1:
            ctx_athlete: pl.Expr = pl.lit(p0.ctx.athlete_id, dtype=pl.String)
        else:
            ctx_athlete = _per_file([p.ctx.athlete_id for p in preps], "__file")
        if not has_athlete:
            lf = lf.with_columns(ctx_athlete.alias("athlete_id"))
        elif ids != {None}:
            lf = lf.with_columns(pl.col("athlete_id").fill_null(ctx_athlete))
        for stage in prog.stages:
            lf = lf.with_columns(stage)
        source_file = (
            pl.lit(p0.name, dtype=pl.String) if n == 1 else _per_file([p.name for p in preps], "__file")
        ).alias("source_file")
        # ---- one polars query: output columns, one flag column per check, counts for the notes
        final = (
            lf.with_columns(prog.flags)
            .select(*[source_file if e is None else e for e in prog.out], *prog.tail)
            .collect(optimizations=_SMALL_OPT if pre.height <= _SMALL_ROWS else pl.QueryOptFlags())
        )
    results: list[ReadResult | Exception] = []
    lo = 0
    for p, h in zip(preps, per_file_rows, strict=True):
        try:
            if h == 0:
                results.append(ReadResult(format=kind.format, warnings=p.notes + ["no data rows (header only)"]))
            else:
                assert final is not None
                results.append(
                    _finish(p, prog, pre.slice(lo, h) if n > 1 else pre, final.slice(lo, h) if n > 1 else final)
                )
        except Exception as err:  # noqa: BLE001 - handed back per file
            results.append(err)
        lo += h
    return results


def _finish(p: _Prepared, prog: _Program, pre: pl.DataFrame, final: pl.DataFrame) -> ReadResult:
    """One file's notes, validation and result from its rows of the group query."""
    name, ctx, notes, kind = p.name, p.ctx, p.notes, p.kind
    checks, flag_names = prog.checks, prog.flag_names
    counts = {c: int(final[c].sum()) for c in prog.count_columns}
    for note in prog.notes:
        text_note = note(counts, name) if callable(note) else note  # may raise (an unknown time zone)
        if text_note:
            notes.append(text_note)
    out = final[final.columns[: len(prog.out)]]

    # ---- validation
    any_bad = final["__any_bad"]
    n_bad = int(any_bad.sum())
    skipped = 0
    if n_bad:
        bad_pos = any_bad.arg_true()
        lines = _lines_for(
            pre,
            bad_pos[: (1 if ctx.on_bad_row != OnBadRow.SKIP else 5)].to_list(),
            p.text,
            p.sep,
            p.line_col,
            p.df.height,
        )
        if ctx.on_bad_row != OnBadRow.SKIP:
            i = int(bad_pos[0])
            k = next(j for j in range(len(checks)) if final[i, flag_names[j]])
            chk = checks[k]
            raw_val = pre[i, chk.column] if chk.column in pre.columns else None
            if chk.column == "athlete_id" and raw_val is None:
                raw_val = ctx.athlete_id  # the parsed frame's value (filled from the context)
            raise BadRowError(name, chk.describe(raw_val) + _policy_hint(), line=lines[0], column=chk.column)
        bad_counts = final.filter(any_bad).select(pl.col(f).sum() for f in flag_names).row(0)
        by_reason: dict[str, int] = {}
        for chk, cnt in zip(checks, bad_counts, strict=True):
            if cnt:
                by_reason[chk.label] = by_reason.get(chk.label, 0) + int(cnt)
        reasons = ", ".join(f"{lbl}: {n}" for lbl, n in by_reason.items())
        shown = ", ".join(str(x) for x in lines) + (", ..." if n_bad > len(lines) else "")
        notes.append(f"skipped {n_bad} bad row(s) (line {shown}; {reasons})")
        out = out.filter(~any_bad)
        skipped = n_bad
    key = _KEYS[kind.name]
    repeated = out.height - _n_unique(out, key) if out.height > 1 else 0
    if repeated:
        notes.append(f"{repeated} row(s) repeat the {' and '.join(key)} of an earlier row; the last one is kept")
    table = _TABLE[kind.name]
    return ReadResult(format=kind.format, **{table: out}, skipped_rows=skipped + p.ragged, warnings=notes)


@dataclass(frozen=True)
class _Program:
    """What :class:`_Parser` built for one header: reused for every file with that header."""

    stages: tuple[list[pl.Expr], ...]  # with_columns steps
    out: tuple[pl.Expr | None, ...]  # output columns in table schema order; None: source_file
    checks: tuple[_Check, ...]  # in reporting order (column order of the header, then as added)
    flag_names: tuple[str, ...]
    flags: tuple[pl.Expr, ...]  # one boolean column per check
    tail: tuple[pl.Expr, ...]  # flag columns, __any_bad, count columns (after the output)
    count_columns: tuple[str, ...]
    notes: tuple


@lru_cache(maxsize=256)
def _program(kind: str, cols: tuple[str, ...], decimal_comma: bool, tz: str | None) -> _Program:
    """Parse and check expressions for a header (canonical column names ``cols``) of ``kind``.

    The expressions depend only on the header, the separator and the time
    zone, so files of one export series share them.
    """
    known = set(KINDS[kind].columns)
    has = [c for c in cols if c in known] + ["athlete_id"]
    p = _Parser(has, decimal_comma=decimal_comma, tz=tz)
    p.required_value("athlete_id", "an athlete id (or --athlete / an athlete folder)")
    built = _BUILDERS[kind](p)
    # the output as features.schemas.conform would make it (schema order, dtypes, missing columns
    # as typed nulls, extra columns after), so that ReadResult's conform has nothing left to do
    dummy = pl.LazyFrame(schema={**{c: pl.String for c in has}, "__row": pl.UInt32})
    for stage in p.stages:
        dummy = dummy.with_columns(stage)
    produced = dict(zip(dummy.select(built).collect_schema().items(), built, strict=True))
    dtypes = {name: dt for name, dt in produced}
    exprs = {name: e for (name, _), e in produced.items()}
    target = _SCHEMAS[_TABLE[kind]].columns
    out: list[pl.Expr | None] = []
    for c, dt in target.items():
        if c == "source_file":
            out.append(None)
        elif c in exprs:
            out.append(exprs[c] if dtypes[c] == dt else exprs[c].cast(dt, strict=True))
        else:
            out.append(pl.lit(None, dtype=dt).alias(c))
    out += [e for c, e in exprs.items() if c not in target]
    order = {c: i for i, c in enumerate(cols)}
    checks = sorted(enumerate(p.checks), key=lambda ic: (order.get(ic[1].column, -1), ic[0]))
    checks = [c for _, c in checks]
    flag_names = [f"__k{i}" for i in range(len(checks))]
    tail = (
        *[pl.col(f) for f in flag_names],
        pl.any_horizontal(flag_names).alias("__any_bad"),
        *[pl.col(c) for c in p.count_columns],
    )
    return _Program(
        _layers(p.stages),
        tuple(out),
        tuple(checks),
        tuple(flag_names),
        tuple(c.bad.alias(f) for c, f in zip(checks, flag_names, strict=True)),
        tail,
        tuple(p.count_columns),
        tuple(p.notes),
    )


def _layers(stages: list[list[pl.Expr]]) -> tuple[list[pl.Expr], ...]:
    """The ``with_columns`` steps regrouped into as few steps as the dependencies allow.

    An expression joins the current step unless it reads a column that the
    step computes, or writes a column that the step already writes (all
    expressions of one ``with_columns`` see its input frame). Each step is a
    fixed cost when the query runs, which is what matters on small files.
    """
    layers: list[list[pl.Expr]] = []
    current: list[pl.Expr] = []
    written: set[str] = set()
    for stage in stages:
        for e in stage:
            name = e.meta.output_name()
            if current and (name in written or written & set(e.meta.root_names())):
                layers.append(current)
                current, written = [], set()
            current.append(e)
            written.add(name)
    if current:
        layers.append(current)
    return tuple(layers)


def _n_unique(df: pl.DataFrame, key: list[str]) -> int:
    """Number of distinct ``key`` tuples (nulls equal), without a polars query on a few rows."""
    if df.height <= 64:
        return len(set(zip(*(df.get_column(k).to_list() for k in key), strict=True)))
    first = df.get_column(key[0])
    if len(key) == 2 and first.null_count() == 0 and first.min() == first.max():
        # one athlete in the file (the usual export): the distinct pairs are the distinct second values
        # (a null counts as one value there too); 40x faster than hashing a struct per row
        return df.get_column(key[1]).n_unique()
    return df.select(pl.struct(key).n_unique()).item()


def _policy_hint() -> str:
    return " (the file was not ingested; fix the row or use --on-bad-row skip)"


def _read_strings(
    text: str, sep: str, ncols: int, name: str, ctx: ReadContext, notes: list[str]
) -> tuple[pl.DataFrame, bool, int]:
    """All cells as strings; ``__row`` (record index) and ``__line`` on the slow path.

    Returns the frame, whether it has ``__line``, and the number of ragged
    rows dropped (``SKIP`` policy only).
    """
    try:
        df = pl.read_csv(
            text.encode("utf-8"),
            separator=sep,
            has_header=True,
            infer_schema=False,
            quote_char='"',
            raise_if_empty=False,
            skip_rows=0,
        )
        if df.width == ncols and all(dt == pl.String for dt in df.dtypes):
            df.columns = [f"__c{i}" for i in range(ncols)]
            return df, False, 0  # read_bytes adds __row
    except pl.exceptions.PolarsError:
        pass
    rows, lines, ragged = _python_records(text, sep, ncols)
    if ragged:
        line, nfields = ragged[0]
        if ctx.on_bad_row != OnBadRow.SKIP:
            raise BadRowError(
                name,
                f"row has {nfields} fields but the header has {ncols} (a value "
                f"containing {sep!r} must be quoted)" + _policy_hint(),
                line=line,
            )
        notes.append(
            f"skipped {len(ragged)} row(s) with too many fields (line "
            + ", ".join(str(ln) for ln, _ in ragged[:5])
            + (", ..." if len(ragged) > 5 else "")
            + ")"
        )
    data = {f"__c{i}": [r[i] for r in rows] for i in range(ncols)}
    df = pl.DataFrame(data, schema={k: pl.String for k in data}).with_columns(
        pl.int_range(pl.len(), dtype=pl.UInt32).alias("__row"),
        pl.Series("__line", lines, dtype=pl.Int64),
    )
    return df, True, len(ragged)


def _check_unclosed_quote(text: str, sep: str, name: str) -> None:
    """Raise when a quoted value runs to the end of the file (its closing quote is missing).

    Such a value would swallow every later row into one cell. Called only when
    the file has an odd number of ``"`` (a literal quote inside an unquoted
    value, as in ``6'2"``, is legal and passes).
    """
    old_limit = csv.field_size_limit()
    csv.field_size_limit(1 << 30)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quotechar='"', strict=True)
    prev = 0
    try:
        for _row in reader:
            prev = reader.line_num
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise BadRowError(
                name,
                "a quoted value starting on this line has no closing '\"' (every later row would be read into it)",
                line=prev + 1,
            ) from None
    finally:
        csv.field_size_limit(old_limit)


def _lines_for(
    df: pl.DataFrame, positions: list[int], text: str, sep: str, line_col: bool, n_records: int
) -> list[int]:
    """1-based file lines of the rows at ``positions`` of the (filtered) frame ``df``.

    ``n_records`` is the number of records polars returned: blank lines are
    records for polars 2 (all null); matching the count keeps the mapping
    right if a polars version skips them instead.
    """
    if line_col:
        return [int(df[i, "__line"]) for i in positions]
    rows = [int(df[i, "__row"]) for i in positions]
    if not rows:
        return []
    records = [r for r in _iter_record_lines(text, sep)]
    nonblank = [r for r in records if not r[1]]
    seq = nonblank if len(nonblank) == n_records and len(records) != n_records else records
    return [seq[r][0] if r < len(seq) else r + 2 for r in rows]
