"""Session-load fallback chain: hand-computed expectations (arithmetic in comments)."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest

from features.load import (
    assign_session_loads,
    banister_trimp_avg,
    banister_trimp_hist,
    hr_reference_from_history,
)
from features.schemas import SESSIONS, WELLNESS, conform

T0 = datetime(2025, 3, 1, 7, tzinfo=timezone.utc)


def sessions(rows: list[dict]) -> pl.DataFrame:
    full = []
    for i, r in enumerate(rows):
        base = {
            "athlete_id": "a",
            "source": "test",
            "start_utc": T0 + timedelta(days=i),
            "local_date": (T0 + timedelta(days=i)).date(),
            "sport": "running",
            "duration_s": 3600.0,
            "source_file": "x",
        }
        base.update(r)
        full.append(base)
    cols = SESSIONS.columns
    return conform(pl.DataFrame(full, schema={k: cols[k] for k in full[0].keys() | set().union(*full)}), SESSIONS)


def one(df: pl.DataFrame, i: int = 0) -> dict:
    return df.row(i, named=True)


def test_srpe_is_rpe_times_minutes():
    out = assign_session_loads(sessions([{"rpe": 5.0, "duration_s": 3600.0}]))
    r = one(out)
    # 5 CR10 x 60 min = 300 AU
    assert r["load_au"] == pytest.approx(300.0)
    assert (r["load_method"], r["load_confidence"], r["load_family"], r["load_scale"]) == ("srpe", "high", "srpe", 1.0)


def test_trimp_formulas_by_hand():
    # x = (150-60)/(190-60) = 0.692308; male: 60 min * x * 0.64 * e^(1.92 x) = 100.4403
    assert banister_trimp_avg(3600, 150, 60, 190, "male") == pytest.approx(100.4403, abs=1e-3)
    # female: 60 * 0.692308 * 0.86 * e^(1.67 * 0.692308) = 60*0.692308*0.86*3.17677 = 113.4838
    assert banister_trimp_avg(3600, 150, 60, 190, "f") == pytest.approx(
        60 * 0.692308 * 0.86 * math.exp(1.67 * 0.692308), rel=1e-5
    )
    assert banister_trimp_avg(3600, 50, 60, 190) == 0.0  # below rest: 0, never negative
    # histogram: 30 min at 150 bpm + 30 min at 60 bpm (x = 0 -> 0) = half of the 60-min value
    hist = [0.0] * 256
    hist[150] = 1800.0
    hist[60] = 1800.0
    assert banister_trimp_hist(hist, 60, 190) == pytest.approx(100.4403 / 2, abs=1e-3)
    # interval session: 30 min at 175 + 30 min at 125 (mean 150) counts more than the mean
    iv = [0.0] * 256
    iv[175] = 1800.0
    iv[125] = 1800.0
    assert banister_trimp_hist(iv, 60, 190) > banister_trimp_avg(3600, 150, 60, 190)
    with pytest.raises(ValueError, match="must exceed"):
        banister_trimp_avg(3600, 150, 190, 60)


def test_tss_only_athlete_stays_in_tss():
    df = sessions([{"device_load": 80.0, "device_load_kind": "tss"}, {"device_load": 55.5, "device_load_kind": "tss"}])
    out = assign_session_loads(df)
    assert out["load_au"].to_list() == [80.0, 55.5]
    assert set(out["load_family"]) == {"tss"}
    assert set(out["load_method"]) == {"tss"}


def test_other_family_converted_by_fit_through_origin():
    # 10 sessions with both: tss = 10 i and srpe = rpe 2i/... chosen so srpe = 2 * tss exactly
    rows = []
    for i in range(1, 11):
        tss = 10.0 * i
        # srpe = rpe * 60 min = 2 * tss -> rpe = tss / 30
        rows.append({"device_load": tss, "device_load_kind": "tss", "rpe": tss / 30.0})
    rows += [{"rpe": 4.0}, {"rpe": 5.0}]  # srpe-only: srpe 12 natives vs tss 11 -> primary srpe
    rows.append({"device_load": 50.0, "device_load_kind": "tss"})  # tss only -> 2 * 50 = 100
    out = assign_session_loads(sessions(rows))
    last = one(out, len(rows) - 1)
    assert last["load_au"] == pytest.approx(100.0)
    assert (last["load_method"], last["load_confidence"], last["load_family"]) == ("tss", "medium", "srpe")
    assert last["load_scale"] == pytest.approx(2.0)
    # the paired rows use their native sRPE: row 0 = (10/30) * 60 = 20
    assert one(out, 0)["load_au"] == pytest.approx(20.0)
    assert set(out["load_family"]) == {"srpe"}


def test_too_few_pairs_falls_back_to_default_rpe_minutes():
    rows = [{"device_load": 10.0 * i, "device_load_kind": "tss", "rpe": i / 3.0} for i in range(1, 10)]  # 9 pairs
    rows += [{"rpe": 4.0}, {"rpe": 5.0}]
    rows.append({"device_load": 50.0, "device_load_kind": "tss", "duration_s": 1800.0})
    rows.append({"sport": "strength_training", "duration_s": 2700.0})
    out = assign_session_loads(sessions(rows))
    tss_only = one(out, 11)
    # no fit (9 < 10 pairs): 30 min x default RPE 4 (running) = 120 AU, low confidence
    assert tss_only["load_au"] == pytest.approx(120.0)
    assert (tss_only["load_method"], tss_only["load_confidence"]) == ("duration_default_rpe", "low")
    # strength: 45 min x 6 = 270
    assert one(out, 12)["load_au"] == pytest.approx(270.0)
    # a custom sport default wins
    out2 = assign_session_loads(sessions(rows), sport_default_rpe={"Running": 3})
    assert one(out2, 11)["load_au"] == pytest.approx(90.0)  # 30 min x 3


def test_trimp_stream_primary_with_references_and_defaults():
    hist = [0.0] * 256
    hist[150] = 1800.0  # 30 min at 150 bpm
    df = sessions([{"hr_hist_s": hist, "avg_hr_bpm": 150.0, "duration_s": 1800.0}])
    out = assign_session_loads(df, hr_rest_bpm={"a": 60.0}, hr_max_bpm={"a": 190.0})
    r = one(out)
    # 30 min * 0.692308 * 0.64 e^(1.92*0.692308) = 100.4403 / 2 = 50.2201
    assert r["load_au"] == pytest.approx(50.2201, abs=1e-3)
    assert (r["load_method"], r["load_confidence"], r["load_family"]) == ("trimp_stream", "high", "trimp")
    # without athlete references: same defaults (60/190) but the confidence is lowered
    r2 = one(assign_session_loads(df))
    assert r2["load_au"] == pytest.approx(50.2201, abs=1e-3)
    assert r2["load_confidence"] == "medium"


def test_trimp_avg_female_and_duration_rate_in_trimp_family():
    df = sessions(
        [
            {"avg_hr_bpm": 140.0, "duration_s": 3600.0},
            {"avg_hr_bpm": 140.0, "duration_s": 1800.0},
            {"duration_s": 1200.0, "sport": "cycling"},  # no HR, no RPE
        ]
    )
    out = assign_session_loads(df, hr_rest_bpm={"a": 50.0}, hr_max_bpm={"a": 180.0}, sex={"a": "female"})
    # x = 90/130 = 0.692308; female: 60 * x * 0.86 e^(1.67 x) = 113.48
    full = 60 * (90 / 130) * 0.86 * math.exp(1.67 * 90 / 130)
    assert one(out, 0)["load_au"] == pytest.approx(full)
    assert one(out, 0)["load_method"] == "trimp_avg"
    assert one(out, 1)["load_au"] == pytest.approx(full / 2)
    # family trimp; the no-HR ride uses the athlete's median TRIMP per minute (full/60) x 20 min
    r = one(out, 2)
    assert r["load_family"] == "trimp"
    assert (r["load_method"], r["load_confidence"]) == ("duration_rate", "low")
    assert r["load_au"] == pytest.approx(full / 60 * 20)


def test_prefilled_load_kept_and_pinned_family():
    df = sessions([{"load_au": 420.0, "load_method": "manual", "rpe": 9.0}, {"rpe": 2.0, "duration_s": 1800.0}])
    out = assign_session_loads(df)
    assert one(out, 0)["load_au"] == 420.0 and one(out, 0)["load_method"] == "manual"
    assert one(out, 1)["load_au"] == pytest.approx(60.0)  # 2 x 30
    # pinning tss for an athlete without any TSS: the sRPE rows cannot be converted (no pairs)
    # and there is no rate in the tss family: loads stay null rather than mixing units
    pinned = assign_session_loads(df, primary_family={"a": "tss"})
    assert pinned["load_au"].null_count() == 2
    assert set(pinned["load_family"]) == {"tss"}


def test_missing_duration_and_measures_gives_null_not_zero():
    out = assign_session_loads(sessions([{"duration_s": None}]))
    assert one(out)["load_au"] is None and one(out)["load_method"] is None


def test_athletes_are_independent():
    df = sessions(
        [
            {"athlete_id": "a", "rpe": 5.0},
            {"athlete_id": "b", "device_load": 70.0, "device_load_kind": "tss"},
        ]
    )
    out = assign_session_loads(df)
    assert out["load_family"].to_list() == ["srpe", "tss"]
    assert out["load_au"].to_list() == [300.0, 70.0]


def test_parameter_validation():
    df = sessions([{"rpe": 5.0}])
    with pytest.raises(ValueError, match="primary_family must be one of"):
        assign_session_loads(df, primary_family="watts")
    with pytest.raises(ValueError, match="min_pairs"):
        assign_session_loads(df, min_pairs=0)


def test_hr_reference_from_history():
    df = sessions(
        [
            {"max_hr_bpm": 181.0},
            {"max_hr_bpm": 244.0},  # artefact (> 230): ignored
            {"max_hr_bpm": 176.0},
            {"athlete_id": "b", "max_hr_bpm": None},
        ]
    )
    # sessions of "a" are on 2025-03-01..03; wellness RHR 50, 52, 70 -> median 52
    well = conform(
        pl.DataFrame(
            {
                "athlete_id": ["a", "a", "a", "a"],
                "source": ["t"] * 4,
                "date": [date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3), date(2024, 1, 1)],
                "rhr_bpm": [50.0, 52.0, 70.0, 40.0],  # 2024-01-01 is outside the 180-day window
            }
        ),
        WELLNESS,
    )
    ref = hr_reference_from_history(df, well)
    a = ref.filter(pl.col("athlete_id") == "a").row(0, named=True)
    assert (a["hr_rest_bpm"], a["hr_max_bpm"]) == (52.0, 181.0)
    assert not a["hr_rest_is_default"] and not a["hr_max_is_default"]
    b = ref.filter(pl.col("athlete_id") == "b").row(0, named=True)
    assert (b["hr_rest_bpm"], b["hr_max_bpm"], b["hr_rest_is_default"], b["hr_max_is_default"]) == (
        60.0,
        190.0,
        True,
        True,
    )
    # as_of far later: nothing in the window -> defaults, flagged
    late = hr_reference_from_history(df, well, as_of=date(2026, 1, 1)).row(0, named=True)
    assert late["hr_max_is_default"] and late["hr_rest_is_default"]


def test_stream_trimp_matches_reference_for_every_row():
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    hists = []
    for k in range(12):
        n = 256 if k % 3 else 190  # shorter histograms are padded with zeros
        h = (rng.random(n) * (rng.random(n) > 0.6) * 30).astype(np.float32).tolist()
        hists.append(h)
        rows.append({"athlete_id": "a" if k % 2 else "b", "hr_hist_s": h})
    out = assign_session_loads(
        sessions(rows), hr_rest_bpm={"a": 55.0, "b": 65.0}, hr_max_bpm={"a": 185.0, "b": 200.0}, sex={"b": "female"}
    )
    for k, h in enumerate(hists):
        a = "a" if k % 2 else "b"
        want = banister_trimp_hist(
            h, 55.0 if a == "a" else 65.0, 185.0 if a == "a" else 200.0, None if a == "a" else "female"
        )
        assert one(out, k)["load_au"] == pytest.approx(want, rel=1e-5)
        assert one(out, k)["load_method"] == "trimp_stream"
