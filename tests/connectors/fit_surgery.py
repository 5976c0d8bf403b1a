"""Edit real FIT files in tests: drop messages, patch a field, cut before a message.

The real corpus files are read in place; the edited copy is written to a
test's ``tmp_path``. The walk is independent of ``connectors.fit_decode``
(the code under test): a plain loop over the FIT protocol's record headers
(normal, compressed-timestamp, definition with developer fields).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from tests.connectors.fit_builder import crc16


@dataclass
class Msg:
    offset: int  # record header byte
    length: int  # header byte + content
    definition: bool
    gnum: int
    fields: list[tuple[int, int, int]]  # (field number, size, base type) of its definition
    big: bool


def walk(buf: bytes) -> tuple[int, list[Msg]]:
    """(header size, messages) of the first FIT file in ``buf``; stops at the announced data end."""
    hs = buf[0]
    data_size = struct.unpack_from("<I", buf, 4)[0]
    end = min(hs + data_size, len(buf)) if data_size else len(buf)
    defs: dict[int, tuple[int, list, bool, int]] = {}
    pos, out = hs, []
    while pos < end:
        h = buf[pos]
        if h & 0x80:
            gnum, fields, big, size = defs[(h >> 5) & 3]
            if pos + 1 + size > end:
                break
            out.append(Msg(pos, 1 + size, False, gnum, fields, big))
            pos += 1 + size
        elif h & 0x40:
            big = buf[pos + 2] == 1
            gnum = struct.unpack_from(">H" if big else "<H", buf, pos + 3)[0]
            nf = buf[pos + 5]
            fields = [tuple(buf[pos + 6 + 3 * k : pos + 9 + 3 * k]) for k in range(nf)]
            length = 6 + 3 * nf
            dev = 0
            if h & 0x20:
                nd = buf[pos + length]
                dev = sum(buf[pos + length + 1 + 3 * k + 1] for k in range(nd))
                length += 1 + 3 * nd
            defs[h & 0x0F] = (gnum, fields, big, sum(f[1] for f in fields) + dev)
            out.append(Msg(pos, length, True, gnum, fields, big))
            pos += length
        else:
            gnum, fields, big, size = defs[h & 0x0F]
            if pos + 1 + size > end:
                break
            out.append(Msg(pos, 1 + size, False, gnum, fields, big))
            pos += 1 + size
    return hs, out


def rebuild(buf: bytes, hs: int, body: bytes, *, data_size: int | None = None, crc: bool = True) -> bytes:
    """Header (with a new data size and header CRC) + body + file CRC."""
    head = bytearray(buf[:hs])
    struct.pack_into("<I", head, 4, len(body) if data_size is None else data_size)
    if hs == 14:
        struct.pack_into("<H", head, 12, crc16(bytes(head[:12])))
    out = bytes(head) + body
    return out + struct.pack("<H", crc16(out)) if crc else out


def drop(buf: bytes, gnums: set[int]) -> bytes:
    """The file without the data messages of the global numbers ``gnums`` (definitions kept)."""
    hs, msgs = walk(buf)
    body = b"".join(buf[m.offset : m.offset + m.length] for m in msgs if m.definition or m.gnum not in gnums)
    return rebuild(buf, hs, body)


def patch(buf: bytes, gnum: int, field: int, value: int | None, *, nth: int = 0) -> bytes:
    """Set ``field`` of the ``nth`` data message ``gnum`` to the raw ``value`` (None: the invalid value)."""
    hs, msgs = walk(buf)
    data = [m for m in msgs if not m.definition and m.gnum == gnum]
    m = data[nth]
    pos = m.offset + 1
    for num, size, btype in m.fields:
        if num == field:
            code = {1: "B", 2: "H", 4: "I"}[size]
            if value is None:
                value = {0x84: 0xFFFF, 0x86: 0xFFFFFFFF, 0x8C: 0, 0x8B: 0, 0x02: 0xFF, 0x00: 0xFF, 0x0A: 0}.get(
                    btype, (1 << (8 * size)) - 1
                )
            out = bytearray(buf)
            struct.pack_into((">" if m.big else "<") + code, out, pos, value)
            return rebuild(bytes(out), hs, bytes(out[hs : hs + struct.unpack_from("<I", buf, 4)[0]]))
        pos += size
    raise KeyError(f"message {gnum} has no field {field}")


def cut_before(buf: bytes, gnum: int) -> bytes:
    """The file cut just before the first data message ``gnum`` (a watch crash): header unchanged, no CRC."""
    _hs, msgs = walk(buf)
    m = next(m for m in msgs if not m.definition and m.gnum == gnum)
    return buf[: m.offset]


def first_offset(buf: bytes, gnum: int) -> int:
    """Byte offset of the body (after the record header byte) of the first data message ``gnum``."""
    _hs, msgs = walk(buf)
    return next(m for m in msgs if not m.definition and m.gnum == gnum).offset + 1
