"""A small, fast FIT decoder for the messages the pipeline needs.

Why our own decoder (measured figures in ``docs/fit.md``): general decoders
(fitparse, fitdecode, garmin-fit-sdk) build a Python object for every field of
every message, including the ~1 Hz ``record`` stream that makes up 95 % of an
activity file. A nightly pipeline needs a handful of summary messages; the
stream is needed only for the heart-rate histogram (TRIMP). This module

* walks the message headers (normal and compressed-timestamp headers,
  definition messages with developer fields, chained files, both byte orders),
* decodes **only** the wanted messages (:data:`WANTED`) with one precompiled
  :class:`struct.Struct` per definition,
* extracts the record ``timestamp``/``heart_rate`` columns with numpy gathers
  over the collected message offsets instead of decoding records one by one,
* checks the header and file CRCs (FIT CRC-16, computed block-parallel with
  numpy, see :func:`fit_crc`),
* maps invalid values (``0xFF``, ``0xFFFF``, ... sentinels, ``0`` for the
  ``z`` types) to ``None``.

Scale and offset are *not* applied here: :mod:`connectors.fit` applies the
FIT profile scale of each field it uses.

Damage is never raised from the walk: it is recorded as a :class:`Damage`
(byte offset and what was expected) on the :class:`Segment` where it
happened, and the segment keeps everything decoded before it. The connector
decides whether what was read is usable.

Reference: Garmin FIT SDK, "FIT Protocol" (file header, record headers,
definition messages, compressed timestamp header, CRC) and Profile.xlsx.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "FIT_EPOCH_S",
    "WANTED",
    "Damage",
    "Segment",
    "FitFile",
    "decode",
    "fit_crc",
    "looks_like_fit",
]

#: Seconds from the Unix epoch to the FIT epoch (1989-12-31T00:00:00Z).
FIT_EPOCH_S = 631065600
#: FIT ``date_time`` values below this are relative (seconds since power-on).
DATE_TIME_MIN = 0x10000000

#: Wanted messages and fields: global message number -> field numbers.
WANTED: dict[int, frozenset[int]] = {
    0: frozenset({0, 1, 2, 3, 4}),  # file_id: type, manufacturer, product, serial_number, time_created
    12: frozenset({0, 1}),  # sport: sport, sub_sport
    18: frozenset({253, 2, 5, 6, 7, 8, 9, 11, 16, 17, 24, 35, 36, 137, 168, 193}),  # session
    34: frozenset({253, 0, 1, 5}),  # activity: timestamp, total_timer_time, num_sessions, local_timestamp
    103: frozenset({253, 0}),  # monitoring_info: timestamp, local_timestamp
    211: frozenset({253, 0, 1}),  # monitoring_hr_data: resting_heart_rate, current_day_resting_heart_rate
    275: frozenset({253, 0}),  # sleep_level
    346: frozenset({253, 6}),  # sleep_assessment: overall_sleep_score
    370: frozenset({253, 1}),  # hrv_status_summary: last_night_average
    132: frozenset({253, 0, 6, 9, 10}),  # hr: timestamp, fractional_timestamp, filtered_bpm, event_timestamp(_12)
    # lap: timestamp, start_time, total_elapsed_time, total_timer_time, total_distance, total_calories,
    # avg/max_heart_rate, sport, sub_sport (a session is rebuilt from its laps when the session message is
    # missing or incomplete)
    19: frozenset({253, 2, 7, 8, 9, 11, 15, 16, 25, 39}),
}
RECORD = 20  # record: timestamp 253, heart_rate 3, distance 5 (decoded as columns)
HR = 132
#: Array fields kept whole (everything else keeps the first element).
ARRAY_FIELDS = {(132, 6), (132, 9), (132, 10)}

# base type number (low 5 bits) -> (size, struct code, invalid value or None for "z": 0)
_BASE: dict[int, tuple[int, str, int | None]] = {
    0x00: (1, "B", 0xFF),  # enum
    0x01: (1, "b", 0x7F),  # sint8
    0x02: (1, "B", 0xFF),  # uint8
    0x03: (2, "h", 0x7FFF),  # sint16
    0x04: (2, "H", 0xFFFF),  # uint16
    0x05: (4, "i", 0x7FFFFFFF),  # sint32
    0x06: (4, "I", 0xFFFFFFFF),  # uint32
    0x07: (1, "s", None),  # string
    0x08: (4, "f", -1),  # float32 (invalid: all bits set -> NaN, checked on the raw bits)
    0x09: (8, "d", -1),  # float64
    0x0A: (1, "B", 0),  # uint8z
    0x0B: (2, "H", 0),  # uint16z
    0x0C: (4, "I", 0),  # uint32z
    0x0D: (1, "B", 0xFF),  # byte
    0x0E: (8, "q", 0x7FFFFFFFFFFFFFFF),  # sint64
    0x0F: (8, "Q", 0xFFFFFFFFFFFFFFFF),  # uint64
    0x10: (8, "Q", 0),  # uint64z
}


# ----------------------------------------------------------------------------- CRC
_CRC_NIBBLE = (
    0x0000,
    0xCC01,
    0xD801,
    0x1400,
    0xF001,
    0x3C00,
    0x2800,
    0xE401,
    0xA001,
    0x6C00,
    0x7800,
    0xB401,
    0x5000,
    0x9C01,
    0x8801,
    0x4400,
)


def _byte_table() -> np.ndarray:
    out = np.zeros(256, dtype=np.uint32)
    for b in range(256):
        crc = 0
        for nib in (b & 0xF, b >> 4):
            tmp = _CRC_NIBBLE[crc & 0xF]
            crc = (crc >> 4) & 0x0FFF
            crc = crc ^ tmp ^ _CRC_NIBBLE[nib]
        out[b] = crc
    return out


_CRC_TABLE = _byte_table()
_CRC_LIST = [int(x) for x in _CRC_TABLE]
_ZERO_TABLES: dict[int, tuple[list[int], list[int]]] = {}
_T2: np.ndarray | None = None


def _word_table() -> np.ndarray:
    """T2[w]: CRC state after feeding the two bytes of little-endian word w into state 0.

    For a 16-bit CRC the state after two bytes depends only on ``state ^ word``,
    so ``state' = T2[state ^ word]``.
    """
    global _T2
    if _T2 is None:
        w = np.arange(65536, dtype=np.uint32)
        st = _CRC_TABLE[w & 0xFF]
        st = (st >> 8) ^ _CRC_TABLE[(st ^ (w >> 8)) & 0xFF]
        _T2 = st.astype(np.uint16)
    return _T2


def _crc_bytes_py(data, crc: int = 0) -> int:
    t = _CRC_LIST
    for b in data:
        crc = (crc >> 8) ^ t[(crc ^ b) & 0xFF]
    return crc


def _zero_tables(block: int) -> tuple[list[int], list[int]]:
    """Tables for 'feed ``block`` zero bytes into CRC state c' (linear in c)."""
    tabs = _ZERO_TABLES.get(block)
    if tabs is None:
        states = np.concatenate([np.arange(256, dtype=np.uint32), np.arange(256, dtype=np.uint32) << 8])
        for _ in range(block):
            states = (states >> 8) ^ _CRC_TABLE[states & 0xFF]
        tabs = ([int(x) for x in states[:256]], [int(x) for x in states[256:]])
        _ZERO_TABLES[block] = tabs
    return tabs


def fit_crc(data: bytes | memoryview, crc: int = 0) -> int:
    """FIT CRC-16 of ``data`` (CRC-16/ARC: reflected polynomial 0xA001, init 0).

    Small inputs use a byte table. Large ones are split into equal blocks
    whose CRCs are computed in parallel with numpy, two bytes per step (a
    65536-entry word table), and combined with the linearity of the CRC:
    ``crc(A || B) = Z_|B|(crc(A)) ^ crc(B)``, where ``Z_n`` feeds ``n`` zero
    bytes. Leading zero bytes do not change a zero CRC state, so the input is
    left-padded to a multiple of the block size.
    """
    n = len(data)
    if n < 1024 or crc:
        return _crc_bytes_py(data, crc)
    block = 64
    while block * block < 4 * n and block < 8192:
        block *= 2
    pad = (-n) % block
    arr = np.frombuffer(data, dtype=np.uint8)
    if pad:
        arr = np.concatenate([np.zeros(pad, dtype=np.uint8), arr])
    words = arr.view("<u2").reshape(-1, block // 2)
    t2 = _word_table()
    state = np.zeros(words.shape[0], dtype=np.uint16)
    for j in range(block // 2):
        state = t2[state ^ words[:, j]]
    lo, hi = _zero_tables(block)
    out = 0
    for s in state.tolist():
        out = lo[out & 0xFF] ^ hi[out >> 8] ^ s
    return out


# ----------------------------------------------------------------------------- structures
@dataclass
class Damage:
    """Where and how a segment is damaged."""

    offset: int
    message: str
    kind: str  # "truncated", "undefined_local", "bad_definition", "bad_header", "crc", "header_crc"


@dataclass
class Segment:
    """One FIT file of a (possibly chained) file: its header and wanted content."""

    start: int
    header_size: int
    data_size: int
    protocol: int
    profile: int
    messages: dict[int, list[dict[int, object]]] = field(default_factory=dict)
    record_ts: np.ndarray | None = None  # uint32 FIT time of records with a heart rate stream column
    record_hr: np.ndarray | None = None  # uint8, 0xFF invalid
    record_dist: np.ndarray | None = (
        None  # uint32 record.distance (1/100 m), 0xFFFFFFFF invalid; aligned with record_ts
    )
    n_records: int = 0
    crc_ok: bool | None = None  # None: not checked (no CRC bytes)
    header_crc_ok: bool | None = None
    damage: Damage | None = None
    end: int = 0  # offset after the last byte consumed (data + CRC)
    complete: bool = False  # all data bytes decoded (CRC may still be bad)
    #: the header announced 0 data bytes although data follows (a recording the device never
    #: finalised, e.g. a crash while recording): the data was read up to the end of the file
    unfinalised: bool = False


@dataclass
class FitFile:
    """Result of :func:`decode`."""

    size: int
    segments: list[Segment]
    trailing: Damage | None = None  # bytes after the last segment that are not a FIT file

    def all(self, num: int) -> list[dict[int, object]]:
        out: list[dict[int, object]] = []
        for s in self.segments:
            out.extend(s.messages.get(num, ()))
        return out


class _Def:
    """A compiled definition message."""

    __slots__ = (
        "gnum",
        "size",
        "big",
        "ts_off",
        "want",
        "st",
        "names",
        "invalid",
        "kinds",
        "arrays",
        "offsets",
        "ts_list",
        "rec_ts",
        "rec_hr",
        "rec_dist",
    )

    def __init__(self) -> None:
        self.offsets: list[int] = []
        self.ts_list: list[int | None] = []


def _compile(gnum: int, big: bool, fields: list[tuple[int, int, int]], dev_size: int) -> _Def:
    d = _Def()
    d.gnum = gnum
    d.big = big
    d.size = sum(f[1] for f in fields) + dev_size
    d.ts_off = None
    d.rec_ts = d.rec_hr = d.rec_dist = None
    want = WANTED.get(gnum)
    d.want = want is not None or gnum == RECORD
    fmt = [">" if big else "<"]
    names: list[int] = []
    invalid: list[object] = []
    kinds: list[str] = []
    arrays: list[tuple[int, int, int, int]] = []
    pos = 0
    gap = 0
    for num, size, btype in fields:
        info = _BASE.get(btype & 0x1F)
        if num == 253 and size == 4 and info is not None and info[0] == 4:
            d.ts_off = pos
        if gnum == RECORD:
            if num == 253 and size == 4:
                d.rec_ts = pos
            elif num == 3 and size >= 1 and info is not None and info[0] == 1:
                d.rec_hr = pos
            elif num == 5 and size == 4 and info is not None and info[0] == 4:
                d.rec_dist = pos
        if want is not None and num in want and info is not None and size >= info[0] and size % info[0] == 0:
            bsize, code, inv = info
            if (gnum, num) in ARRAY_FIELDS:
                arrays.append((num, pos, size, btype & 0x1F))
            elif code == "s":
                if gap:
                    fmt.append(f"{gap}x")
                    gap = 0
                fmt.append(f"{size}s")
                names.append(num)
                invalid.append(None)
                kinds.append("s")
                pos += size
                continue
            else:
                if gap:
                    fmt.append(f"{gap}x")
                    gap = 0
                fmt.append(code)
                if size > bsize:
                    fmt.append(f"{size - bsize}x")  # arrays of scalars: keep the first element
                names.append(num)
                invalid.append(inv)
                kinds.append("f" if code in "fd" else "i")
                pos += size
                continue
        gap += size
        pos += size
    d.names = names
    d.invalid = invalid
    d.kinds = kinds
    d.arrays = arrays
    d.st = struct.Struct("".join(fmt)) if names else None
    return d


def _decode_values(d: _Def, buf: bytes, body: int) -> dict[int, object]:
    out: dict[int, object] = {}
    if d.st is not None:
        vals = d.st.unpack_from(buf, body)
        for num, v, inv, kind in zip(d.names, vals, d.invalid, d.kinds, strict=True):
            if kind == "s":
                s = v.split(b"\0", 1)[0]
                out[num] = s.decode("utf-8", "replace") if s else None
            elif kind == "f":
                out[num] = None if v != v else v  # NaN (all bits set) is invalid
            else:
                out[num] = None if v == inv else v
    for num, off, size, bt in d.arrays:
        bsize, code, inv = _BASE[bt]
        cnt = size // bsize
        raw = struct.unpack_from(("<" if not d.big else ">") + code * cnt, buf, body + off)
        out[num] = (
            tuple(None if (inv is not None and v == inv) else v for v in raw)
            if bt != 0x0D
            else bytes(buf[body + off : body + off + size])
        )
    return out


def looks_like_fit(head: bytes) -> bool:
    """True when ``head`` starts with a FIT file header (".FIT" at 8-12, size 12 or 14)."""
    return len(head) >= 12 and head[0] in (12, 14) and head[8:12] == b".FIT"


def _read_header(buf: bytes, pos: int, size: int) -> tuple[Segment | None, Damage | None]:
    if size - pos < 12:
        return None, Damage(
            pos, f"{size - pos} bytes left where a 12- or 14-byte FIT file header was expected", "truncated"
        )
    hs = buf[pos]
    if hs not in (12, 14) or buf[pos + 8 : pos + 12] != b".FIT":
        return None, Damage(
            pos,
            f"expected a FIT file header (size 12 or 14, '.FIT' at bytes 8-11), found "
            f"size byte {hs} and {bytes(buf[pos + 8 : pos + 12])!r}",
            "bad_header",
        )
    if size - pos < hs:
        return None, Damage(pos, f"file header of {hs} bytes truncated", "truncated")
    protocol = buf[pos + 1]
    profile, data_size = struct.unpack_from("<HI", buf, pos + 2)
    seg = Segment(start=pos, header_size=hs, data_size=data_size, protocol=protocol, profile=profile)
    if hs == 14:
        (hcrc,) = struct.unpack_from("<H", buf, pos + 12)
        if hcrc:
            seg.header_crc_ok = _crc_bytes_py(buf[pos : pos + 12]) == hcrc
    return seg, None


def decode(buf: bytes, *, want_records: bool = True) -> FitFile:
    """Decode the wanted messages of every chained FIT file in ``buf``.

    Parameters
    ----------
    buf : bytes
        The whole file.
    want_records : bool
        Collect the record heart-rate stream (``record_ts``/``record_hr``).

    Returns
    -------
    FitFile
        Never raises for damaged input: look at ``segments[i].damage`` and
        ``trailing``. A buffer that does not start with a FIT header yields
        no segment and a ``trailing`` damage at offset 0.
    """
    size = len(buf)
    segments: list[Segment] = []
    pos = 0
    trailing = None
    while pos < size:
        seg, dmg = _read_header(buf, pos, size)
        if seg is None:
            if segments and all(b == 0 for b in buf[pos:]):
                break  # zero padding after the last file
            trailing = dmg
            break
        if seg.data_size == 0 and size - (pos + seg.header_size) > 2:
            # never finalised: devices write the data size when the recording ends. Read what follows:
            # first as data + a 2-byte CRC; when the messages do not end exactly there, up to the end
            hdr = (seg.start, seg.header_size, seg.protocol, seg.profile, seg.header_crc_ok)
            seg.data_size = size - pos - seg.header_size - 2
            seg.unfinalised = True
            _walk(buf, seg, size, want_records)
            if not seg.complete:
                seg = Segment(
                    start=hdr[0],
                    header_size=hdr[1],
                    data_size=size - pos - hdr[1],
                    protocol=hdr[2],
                    profile=hdr[3],
                    header_crc_ok=hdr[4],
                    unfinalised=True,
                )
                _walk(buf, seg, size, want_records)
            segments.append(seg)
            if seg.damage is not None or not seg.complete:
                break
            pos = seg.end
            continue
        segments.append(seg)
        _walk(buf, seg, size, want_records)
        if seg.damage is not None or not seg.complete:
            break
        pos = seg.end
    return FitFile(size=size, segments=segments, trailing=trailing)


def _u32_column(arr: np.ndarray, o: np.ndarray, big: bool) -> np.ndarray:
    """The uint32 field at byte offsets ``o`` of ``arr`` (one per record), as int64."""
    b0, b1, b2, b3 = (
        arr[o].astype(np.int64),
        arr[o + 1].astype(np.int64),
        arr[o + 2].astype(np.int64),
        arr[o + 3].astype(np.int64),
    )
    return (b0 << 24 | b1 << 16 | b2 << 8 | b3) if big else (b3 << 24 | b2 << 16 | b1 << 8 | b0)


def _walk(buf: bytes, seg: Segment, size: int, want_records: bool) -> None:
    start = seg.start + seg.header_size
    data_end = start + seg.data_size
    end = min(data_end, size)
    defs: list[_Def | None] = [None] * 16
    all_defs: list[_Def] = []
    cache: dict[bytes, _Def] = {}
    track = False  # compressed-timestamp tracking mode
    last_ts: int | None = None
    pos = start
    damage = None
    if data_end > size:
        damage_trunc = Damage(
            size,
            f"file ends at byte {size} but its header announces {seg.data_size} data bytes "
            f"(to byte {data_end}) plus a 2-byte CRC",
            "truncated",
        )
    else:
        damage_trunc = None
    restart = True
    arr = None
    prev_h = -1
    run = 0
    while restart:
        restart = False
        while pos < end:
            h = buf[pos]
            if h & 0x80:  # compressed timestamp header
                d = defs[(h >> 5) & 3]
                if d is None:
                    damage = Damage(
                        pos,
                        f"compressed-timestamp data message uses local message type "
                        f"{(h >> 5) & 3}, which has no definition before it",
                        "undefined_local",
                    )
                    break
                if not track:
                    # restart the walk in tracking mode: compressed timestamps need the last full timestamp
                    track = True
                    restart = True
                    break
                nxt = pos + 1 + d.size
                if nxt > end:
                    damage = damage_trunc or Damage(
                        pos,
                        f"data message of {d.size + 1} bytes runs past the end of the data at byte {end}",
                        "truncated",
                    )
                    break
                off5 = h & 0x1F
                ts = None
                if last_ts is not None:
                    ts = (last_ts & ~0x1F) + off5
                    if off5 < (last_ts & 0x1F):
                        ts += 0x20
                    last_ts = ts
                if d.want:
                    d.offsets.append(pos + 1)
                    d.ts_list.append(ts)
                pos = nxt
            elif h & 0x40:  # definition message
                if pos + 6 > end:
                    damage = damage_trunc or Damage(
                        pos, "definition message header runs past the end of the data", "truncated"
                    )
                    break
                nf = buf[pos + 5]
                flen = 6 + 3 * nf
                dev = h & 0x20
                if pos + flen + (1 if dev else 0) > end:
                    damage = damage_trunc or Damage(
                        pos, "definition message runs past the end of the data", "truncated"
                    )
                    break
                ndev = buf[pos + flen] if dev else 0
                total = flen + (1 + 3 * ndev if dev else 0)
                if pos + total > end:
                    damage = damage_trunc or Damage(
                        pos, "definition message runs past the end of the data", "truncated"
                    )
                    break
                arch = buf[pos + 2]
                if arch > 1:
                    damage = Damage(
                        pos + 2,
                        f"definition message architecture byte is {arch}, expected 0 (little-endian) or 1 (big-endian)",
                        "bad_definition",
                    )
                    break
                raw = bytes(buf[pos + 2 : pos + total])
                d = cache.get(raw)
                if d is None:
                    big = arch == 1
                    gnum = struct.unpack_from(">H" if big else "<H", buf, pos + 3)[0]
                    fields = []
                    bad = None
                    for k in range(nf):
                        o = pos + 6 + 3 * k
                        fnum, fsize, btype = buf[o], buf[o + 1], buf[o + 2]
                        if fsize == 0:
                            bad = Damage(o + 1, f"field {fnum} of message {gnum} has size 0", "bad_definition")
                            break
                        fields.append((fnum, fsize, btype))
                    if bad is not None:
                        damage = bad
                        break
                    dev_size = 0
                    if dev:
                        for k in range(ndev):
                            dev_size += buf[pos + flen + 1 + 3 * k + 1]
                    # identical definitions (devices redefine local types all the time) share one
                    # compiled layout and one offsets list; messages are re-sorted by offset later
                    d = _compile(gnum, big, fields, dev_size)
                    cache[raw] = d
                    all_defs.append(d)
                defs[h & 0x0F] = d
                pos += total
            else:  # normal data message
                d = defs[h & 0x0F]
                if d is None:
                    damage = Damage(
                        pos,
                        f"data message uses local message type {h & 0x0F}, which has no definition before it",
                        "undefined_local",
                    )
                    break
                nxt = pos + 1 + d.size
                if nxt > end:
                    damage = damage_trunc or Damage(
                        pos,
                        f"data message of {d.size + 1} bytes runs past the end of the data at byte {end}",
                        "truncated",
                    )
                    break
                if track and d.ts_off is not None:
                    b = pos + 1 + d.ts_off
                    last_ts = struct.unpack_from(">I" if d.big else "<I", buf, b)[0]
                if d.want:
                    d.offsets.append(pos + 1)
                    if track:
                        d.ts_list.append(last_ts if d.ts_off is not None else None)
                if h == prev_h and not track:
                    run += 1
                    if run >= 8:
                        # a run of same-type messages (the record stream): find where it ends with
                        # one numpy comparison of the header bytes at the stride instead of a
                        # Python step per message. A byte equal to h at a message boundary *is*
                        # that message's header, so this is exact.
                        stride = d.size + 1
                        k_max = min(8192, (end - nxt) // stride)
                        if k_max > 16:
                            if arr is None:
                                arr = np.frombuffer(buf, dtype=np.uint8)
                            heads = arr[nxt : nxt + k_max * stride : stride]
                            mism = np.flatnonzero(heads != h)
                            k = int(mism[0]) if mism.size else k_max
                            if d.want and k:
                                d.offsets.extend(range(nxt + 1, nxt + k * stride + 1, stride))
                            nxt += k * stride
                            run = 0
                else:
                    run = 0
                prev_h = h
                pos = nxt
        if restart:
            # discard what the fast pass collected and walk again, tracking timestamps
            for d in all_defs:
                d.offsets.clear()
                d.ts_list.clear()
            all_defs.clear()
            cache.clear()
            defs = [None] * 16
            pos = start
            damage = None
    if damage is None and pos >= end and damage_trunc is not None:
        damage = damage_trunc
    seg.damage = damage
    seg.complete = damage is None and pos == data_end
    # ------------------------------------------------------------------ collect
    items: list[tuple[int, dict[int, object]]] = []
    rec_ts: list[np.ndarray] = []
    rec_hr: list[np.ndarray] = []
    rec_pos: list[np.ndarray] = []
    rec_dist: list[np.ndarray] = []
    for d in all_defs:
        if not d.offsets:
            continue
        if d.gnum == RECORD:
            seg.n_records += len(d.offsets)
            if not want_records:
                continue
            if arr is None:
                arr = np.frombuffer(buf, dtype=np.uint8)
            offs = np.asarray(d.offsets, dtype=np.int64)
            # records without a heart-rate field still count (as missing samples)
            hr = arr[offs + d.rec_hr] if d.rec_hr is not None else np.full(offs.size, 0xFF, dtype=np.uint8)
            if track:
                ts = np.asarray([-1 if t is None else t for t in d.ts_list], dtype=np.int64)
            elif d.rec_ts is not None:
                ts = _u32_column(arr, offs + d.rec_ts, d.big)
            else:
                continue
            if d.rec_dist is not None:
                dist = _u32_column(arr, offs + d.rec_dist, d.big)
            else:
                dist = np.full(offs.size, 0xFFFFFFFF, dtype=np.int64)
            rec_ts.append(ts)
            rec_hr.append(hr)
            rec_pos.append(offs)
            rec_dist.append(dist)
            continue
        for i, off in enumerate(d.offsets):
            vals = _decode_values(d, buf, off)
            if track and d.ts_list[i] is not None:
                vals[253] = d.ts_list[i]
            elif 253 in vals and vals[253] is None and track:
                vals[253] = d.ts_list[i]
            vals[-1] = off  # byte offset of the message body
            items.append((off, d.gnum, vals))
    items.sort(key=lambda x: x[0])
    for _off, gnum, vals in items:
        seg.messages.setdefault(gnum, []).append(vals)
    if rec_ts:
        pos_all = np.concatenate(rec_pos)
        order = np.argsort(pos_all, kind="stable")
        seg.record_ts = np.concatenate(rec_ts)[order]
        seg.record_hr = np.concatenate(rec_hr)[order]
        seg.record_dist = np.concatenate(rec_dist)[order]
    # ------------------------------------------------------------------ CRC
    if seg.data_size == 0:
        seg.damage = Damage(
            seg.start + 4, "file header announces 0 data bytes and no data follows: the file holds no messages", "empty"
        )
        seg.complete = False
        seg.end = size
        return
    if seg.unfinalised and seg.complete and data_end + 2 > size:
        seg.end = size
        seg.damage = Damage(
            size,
            f"file header announces 0 data bytes (the recording was never finalised, e.g. "
            f"the device stopped while recording): data read up to the end of the file at "
            f"byte {size}, no file CRC to verify it",
            "unfinalised",
        )
        return
    if seg.complete:
        if data_end + 2 <= size:
            (crc,) = struct.unpack_from("<H", buf, data_end)
            found = fit_crc(memoryview(buf)[seg.start : data_end])
            seg.crc_ok = crc == found
            seg.end = data_end + 2
            if not seg.crc_ok:
                seg.damage = Damage(
                    data_end,
                    f"file CRC mismatch: stored 0x{crc:04X}, computed 0x{found:04X} over "
                    f"bytes {seg.start}-{data_end - 1}",
                    "crc",
                )
        else:
            seg.end = size
            seg.damage = Damage(
                size,
                f"file ends at byte {size}: the 2-byte file CRC expected at byte {data_end} is missing",
                "truncated",
            )
    else:
        seg.end = pos
