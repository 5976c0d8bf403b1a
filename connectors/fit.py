"""FIT files (Garmin, Wahoo, COROS, Bryton, ...) -> sessions, sleep, wellness.

What is read from which message (FIT SDK profile, brief section 1):

* ``session`` (18), one row per message (multisport and chained files have
  several): ``start_time`` -> ``start_utc``; ``sport``/``sub_sport``;
  ``total_timer_time`` (/1000) -> ``duration_s``; ``total_elapsed_time``
  (/1000) -> ``elapsed_s``; ``total_distance`` (/100) -> ``distance_m``;
  ``avg_heart_rate``/``max_heart_rate``; ``total_calories`` ->
  ``energy_kcal``; ``training_stress_score`` (/10) -> ``device_load``
  (``device_load_kind`` "tss"), else ``training_load_peak`` (#168, /65536,
  Garmin EPOC) -> ``device_load`` ("epoc"); ``workout_rpe`` (#193, CR10 x 10)
  /10 -> ``rpe``; ``total_training_effect`` and
  ``total_anaerobic_training_effect`` (/10).
* ``record`` (20) ``heart_rate`` -> ``hr_hist_s`` (seconds at each bpm
  0..255 inside the session's time window); when the records of a session
  carry no heart rate, the buffered ``hr`` messages (132, HRM-Tri/HRM-Swim)
  are used instead. Null without a stream, and null when the stream was cut
  by damage (a partial histogram would under-count TRIMP).
* ``activity`` (34): ``local_timestamp - timestamp`` -> ``local_offset_s``
  (rounded to 15 min); else the athlete's time zone (``ctx.tz``); else UTC,
  with a note.
* ``monitoring_hr_data`` (211) -> ``wellness.rhr_bpm``:
  ``current_day_resting_heart_rate`` (the day's value; ``resting_heart_rate``
  is Garmin's 7-day average and is used only when the day's value is missing,
  with a note). The day is the local date of the message, using
  ``monitoring_info.local_timestamp - timestamp`` (103); a message written at
  00:00 local carries the day that just ended and is dated to it. An offset
  of exactly 0 (devices that write local = UTC) yields to the athlete's zone. Message 55 and
  ``monitoring_info.resting_metabolic_rate`` (kcal/day) are not heart rates
  and are not read.
* sleep files (``file_id.type`` 49): ``sleep_level`` (275: 0 unmeasurable,
  1 awake, 2 light, 3 deep, 4 rem); each message starts a level that lasts
  until the next message, the last message marks the end. ``sleep_assessment``
  (346) ``overall_sleep_score`` -> ``sleep_score``. No stage messages, or no
  asleep epoch at all, -> no night and a note (never a zero-hour night).
* ``hrv_status_summary`` (370) ``last_night_average`` (/128 ms) ->
  ``wellness.hrv_rmssd_ms``, with ``source`` ``"fit_hrv"`` so that the row
  does not replace the same day's resting-HR row (the wellness key is
  athlete, source, date). Beat-to-beat ``hrv`` messages (78) inside
  activities are exercise data and are never read.

Broken files: see :func:`read`. The decoder is :mod:`connectors.fit_decode`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import polars as pl

from connectors.base import (
    PLAUSIBLE,
    PLAUSIBLE_YEARS,
    BadRowError,
    ConnectorError,
    CorruptFileError,
    OnBadRow,
    ReadContext,
    ReadResult,
)
from connectors.fit_decode import DATE_TIME_MIN, FIT_EPOCH_S, Damage, FitFile, Segment, decode, looks_like_fit
from connectors.fit_multisport import leg_groups, uncumulate_legs
from connectors.fit_profile import FILE, SPORT, SUB_SPORT
from features.schemas import SESSIONS, SLEEP, WELLNESS

__all__ = ["FORMAT", "detect", "read", "hr_histogram", "HR_MAX_GAP_S"]

FORMAT = "fit"
SOURCE = "fit"
SOURCE_HRV = "fit_hrv"

#: A gap between heart-rate samples longer than this is a pause: the sample
#: before it counts for the typical sampling interval only [s].
HR_MAX_GAP_S = 30.0
#: Sleep lasting less than this and starting 09:00-19:59 local is a nap [s].
NAP_MAX_S = 3 * 3600
#: A session rebuilt from records alone needs at least this much timer time [s].
MIN_REBUILT_S = 60.0
_SLEEP_STAGE = {0: "unmeasurable", 1: "awake", 2: "light", 3: "deep", 4: "rem"}


def detect(path: Path, head: bytes) -> bool:
    """True for a FIT file header: size byte 12 or 14 and ".FIT" at bytes 8-11."""
    return looks_like_fit(head)


# ----------------------------------------------------------------------------- helpers
def _utc(fit_ts: int | None) -> datetime | None:
    if fit_ts is None or fit_ts < DATE_TIME_MIN:
        return None
    return datetime.fromtimestamp(fit_ts + FIT_EPOCH_S, tz=timezone.utc)


def _round_offset(seconds: float) -> int | None:
    """Round a measured local offset to the nearest 15 min; None when implausible."""
    if abs(seconds) > 14 * 3600:
        return None
    return int(round(seconds / 900.0) * 900)


def _scaled(v, scale: float) -> float | None:
    return None if v is None else float(v) / scale


def hr_histogram(ts_s: np.ndarray, bpm: np.ndarray) -> list[float] | None:
    """Seconds spent at each integer heart rate 0..255 from a sampled stream.

    Each valid sample holds until the next valid sample (per-record
    integration); a gap longer than :data:`HR_MAX_GAP_S` (a pause, a lost
    strap) and the last sample count for the median sampling interval
    instead. Invalid samples (255) are dropped first.

    Parameters
    ----------
    ts_s : numpy.ndarray of float
        Sample times [s], any origin.
    bpm : numpy.ndarray of int
        Heart rate [bpm]; 255 = invalid.

    Returns
    -------
    list of float (length 256) or None
        None when fewer than 2 valid samples.

    Examples
    --------
    >>> h = hr_histogram(np.array([0.0, 1, 2, 3]), np.array([100, 100, 150, 150]))
    >>> h[100], h[150]
    (2.0, 2.0)
    """
    ts_s = np.asarray(ts_s, dtype=np.float64)
    bpm = np.asarray(bpm, dtype=np.int64)
    valid = (bpm >= 0) & (bpm < 255) & np.isfinite(ts_s)
    if int(valid.sum()) < 2:
        return None
    ts_s, bpm = ts_s[valid], bpm[valid]
    order = np.argsort(ts_s, kind="stable")
    ts_s, bpm = ts_s[order], bpm[order]
    dt = np.diff(ts_s)
    pos = dt[dt > 0]
    typical = float(np.median(pos)) if pos.size else 1.0
    typical = min(typical, HR_MAX_GAP_S)
    dt = np.append(dt, typical)
    dt = np.where(dt > HR_MAX_GAP_S, typical, dt)
    hist = np.bincount(bpm, weights=dt, minlength=256)[:256]
    return hist.astype(np.float32).tolist()


def _hr_mesg_stream(msgs: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Samples of buffered ``hr`` messages (132): (event time [s], bpm, absolute FIT time or None).

    ``event_timestamp`` (uint32 array, 1/1024 s) gives full values;
    ``event_timestamp_12`` packs the low 12 bits of each sample's event
    timestamp (LSB first) and is unwrapped against the previous sample. A
    message with ``timestamp`` (+ ``fractional_timestamp``) anchors event time
    to absolute time.
    """
    # per sample, in order: full value (or -1), index into the batch-decoded 12-bit values
    # (or -1), bpm, and the index of the anchor in force
    full_v: list[int] = []
    idx12: list[int] = []
    bpm_l: list[int] = []
    anc_l: list[int] = []
    anchors: list[tuple[float, int]] = []
    chunks: list[bytes] = []
    n_pairs = 0
    for m in msgs:
        bp = m.get(6)
        if not bp:
            continue
        n = len(bp)
        full = m.get(9)
        if full:
            cur = [-1 if x is None else x for x in list(full)[:n]]
            k = len(cur)
            ts = m.get(253)
            if ts is not None and ts >= DATE_TIME_MIN and k and cur[0] >= 0:
                frac = m.get(0)
                anchors.append((ts + (frac / 32768.0 if frac is not None else 0.0), cur[0]))
            full_v.extend(cur)
            idx12.extend([-1] * k)
        else:
            raw = m.get(10)
            if not raw:
                continue
            k = min(n, len(raw) * 8 // 12)
            pairs = (k + 1) // 2
            chunks.append(bytes(raw[: pairs * 3]).ljust(pairs * 3, b"\0"))
            full_v.extend([-2] * k)
            idx12.extend(range(2 * n_pairs, 2 * n_pairs + k))
            n_pairs += pairs
        bpm_l.extend(255 if x is None else x for x in bp[:k])
        anc_l.extend([len(anchors) - 1] * k)
    vals = full_v
    if not vals:
        z = np.zeros(0)
        return z, z.astype(np.int64), None
    dec = np.zeros(0, dtype=np.int64)
    if chunks:
        by = np.frombuffer(b"".join(chunks), dtype=np.uint8).astype(np.int64).reshape(-1, 3)
        lo = by[:, 0] | ((by[:, 1] & 0x0F) << 8)
        hi = (by[:, 1] >> 4) | (by[:, 2] << 4)
        dec = np.column_stack([lo, hi]).ravel()
    fv = np.asarray(full_v, dtype=np.int64)
    i12 = np.asarray(idx12, dtype=np.int64)
    is12 = fv == -2
    v = np.where(is12, dec[np.clip(i12, 0, None)] if dec.size else 0, fv)
    isf = fv >= 0
    b = np.asarray(bpm_l, dtype=np.int64)
    am = np.asarray(anc_l, dtype=np.int64)
    keep = isf | is12  # drop invalid full values
    v, isf, b, am = v[keep], isf[keep], b[keep], am[keep]
    # unwrap: a full value resets; a 12-bit value adds ((v - previous low 12 bits) mod 4096)
    low = v & 0xFFF
    delta = np.zeros(v.size, dtype=np.int64)
    delta[1:] = (low[1:] - low[:-1]) & 0xFFF
    idx = np.arange(v.size)
    last_full = np.maximum.accumulate(np.where(isf, idx, -1))
    started = last_full >= 0
    csum = np.cumsum(np.where(isf, 0, delta))
    base_val = np.where(started, v[np.clip(last_full, 0, None)], 0)
    ev = base_val + csum - csum[np.clip(last_full, 0, None)]
    v, b, am, ev = v[started], b[started], am[started], ev[started]
    t = ev.astype(np.float64) / 1024.0
    absolute = None
    if anchors and (am >= 0).any():
        at = np.asarray([a[0] for a in anchors], dtype=np.float64)
        ae = np.asarray([a[1] for a in anchors], dtype=np.float64)
        absolute = np.where(am >= 0, at[np.clip(am, 0, None)] + (ev - ae[np.clip(am, 0, None)]) / 1024.0, np.nan)
    return t, b, absolute


def _tz_offset(tz: str | None, when: datetime) -> int | None:
    if not tz:
        return None
    try:
        off = when.astimezone(ZoneInfo(tz)).utcoffset()
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return int(off.total_seconds()) if off is not None else None


def _tz_offset_or_utc(tz: str | None, when: datetime, notes: list[str], note: str) -> int:
    """Offset [s] of the athlete's time zone ``tz`` at ``when``; else 0 (UTC) and ``note`` once."""
    off = _tz_offset(tz, when)
    if off is not None:
        return off
    if note not in notes:
        notes.append(note)
    return 0


# ----------------------------------------------------------------------------- read
def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one FIT file (possibly several chained FIT files).

    Damaged files (the corpus has bad CRCs, corrupt chained headers,
    truncations, undefined local message types, trailing garbage):

    * everything before the damage is used when it forms complete rows
      (an activity needs at least one complete ``session`` message: start time
      and duration); the ledger gets a warning naming the byte offset and the
      damage. A bad file CRC with an otherwise intact structure is read the
      same way ("values unverified").
    * otherwise :class:`~connectors.base.CorruptFileError` names the file, the
      byte offset and what was expected.

    A recording that went wrong is kept: a missing session message is rebuilt
    from the laps or the records, missing start/timer fields are completed
    from them, an impossible elapsed time is nulled (``recording_repair`` says
    which; see ``docs/fit.md``, "Broken files").

    Never raises anything but :class:`~connectors.base.ConnectorError`.
    """
    name = ctx.source_name or str(path)
    try:
        buf = Path(path).read_bytes()
    except OSError as err:
        raise ConnectorError(name, f"cannot read file: {err.strerror or err}") from err
    if not looks_like_fit(buf[:14]):
        raise CorruptFileError(
            name, "not a FIT file: expected a 12- or 14-byte header with '.FIT' at bytes 8-11", offset=0
        )
    try:
        fit = decode(buf)
        return _build(fit, name, ctx)
    except ConnectorError:
        raise
    except Exception as err:  # defensive: garbage that slipped past the walk's checks
        raise CorruptFileError(name, f"undecodable FIT content ({type(err).__name__}: {err})") from err


def _damage_text(d: Damage) -> str:
    return f"byte {d.offset}: {d.message}"


def _device_id(file_ids: list[dict]) -> str | None:
    """``"<manufacturer>:<serial>"`` of the recording device (file_id fields 1 and 3), None without a serial."""
    for m in file_ids:
        serial = m.get(3)
        if serial is not None:
            return f"{m.get(1) if m.get(1) is not None else 'unknown'}:{serial}"
    return None


def _build(fit: FitFile, name: str, ctx: ReadContext) -> ReadResult:
    notes: list[str] = []
    if not fit.segments:
        d = fit.trailing
        raise CorruptFileError(name, d.message if d else "no FIT file header", offset=d.offset if d else 0)

    damaged = next((s for s in fit.segments if s.damage is not None), None)
    # a partial segment: its messages end at the damage (CRC damage: all read, unverified)
    partial = damaged is not None and damaged.damage.kind != "crc"
    if damaged is not None:
        d = damaged.damage
        if d.kind == "crc":
            notes.append(f"{_damage_text(d)}; its values were read but are unverified")
        elif d.kind in ("unfinalised", "empty"):
            notes.append(_damage_text(d))
        else:
            notes.append(
                f"damaged at {_damage_text(d)}; read up to the damage"
                + ("; the file header announced 0 data bytes (never finalised)" if damaged.unfinalised else "")
            )
    for s in fit.segments:
        if s.unfinalised and (s.damage is None or s.damage.kind == "crc"):
            notes.append(
                f"byte {s.start}: file header announces 0 data bytes (the recording was never "
                f"finalised); the {s.data_size} data bytes that follow, up to a 2-byte file CRC, were read"
            )
    for s in fit.segments:
        if s.header_crc_ok is False:
            notes.append(f"byte {s.start}: file header CRC mismatch; header fields used as found")
    if fit.trailing is not None:
        notes.append(f"ignored bytes after the last complete FIT file at {_damage_text(fit.trailing)}")

    file_ids = fit.all(0)
    ftype = file_ids[0].get(0) if file_ids else None
    serial = next((m.get(3) for m in file_ids if m.get(3) is not None), None)
    athlete = ctx.athlete_id
    if athlete is None:
        athlete = f"device-{serial}" if serial is not None else "device-unknown"
        notes.append(f"no athlete given (folder layout or --athlete): using {athlete!r} from file_id.serial_number")

    # histograms of sessions whose stream may have been cut by damage are unreliable: null
    cut = fit.segments.index(damaged) if partial else None
    bad_rows = [0]
    sessions = _sessions(fit, athlete, ctx, notes, cut_segment=cut, name=name, bad_rows=bad_rows)
    # multisport legs carry cumulative EPOC / training effect (connectors.fit_multisport); device identity
    sessions, legs_notes = uncumulate_legs(sessions, leg_groups(fit.segments))
    notes.extend(legs_notes)
    sessions = sessions.with_columns(pl.lit(_device_id(file_ids), dtype=pl.String).alias("device_id"))
    sleep = _sleep(fit, athlete, ctx, notes, partial=partial)
    wellness = _wellness(fit, athlete, ctx, notes)

    n_rows = sessions.height + sleep.height + wellness.height
    has_session_msgs = bool(fit.all(18))
    # an activity: file type 4, or session messages, or records in a file without file_id
    # (a course file, type 6, also holds records but is a route, not a workout)
    is_activity = ftype == 4 or has_session_msgs or (ftype is None and any(s.n_records for s in fit.segments))
    n_rec = sum(s.n_records for s in fit.segments)
    n_laps = len(fit.all(19))
    if bad_rows[0] and sessions.height == 0:
        pass  # every session was an implausible row skipped under --on-bad-row skip: said in the notes
    elif damaged is not None or fit.trailing is not None:
        d = damaged.damage if damaged is not None else fit.trailing
        if is_activity and sessions.height == 0:
            short = next((n for n in notes if "too short to rebuild" in n), None)
            raise CorruptFileError(
                name,
                f"{d.message}; no session message before the damage, and "
                + (
                    short.split("; ", 1)[1]
                    if short
                    else f"no lap or timed record messages to rebuild one from ({n_laps} laps, {n_rec} records)"
                ),
                offset=d.offset,
            )
        if not is_activity and n_rows == 0:
            raise CorruptFileError(name, f"{d.message}; nothing usable before the damage", offset=d.offset)
    elif is_activity and sessions.height == 0:
        short = next((n for n in notes if "too short to rebuild" in n), None)
        raise CorruptFileError(
            name,
            (short + "; nothing to ingest")
            if short
            else (
                f"activity file without a usable session message and without lap or timed record messages "
                f"to rebuild one from ({n_laps} laps, {n_rec} records, file ends at byte {fit.size}); nothing "
                f"to ingest"
            ),
            offset=fit.size,
        )
    if n_rows == 0 and not notes:
        kind = FILE.get(ftype, f"type {ftype}") if ftype is not None else "unknown type"
        notes.append(
            f"FIT file ({kind}) has no messages the pipeline uses (session, monitoring_hr_data, "
            f"sleep_level, hrv_status_summary)"
        )
    res = ReadResult(format=FORMAT, sessions=sessions, sleep=sleep, wellness=wellness, skipped_rows=bad_rows[0])
    for n in notes:
        res.warn(n)
    return res


def _prefer_zone(off: int, tz: str | None, when: datetime, notes: list[str], what: str) -> int:
    """The file's local offset, unless it is exactly 0 and the configured zone says otherwise.

    Some devices (COROS, TomTom) write ``local_timestamp`` equal to
    ``timestamp``: an offset of exactly 0 then means "unknown", not UTC.
    """
    if off != 0 or not tz:
        return off
    zone = _tz_offset(tz, when)
    if zone is None or zone == 0:
        return off
    note = (
        f"{what} equals its timestamp (local offset 0, as COROS and TomTom devices write it) but the "
        f"athlete's time zone {tz} is UTC{zone / 3600:+g} h: local dates use the time zone"
    )
    if note not in notes:
        notes.append(note)
    return zone


def _local_offset_for(seg: Segment, start: datetime, ctx: ReadContext, notes: list[str]) -> int:
    for m in seg.messages.get(34, ()):
        ts, lts = m.get(253), m.get(5)
        if ts is not None and lts is not None and ts >= DATE_TIME_MIN:
            off = _round_offset(lts - ts)
            if off is not None:
                return _prefer_zone(off, ctx.tz, start, notes, "activity.local_timestamp")
    return _tz_offset_or_utc(
        ctx.tz, start, notes, "no activity.local_timestamp and no athlete time zone: local dates use UTC"
    )


def _session_histogram(
    rec_ts: np.ndarray, rec_hr: np.ndarray, hr_stream, s0: float, s1: float, *, single: bool
) -> list[float] | None:
    """``hr_hist_s`` of one session window [s0, s1] (FIT seconds).

    Record heart rates are used where valid; buffered ``hr`` samples (132)
    fill the spans where the records have none (more than 5 s from a valid
    record sample), e.g. swims with an HRM-Tri/HRM-Swim strap.
    """
    ts = np.zeros(0)
    hr = np.zeros(0, dtype=np.int64)
    if rec_ts.size:
        w = (rec_ts >= s0) & (rec_ts <= s1 + 1)
        if single and not w.any():
            w = np.ones(rec_ts.size, dtype=bool)
        ts, hr = rec_ts[w], rec_hr[w]
    valid = (hr > 0) & (hr < 255)
    if hr_stream is not None and hr_stream[0].size:
        t, b, absolute = hr_stream
        if absolute is not None:
            w = (absolute >= s0) & (absolute <= s1 + 1)
            if w.any():
                at, ab = absolute[w], b[w]
                good = np.sort(ts[valid])
                if good.size:
                    i = np.clip(np.searchsorted(good, at), 1, good.size) - 1
                    j = np.clip(i + 1, 0, good.size - 1)
                    near = np.minimum(np.abs(at - good[i]), np.abs(at - good[j]))
                    keep = near > 5.0
                    at, ab = at[keep], ab[keep]
                if at.size:
                    ts = np.concatenate([ts[valid], at]) if good.size else at
                    hr = np.concatenate([hr[valid], ab]) if good.size else ab
                    valid = (hr > 0) & (hr < 255)
        elif single and not valid.any():
            ts, hr = t, b
            valid = (hr > 0) & (hr < 255)
    if int(valid.sum()) < 2:
        return None
    return hr_histogram(ts, hr)


def _from_local_clock(seg: Segment, s0: int, ctx: ReadContext, notes: list[str]) -> tuple[datetime | None, int | None]:
    """UTC start of a session whose times are relative, from ``activity.local_timestamp``."""
    for m in seg.messages.get(34, ()):
        ts, lts = m.get(253), m.get(5)
        if ts is None or lts is None or lts < DATE_TIME_MIN or ts >= DATE_TIME_MIN:
            continue
        local = datetime.fromtimestamp(lts - (ts - s0) + FIT_EPOCH_S, tz=timezone.utc).replace(tzinfo=None)
        off = None
        if ctx.tz:
            try:
                off = int(local.replace(tzinfo=ZoneInfo(ctx.tz)).utcoffset().total_seconds())
            except (ZoneInfoNotFoundError, ValueError):
                off = None
        if off is None:
            off = 0
            notes.append(
                "device clock was not set (relative FIT times): start taken from activity.local_timestamp; "
                "no athlete time zone, so start_utc is local time"
            )
        else:
            notes.append(
                "device clock was not set (relative FIT times): start taken from activity.local_timestamp "
                f"and the athlete time zone {ctx.tz}"
            )
        return local.replace(tzinfo=timezone.utc) - timedelta(seconds=off), off
    return None, None


def _implausible_session(row: dict) -> tuple[str, str] | None:
    """(column, what) of the first value outside :data:`connectors.base.PLAUSIBLE`, else None."""
    for col, (lo, hi) in PLAUSIBLE["sessions"].items():
        v = row.get(col)
        if v is not None and (v != v or v < lo or v > hi):
            return col, f"{col} {v:g} outside the plausible range {lo:g}..{hi:g}"
    y = row["start_utc"].year
    if not PLAUSIBLE_YEARS[0] <= y <= PLAUSIBLE_YEARS[1]:
        return "start_utc", f"start_utc {row['start_utc']} outside the years {PLAUSIBLE_YEARS[0]}..{PLAUSIBLE_YEARS[1]}"
    return None


def _lap_summaries(fit: FitFile) -> list[dict]:
    """The lap (19) messages with a usable start, in file order (FIT time base, seconds)."""
    out = []
    for m in fit.all(19):
        end, st = m.get(253), m.get(2)
        el, tm = _scaled(m.get(7), 1000.0), _scaled(m.get(8), 1000.0)
        if st is None and end is not None and el is not None:
            st = int(end - el)
        if st is None or st < DATE_TIME_MIN:
            continue
        if tm is not None and not 0 <= tm <= PLAUSIBLE["sessions"]["duration_s"][1]:
            tm = None
        if el is not None and not 0 <= el <= PLAUSIBLE["sessions"]["duration_s"][1]:
            el = None
        if end is None or end < st:
            end = st + (el if el is not None else (tm or 0.0))
        out.append(
            {
                "start": st,
                "end": end,
                "timer": tm,
                "elapsed": el,
                "dist": m.get(9),
                "kcal": m.get(11),
                "avg": m.get(15) or None,
                "max": m.get(16) or None,
                "sport": m.get(25),
                "sub": m.get(39),
            }
        )
    return out


def _laps_as_session(laps: list[dict]) -> dict[int, object]:
    """Raw session fields (profile units, as the decoder gives them) summed over ``laps``."""
    start = min(lp["start"] for lp in laps)
    end = max(lp["end"] for lp in laps)
    timers = [lp["timer"] if lp["timer"] is not None else lp["elapsed"] for lp in laps]
    timer = sum(t for t in timers if t is not None) if any(t is not None for t in timers) else None
    dists = [lp["dist"] for lp in laps if lp["dist"] is not None]
    kcals = [lp["kcal"] for lp in laps if lp["kcal"] is not None]
    hr_w = [(lp["avg"], t or 0.0) for lp, t in zip(laps, timers, strict=True) if lp["avg"] is not None]
    wsum = sum(w for _, w in hr_w)
    avg = (sum(a * w for a, w in hr_w) / wsum) if wsum > 0 else (hr_w[0][0] if hr_w else None)
    maxes = [lp["max"] for lp in laps if lp["max"] is not None]
    return {
        2: start,
        253: end,
        7: (end - start) * 1000.0,
        8: timer * 1000.0 if timer is not None else None,
        9: sum(dists) if dists else None,
        11: sum(kcals) if kcals else None,
        16: int(round(avg)) if avg is not None else None,
        17: max(maxes) if maxes else None,
        5: laps[0]["sport"],
        6: laps[0]["sub"],
    }


def _records_as_session(ts: np.ndarray, hr: np.ndarray, dist: np.ndarray) -> dict[int, object] | None:
    """Raw session fields from a record stream: start, end, timer (gaps > HR_MAX_GAP_S are pauses),
    distance (largest valid cumulative record.distance) and heart rate."""
    ok = ts >= DATE_TIME_MIN
    ts, hr, dist = ts[ok], hr[ok], dist[ok]
    if ts.size < 2:
        return None
    order = np.argsort(ts, kind="stable")
    ts, hr, dist = ts[order], hr[order], dist[order]
    dt = np.diff(ts)
    timer = float(dt[dt <= HR_MAX_GAP_S].sum())
    if timer <= 0:
        return None
    dv = dist[dist != 0xFFFFFFFF]
    hv = hr[(hr > 0) & (hr < 255)]
    out: dict[int, object] = {
        2: int(ts[0]),
        253: int(ts[-1]),
        7: float(ts[-1] - ts[0]) * 1000.0,
        8: timer * 1000.0,
        9: int(dv.max()) if dv.size else None,
        11: None,
        16: None,
        17: int(hv.max()) if hv.size else None,
    }
    hist = hr_histogram(ts, hr)
    if hist is not None:
        h = np.asarray(hist, dtype=np.float64)
        if h.sum() > 0:
            out[16] = int(round(float((h * np.arange(256)).sum() / h.sum())))
    return out


def _recording_status(fit: FitFile) -> str:
    """Why a recording has no (complete) session summary, in words."""
    seg = fit.segments[-1] if fit.segments else None
    if seg is not None and seg.unfinalised:
        return "the recording was never finalised (its header announces 0 data bytes)"
    d = next((s.damage for s in fit.segments if s.damage is not None and s.damage.kind != "crc"), None)
    if d is not None:
        return f"the recording was cut at byte {d.offset} before its session message"
    return "the file holds no session message (the recording was not finished)"


_SESSION_FIELD = {
    2: "start_time",
    8: "total_timer_time",
    7: "total_elapsed_time",
    9: "total_distance",
    16: "avg_heart_rate",
    17: "max_heart_rate",
}


def _session_messages(
    fit: FitFile, rec: tuple[np.ndarray, np.ndarray, np.ndarray], notes: list[str]
) -> list[tuple[int, Segment, dict, str | None]]:
    """(segment index, segment, raw session fields, repair) of every session to build.

    A session message lacking its start or durations is completed from the
    laps and records inside its window; an impossible ``total_elapsed_time``
    is dropped; a file without any session message gets sessions rebuilt from
    its laps (one per run of laps of one sport) or, without laps, from its
    record stream. ``repair`` names what was done (``None``: nothing).
    """
    rec_ts, rec_hr, rec_dist = rec
    laps = _lap_summaries(fit)
    found = [(i, s, m) for i, s in enumerate(fit.segments) for m in s.messages.get(18, ())]
    out: list[tuple[int, Segment, dict, str | None]] = []
    file_ids = fit.all(0)
    ftype = file_ids[0].get(0) if file_ids else None
    if not found:
        if not fit.segments or ftype not in (4, None):
            return out  # only activity files are workouts (a course file's records are a route)
        return _rebuild(fit, laps, rec, _recording_status(fit), notes, after=-np.inf)
    prev_end = None
    single = len(found) == 1
    for seg_i, seg, m in found:
        m = dict(m)
        end_ts = m.get(253)
        if single:
            lo, hi = -np.inf, np.inf
        else:
            lo = prev_end if prev_end is not None else -np.inf
            hi = end_ts if end_ts is not None else np.inf
        prev_end = end_ts if end_ts is not None else prev_end
        if m.get(2) is not None and m.get(2) < DATE_TIME_MIN:
            out.append((seg_i, seg, m, None))  # relative device clock: start from activity.local_timestamp
            continue
        repair = None
        # an impossible elapsed time (a unit left running for days) is dropped, the rest kept
        el = m.get(7)
        tm = m.get(8)
        if el is not None:
            el_s, tm_s = el / 1000.0, (tm / 1000.0 if tm is not None else None)
            span = None
            s0 = m.get(2)
            if s0 is not None and rec_ts.size:
                w = (rec_ts >= s0) & (rec_ts <= s0 + el_s + 1) & (rec_ts >= DATE_TIME_MIN)
                if w.any():
                    span = float(rec_ts[w].max() - s0)
            why = None
            if el_s > PLAUSIBLE["sessions"]["elapsed_s"][1]:
                why = f"more than {PLAUSIBLE['sessions']['elapsed_s'][1] / 86400:g} days"
            elif el_s > 86400 and (span is None or el_s > span + 3600):
                why = "more than 24 h " + (
                    f"while the records span {span:.0f} s" if span is not None else "without records to show it"
                )
            elif tm_s is not None and el_s < tm_s - 60:
                why = f"shorter than the timer time {tm_s:.0f} s"
            if why is not None:
                notes.append(
                    f"session message at byte {m.get(-1)}: total_elapsed_time {el_s:.0f} s "
                    f"({el_s / 86400:.1f} days) is impossible ({why}"
                    + (f"; timer time {tm_s:.0f} s" if tm_s is not None else "")
                    + "): elapsed_s left empty, the rest of the session kept; load confidence lowered"
                )
                m[-7] = el  # the window for the streams still spans it
                m[7] = None
                repair = "elapsed_nulled"
        missing = [f for f in (2, 8) if m.get(f) is None]
        if m.get(8) is None and m.get(7) is not None:
            missing.remove(8)  # the elapsed time stands in for the timer time, as always
        if m.get(2) is None and end_ts is not None and m.get(7) is not None and 2 in missing:
            missing.remove(2)  # start = end - elapsed, as always
        if missing:
            w_laps = [lp for lp in laps if lp["start"] >= lo - 1 and lp["end"] <= hi + 1]
            src = None
            if w_laps:
                filled = _laps_as_session(w_laps)
                src = f"{len(w_laps)} lap message(s)"
                how = "completed_from_laps"
            else:
                w = (rec_ts >= lo) & (rec_ts <= hi) if rec_ts.size else np.zeros(0, dtype=bool)
                filled = _records_as_session(rec_ts[w], rec_hr[w], rec_dist[w]) if w.any() else None
                src = f"{int(w.sum())} record messages"
                how = "completed_from_records"
            if filled is not None:
                names = [_SESSION_FIELD[f] for f in missing]
                took = []
                for f in (2, 8, 7, 9, 16, 17):
                    if f == 7 and m.get(-7) is not None:
                        continue  # the impossible elapsed time stays empty
                    if m.get(f) is None and filled.get(f) is not None:
                        m[f] = filled[f]
                        took.append(_SESSION_FIELD[f])
                notes.append(
                    f"session message at byte {m.get(-1)} lacks {' and '.join(names)}: "
                    f"{', '.join(took)} taken from its {src}; load confidence lowered"
                )
                repair = how
        out.append((seg_i, seg, m, repair))
    cut = any(sg.damage is not None and sg.damage.kind != "crc" for sg in fit.segments)
    if cut and ftype in (4, None):
        # a multisport recording cut in a later leg: that leg's laps/records follow the last session message
        ends = [
            float(m[253]) if m.get(253) is not None else float(m[2]) + (m.get(7) or m.get(8) or 0) / 1000.0
            for _i, _s, m, _r in out
            if m.get(2) is not None and m.get(2) >= DATE_TIME_MIN
        ]
        if ends:
            after = max(ends)
            why = _recording_status(fit).replace(
                "before its session message", f"after {len(out)} session message(s), before the next"
            )
            out += _rebuild(fit, laps, rec, why, notes, after=after, quiet_short=True)
    return out


def _rebuild(
    fit: FitFile,
    laps: list[dict],
    rec: tuple[np.ndarray, np.ndarray, np.ndarray],
    why: str,
    notes: list[str],
    *,
    after: float,
    quiet_short: bool = False,
) -> list[tuple[int, Segment, dict, str]]:
    """Sessions rebuilt from the laps (one per run of laps of one sport) or else the records after ``after``.

    The lap still open when the recording stopped has no lap message: the
    records after the last lap's end add their timer time, distance and end.
    Records alone need :data:`MIN_REBUILT_S` of timer time.
    """
    rec_ts, rec_hr, rec_dist = rec
    out: list[tuple[int, Segment, dict, str]] = []
    seg_i = next((i for i, sg in enumerate(fit.segments) if sg.damage is not None), len(fit.segments) - 1)
    seg = fit.segments[seg_i]
    timed = rec_ts >= DATE_TIME_MIN
    valid_d = rec_dist != 0xFFFFFFFF

    def dist_at(t: float) -> float:
        d = rec_dist[valid_d & timed & (rec_ts <= t)]
        return float(d.max()) if d.size else 0.0

    laps = [lp for lp in laps if lp["start"] >= after - 1]
    if laps:
        groups: list[list[dict]] = []
        for lp in laps:
            if groups and groups[-1][-1]["sport"] == lp["sport"]:
                groups[-1].append(lp)
            else:
                groups.append([lp])
        for k, g in enumerate(groups):
            m = _laps_as_session(g)
            m[-1] = None
            if k == len(groups) - 1 and rec_ts.size:
                tail = m[253]
                w = (rec_ts > tail) & timed
                if w.any():
                    t = np.sort(np.concatenate([[float(tail)], rec_ts[w]]))
                    dt = np.diff(t)
                    m[8] = (m[8] or 0.0) + float(dt[dt <= HR_MAX_GAP_S].sum()) * 1000.0
                    m[253] = float(t[-1])
                    m[7] = (m[253] - m[2]) * 1000.0
                    dv = rec_dist[w & valid_d]
                    if dv.size and len(groups) == 1 and after == -np.inf:
                        # the whole recording in one session: its distance is the last cumulative one
                        m[9] = max(m[9] or 0, int(dv.max()))
                    elif dv.size:
                        extra = float(dv.max()) - dist_at(float(tail))
                        if extra > 0:
                            m[9] = (m[9] or 0) + extra
            if m[7] is not None and m[7] / 1000.0 > PLAUSIBLE["sessions"]["elapsed_s"][1]:
                notes.append(
                    f"laps and records span {m[7] / 86400000.0:.1f} days (a unit left running): elapsed_s left empty"
                )
                m[-7], m[7] = m[7], None
            out.append((seg_i, seg, m, "session_from_laps"))
        notes.append(
            f"{why}: {len(out)} session(s) rebuilt from {len(laps)} lap message(s) (start, timer time, "
            f"distance, heart rate); load confidence lowered"
        )
        return out
    w = (rec_ts > after) & timed if rec_ts.size else np.zeros(0, dtype=bool)
    m = _records_as_session(rec_ts[w], rec_hr[w], rec_dist[w]) if w.any() else None
    if m is not None and m.get(9) is not None and after > -np.inf:
        m[9] = max(0.0, m[9] - dist_at(after))
    if m is not None and m[8] / 1000.0 < MIN_REBUILT_S:
        if not quiet_short:
            notes.append(
                f"{why}; its {int(w.sum())} records span {m[8] / 1000.0:g} s of timer time, less than "
                f"{MIN_REBUILT_S:g} s: too short to rebuild a session from"
            )
        m = None
    if m is not None and m[7] / 1000.0 > PLAUSIBLE["sessions"]["elapsed_s"][1]:
        notes.append(f"the records span {m[7] / 86400000.0:.1f} days (a unit left running): elapsed_s left empty")
        m[-7], m[7] = m[7], None
    if m is not None:
        m[-1] = None
        out.append((seg_i, seg, m, "session_from_records"))
        notes.append(
            f"{why}: session rebuilt from {int(w.sum())} record messages "
            f"({(m[253] - m[2]) / 60.0:.1f} min: start, timer time without pauses over "
            f"{HR_MAX_GAP_S:g} s, distance, heart rate); load confidence lowered"
        )
    return out


def _sessions(
    fit: FitFile,
    athlete: str,
    ctx: ReadContext,
    notes: list[str],
    *,
    cut_segment: int | None = None,
    name: str = "",
    bad_rows: list[int] | None = None,
) -> pl.DataFrame:
    rows = []
    # streams over the whole file (chained files spread records/hr over segments)
    rec_t = [s.record_ts for s in fit.segments if s.record_ts is not None]
    rec_h = [s.record_hr for s in fit.segments if s.record_hr is not None]
    rec_d = [s.record_dist for s in fit.segments if s.record_dist is not None]
    rec_ts = np.concatenate(rec_t).astype(np.float64) if rec_t else np.zeros(0)
    rec_hr = np.concatenate(rec_h).astype(np.int64) if rec_h else np.zeros(0, dtype=np.int64)
    rec_dist = np.concatenate(rec_d).astype(np.int64) if rec_d else np.zeros(0, dtype=np.int64)
    hr_msgs = fit.all(132)
    hr_stream = _hr_mesg_stream(hr_msgs) if hr_msgs else None
    all_sessions = _session_messages(fit, (rec_ts, rec_hr, rec_dist), notes)
    skipped = 0
    for seg_i, seg, m, repair in all_sessions:
        start = _utc(m.get(2))
        timer = _scaled(m.get(8), 1000.0)
        elapsed = _scaled(m.get(7), 1000.0)
        window_elapsed = _scaled(m.get(-7), 1000.0) if m.get(-7) is not None else elapsed
        end_ts = m.get(253)
        s0 = m.get(2)  # start in the file's own time base (window for the streams)
        if s0 is None and end_ts is not None and elapsed is not None:
            s0 = int(end_ts - elapsed)
            start = _utc(s0)
        duration = timer if timer is not None else elapsed
        off = None
        if start is None and s0 is not None:
            # device clock never set: FIT "system time" (seconds since power-on, < 0x10000000).
            # activity.local_timestamp is absolute local time at activity.timestamp.
            start, off = _from_local_clock(seg, s0, ctx, notes)
        if start is None or duration is None:
            skipped += 1
            continue
        sport_n = m.get(5)
        sub_n = m.get(6)
        if sport_n is None:
            sp = seg.messages.get(12) or next((s.messages.get(12) for s in fit.segments if s.messages.get(12)), [])
            if sp:
                sport_n = sp[0].get(0)
                sub_n = sub_n if sub_n is not None else sp[0].get(1)
        sport = SPORT.get(sport_n, f"sport_{sport_n}") if sport_n is not None else "unknown"
        sub = SUB_SPORT.get(sub_n, f"sub_sport_{sub_n}") if sub_n is not None else None
        tss = _scaled(m.get(35), 10.0)
        epoc = _scaled(m.get(168), 65536.0)
        if tss is not None:
            dl, kind = tss, "tss"
        elif epoc is not None and epoc >= 0:
            dl, kind = epoc, "epoc"
        else:
            dl, kind = None, None
        rpe_raw = m.get(193)
        rpe = rpe_raw / 10.0 if rpe_raw is not None and 0 <= rpe_raw <= 100 else None
        avg_hr = m.get(16) or None
        max_hr = m.get(17) or None
        if off is None:
            off = _local_offset_for(seg, start, ctx, notes)
        # heart-rate histogram in the session window
        if window_elapsed is not None:
            s1 = s0 + window_elapsed
        elif end_ts is not None and end_ts >= s0:
            s1 = end_ts
        else:
            s1 = s0 + duration
        hist = None
        if seg_i != cut_segment or repair in ("session_from_laps", "session_from_records"):
            hist = _session_histogram(rec_ts, rec_hr, hr_stream, s0, s1, single=len(all_sessions) == 1)
        row = {
            "athlete_id": athlete,
            "source": SOURCE,
            "start_utc": start,
            "local_date": (start + timedelta(seconds=off)).date(),
            "sport": sport,
            "duration_s": duration,
            "distance_m": _scaled(m.get(9), 100.0),
            "avg_hr_bpm": float(avg_hr) if avg_hr is not None else None,
            "max_hr_bpm": float(max_hr) if max_hr is not None else None,
            "rpe": rpe,
            "device_load": dl,
            "load_au": None,
            "load_method": None,
            "source_file": None,
            "sub_sport": sub,
            "device_load_kind": kind,
            "energy_kcal": float(m[11]) if m.get(11) is not None else None,
            "elapsed_s": elapsed,
            "local_offset_s": off,
            "training_effect_aerobic": _scaled(m.get(24), 10.0),
            "training_effect_anaerobic": _scaled(m.get(137), 10.0),
            "hr_hist_s": hist,
            "load_confidence": None,
            "recording_repair": repair,
        }
        bad = _implausible_session(row)
        if bad is not None:
            # checked here (not only by the ingest's last-line check) to name the byte offset, and
            # to call damaged bytes what they are when the file CRC does not match
            off = m.get(-1)
            col, what = bad
            where = f"session message at byte {off}" if off is not None else "session rebuilt from laps/records"
            if ctx.on_bad_row == OnBadRow.SKIP:
                notes.append(f"skipped the {where}: {what}")
                if bad_rows is not None:
                    bad_rows[0] += 1
                continue
            if seg.crc_ok is False:
                raise CorruptFileError(
                    name,
                    f"{where}: {what}; the file CRC does not match, so these bytes are damaged",
                    offset=off,
                    column=col,
                )
            raise BadRowError(name, f"{where}: {what}", offset=off, column=col)
        rows.append(row)
    if skipped:
        notes.append(
            f"{skipped} session message(s) without a start time or duration, and no laps or records "
            f"to rebuild them from, skipped"
        )
    if not rows:
        return SESSIONS.empty()
    return pl.DataFrame(rows, schema=SESSIONS.columns)


def _sleep(fit: FitFile, athlete: str, ctx: ReadContext, notes: list[str], *, partial: bool) -> pl.DataFrame:
    file_ids = fit.all(0)
    ftype = file_ids[0].get(0) if file_ids else None
    levels = [(m.get(253), m.get(0)) for m in fit.all(275)]
    levels = [(t, lv) for t, lv in levels if t is not None and t >= DATE_TIME_MIN]
    if ftype != 49 and not levels:
        return SLEEP.empty()
    if not levels:
        notes.append("sleep file without sleep_level (275) stage messages: no night recorded")
        return SLEEP.empty()
    if partial:
        notes.append("sleep file damaged before its end: the night is incomplete and was not recorded")
        return SLEEP.empty()
    levels.sort(key=lambda x: x[0])
    secs = {k: 0.0 for k in _SLEEP_STAGE.values()}
    for (t0, lv), (t1, _) in pairwise(levels):
        secs[_SLEEP_STAGE.get(lv, "unmeasurable")] += float(t1 - t0)
    asleep = secs["light"] + secs["deep"] + secs["rem"]
    if asleep <= 0:
        notes.append(
            f"sleep file with {len(levels)} sleep_level message(s) but no light/deep/rem epoch: no night recorded"
        )
        return SLEEP.empty()
    start = _utc(levels[0][0])
    end = _utc(levels[-1][0])
    if (end - start).total_seconds() > 24 * 3600:
        notes.append(
            f"sleep_level messages span {(end - start).total_seconds() / 3600:.1f} h (more than 24 h): "
            f"no night recorded"
        )
        return SLEEP.empty()
    off = _tz_offset(ctx.tz, end)
    if off is None:
        off = 0
        notes.append("sleep file has no local time and no athlete time zone is configured: wake date in UTC")
    local_start = start + timedelta(seconds=off)
    score = next((m.get(6) for m in fit.all(346) if m.get(6) is not None), None)
    is_nap = asleep < NAP_MAX_S and 9 <= local_start.hour < 20
    row = {
        "athlete_id": athlete,
        "source": SOURCE,
        "start_utc": start,
        "end_utc": end,
        "wake_date": (end + timedelta(seconds=off)).date(),
        "asleep_s": asleep,
        "deep_s": secs["deep"],
        "light_s": secs["light"],
        "rem_s": secs["rem"],
        "awake_s": secs["awake"],
        "in_bed_s": float((end - start).total_seconds()),
        "is_nap": is_nap,
        "source_file": None,
        "sleep_score": float(score) if score is not None else None,
    }
    return pl.DataFrame([row], schema=SLEEP.columns)


def _wellness(fit: FitFile, athlete: str, ctx: ReadContext, notes: list[str]) -> pl.DataFrame:
    rows: dict[tuple[str, object], dict] = {}
    info = fit.all(103)
    mon_off = None
    for m in info:
        ts, lts = m.get(253), m.get(0)
        if ts is not None and lts is not None and ts >= DATE_TIME_MIN:
            mon_off = _round_offset(lts - ts)
            if mon_off is not None:
                break

    def offset(when: datetime, use_file: bool) -> int:
        if use_file and mon_off is not None:
            return _prefer_zone(mon_off, ctx.tz, when, notes, "monitoring_info.local_timestamp")
        return _tz_offset_or_utc(
            ctx.tz, when, notes, "wellness values without local time and no athlete time zone: dates in UTC"
        )

    used_avg = False
    for m in fit.all(211):
        when = _utc(m.get(253))
        if when is None:
            continue
        local = when + timedelta(seconds=offset(when, True))
        day = local.date()
        if local.hour == 0 and local.minute == 0:
            # written at 00:00 local: the resting HR of the day that just ended
            day = day - timedelta(days=1)
        cur, avg7 = m.get(1), m.get(0)
        val = cur if cur is not None and 20 <= cur <= 150 else None
        if val is None and avg7 is not None and 20 <= avg7 <= 150:
            val, used_avg = avg7, True
        if val is None:
            continue
        rows[(SOURCE, day)] = {
            "athlete_id": athlete,
            "source": SOURCE,
            "date": day,
            "rhr_bpm": float(val),
            "hrv_rmssd_ms": None,
            "source_file": None,
        }
    if used_avg:
        notes.append(
            "monitoring_hr_data without current_day_resting_heart_rate: used resting_heart_rate "
            "(Garmin's 7-day average)"
        )
    for m in fit.all(370):
        when = _utc(m.get(253))
        v = m.get(1)
        if when is None or v is None:
            continue
        if not 0 < v / 128.0 <= PLAUSIBLE["wellness"]["hrv_rmssd_ms"][1]:
            notes.append(
                f"hrv_status_summary at byte {m.get(-1)}: last_night_average {v / 128.0:g} ms is implausible; skipped"
            )
            continue
        day = (when + timedelta(seconds=offset(when, False))).date()
        rows[(SOURCE_HRV, day)] = {
            "athlete_id": athlete,
            "source": SOURCE_HRV,
            "date": day,
            "rhr_bpm": None,
            "hrv_rmssd_ms": v / 128.0,
            "source_file": None,
        }
    if not rows:
        return WELLNESS.empty()
    return pl.DataFrame(
        list(rows.values()),
        schema={
            k: WELLNESS.columns[k] for k in ("athlete_id", "source", "date", "rhr_bpm", "hrv_rmssd_ms", "source_file")
        },
    )
