"""Apple Health ``export.xml`` (Health app > profile > *Export All Health Data*).

The export is one XML document ``<HealthData>`` (often several gigabytes) with
an internal DTD, then millions of ``Record`` elements, ``Workout`` elements
and ``ActivitySummary`` elements.

Streaming and safety
--------------------
The file is parsed with the expat push parser (the C parser behind
``xml.etree`` and ``defusedxml``) in 1 MiB chunks; elements are never kept, only
the few attributes of the records we use, so memory is bounded by the number of
*relevant* records (a few per day), not by the file size.

* The internal DTD is not parsed: it only declares elements and attributes,
  and in iOS 16 exports (HealthKit Export Version 12) it is malformed (the
  ``<!ATTLIST VisionPrescription`` declaration lacks its ``>``), which makes
  strict parsers reject the whole file. It is blanked out before parsing,
  keeping line numbers (:func:`_drop_doctype`).
* Any ``<!ENTITY>`` declaration (internal or external, general or parameter)
  rejects the file at once with :class:`ConnectorError` (this stops
  "billion laughs" expansion and external-entity fetching before they start);
  the parser's own handlers refuse entity declarations and external
  references too (as in ``defusedxml``), the external DTD subset is never read
  (no file or network access) and an undefined entity is an error.
* C0 control characters that XML 1.0 forbids (``\x0b`` written by some apps)
  are read as spaces, with a ledger note.

What is read
------------
* ``Record type="HKQuantityTypeIdentifierRestingHeartRate"`` (``count/min``)
  -> ``wellness.rhr_bpm``: mean of the day's values (one per source per day).
* ``Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN"`` (``ms``)
  -> ``wellness.hrv_sdnn_ms``: mean of the day's readings. Apple measures SDNN,
  **not** rMSSD: it is never written to ``hrv_rmssd_ms``.
* ``Record type="HKCategoryTypeIdentifierSleepAnalysis"`` -> ``sleep`` by the
  rule below.
* ``Workout`` -> ``sessions``: ``workoutActivityType`` -> ``sport``,
  ``duration`` + ``durationUnit`` (``min``, ``s``, ``h``) -> ``duration_s``,
  ``totalDistance`` + ``totalDistanceUnit`` (``km``, ``m``, ``mi``, ``ft``,
  ``yd``) -> ``distance_m``, ``totalEnergyBurned`` (``kcal``/``Cal``/``kJ``)
  -> ``energy_kcal``; since iOS 16 the same totals and the heart rate
  (``average``/``maximum``) come in ``WorkoutStatistics`` children, which are
  read too. ``HKTimeZone`` metadata (an IANA zone) sets the local date and
  offset; without it the offset written in the date is used. The
  ``HeartRate`` records inside each workout give ``hr_hist_s`` (for the TRIMP
  load) and, without ``WorkoutStatistics``, the average and maximum heart
  rate (:func:`_add_workout_heart_rate`, a second byte-level pass).

Dates look like ``2018-11-30 06:13:30 +0100``. Apple writes every date with the
phone's offset *at export time* (an export made in summer writes winter dates
with the summer offset), so local dates are computed, in this order, in the
record's ``HKTimeZone`` metadata, in the athlete's zone (``ReadContext.tz``,
``--tz``) or else in the written offset. A resting-HR record spans the whole
day and is dated by its midpoint, so a one- or two-hour offset error never
moves it to another day.

Sleep rule (overlapping sources are never double-counted)
--------------------------------------------------------
1. Sleep-analysis intervals of all sources (Watch, iPhone, third-party apps)
   are pooled: ``InBed``; asleep = ``Asleep`` (before iOS 16),
   ``AsleepUnspecified``, ``AsleepCore``, ``AsleepDeep``, ``AsleepREM``;
   ``Awake``. Old numeric values 0/1/2 mean InBed/Asleep/Awake.
2. Intervals of any kind closer than :data:`EPISODE_GAP_S` (30 min) are chained
   into one sleep episode.
3. Within an episode every quantity is the length of a **union** of
   intervals, so overlapping sources never add up. When a source recorded
   stages (``AsleepCore``/``Deep``/``REM``: Apple Watch since iOS 16), the
   source with the most staged time measures the episode: ``asleep_s`` =
   |union of its asleep intervals|, ``awake_s`` = |its awake intervals minus
   its asleep time|, ``deep_s``, ``rem_s``, ``light_s`` (= core) from it, so a
   coarser app's one-block "asleep" spanning the awakenings is not mixed in.
   Without stages, ``asleep_s`` = |union of every source's asleep intervals|,
   ``awake_s`` = |union of awake minus asleep| and the stages are null.
   ``in_bed_s`` = |union of all intervals of all sources| in either case.
4. An episode is a **nap** when it starts between 09:00 and 20:00 local time
   and lasts (asleep, else in bed) less than :data:`NAP_MAX_S` (3 h).
5. **One night per wake date**: the non-nap episodes that end on the same
   local date (a night broken by a long awakening) form one night; its
   quantities are the sums and its span runs from the first start to the last
   end.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from xml.parsers import expat
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import polars as pl

from connectors._export_util import BadRows, display_name, head_text, require_athlete
from connectors.base import BadRowError, ConnectorError, CorruptFileError, ReadContext, ReadResult
from features.schemas import SESSIONS, SLEEP, WELLNESS

__all__ = ["FORMAT", "SOURCE", "detect", "read", "EPISODE_GAP_S", "NAP_MAX_S"]

FORMAT = "apple_health"
SOURCE = "apple_health"

CHUNK_BYTES = 1 << 20
EPISODE_GAP_S = 30 * 60  # intervals closer than this belong to one sleep episode [s]
NAP_MAX_S = 3 * 3600  # a daytime episode shorter than this is a nap [s]
NAP_DAY_START_H, NAP_DAY_END_H = 9, 20  # daytime window for naps [local hour]

RHR = "HKQuantityTypeIdentifierRestingHeartRate"
SDNN = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
SLEEP_TYPE = "HKCategoryTypeIdentifierSleepAnalysis"
_RECORD_TYPES = frozenset((RHR, SDNN, SLEEP_TYPE))

_SLEEP_VALUES = {
    "HKCategoryValueSleepAnalysisInBed": "inbed",
    "HKCategoryValueSleepAnalysisAsleep": "asleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleepCore": "core",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
    "HKCategoryValueSleepAnalysisAwake": "awake",
    "0": "inbed",
    "1": "asleep",
    "2": "awake",
}
_ASLEEP = frozenset(("asleep", "core", "deep", "rem"))

_DURATION_UNITS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "ms": 0.001, "d": 86400.0}
_DISTANCE_UNITS = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "ft": 0.3048, "yd": 0.9144, "cm": 0.01}
_ENERGY_UNITS = {"kcal": 1.0, "Cal": 1.0, "cal": 0.001, "kJ": 1 / 4.184, "J": 1 / 4184.0}

_SPORTS = {
    "Running": "running",
    "Cycling": "cycling",
    "Walking": "walking",
    "Hiking": "hiking",
    "Swimming": "swimming",
    "Rowing": "rowing",
    "Yoga": "yoga",
    "Pilates": "pilates",
    "TraditionalStrengthTraining": "strength",
    "FunctionalStrengthTraining": "strength",
    "CoreTraining": "strength",
    "HighIntensityIntervalTraining": "hiit",
    "Elliptical": "elliptical",
    "CrossCountrySkiing": "cross_country_skiing",
    "DownhillSkiing": "skiing",
    "Snowboarding": "snowboarding",
    "Soccer": "soccer",
    "Basketball": "basketball",
    "Tennis": "tennis",
    "StairClimbing": "stair_climbing",
    "MixedCardio": "cardio",
    "Other": "generic",
}

_ROOT_RE = re.compile(rb"<(?![!?/])([A-Za-z_][\w.:-]*)")


def _companion(head: bytes) -> str | None:
    """Which other file of an Apple Health export folder ``head`` is, if any.

    The export folder also holds ``export_cda.xml`` (the same data as an HL7
    CDA document), ``workout-routes/*.gpx`` (GPS tracks of workouts that are
    in ``export.xml``) and ``electrocardiograms/ecg_*.csv``. They are
    recognised so that a whole export folder can be ingested as is, and are
    ledgered with a note instead of being rejected; they add no rows.
    """
    text = head_text(head)
    if text is None:
        return None
    m = _ROOT_RE.search(_skip_prolog(head)) if text.lstrip().startswith("<") else None
    if m and m.group(1) == b"ClinicalDocument" and b"urn:hl7-org:v3" in head:
        return "cda"
    if m and m.group(1) == b"gpx" and b'creator="Apple Health Export"' in head:
        return "route"
    lines = text.splitlines()[:20]
    keys = {ln.split(",", 1)[0].strip('"') for ln in lines}
    if {"Recorded Date", "Classification", "Sample Rate", "Lead"} <= keys:
        return "ecg"
    return None


_COMPANION_NOTES = {
    "cda": "export_cda.xml is an HL7 CDA copy of the Health data; not read (export.xml holds the same records)",
    "route": "workout route (GPX) from an Apple Health export; not read (its workout comes from export.xml)",
    "ecg": "Apple Watch ECG recording; not used by strainwatch",
}


def detect(path: Path, head: bytes) -> bool:
    """True when the first element of the XML document is ``<HealthData>``, or for the other
    files of an Apple Health export folder (see :func:`_companion`)."""
    text = head_text(head)
    if text is None:
        return False
    stripped = text.lstrip()
    if stripped.startswith("<"):
        m = _ROOT_RE.search(_skip_prolog(head))
        if m and m.group(1) == b"HealthData":
            return True
    return _companion(head) is not None


def _skip_prolog(head: bytes) -> bytes:
    """The head without comments and the DOCTYPE internal subset (for root detection)."""
    out = re.sub(rb"<!--.*?-->", b"", head, flags=re.S)
    return re.sub(rb"<!DOCTYPE[^\[>]*(\[.*?\]\s*)?>", b"", out, flags=re.S)


class _Forbidden(Exception):
    pass


MAX_PROLOG_BYTES = 8 << 20  # the DOCTYPE must end within this many bytes
_ROOT_START = re.compile(rb"<HealthData[\s>/]")
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s+)?([^\s>]+)([^>]*)")
# C0 control characters other than tab, LF, CR are not allowed anywhere in XML 1.0
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CONTROL_TO_SPACE = bytes.maketrans(bytes([*range(0, 9), 11, 12, *range(14, 32)]), b" " * 29)


def _drop_doctype(buf: bytes, display: str) -> bytes:
    """``buf`` (the file's first bytes) with the DOCTYPE blanked out, line numbers kept.

    Apple's internal DTD only declares elements and attributes, which a reader
    does not need, and the DTD of iOS 16 exports (HealthKit Export Version 12)
    is itself malformed (``<!ATTLIST VisionPrescription`` lacks its ``>``), so
    strict parsers reject the whole file. The DOCTYPE, from ``<!DOCTYPE`` to the
    ``<HealthData`` root, is replaced by as many newlines as it spans, so
    parser line numbers still match the file. An ``<!ENTITY`` declaration in it
    rejects the file at once (entity expansion, external entities).
    """
    start = buf.find(b"<!DOCTYPE")
    if start < 0:
        return buf
    root = _ROOT_START.search(buf, start)
    if root is None:  # not an Apple export layout: leave it to the parser's own checks
        return buf
    dtd = buf[start : root.start()]
    m = _ENTITY_DECL.search(dtd)
    if m:
        name = m.group(2).decode("utf-8", "replace")
        external = b"SYSTEM" in m.group(3) or b"PUBLIC" in m.group(3)
        line = buf[: start + m.start()].count(b"\n") + 1
        raise ConnectorError(
            display,
            f"the DTD declares the {'external' if external else 'internal'} entity {name!r}: entity "
            "declarations are not allowed (Apple exports have none; this guards against entity expansion "
            "and external fetches)",
            line=line,
        )
    return buf[:start] + b"\n" * dtd.count(b"\n") + buf[root.start() :]


def _parse_date(value: str | None, display: str, line: int, column: str) -> datetime:
    if not value:
        raise BadRowError(display, f"missing {column}", line=line, column=column)
    s = value.strip()
    # "2018-11-30 06:13:30 +0100" -> "2018-11-30 06:13:30+0100"
    if len(s) >= 25 and s[19] == " " and s[20] in "+-":
        s = s[:19] + s[20:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        raise BadRowError(
            display, f"expected a date like '2018-11-30 06:13:30 +0100', found {value!r}", line=line, column=column
        ) from None
    if dt.tzinfo is None:
        raise BadRowError(display, f"date without a UTC offset: {value!r}", line=line, column=column)
    return dt


def _float(value: str | None, display: str, line: int, column: str, lo: float, hi: float) -> float | None:
    if value is None or value.strip() == "":
        return None
    try:
        v = float(value)
    except ValueError:
        raise BadRowError(display, f"expected a number, found {value!r}", line=line, column=column) from None
    if not (lo <= v <= hi):
        raise BadRowError(display, f"value {v:g} outside the plausible range {lo:g}..{hi:g}", line=line, column=column)
    return v


def _zone(name: str | None) -> tzinfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


@dataclass
class _Workout:
    attrs: dict[str, str]
    line: int
    meta: dict[str, str] = field(default_factory=dict)
    stats: list[dict[str, str]] = field(default_factory=list)


@dataclass
class _Interval:
    start: datetime  # aware, original offset
    end: datetime
    kind: str  # inbed | asleep | core | deep | rem | awake
    source: str
    tz: tzinfo | None  # HKTimeZone metadata, when present


class _Handler:
    """expat callbacks. Only elements we use cost more than a name test: the end-element
    callback is switched on only while a Workout or a sleep Record is open (its children,
    MetadataEntry and WorkoutStatistics, belong to it)."""

    def __init__(self, display: str, bad: BadRows, parser, home_tz: tzinfo | None = None) -> None:
        self.display = display
        self.home_tz = home_tz  # the athlete's zone (--tz), used where no HKTimeZone is given
        self.bad = bad
        self.p = parser
        self.root: str | None = None
        self.workout: _Workout | None = None
        self.sleep_rec: tuple[dict[str, str], int, dict[str, str]] | None = None
        self.item_depth = 0  # depth inside the open Workout / sleep Record (1 = the item itself)
        self.workouts: list[dict] = []
        self.rhr: dict[date, list[float]] = defaultdict(list)
        self.sdnn: dict[date, list[float]] = defaultdict(list)
        self.intervals: list[_Interval] = []

    # -- expat callbacks ---------------------------------------------------
    def start(self, name: str, attrs: dict[str, str]) -> None:
        if self.item_depth:
            self._child(name, attrs)
            return
        if self.root is None:
            self.root = name
            if name != "HealthData":
                raise _Forbidden(f"root element is <{name}>, expected <HealthData> (Apple Health export.xml)")
            return
        if name == "Record":
            t = attrs.get("type")
            if t not in _RECORD_TYPES:
                return
            line = self.p.CurrentLineNumber
            if t == SLEEP_TYPE:
                self.sleep_rec = (attrs, line, {})
                self._open()
            else:
                self._quantity(t, attrs, line)
        elif name == "Workout":
            self.workout = _Workout(attrs, self.p.CurrentLineNumber)
            self._open()

    def _open(self) -> None:
        self.item_depth = 1
        self.p.EndElementHandler = self.end

    def _child(self, name: str, attrs: dict[str, str]) -> None:
        self.item_depth += 1
        if self.item_depth != 2:
            return
        if name == "MetadataEntry":
            meta = self.workout.meta if self.workout is not None else self.sleep_rec[2]
            meta[attrs.get("key", "")] = attrs.get("value", "")
        elif name == "WorkoutStatistics" and self.workout is not None:
            self.workout.stats.append(attrs)

    def end(self, name: str) -> None:
        self.item_depth -= 1
        if self.item_depth:
            return
        self.p.EndElementHandler = None
        if self.workout is not None:
            w, self.workout = self.workout, None
            try:
                self.workouts.append(self._workout_row(w))
            except BadRowError as err:
                self.bad(err)
        elif self.sleep_rec is not None:
            rec, self.sleep_rec = self.sleep_rec, None
            try:
                self._sleep(*rec)
            except BadRowError as err:
                self.bad(err)

    def _local(self, dt: datetime) -> datetime:
        return dt.astimezone(self.home_tz) if self.home_tz is not None else dt

    # -- records -------------------------------------------------------------
    def _quantity(self, t: str, a: dict[str, str], line: int) -> None:
        try:
            start = _parse_date(a.get("startDate"), self.display, line, "startDate")
            unit = a.get("unit", "")
            if t == RHR:
                if unit not in ("count/min", "bpm"):
                    raise BadRowError(
                        self.display,
                        f"resting heart rate unit {unit!r}, expected 'count/min'",
                        line=line,
                        column="unit",
                    )
                v = _float(a.get("value"), self.display, line, "value", 20, 200)
                if v is not None:
                    # the day's RHR record spans the day (00:0x -> 2x:xx): its midpoint is on the right
                    # date even when the written offset is an hour or two off (export-time offset)
                    end = _parse_date(a.get("endDate"), self.display, line, "endDate") if a.get("endDate") else start
                    mid = start + (end - start) / 2 if end >= start else start
                    self.rhr[self._local(mid).date()].append(v)
            else:
                if unit != "ms":
                    raise BadRowError(self.display, f"HRV SDNN unit {unit!r}, expected 'ms'", line=line, column="unit")
                v = _float(a.get("value"), self.display, line, "value", 1, 1000)
                if v is not None:
                    self.sdnn[self._local(start).date()].append(v)
        except BadRowError as err:
            self.bad(err)

    def _sleep(self, a: dict[str, str], line: int, meta: dict[str, str]) -> None:
        raw = a.get("value", "")
        kind = _SLEEP_VALUES.get(raw)
        if kind is None:
            raise BadRowError(self.display, f"unknown sleep-analysis value {raw!r}", line=line, column="value")
        start = _parse_date(a.get("startDate"), self.display, line, "startDate")
        end = _parse_date(a.get("endDate"), self.display, line, "endDate")
        if end < start or end - start > timedelta(hours=24):
            raise BadRowError(
                self.display,
                f"sleep interval {start} -> {end} is negative or longer than 24 h",
                line=line,
                column="endDate",
            )
        if end > start:
            self.intervals.append(
                _Interval(start, end, kind, a.get("sourceName", ""), _zone(meta.get("HKTimeZone")) or self.home_tz)
            )

    def _workout_row(self, w: _Workout) -> dict:
        a, line, d = w.attrs, w.line, self.display
        start = _parse_date(a.get("startDate"), d, line, "startDate")
        end = _parse_date(a.get("endDate"), d, line, "endDate")
        if end < start:
            raise BadRowError(d, f"workout ends ({end}) before it starts ({start})", line=line, column="endDate")
        elapsed = (end - start).total_seconds()
        duration = _float(a.get("duration"), d, line, "duration", 0, 1e7)
        if duration is not None:
            unit = a.get("durationUnit", "min")
            if unit not in _DURATION_UNITS:
                raise BadRowError(
                    d,
                    f"unknown durationUnit {unit!r}; expected one of {sorted(_DURATION_UNITS)}",
                    line=line,
                    column="durationUnit",
                )
            duration *= _DURATION_UNITS[unit]
        else:
            duration = elapsed
        if duration > 7 * 86400:
            raise BadRowError(d, f"workout duration {duration:g} s is longer than a week", line=line, column="duration")

        distance = self._amount(
            a.get("totalDistance"), a.get("totalDistanceUnit"), _DISTANCE_UNITS, line, "totalDistance"
        )
        energy = self._amount(
            a.get("totalEnergyBurned"), a.get("totalEnergyBurnedUnit"), _ENERGY_UNITS, line, "totalEnergyBurned"
        )
        avg_hr = max_hr = None
        for s in w.stats:
            t = s.get("type", "")
            if t.startswith("HKQuantityTypeIdentifierDistance") and distance is None:
                distance = self._amount(s.get("sum"), s.get("unit"), _DISTANCE_UNITS, line, "WorkoutStatistics sum")
            elif t == "HKQuantityTypeIdentifierActiveEnergyBurned" and energy is None:
                energy = self._amount(s.get("sum"), s.get("unit"), _ENERGY_UNITS, line, "WorkoutStatistics sum")
            elif t == "HKQuantityTypeIdentifierHeartRate":
                avg_hr = _float(s.get("average"), d, line, "WorkoutStatistics average", 20, 250)
                max_hr = _float(s.get("maximum"), d, line, "WorkoutStatistics maximum", 20, 250)
        if distance is not None and distance > 1e6:
            raise BadRowError(d, f"distance {distance:g} m is implausible", line=line, column="totalDistance")

        tz = _zone(w.meta.get("HKTimeZone")) or self.home_tz
        local = start.astimezone(tz) if tz is not None else start
        t = a.get("workoutActivityType", "")
        short = t.removeprefix("HKWorkoutActivityType")
        sport = _SPORTS.get(short) or (re.sub(r"(?<!^)(?=[A-Z])", "_", short).lower() if short else None)
        indoor = w.meta.get("HKIndoorWorkout")
        return {
            "athlete_id": None,
            "source": SOURCE,
            "start_utc": start.astimezone(timezone.utc),
            "local_date": local.date(),
            "sport": sport,
            "sub_sport": "indoor" if indoor == "1" else None,
            "duration_s": duration,
            "distance_m": distance,
            "avg_hr_bpm": avg_hr,
            "max_hr_bpm": max_hr,
            "energy_kcal": energy,
            "elapsed_s": elapsed,
            "local_offset_s": int(local.utcoffset().total_seconds()),
            "source_file": d,
            "_app": a.get("sourceName", ""),
        }

    def _amount(self, value, unit, table, line, column) -> float | None:
        v = _float(value, self.display, line, column, 0, 1e9)
        if v is None:
            return None
        unit = (unit or "").strip()
        if unit not in table:
            raise BadRowError(
                self.display,
                f"unknown unit {unit!r}; expected one of {sorted(table)}",
                line=line,
                column=column + "Unit" if not column.startswith("Workout") else "unit",
            )
        return v * table[unit]


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Stream an Apple Health ``export.xml``; see the module docstring.

    Raises
    ------
    ConnectorError
        Malformed XML (names the line and column from the parser), a DTD with
        entity declarations, a root element other than ``<HealthData>``, or no
        athlete known.
    BadRowError
        A record with an impossible value, unless ``ctx.on_bad_row`` is ``skip``.
    """
    display = display_name(path, ctx)
    try:
        with open(path, "rb") as fh:
            companion = _companion(fh.read(65536))
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    if companion is not None:
        result = ReadResult(format=f"apple_health_{companion}")
        result.warn(_COMPANION_NOTES[companion])
        return result
    athlete = require_athlete(display, ctx, "Apple Health", "export.xml")
    bad = BadRows(ctx, max_notes=20)
    p = expat.ParserCreate()
    home_tz = None
    if ctx.tz:
        home_tz = _zone(ctx.tz)
        if home_tz is None:
            raise ConnectorError(display, f"unknown time zone {ctx.tz!r}: expected an IANA name like 'Europe/Paris'")
    h = _Handler(display, bad, p, home_tz)

    def forbid_entity(name, is_param, value, base, system_id, public_id, notation):
        kind = "external" if system_id or public_id else "internal"
        raise _Forbidden(
            f"the DTD declares the {kind} entity {name!r}: entity declarations are not allowed "
            "(Apple exports have none; this guards against entity expansion and external fetches)"
        )

    def forbid_unparsed(name, base, system_id, public_id, notation):
        raise _Forbidden(f"the DTD declares the unparsed entity {name!r}: not allowed")

    def forbid_external(context, base, system_id, public_id):
        raise _Forbidden(f"reference to the external entity {system_id!r}: not fetched")

    def forbid_skipped(name, is_param):
        raise _Forbidden(f"reference to the undeclared entity {name!r}")

    p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.EntityDeclHandler = forbid_entity
    p.UnparsedEntityDeclHandler = forbid_unparsed
    p.ExternalEntityRefHandler = forbid_external
    p.SkippedEntityHandler = forbid_skipped
    p.StartElementHandler = h.start

    try:
        fh = open(path, "rb")
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    replaced = 0
    with fh:
        try:
            first = fh.read(CHUNK_BYTES)
            while b"<!DOCTYPE" in first and not _ROOT_START.search(first) and len(first) < MAX_PROLOG_BYTES:
                more = fh.read(CHUNK_BYTES)
                if not more:
                    break
                first += more
            chunk = _drop_doctype(first, display)
            while True:
                if _CONTROL.search(chunk):
                    n = len(_CONTROL.findall(chunk))
                    replaced += n
                    chunk = chunk.translate(_CONTROL_TO_SPACE)
                p.Parse(chunk, not chunk)
                if not chunk:
                    break
                chunk = fh.read(CHUNK_BYTES)
        except expat.ExpatError as err:
            raise CorruptFileError(
                display,
                f"malformed XML at column {err.offset + 1}: {expat.ErrorString(err.code)}"
                " (expected a complete Apple Health export.xml)",
                line=err.lineno,
            ) from None
        except _Forbidden as err:
            raise ConnectorError(
                display, f"{err} (at column {p.CurrentColumnNumber + 1})", line=p.CurrentLineNumber
            ) from None
        except LookupError as err:  # an unknown encoding named in the XML declaration
            raise CorruptFileError(display, f"{err} in the XML declaration (expected UTF-8)", line=1) from None
    if h.root is None:
        raise ConnectorError(display, "no XML element found: expected <HealthData>", line=1)

    try:
        sessions = _workouts_frame(h.workouts, athlete, path)
    except OSError as err:
        raise ConnectorError(display, f"cannot read file: {err}") from err
    result = ReadResult(
        format=FORMAT,
        sessions=sessions[0],
        sleep=_sleep_frame(_nights(h.intervals), athlete, display),
        wellness=_wellness_frame(h.rhr, h.sdnn, athlete, display),
    )
    for note in sessions[1]:
        result.warn(note)
    if replaced:
        result.warn(
            f"{replaced} control characters that XML forbids (such as \\x0b written by some apps) were read as spaces"
        )
    return bad.finish(result)


# --------------------------------------------------------------------- workouts
_HR_TAG = re.compile(rb'<Record type="HKQuantityTypeIdentifierHeartRate"([^>]*)>')
_ATTR_START = re.compile(rb'\sstartDate="([^"]+)"')
_ATTR_VALUE = re.compile(rb'\svalue="([^"]+)"')
_ATTR_UNIT = re.compile(rb'\sunit="([^"]+)"')
HR_GAP_CAP_S = 30.0  # a heart-rate sample stands for at most this long when samples are sparse [s]


def _add_workout_heart_rate(path: Path, rows: list[dict]) -> int:
    """Fill each workout's heart rate from the ``HeartRate`` records inside it.

    A second, byte-level pass (the XML was validated by the first one): for
    every ``HKQuantityTypeIdentifierHeartRate`` record in ``count/min`` whose
    start lies within a workout, the sample counts for the time until the next
    sample, at most :data:`HR_GAP_CAP_S`. This gives ``hr_hist_s`` (seconds at
    each integer bpm, for the TRIMP load) and, when the workout has no
    ``WorkoutStatistics``, the time-weighted ``avg_hr_bpm`` and the
    ``max_hr_bpm``. Memory holds only the samples inside workouts.

    Returns the number of workouts that received heart-rate data.
    """
    import bisect
    from array import array

    if not rows:
        return 0
    spans = sorted(
        ((r["start_utc"].timestamp(), r["start_utc"].timestamp() + r["elapsed_s"], i) for i, r in enumerate(rows)),
        key=lambda x: x[0],
    )
    starts = [sp[0] for sp in spans]
    days: set[bytes] = set()
    for st, en, _ in spans:  # date prefixes (written offset may shift the day by one)
        for k in range(-1, int((en - st) // 86400) + 2):
            days.add(datetime.fromtimestamp(st + k * 86400, tz=timezone.utc).strftime("%Y-%m-%d").encode())
    times: dict[int, array] = {}
    values: dict[int, array] = {}
    carry = b""
    with open(path, "rb") as fh:
        while True:
            block = fh.read(2 << 20)
            buf = carry + block
            cut = buf.rfind(b"\n") + 1 if block else len(buf)
            carry = buf[cut:]
            for m in _HR_TAG.finditer(buf, 0, cut):
                attrs = m.group(1)
                sd = _ATTR_START.search(attrs)
                if sd is None or sd.group(1)[:10] not in days:
                    continue
                unit = _ATTR_UNIT.search(attrs)
                val = _ATTR_VALUE.search(attrs)
                if val is None or unit is None or unit.group(1) != b"count/min":
                    continue
                raw = sd.group(1).decode()
                if len(raw) >= 25 and raw[19] == " ":
                    raw = raw[:19] + raw[20:]
                try:
                    t = datetime.fromisoformat(raw).timestamp()
                    v = float(val.group(1))
                except ValueError:
                    continue
                j = bisect.bisect_right(starts, t) - 1
                if j < 0 or t > spans[j][1] or not (20.0 <= v <= 250.0):
                    continue
                idx = spans[j][2]
                times.setdefault(idx, array("d")).append(t)
                values.setdefault(idx, array("d")).append(v)
            if not block:
                break
    for idx, ts in times.items():
        vs = values[idx]
        r = rows[idx]
        end = r["start_utc"].timestamp() + r["elapsed_s"]
        order = sorted(range(len(ts)), key=ts.__getitem__)
        hist = [0.0] * 256
        tot = wsum = 0.0
        for k, i in enumerate(order):
            nxt = ts[order[k + 1]] if k + 1 < len(order) else end
            w = min(max(nxt - ts[i], 0.0), HR_GAP_CAP_S)
            if k + 1 < len(order) and w == 0.0:
                continue  # two sources at the same instant: the later one counts
            b = int(round(vs[i]))
            hist[b] += w
            tot += w
            wsum += w * vs[i]
        if tot > 0:
            r["hr_hist_s"] = hist
            if r.get("avg_hr_bpm") is None:
                r["avg_hr_bpm"] = wsum / tot
            if r.get("max_hr_bpm") is None:
                r["max_hr_bpm"] = max(vs)
    return sum(1 for r in rows if r.get("hr_hist_s") is not None)


def _workouts_frame(rows: list[dict], athlete: str, path: Path | None = None) -> tuple[pl.DataFrame, list[str]]:
    """Workouts; near-identical ones written by two apps (the Watch and Strava, say: starts within
    300 s, durations within a ratio of 1.25) are kept once: the earlier-starting record, the longer
    one on a tie; a ledger note names the dropped app. With ``path``, heart rate is added from the
    HeartRate records (:func:`_add_workout_heart_rate`)."""
    notes: list[str] = []
    rows = sorted(rows, key=lambda r: (r["start_utc"], -r["duration_s"]))
    kept: list[dict] = []
    for r in rows:
        prev = kept[-1] if kept else None
        if (
            prev is not None
            and prev["_app"] != r["_app"]
            and abs((r["start_utc"] - prev["start_utc"]).total_seconds()) <= 300
            and _ratio(prev["duration_s"], r["duration_s"]) <= 1.25
        ):
            notes.append(
                f"workout at {r['start_utc']:%Y-%m-%d %H:%M} UTC from {r['_app']!r} duplicates "
                f"the one from {prev['_app']!r}: kept once"
            )
            continue
        kept.append(r)
    if not kept:
        return SESSIONS.empty(), notes
    if path is not None:
        _add_workout_heart_rate(path, kept)
    data = {c: [r.get(c) for r in kept] for c in SESSIONS.columns}
    data["athlete_id"] = [athlete] * len(kept)
    df = pl.DataFrame(data, schema=SESSIONS.polars_schema)
    return df.unique(subset=list(SESSIONS.key), keep="first", maintain_order=True), notes


def _ratio(a: float, b: float) -> float:
    if a <= 0 or b <= 0:
        return float("inf")
    return max(a, b) / min(a, b)


# ------------------------------------------------------------------------ sleep
def _union(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _length(spans: list[tuple[float, float]]) -> float:
    return sum(e - s for s, e in spans)


def _minus(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union ``a`` minus union ``b`` (both sorted, disjoint)."""
    out = []
    j = 0
    for s, e in a:
        cur = s
        while j < len(b) and b[j][1] <= cur:
            j += 1
        k = j
        while k < len(b) and b[k][0] < e:
            if b[k][0] > cur:
                out.append((cur, b[k][0]))
            cur = max(cur, b[k][1])
            k += 1
        if cur < e:
            out.append((cur, e))
    return out


@dataclass
class _Episode:
    start: float
    end: float
    asleep_s: float | None
    deep_s: float | None
    light_s: float | None
    rem_s: float | None
    awake_s: float
    in_bed_s: float
    end_local: datetime
    start_local: datetime


def _episode(ivs: list[_Interval]) -> _Episode:
    def ts(iv_list, kinds):
        return _union([(i.start.timestamp(), i.end.timestamp()) for i in iv_list if i.kind in kinds])

    asleep = ts(ivs, _ASLEEP)
    awake = ts(ivs, {"awake"})
    allspans = ts(ivs, {"inbed", "awake"} | _ASLEEP)
    staged: dict[str, float] = defaultdict(float)
    for i in ivs:
        if i.kind in ("core", "deep", "rem"):
            staged[i.source] += (i.end - i.start).total_seconds()
    deep = light = rem = None
    if staged:
        # one source with stages measures the whole episode: asleep, awake and stages all
        # come from it, so a coarser app's "asleep" spanning the awakenings is not added
        best = max(sorted(staged), key=lambda s: staged[s])
        own = [i for i in ivs if i.source == best]
        deep, light, rem = (_length(ts(own, {k})) for k in ("deep", "core", "rem"))
        asleep = ts(own, _ASLEEP)
        awake = ts(own, {"awake"})
    last = max(ivs, key=lambda i: i.end)
    first = min(ivs, key=lambda i: i.start)
    tz = last.tz or first.tz
    end_local = last.end.astimezone(tz) if tz else last.end
    start_local = first.start.astimezone(tz) if tz else first.start
    return _Episode(
        start=first.start.timestamp(),
        end=last.end.timestamp(),
        asleep_s=_length(asleep) if asleep else None,
        deep_s=deep,
        light_s=light,
        rem_s=rem,
        awake_s=_length(_minus(awake, asleep)),
        in_bed_s=_length(allspans),
        end_local=end_local,
        start_local=start_local,
    )


def _nights(intervals: list[_Interval]) -> list[dict]:
    """Apply the sleep rule of the module docstring: episodes -> naps and one night per wake date."""
    if not intervals:
        return []
    intervals = sorted(intervals, key=lambda i: (i.start, i.end))
    groups: list[list[_Interval]] = []
    group_end = None
    for iv in intervals:
        if groups and iv.start.timestamp() <= group_end + EPISODE_GAP_S:
            groups[-1].append(iv)
            group_end = max(group_end, iv.end.timestamp())
        else:
            groups.append([iv])
            group_end = iv.end.timestamp()
    episodes = [_episode(g) for g in groups]
    rows: list[dict] = []
    nights: dict[date, list[_Episode]] = defaultdict(list)
    for ep in episodes:
        length = ep.asleep_s if ep.asleep_s is not None else ep.in_bed_s
        daytime = NAP_DAY_START_H <= ep.start_local.hour < NAP_DAY_END_H
        if daytime and length < NAP_MAX_S:
            rows.append(_sleep_row([ep], is_nap=True))
        else:
            nights[ep.end_local.date()].append(ep)
    for wd in sorted(nights):
        rows.append(_sleep_row(nights[wd], is_nap=False))
    return rows


def _sum(vals: list[float | None]) -> float | None:
    vals = [v for v in vals if v is not None]
    return sum(vals) if vals else None


def _sleep_row(eps: list[_Episode], *, is_nap: bool) -> dict:
    last = max(eps, key=lambda e: e.end)
    return {
        "start_utc": datetime.fromtimestamp(min(e.start for e in eps), tz=timezone.utc),
        "end_utc": datetime.fromtimestamp(last.end, tz=timezone.utc),
        "wake_date": last.end_local.date(),
        "asleep_s": _sum([e.asleep_s for e in eps]),
        "deep_s": _sum([e.deep_s for e in eps]),
        "light_s": _sum([e.light_s for e in eps]),
        "rem_s": _sum([e.rem_s for e in eps]),
        "awake_s": _sum([e.awake_s for e in eps]),
        "in_bed_s": _sum([e.in_bed_s for e in eps]),
        "is_nap": is_nap,
    }


def _sleep_frame(rows: list[dict], athlete: str, display: str) -> pl.DataFrame:
    if not rows:
        return SLEEP.empty()
    data = {c: [r.get(c) for r in rows] for c in SLEEP.columns}
    data["athlete_id"] = [athlete] * len(rows)
    data["source"] = [SOURCE] * len(rows)
    data["source_file"] = [display] * len(rows)
    return pl.DataFrame(data, schema=SLEEP.polars_schema).sort("start_utc")


def _wellness_frame(rhr, sdnn, athlete: str, display: str) -> pl.DataFrame:
    days = sorted(set(rhr) | set(sdnn))
    if not days:
        return WELLNESS.empty()
    mean = lambda xs: sum(xs) / len(xs) if xs else None  # noqa: E731
    data = {c: [None] * len(days) for c in WELLNESS.columns}
    data["athlete_id"] = [athlete] * len(days)
    data["source"] = [SOURCE] * len(days)
    data["date"] = days
    data["rhr_bpm"] = [mean(rhr.get(d, [])) for d in days]
    data["hrv_sdnn_ms"] = [mean(sdnn.get(d, [])) for d in days]
    data["source_file"] = [display] * len(days)
    return pl.DataFrame(data, schema=WELLNESS.polars_schema)
