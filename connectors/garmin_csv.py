"""Garmin Connect activity list CSV (web: Activities > All Activities > "Export CSV").

One row per activity. The headers follow the user's UI language (about 30
languages), but the layout does not: the file is recognised and its columns
mapped by position and value shape (:func:`structure_map`: type, date,
true/false favourite, title, distance, calories, time, HR, aerobic TE; TSS by
its untranslated header; moving/elapsed time by their values), so a language
nobody listed reads the same. The English, German, French, Spanish, Italian,
Dutch and Portuguese header words (:data:`HEADERS`) are hints: they find the
stride length (for the distance unit), and map a file whose rows do not show
the layout. Values:

* ``--`` means missing; numbers are quoted and may carry a thousands separator
  (``"1,234"``, or ``"1.234"`` in files that write decimals with a comma,
  ``"7,00"``). The decimal convention is decided per file from the values that
  can only be read one way (``"42.02"`` vs ``"7,00"``), default decimal point.
* ``Date`` is the local start time without zone (``2025-02-06 17:06:03``),
  converted with ``ctx.tz`` (UTC plus a warning when absent).
* ``Time`` is the timer time ``hh:mm:ss`` (also ``mm:ss.s`` for short ones) ->
  ``duration_s``; ``Elapsed Time`` -> ``elapsed_s``.
* ``Distance`` follows the user's unit setting: km or miles, except swims,
  which Garmin writes in metres (or yards). The unit is decided by
  :func:`distance_unit` (explicit unit in the header, the ``distance_unit``
  argument, stride length, the header language, running/walking speeds,
  default km) and every decision other than an explicit one is noted in the
  ledger.
* ``Avg HR``/``Max HR`` -> ``avg_hr_bpm``/``max_hr_bpm``; ``Training Stress
  Score®`` -> ``device_load`` with ``device_load_kind`` ``"tss"`` (0.0, which
  Garmin writes when it cannot compute TSS, is missing); ``Aerobic TE`` ->
  ``training_effect_aerobic``; ``Activity Type`` -> ``sport``/``sub_sport``.

The list export has no RPE, so ``load_au``/``load_method`` stay null for the
load stage's fallback chain (domain brief section 1).
"""

from __future__ import annotations

import csv
import re
import statistics
import unicodedata
from pathlib import Path
from typing import Literal

from connectors._export_util import (
    MILE_M,
    SESSION_COLUMNS,
    YARD_M,
    BadRows,
    LocalTime,
    UnexpectedErrors,
    csv_rows,
    decimal_votes,
    display_name,
    first_line,
    frame,
    head_text,
    normalise_sport,
    open_text,
    parse_clock,
    parse_local_datetime,
    parse_number,
    positive_or_none,
    split_header,
)
from connectors.base import BadRowError, CorruptFileError, ReadContext, ReadResult

__all__ = ["FORMAT", "HEADERS", "detect", "read", "distance_unit", "header_map"]

FORMAT = "garmin_activities_csv"

#: Canonical field -> header texts in each UI language (normalised: lower
#: case, "®" removed, spaces collapsed; see :func:`_norm`).
HEADERS: dict[str, tuple[str, ...]] = {
    "activity_type": (
        "activity type",
        "aktivitätstyp",
        "type d'activité",
        "tipo de actividad",
        "tipo di attività",
        "activiteittype",
        "tipo de atividade",
        "tipo de actividade",
    ),
    "date": ("date", "datum", "fecha", "data"),
    "title": ("title", "titel", "titre", "título", "titolo"),
    "distance": ("distance", "distanz", "distancia", "distanza", "afstand", "distância"),
    "calories": ("calories", "kalorien", "calorías", "calorie", "calorieën", "calorias"),
    "time": (
        "time",
        "activity time",
        "zeit",
        "durée",
        "tiempo",
        "tempo",
        "tijd",
        "tempo total",
        "duração",
    ),
    "avg_hr": (
        "avg hr",
        "ø hf",
        "ø herzfrequenz",
        "durchschnittliche herzfrequenz",
        "fréquence cardiaque moyenne",
        "fc moyenne",
        "frecuencia cardiaca media",
        "fc media",
        "frequenza cardiaca media",
        "gem. hs",
        "gemiddelde hartslag",
        "fc média",
        "frequência cardíaca média",
    ),
    "max_hr": (
        "max hr",
        "max. hf",
        "maximale herzfrequenz",
        "fréquence cardiaque maximale",
        "fc max.",
        "fc maximale",
        "frecuencia cardiaca máxima",
        "fc máxima",
        "fc max",
        "frequenza cardiaca massima",
        "max. hs",
        "maximale hartslag",
        "max hs",
        "frequência cardíaca máxima",
    ),
    "aerobic_te": (
        "aerobic te",
        "aerober te",
        "te aérobie",
        "te aeróbico",
        "te attività aerobica",
        "te aerobico",
        "aeroob te",
        "efeito de treino aeróbico",
    ),
    "tss": ("training stress score", "training stress score (tss)", "tss"),
    "moving_time": (
        "moving time",
        "zeit in bewegung",
        "bewegungszeit",
        "temps de déplacement",
        "tiempo en movimiento",
        "tempo in movimento",
        "tijd bewogen",
        "tempo em movimento",
    ),
    "elapsed_time": (
        "elapsed time",
        "verstrichene zeit",
        "gesamtzeit",
        "temps écoulé",
        "tiempo transcurrido",
        "tempo trascorso",
        "verstreken tijd",
        "tempo transcorrido",
        "tempo decorrido",
    ),
    "avg_stride": (
        "avg stride length",
        "ø schrittlänge",
        "longueur moyenne des foulées",
        "longitud media de zancada",
        "longitud de zancada media",
        "lunghezza media passo",
        "gem. staplengte",
        "comprimento médio da passada",
    ),
}

#: Header text of the activity-type column -> UI language (for the unit default).
LANGUAGE_OF_TYPE_HEADER = {
    "activity type": "en",
    "aktivitätstyp": "de",
    "type d'activité": "fr",
    "tipo de actividad": "es",
    "tipo di attività": "it",
    "activiteittype": "nl",
    "tipo de atividade": "pt",
    "tipo de actividade": "pt",
}

_LOOKUP = {h: field for field, hs in HEADERS.items() for h in hs}
_GROUP_DOT = re.compile(r"^\d{1,3}(\.\d{3})+$")
_GROUP_COMMA = re.compile(r"^\d{1,3}(,\d{3})+$")
_UNIT_IN_HEADER = re.compile(r"\((km|mi|miles|m|yd)\)\s*$")

DistanceUnit = Literal["km", "mi"]


def _norm(h: str) -> str:
    s = unicodedata.normalize("NFC", h).replace("®", "").replace("’", "'")
    s = re.sub(r"\s+", " ", s).strip().lower()
    return s


def header_map(header: list[str]) -> dict[str, int]:
    """Canonical field -> column index for a Garmin header row (first match wins)."""
    out: dict[str, int] = {}
    for i, h in enumerate(header):
        n = _norm(h)
        field = _LOOKUP.get(n) or _LOOKUP.get(_UNIT_IN_HEADER.sub("", n).strip())
        if field and field not in out:
            out[field] = i
    return out


# ----------------------------------------------------------------------------- structure
# The export has the same layout in every UI language: activity type, date, favourite (true/false),
# title, distance, calories, time, average HR, maximum HR, aerobic TE, then columns that depend on the
# activity types in the list, with "Training Stress Score®" left untranslated and the moving and
# elapsed times (hh:mm:ss) near the end. The layout is recognised from these value shapes; header
# translations (:data:`HEADERS`) are hints.
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{1,2}:\d{2}(:\d{2})?$")
_HMS_RE = re.compile(r"^(\d{1,3}:)?\d{1,2}:\d{2}([.,]\d+)?$")  # h:mm:ss, or mm:ss.s for short ones
_INT_RE = re.compile(r"^\d{1,3}$")
_TE_RE = re.compile(r"^[0-5]([.,]\d)?$")
#: Fixed positions of the layout (0-based).
POSITIONS = {
    "activity_type": 0,
    "date": 1,
    "favorite": 2,
    "title": 3,
    "distance": 4,
    "calories": 5,
    "time": 6,
    "avg_hr": 7,
    "max_hr": 8,
    "aerobic_te": 9,
}
MIN_COLUMNS = 10


def _present(cells: list[str], i: int) -> str | None:
    if i >= len(cells):
        return None
    v = cells[i].strip()
    return None if v.lower() in ("", "--", "-") else v


def _all_shape(rows: list[list[str]], i: int, rx: re.Pattern, *, need_one: bool = True) -> bool:
    vals = [v for r in rows if (v := _present(r, i)) is not None]
    return (bool(vals) or not need_one) and all(rx.match(v) for v in vals)


def structure_map(header: list[str], rows: list[list[str]]) -> dict[str, int] | None:
    """Field -> column index from the layout and the value shapes alone, or None when it is not the layout.

    Needs data rows with column 1 a local date-time, column 2 ``true``/``false`` (the favourite flag)
    and column 6 a duration (``h:mm:ss``, ``mm:ss.s``); one row in ten (at least one row) may break
    the shape, and is then a bad row naming its line. Average/maximum HR (integers, average <= maximum) and
    aerobic TE (0-5, one decimal) are mapped only when their values have that shape. The TSS column is
    the one whose header holds the untranslated "Training Stress Score"; the elapsed time is the last
    duration column after column 9 whose values are never below the time, the moving time the duration
    column just before it.
    """
    rows = [r for r in rows if len(r) == len(header)][:200]
    if len(header) < MIN_COLUMNS or not rows:
        return None

    def fits(ok) -> bool:
        """At most one row in ten (at least one row allowed) breaks the shape, and some row has it."""
        bad = sum(1 for r in rows if not ok(r))
        return bad < len(rows) and bad <= max(1, len(rows) // 10)

    # a damaged row does not hide the layout: it becomes a bad row naming its line
    if not fits(lambda r: _DATETIME_RE.match(r[1].strip()) is not None):
        return None
    if not fits(lambda r: r[2].strip().lower() in ("true", "false")):
        return None
    if not fits(lambda r: _present(r, 6) is None or _HMS_RE.match(r[6].strip()) is not None) or not any(
        _present(r, 6) for r in rows
    ):
        return None
    rows = [r for r in rows if _DATETIME_RE.match(r[1].strip()) and r[2].strip().lower() in ("true", "false")]
    out = {k: POSITIONS[k] for k in ("activity_type", "date", "title", "distance", "calories", "time")}
    if (
        _all_shape(rows, 7, _INT_RE, need_one=False)
        and _all_shape(rows, 8, _INT_RE, need_one=False)
        and all(int(a) <= int(b) for r in rows if (a := _present(r, 7)) and (b := _present(r, 8)))
    ):
        out["avg_hr"], out["max_hr"] = 7, 8
    if _all_shape(rows, 9, _TE_RE, need_one=False):
        out["aerobic_te"] = 9
    for i, h in enumerate(header):
        if "training stress score" in _norm(h):
            out["tss"] = i
            break

    def secs(r: list[str], i: int) -> float | None:
        v = _present(r, i)
        try:
            return parse_clock(v) if v is not None else None
        except ValueError:
            return None

    hms = [i for i in range(MIN_COLUMNS, len(header)) if _all_shape(rows, i, _HMS_RE)]
    elapsed = None
    for i in reversed(hms):
        pairs = [(secs(r, 6), secs(r, i)) for r in rows]
        pairs = [(t, e) for t, e in pairs if t is not None and e is not None]
        if pairs and all(e >= t - 1 for t, e in pairs):
            elapsed = i
            break
    if elapsed is not None:
        out["elapsed_time"] = elapsed
        if elapsed - 1 in hms and all(
            (m := secs(r, elapsed - 1)) is None or (e := secs(r, elapsed)) is None or m <= e + 1 for r in rows
        ):
            out["moving_time"] = elapsed - 1
    return out


def _head_rows(head: bytes, n: int = 50) -> list[list[str]]:
    text = head_text(head) or ""
    lines = text.splitlines()
    if len(lines) > 1 and not head.endswith((b"\n", b"\r")):
        lines = lines[:-1]  # the last line may be cut by the 64 KiB head
    try:
        return list(csv.reader(lines[: n + 1]))
    except csv.Error:
        return []


def detect(path: Path, head: bytes) -> bool:
    """The export's layout (value shapes, any language), or a header in a known language.

    Known-language header: an activity-type and a date column plus time or distance. Any language:
    :func:`structure_map` accepts the first data rows.
    """
    header = split_header(first_line(head))
    if len(header) < 3:
        return False
    m = header_map(header)
    if (
        "activity_type" in m
        and "date" in m
        and ("time" in m or "distance" in m)
        and (_norm(header[m["date"]]) in HEADERS["date"])
    ):
        return True
    rows = _head_rows(head)
    return len(rows) > 1 and structure_map([h.strip() for h in rows[0]], rows[1:]) is not None


def distance_unit(
    header: list[str],
    cols: dict[str, int],
    rows: list[tuple[int, list[str]]],
    *,
    decimal_comma: bool,
    given: DistanceUnit | None = None,
) -> tuple[DistanceUnit, str | None]:
    """The unit of the ``Distance`` column for non-swim activities, and a note.

    Order: a unit written in the header (``Distance (mi)``); the ``given``
    argument; the median running/walking stride length (Garmin writes metres
    in metric accounts, below 2.0, and feet in statute accounts, above 2.0);
    a non-English header (those accounts are metric); running or walking
    speeds that are implausibly slow in km/h (median running < 6.5, walking
    < 3.5 "km/h" means the values are miles; hikes are not used); else km. The note (None for an
    explicit unit) says how the unit was decided.
    """
    if "distance" in cols:
        m = _UNIT_IN_HEADER.search(_norm(header[cols["distance"]]))
        if m and m.group(1) in ("km", "mi", "miles"):
            return ("mi" if m.group(1) in ("mi", "miles") else "km"), None
    if given is not None:
        return given, None

    def num(cells: list[str], field: str) -> float | None:
        i = cols.get(field)
        if i is None or i >= len(cells):
            return None
        try:
            return parse_number(cells[i], decimal_comma=decimal_comma)
        except ValueError:
            return None

    strides, run_speed, walk_speed = [], [], []
    for _line, cells in rows:
        i = cols.get("activity_type")
        sport = normalise_sport(cells[i])[0] if i is not None and i < len(cells) else "generic"
        if sport not in ("running", "walking", "hiking"):
            continue
        s = num(cells, "avg_stride")
        if s and s > 0:
            strides.append(s)
        d = num(cells, "distance")
        t = None
        j = cols.get("time")
        if j is not None and j < len(cells):
            try:
                t = parse_clock(cells[j])
            except ValueError:
                t = None
        if d and t and t > 300 and sport != "hiking":  # hiking pace says nothing about units
            (run_speed if sport == "running" else walk_speed).append(d / (t / 3600.0))
    if strides:
        med = statistics.median(strides)
        unit: DistanceUnit = "mi" if med > 2.0 else "km"
        return unit, (
            f"distance unit {unit} decided from the median stride length {med:.2f} ({'ft' if unit == 'mi' else 'm'})"
        )
    lang = LANGUAGE_OF_TYPE_HEADER.get(_norm(header[cols["activity_type"]]), "unknown")
    if lang not in ("en", "unknown"):
        return "km", f"distance unit km assumed for a {lang} export (metric accounts)"
    if run_speed and statistics.median(run_speed) < 6.5:
        return "mi", (
            f"distance unit mi guessed from running speeds (median "
            f"{statistics.median(run_speed):.1f}/h is too slow for km)"
        )
    if walk_speed and statistics.median(walk_speed) < 3.5:
        return "mi", (
            f"distance unit mi guessed from walking speeds (median "
            f"{statistics.median(walk_speed):.1f}/h is too slow for km)"
        )
    return "km", (
        "distance unit km assumed (the export does not say; statute-unit accounts "
        "must pass unit='mi' to garmin_csv.read)"
    )


def read(path: Path, ctx: ReadContext, *, unit: DistanceUnit | None = None) -> ReadResult:
    """Read a Garmin Connect activity list CSV into ``sessions``.

    Parameters
    ----------
    path : Path
        The CSV file.
    ctx : ReadContext
        Athlete, time zone of the ``Date`` column, bad-row policy.
    unit : {"km", "mi"}, optional
        The account's distance unit, when known; otherwise it is inferred
        (see :func:`distance_unit`).

    Returns
    -------
    ReadResult
        ``sessions`` with ``source`` = ``"garmin_activities_csv"``.

    Raises
    ------
    ConnectorError
        Unreadable text or CSV, no data rows' header, unknown time zone.
    BadRowError
        A row whose date or duration cannot be read (unless ``on_bad_row`` is SKIP).
    """
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        return _read(path, ctx, name, unit)


def _read(path: Path, ctx: ReadContext, name: str, unit_arg: DistanceUnit | None) -> ReadResult:
    text = open_text(path, ctx)
    records = list(csv_rows(text, path, ctx))
    if not records:
        raise CorruptFileError(name, "empty file: expected a Garmin activity header row", line=1)
    _, header = records[0]
    hints = header_map(header)
    layout = structure_map([h.strip() for h in header], [c for _l, c in records[1:]])
    if layout is not None:
        # the layout decides the fixed columns; header translations fill what it cannot know
        cols = {**hints, **layout}
        for k in ("moving_time", "elapsed_time"):
            if k in hints:
                cols[k] = hints[k]
        unknown = [f for f in ("activity_type", "date", "time") if hints.get(f) != layout.get(f)]
    else:
        cols = hints
        unknown = []
    for need in ("activity_type", "date"):
        if need not in cols:
            raise CorruptFileError(
                name,
                f"header has no {need.replace('_', ' ')} column (expected e.g. "
                f"{HEADERS[need][0]!r}); found {header[:6]!r}",
                line=1,
            )
    if "time" not in cols and "moving_time" not in cols and "elapsed_time" not in cols:
        raise CorruptFileError(name, "header has no duration column ('Time')", line=1)
    data = records[1:]
    numeric_fields = ("distance", "calories", "aerobic_te", "tss", "avg_stride")
    samples = [cells[cols[f]] for _l, cells in data for f in numeric_fields if f in cols and cols[f] < len(cells)]
    point, comma = decimal_votes(samples)
    # Garmin writes calories as integers and distances with two decimals, so a
    # three-digit group there ("1.500" m of swimming, "1,234" kcal) can only be
    # a thousands separator: it tells the convention even in a file without
    # any decimal ("swims only").
    for f in ("distance", "calories"):
        for _l, cells in data:
            if f in cols and cols[f] < len(cells):
                v = cells[cols[f]].strip()
                if _GROUP_DOT.match(v):
                    comma += 1
                elif _GROUP_COMMA.match(v):
                    point += 1
    decimal_comma = comma > point
    unit, unit_note = distance_unit(header, cols, data, decimal_comma=decimal_comma, given=unit_arg)
    unit_m = MILE_M if unit == "mi" else 1000.0
    swim_unit_m = YARD_M if unit == "mi" else 1.0

    clock = LocalTime(ctx, path, "the Date column (local time without zone)")
    bad = BadRows(ctx)
    out: list[dict] = []
    ncols = len(header)

    def cell(cells: list[str], field: str) -> str | None:
        i = cols.get(field)
        return cells[i] if i is not None and i < len(cells) else None

    for line, cells in data:
        try:
            if len(cells) != ncols:
                raise BadRowError(name, f"expected {ncols} cells as in the header, found {len(cells)}", line=line)

            def num(field: str, cells: list[str] = cells, line: int = line) -> float | None:
                try:
                    return parse_number(cell(cells, field), decimal_comma=decimal_comma)
                except ValueError as err:
                    raise BadRowError(name, str(err), line=line, column=header[cols[field]]) from err

            def dur(field: str, cells: list[str] = cells, line: int = line) -> float | None:
                try:
                    return parse_clock(cell(cells, field))
                except ValueError as err:
                    raise BadRowError(name, str(err), line=line, column=header[cols[field]]) from err

            raw_date = cell(cells, "date")
            try:
                local = parse_local_datetime(raw_date)
            except ValueError as err:
                raise BadRowError(
                    name, f"{err} (expected 2025-02-06 17:06:03)", line=line, column=header[cols["date"]]
                ) from err
            start_utc, offset = clock.to_utc(local)
            sport, sub = normalise_sport(cell(cells, "activity_type"))
            dist = num("distance")
            if dist is not None:
                dist = dist * (swim_unit_m if sport == "swimming" else unit_m)
            duration = dur("time") if "time" in cols else None
            if duration is None and "moving_time" in cols:
                duration = dur("moving_time")
            tss = positive_or_none(num("tss"))
            out.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": FORMAT,
                    "start_utc": start_utc,
                    "local_date": local.date(),
                    "sport": sport,
                    "sub_sport": sub,
                    "duration_s": duration,
                    "elapsed_s": dur("elapsed_time") if "elapsed_time" in cols else None,
                    "distance_m": dist,
                    "avg_hr_bpm": positive_or_none(num("avg_hr")),
                    "max_hr_bpm": positive_or_none(num("max_hr")),
                    "energy_kcal": num("calories"),
                    "device_load": tss,
                    "device_load_kind": "tss" if tss is not None else None,
                    "training_effect_aerobic": num("aerobic_te"),
                    "local_offset_s": offset,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)

    result = ReadResult(format=FORMAT, sessions=frame(out, SESSION_COLUMNS))
    if unknown:
        result.warn(
            "header language not in the translation table: columns mapped by the export's layout and "
            "value shapes (type, date, favourite, title, distance, calories, time, HR, TE; TSS by its "
            "untranslated header; moving/elapsed time by their values)"
        )
    if unit_note and any(r["distance_m"] is not None for r in out):
        result.warn(unit_note)
    if decimal_comma:
        result.warn("numbers read with decimal comma (e.g. '7,00' = 7.0; '1.234' = 1234)")
    clock.note(result)
    return bad.finish(result)
