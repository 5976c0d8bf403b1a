"""A minimal FIT encoder for the generated sample team (not product code).

Writes FIT 2.0 files: 14-byte header with CRC, definition messages, data
messages and the file CRC, little-endian, following the FIT protocol
(Garmin FIT SDK, "FIT Protocol" document). Only the base types the sample
generator needs are supported. Timestamps are FIT ``date_time``: seconds since
1989-12-31T00:00:00Z.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone

from connectors.fit_decode import fit_crc  # FIT CRC-16, checked against the protocol's reference in tests

FIT_EPOCH = datetime(1989, 12, 31, tzinfo=timezone.utc)

# base type: (base type byte, struct code, size, invalid value)
BASE = {
    "enum": (0x00, "B", 1, 0xFF),
    "uint8": (0x02, "B", 1, 0xFF),
    "sint8": (0x01, "b", 1, 0x7F),
    "uint16": (0x84, "H", 2, 0xFFFF),
    "sint16": (0x83, "h", 2, 0x7FFF),
    "uint32": (0x86, "I", 4, 0xFFFFFFFF),
    "sint32": (0x85, "i", 4, 0x7FFFFFFF),
    "uint32z": (0x8C, "I", 4, 0),
}


def fit_time(dt: datetime) -> int:
    """Seconds since the FIT epoch for an aware datetime."""
    return int((dt - FIT_EPOCH).total_seconds())


@dataclass
class FitWriter:
    """Accumulates messages; :meth:`to_bytes` returns the complete file."""

    profile_version: int = 2132
    _body: bytearray = field(default_factory=bytearray)
    _defs: dict[tuple, int] = field(default_factory=dict)

    def message(self, global_num: int, fields: list[tuple[int, str, float | int | None]]) -> None:
        """Append one data message.

        Parameters
        ----------
        global_num : int
            FIT global message number (e.g. 18 session).
        fields : list of (field number, base type name, raw value or None)
            Raw values are already scaled (``value * scale``); None writes the
            base type's invalid value.
        """
        layout = (global_num, tuple((num, typ) for num, typ, _ in fields))
        if layout not in self._defs:
            local = len(self._defs) % 16
            # a local number is reused round-robin: redefine before use
            for k, v in list(self._defs.items()):
                if v == local:
                    del self._defs[k]
            self._defs[layout] = local
            self._body += struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields))
            for num, typ, _ in fields:
                base, _code, size, _inv = BASE[typ]
                self._body += struct.pack("<BBB", num, size, base)
        local = self._defs[layout]
        self._body.append(local)
        for _num, typ, value in fields:
            _base, code, _size, invalid = BASE[typ]
            raw = invalid if value is None else int(round(value))
            self._body += struct.pack("<" + code, raw)

    def to_bytes(self) -> bytes:
        header = struct.pack("<BBHI4s", 14, 0x20, self.profile_version, len(self._body), b".FIT")
        header += struct.pack("<H", fit_crc(header))
        data = header + bytes(self._body)
        return data + struct.pack("<H", fit_crc(data))


def file_id(w: FitWriter, file_type: int, created: datetime, serial: int, product: int = 3113) -> None:
    """file_id (0): type, manufacturer 1 (garmin), product, serial, time_created."""
    w.message(
        0,
        [
            (0, "enum", file_type),
            (1, "uint16", 1),
            (2, "uint16", product),
            (3, "uint32z", serial),
            (4, "uint32", fit_time(created)),
        ],
    )
