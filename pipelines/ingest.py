"""Ingestion: walk input paths, read each file with its connector, store and ledger it.

This is the imperative shell around :mod:`connectors`. Rules (DESIGN.md, "Store"):

* a file whose SHA-256 is already in the ledger is not read again (``unchanged``
  when seen at the same path, a ``duplicate`` ledger row at a new path);
* a file that cannot be read is recorded as ``rejected`` with its reason and the
  run goes on; earlier rejections are skipped unless ``retry_rejected``;
* decoded rows are upserted on the table keys in batches; data are written
  before the ledger rows that describe them, so a run killed at any point can
  simply be run again;
* ``.zip`` exports are opened without extracting anything outside a scratch
  folder (zip-slip safe), and each member is ledgered as ``archive.zip!member``.

The athlete of a file is, in order: the ``athlete_id`` column of formats that
have one, the first folder under the input root (``inputs/alice/x.fit`` ->
``alice``), the ``athlete`` argument, or the roster's device-serial mapping.
"""

from __future__ import annotations

import bisect
import errno
import inspect
import lzma
import multiprocessing
import os
import shutil
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import polars as pl

from connectors import registry
from connectors.base import ConnectorError, OnBadRow, ReadContext, ReadResult, check_plausible, implausible_results
from features.merge import (
    NIGHT_WINDOW_US,
    SESSION_WINDOW_US,
    merge_duplicate_nights,
    merge_duplicate_sessions,
    recording_ident,
)
from features.schemas import WELLNESS, conform
from pipelines.ingest_ids import checked_ids, nfc_or_none, refuse_colliding_ids
from pipelines.scan import SKIP_NAMES, HashCache, ZipMemo, walk_inputs
from pipelines.store import LedgerEntry, Store, file_sha256

__all__ = ["InputFile", "IngestSummary", "ingest_paths", "ZipSlipError"]

MAX_ZIP_MEMBER_BYTES = 4 << 30  # refuse absurd members (zip bombs)
MAX_ZIP_RATIO = 200
#: Default size limit of one input file [bytes] (``[inputs] max_file_mb``): a 500 MB note field
#: took 8.8 GB of RAM; the largest real export seen (Apple Health, years of data) is ~200 MB.
MAX_FILE_BYTES = 1_000_000_000


class ZipSlipError(ConnectorError):
    """A zip member would be written outside the extraction folder."""


@dataclass(frozen=True)
class InputFile:
    """One file to ingest: where it is on disk and how the user knows it."""

    path: str | Path  # readable path (a scratch copy for zip members)
    display: str  # path as shown in the ledger
    athlete_id: str | None  # from the folder layout or --athlete
    stat: os.stat_result | None = field(default=None, compare=False, repr=False)  # when already taken
    folder: str | None = None  # the athlete folder it lies in (inputs/<athlete>/...), if any
    problem: str | None = None  # why it cannot be read at all (ledgered as rejected, never read)


@dataclass
class IngestSummary:
    """What one ingest run did."""

    run_id: str
    files_seen: int = 0
    ingested: int = 0
    unchanged: int = 0
    duplicate: int = 0
    rejected: int = 0
    previously_rejected: int = 0
    rows: dict[str, int] = field(default_factory=lambda: {"sessions": 0, "sleep": 0, "wellness": 0})
    rows_added: int = 0
    skipped_rows: int = 0
    by_format: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # worth reading, not a rejection (e.g. a red flag kept)
    athletes: set[str] = field(default_factory=set)
    merged_sessions: int = 0  # cross-source duplicate workouts newly found in this run (see `merges`)
    merged_nights: int = 0  # cross-source duplicate sleep records newly found in this run
    # (athlete_id, start_utc) of the sessions / sleep rows upserted in this run: where the
    # cross-source merges may have changed (see `record_merges`)
    touched: dict[str, list[pl.DataFrame]] = field(default_factory=dict, repr=False, compare=False)
    # table -> athlete -> whether the athlete's partition, as this run last wrote it, holds rows of
    # several recordings (features.merge.multi_recording_athletes): only those can have merges
    recordings: dict[str, dict[str, bool]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.rejected == 0


def _safe_member_path(dest: Path, name: str, archive: str) -> Path:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise ZipSlipError(archive, f"member {name!r} would be written outside the extraction folder")
    target = (dest / Path(*pure.parts)).resolve()
    if not str(target).startswith(str(dest.resolve()) + os.sep):
        raise ZipSlipError(archive, f"member {name!r} would be written outside the extraction folder")
    return target


def extract_zip(
    archive: Path, dest: Path, display: str, max_member_bytes: int = MAX_ZIP_MEMBER_BYTES
) -> list[tuple[Path, str]]:
    """Extract the regular files of ``archive`` under ``dest``; return (path, member name).

    Raises
    ------
    ZipSlipError
        When a member name is absolute or climbs out with ``..``.
    ConnectorError
        When the archive is damaged or a member is implausibly large.
    """
    out = []
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            for info in infos:  # validate every name before writing anything
                _safe_member_path(dest, info.filename, display)
                if info.file_size > max_member_bytes or (
                    info.compress_size
                    and info.file_size / max(info.compress_size, 1) > MAX_ZIP_RATIO
                    and info.file_size > 100 << 20
                ):
                    raise ConnectorError(
                        display, f"member {info.filename!r} is implausibly large ({info.file_size} bytes)"
                    )
            # many members each just under the limits (a zip bomb spread over members)
            total, packed = sum(i.file_size for i in infos), sum(i.compress_size for i in infos)
            if total > MAX_ZIP_MEMBER_BYTES or (total > 100 << 20 and total / max(packed, 1) > MAX_ZIP_RATIO):
                raise ConnectorError(
                    display,
                    f"{len(infos)} members expand to an implausible {total} bytes from {packed} compressed bytes",
                )
            for info in infos:
                target = _safe_member_path(dest, info.filename, display)
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                except (
                    zipfile.BadZipFile,
                    zlib.error,
                    lzma.LZMAError,
                    EOFError,
                    RuntimeError,
                    NotImplementedError,
                    OSError,
                ) as err:
                    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
                        raise  # the scratch disk, not the archive
                    # damaged/encrypted/unsupported data, or a member that is also a folder name
                    raise ConnectorError(
                        display,
                        f"member {info.filename!r} cannot be extracted: {type(err).__name__}: {err}",
                        offset=info.header_offset,
                    ) from err
                out.append((target, info.filename))
    except zipfile.BadZipFile as err:
        if "not a zip file" in str(err):  # no end-of-central-directory record: cut short or not a zip
            raise ConnectorError(
                display,
                "not a readable zip archive: no central directory at the end of the file (truncated, or not a zip)",
                offset=archive.stat().st_size,
            ) from err
        raise ConnectorError(display, f"not a readable zip archive: {err}") from err
    return out


ReadArgs = tuple[str, str, "str | None", "str | None", str]  # path, display, athlete, tz, on_bad_row
ReadOutcome = tuple[str, "ReadResult | None", "str | None", "str | None"]  # display, result, error, format

#: Files per batch handed to a connector's ``read_many`` (and to a pool worker).
READ_BATCH_FILES = 64
#: Larger files are read one by one (batching only saves the fixed cost per file).
READ_BATCH_MAX_BYTES = 1 << 20


def _ctx(args: ReadArgs) -> ReadContext:
    _path, display, athlete, tz, on_bad_row = args
    return ReadContext(athlete_id=athlete, tz=tz, on_bad_row=OnBadRow(on_bad_row), source_name=display)


def _outcome(
    display: str, ctx: ReadContext, mod, result: ReadResult | BaseException, plausible: bool = False
) -> ReadOutcome:
    """Plausibility and athlete checks on a connector's result, or its error, as a read outcome.

    ``plausible``: :func:`~connectors.base.implausible_results` already found nothing to check.
    """
    try:
        if isinstance(result, BaseException):
            raise result
        if not plausible:
            result = check_plausible(result, ctx, display)
        if any(df["athlete_id"].null_count() for df in result.tables().values()):
            return (
                display,
                None,
                (
                    f"{display}: no athlete for this file: put it in a folder named after the athlete "
                    "(inputs/<athlete>/...), pass --athlete ID, or map the device serial in the roster"
                ),
                result.format,
            )
        result = checked_ids(result, display)  # NFC; control characters refused (names the file)
        return display, result, None, result.format
    except ConnectorError as err:
        return display, None, str(err), getattr(mod, "FORMAT", None)
    except Exception as err:  # never let one file stop the run
        return display, None, f"{display}: unexpected {type(err).__name__}: {err}", getattr(mod, "FORMAT", None)


_DETECT = object()  # _read_one: detect the format (the default)


def _read_one(args: ReadArgs, mod=_DETECT) -> ReadOutcome:
    """Worker: read one file. Returns (display, result, error message, format).

    ``mod``: the connector module when the format was detected already.
    """
    path, display = args[0], args[1]
    ctx = _ctx(args)
    try:
        if mod is _DETECT:
            mod = None
            mod = registry.detect(Path(path))
        if mod is None:
            result = registry.read(Path(path), ctx)  # raises UnknownFormatError
            return _outcome(display, ctx, mod, result)
        return _outcome(display, ctx, mod, mod.read(Path(path), ctx))
    except ConnectorError as err:
        return display, None, str(err), getattr(mod, "FORMAT", None)
    except Exception as err:  # never let one file stop the run
        return display, None, f"{display}: unexpected {type(err).__name__}: {err}", getattr(mod, "FORMAT", None)


def _read_batch(batch: Sequence[ReadArgs]) -> list[ReadOutcome]:
    """Worker: read several files, in order; small files of a connector with ``read_many``
    (the generic CSV) are read together, which saves most of the fixed cost per file."""
    out: list[ReadOutcome | None] = [None] * len(batch)
    grouped: dict[object, list[int]] = {}
    for i, a in enumerate(batch):
        mod = _DETECT
        try:
            path = Path(a[0])
            mod = registry.detect(path)
            if mod is not None and hasattr(mod, "read_many") and path.stat().st_size <= READ_BATCH_MAX_BYTES:
                grouped.setdefault(mod, []).append(i)
                continue
        except Exception:  # noqa: BLE001 - _read_one reports it
            mod = _DETECT
        out[i] = _read_one(a, mod)
    for mod, idx in grouped.items():
        ctxs = [_ctx(batch[i]) for i in idx]
        try:
            results = mod.read_many([(Path(batch[i][0]), c) for i, c in zip(idx, ctxs, strict=True)])
        except Exception:  # noqa: BLE001 - a bug in the batch path: read the files one by one
            results = None
        if results is None:
            for i in idx:
                out[i] = _read_one(batch[i])
            continue
        ok = [r for r in results if isinstance(r, ReadResult)]
        suspect = iter(implausible_results(ok))
        for k, (i, c) in enumerate(zip(idx, ctxs, strict=True)):
            r = results[k]
            plausible = isinstance(r, ReadResult) and not next(suspect)
            out[i] = _outcome(batch[i][1], c, mod, r, plausible=plausible)
    return out  # type: ignore[return-value]


def _with_source_file(df: pl.DataFrame, display: str) -> pl.DataFrame:
    return df.with_columns(pl.lit(display).alias("source_file"))


def ingest_paths(
    store: Store,
    inputs: Sequence[str | Path],
    *,
    athlete: str | None = None,
    tz_for: Callable[[str | None], str | None] | None = None,
    on_bad_row: str | OnBadRow = OnBadRow.RAISE,
    retry_rejected: bool = False,
    workers: int | None = None,
    pool: bool | None = None,
    batch_files: int = 256,
    progress: Callable[[int, int, str], None] | None = None,
    lock_timeout_s: float = 30.0,
    device_map: Mapping[str, str] | None = None,
    aliases: Mapping[str, str] | None = None,
    rebuild: Sequence[str] = (),
    max_file_bytes: int | None = None,
) -> IngestSummary:
    """Ingest every file under ``inputs`` into ``store``.

    Parameters
    ----------
    store : Store
        Target store; its writer lock is held for the whole run.
    inputs : sequence of path
        Files or folders (recursive). ``.zip`` archives are expanded safely.
    athlete : str, optional
        Athlete for files without an athlete column or folder.
    tz_for : callable, optional
        ``tz_for(athlete_id) -> IANA zone`` for formats with local times only.
    on_bad_row : {"raise", "skip"}
        ``raise`` rejects a file with a bad row; ``skip`` drops the row and
        counts it in the ledger.
    retry_rejected : bool
        Read again files that an earlier run rejected.
    workers : int, optional
        Most decoder processes to use (default: CPU count; 1 decodes
        in-process). A process pool is started only when it pays
        (:func:`pool_workers`): the files that must be read (not those
        already in the ledger) are estimated at 1.5 ms per file plus 30 ms
        per MB of in-process reading, and the pool is used when that estimate
        times ``1 - 1/workers`` exceeds :data:`POOL_START_S` (1 s: spawned
        workers import polars and the connectors, results are pickled back),
        i.e. above about 2 s of reading with 2 workers: some 1300 tiny CSV
        files, or 50 MB of FIT files (~7 files per MB). The break-even depends
        on what else runs: measured on 2 cores, whole ingest, pool off vs on,
        on a quiet machine (load ~1): 600 one-row CSV files 0.78 vs 0.80 s,
        1500 files 2.15 vs 1.59 s, 50 MB of FIT 1.77-1.85 vs 1.67-1.77 s
        (``benchmarks/fit_ingest.py``; 1.9 vs 3.1 s CPU); with other jobs
        running (load 4-5): 1500 CSV files 1.81 vs 2.81 s, 6000 files 7.19
        vs 7.73 s, 100 MB of FIT 3.6-5.7 vs 3.7-4.9 s. Pass ``pool=True`` or
        ``False`` to decide yourself.
    pool : bool, optional
        Force (True) or forbid (False) the process pool whatever the
        estimate; None (default) decides as described under ``workers``.
    batch_files : int
        Files per store commit.
    progress : callable, optional
        ``progress(done, total, display_path)`` after each file.
    device_map : mapping of str to str, optional
        Device serial number -> athlete id (the roster). A FIT file outside
        any athlete folder is read as athlete ``device-<serial>``; a serial in
        this map gives it the athlete's id instead.
    aliases : mapping of str to str, optional
        Other ids -> athlete id (the roster's ``aliases``). A file in an
        athlete's folder whose ``athlete_id`` column names another athlete is
        rejected (a file in ``inputs/mallory/`` must not replace alice's rows)
        unless this map takes that id to the folder's athlete.
    rebuild : sequence of str
        Athletes whose files are read again whatever the ledger says (after
        a damaged partition was quarantined: ``strainwatch ingest --rebuild``).
    max_file_bytes : int, optional
        Files (and zip members) larger than this are rejected unread
        (default :data:`MAX_FILE_BYTES`).

    Returns
    -------
    IngestSummary
    """
    on_bad_row = OnBadRow(on_bad_row)
    tz_for = tz_for or (lambda _a: None)
    run_id = uuid.uuid4().hex[:12]
    summary = IngestSummary(run_id=run_id)
    with store.lock(timeout_s=lock_timeout_s):
        from pipelines.integrity import finish_rebuild, pending_rebuilds, start_rebuild

        # an unfinished --rebuild (killed, or stopped) is started again until it completes
        rebuild = sorted(set(rebuild) | set(pending_rebuilds(store)))
        if rebuild:
            start_rebuild(store, rebuild)
        store.tmp_dir.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f"ingest-{run_id}-", dir=store.tmp_dir))
        try:
            _ingest_locked(
                store,
                inputs,
                athlete,
                tz_for,
                on_bad_row,
                retry_rejected,
                workers,
                batch_files,
                progress,
                summary,
                scratch,
                device_map or {},
                pool,
                aliases=aliases or {},
                rebuild=frozenset(rebuild),
                max_file_bytes=MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        record_merges(store, summary)
        if rebuild:
            finish_rebuild(store, rebuild)
    return summary


MERGES_DDL = """CREATE TABLE IF NOT EXISTS merges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    table_name TEXT NOT NULL, athlete_id TEXT NOT NULL,
    kept_source TEXT, kept_start_utc TEXT, kept_source_file TEXT,
    dropped_source TEXT NOT NULL, dropped_start_utc TEXT NOT NULL, dropped_source_file TEXT,
    start_diff_s REAL, duration_ratio REAL, filled TEXT, reason TEXT,
    run_id TEXT, recorded_at TEXT)"""


#: How far apart (start to start) two rows can be and still be merged [us]: sessions use
#: ``merge_duplicate_sessions``' default ``max_start_diff_s``, nights ``features.merge.NIGHT_WINDOW_US``
#: of ``merge_duplicate_nights``. The incremental merge relies on these bounds.
_MERGE_WINDOW_US = {
    # the overlap and date rules compare sessions up to SESSION_WINDOW_US apart (features.merge)
    "sessions": max(
        SESSION_WINDOW_US,
        int(round(float(inspect.signature(merge_duplicate_sessions).parameters["max_start_diff_s"].default) * 1e6)),
    ),
    "sleep": NIGHT_WINDOW_US,
}
_MERGES_DIRTY = "merges_dirty"  # store state key: set while table rows are newer than the merges table


def _merge_region(
    table: str, starts: list[int | None], ends: list[int | None], wake: list, seeds_us: list[int]
) -> list[int]:
    """Positions of the rows of one athlete (sorted by start) whose merges may change.

    ``starts`` and ``ends`` are the rows' ``start_utc`` and ``end_utc`` [us
    since the epoch], ``wake`` their ``wake_date`` (the last two are used for
    sleep only).

    The region is every row connected, through pairs of rows that the merge
    could match, to a row starting within the merge window of a touched row
    (``seeds_us``). Pairs are over-approximated (any two sessions within the
    window; two nights within the window that overlap or end on the same
    ``wake_date``), so the region is a union of whole groups of rows that the
    merge's anchor clustering handles independently of all other rows, both
    before and after this run's upserts (an upsert only adds rows or replaces
    a row at the same start). Merging the region alone therefore gives the
    same merges as merging the athlete's whole history.
    """
    w = _MERGE_WINDOW_US[table]
    valid = [i for i, t in enumerate(starts) if t is not None]
    times = [starts[i] for i in valid]
    if table == "sleep":

        def linked(i: int, j: int) -> bool:
            if wake[i] is not None and wake[i] == wake[j]:
                return True
            return None not in (ends[i], ends[j]) and min(ends[i], ends[j]) > max(starts[i], starts[j])
    else:

        def linked(i: int, j: int) -> bool:
            return True

    seeds = sorted(seeds_us)
    region: set[int] = set()
    stack: list[int] = []
    for k, t in enumerate(times):  # rows within the window of a touched row
        pos = bisect.bisect_left(seeds, t - w)
        if pos < len(seeds) and seeds[pos] <= t + w:
            region.add(valid[k])
            stack.append(k)
    while stack:  # grow over linked pairs
        k = stack.pop()
        i = valid[k]
        lo = bisect.bisect_left(times, times[k] - w)
        hi = bisect.bisect_right(times, times[k] + w)
        for k2 in range(lo, hi):
            j = valid[k2]
            if j not in region and linked(i, j):
                region.add(j)
                stack.append(k2)
    return sorted(region)


def record_merges(store: Store, summary: IngestSummary, *, full: bool = False) -> None:
    """Ledger the cross-source duplicates of the athletes touched in this run.

    Runs :func:`features.merge.merge_duplicate_sessions` and
    :func:`features.merge.merge_duplicate_nights` on the touched athletes'
    stored rows and replaces the affected rows of the ``merges`` table in the
    ledger database with the result (one row per dropped duplicate, naming the
    kept and the dropped source, start and file). Stored table rows are never
    deleted: the features stage applies the same merge when it reads. The
    summary counts the merges that were not in the table before this run.

    Incremental by default: only the rows around the sessions and sleep rows
    upserted in this run (``summary.touched``; see :func:`_merge_region`) are
    merged again, and only the merges of those rows are replaced, which gives
    the same table as merging each touched athlete's whole history
    (``full=True``; also used when the ``merges`` table is new, and for every
    athlete in the store when an earlier run stopped between writing rows and
    recording their merges).
    """
    from datetime import datetime, timezone

    athletes = sorted(summary.athletes)
    if not athletes and not (store.ledger_path.exists() and store.get_state(_MERGES_DIRTY)):
        return
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    iso = lambda t: t.isoformat() if t is not None else None  # noqa: E731
    con = store.connect()
    try:
        with con:
            exists = con.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'merges'").fetchone()
            con.execute(MERGES_DDL)
            state = con.execute("SELECT value FROM state WHERE key = ?", (_MERGES_DIRTY,)).fetchone()
            dirty = bool(state and state[0] and state[0] != summary.run_id)
            incremental = not full and exists and not dirty
            if dirty:  # an earlier run wrote rows but not their merges: redo every athlete
                athletes = sorted(set(athletes) | set(store.all_athletes()))
            tables = (("sessions", merge_duplicate_sessions), ("sleep", merge_duplicate_nights)) if athletes else ()
            for table, merge in tables:
                marks = ",".join("?" * len(athletes))
                if incremental:
                    touched = summary.touched.get(table)
                    if not touched:
                        continue
                    seeds: dict[str, list[int]] = {}
                    for a, t in pl.concat(touched).select("athlete_id", pl.col("start_utc").dt.epoch("us")).iter_rows():
                        if t is not None:
                            seeds.setdefault(a, []).append(t)
                    # an athlete of one recording has no merges: nothing to redo unless the table has
                    # some of its earlier merges (which the region below would remove)
                    single = {a for a, several in summary.recordings.get(table, {}).items() if not several}
                    if single & set(seeds):
                        logged = {
                            r[0]
                            for r in con.execute(
                                "SELECT DISTINCT athlete_id FROM merges WHERE table_name = ?", (table,)
                            )
                        }
                        seeds = {a: v for a, v in seeds.items() if a not in single or a in logged}
                    if not seeds:
                        continue
                    data = store.read_table(table, sorted(seeds)).sort("athlete_id", "start_utc")
                    epochs = data.select(
                        pl.col("start_utc").dt.epoch("us").alias("s"),
                        (pl.col("end_utc").dt.epoch("us") if table == "sleep" else pl.lit(None)).alias("e"),
                        (pl.col("wake_date") if table == "sleep" else pl.lit(None)).alias("w"),
                    )
                    parts = []
                    region_keys: set[tuple[str, str, str | None]] = set()
                    bounds = (
                        data.with_row_index("_i")
                        .group_by("athlete_id", maintain_order=True)
                        .agg(pl.col("_i").min().alias("lo"), pl.len().alias("n"))
                    )
                    s_all, e_all, w_all = (epochs[c].to_list() for c in ("s", "e", "w"))
                    for a, lo, n in bounds.iter_rows():
                        sl = slice(lo, lo + n)
                        pos = _merge_region(table, s_all[sl], e_all[sl], w_all[sl], seeds.get(a, []))
                        if pos:
                            part = data.slice(lo, n)
                            sub = part[pos]
                            parts.append(sub)
                            region_keys.update(
                                (a, src, iso(t)) for src, t in zip(sub["source"], sub["start_utc"], strict=True)
                            )
                    if not parts:
                        continue
                    _, log = merge(pl.concat(parts))
                    region_athletes = sorted({k[0] for k in region_keys})
                    marks = ",".join("?" * len(region_athletes))
                    old = con.execute(
                        f"SELECT id, athlete_id, kept_source, kept_start_utc, dropped_source, dropped_start_utc "
                        f"FROM merges WHERE table_name = ? AND athlete_id IN ({marks})",
                        [table, *region_athletes],
                    ).fetchall()
                    stale = [r for r in old if (r[1], r[2], r[3]) in region_keys or (r[1], r[4], r[5]) in region_keys]
                    before = {(r[1], r[4], r[5]) for r in stale}
                    con.executemany("DELETE FROM merges WHERE id = ?", [(r[0],) for r in stale])
                else:
                    # athletes whose partition this run wrote with rows of one recording have no merges
                    # (features.merge.recording_ident): not read again; the others are merged in full
                    several = summary.recordings.get(table, {})
                    _, log = merge(store.read_table(table, [a for a in athletes if several.get(a, True)]))
                    before = set(
                        con.execute(
                            f"SELECT athlete_id, dropped_source, dropped_start_utc FROM merges "
                            f"WHERE table_name = ? AND athlete_id IN ({marks})",
                            [table, *athletes],
                        )
                    )
                    con.execute(
                        f"DELETE FROM merges WHERE table_name = ? AND athlete_id IN ({marks})", [table, *athletes]
                    )
                rows = [
                    (
                        table,
                        r["athlete_id"],
                        r["kept_source"],
                        iso(r["kept_start_utc"]),
                        r["kept_source_file"],
                        r["dropped_source"],
                        iso(r["dropped_start_utc"]),
                        r["dropped_source_file"],
                        r["start_diff_s"],
                        r["duration_ratio"],
                        r["filled"],
                        r["reason"],
                        summary.run_id,
                        now,
                    )
                    for r in log.iter_rows(named=True)
                ]
                con.executemany(
                    "INSERT INTO merges (table_name, athlete_id, kept_source, kept_start_utc, kept_source_file, "
                    "dropped_source, dropped_start_utc, dropped_source_file, start_diff_s, duration_ratio, "
                    "filled, reason, run_id, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    rows,
                )
                new = sum(1 for r in rows if (r[1], r[5], r[6]) not in before)
                if table == "sessions":
                    summary.merged_sessions += new
                else:
                    summary.merged_nights += new
    finally:
        con.close()
    if dirty or store.get_state(_MERGES_DIRTY):
        store.set_state(_MERGES_DIRTY, "")


def read_merges(store: Store) -> pl.DataFrame:
    """The ``merges`` table of the ledger database (empty frame when none was recorded)."""
    cols = [
        "table_name",
        "athlete_id",
        "kept_source",
        "kept_start_utc",
        "kept_source_file",
        "dropped_source",
        "dropped_start_utc",
        "dropped_source_file",
        "start_diff_s",
        "duration_ratio",
        "filled",
        "reason",
        "run_id",
        "recorded_at",
    ]
    schema = {c: (pl.Float64 if c in ("start_diff_s", "duration_ratio") else pl.String) for c in cols}
    if not store.ledger_path.exists():
        return pl.DataFrame(schema=schema)
    con = store.connect()
    try:
        con.execute(MERGES_DDL)
        rows = con.execute(
            f"SELECT {','.join(cols)} FROM merges ORDER BY athlete_id, table_name, kept_start_utc, "
            "dropped_source, dropped_start_utc"
        ).fetchall()
    finally:
        con.close()
    return pl.DataFrame(rows, schema=schema, orient="row")


def _expand(
    inputs: Sequence[str | Path],
    athlete: str | None,
    scratch: Path,
    rejects: list[LedgerEntry],
    run_id: str,
    memo: ZipMemo | None = None,
    retry_rejected: bool = False,
    max_file_bytes: int = 0,
    rebuild: frozenset[str] = frozenset(),
) -> tuple[list[InputFile], list[tuple[str, os.stat_result, list[str] | None]], dict[str, int]]:
    """The files to look at: inputs walked, links de-duplicated, zip archives extracted.

    Returns the files, the archives opened in this run (path, stat, ledger
    paths of their members, or None for an archive rejected as unreadable: for
    :class:`pipelines.scan.ZipMemo` once they are ledgered) and the counts of what ``memo`` let us skip (``seen``,
    ``unchanged``, ``previously_rejected``): an archive unchanged since a run
    that ledgered all its members is not opened.
    """
    files: list[InputFile] = []
    zips: list[tuple[str, os.stat_result, list[str] | None]] = []
    skipped = {"seen": 0, "unchanged": 0, "previously_rejected": 0}
    seen_paths: set[tuple[int, int]] = set()
    # straight from walk_inputs, with str paths: a Path per file costs 10 us (0.3 s per 30k files)
    walk_problems: list[tuple[str, str | None, str]] = []
    for path, who in walk_inputs(inputs, problems=walk_problems):
        who = nfc_or_none(who)  # NFC: one athlete whatever the file system's normal form
        try:
            st = os.stat(path)
        except OSError as err:  # a symbolic link loop, a dangling link, a file gone meanwhile
            files.append(
                InputFile(
                    path,
                    path,
                    who or athlete,
                    None,
                    folder=who,
                    problem=(f"{path}: byte 0: cannot be read: {err.strerror or err}; fix or remove it"),
                )
            )
            continue
        real = (st.st_dev, st.st_ino)
        if real in seen_paths:  # the same file named twice (e.g. a file and its folder, or a link)
            continue
        seen_paths.add(real)
        if max_file_bytes and st.st_size > max_file_bytes and not path.lower().endswith(".zip"):  # members checked
            files.append(
                InputFile(
                    path,
                    path,
                    nfc_or_none(who or athlete),
                    st,
                    folder=who,
                    problem=(
                        f"{path}: byte {max_file_bytes}: {st.st_size} bytes, over the size limit of {max_file_bytes} "
                        "bytes ([inputs] max_file_mb); not read. Raise the limit if the file is genuine"
                    ),
                )
            )
            continue
        if not path.lower().endswith(".zip"):
            files.append(InputFile(path, path, nfc_or_none(who or athlete), st, folder=who))
            continue
        known = memo.lookup(path, st) if memo is not None and not (rebuild and (who or athlete) in rebuild) else None
        if known is not None and not (retry_rejected and (known[0] == "rejected" or known[2])):
            status, n_members, n_rejected = known
            if status == "rejected":
                skipped["seen"] += 1
                skipped["previously_rejected"] += 1
            else:
                skipped["seen"] += n_members
                skipped["unchanged"] += n_members - n_rejected
                skipped["previously_rejected"] += n_rejected
            continue
        f = InputFile(Path(path), path, nfc_or_none(who or athlete), st, folder=who)
        dest = scratch / uuid.uuid4().hex[:8]
        try:
            members = extract_zip(f.path, dest, f.display, max_file_bytes or MAX_ZIP_MEMBER_BYTES)
        except ConnectorError as err:
            rejects.append(
                LedgerEntry(
                    path=f.display,
                    size_bytes=f.path.stat().st_size,
                    sha256=file_sha256(f.path),
                    format="zip",
                    athlete_id=f.athlete_id,
                    status="rejected",
                    error=str(err),
                    run_id=run_id,
                )
            )
            zips.append((path, st, None))  # remembered as rejected once its ledger row is written
            continue
        displays: list[str] = []
        for target, name in members:
            if PurePosixPath(name).name in SKIP_NAMES or any(
                part.startswith(".") or part == "__MACOSX" for part in PurePosixPath(name).parts
            ):
                continue
            files.append(InputFile(target, f"{f.display}!{name}", f.athlete_id, folder=f.folder))
            displays.append(f"{f.display}!{name}")
        zips.append((path, st, displays))
    for folder, who, why in walk_problems:  # unreadable sub-folders: ledgered, not skipped silently
        files.append(
            InputFile(
                folder,
                folder,
                who or athlete,
                None,
                folder=who,
                problem=(
                    f"{folder}: byte 0: folder cannot be read ({why}); its files were not ingested. "
                    "Fix its permissions (e.g. chmod -R u+rX) and run again with --retry-rejected"
                ),
            )
        )
    return files, zips, skipped


#: In-process reading cost used to decide on a process pool (measured on 2 shared cores):
#: a tiny generic CSV file costs 1-1.5 ms to read and check in a batch (read_many); FIT
#: decoding runs at 25-30 MB/s.
READ_S_PER_FILE = 0.0015
READ_S_PER_MB = 0.030
#: Wall time to start spawned workers (each imports polars and the connectors) and carry the
#: results back: 0.4-1.6 s measured for 2 workers, plus ~1.2 s CPU for 100 MB of FIT files;
#: 1 s puts the break-even between the quiet-machine (~600 tiny files) and the loaded-machine
#: (> 6000 tiny files) measurements.
POOL_START_S = 1.0


def pool_workers(workers: int, n_files: int, n_bytes: int, pool: bool | None = None) -> int:
    """Decoder processes for ``n_files`` files of ``n_bytes`` bytes in all (1 = read in-process).

    Parameters
    ----------
    workers : int
        Most processes allowed.
    n_files, n_bytes : int
        What must be read (files already in the ledger are not read).
    pool : bool, optional
        True: use ``min(workers, n_files)`` processes; False: in-process; None:
        a pool only when the estimated in-process time
        ``n_files * READ_S_PER_FILE + n_bytes / 1e6 * READ_S_PER_MB`` [s] saved by
        ``workers`` processes, ``estimate * (1 - 1 / workers)``, exceeds
        :data:`POOL_START_S`.

    Examples
    --------
    >>> pool_workers(2, 87, 87 * 150)  # a night of tiny CSV files: 0.13 s of reading
    1
    >>> pool_workers(2, 32_000, 32_000 * 150)  # a year of nightly drops: 48 s
    2
    """
    w = min(workers, n_files)
    if w <= 1 or pool is False:
        return 1
    if pool:
        return w
    estimate_s = n_files * READ_S_PER_FILE + n_bytes / 1e6 * READ_S_PER_MB
    return w if estimate_s * (1 - 1 / w) > POOL_START_S else 1


def _ingest_locked(
    store,
    inputs,
    athlete,
    tz_for,
    on_bad_row,
    retry_rejected,
    workers,
    batch_files,
    progress,
    summary: IngestSummary,
    scratch: Path,
    device_map: Mapping[str, str],
    pool: bool | None = None,
    *,
    aliases: Mapping[str, str] = {},
    rebuild: frozenset[str] = frozenset(),
    max_file_bytes: int = 0,
) -> None:
    run_id = summary.run_id
    pre_entries: list[LedgerEntry] = []
    memo = ZipMemo(store)
    files, zips, skipped = _expand(
        inputs, athlete, scratch, pre_entries, run_id, memo, retry_rejected, max_file_bytes, rebuild
    )
    summary.files_seen = len(files) + len(pre_entries) + skipped["seen"]
    summary.unchanged += skipped["unchanged"]
    summary.previously_rejected += skipped["previously_rejected"]
    summary.rejected += len(pre_entries)
    summary.problems += [e.error for e in pre_entries if e.error]
    store.ledger_add(pre_entries)
    for path, st, displays in zips:
        if displays is None:  # unreadable archive, now in the ledger: skipped until it changes
            memo.remember(path, st, status="rejected")

    # hash everything first: it decides what must be read at all. Files unchanged since the last
    # run (size, mtime, ctime, inode) are not read again (pipelines.scan.HashCache); extracted zip
    # members are scratch copies, hashed every time and not remembered.
    cache = HashCache(store)
    scratch_prefix = str(scratch) + os.sep
    bad = [f for f in files if f.problem]
    files = [f for f in files if not f.problem]
    member = [str(f.path).startswith(scratch_prefix) for f in files]
    direct = [f for f, m in zip(files, member, strict=True) if not m]
    direct_h = iter(_hashes(cache, direct, remember=True))
    member_h = iter(_hashes(cache, [f for f, m in zip(files, member, strict=True) if m], remember=False))
    hashed = [(f, *(next(member_h) if m else next(direct_h))) for f, m in zip(files, member, strict=True)]
    bad += [f for f, _, sha in hashed if sha is None]  # unreadable when hashed
    hashed = [h for h in hashed if h[2] is not None]
    hashed += [(f, f.stat.st_size if f.stat else 0, _problem_sha(f)) for f in bad]
    known = store.ledger_by_hash({h for _, _, h in hashed}, columns=("path", "status", "format", "athlete_id"))
    to_read: list[tuple[InputFile, int, str]] = []
    later_dups: dict[str, list[tuple[InputFile, int, str]]] = {}
    dup_entries: list[LedgerEntry] = []
    seen_now: dict[str, str] = {}
    for f, size, sha in hashed:
        prior = known.get(sha, [])
        if f.problem:  # cannot be read at all: one rejection, then skipped until it changes
            if prior and not retry_rejected:
                summary.previously_rejected += 1
            else:
                summary.rejected += 1
                summary.problems.append(f.problem)
                dup_entries.append(
                    LedgerEntry(
                        path=f.display,
                        size_bytes=size,
                        sha256=sha,
                        format=None,
                        athlete_id=f.athlete_id,
                        status="rejected",
                        error=f.problem,
                        run_id=run_id,
                    )
                )
            continue
        if rebuild and _names_athlete(f, prior, rebuild):
            prior = []  # --rebuild: read this athlete's files again whatever the ledger says
        # only an ``ingested`` row means the content's rows are stored: a ``duplicate`` row
        # whose original never got stored (a run killed in between, an old version) is no copy
        good = [r for r in prior if r["status"] == "ingested"]
        if good:
            if any(r["path"] == f.display and r["status"] in ("ingested", "duplicate") for r in prior):
                summary.unchanged += 1
            else:
                summary.duplicate += 1
                dup_entries.append(
                    LedgerEntry(
                        path=f.display,
                        size_bytes=size,
                        sha256=sha,
                        format=good[0]["format"],
                        athlete_id=f.athlete_id or good[0]["athlete_id"],
                        status="duplicate",
                        error=f"same content as {good[0]['path']}",
                        run_id=run_id,
                    )
                )
            continue
        if any(r["status"] == "rejected" for r in prior) and not retry_rejected:
            summary.previously_rejected += 1
            continue
        if sha in seen_now:
            # ledgered by _commit right after the copy it names, and only once that copy is stored
            summary.duplicate += 1
            later_dups.setdefault(seen_now[sha], []).append((f, size, sha))
            continue
        seen_now[sha] = f.display
        to_read.append((f, size, sha))
    store.ledger_add(dup_entries)

    total = len(to_read)
    workers = pool_workers(workers or os.cpu_count() or 1, total, sum(size for _, size, _ in to_read), pool)
    args = [(str(f.path), f.display, f.athlete_id, tz_for(f.athlete_id), on_bad_row.value) for f, _, _ in to_read]
    meta = {f.display: (f, size, sha) for f, size, sha in to_read}

    pending: list[tuple[str, ReadResult | None, str | None, str | None]] = []
    done = 0

    # batches of files in order: a batch is read together where its connector can (read_many)
    size = max(1, min(READ_BATCH_FILES, -(-total // (workers * 4)) if workers > 1 else READ_BATCH_FILES))
    batches = [args[i : i + size] for i in range(0, total, size)]

    def results() -> Iterator[tuple[str, ReadResult | None, str | None, str | None]]:
        if workers <= 1:
            for b in batches:
                yield from _read_batch(b)
        else:
            # "spawn", not the Linux default "fork": forking a process whose polars thread pool has
            # already run (an earlier ingest, a flow) can deadlock the children on a held lock
            returned: set[str] = set()
            try:
                with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
                    for items in pool.map(_read_batch, batches):
                        for item in items:
                            returned.add(item[0])
                            yield item
            except BrokenProcessPool:
                # a worker died (out of memory, or a main module that a spawned process cannot
                # import, e.g. a script read from stdin): read the remaining files in-process
                for a in args:
                    if a[1] not in returned:
                        yield _read_one(a)

    for item in results():
        pending.append(item)
        done += 1
        if progress:
            progress(done, total, item[0])
        if len(pending) >= batch_files:
            _commit(store, pending, meta, summary, device_map, aliases, later_dups)
            pending = []
    _commit(store, pending, meta, summary, device_map, aliases, later_dups)
    for path, st, displays in zips:  # every member has its ledger row now: next time, skip the archive
        if displays is not None:
            memo.remember(path, st, status="expanded", members=displays)


def _map_devices(result: ReadResult, device_map: Mapping[str, str]) -> ReadResult:
    """Give rows of athlete ``device-<serial>`` the roster's athlete id for that serial."""
    mapping = {f"device-{k}": v for k, v in device_map.items()}
    hits = sorted(a for a in result.athlete_ids if a in mapping)
    if not hits:
        return result
    result.rename_athletes(mapping)
    result.warn("athlete from the roster's device serial: " + ", ".join(f"{a} -> {mapping[a]}" for a in hits))
    return result


def _problem_sha(f: InputFile) -> str:
    """Ledger key of a file that cannot be read: stands in for its content hash (same problem, same key)."""
    import hashlib

    return "unreadable-" + hashlib.sha256(f"{f.display}\0{f.problem}".encode()).hexdigest()[:48]


def _hashes(cache: HashCache, files: list[InputFile], *, remember: bool) -> list[tuple[int, str | None]]:
    """(size, SHA-256) per file; (size, None) with ``problem`` set on the file for one that cannot be read."""
    try:
        return cache.hashes(
            [f.path for f in files], remember=remember, stats=[f.stat for f in files] if remember else None
        )
    except OSError:
        pass
    out: list[tuple[int, str | None]] = []
    for f in files:  # find the unreadable ones: the rest are hashed (and remembered) as usual
        try:
            out.extend(cache.hashes([f.path], remember=remember, stats=[f.stat] if remember else None))
        except OSError as err:
            object.__setattr__(
                f,
                "problem",
                f"{f.display}: byte 0: cannot be read: {err.strerror or err}; fix its permissions or remove it",
            )
            out.append((f.stat.st_size if f.stat else 0, None))
    return out


def _names_athlete(f: InputFile, prior: list[dict], athletes: frozenset[str]) -> bool:
    """Whether the file's folder, or a ledger row of its content, names one of ``athletes``."""
    if f.athlete_id in athletes or f.folder in athletes:
        return True
    return any(a in athletes for r in prior for a in (r.get("athlete_id") or "").split(","))


def _map_aliases(result: ReadResult, aliases: Mapping[str, str]) -> ReadResult:
    """Give rows whose ``athlete_id`` is a roster alias the roster's athlete id."""
    hits = sorted(a for a in result.athlete_ids if a in aliases)
    if not hits:
        return result
    result.rename_athletes(dict(aliases))
    result.warn("athlete from the roster's aliases: " + ", ".join(f"{a} -> {aliases[a]}" for a in hits))
    return result


def _line_of(path: str | Path, value: str, limit: int = 64 << 20) -> int | None:
    """1-based number of the first text line holding ``value`` as a whole field (None if not found)."""
    import re

    pat = re.compile(rb"(^|[,;\t\"'<>=: ])" + re.escape(value.encode()) + rb"($|[,;\t\"'<>/ \r\n])")
    try:
        with open(path, "rb") as fh:
            for n, line in enumerate(fh, 1):
                if fh.tell() > limit:
                    return None
                if pat.search(line):
                    return n
    except OSError:
        return None
    return None


def _foreign_athlete_error(
    f: InputFile, display: str, result: ReadResult, known: frozenset[str] = frozenset()
) -> str | None:
    """The rejection of a file in ``inputs/<folder>/`` whose rows name another athlete, else None.

    A whole-team export (``ReadResult.team_export``: one column or key per
    player) sits in a grouping folder of the export (``wellness/``,
    ``training-load/``), so it is refused only when that folder is a known
    athlete's (``known``: stored athletes and roster ids).
    """
    if not f.folder:
        return None
    if result.team_export and f.folder not in known:
        return None
    foreign = sorted(a for a in result.athlete_ids if a != f.folder)
    if not foreign:
        return None
    line = _line_of(f.path, foreign[0])
    where = f"line {line}" if line else "record 1"
    return (
        f"{display}: {where}: athlete_id {foreign[0]!r} differs from the athlete of its folder "
        f"{f.folder!r}; refused so that it cannot replace another athlete's rows. Move the file to "
        f"that athlete's folder (a file of several athletes goes directly in the input folder), "
        f"or add {foreign[0]!r} to the aliases of {f.folder!r} in the roster"
    )


def _red_flags_kept(
    store: Store, wellness: pl.DataFrame
) -> tuple[pl.DataFrame, dict[str, list[str]], dict[str, pl.DataFrame | None] | None]:
    """Keep stored red flags that new rows would drop; notes per source file saying so.

    A later file never silently clears a red flag: a stored ``red_flag`` true
    replaced by an empty value stays true; an explicit ``false`` (a correction)
    clears it. Either way the newer file's ledger row (and the run summary)
    gets a note naming the day and the file that reported the flag.

    Also returns the stored wellness partitions it read (athlete -> frame, or
    None when absent or damaged), which the upsert then does not read again;
    None when it read none.
    """
    notes: dict[str, list[str]] = {}
    if wellness.is_empty() or "red_flag" not in wellness.columns:
        return wellness, notes, None
    athletes = wellness["athlete_id"].unique().sort().to_list()
    try:
        parts = {a: store.read_partition("wellness", a) for a in athletes}
        found = [conform(f, WELLNESS) for f in parts.values() if f is not None]
        old = conform(pl.concat(found, how="diagonal_relaxed"), WELLNESS) if found else WELLNESS.empty()
    except Exception:  # noqa: BLE001 - a damaged partition is reported by the upsert
        return wellness, notes, None
    old = old.filter(pl.col("red_flag").fill_null(False)).select(
        "athlete_id", "date", pl.col("source_file").alias("_flag_file")
    )
    if old.is_empty():
        return wellness, notes, parts
    j = wellness.join(old, on=["athlete_id", "date"], how="left")
    flagged = pl.col("_flag_file").is_not_null()
    kept = j.filter(flagged & pl.col("red_flag").is_null())
    cleared = j.filter(flagged & (pl.col("red_flag") == False))  # noqa: E712 - an explicit "no"
    for a, d, src, flag_file in kept.select("athlete_id", "date", "source_file", "_flag_file").iter_rows():
        notes.setdefault(src, []).append(
            f"red flag of {a} on {d} kept: reported by {flag_file}; this file does not say (empty red_flag)"
        )
    for a, d, src, flag_file in cleared.select("athlete_id", "date", "source_file", "_flag_file").iter_rows():
        notes.setdefault(src, []).append(
            f"red flag of {a} on {d} CLEARED: reported by {flag_file}, this file says red_flag false"
        )
    out = j.with_columns(
        pl.when(flagged & pl.col("red_flag").is_null())
        .then(pl.lit(True))
        .otherwise(pl.col("red_flag"))
        .alias("red_flag")
    ).drop("_flag_file")
    return out, notes, parts


def _one_value(df: pl.DataFrame, col: str) -> bool:
    """Whether ``col`` (nulls read as "", an absent column as all "") holds a single value in ``df``."""
    if col not in df.columns:
        return True
    v = df.get_column(col).fill_null("")
    return v.min() == v.max()


def _note_recordings(into: dict[str, bool], table: str) -> Callable[[str, pl.DataFrame], None]:
    """The ``written`` callback of :meth:`Store.upsert`: whether each partition as written holds rows of
    several recordings (:func:`features.merge.recording_ident`), for :func:`record_merges`."""
    by_device = table == "sessions"

    def note(athlete: str, df: pl.DataFrame) -> None:
        if df.height and _one_value(df, "source") and (not by_device or _one_value(df, "device_id")):
            into[athlete] = False  # one source (and device) on every row: one recording, no hash per row
            return
        n = df.select(recording_ident(df.columns, by_device=by_device).n_unique()).item() if df.height else 0
        into[athlete] = n > 1

    return note


def _commit(
    store: Store,
    batch,
    meta,
    summary: IngestSummary,
    device_map: Mapping[str, str],
    aliases: Mapping[str, str] = {},
    later_dups: Mapping[str, list] | None = None,
) -> None:
    """Write one batch: table rows first, then the ledger rows describing them.

    ``later_dups``: byte-identical copies of a file of the batch (by its
    ledger path), ledgered right after it: ``duplicate`` when it was stored,
    ``rejected`` with its reason when not.
    """
    if not batch:
        return
    # ids differing from a stored one only by case/look-alikes would share a partition on macOS: refuse
    stored = store.all_athletes()
    batch = refuse_colliding_ids(batch, stored, device_map)
    frames: dict[str, list[pl.DataFrame]] = {"sessions": [], "sleep": [], "wellness": [], "injuries": []}
    entries: list[LedgerEntry] = []
    later_dups = later_dups or {}
    known = frozenset(stored) | frozenset(aliases.values())

    def copies(display: str, fmt: str | None, error: str | None) -> None:
        for cf, csize, csha in later_dups.get(display, ()):
            if error is None:
                entries.append(
                    LedgerEntry(
                        path=cf.display,
                        size_bytes=csize,
                        sha256=csha,
                        format=fmt,
                        athlete_id=cf.athlete_id,
                        status="duplicate",
                        error=f"same content as {display}",
                        run_id=summary.run_id,
                    )
                )
            else:
                summary.duplicate -= 1
                summary.rejected += 1
                msg = f"{cf.display}: same content as {display}, rejected: {error}"
                summary.problems.append(msg)
                entries.append(
                    LedgerEntry(
                        path=cf.display,
                        size_bytes=csize,
                        sha256=csha,
                        format=fmt,
                        athlete_id=cf.athlete_id,
                        status="rejected",
                        error=msg,
                        run_id=summary.run_id,
                    )
                )

    for display, result, error, fmt in batch:
        f, size, sha = meta[display]
        if result is not None:
            result = _map_aliases(_map_devices(result, device_map), aliases)
            error = _foreign_athlete_error(f, display, result, known)
            if error is not None:
                fmt, result = result.format, None
        if result is None:
            summary.rejected += 1
            summary.problems.append(error or f"{display}: rejected")
            entries.append(
                LedgerEntry(
                    path=display,
                    size_bytes=size,
                    sha256=sha,
                    format=fmt,
                    athlete_id=f.athlete_id,
                    status="rejected",
                    error=error,
                    run_id=summary.run_id,
                )
            )
            copies(display, fmt, error or "rejected")
            continue
        for name, df in [*result.tables().items(), ("injuries", result.injuries)]:
            if df.height:
                frames[name].append(_with_source_file(df, display))
        rows = result.rows()
        summary.ingested += 1
        summary.by_format[result.format] = summary.by_format.get(result.format, 0) + 1
        summary.skipped_rows += result.skipped_rows
        summary.athletes.update(result.athlete_ids)
        for k, v in rows.items():
            summary.rows[k] += v
        athletes = ",".join(result.athlete_ids) or f.athlete_id
        entries.append(
            LedgerEntry(
                path=display,
                size_bytes=size,
                sha256=sha,
                format=result.format,
                athlete_id=athletes,
                status="ingested",
                rows_sessions=rows["sessions"],
                rows_sleep=rows["sleep"],
                rows_wellness=rows["wellness"],
                skipped_rows=result.skipped_rows,
                warnings=tuple(result.warnings),
                run_id=summary.run_id,
            )
        )
        copies(display, result.format, None)
    added: dict[str, int] = {}
    stored_wellness = None
    if frames["wellness"]:
        kept, notes, stored_wellness = _red_flags_kept(store, pl.concat(frames["wellness"], how="diagonal_relaxed"))
        frames["wellness"] = [kept]
        for e in entries:
            if e.path in notes and e.status == "ingested":
                e.warnings = tuple(e.warnings) + tuple(notes[e.path])
                summary.notes.append(f"{e.path}: " + "; ".join(notes[e.path]))
    if not summary.touched and any(frames[t] for t in _MERGE_WINDOW_US):
        store.set_state(_MERGES_DIRTY, summary.run_id)  # cleared by record_merges once it has run
    for table, dfs in frames.items():
        if dfs:
            batch_df = pl.concat(dfs, how="diagonal_relaxed")
            written = None
            if table in _MERGE_WINDOW_US:
                summary.touched.setdefault(table, []).append(batch_df.select("athlete_id", "start_utc"))
                written = _note_recordings(summary.recordings.setdefault(table, {}), table)
            stored = stored_wellness if table == "wellness" else None
            for src, n in store.upsert(table, batch_df, stored=stored, written=written).items():
                added[src] = added.get(src, 0) + n
    for e in entries:
        e.rows_added = added.get(e.path, 0)
        summary.rows_added += e.rows_added
    store.ledger_add(entries)
