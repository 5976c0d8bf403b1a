"""Harness of the "bad input never loses data" suite.

A *baseline* store is built once per test session from real files (the sample
team in ``sample_data/inputs``, vendor fixtures for the formats the sample team
does not use, and files of ``../shared/sample_corpus``). Every fuzz example
then copies that store, writes the mutated input files (plus one valid
*control* file) into a fresh input folder, runs
:func:`pipelines.ingest.ingest_paths` on the folder and checks
:func:`check_outcome`'s invariants:

* ``ingest_paths`` returns (never raises);
* the ledger keeps every old row unchanged and grows by exactly one row per
  input file (per member for a readable ``.zip``);
* a rejected file's error names the file and a line, record or byte offset;
* the control file of the same run is ingested and its rows are stored;
* every previously stored row is still there with identical values, unless
  the row now comes from one of this run's files (the same key re-exported:
  the documented "new row wins" upsert);
* every row stored from a fuzzed file is plausible (finite numbers, heart
  rates, durations, distances and dates in range, sleep that ends after it
  starts).

Mutated files keep the seed's athlete (its folder, or its ``athlete_id``
column), so a mutated file *can* overwrite the seed's rows; that is exactly
what the key/source_file check above tells apart from data loss.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import polars as pl

from features.schemas import TABLES
from pipelines.ingest import IngestSummary, ingest_paths
from pipelines.store import Store

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "inputs"
FIXTURES = REPO / "tests" / "fixtures" / "vendor"

CANONICAL = ("sessions", "sleep", "wellness")

#: How registry/ingest report an exception a connector did not turn into a ConnectorError.
UNFORESEEN = re.compile(r"unexpected [A-Za-z_.]*(Error|Exception|Warning)\b")

#: A located error: the file plus a line, a record or a byte offset.
LOCATION = re.compile(r"\b(line \d+|byte \d+|record \S*\d+)|\.zip\b.*\b(member|for file ')")  # a zip: names the member

# Plausibility of every row stored from a fuzzed file, written out here (not
# imported) so that loosening connectors.base.PLAUSIBLE makes these tests fail.
HR_RANGE = (20.0, 250.0)  # [bpm] avg/max heart rate and resting HR
MAX_SESSION_S = 24 * 3600.0  # [s] moving/timer time of one session (a 40-h session is absurd)
MAX_ELAPSED_S = 7 * 86400.0  # [s] wall-clock span of one session
MAX_SLEEP_S = 24 * 3600.0  # [s] one sleep record
MAX_DISTANCE_M = 1_000_000.0  # [m] 1000 km in one session
YEAR_RANGE = (1970, 2100)  # no wearable data before 1970; year 2200 is a typo


@dataclass(frozen=True)
class Seed:
    """A real input file the fuzzers start from."""

    connector: str  # module in connectors/registry.py CONNECTOR_MODULES
    athlete: str  # folder the mutated file is written to ("": a file of several athletes, in the input folder itself)
    name: str  # file name (extensions matter to some detectors)
    kind: str  # "binary", "csv", "json", "xml"
    source: str  # where it comes from (for messages)

    @property
    def data(self) -> bytes:
        return seed_bytes(self)

    @property
    def rel(self) -> str:
        """Path in an input folder: ``<athlete>/<name>``, or ``<name>`` for a file of several athletes
        (ingest refuses ids that differ from the athlete of the file's folder)."""
        return f"{self.athlete}/{self.name}" if self.athlete else self.name

    def rel_in(self, sub: str) -> str:
        """Path of another copy: ``<athlete>/<sub>/<name>``, or ``<sub>-<name>`` for a team file."""
        return f"{self.athlete}/{sub}/{self.name}" if self.athlete else f"{sub}-{self.name}"


def _zip_member(zpath: Path, suffix: str) -> bytes:
    with zipfile.ZipFile(zpath) as zf:
        name = next(n for n in zf.namelist() if n.endswith(suffix))
        return zf.read(name)


IVO_ZIP = SAMPLE / "ivo" / "garmin_connect_export.zip"


@cache
def seed_bytes(seed: Seed) -> bytes:
    if seed.source.startswith("zip:"):
        return _zip_member(IVO_ZIP, seed.source[4:])
    return Path(seed.source).read_bytes()


def _first(folder: Path, pattern: str) -> str:
    return str(sorted(folder.glob(pattern))[0])


def seeds(corpus: Path | None) -> list[Seed]:
    """One or more real files per connector of ``CONNECTOR_MODULES``."""
    w = SAMPLE / "fay" / "my_whoop_data_2026_11_16"
    fb = FIXTURES / "fitbit" / "Takeout" / "Fitbit"
    out = [
        Seed("fit", "hana", "activity.fit", "binary", _first(SAMPLE / "hana/watch/activities", "*.fit")),
        Seed("fit", "ana", "monitor.fit", "binary", _first(SAMPLE / "ana/garmin/monitor", "*.fit")),
        Seed("fit", "ana", "SLEEP_DATA.fit", "binary", _first(SAMPLE / "ana/garmin/sleep", "*.fit")),
        Seed("fit", "ana", "HRV_STATUS.fit", "binary", _first(SAMPLE / "ana/garmin/hrv", "*.fit")),
        Seed("whoop", "fay", "physiological_cycles.csv", "csv", str(w / "physiological_cycles.csv")),
        Seed("whoop", "fay", "sleeps.csv", "csv", str(w / "sleeps.csv")),
        Seed("whoop", "fay", "workouts.csv", "csv", str(w / "workouts.csv")),
        Seed("apple_health", "jo", "export.xml", "xml", str(SAMPLE / "jo/apple_health_export/export.xml")),
        Seed("apple_health", "apple_user", "export.xml", "xml", str(FIXTURES / "apple_health/export.xml")),
        Seed("oura", "eli", "oura_trends.csv", "csv", str(SAMPLE / "eli/oura/oura_2026-05-18_2026-11-15_trends.csv")),
        Seed("garmin_json", "ivo", "summarizedActivities.json", "json", "zip:_summarizedActivities.json"),
        Seed(
            "garmin_json",
            "ivo",
            "2026-08-26_2026-12-04_123456_sleepData.json",
            "json",
            "zip:2026-08-26_2026-12-04_123456_sleepData.json",
        ),
        Seed(
            "garmin_json", "ivo", "UDSFile_2026-05-18_2026-11-15.json", "json", "zip:UDSFile_2026-05-18_2026-11-15.json"
        ),
        Seed(
            "fitbit",
            "fitbit_user",
            "sleep-2019-11-01.json",
            "json",
            str(fb / "Global Export Data" / "sleep-2019-11-01.json"),
        ),
        Seed(
            "fitbit",
            "fitbit_user",
            "resting_heart_rate-2019-11-01.json",
            "json",
            str(fb / "Global Export Data" / "resting_heart_rate-2019-11-01.json"),
        ),
        Seed("fitbit", "fitbit_user", "exercise-0.json", "json", str(fb / "Global Export Data" / "exercise-0.json")),
        Seed(
            "fitbit",
            "fitbit_user",
            "Daily Heart Rate Variability Summary - 2023-05-01.csv",
            "csv",
            str(fb / "Heart Rate Variability" / "Daily Heart Rate Variability Summary - 2023-05-01.csv"),
        ),
        Seed("strava", "jo", "activities.csv", "csv", str(SAMPLE / "jo/strava_export/activities.csv")),
        Seed("garmin_csv", "garmin_user", "Activities.csv", "csv", str(FIXTURES / "garmin_csv/Activities_en_km.csv")),
        Seed("generic_csv", "ben", "sessions.csv", "csv", str(SAMPLE / "ben/sessions.csv")),
        Seed("generic_csv", "ben", "sleep.csv", "csv", str(SAMPLE / "ben/sleep.csv")),
        Seed("generic_csv", "ben", "daily.csv", "csv", str(SAMPLE / "ben/daily.csv")),
        # written by the check-in app (pipelines/checkin.py), the format of connectors/checkin.py
        Seed("checkin", "ana", "answer.checkin.json", "json", str(FIXTURES / "checkin/answer.checkin.json")),
        Seed("coach", "coach_user", "activities.csv", "csv", str(FIXTURES / "intervals_icu/activities.csv")),
        Seed("coach", "coach_user", "metrics.csv", "csv", str(FIXTURES / "trainingpeaks/metrics.csv")),
        Seed("pmsys", "pm01", "srpe.csv", "csv", str(FIXTURES / "pmsys/p01/pmsys/srpe.csv")),
        Seed("pmsys", "pm01", "wellness.csv", "csv", str(FIXTURES / "pmsys/p01/pmsys/wellness.csv")),
        Seed("pmsys", "pm01", "injury.csv", "csv", str(FIXTURES / "pmsys/p01/pmsys/injury.csv")),
        Seed("pmsys", "", "soreness.csv", "csv", str(FIXTURES / "pmsys/team/wellness/soreness.csv")),
        Seed("pmsys", "", "session.json", "json", str(FIXTURES / "pmsys/team/training-load/session.json")),
    ]
    if corpus is not None:
        out += [
            Seed(
                "fit",
                "corpus",
                "fenix-5-run.fit",
                "binary",
                str(corpus / "fit/activity/fitparse__garmin-fenix-5-run.fit"),
            ),
            Seed(
                "fit",
                "corpus",
                "multisport.fit",
                "binary",
                str(corpus / "fit/activity/muktihari__activity_multisport.fit"),
            ),
            Seed(
                "fit",
                "corpus",
                "SleepOvernight.fit",
                "binary",
                str(corpus / "fit/sleep/kaiord__HealthSleepOvernight.fit"),
            ),
            Seed(
                "fit",
                "corpus",
                "MonitoringFile.fit",
                "binary",
                str(corpus / "fit/monitoring/fitparse__MonitoringFile.fit"),
            ),
            Seed("fit", "corpus", "HrvOvernight.fit", "binary", str(corpus / "fit/hrv/kaiord__HealthHrvOvernight.fit")),
            Seed(
                "apple_health",
                "corpus",
                "export.xml",
                "xml",
                str(corpus / "xml/apple_health/healthkit-to-sqlite__export.xml"),
            ),
        ]
    return out


def build_baseline(root: Path, corpus: Path | None) -> Path:
    """Ingest the real seed files (and a few more) into ``root/store``; return the store path.

    Every seed is ingested from its own path, so a mutated copy of it is a new
    file (new path, new hash) for the ledger.
    """
    inp = root / "inputs"
    for i, s in enumerate(seeds(corpus)):
        f = inp / s.rel_in(f"seed{i:02d}")
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(s.data)
    # more of the sample team: the zipped Garmin export and the rest of jo's and hana's files
    (inp / "ivo").mkdir(parents=True, exist_ok=True)
    shutil.copy(IVO_ZIP, inp / "ivo" / "garmin_connect_export.zip")
    for f in sorted((SAMPLE / "hana/watch/activities").glob("*.fit"))[1:4]:
        shutil.copy(f, inp / "hana" / f.name)
    store = root / "store"
    summary = ingest_paths(Store(store), [inp], workers=1)
    assert summary.rejected == 0, summary.problems
    return store


@dataclass
class Snapshot:
    tables: dict[str, pl.DataFrame]
    ledger: pl.DataFrame


def snapshot(store: Store) -> Snapshot:
    return Snapshot({t: store.read_table(t) for t in CANONICAL}, store.ledger())


@dataclass
class Outcome:
    summary: IngestSummary
    store: Store
    before: Snapshot
    after: Snapshot
    displays: dict[str, str]  # relative input name -> ledger path
    ledger_new: pl.DataFrame = field(default_factory=pl.DataFrame)

    def status(self, rel: str) -> str:
        return self.ledger_new.filter(pl.col("path") == self.displays[rel])["status"].item()

    def error(self, rel: str) -> str | None:
        return self.ledger_new.filter(pl.col("path") == self.displays[rel])["error"].item()

    def rows_from(self, rel: str, table: str) -> pl.DataFrame:
        return self.after.tables[table].filter(pl.col("source_file") == self.displays[rel])


CONTROL_NAME = "ctl/daily.csv"
CONTROL = b"athlete_id,date,resting_hr,hrv_rmssd_ms\nctl,2026-01-05,50,70\nctl,2026-01-06,51,68.5\n"


def run_ingest(base_store: Path, files: dict[str, bytes], *, workdir: Path, on_bad_row: str = "raise") -> Outcome:
    """Copy the baseline store, ingest ``files`` (relative path -> bytes) plus the control file."""
    tmp = Path(tempfile.mkdtemp(prefix="case-", dir=workdir))
    store_dir = tmp / "store"
    shutil.copytree(base_store, store_dir)
    store = Store(store_dir)
    before = snapshot(store)
    inp = tmp / "inputs"
    displays = {}
    for rel, data in {**files, CONTROL_NAME: CONTROL}.items():
        p = inp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        displays[rel] = str(p)
    summary = ingest_paths(store, [inp], workers=1, on_bad_row=on_bad_row)  # must not raise
    after = snapshot(store)
    out = Outcome(summary, store, before, after, displays, after.ledger.slice(before.ledger.height))
    return out


def cleanup(outcome: Outcome) -> None:
    shutil.rmtree(outcome.store.root.parent, ignore_errors=True)


def _hashed(df: pl.DataFrame, table: str) -> pl.DataFrame:
    cols = sorted(df.columns)
    key = list(TABLES[table].key)
    return df.select(*key, pl.col("source_file").alias("_src"), df.select(cols).hash_rows(seed=7).alias("_h"))


def check_outcome(out: Outcome, fuzzed: list[str], *, zip_members: int = 0) -> None:
    """Assert every invariant of the module docstring; ``fuzzed``: relative names of fuzzed files.

    ``zip_members``: ledger rows expected for the members of readable ``.zip``
    inputs (``archive.zip!member``) instead of one row for the archive.
    """
    led_old = out.after.ledger.head(out.before.ledger.height)
    assert led_old.equals(out.before.ledger), "old ledger rows changed"
    n_inputs = len(out.displays)
    paths = out.ledger_new["path"].to_list()
    if zip_members:
        archives = {p.split("!", 1)[0] for p in paths if "!" in p}
        n_inputs += zip_members - len(archives)
        assert {p.split("!", 1)[0] for p in paths} == set(out.displays.values())
    else:
        assert sorted(paths) == sorted(out.displays.values())
    assert out.ledger_new.height == n_inputs, (
        f"ledger grew by {out.ledger_new.height} rows for {n_inputs} input files:\n{out.ledger_new}"
    )
    for row in out.ledger_new.iter_rows(named=True):
        assert row["status"] in ("ingested", "rejected", "duplicate"), row
        if row["status"] == "rejected":
            err = row["error"] or ""
            assert row["path"] in err, f"error does not name the file: {err!r}"
            assert LOCATION.search(err), f"error gives no line/record/byte offset: {err!r}"
            assert not UNFORESEEN.search(err), f"unforeseen exception (a connector bug): {err!r}"
    # the control file of the same run is ingested
    assert out.status(CONTROL_NAME) == "ingested", out.error(CONTROL_NAME)
    ctl = out.rows_from(CONTROL_NAME, "wellness")
    assert ctl.height == 2 and ctl["rhr_bpm"].to_list() == [50.0, 51.0]
    # previously stored rows: all keys present, values identical unless re-exported by this run
    run_files = set(out.displays.values())
    for t in CANONICAL:
        old, new = out.before.tables[t], out.after.tables[t]
        common = [c for c in old.columns if c in new.columns]
        assert set(old.columns) <= set(new.columns), f"{t}: columns lost"
        key = list(TABLES[t].key)
        j = _hashed(old.select(common), t).join(
            _hashed(new.select(common), t), on=key, how="left", nulls_equal=True, suffix="_new"
        )
        lost = j.filter(pl.col("_h_new").is_null())
        assert lost.is_empty(), f"{t}: {lost.height} stored rows lost, e.g. {lost.row(0, named=True)}"
        changed = j.filter((pl.col("_h") != pl.col("_h_new")) & ~pl.col("_src_new").is_in(list(run_files)))
        assert changed.is_empty(), f"{t}: {changed.height} stored rows changed by another file"
        same_src = j.filter((pl.col("_h") != pl.col("_h_new")) & (pl.col("_src_new") == pl.col("_src")))
        assert same_src.is_empty()
    for rel in fuzzed:
        for t in CANONICAL:
            check_plausible(out.rows_from(rel, t), t, rel)


def _years_ok(s: pl.Series) -> bool:
    s = s.drop_nulls()
    if s.is_empty():
        return True
    years = s.dt.year()
    return YEAR_RANGE[0] <= years.min() and years.max() <= YEAR_RANGE[1]


def check_plausible(df: pl.DataFrame, table: str, rel: str) -> None:
    """Rows stored from a fuzzed file are within physical/documented limits."""
    if df.is_empty():
        return
    where = f"{table} row from fuzzed {rel}"
    for c, dt in df.schema.items():
        if dt in (pl.Float64, pl.Float32):
            bad = df.filter(pl.col(c).is_nan() | pl.col(c).is_infinite())
            assert bad.is_empty(), f"{where}: non-finite {c}: {bad.row(0, named=True)}"

    def within(col: str, lo: float, hi: float) -> None:
        if col not in df.columns:
            return
        bad = df.filter(pl.col(col).is_not_null() & ((pl.col(col) < lo) | (pl.col(col) > hi)))
        assert bad.is_empty(), f"{where}: {col} outside {lo}..{hi}: {bad[col].to_list()[:5]}"

    for c in df.columns:
        if dict(df.schema)[c] in (pl.Date, pl.Datetime) or isinstance(df.schema[c], pl.Datetime):
            assert _years_ok(df[c]), f"{where}: {c} outside years {YEAR_RANGE}: {df[c].min()}..{df[c].max()}"
    if table == "sessions":
        within("duration_s", 0.0, MAX_SESSION_S)
        within("elapsed_s", 0.0, MAX_ELAPSED_S)
        within("distance_m", 0.0, MAX_DISTANCE_M)
        within("avg_hr_bpm", *HR_RANGE)
        within("max_hr_bpm", *HR_RANGE)
        within("rpe", 0.0, 10.0)
        within("energy_kcal", 0.0, 20_000.0)
        within("load_au", 0.0, 100_000.0)
    elif table == "sleep":
        for c in ("asleep_s", "deep_s", "light_s", "rem_s", "awake_s", "in_bed_s"):
            within(c, 0.0, MAX_SLEEP_S)
        bad = df.filter(pl.col("end_utc") <= pl.col("start_utc"))
        assert bad.is_empty(), f"{where}: sleep ends before it starts: {bad.row(0, named=True)}"
    else:
        within("rhr_bpm", *HR_RANGE)
        within("hrv_rmssd_ms", 0.0, 500.0)
        within("hrv_sdnn_ms", 0.0, 500.0)
        within("back_pain_0_10", 0.0, 10.0)
        within("soreness", 0.0, 10.0)


# ----------------------------------------------------------------------------- mutations
def truncate(data: bytes, frac: float) -> bytes:
    return data[: int(len(data) * frac)]


def flip(data: bytes, flips: list[tuple[float, int]]) -> bytes:
    """XOR the byte at each relative position with a non-zero mask."""
    b = bytearray(data)
    for pos, mask in flips:
        if b:
            i = min(int(pos * len(b)), len(b) - 1)
            b[i] ^= mask
    return bytes(b)


ACCENTED = "Läufe – Zürich ½"  # cp1252 and latin-1 encode these differently from UTF-8 ('–' not in latin-1)


def reencode(data: bytes, kind: str, encoding: str) -> bytes:
    """Re-encode a UTF-8 text export in ``encoding``, with non-ASCII text added where harmless.

    CSV: an extra trailing column of accented notes; XML: a comment after the
    declaration; JSON: unchanged text (UTF-16 still changes every byte).
    """
    text = data.decode("utf-8-sig")
    if kind == "csv":
        lines = text.splitlines()
        sep = ";" if lines and lines[0].count(";") > lines[0].count(",") else ","
        lines = [lines[0] + f"{sep}Notiz"] + [ln + f"{sep}{ACCENTED}" if ln else ln for ln in lines[1:]]
        text = "\n".join(lines) + "\n"
    elif kind == "xml":
        i = text.find("?>") + 2 if text.startswith("<?xml") else 0
        text = text[:i] + f"\n<!-- {ACCENTED} -->" + text[i:]
    return text.encode(encoding, errors="replace")


def read_csv_text(data: bytes) -> tuple[list[list[str]], str]:
    text = data.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    sep = max((",", ";", "\t"), key=first.count)
    return list(csv.reader(io.StringIO(text), delimiter=sep)), sep


def write_csv_text(rows: list[list[str]], sep: str) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def reshape_columns(data: bytes, drop: list[int], extra: list[tuple[str, str]], order: list[int]) -> bytes:
    """Drop the columns at ``drop`` (indices modulo width), add ``extra`` (name, value), reorder by ``order``."""
    rows, sep = read_csv_text(data)
    width = len(rows[0])
    dropped = {i % width for i in drop}
    keep = [i for i in range(width) if i not in dropped] or [0]
    out = []
    for r in rows:
        r = (r + [""] * width)[:width] if r else r
        out.append([r[i] for i in keep] if r else r)
    for name, value in extra:
        out = [r + [name if n == 0 else value] if r else r for n, r in enumerate(out)]
    w = len(out[0])
    perm = sorted(range(w), key=lambda i: (order[i % len(order)] if order else 0, i))
    return write_csv_text([[r[i] for i in perm] if r else r for r in out], sep)


def set_csv_cell(data: bytes, column: str, value: str, row: int) -> bytes | None:
    """Set one data cell of the first column whose header contains ``column`` (case-insensitive)."""
    rows, sep = read_csv_text(data)
    hdr = [h.strip().lower() for h in rows[0]]
    idx = next((i for i, h in enumerate(hdr) if column.lower() in h), None)
    body = [i for i in range(1, len(rows)) if len(rows[i]) == len(hdr)]
    if idx is None or not body:
        return None
    r = body[row % len(body)]
    rows[r][idx] = value
    return write_csv_text(rows, sep)


# ----------------------------------------------------------------------------- absurd values
NAN_INF = ("NaN", "nan", "inf", "-Infinity")
Y1900, Y2200 = "1900-01-01", "2200-01-01"

#: (seed file name, operation, target, values): ``set`` puts each value in one
#: row/record/element, ``swap`` exchanges two fields of one row (sleep or a
#: workout that ends before it starts). CSV targets are exact header names
#: (every column of that name), JSON targets are keys, XML targets are
#: ``element-regex@attribute``.
ABSURD: list[tuple[str, str, str, tuple]] = [
    # generic CSV (strainwatch's own format)
    ("sessions.csv", "set", "duration_min", ("2400", "-5", *NAN_INF)),  # 2400 min = a 40-hour session
    ("sessions.csv", "set", "distance_km", ("-5", "1e9", *NAN_INF)),
    ("sessions.csv", "set", "avg_hr", ("0", "400", "NaN")),
    ("sessions.csv", "set", "rpe", ("11", "-1", "inf")),
    ("sessions.csv", "set", "start_time", (f"{Y1900}T07:00:00+00:00", f"{Y2200}T07:00:00+00:00", "inf")),
    ("sleep.csv", "swap", "sleep_start|sleep_end", ()),
    ("sleep.csv", "set", "total_sleep_min", ("2400", "-1", *NAN_INF)),
    ("sleep.csv", "set", "sleep_end", (f"{Y1900}T06:00:00+00:00", f"{Y2200}T06:00:00+00:00")),
    ("daily.csv", "set", "resting_hr", ("0", "400", "-60", *NAN_INF)),
    ("daily.csv", "set", "hrv_rmssd_ms", ("0", "-3", "9000", *NAN_INF)),
    ("daily.csv", "set", "date", (Y1900, Y2200, "0000-00-00")),
    # WHOOP
    ("physiological_cycles.csv", "set", "Resting heart rate (bpm)", ("0", "400", *NAN_INF)),
    ("physiological_cycles.csv", "set", "Heart rate variability (ms)", ("-5", "0", *NAN_INF)),
    ("physiological_cycles.csv", "set", "Cycle start time", (f"{Y1900} 00:00:00", f"{Y2200} 00:00:00")),
    ("physiological_cycles.csv", "set", "Asleep duration (min)", ("2400", "-1", "NaN")),
    ("physiological_cycles.csv", "swap", "Sleep onset|Wake onset", ()),
    ("sleeps.csv", "swap", "Sleep onset|Wake onset", ()),
    ("sleeps.csv", "set", "Asleep duration (min)", ("2400", "-1", *NAN_INF)),
    ("sleeps.csv", "set", "Wake onset", (f"{Y1900} 06:00:00", f"{Y2200} 06:00:00")),
    ("workouts.csv", "set", "Duration (min)", ("2400", "-5", "NaN")),
    ("workouts.csv", "set", "Workout end time", ("2026-11-16 10:00:00",)),  # ~40 h after a start on 11-14
    ("workouts.csv", "swap", "Workout start time|Workout end time", ()),
    ("workouts.csv", "set", "Max HR (bpm)", ("400", "0", "inf")),
    ("workouts.csv", "set", "Average HR (bpm)", ("0", "NaN")),
    # Oura trends
    ("oura_trends.csv", "set", "Total Sleep Time", ("144000", "-1", *NAN_INF)),
    ("oura_trends.csv", "swap", "Bedtime Start|Bedtime End", ()),
    ("oura_trends.csv", "set", "Average Resting Heart Rate", ("0", "400", *NAN_INF)),
    ("oura_trends.csv", "set", "Average HRV", ("-5", "inf")),
    ("oura_trends.csv", "set", "date", (Y1900, Y2200)),
    # Strava (duplicated column names: every one is set)
    ("activities.csv", "set", "Elapsed Time", ("144000", "-5", "NaN")),
    ("activities.csv", "set", "Moving Time", ("144000", "inf")),
    ("activities.csv", "set", "Distance", ("-5", "NaN", "inf")),
    ("activities.csv", "set", "Activity Date", ("Jan 1, 1900, 3:30:10 PM", "Jan 1, 2200, 3:30:10 PM")),
    ("activities.csv", "set", "Average Heart Rate", ("0", "400", "NaN")),
    ("activities.csv", "set", "Perceived Exertion", ("11", "-1", "NaN")),
    # Garmin Connect activities CSV
    ("Activities.csv", "set", "Time", ("40:00:00", "-00:10:00")),
    ("Activities.csv", "set", "Distance", ("-5", "NaN", "inf")),
    ("Activities.csv", "set", "Avg HR", ("0", "400")),
    ("Activities.csv", "set", "Date", (f"{Y1900} 17:06:03", f"{Y2200} 17:06:03")),
    # Fitbit
    ("Daily Heart Rate Variability Summary - 2023-05-01.csv", "set", "rmssd", ("-5", "0", "9000", *NAN_INF)),
    (
        "Daily Heart Rate Variability Summary - 2023-05-01.csv",
        "set",
        "timestamp",
        (f"{Y1900}T00:00:00", f"{Y2200}T00:00:00"),
    ),
    ("resting_heart_rate-2019-11-01.json", "set", "value", (0, 400, -60, float("nan"), float("inf"), "NaN")),
    ("sleep-2019-11-01.json", "swap", "startTime|endTime", ()),
    ("sleep-2019-11-01.json", "set", "minutesAsleep", (2400, -1, float("nan"))),
    ("sleep-2019-11-01.json", "set", "dateOfSleep", (Y1900, Y2200)),
    ("exercise-0.json", "set", "duration", (144_000_000, -5, float("inf"))),  # [ms]: 40 h
    ("exercise-0.json", "set", "activeDuration", (144_000_000, float("nan"))),
    ("exercise-0.json", "set", "averageHeartRate", (0, 400, float("nan"))),
    ("exercise-0.json", "set", "distance", (-5, float("inf"))),
    ("exercise-0.json", "set", "startTime", ("01/01/2200 07:00:00",)),
    # Garmin Connect DI_CONNECT JSON
    ("summarizedActivities.json", "set", "duration", (144_000_000.0, -5.0, float("nan"), float("inf"))),
    ("summarizedActivities.json", "set", "distance", (-500.0, float("inf"), 1e15)),
    ("summarizedActivities.json", "set", "avgHr", (0.0, 400.0, float("nan"))),
    ("summarizedActivities.json", "set", "startTimeGmt", (-2208988800000, 7258118400000)),  # 1900, 2200
    ("2026-08-26_2026-12-04_123456_sleepData.json", "swap", "sleepStartTimestampGMT|sleepEndTimestampGMT", ()),
    ("2026-08-26_2026-12-04_123456_sleepData.json", "set", "deepSleepSeconds", (144000, -1, float("nan"))),
    (
        "2026-08-26_2026-12-04_123456_sleepData.json",
        "set",
        "sleepEndTimestampGMT",
        (f"{Y1900}T04:00:00.0", f"{Y2200}T04:00:00.0"),
    ),
    ("UDSFile_2026-05-18_2026-11-15.json", "set", "restingHeartRate", (0, 400, -60, float("nan"), "NaN")),
    ("UDSFile_2026-05-18_2026-11-15.json", "set", "calendarDate", (Y1900, Y2200)),
    # Apple Health
    ("export.xml", "set", r"<Workout\b@duration", ("2400", "-5", *NAN_INF)),  # minutes: 40 h
    ("export.xml", "set", r"<Workout\b@totalDistance", ("-5", "NaN", "inf")),
    ("export.xml", "set", r"<Workout\b@startDate", ("1900-01-01 07:30:00 +0100", "2200-01-01 07:30:00 +0100")),
    ("export.xml", "swap", r"<Workout\b@startDate|endDate", ()),
    (
        "export.xml",
        "set",
        r'<Record type="HKQuantityTypeIdentifierRestingHeartRate"@value',
        ("0", "400", "-60", *NAN_INF),
    ),
    (
        "export.xml",
        "set",
        r'<Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN"@value',
        ("-5", "9000", "NaN"),
    ),
    ("export.xml", "swap", r'<Record type="HKCategoryTypeIdentifierSleepAnalysis"@startDate|endDate', ()),
    (
        "export.xml",
        "set",
        r'<Record type="HKCategoryTypeIdentifierSleepAnalysis"@endDate',
        ("1900-01-01 06:00:00 +0000", "2200-01-01 06:00:00 +0000"),
    ),
]


def _csv_absurd(data: bytes, op: str, target: str, value, row: int) -> bytes | None:
    rows, sep = read_csv_text(data)
    hdr = [h.strip().lower() for h in rows[0]]
    names = target.lower().split("|")
    idx = [[i for i, h in enumerate(hdr) if h == n] for n in names]
    body = [i for i in range(1, len(rows)) if len(rows[i]) == len(hdr)]
    if not all(idx) or not body:
        return None
    r = rows[body[row % len(body)]]
    if op == "set":
        for i in idx[0]:
            r[i] = str(value)
    else:
        a, b = idx[0][0], idx[1][0]
        r[a], r[b] = r[b], r[a]
    return write_csv_text(rows, sep)


def _dicts_with(obj, key: str, out: list) -> list:
    if isinstance(obj, dict):
        if key in obj:
            out.append(obj)
        for v in obj.values():
            _dicts_with(v, key, out)
    elif isinstance(obj, list):
        for v in obj:
            _dicts_with(v, key, out)
    return out


def _json_absurd(data: bytes, op: str, target: str, value, row: int) -> bytes | None:
    import json

    doc = json.loads(data.decode("utf-8-sig"))
    names = target.split("|")
    hits = [d for d in _dicts_with(doc, names[0], []) if all(n in d for n in names)]
    if not hits:
        return None
    d = hits[row % len(hits)]
    if op == "set":
        d[names[0]] = value
    else:
        d[names[0]], d[names[1]] = d[names[1]], d[names[0]]
    return json.dumps(doc, indent=1).encode()  # NaN/Infinity written as Python's json does


def _xml_absurd(data: bytes, op: str, target: str, value, row: int) -> bytes | None:
    text = data.decode("utf-8")
    elem, attrs = target.split("@")
    names = attrs.split("|")
    starts = [m.start() for m in re.finditer(elem, text)]
    if not starts:
        return None
    at = starts[row % len(starts)]
    end = text.index(">", at)
    tag = text[at:end]
    vals = {}
    for n in names:
        m = re.search(rf'\s{n}="([^"]*)"', tag)
        if m is None:
            return None
        vals[n] = m
    if op == "set":
        m = vals[names[0]]
        tag = tag[: m.start(1)] + str(value) + tag[m.end(1) :]
    else:
        a, b = vals[names[0]], vals[names[1]]
        va, vb = a.group(1), b.group(1)
        tag = re.sub(rf'(\s{names[0]}=")[^"]*"', lambda _m: f'{_m.group(1)}{vb}"', tag, count=1)
        tag = re.sub(rf'(\s{names[1]}=")[^"]*"', lambda _m: f'{_m.group(1)}{va}"', tag, count=1)
    return (text[:at] + tag + text[end:]).encode("utf-8")


def absurd(seed: Seed, op: str, target: str, value, row: int) -> bytes | None:
    """``seed`` with one absurd value (or swapped pair); None when the seed has no such field."""
    fn = {"csv": _csv_absurd, "json": _json_absurd, "xml": _xml_absurd}[seed.kind]
    return fn(seed.data, op, target, value, row)
