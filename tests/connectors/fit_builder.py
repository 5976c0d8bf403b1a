"""Build small FIT files in tests (FIT protocol: header, definitions, data, CRC).

Supports what the decoder must handle and the corpus covers only partly:
big-endian definitions, compressed-timestamp headers, developer fields and
chained files. Values are raw (already multiplied by the profile scale).
"""

from __future__ import annotations

import struct
from datetime import datetime, timezone

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=timezone.utc)

BASE = {  # name: (base type byte, struct code, size, invalid)
    "enum": (0x00, "B", 1, 0xFF),
    "sint8": (0x01, "b", 1, 0x7F),
    "uint8": (0x02, "B", 1, 0xFF),
    "uint16": (0x84, "H", 2, 0xFFFF),
    "sint32": (0x85, "i", 4, 0x7FFFFFFF),
    "uint32": (0x86, "I", 4, 0xFFFFFFFF),
    "uint32z": (0x8C, "I", 4, 0),
    "byte": (0x0D, "B", 1, 0xFF),
}

_T = (
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


def crc16(data: bytes, crc: int = 0) -> int:
    """Reference FIT CRC (nibble table, as in the FIT protocol document)."""
    for b in data:
        tmp = _T[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _T[b & 0xF]
        tmp = _T[crc & 0xF]
        crc = (crc >> 4) & 0x0FFF
        crc = crc ^ tmp ^ _T[(b >> 4) & 0xF]
    return crc


def fit_time(dt: datetime) -> int:
    return int((dt - FIT_EPOCH).total_seconds())


class Builder:
    """Append definitions and data messages; :meth:`to_bytes` adds header and CRC."""

    def __init__(self) -> None:
        self.body = bytearray()
        self.defs: dict[int, tuple[int, list[tuple[int, str, int]], bool, int]] = {}

    def define(
        self,
        local: int,
        gnum: int,
        fields: list[tuple[int, str] | tuple[int, str, int]],
        *,
        big: bool = False,
        dev: list[tuple[int, int, int]] | None = None,
    ) -> None:
        """fields: (number, base type name[, count]); dev: (field number, size, dev index)."""
        fl = [(f[0], f[1], f[2] if len(f) > 2 else 1) for f in fields]
        hdr = 0x40 | local | (0x20 if dev else 0)
        self.body += struct.pack("<BBB", hdr, 0, 1 if big else 0)
        self.body += struct.pack(">H" if big else "<H", gnum)
        self.body.append(len(fl))
        for num, typ, cnt in fl:
            base, _c, size, _i = BASE[typ]
            self.body += bytes([num, size * cnt, base])
        dsize = 0
        if dev:
            self.body.append(len(dev))
            for num, size, idx in dev:
                self.body += bytes([num, size, idx])
                dsize += size
        self.defs[local] = (gnum, fl, big, dsize)

    def data(self, local: int, values: list, *, compressed_offset: int | None = None, dev_bytes: bytes = b"") -> None:
        gnum, fl, big, dsize = self.defs[local]
        if compressed_offset is None:
            self.body.append(local)
        else:
            assert local < 4
            self.body.append(0x80 | (local << 5) | (compressed_offset & 0x1F))
        e = ">" if big else "<"
        for (_num, typ, cnt), v in zip(fl, values, strict=True):
            _b, code, _s, inv = BASE[typ]
            vals = v if isinstance(v, (list, tuple)) else [v]
            if len(vals) < cnt:
                vals = list(vals) + [None] * (cnt - len(vals))
            for x in vals[:cnt]:
                self.body += struct.pack(e + code, inv if x is None else int(x))
        assert len(dev_bytes) == dsize
        self.body += dev_bytes

    def to_bytes(self, *, header_size: int = 14, bad_crc: bool = False) -> bytes:
        hdr = struct.pack("<BBHI4s", header_size, 0x20, 2132, len(self.body), b".FIT")
        if header_size == 14:
            hdr += struct.pack("<H", crc16(hdr))
        data = hdr + bytes(self.body)
        crc = crc16(data) ^ (0x1000 if bad_crc else 0)
        return data + struct.pack("<H", crc)
