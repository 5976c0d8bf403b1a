"""The stored tables of a generated team, before and after the issue-19 speed work, are equal.

A fixed scenario (generic CSV exports of six athletes over half a year, a
Strava copy of two athletes' workouts so that the cross-source merge has work,
red flags reported, then left empty or cleared by later files, a second night
of drops ingested into the existing store, the features computed whole, by the
tail path and incrementally by the whole-history path) is run through ``ingest_paths``, ``record_merges`` and
``run_features``. Every stored table (``sessions``, ``sleep``, ``wellness``,
``daily``, ``features``), the ``merges`` table and the ledger are reduced to
a SHA-256 of their sorted JSON lines (paths relative to the scenario folder,
run ids and clocks left out) and compared with ``tests/golden/store_tables.json``,
which was written by the code *before* the changes (ingest without the
single-recording shortcut of the merges, one plausibility check per
partition, ...). ``STRAINWATCH_UPDATE_GOLDEN=1`` rewrites it: only do that
for a change that is meant to change stored results, and say so.

Besides the golden digests, the features stage's stored DAILY and FEATURES
are compared with the pure functions applied directly to the stored canonical
tables (no store machinery in between), so the stage's I/O cannot change
them whatever the formulas are.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest

from features.compute import compute_features
from features.daily import build_daily
from features.schemas import TABLES
from pipelines.ingest import ingest_paths, read_merges
from pipelines.stage_features import _daily_inputs, prepare_inputs, run_features
from pipelines.store import Store
from tests.pipelines.teamgen import athlete_ids, write_day, write_history

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "store_tables.json"
UPDATE = os.environ.get("STRAINWATCH_UPDATE_GOLDEN") == "1"
FIRST, LAST = date(2025, 1, 1), date(2025, 6, 30)
TABLE_NAMES = ("sessions", "sleep", "wellness", "daily", "features")


def _strava(path: Path, sessions_csv: Path, shift_s: int) -> None:
    """A Strava ``activities.csv`` holding every other workout of a generic CSV, ``shift_s`` later."""
    lines = sessions_csv.read_text().splitlines()[1:]
    out = ["Activity ID,Activity Date,Activity Type,Elapsed Time,Moving Time,Average Heart Rate"]
    for k, line in enumerate(lines[::2]):
        _a, start, dur, _sport, hr, _rpe, _km = line.split(",")
        t = datetime.fromisoformat(start).astimezone(timezone.utc) + timedelta(seconds=shift_s)
        minutes = int(dur)
        out.append(f'{1000 + k},"{t.strftime("%b %d, %Y, %I:%M:%S %p")}",Run,{minutes * 60 + 30},{minutes * 60},{hr}')
    path.write_text("\n".join(out) + "\n")


def _flags(path: Path, athlete: str, days: list[date], value: str) -> None:
    rows = [f"{athlete},{d.isoformat()},50,60.0,2,{value}" for d in days]
    path.write_text("athlete_id,date,resting_hr,hrv_rmssd_ms,back_pain_0_10,red_flag\n" + "\n".join(rows) + "\n")


def _digest(df: pl.DataFrame, root: Path) -> str:
    flat = [c for c, t in df.schema.items() if not t.is_nested()]
    df = df.sort(flat, nulls_last=True, maintain_order=True)
    text = df.write_ndjson().replace(str(root), "<root>")
    return hashlib.sha256(text.encode()).hexdigest()


def _snapshot(store: Store, root: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for t in TABLE_NAMES:
        for a in store.athletes(t):  # every partition file is stored sorted by the table's key
            part = store.read_partition(t, a)
            assert part.equals(part.sort(list(TABLES[t].key), maintain_order=True)), (t, a)
        df = store.read_table(t)
        out[t] = {"rows": df.height, "sha256": _digest(df, root)}
    m = read_merges(store).drop("run_id", "recorded_at")
    out["merges"] = {"rows": m.height, "sha256": _digest(m, root)}
    led = store.ledger().drop("ingested_at", "run_id")
    out["ledger"] = {"rows": led.height, "sha256": _digest(led, root)}
    return out


def _reference_features(store: Store, as_of: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """DAILY and FEATURES from the pure functions on the stored canonical tables, read partition by partition."""
    ids = store.all_athletes()
    frames = {}
    for t in ("sessions", "sleep", "wellness"):
        parts = [p for a in ids if (p := store.read_partition(t, a)) is not None]
        frames[t] = pl.concat(parts, how="diagonal_relaxed")
    sessions = frames["sessions"].filter(pl.col("local_date").is_null() | (pl.col("local_date") <= as_of))
    sleep = frames["sleep"].filter(pl.col("wake_date") <= as_of)
    wellness = frames["wellness"].filter(pl.col("date") <= as_of)
    sessions, sleep, _ = prepare_inputs(sessions, sleep, wellness, as_of=as_of)
    daily = build_daily(*_daily_inputs(sessions, sleep, wellness), as_of=as_of, athletes=ids)
    return daily, compute_features(daily, as_of=as_of)


def _same(stored: pl.DataFrame, ref: pl.DataFrame, table: str) -> None:
    from features.schemas import conform

    key = list(TABLES[table].key)
    a = conform(stored, TABLES[table]).sort(key)
    b = conform(ref, TABLES[table]).sort(key)
    assert a.columns == b.columns
    assert a.height == b.height, (table, a.height, b.height)
    assert a.equals(b), table


def test_stored_tables_equal_before_and_after(tmp_path, monkeypatch):
    # two chunks of the whole-history path (6 athletes, 4 per chunk): the golden digests were
    # written by the code that took every athlete at once
    monkeypatch.setattr("pipelines.stage_features.WHOLE_CHUNK_ATHLETES", 4)
    root = tmp_path
    inputs = root / "inputs"
    ids = athlete_ids(6)
    write_history(inputs, ids, FIRST, LAST)
    _strava(inputs / ids[0] / "activities.csv", inputs / ids[0] / "history-sessions.csv", 45)
    _strava(inputs / ids[1] / "activities.csv", inputs / ids[1] / "history-sessions.csv", 200)
    _flags(inputs / ids[2] / "z-flags-1.csv", ids[2], [date(2025, 3, 3), date(2025, 3, 4)], "true")
    store = Store(root / "store")

    s1 = ingest_paths(store, [inputs], workers=1, batch_files=5)
    assert s1.ok and s1.merged_sessions > 0, s1.problems
    run_features(store, as_of=LAST)
    got = {"run 1": _snapshot(store, root)}
    daily, feats = _reference_features(store, LAST)
    _same(store.read_table("daily"), daily, "daily")
    _same(store.read_table("features"), feats, "features")

    # a second night: new day files only (the tail path's contract: nothing before `since` changed)
    for k in range(3):
        write_day(inputs, ids, LAST + timedelta(days=1 + k))
    end = LAST + timedelta(days=3)
    s2 = ingest_paths(store, [inputs], workers=1, batch_files=7)
    assert s2.ok and s2.ingested > 0, s2.problems
    fs = run_features(store, as_of=end, since=LAST + timedelta(days=1))
    assert fs.tail, "the second night takes the tail path"
    got["run 2"] = _snapshot(store, root)
    daily, feats = _reference_features(store, end)
    _same(store.read_table("daily"), daily, "daily")
    _same(store.read_table("features"), feats, "features")

    # a third run: an empty red flag over a stored true one, an explicit false; the whole-history
    # path finds the first changed day itself
    _flags(inputs / ids[2] / "z-flags-2.csv", ids[2], [date(2025, 3, 3)], "")
    _flags(inputs / ids[2] / "z-flags-3.csv", ids[2], [date(2025, 3, 4)], "false")
    s3 = ingest_paths(store, [inputs], workers=1)
    assert s3.ok and s3.ingested == 2 and any("CLEARED" in n for n in s3.notes), s3.notes
    fs = run_features(store, as_of=end)
    assert fs.incremental and not fs.full, fs
    got["run 3"] = _snapshot(store, root)
    daily, feats = _reference_features(store, end)
    _same(store.read_table("daily"), daily, "daily")
    _same(store.read_table("features"), feats, "features")

    if UPDATE:
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    if not GOLDEN.exists():
        pytest.fail(f"{GOLDEN} is missing; create it with STRAINWATCH_UPDATE_GOLDEN=1")
    want = json.loads(GOLDEN.read_text())
    assert got == want
