"""Cross-source merge of duplicate sessions and nights (features/merge.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features.merge import (
    DEFAULT_SESSION_PRIORITY,
    MERGE_LOG_SCHEMA,
    merge_duplicate_nights,
    merge_duplicate_sessions,
    source_rank,
)
from features.schemas import SESSIONS, SLEEP, SchemaError, conform, require

T0 = datetime(2024, 5, 1, 6, 0, 0, tzinfo=timezone.utc)


def sess(**rows) -> pl.DataFrame:
    return conform(pl.DataFrame(rows), SESSIONS)


def three_source_run() -> pl.DataFrame:
    # one 50-minute run recorded by the watch (FIT), synced to Strava and Apple Health
    return sess(
        athlete_id=["alice"] * 3,
        source=["apple_health", "strava", "fit"],
        start_utc=[T0 + timedelta(seconds=95), T0 + timedelta(seconds=12), T0],
        local_date=[date(2024, 5, 1)] * 3,
        sport=["running"] * 3,
        duration_s=[3010.0, 2950.0, 3000.0],
        distance_m=[10010.0, 9990.0, None],
        avg_hr_bpm=[None, 151.0, 150.0],
        max_hr_bpm=[None, 171.0, 172.0],
        rpe=[None, 7.0, None],
        device_load=[None, 88.0, 75.0],
        device_load_kind=[None, "relative_effort", "tss"],
        source_file=["export.xml", "activities.csv", "run.fit"],
    )


def test_same_workout_from_three_sources_keeps_fit():
    kept, log = merge_duplicate_sessions(three_source_run())
    assert kept.height == 1
    row = kept.row(0, named=True)
    assert row["source"] == "fit"  # priority: fit (0) > strava (7) > apple_health (10)
    assert row["start_utc"] == T0
    assert row["duration_s"] == 3000.0  # the FIT value, not an average
    assert row["avg_hr_bpm"] == 150.0
    assert row["rpe"] == 7.0  # filled from Strava (athlete-entered)
    assert row["distance_m"] == 9990.0  # filled from Strava (higher priority than Apple's 10010)
    # device load family stays the FIT one: TSS 75 is not replaced by Strava's relative effort
    assert (row["device_load"], row["device_load_kind"]) == (75.0, "tss")
    assert log.schema == MERGE_LOG_SCHEMA
    assert log.height == 2
    assert set(log["dropped_source"]) == {"strava", "apple_health"}
    assert set(log["kept_source_file"]) == {"run.fit"}
    strava = log.filter(pl.col("dropped_source") == "strava").row(0, named=True)
    assert strava["dropped_source_file"] == "activities.csv"
    assert strava["start_diff_s"] == 12.0
    assert strava["duration_ratio"] == pytest.approx(3000 / 2950)  # 1.01695
    assert strava["filled"] == "rpe;distance_m"
    apple = log.filter(pl.col("dropped_source") == "apple_health").row(0, named=True)
    assert apple["start_diff_s"] == 95.0
    assert apple["filled"] is None
    assert "kept fit (priority 0) over apple_health" in apple["reason"]


def test_input_order_does_not_change_result():
    df = three_source_run()
    k1, l1 = merge_duplicate_sessions(df)
    k2, l2 = merge_duplicate_sessions(df.reverse())
    assert k1.equals(k2)
    assert l1.equals(l2)


def test_custom_priority_changes_kept_row():
    kept, log = merge_duplicate_sessions(three_source_run(), priority=("strava", "fit"))
    assert kept["source"].to_list() == ["strava"]
    # apple_health is not listed: ranks after both
    assert sorted(log["dropped_source"]) == ["apple_health", "fit"]
    row = kept.row(0, named=True)
    assert (row["device_load"], row["device_load_kind"]) == (88.0, "relative_effort")


def test_family_fields_fill_as_a_pair_only_when_empty():
    df = sess(
        athlete_id=["a", "a"],
        source=["fit", "whoop"],
        start_utc=[T0, T0 + timedelta(seconds=60)],
        duration_s=[1800.0, 1750.0],
        device_load=[None, 12.4],
        device_load_kind=[None, "whoop_strain"],
        source_file=["x.fit", "workouts.csv"],
    )
    kept, log = merge_duplicate_sessions(df)
    row = kept.row(0, named=True)
    assert (row["source"], row["device_load"], row["device_load_kind"]) == ("fit", 12.4, "whoop_strain")
    assert log["filled"].to_list() == ["device_load;device_load_kind"]


def test_two_separate_sessions_20_min_apart_both_kept():
    # a 15-min warm-up and the race 20 min later, both from the watch and from Strava
    df = sess(
        athlete_id=["a"] * 4,
        source=["fit", "fit", "strava", "strava"],
        start_utc=[T0, T0 + timedelta(minutes=20), T0 + timedelta(seconds=5), T0 + timedelta(minutes=20, seconds=4)],
        duration_s=[900.0, 1500.0, 905.0, 1490.0],
        source_file=["w.fit", "r.fit", "s.csv", "s.csv"],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept["source"].to_list() == ["fit", "fit"]
    assert kept["start_utc"].to_list() == [T0, T0 + timedelta(minutes=20)]
    assert log.height == 2
    assert log["kept_source_file"].to_list() == ["w.fit", "r.fit"]


def test_two_sessions_of_one_source_are_never_merged():
    df = sess(
        athlete_id=["a", "a"],
        source=["fit", "fit"],
        start_utc=[T0, T0 + timedelta(seconds=30)],
        duration_s=[600.0, 600.0],
        source_file=["1.fit", "2.fit"],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept.height == 2 and log.height == 0


def test_athletes_are_separate():
    # alice and bob run together: same start, same duration, different athletes
    df = sess(
        athlete_id=["alice", "bob", "bob"],
        source=["fit", "strava", "fit"],
        start_utc=[T0, T0 + timedelta(seconds=3), T0 + timedelta(seconds=1)],
        duration_s=[3600.0, 3600.0, 3590.0],
        source_file=["a.fit", "b.csv", "b.fit"],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept.select("athlete_id", "source").rows() == [("alice", "fit"), ("bob", "fit")]
    assert log.select("athlete_id", "kept_source", "dropped_source").rows() == [("bob", "fit", "strava")]


def test_start_window_and_duration_ratio_limits():
    # 301 s apart: outside the default 300 s window
    df = sess(
        athlete_id=["a", "a"],
        source=["fit", "strava"],
        start_utc=[T0, T0 + timedelta(seconds=301)],
        duration_s=[3600.0, 3600.0],
    )
    assert merge_duplicate_sessions(df)[0].height == 2
    assert merge_duplicate_sessions(df, max_start_diff_s=301)[0].height == 1
    # same start, 60 min vs 45 min: ratio 1.333 > 1.25 -> different workouts
    df = sess(athlete_id=["a", "a"], source=["fit", "strava"], start_utc=[T0, T0], duration_s=[3600.0, 2700.0])
    assert merge_duplicate_sessions(df)[0].height == 2
    assert merge_duplicate_sessions(df, max_duration_ratio=1.34)[0].height == 1
    # ratio exactly at the limit (3750/3000 = 1.25) merges
    df = sess(athlete_id=["a", "a"], source=["fit", "strava"], start_utc=[T0, T0], duration_s=[3000.0, 3750.0])
    assert merge_duplicate_sessions(df)[0].height == 1


def test_missing_duration_matches_on_start_only():
    df = sess(
        athlete_id=["a", "a"],
        source=["fit", "whoop"],
        start_utc=[T0, T0 + timedelta(seconds=100)],
        duration_s=[3000.0, None],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept.height == 1
    assert log["duration_ratio"].to_list() == [None]
    assert "duration unknown" in log["reason"][0]


def test_anchor_takes_closest_candidate_per_source():
    # two Strava rows near one FIT row: the closer one is the duplicate, the other stays
    df = sess(
        athlete_id=["a"] * 3,
        source=["fit", "strava", "strava"],
        start_utc=[T0, T0 - timedelta(seconds=200), T0 + timedelta(seconds=30)],
        duration_s=[1200.0, 1200.0, 1200.0],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept.select("source", "start_utc").rows() == [("strava", T0 - timedelta(seconds=200)), ("fit", T0)]
    assert log["dropped_start_utc"].to_list() == [T0 + timedelta(seconds=30)]


def test_empty_and_schema_and_parameter_errors():
    kept, log = merge_duplicate_sessions(SESSIONS.empty())
    assert kept.is_empty() and log.is_empty() and log.schema == MERGE_LOG_SCHEMA
    require(kept, SESSIONS)
    with pytest.raises(SchemaError, match="duration_s"):
        merge_duplicate_sessions(pl.DataFrame({"athlete_id": ["a"], "duration_s": ["long"]}))
    with pytest.raises(ValueError, match="max_start_diff_s must be finite and >= 0, got -1"):
        merge_duplicate_sessions(SESSIONS.empty(), max_start_diff_s=-1)
    with pytest.raises(ValueError, match="max_duration_ratio"):
        merge_duplicate_sessions(SESSIONS.empty(), max_duration_ratio=0.9)
    with pytest.raises(TypeError, match="priority"):
        merge_duplicate_sessions(SESSIONS.empty(), priority="fit")


def test_source_rank_prefix_and_unknown():
    assert source_rank("fit", DEFAULT_SESSION_PRIORITY) == 0
    assert source_rank("garmin_connect_csv", DEFAULT_SESSION_PRIORITY) == 1
    assert source_rank("garminx", ("garmin",)) == 1  # no underscore: not the garmin family
    assert source_rank(None, ("fit",)) == 1


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["fit", "strava", "whoop", "apple_health"]),
            st.integers(0, 4 * 3600),
            st.integers(60, 7200),
        ),
        min_size=0,
        max_size=25,
    )
)
def test_merge_properties(rows):
    df = sess(
        athlete_id=[r[0] for r in rows],
        source=[r[1] for r in rows],
        start_utc=[T0 + timedelta(seconds=r[2]) for r in rows],
        duration_s=[float(r[3]) for r in rows],
    ).unique(subset=list(SESSIONS.key))
    kept, log = merge_duplicate_sessions(df)
    # every input row is either kept or logged as dropped, exactly once
    assert kept.height + log.height == df.height
    # a dropped row was within the window of its kept row and of another source
    for r in log.iter_rows(named=True):
        assert r["start_diff_s"] <= 300
        assert r["kept_source"] != r["dropped_source"]
        assert r["duration_ratio"] <= 1.25 + 1e-9
    # kept rows are input rows (by key); dropped keys are input keys not kept
    key = list(SESSIONS.key)
    assert kept.select(key).join(df.select(key), on=key, how="anti", nulls_equal=True).height == 0
    dropped = log.select(
        pl.col("athlete_id"),
        pl.col("dropped_source").alias("source"),
        pl.col("dropped_start_utc").alias("start_utc"),
        pl.lit(None, pl.String).alias("device_id"),
    )
    assert dropped.join(kept.select(key), on=key, how="semi", nulls_equal=True).height == 0
    # the kept row of a cluster never ranks below a dropped one
    for r in log.iter_rows(named=True):
        assert source_rank(r["kept_source"], DEFAULT_SESSION_PRIORITY) <= source_rank(
            r["dropped_source"], DEFAULT_SESSION_PRIORITY
        )


# ---------------------------------------------------------------- nights


def night(**rows) -> pl.DataFrame:
    return conform(pl.DataFrame(rows), SLEEP)


def U(d: int, h: int, m: int = 0) -> datetime:
    return datetime(2024, 5, d, h, m, tzinfo=timezone.utc)


def test_same_night_from_three_sources():
    df = night(
        athlete_id=["a"] * 3,
        source=["apple_health", "oura", "whoop"],
        start_utc=[U(1, 22, 15), U(1, 22, 0), U(1, 21, 55)],
        end_utc=[U(2, 6, 0), U(2, 6, 10), U(2, 6, 12)],
        wake_date=[date(2024, 5, 2)] * 3,
        asleep_s=[26000.0, 27000.0, 26500.0],
        is_nap=[False] * 3,
        source_file=["export.xml", "oura.csv", "sleeps.csv"],
    )
    kept, log = merge_duplicate_nights(df)
    assert kept["source"].to_list() == ["oura"]
    assert kept["asleep_s"].to_list() == [27000.0]
    assert sorted(log["dropped_source"]) == ["apple_health", "whoop"]
    assert all("main sleep ending 2024-05-02" in r for r in log["reason"])


def test_nap_and_night_are_kept_apart_and_overlapping_naps_merge():
    df = night(
        athlete_id=["a"] * 4,
        source=["oura", "oura", "whoop", "apple_health"],
        start_utc=[U(1, 22), U(2, 13, 0), U(2, 13, 5), U(2, 16, 0)],
        end_utc=[U(2, 6), U(2, 13, 40), U(2, 13, 45), U(2, 16, 20)],
        wake_date=[date(2024, 5, 2)] * 4,
        is_nap=[False, True, True, True],
    )
    kept, log = merge_duplicate_nights(df)
    # oura nap 13:00-13:40 and whoop nap 13:05-13:45 overlap 35 of 40 min -> one nap;
    # the 16:00 apple nap overlaps nothing -> kept
    assert kept.select("source", "start_utc").rows() == [
        ("oura", U(1, 22)),
        ("oura", U(2, 13)),
        ("apple_health", U(2, 16)),
    ]
    assert log.select("kept_source", "dropped_source").rows() == [("oura", "whoop")]
    assert log["reason"][0].startswith("overlapping sleep")


def test_nights_of_two_athletes_stay_apart():
    df = night(
        athlete_id=["a", "b"],
        source=["oura", "whoop"],
        start_utc=[U(1, 22), U(1, 22)],
        end_utc=[U(2, 6), U(2, 6)],
        wake_date=[date(2024, 5, 2)] * 2,
        is_nap=[False, False],
    )
    kept, log = merge_duplicate_nights(df)
    assert kept.height == 2 and log.height == 0


def test_min_overlap_ratio_validation():
    with pytest.raises(ValueError, match="min_overlap_ratio"):
        merge_duplicate_nights(SLEEP.empty(), min_overlap_ratio=0)
    with pytest.raises(ValueError, match="min_overlap_ratio"):
        merge_duplicate_nights(SLEEP.empty(), min_overlap_ratio=1.5)


def test_priority_covers_the_source_names_the_connectors_write():
    # the `source` values written by the connectors (connectors/*.py)
    # (training logs last: a device's times and heart rate win, the log's RPE is kept by its own priority)
    order = [
        "fit",
        "garmin_activities_csv",
        "garmin_di_activities",
        "strava_activities",
        "fitbit_exercise",
        "apple_health",
        "whoop",
        "generic_csv",
        "pmsys",
    ]
    ranks = [source_rank(s, DEFAULT_SESSION_PRIORITY) for s in order]
    assert ranks == sorted(ranks) and max(ranks) < len(DEFAULT_SESSION_PRIORITY)
    assert ranks[1] == ranks[2]  # both Garmin exports are the garmin family


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["oura", "whoop", "apple_health"]),
            st.integers(0, 72),
            st.integers(20, 600),
            st.booleans(),
        ),
        max_size=20,
    )
)
def test_night_merge_properties(rows):
    # start on a 30-min grid over 3 days, duration 20..600 min
    starts = [datetime(2024, 5, 1, tzinfo=timezone.utc) + timedelta(minutes=30 * r[2]) for r in rows]
    ends = [s + timedelta(minutes=r[3]) for s, r in zip(starts, rows, strict=True)]
    df = night(
        athlete_id=[r[0] for r in rows],
        source=[r[1] for r in rows],
        start_utc=starts,
        end_utc=ends,
        wake_date=[e.date() for e in ends],
        is_nap=[r[4] for r in rows],
    ).unique(subset=list(SLEEP.key))
    kept, log = merge_duplicate_nights(df)
    assert kept.height + log.height == df.height
    assert (log["kept_source"] != log["dropped_source"]).all()
    key = list(SLEEP.key)
    assert kept.select(key).is_unique().all()


def test_equal_rank_sources_keep_the_earlier_start():
    # the Garmin activity CSV and the DI_CONNECT export are both the "garmin" family (rank 1)
    df = sess(
        athlete_id=["a", "a"],
        source=["garmin_di_activities", "garmin_activities_csv"],
        start_utc=[T0 + timedelta(seconds=1), T0],
        duration_s=[1800.0, 1800.0],
    )
    kept, log = merge_duplicate_sessions(df)
    assert kept["source"].to_list() == ["garmin_activities_csv"]
    assert log["dropped_source"].to_list() == ["garmin_di_activities"]
