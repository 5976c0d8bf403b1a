"""FIT ingest throughput: strainwatch end to end vs plain fitparse (and fitdecode, garmin-fit-sdk).

What it does
------------
1. Takes the readable FIT files of the sample corpus (``../shared/sample_corpus/fit``,
   everything outside ``corrupt/``) and copies them into a temporary input tree,
   repeated until at least ``--mb`` megabytes (default 50). Each copy goes to
   its own athlete folder (``athlete_07/...``) and gets a distinct profile
   version in its file header (header and file CRCs recomputed), so the ledger
   does not skip copies as duplicates: every byte is really decoded.
2. Ingests the tree into a fresh store with ``pipelines.ingest.ingest_paths``
   (decode + tables + ledger, process pool over ``--workers`` processes) and
   prints MB/s and files/s.
3. In the same run, decodes the files with plain fitparse (``FitFile(path).parse()``,
   one process). fitparse is slow (~0.3 MB/s), so it decodes a sample of about
   ``--fitparse-mb`` megabytes (one copy of the corpus set by default) and its
   rate is extrapolated per MB; the output says so. The ratio is printed against
   one fitparse process and against an ideal ``workers``-process fitparse, and as
   CPU seconds per MB (parent + workers), which other jobs on a shared machine
   do not distort.
4. With ``--decoders`` (default on) it also times fitdecode, garmin-fit-sdk and
   strainwatch's decoder alone on one copy of the set, one process each.

Run: ``python benchmarks/fit_ingest.py [--mb 50] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from connectors.fit_decode import fit_crc  # noqa: E402

CORPUS = Path(os.environ.get("STRAINWATCH_CORPUS", REPO.parent / "shared" / "sample_corpus"))


def corpus_files() -> list[Path]:
    root = CORPUS / "fit"
    return sorted(p for p in root.rglob("*.fit") if "corrupt" not in p.relative_to(root).parts)


def variant(data: bytes, k: int) -> bytes:
    """Same FIT content with the first header's profile version changed to make the hash distinct."""
    b = bytearray(data)
    hs = b[0]
    (prof,) = struct.unpack_from("<H", b, 2)
    struct.pack_into("<H", b, 2, (prof + k) & 0xFFFF)
    if hs == 14:
        (hcrc,) = struct.unpack_from("<H", b, 12)
        if hcrc:
            struct.pack_into("<H", b, 12, fit_crc(bytes(b[:12])))
    (size,) = struct.unpack_from("<I", b, 4)
    end = hs + size
    if end + 2 <= len(b):
        struct.pack_into("<H", b, end, fit_crc(bytes(b[:end])))
    return bytes(b)


def build_tree(dest: Path, min_mb: float) -> tuple[list[Path], int]:
    base = corpus_files()
    blobs = [(p, p.read_bytes()) for p in base]
    set_bytes = sum(len(d) for _, d in blobs)
    copies = max(1, int(-(-min_mb * 1e6 // set_bytes)))
    paths: list[Path] = []
    total = 0
    for k in range(copies):
        folder = dest / f"athlete_{k:02d}"
        folder.mkdir(parents=True)
        for p, d in blobs:
            out = folder / f"{p.parent.name}__{p.name}"
            data = variant(d, k + 1)
            out.write_bytes(data)
            paths.append(out)
            total += len(data)
    return paths, total


def time_decoder(name: str, files: list[Path], budget_mb: float) -> tuple[float, float, int, int]:
    """Decode files with one library until ``budget_mb`` is used; returns (MB, s, files, failures)."""
    # each library imported only when timed: one that is not installed does not stop the others
    if name == "fitparse":
        import fitparse
    elif name == "fitdecode":
        import fitdecode
    elif name == "garmin-fit-sdk":
        from garmin_fit_sdk import Decoder, Stream
    else:
        from connectors.fit_decode import decode

    done_mb = 0.0
    n = fails = 0
    t0 = time.perf_counter()
    for p in files:
        if done_mb >= budget_mb:
            break
        size = p.stat().st_size / 1e6
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "fitparse":
                    ff = fitparse.FitFile(str(p))
                    ff.parse()
                elif name == "fitdecode":
                    with fitdecode.FitReader(str(p)) as fr:
                        for _ in fr:
                            pass
                elif name == "garmin-fit-sdk":
                    msgs, errors = Decoder(Stream.from_file(str(p))).read()
                    if errors:
                        fails += 1
                elif name == "strainwatch":
                    decode(p.read_bytes())
        except Exception:
            fails += 1
        done_mb += size
        n += 1
    return done_mb, time.perf_counter() - t0, n, fails


def _cpu() -> float:
    """CPU seconds of this process and of its finished children."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=50.0, help="input size to ingest [MB]")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument(
        "--fitparse-mb",
        type=float,
        default=None,
        help="fitparse sample size [MB] (default: one copy of the corpus set)",
    )
    ap.add_argument("--no-decoders", action="store_true", help="skip the per-library decoder timings")
    args = ap.parse_args(argv)

    from pipelines.ingest import ingest_paths
    from pipelines.store import Store

    base = corpus_files()
    set_mb = sum(p.stat().st_size for p in base) / 1e6
    print(f"corpus set: {len(base)} readable FIT files, {set_mb:.2f} MB ({CORPUS / 'fit'})")
    with tempfile.TemporaryDirectory(prefix="fitbench-") as tmp:
        tmp = Path(tmp)
        files, total = build_tree(tmp / "in", args.mb)
        mb = total / 1e6
        print(f"input: {len(files)} files, {mb:.1f} MB in {len(files) // len(base)} athlete folders")

        store = Store(tmp / "store")
        c0 = _cpu()
        t0 = time.perf_counter()
        summary = ingest_paths(store, [tmp / "in"], workers=args.workers)
        dt = time.perf_counter() - t0
        cpu = _cpu() - c0  # parent + worker processes (ended with the pool)
        ours = mb / dt
        print(
            f"strainwatch ingest ({args.workers} workers, decode + tables + ledger): {dt:.2f} s, "
            f"{ours:.1f} MB/s, {len(files) / dt:.0f} files/s; ingested {summary.ingested}, "
            f"rejected {summary.rejected}, rows {summary.rows}"
        )
        print(f"  CPU time (parent + workers): {cpu:.2f} s = {mb / cpu:.1f} MB per CPU-second")
        if summary.rejected:
            print("  problems:", summary.problems[:3])

        sample_mb = args.fitparse_mb if args.fitparse_mb is not None else set_mb
        one_copy = [f for f in files if f.parent.name == "athlete_00"]
        c0 = _cpu()
        fp_mb, fp_s, fp_n, fp_fail = time_decoder("fitparse", one_copy * 100, sample_mb)
        fp_cpu = _cpu() - c0
        fp_rate = fp_mb / fp_s
        print(
            f"fitparse (plain FitFile.parse(), 1 process): sampled {fp_n} files / {fp_mb:.2f} MB in {fp_s:.1f} s "
            f"= {fp_rate:.2f} MB/s ({fp_fail} file(s) raised); extrapolated to the {mb:.1f} MB input: "
            f"{mb / fp_rate:.0f} s"
        )
        print(
            f"ratio (wall clock): {ours / fp_rate:.1f}x one fitparse process; "
            f"{ours / (fp_rate * args.workers):.1f}x an ideal {args.workers}-process fitparse"
        )
        print(
            f"ratio (CPU time per MB, insensitive to other load on the machine): {(fp_cpu / fp_mb) / (cpu / mb):.1f}x"
        )

        if not args.no_decoders:
            print(f"decoders alone, 1 process, one copy of the set ({set_mb:.2f} MB):")
            for name in ("fitdecode", "garmin-fit-sdk", "strainwatch"):
                try:
                    d_mb, d_s, d_n, d_fail = time_decoder(name, one_copy, set_mb + 1)
                except ImportError as err:
                    print(f"  {name:15s} not installed ({err})")
                    continue
                print(f"  {name:15s} {d_mb / d_s:8.2f} MB/s  ({d_n} files, {d_s:.2f} s, {d_fail} failed)")
        shutil.rmtree(tmp / "store", ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
