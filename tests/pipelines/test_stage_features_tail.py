"""The tail path of ``run_features(since=...)``: reads only what the new days need, equals a full run."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.merge import merge_duplicate_nights, merge_duplicate_sessions
from features.params import FeatureParams
from features.schemas import SESSIONS, SLEEP, conform
from pipelines.ingest import ingest_paths
from pipelines.stage_features import _dedupe, run_features
from pipelines.store import Store
from tests.budget import examples

from .teamgen import athlete_ids, write_day, write_history

# after the autumn DST change, before the spring one (teamgen writes an impossible night across it)
FIRST, LAST = date(2024, 10, 28), date(2025, 3, 20)
NEW = LAST + timedelta(days=1)
H = FeatureParams().history_days  # 61


def _no_rpe(files: list[Path]) -> None:
    """Blank the RPE of every session: loads become Banister TRIMP from avg HR (HR references matter)."""
    for p in files:
        if p.name.endswith("sessions.csv"):
            lines = p.read_text().splitlines()
            out = [lines[0]] + [
                ",".join(v if i != 5 else "" for i, v in enumerate(line.split(","))) for line in lines[1:]
            ]
            p.write_text("\n".join(out) + "\n")


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """A store after a full run for LAST, with the files of NEW ingested (not yet computed)."""
    root = tmp_path_factory.mktemp("tail")
    inputs = root / "inputs"
    ids = athlete_ids(4)
    files = write_history(inputs, ids, FIRST, LAST)
    _no_rpe([f for f in files if f.parent.name == ids[3]])  # ath003 has TRIMP loads
    store = Store(root / "store")
    assert ingest_paths(store, [inputs], workers=1).ok
    s = run_features(store, as_of=LAST)
    assert sorted(s.full) == ids
    new = write_day(inputs, ids, NEW)
    _no_rpe([f for f in new if f.parent.name == ids[3]])
    assert ingest_paths(store, new, workers=1).ok
    return root, inputs, store, ids


def _copy(store: Store, dest: Path) -> Store:
    shutil.copytree(store.root, dest)
    return Store(dest)


def _tail_vs_full(store: Store, tmp: Path, *, as_of: date, since: date, **kw):
    """Run the since path on one copy and a full recompute on another: the stored tables must be equal."""
    a, b = _copy(store, tmp / "a"), _copy(store, tmp / "b")
    s = run_features(a, as_of=as_of, since=since, **kw)
    run_features(b, as_of=as_of, full=True, **kw)
    for t in ("daily", "features"):
        assert_frame_equal(a.read_table(t), b.read_table(t), check_exact=True)
    return s, a


@pytest.mark.parametrize("back", [0, 1, 6, 30, H - 1, H, H + 15, 100])
def test_since_values_equal_a_full_recompute(night, tmp_path, back):
    _root, _inputs, store, ids = night
    since = NEW - timedelta(days=back)
    s, _ = _tail_vs_full(store, tmp_path, as_of=NEW, since=since)
    srpe = ids[:3]
    # sRPE athletes: loads do not depend on the HR references, so the tail path is taken
    assert set(srpe) <= set(s.tail)
    assert all(s.incremental[a] == since.isoformat() for a in srpe)
    assert s.days_recomputed >= 3 * (back + 1)
    assert s.rows == sum(((NEW - FIRST).days + 1) for _ in ids)


def test_stored_prefix_is_written_back_unchanged(night, tmp_path):
    _root, _inputs, store, ids = night
    before = store.read_table("features", ids[:1])
    s, a = _tail_vs_full(store, tmp_path, as_of=NEW, since=NEW)
    assert ids[0] in s.tail
    after = a.read_table("features", ids[:1])
    assert_frame_equal(after.filter(pl.col("date") < NEW), before.filter(pl.col("date") < NEW), check_exact=True)
    assert after["date"].max() == NEW


def test_late_file_far_in_the_past_recomputes_from_its_day(night, tmp_path):
    _root, inputs, store, ids = night
    st_ = _copy(store, tmp_path / "late")
    old_day = LAST - timedelta(days=80)  # t0 = old_day - 61 is still after FIRST
    late = tmp_path / "late-inputs"
    p = late / ids[0] / "late-sessions.csv"
    p.parent.mkdir(parents=True)
    p.write_text(
        "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
        f"{ids[0]},{old_day.isoformat()}T07:00:00+01:00,50,strength,120,7,\n"
    )
    assert ingest_paths(st_, [late], workers=1).ok
    s, a = _tail_vs_full(st_, tmp_path, as_of=NEW, since=old_day)
    assert ids[0] in s.tail and s.incremental[ids[0]] == old_day.isoformat()
    d = a.read_table("daily", ids[:1]).filter(pl.col("date") == old_day)
    assert d["n_sessions"].item() >= 1 and d["load_au"].item() >= 7 * 50


@pytest.mark.parametrize("days_back", [20, 100])
def test_a_change_before_since_is_caught(night, tmp_path, days_back):
    """A caller's ``since`` that is too late: a change in t0..since-1 (20 days back) or in the
    session loads before t0 (100 days back) sends the athlete to the whole-history path."""
    _root, inputs, store, ids = night
    st_ = _copy(store, tmp_path / "x")
    day = NEW - timedelta(days=days_back)
    late = tmp_path / "late-inputs"
    p = late / ids[1] / "late-sessions.csv"
    p.parent.mkdir(parents=True)
    p.write_text(
        "athlete_id,start_time,duration_min,sport,avg_hr,rpe,distance_km\n"
        f"{ids[1]},{day.isoformat()}T06:30:00+01:00,40,strength,120,9,\n"
    )
    assert ingest_paths(st_, [late], workers=1).ok
    s, a = _tail_vs_full(st_, tmp_path, as_of=NEW, since=NEW)
    assert ids[1] not in s.tail and ids[0] in s.tail
    assert s.incremental[ids[1]] == day.isoformat()


def test_hr_reference_change_falls_back(night, tmp_path):
    """ath003's TRIMP loads depend on HRmax: a roster override changes every old load."""
    _root, _inputs, store, ids = night
    info = {ids[3]: {"hr_max_bpm": 176.0, "hr_rest_bpm": 48.0}}
    s, _ = _tail_vs_full(store, tmp_path, as_of=NEW, since=NEW, athlete_info=info)
    assert ids[3] not in s.tail and set(ids[:3]) <= set(s.tail)
    assert ids[3] in s.full  # its first day's load changed


def test_changed_params_recompute_in_full(night, tmp_path):
    _root, _inputs, store, ids = night
    a = _copy(store, tmp_path / "a")
    s = run_features(a, as_of=NEW, since=NEW, params={"sleep_need_h": 7.0})
    assert not s.tail and sorted(s.full) == ids


def test_unchanged_rerun_and_as_of_before_since(night, tmp_path):
    _root, _inputs, store, ids = night
    a = _copy(store, tmp_path / "a")
    run_features(a, as_of=NEW, since=NEW)
    f = a.read_table("features")
    s = run_features(a, as_of=NEW, since=NEW)  # the same night again
    assert sorted(s.tail) == ids[:3] or set(ids[:3]) <= set(s.tail)
    assert_frame_equal(a.read_table("features"), f, check_exact=True)
    s = run_features(a, as_of=LAST, since=NEW)  # nothing from since on: whole-history path, truncated
    assert not s.tail
    assert a.read_table("features")["date"].max() == LAST


# ---------------------------------------------------------------- single-source de-duplication shortcut
_T0 = datetime(2025, 3, 3, 6, 0, tzinfo=timezone.utc)


@st.composite
def _tables(draw):
    rows_s, rows_z = [], []
    for a in ("a", "b", "c"):
        sources = draw(st.lists(st.sampled_from(["garmin", "strava", "apple_health", None]), min_size=1, max_size=3))
        for i in range(draw(st.integers(0, 8))):
            src = draw(st.sampled_from(sources))
            start = _T0 + timedelta(minutes=draw(st.integers(0, 3 * 24 * 60)))
            dur = draw(st.one_of(st.none(), st.floats(600, 7200)))
            rows_s.append(
                {
                    "athlete_id": a,
                    "source": src,
                    "source_file": f"{src}-{i}.csv",
                    "start_utc": start,
                    "duration_s": dur,
                    "local_date": start.date(),
                    "rpe": draw(st.one_of(st.none(), st.just(5.0))),
                }
            )
            end = start + timedelta(hours=draw(st.integers(1, 9)))
            rows_z.append(
                {
                    "athlete_id": a,
                    "source": src,
                    "source_file": f"{src}-{i}.csv",
                    "start_utc": start,
                    "end_utc": end,
                    "wake_date": end.date(),
                    "is_nap": draw(st.booleans()),
                }
            )
    s = conform(
        pl.DataFrame(rows_s, schema_overrides={"start_utc": pl.Datetime("us", "UTC")}) if rows_s else SESSIONS.empty(),
        SESSIONS,
    )
    z = conform(
        pl.DataFrame(
            rows_z, schema_overrides={"start_utc": pl.Datetime("us", "UTC"), "end_utc": pl.Datetime("us", "UTC")}
        )
        if rows_z
        else SLEEP.empty(),
        SLEEP,
    )
    return s, z


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables=_tables())
def test_dedupe_shortcut_equals_the_merge(tables):
    s, z = tables
    for df, schema, merge in ((s, SESSIONS, merge_duplicate_sessions), (z, SLEEP, merge_duplicate_nights)):
        got = _dedupe(df, schema, merge)
        want = merge(df)[0]
        key = ["athlete_id", "start_utc", "source", "source_file"]
        assert_frame_equal(got.sort(key, nulls_last=True), want.sort(key, nulls_last=True), check_exact=True)
        assert got.select("athlete_id", "start_utc").equals(want.select("athlete_id", "start_utc"))
