"""Security checks at the ingest level that the connector tests do not cover.

* XML external entities: for every connector whose ``detect`` accepts an XML
  payload, a DOCTYPE with a SYSTEM entity pointing at a local file never brings
  that file's content into the store or the ledger (connector-level parser
  checks are in tests/connectors/test_apple_health.py).
* Zip-slip through ``ingest_paths``: every write during the run is checked
  (``open`` in :mod:`pipelines.ingest` is wrapped) to stay inside the store's
  scratch folder, and no file appears anywhere else.
* Zip bombs: a highly compressed member, and a bomb spread over many members
  with large declared sizes, are refused before a single byte is decompressed.
* Damaged archives (corrupt data, encryption, unsupported method, a member that
  is also a folder) are rejected without stopping the run.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import os
import struct
import uuid
import zipfile
from pathlib import Path

import polars as pl
import pytest

import pipelines.ingest as ingest_mod
from connectors.registry import modules
from tests.reliability import harness as H

CONTROL_CSV = b"athlete_id,date,resting_hr,hrv_rmssd_ms\nalice,2026-01-05,50,70\nalice,2026-01-06,51,68\n"


def _texts(out: H.Outcome) -> str:
    """Every string stored in the tables and the ledger after the run."""
    parts = []
    for df in [*out.after.tables.values(), out.after.ledger]:
        for c, dt in df.schema.items():
            if dt == pl.String:
                parts += [v for v in df[c].to_list() if v]
    return "\n".join(parts)


# ----------------------------------------------------------------------------- XXE
def _xxe_payloads(secret: Path, dtd: Path) -> dict[str, str]:
    rec = (
        '<Record type="HKQuantityTypeIdentifierRestingHeartRate" sourceName="{src}" unit="count/min" '
        'startDate="2024-01-01 00:00:00 +0000" endDate="2024-01-01 23:00:00 +0000" value="50">{body}</Record>'
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    return {
        "entity_in_text/export.xml": head
        + f'<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        + "<HealthData>"
        + rec.format(src="Watch", body="&xxe;")
        + "</HealthData>\n",
        "entity_in_attribute/export.xml": head
        + f'<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        + "<HealthData>"
        + rec.format(src="&xxe;", body="")
        + "</HealthData>\n",
        "parameter_entity/export.xml": head
        + f'<!DOCTYPE HealthData [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>\n'
        + "<HealthData>"
        + rec.format(src="&pwn;", body="")
        + "</HealthData>\n",
        "external_dtd/export.xml": head
        + f'<!DOCTYPE HealthData SYSTEM "file://{dtd}">\n'
        + "<HealthData>"
        + rec.format(src="Watch", body="&pwn;")
        + "</HealthData>\n",
        "cda/export_cda.xml": head + f'<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&xxe;</title></ClinicalDocument>\n',
        "route/workout-routes/route_2024-01-16_8.16am.gpx": head
        + f'<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<gpx version="1.1" creator="Apple Health Export"><trk><name>&xxe;</name></trk></gpx>\n',
        "other_root/data.xml": head + f'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file://{secret}">]>\n<x>&xxe;</x>\n',
        "named_csv/activities.csv": head
        + f'<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        + "<HealthData>"
        + rec.format(src="Phone", body="&xxe;")
        + "</HealthData>\n",
    }


def test_xml_external_entities_never_reach_the_store(baseline, workdir, tmp_path):
    token = f"TOPSECRET-{uuid.uuid4().hex}"
    secret = tmp_path / "secret.txt"
    secret.write_text(token)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY pwn "{token}">')
    payloads = _xxe_payloads(secret, dtd)
    # which connectors read XML: every one whose detect accepts one of the payloads
    readers = set()
    for rel, text in payloads.items():
        p = tmp_path / "probe" / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        readers |= {m.FORMAT for m in modules() if m.detect(p, text.encode())}
    assert "apple_health" in readers  # the test is not vacuous
    files = {f"alice/{rel}": text.encode() for rel, text in payloads.items()}
    out = H.run_ingest(baseline, files, workdir=workdir)
    try:
        H.check_outcome(out, list(files))
        assert token not in _texts(out)
        for rel in (
            "entity_in_text/export.xml",
            "entity_in_attribute/export.xml",
            "parameter_entity/export.xml",
            "external_dtd/export.xml",
            "named_csv/activities.csv",
        ):
            rel = f"alice/{rel}"
            assert out.status(rel) == "rejected", rel
            assert "entity" in out.error(rel), out.error(rel)
    finally:
        H.cleanup(out)


# ----------------------------------------------------------------------------- zip-slip
class WriteGuard:
    """Wraps ``open`` as seen by pipelines.ingest: records writes, refuses any outside ``allowed``."""

    def __init__(self, allowed: Path) -> None:
        self.allowed = allowed.resolve()
        self.writes: list[Path] = []
        self.bytes_written = 0

    def __call__(self, file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            p = Path(file).resolve()
            if not str(p).startswith(str(self.allowed) + os.sep):
                raise AssertionError(f"write outside the scratch folder: {p}")
            self.writes.append(p)
            fh = builtins.open(file, mode, *args, **kwargs)
            guard = self
            raw_write = fh.write

            def write(b):
                guard.bytes_written += len(b)
                return raw_write(b)

            fh.write = write
            return fh
        return builtins.open(file, mode, *args, **kwargs)


def _tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def _zip(members: list[tuple[str, bytes]], method=zipfile.ZIP_DEFLATED) -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", method) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name) if name.endswith("/") else name, data)
    return b.getvalue()


def _ingest_guarded(monkeypatch, baseline, workdir, files: dict[str, bytes], zip_members: int = 0):
    """Ingest ``files`` with every write of pipelines.ingest checked; return (outcome, guard, tree diff)."""
    guard = WriteGuard(Path(workdir))  # the per-case store (and its tmp/) lives under workdir
    monkeypatch.setattr(ingest_mod, "open", guard, raising=False)
    parent = Path(workdir).parent
    before = _tree(parent)
    passwd = hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() if Path("/etc/passwd").exists() else None
    out = H.run_ingest(baseline, files, workdir=workdir)
    try:
        H.check_outcome(out, [], zip_members=zip_members)
        case = out.store.root.parent
        after = {k: v for k, v in _tree(parent).items() if not (parent / k).is_relative_to(case)}
        new_outside = set(after) - set(before)
        if passwd is not None:
            assert hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() == passwd
        for w in guard.writes:
            assert w.is_relative_to(out.store.tmp_dir.resolve()), w
        return out, guard, new_outside
    except BaseException:
        H.cleanup(out)
        raise


EVIL_NAMES = [
    "../../evil.csv",
    "/etc/passwd",
    "..\\..\\evil.csv",
    "C:/evil.csv",
    "ok/../../../evil.csv",
    "./../evil.csv",
]


@pytest.mark.parametrize("evil", EVIL_NAMES)
def test_zip_slip_is_rejected_and_nothing_is_written_outside_the_scratch_folder(monkeypatch, baseline, workdir, evil):
    files = {
        "alice/export.zip": _zip([("daily.csv", CONTROL_CSV), (evil, b"root:x:0:0:pwned:/root:/bin/sh\n")]),
        "alice/other.csv": CONTROL_CSV.replace(b"2026-01-0", b"2026-02-0"),
    }
    out, guard, new_outside = _ingest_guarded(monkeypatch, baseline, workdir, files)
    try:
        assert new_outside == set()
        assert guard.writes == []  # every name is checked before the first member is extracted
        assert out.status("alice/export.zip") == "rejected"
        assert "outside the extraction folder" in out.error("alice/export.zip")
        assert out.status("alice/other.csv") == "ingested"  # the run goes on
        assert not (Path(workdir).parent / "evil.csv").exists()
    finally:
        H.cleanup(out)


def test_symlink_member_is_extracted_as_a_plain_file(monkeypatch, baseline, workdir):
    zi = zipfile.ZipInfo("link")
    zi.external_attr = 0o120777 << 16  # S_IFLNK
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w") as zf:
        zf.writestr(zi, "/etc")
        zf.writestr("daily.csv", CONTROL_CSV)
    out, guard, new_outside = _ingest_guarded(
        monkeypatch, baseline, workdir, {"alice/export.zip": b.getvalue()}, zip_members=2
    )
    try:
        assert new_outside == set()
        statuses = dict(zip(out.ledger_new["path"], out.ledger_new["status"], strict=True))
        member = next(p for p in statuses if p.endswith("export.zip!link"))
        assert statuses[member] == "rejected"  # its content '/etc' is not a known format
        assert statuses[next(p for p in statuses if p.endswith("export.zip!daily.csv"))] == "ingested"
    finally:
        H.cleanup(out)


# ----------------------------------------------------------------------------- damaged archives
def _damaged_archives() -> dict[str, bytes]:
    good = _zip([("daily.csv", CONTROL_CSV * 30)])
    out = {}
    z = bytearray(good)
    i = z.index(b"daily.csv") + len("daily.csv") + 8
    for k in range(i, i + 30):
        z[k] ^= 0x5A
    out["corrupt_deflate.zip"] = bytes(z)
    z = bytearray(_zip([("daily.csv", CONTROL_CSV)], zipfile.ZIP_LZMA))
    i = z.index(b"daily.csv") + len("daily.csv") + 5
    for k in range(i, i + 20):
        z[k] ^= 0x33
    out["corrupt_lzma.zip"] = bytes(z)
    z = bytearray(_zip([("daily.csv", CONTROL_CSV)], zipfile.ZIP_STORED))
    z[z.index(b"PK\x03\x04") + 6] |= 1  # "encrypted" flag, local and central headers
    z[z.index(b"PK\x01\x02") + 8] |= 1
    out["encrypted.zip"] = bytes(z)
    z = bytearray(_zip([("daily.csv", CONTROL_CSV)], zipfile.ZIP_STORED))
    z[z.index(b"PK\x03\x04") + 8] = 99  # compression method 99 (AES), unsupported
    z[z.index(b"PK\x01\x02") + 10] = 99
    out["method99.zip"] = bytes(z)
    out["file_and_folder.zip"] = _zip([("a", b"x"), ("a/daily.csv", CONTROL_CSV)])
    out["truncated.zip"] = good[: len(good) // 2]
    return out


def test_damaged_archives_are_rejected_and_the_run_goes_on(monkeypatch, baseline, workdir):
    files = {f"alice/{k}": v for k, v in _damaged_archives().items()}
    files["alice/other.csv"] = CONTROL_CSV.replace(b"2026-01-0", b"2026-02-0")
    out, _guard, new_outside = _ingest_guarded(monkeypatch, baseline, workdir, files)
    try:
        assert new_outside == set()
        assert out.status("alice/other.csv") == "ingested"
        for name in _damaged_archives():
            rel = f"alice/{name}"
            assert out.status(rel) == "rejected", name
            err = out.error(rel)
            assert err.startswith(out.displays[rel]) and ("member" in err or "not a readable zip" in err), err
    finally:
        H.cleanup(out)


# ----------------------------------------------------------------------------- zip bombs
def _set_declared_sizes(data: bytes, size: int) -> bytes:
    """Patch the uncompressed size of every central-directory entry (what the pre-check reads)."""
    z = bytearray(data)
    i = z.find(b"PK\x01\x02")
    while i >= 0:
        struct.pack_into("<I", z, i + 24, size)
        i = z.find(b"PK\x01\x02", i + 46)
    return bytes(z)


def _bomb(size_mib: int) -> bytes:
    """A real member of ``size_mib`` MiB of zeros (deflate ratio about 1000)."""
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("daily.csv", CONTROL_CSV)
        with zf.open("bomb.csv", "w") as dst:
            chunk = bytes(1 << 20)
            for _ in range(size_mib):
                dst.write(chunk)
    return b.getvalue()


@pytest.mark.parametrize("kind", ["one_member_120_MiB", "40_members_declaring_99_MiB", "declared_4_GiB"])
def test_zip_bomb_is_refused_before_decompressing(monkeypatch, baseline, workdir, kind):
    if kind == "one_member_120_MiB":
        data = _bomb(120)
    elif kind == "40_members_declaring_99_MiB":  # each member under the per-member limits
        data = _set_declared_sizes(_zip([(f"m{i:02d}.csv", CONTROL_CSV) for i in range(40)]), 99 << 20)
    else:
        data = _set_declared_sizes(_zip([("daily.csv", CONTROL_CSV)]), 0xFFFFFFF0)  # ~4 GiB, the zip32 maximum
    assert len(data) < 1 << 20
    opened = []
    real_open = zipfile.ZipFile.open
    monkeypatch.setattr(
        zipfile.ZipFile, "open", lambda self, name, *a, **k: opened.append(name) or real_open(self, name, *a, **k)
    )
    files = {"alice/bomb.zip": data, "alice/other.csv": CONTROL_CSV.replace(b"2026-01-0", b"2026-02-0")}
    out, guard, new_outside = _ingest_guarded(monkeypatch, baseline, workdir, files)
    try:
        assert out.status("alice/bomb.zip") == "rejected"
        assert "implausib" in out.error("alice/bomb.zip"), out.error("alice/bomb.zip")
        assert opened == [] and guard.bytes_written == 0  # refused before decompressing anything
        assert out.status("alice/other.csv") == "ingested" and new_outside == set()
    finally:
        H.cleanup(out)


def test_member_larger_than_declared_stops_at_the_declared_size(monkeypatch, baseline, workdir):
    """A member whose data expand beyond its declared size is cut there and rejected (CRC mismatch)."""
    data = _set_declared_sizes(_bomb(20), 4096)
    out, guard, new_outside = _ingest_guarded(monkeypatch, baseline, workdir, {"alice/liar.zip": data})
    try:
        assert out.status("alice/liar.zip") == "rejected"
        assert guard.bytes_written <= 2 * 4096 + len(CONTROL_CSV)
        assert new_outside == set()
    finally:
        H.cleanup(out)
