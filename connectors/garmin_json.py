"""Garmin Connect bulk export (``DI_CONNECT/``, from "Export Your Data" in the Garmin account).

Four JSON files are read; each is recognised by its shape, not its name:

``DI-Connect-Fitness/*_summarizedActivities.json`` -> ``sessions``
    ``[{"summarizedActivitiesExport": [ {...}, ... ]}]``. ``beginTimestamp``
    is the start in epoch ms UTC; ``startTimeLocal`` is the same instant
    shifted to local wall-clock time, so ``startTimeLocal - beginTimestamp``
    is the local offset (``local_offset_s``) and the local date needs no time
    zone. ``duration``/``elapsedDuration`` are ms, ``distance`` is cm,
    ``avgHr``/``maxHr`` bpm, ``aerobicTrainingEffect``/
    ``anaerobicTrainingEffect``; ``trainingStressScore`` (when present) ->
    ``device_load`` kind ``"tss"``, else ``activityTrainingLoad`` (Garmin's
    EPOC-based load) -> kind ``"epoc"``; ``directWorkoutRpe``/``workoutRpe``
    (10-100, Garmin's CR10 x 10) -> ``rpe`` and an sRPE load. Multisport
    parents whose legs are in the file are dropped (the legs are the
    sessions). ``calories`` is not read: its unit in this export is not
    documented.
``DI-Connect-Wellness/*_sleepData.json`` -> ``sleep``
    A list of nights: ``sleepStartTimestampGMT``/``sleepEndTimestampGMT``
    (``"2019-08-04T20:28:00.0"``, UTC), ``calendarDate`` = wake date,
    ``deepSleepSeconds``/``lightSleepSeconds``/``remSleepSeconds``/
    ``awakeSleepSeconds``; ``asleep_s`` = deep + light + REM, ``in_bed_s`` =
    end - start. Naps (``napList``/``dailyNapDTOS`` items with
    ``napStartTimestampGMT``, ``napEndTimestampGMT``, ``napTimeSec``) are
    separate rows with ``is_nap`` true (``asleep_s`` = ``napTimeSec``; null without it,
    never the nap's span). Days without a sleep window are skipped; a night
    without any stage value keeps null durations, with a note (never 0 h).
``DI-Connect-Aggregator/UDSFile_*.json`` -> ``wellness.rhr_bpm``
    Daily summaries: ``calendarDate``, ``restingHeartRate`` (0/null = none).
``*_healthStatusData.json`` -> ``wellness.hrv_rmssd_ms``
    ``[{"calendarDate": ..., "metrics": [{"type": "HRV", "value": 45.0, ...}, ...]}]``;
    Garmin's overnight HRV is an rMSSD [ms].

Every file is streamed record by record (``summarizedActivities`` reaches
100 MB+ for long-time users), so memory stays bounded by one record.
"""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path
from typing import Any

from connectors._export_util import (
    SESSION_COLUMNS,
    SLEEP_COLUMNS,
    WELLNESS_COLUMNS,
    BadRows,
    LocalTime,
    RowBuffer,
    UnexpectedErrors,
    display_name,
    epoch_ms_to_utc,
    frame,
    iter_json_items,
    json_head,
    normalise_sport,
    opt_number,
    parse_date,
    parse_gmt_string,
    positive_or_none,
    record_error,
    require_dict,
    srpe_load,
)
from connectors.base import BadRowError, ConnectorError, ReadContext, ReadResult

__all__ = ["FORMAT", "KINDS", "OTHER", "detect", "kind_of", "read"]

FORMAT = "garmin_di_connect"

ACTIVITIES = "garmin_di_activities"
SLEEP = "garmin_di_sleep"
UDS = "garmin_di_uds"
HEALTH_STATUS = "garmin_di_health_status"
#: Per-file format names; each is also the ``source`` of the rows it yields.
KINDS = (ACTIVITIES, SLEEP, UDS, HEALTH_STATUS)
#: Any other JSON file of the export: ledgered with a note, no rows.
OTHER = "garmin_di_other"

_ACT_RE = re.compile(rb'^\[\s*\{\s*"summarizedActivitiesExport"\s*:')
_EMPTY_RE = re.compile(rb"^\[\s*\]\s*$")
_NAME_KIND = (
    (re.compile(r"_summarizedActivities\.json$", re.I), ACTIVITIES),
    (re.compile(r"_sleepData\.json$", re.I), SLEEP),
    (re.compile(r"^UDSFile_.*\.json$", re.I), UDS),
    (re.compile(r"_healthStatusData\.json$", re.I), HEALTH_STATUS),
)


def _other(path: Path, head: bytes) -> str | None:
    """:data:`OTHER` for the export's remaining JSON files, else None.

    A ``DI_CONNECT`` export holds dozens of other JSON files (gear, goals,
    personal records, heart-rate zones, training status, ...). A JSON
    document inside a ``DI_CONNECT``/``DI-Connect-*`` folder is ledgered as
    not used, so that the whole export can be ingested as is, unless its name
    is one of the four read files (then a shape mismatch is an error).
    """
    in_export = any(p == "DI_CONNECT" or p.startswith("DI-Connect-") for p in path.parts[:-1])
    if not in_export or any(rx.search(path.name) for rx, _ in _NAME_KIND):
        return None
    return OTHER if head[:1] in (b"[", b"{") else None


def kind_of(path: Path, head: bytes) -> str | None:
    """Which DI_CONNECT file ``head`` is (None: not a Garmin DI_CONNECT file).

    One of :data:`KINDS`, or :data:`OTHER` for the export's JSON files that
    strainwatch does not use.
    """
    h = json_head(head)
    if _ACT_RE.match(h):
        return ACTIVITIES
    if not h.startswith(b"["):
        return _other(path, h)
    if _EMPTY_RE.match(h):
        # an empty list carries no shape; accept it only where Garmin's
        # folder layout names it (an empty month of sleep, say)
        for rx, kind in _NAME_KIND:
            if rx.search(path.name):
                return kind
        return _other(path, h)
    if b'"sleepStartTimestampGMT"' in h or (
        b'"calendarDate"' in h and (b'"deepSleepSeconds"' in h or b'"sleepWindowConfirmationType"' in h)
    ):
        return SLEEP
    if b'"calendarDate"' in h and b'"metrics"' in h:
        return HEALTH_STATUS
    if b'"calendarDate"' in h and any(
        k in h
        for k in (
            b'"restingHeartRate"',
            b'"totalSteps"',
            b'"userDailySummaryId"',
            b'"totalKilocalories"',
        )
    ):
        return UDS
    return _other(path, h)


def detect(path: Path, head: bytes) -> bool:
    return kind_of(path, head) is not None


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one DI_CONNECT JSON file (activities, sleep, daily summary or health status).

    Returns
    -------
    ReadResult
        ``format`` (and every row's ``source``) is one of :data:`KINDS`.

    Raises
    ------
    CorruptFileError
        Malformed JSON (file, line and column, last good record), or a shape
        that is none of the four files.
    BadRowError
        A record with a missing or malformed required field, naming the record
        index and the field (unless ``ctx.on_bad_row`` is SKIP).
    """
    name = display_name(path, ctx)
    with UnexpectedErrors(name, FORMAT):
        with open(path, "rb") as fh:
            head = fh.read(65536)
        kind = kind_of(path, head)
        if kind is None:
            raise ConnectorError(
                name,
                "not a Garmin DI_CONNECT activities, sleep, UDS or health-status JSON file (unrecognised shape)",
                offset=0,
            )
        if kind == OTHER:
            result = ReadResult(format=OTHER)
            result.warn(
                f"{path.name}: Garmin export file not used by strainwatch (only activities, "
                "sleep, daily summaries and health status are read)"
            )
            return result
        reader = {ACTIVITIES: _activities, SLEEP: _sleep, UDS: _uds, HEALTH_STATUS: _health}[kind]
        return reader(path, ctx)


# ------------------------------------------------------------------ activities


def _activity_type(rec: dict) -> str | None:
    t = rec.get("activityType")
    if isinstance(t, dict):
        t = t.get("typeKey")
    if not isinstance(t, str):
        t = rec.get("sportType")
    return t if isinstance(t, str) else None


def _activities(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    clock = LocalTime(ctx, path, "activity dates without startTimeLocal")
    rows = RowBuffer(SESSION_COLUMNS)
    parents: list[tuple[dict, set]] = []
    ids: set = set()
    for i, item in iter_json_items(path, ctx, "item.summarizedActivitiesExport.item"):
        try:
            rec = require_dict(path, ctx, i, item, "an activity")
            begin = rec.get("beginTimestamp", rec.get("startTimeGmt"))
            try:
                start = epoch_ms_to_utc(begin)
            except ValueError as err:
                raise record_error(path, ctx, i, "beginTimestamp", str(err)) from err
            local_raw = rec.get("startTimeLocal")
            offset = None
            if local_raw is not None:
                try:
                    local = epoch_ms_to_utc(local_raw)
                except ValueError as err:
                    raise record_error(path, ctx, i, "startTimeLocal", str(err)) from err
                offset = int(round((local - start).total_seconds()))
                if abs(offset) > 14 * 3600:
                    raise record_error(
                        path, ctx, i, "startTimeLocal", f"local offset {offset} s from beginTimestamp is outside +-14 h"
                    )
                local_date = local.date()
            else:
                local_date = clock.local_date_of(start)
                offset = clock.offset_of(start)
            num = partial(opt_number, path, ctx, i, rec)  # num(field): this record's number
            duration_ms = num("duration")
            moving_ms = num("movingDuration")
            elapsed_ms = num("elapsedDuration")
            dur_ms = duration_ms if duration_ms is not None else moving_ms
            if dur_ms is not None and dur_ms < 0:
                raise record_error(path, ctx, i, "duration", f"negative duration {dur_ms} ms")
            dist_cm = num("distance")
            sport, sub = normalise_sport(_activity_type(rec))
            tss = positive_or_none(num("trainingStressScore"))
            epoc = positive_or_none(num("activityTrainingLoad"))
            rpe_raw = num("directWorkoutRpe")
            if rpe_raw is None:
                rpe_raw = num("workoutRpe")
            rpe = None
            if rpe_raw is not None and rpe_raw > 0:
                rpe = rpe_raw / 10.0 if rpe_raw > 10 else rpe_raw
                if rpe > 10:
                    raise record_error(path, ctx, i, "directWorkoutRpe", f"RPE {rpe_raw} outside Garmin's 10-100 scale")
            minutes = dur_ms / 60000.0 if dur_ms is not None else None
            load, method = srpe_load(rpe, minutes)
            row = {
                "athlete_id": ctx.athlete_id,
                "source": ACTIVITIES,
                "start_utc": start,
                "local_date": local_date,
                "sport": sport,
                "sub_sport": sub,
                "duration_s": dur_ms / 1000.0 if dur_ms is not None else None,
                "elapsed_s": elapsed_ms / 1000.0 if elapsed_ms is not None else None,
                "distance_m": dist_cm / 100.0 if dist_cm is not None else None,
                "avg_hr_bpm": positive_or_none(num("avgHr")),
                "max_hr_bpm": positive_or_none(num("maxHr")),
                "rpe": rpe,
                "load_au": load,
                "load_method": method,
                "device_load": tss if tss is not None else epoc,
                "device_load_kind": "tss" if tss is not None else ("epoc" if epoc is not None else None),
                "training_effect_aerobic": num("aerobicTrainingEffect"),
                "training_effect_anaerobic": num("anaerobicTrainingEffect"),
                "local_offset_s": offset,
                "source_file": name,
            }
            aid = rec.get("activityId")
            if aid is not None:
                ids.add(aid)
            children = rec.get("childIds")
            if rec.get("parent") is True and isinstance(children, list) and children:
                parents.append((row, set(children)))
            else:
                rows.append(row)
        except BadRowError as err:
            bad(err)
    dropped = 0
    for row, children in parents:
        if children & ids:
            dropped += 1
        else:
            rows.append(row)
    result = ReadResult(format=ACTIVITIES, sessions=rows.to_frame())
    if dropped:
        result.warn(f"{dropped} multisport parent activities dropped (their legs are separate sessions)")
    clock.note(result)
    return bad.finish(result)


# ----------------------------------------------------------------------- sleep


def _sleep_score(rec: dict) -> float | None:
    s = rec.get("sleepScores")
    if not isinstance(s, dict):
        return None
    for key in ("overallScore", "overall"):
        v = s.get(key)
        if isinstance(v, dict):
            v = v.get("value")
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
    return None


def _gmt(path: Path, ctx: ReadContext, i: int, rec: dict, field: str) -> Any:
    try:
        return parse_gmt_string(rec.get(field))
    except ValueError as err:
        raise record_error(path, ctx, i, field, str(err)) from err


def _wake_date(path: Path, ctx: ReadContext, i: int, rec: dict, field: str = "calendarDate"):
    try:
        return parse_date(rec.get(field))
    except ValueError as err:
        raise record_error(path, ctx, i, field, str(err)) from err


def _sleep(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    rows: list[dict] = []
    no_window = 0
    unmeasured: list[str] = []
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "a sleep day")
            has_night = rec.get("sleepStartTimestampGMT") is not None or rec.get("sleepEndTimestampGMT") is not None
            naps = rec.get("napList", rec.get("dailyNapDTOS")) or []
            if not isinstance(naps, list):
                raise record_error(path, ctx, i, "napList", "expected a list of naps")
            if has_night:
                start = _gmt(path, ctx, i, rec, "sleepStartTimestampGMT")
                end = _gmt(path, ctx, i, rec, "sleepEndTimestampGMT")
                if end <= start:
                    raise record_error(
                        path,
                        ctx,
                        i,
                        "sleepEndTimestampGMT",
                        f"sleep ends ({end:%Y-%m-%dT%H:%M}) before it starts ({start:%Y-%m-%dT%H:%M})",
                    )
                wake = _wake_date(path, ctx, i, rec)
                stages = {
                    k: opt_number(path, ctx, i, rec, f)
                    for k, f in (
                        ("deep_s", "deepSleepSeconds"),
                        ("light_s", "lightSleepSeconds"),
                        ("rem_s", "remSleepSeconds"),
                        ("awake_s", "awakeSleepSeconds"),
                    )
                }
                for k, v in stages.items():
                    if v is not None and v < 0:
                        raise record_error(path, ctx, i, k, f"negative stage duration {v}")
                parts = [stages[k] for k in ("deep_s", "light_s", "rem_s") if stages[k] is not None]
                if all(v is None for v in stages.values()):
                    unmeasured.append(str(wake))
                rows.append(
                    {
                        "athlete_id": ctx.athlete_id,
                        "source": SLEEP,
                        "start_utc": start,
                        "end_utc": end,
                        "wake_date": wake,
                        "asleep_s": sum(parts) if parts else None,
                        **stages,
                        "in_bed_s": (end - start).total_seconds(),
                        "is_nap": False,
                        "sleep_score": _sleep_score(rec),
                        "source_file": name,
                    }
                )
            else:
                no_window += 1
            for j, nap in enumerate(naps):
                if not isinstance(nap, dict):
                    raise record_error(path, ctx, i, f"napList[{j}]", "expected a nap object")
                ns = _gmt(path, ctx, i, nap, "napStartTimestampGMT")
                ne = _gmt(path, ctx, i, nap, "napEndTimestampGMT")
                if ne <= ns:
                    raise record_error(path, ctx, i, f"napList[{j}].napEndTimestampGMT", "nap ends before it starts")
                secs = opt_number(path, ctx, i, nap, "napTimeSec")
                wake = _wake_date(path, ctx, i, nap if nap.get("calendarDate") else rec)
                rows.append(
                    {
                        "athlete_id": ctx.athlete_id,
                        "source": SLEEP,
                        "start_utc": ns,
                        "end_utc": ne,
                        "wake_date": wake,
                        "asleep_s": secs,  # no napTimeSec: unknown, not the nap's span
                        "in_bed_s": (ne - ns).total_seconds(),
                        "is_nap": True,
                        "source_file": name,
                    }
                )
        except BadRowError as err:
            bad(err)
    result = ReadResult(format=SLEEP, sleep=frame(rows, SLEEP_COLUMNS))
    if no_window:
        result.warn(f"{no_window} days without a sleep window (watch not worn at night) skipped")
    if unmeasured:
        result.warn(
            f"{len(unmeasured)} night(s) with a sleep window but no measured sleep stages (waking "
            f"{', '.join(unmeasured[:10])}): kept with the sleep durations empty, never 0 h"
        )
    return bad.finish(result)


# -------------------------------------------------------------------- wellness


def _uds(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    rows: list[dict] = []
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "a daily summary")
            rhr = positive_or_none(opt_number(path, ctx, i, rec, "restingHeartRate"))
            if rhr is None:
                continue  # no resting HR that day (not worn): no row, never 0
            if not 20 <= rhr <= 150:
                raise record_error(path, ctx, i, "restingHeartRate", f"resting HR {rhr} outside 20-150 bpm")
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": UDS,
                    "date": _wake_date(path, ctx, i, rec),
                    "rhr_bpm": rhr,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    return bad.finish(ReadResult(format=UDS, wellness=frame(rows, WELLNESS_COLUMNS)))


def _health(path: Path, ctx: ReadContext) -> ReadResult:
    name = display_name(path, ctx)
    bad = BadRows(ctx)
    rows: list[dict] = []
    for i, item in iter_json_items(path, ctx, "item"):
        try:
            rec = require_dict(path, ctx, i, item, "a health-status day")
            metrics = rec.get("metrics")
            if not isinstance(metrics, list):
                raise record_error(path, ctx, i, "metrics", "expected a list of metrics")
            hrv = None
            for j, m in enumerate(metrics):
                if not isinstance(m, dict):
                    raise record_error(path, ctx, i, f"metrics[{j}]", "expected a metric object")
                kind = m.get("type", m.get("metricType"))
                if isinstance(kind, str) and kind.upper() == "HRV":
                    hrv = positive_or_none(opt_number(path, ctx, i, m, "value"))
            if hrv is None:
                continue
            if hrv > 500:
                raise record_error(path, ctx, i, "metrics.HRV", f"HRV {hrv} ms is implausible (> 500)")
            rows.append(
                {
                    "athlete_id": ctx.athlete_id,
                    "source": HEALTH_STATUS,
                    "date": _wake_date(path, ctx, i, rec),
                    "hrv_rmssd_ms": hrv,
                    "source_file": name,
                }
            )
        except BadRowError as err:
            bad(err)
    return bad.finish(ReadResult(format=HEALTH_STATUS, wellness=frame(rows, WELLNESS_COLUMNS)))
