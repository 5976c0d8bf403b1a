"""record_merges: the incremental call (rows around this run's upserts) equals the full one."""

from __future__ import annotations

import random
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.merge import merge_duplicate_nights, merge_duplicate_sessions
from features.schemas import SESSIONS, SLEEP, conform
from pipelines.ingest import IngestSummary, read_merges, record_merges
from pipelines.store import Store
from tests.budget import examples

T0 = datetime(2025, 3, 1, 6, 0, tzinfo=timezone.utc)
SOURCES = ("fit", "strava", "generic_csv", "whoop")
SLEEP_SOURCES = ("oura", "fit", "generic_csv", "apple_health")
COMPARED = [
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
]


def _sessions(rng: random.Random, athletes: list[str], days: range, tag: str) -> pl.DataFrame:
    """Workouts recorded by 1-3 sources each: starts up to 400 s apart (the merge allows 300 s),
    durations up to 40 % apart (the merge allows 25 %), some without a duration."""
    rows = []
    for a in athletes:
        for d in days:
            for k in range(rng.choice([0, 1, 1, 2, 3])):
                base = T0 + timedelta(days=d, minutes=rng.choice([0, 3, 7, 60 * k + 30]))
                dur = rng.choice([1800.0, 3600.0, None])
                for src in rng.sample(SOURCES, rng.choice([1, 2, 2, 3])):
                    start = base + timedelta(seconds=rng.choice([0, 20, 150, 290, 310, 400]))
                    d_s = None if dur is None else dur * rng.choice([1.0, 1.1, 1.2, 1.4])
                    rows.append(
                        {
                            "athlete_id": a,
                            "source": src,
                            "start_utc": start,
                            "duration_s": d_s,
                            "rpe": rng.choice([None, 5.0]),
                            "avg_hr_bpm": rng.choice([None, 140.0]),
                            "source_file": f"{tag}/{a}/{src}.csv",
                        }
                    )
    if not rows:
        return SESSIONS.empty()
    return conform(pl.DataFrame(rows, schema_overrides={"start_utc": pl.Datetime("us", "UTC")}), SESSIONS)


def _nights(rng: random.Random, athletes: list[str], days: range, tag: str) -> pl.DataFrame:
    """Nights from 1-3 sources: starts/ends shifted by up to 3 h, some naps, some overlapping only a bit."""
    rows = []
    for a in athletes:
        for d in days:
            start0 = T0 + timedelta(days=d, hours=16 + rng.choice([0, 1]))  # 22:00-23:00 UTC
            for src in rng.sample(SLEEP_SOURCES, rng.choice([1, 2, 3])):
                s = start0 + timedelta(minutes=rng.choice([0, 15, 90, 180]))
                e = s + timedelta(hours=rng.choice([2, 7, 8]))
                nap = rng.random() < 0.15
                rows.append(
                    {
                        "athlete_id": a,
                        "source": src,
                        "start_utc": s,
                        "end_utc": e,
                        "wake_date": e.date() if rng.random() < 0.9 else e.date() + timedelta(days=1),
                        "asleep_s": (e - s).total_seconds() * 0.9,
                        "is_nap": nap,
                        "source_file": f"{tag}/{a}/{src}-sleep.csv",
                    }
                )
    if not rows:
        return SLEEP.empty()
    df = pl.DataFrame(
        rows,
        schema_overrides={
            "start_utc": pl.Datetime("us", "UTC"),
            "end_utc": pl.Datetime("us", "UTC"),
            "wake_date": pl.Date,
        },
    )
    return conform(df, SLEEP)


def _updates(rng: random.Random, stored: pl.DataFrame, tag: str, table: str) -> pl.DataFrame:
    """Some stored rows again at the same key with other values (a re-exported file)."""
    if stored.is_empty():
        return stored
    pick = stored.sample(n=min(stored.height, rng.randint(1, 4)), seed=rng.randint(0, 10**6))
    if table == "sessions":
        return pick.with_columns(
            pl.col("duration_s") * rng.choice([0.5, 1.0, 1.3]), pl.lit(f"{tag}/update.csv").alias("source_file")
        )
    return pick.with_columns(
        pl.col("end_utc") - timedelta(hours=rng.choice([0, 5])),
        pl.lit(not pick["is_nap"][0]).alias("is_nap"),
        pl.lit(f"{tag}/update-sleep.csv").alias("source_file"),
    )


def _full_merges(store: Store) -> list[tuple]:
    out = []
    for table, merge in (("sessions", merge_duplicate_sessions), ("sleep", merge_duplicate_nights)):
        _, log = merge(store.read_table(table))
        for r in log.iter_rows(named=True):
            out.append(
                (
                    table,
                    r["athlete_id"],
                    r["kept_source"],
                    r["kept_start_utc"].isoformat(),
                    r["kept_source_file"],
                    r["dropped_source"],
                    r["dropped_start_utc"].isoformat(),
                    r["dropped_source_file"],
                    r["start_diff_s"],
                    r["duration_ratio"],
                    r["filled"],
                    r["reason"],
                )
            )
    return sorted(out, key=repr)


def _recorded(store: Store) -> list[tuple]:
    return sorted(read_merges(store).select(COMPARED).rows(), key=repr)


def _run(store: Store, frames: dict[str, pl.DataFrame], run: int) -> IngestSummary:
    """What ingest_paths does with a batch: upsert, note the touched rows, record the merges."""
    summary = IngestSummary(run_id=f"run{run}")
    for table, df in frames.items():
        if df.height:
            store.upsert(table, df)
            summary.touched.setdefault(table, []).append(df.select("athlete_id", "start_utc"))
            summary.athletes.update(df["athlete_id"].unique().to_list())
    record_merges(store, summary)
    return summary


@settings(max_examples=examples(20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6))
def test_incremental_merges_equal_full_merges(seed: int) -> None:
    rng = random.Random(seed)
    athletes = ["ana", "ben"]
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "store")
        # history: 20 days; the merges table is new, so this first call merges everything
        _run(
            store,
            {"sessions": _sessions(rng, athletes, range(20), "h"), "sleep": _nights(rng, athletes, range(20), "h")},
            0,
        )
        assert _recorded(store) == _full_merges(store)
        for run in range(1, 4):
            # nightly drops: a new day, a late file for an earlier day, re-exported rows
            day = 20 + run
            new_s = pl.concat(
                [
                    _sessions(rng, athletes[: rng.randint(1, 2)], range(day, day + 1), f"n{run}"),
                    _sessions(rng, athletes[:1], range(rng.randint(0, day), day - 1), f"l{run}").head(
                        rng.randint(0, 3)
                    ),
                    _updates(rng, store.read_table("sessions"), f"u{run}", "sessions"),
                ]
            )
            new_n = pl.concat(
                [
                    _nights(rng, athletes[: rng.randint(1, 2)], range(day, day + 1), f"n{run}"),
                    _updates(rng, store.read_table("sleep"), f"u{run}", "sleep"),
                ]
            )
            before = len(_recorded(store))
            s = _run(store, {"sessions": new_s, "sleep": new_n}, run)
            full = _full_merges(store)
            assert _recorded(store) == full
            assert s.merged_sessions + s.merged_nights >= len(full) - before


def test_incremental_call_touches_only_the_new_rows_merges(tmp_path: Path) -> None:
    """A merge far from the new rows keeps its run id; the new duplicate is recorded and counted."""
    store = Store(tmp_path / "store")
    day0 = pl.DataFrame(
        {
            "athlete_id": ["ana", "ana"],
            "source": ["fit", "strava"],
            "start_utc": [T0, T0 + timedelta(seconds=40)],
            "duration_s": [3000.0, 2990.0],
            "source_file": ["fit.fit", "strava.csv"],
        },
        schema_overrides={"start_utc": pl.Datetime("us", "UTC")},
    )
    _run(store, {"sessions": conform(day0, SESSIONS)}, 0)
    later = day0.with_columns(
        pl.col("start_utc") + timedelta(days=30), pl.Series("source_file", ["fit2.fit", "strava2.csv"])
    )
    s = _run(store, {"sessions": conform(later, SESSIONS)}, 1)
    assert s.merged_sessions == 1  # the new pair only; the old one is not counted again
    m = read_merges(store)
    # both merges are there; the old one was left alone (still run0), the new one is run1
    assert sorted(zip(m["kept_source_file"], m["run_id"], strict=True)) == [("fit.fit", "run0"), ("fit2.fit", "run1")]
    assert _recorded(store) == _full_merges(store)


def test_interrupted_run_makes_the_next_call_merge_everything(tmp_path: Path) -> None:
    """Rows written by a run that stopped before recording merges are merged by the next run."""
    store = Store(tmp_path / "store")
    base = pl.DataFrame(
        {"athlete_id": ["ana"], "source": ["fit"], "start_utc": [T0], "duration_s": [3000.0], "source_file": ["a.fit"]},
        schema_overrides={"start_utc": pl.Datetime("us", "UTC")},
    )
    _run(store, {"sessions": conform(base, SESSIONS)}, 0)
    # run 1 writes a Strava copy and stops before record_merges
    copy = base.with_columns(pl.lit("strava").alias("source"), pl.lit("s.csv").alias("source_file"))
    store.set_state("merges_dirty", "run1")
    store.upsert("sessions", conform(copy, SESSIONS))
    # run 2 brings an unrelated session of another athlete ten days later
    other = base.with_columns(pl.lit("ben").alias("athlete_id"), pl.col("start_utc") + timedelta(days=10))
    s = _run(store, {"sessions": conform(other, SESSIONS)}, 2)
    assert s.merged_sessions == 1 and _recorded(store) == _full_merges(store) != []
    assert not store.get_state("merges_dirty")
    assert date(2025, 3, 1) == read_merges(store)["kept_start_utc"].str.to_datetime().dt.date()[0]
