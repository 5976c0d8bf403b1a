"""Hand-computed expectations for every FEATURES column (arithmetic in the comments)."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from features.compute import complete_calendar, compute_features
from features.params import FeatureParams
from features.schemas import DAILY, FEATURES, SchemaError, conform

D0 = date(2025, 1, 1)
K42 = 1 - math.exp(-1 / 42)  # daily CTL gain 0.023528
K7 = 1 - math.exp(-1 / 7)  # daily ATL gain 0.133122


def daily(n: int, athlete: str = "a", start: date = D0, **cols) -> pl.DataFrame:
    """A DAILY frame of n days; each keyword is a column given as a list (None = null)."""
    data = {"athlete_id": [athlete] * n, "date": [start + timedelta(days=i) for i in range(n)]}
    data.setdefault("load_au", [0.0] * n)
    for k, v in cols.items():
        assert len(v) == n, k
        data[k] = v
    if "load_au" not in cols:
        data["load_au"] = [0.0] * n
    df = pl.DataFrame(data, schema_overrides={c: DAILY.columns[c] for c in data if c in DAILY.columns})
    return conform(df.with_columns(pl.lit(1, pl.Int32).alias("n_sessions")), DAILY)


def last_day(n: int) -> date:
    return D0 + timedelta(days=n - 1)


def col(f: pl.DataFrame, name: str) -> list:
    return f[name].to_list()


# ------------------------------------------------------------------ load windows
@pytest.fixture(scope="module")
def spike() -> pl.DataFrame:
    # 100 AU every day for days 0-26, 400 AU on day 27, then 100 AU on days 28-34
    loads = [100.0] * 27 + [400.0] + [100.0] * 7
    return compute_features(daily(35, load_au=loads), as_of=last_day(35))


def test_schema_and_calendar(spike):
    assert spike.columns[: len(FEATURES.columns)] == list(FEATURES.columns)
    assert spike.height == 35 and spike["date"].to_list() == [D0 + timedelta(days=i) for i in range(35)]


def test_acute_and_chronic_warm_up(spike):
    acute = col(spike, "acute_7d_au")
    # days 0-5: fewer than 7 days of history -> null; day 6: 7 x 100 = 700
    assert acute[:6] == [None] * 6 and acute[6] == 700.0
    # day 27: 6 x 100 + 400 = 1000
    assert acute[27] == 1000.0
    chronic = col(spike, "chronic_28d_au")
    # null before 28 days; day 27: (27 x 100 + 400) / 4 = 3100 / 4 = 775
    assert chronic[:27] == [None] * 27 and chronic[27] == 775.0
    # day 28: days 1-28 = (26 x 100 + 400 + 100) / 4 = 3100 / 4 = 775
    assert chronic[28] == 775.0


def test_acwr_rolling_and_uncoupled(spike):
    acwr = col(spike, "acwr")
    assert acwr[:27] == [None] * 27  # null before 28 days of history
    assert acwr[27] == pytest.approx(1000 / 775)  # 1.290323
    unc = col(spike, "acwr_uncoupled")
    # day 27: sum over days 0..20 = 2100, / 3 = 700; 1000 / 700 = 1.428571
    assert unc[:27] == [None] * 27 and unc[27] == pytest.approx(1000 / 700)
    # day 34: acute = days 28-34 = 700; d-27..d-7 = days 7..27 = 20 x 100 + 400 = 2400 / 3 = 800
    assert unc[34] == pytest.approx(700 / 800)


def test_acwr_ewma(spike):
    e = col(spike, "acwr_ewma")
    assert e[:27] == [None] * 27
    # constant 100 seeds both EWMAs at 100 (no bias adjustment); day 27 (load 400):
    # E7 = 100 + 0.25 x 300 = 175; E28 = 100 + 2/29 x 300 = 3500/29; ratio = 175 x 29 / 3500 = 1.45
    assert e[27] == pytest.approx(1.45, abs=1e-12)
    assert spike["load_ewma_7d_au"][27] == pytest.approx(175.0)
    assert spike["load_ewma_28d_au"][27] == pytest.approx(3500 / 29)


def test_weekly_change(spike):
    w = col(spike, "weekly_change_pct")
    # needs acute at d-7, first defined on day 6 -> first value day 13
    assert w[:13] == [None] * 13 and w[13] == pytest.approx(0.0)
    # day 27: 100 x (1000 / 700 - 1) = 42.857143
    assert w[27] == pytest.approx(100 * (1000 / 700 - 1))
    # day 34: acute 700 vs day 27's 1000: 100 x (0.7 - 1) = -30
    assert w[34] == pytest.approx(-30.0)


def test_monotony_and_strain(spike):
    m = col(spike, "monotony")
    # days 6-26: seven equal positive loads, SD 0 -> capped value 10
    assert m[:6] == [None] * 6 and set(m[6:27]) == {10.0}
    # day 27: loads 6 x 100 + 400: mean 1000/7; deviations -300/7 (x6) and 1800/7
    # var = (6 x 90000 + 3240000) / 49 / 6 = 3780000 / 294 = 12857.142857; SD = 113.389342
    # monotony = 142.857143 / 113.389342 = 1.259882
    expect = (1000 / 7) / math.sqrt(3780000 / 294)
    assert m[27] == pytest.approx(expect, rel=1e-12)
    assert spike["strain_au"][27] == pytest.approx(1000 * expect, rel=1e-12)


def test_monotony_zero_week_is_null():
    # 7 rest days: mean 0 and SD 0 -> null (not 10, not 0); strain null too
    f = compute_features(daily(8, load_au=[0.0] * 7 + [70.0]), as_of=last_day(8))
    assert f["monotony"][6] is None and f["strain_au"][6] is None
    # day 7: loads 0 x 6 + 70: mean 10, SD = sqrt((6 x 100 + 3600) / 6) = sqrt(700) -> 10 / 26.457513 = 0.377964
    assert f["monotony"][7] == pytest.approx(10 / math.sqrt(700))


def test_ctl_atl_tsb(spike):
    ctl, atl, tsb = col(spike, "ctl"), col(spike, "atl"), col(spike, "tsb")
    # from 0: day 0 ctl = k x 100; constant 100: ctl_i = 100 (1 - (1 - k)^(i + 1))
    assert ctl[0] == pytest.approx(100 * K42, rel=1e-12)
    assert ctl[26] == pytest.approx(100 * (1 - (1 - K42) ** 27), rel=1e-12)
    # day 27: ctl_26 + k (400 - ctl_26)
    c26 = 100 * (1 - (1 - K42) ** 27)
    assert ctl[27] == pytest.approx(c26 + K42 * (400 - c26), rel=1e-12)
    a26 = 100 * (1 - (1 - K7) ** 27)
    assert atl[27] == pytest.approx(a26 + K7 * (400 - a26), rel=1e-12)
    assert tsb[27] == pytest.approx(ctl[27] - atl[27], abs=1e-12)
    ramp = col(spike, "ctl_ramp_7d")
    # ctl at d-7 is needed: null for days 0-6; day 7: ctl_7 - ctl_0 = 100 ((1-k)^1 - (1-k)^8)
    assert ramp[:7] == [None] * 7
    assert ramp[7] == pytest.approx(100 * ((1 - K42) - (1 - K42) ** 8), rel=1e-12)


def test_gains_match_intervals_icu():
    # intervals.icu quotes daily gains 0.023528 (42 d) and 0.133122 (7 d) [I3]
    p = FeatureParams()
    assert p.ctl_gain == pytest.approx(0.023528, abs=1e-6)
    assert p.atl_gain == pytest.approx(0.133122, abs=1e-6)
    assert p.ewma_acute_lambda == 0.25 and p.ewma_chronic_lambda == pytest.approx(0.069, abs=1e-3)


def test_hard_day_streak():
    # 100 AU for 60 days, then 300 AU on days 60, 61, 62, then 100 AU on day 63
    loads = [100.0] * 60 + [300.0] * 3 + [100.0]
    f = compute_features(daily(64, load_au=loads), as_of=last_day(64))
    s = col(f, "hard_day_streak")
    # warm-up: ceil(42 ln 3) = 47 days -> null for days 0-45, defined from day 46
    assert s[:46] == [None] * 46
    # day 46-59: 100 > 1.5 ctl? ctl_45 = 100 (1 - (1-k)^46) = 66.5 -> 1.5 x 66.5 = 99.8 < 100: hard!
    # ctl_46 = 100 (1 - (1-k)^47) = 67.3 -> 101.0 > 100: not hard from day 47 on
    c45 = 100 * (1 - (1 - K42) ** 46)
    assert 1.5 * c45 < 100 and s[46] == 1
    assert s[47:60] == [0] * 13
    # days 60-62: 300 > 1.5 x ctl (~ 110): streak 1, 2, 3; day 63: 100 < 1.5 x ctl -> 0
    assert s[60:64] == [1, 2, 3, 0]


def test_null_load_day():
    # day 10's load is unknown (a session without any measure)
    loads = [50.0] * 35
    loads[10] = None
    f = compute_features(daily(35, load_au=loads), as_of=last_day(35))
    acute = col(f, "acute_7d_au")
    # every 7-day window containing day 10 (days 10-16) is null; day 17: 7 x 50 = 350
    assert acute[9] == 350.0 and acute[10:17] == [None] * 7 and acute[17] == 350.0
    # every 28-day window containing day 10 is null: chronic null up to day 37 > 34
    assert col(f, "chronic_28d_au") == [None] * 35 and col(f, "acwr") == [None] * 35
    assert col(f, "monotony")[10:17] == [None] * 7
    # the recursions treat the unknown day as 0: ctl_10 = ctl_9 (1 - k)
    c9 = 50 * (1 - (1 - K42) ** 10)
    assert f["ctl"][10] == pytest.approx(c9 * (1 - K42), rel=1e-12)
    assert f["load_au"][10] is None


# ------------------------------------------------------------------ recovery
def test_rhr_mean_baseline_and_z():
    # days 0-13: 50, 52, 50, 52, ... (14 values); day 14 on: 56
    rhr = [50.0 if i % 2 == 0 else 52.0 for i in range(14)] + [56.0] * 6
    rhr[1] = None  # one missing day: day 1 has no RHR
    f = compute_features(daily(20, rhr_bpm=rhr), as_of=last_day(20))
    r7 = col(f, "rhr_7d_bpm")
    # 7-day mean needs 3 values: day 0 (1 value), day 1 (1), day 2 (2: 50, 50) null; day 3: 50, 50, 52 -> 152/3
    assert r7[:3] == [None] * 3 and r7[3] == pytest.approx(152 / 3)
    # day 14: days 8..14 = 50, 52, 50, 52, 50, 52, 56 = 362 / 7
    assert r7[14] == pytest.approx(362 / 7)
    z = col(f, "rhr_z")
    # baseline over d-60..d-1 needs 14 values: days 0-13 hold only 13 (day 1 missing) -> null through day 14
    assert z[:15] == [None] * 15
    # day 15: baseline = days 0-14 minus day 1: 50 x 7, 52 x 6, 56 = 718 / 14 = 51.285714
    vals = np.array([50.0] * 7 + [52.0] * 6 + [56.0])
    base, sd = vals.mean(), vals.std(ddof=1)
    # rhr_7d day 15: days 9..15 = 52, 50, 52, 50, 52, 56, 56 = 368 / 7
    assert f["rhr_baseline_bpm"][15] == pytest.approx(718 / 14)
    assert z[15] == pytest.approx((368 / 7 - base) / sd, rel=1e-12)
    assert f["rhr_delta_bpm"][15] == pytest.approx(368 / 7 - 718 / 14)
    # rhr_bpm passes through; the missing day stays null (never carried forward)
    assert f["rhr_bpm"][1] is None and f["rhr_bpm"][2] == 50.0


def test_hrv_mean_baseline_and_z():
    ln = [math.log(60.0)] * 7 + [math.log(80.0)] * 7 + [math.log(40.0)] * 3
    f = compute_features(daily(17, hrv_ln_rmssd=ln), as_of=last_day(17))
    h7 = col(f, "hrv_7d_ln")
    # day 16: days 10..16 = 4 x ln 80 + 3 x ln 40
    assert h7[16] == pytest.approx((4 * math.log(80) + 3 * math.log(40)) / 7)
    # baseline day 16: d-60..d-1 covers days 0..15 = 16 values: 7 x ln 60, 7 x ln 80, 2 x ln 40
    vals = np.log([60.0] * 7 + [80.0] * 7 + [40.0] * 2)
    assert f["hrv_baseline_ln"][16] == pytest.approx(vals.mean())
    assert f["hrv_z"][16] == pytest.approx((h7[16] - vals.mean()) / vals.std(ddof=1), rel=1e-12)
    # day 13: 13 earlier values -> null; day 14: 14 values, but all of them ln 60 or ln 80 -> defined
    assert f["hrv_z"][13] is None and f["hrv_z"][14] is not None


def test_constant_baseline_gives_null_z():
    # SD of a constant baseline is 0: z-score undefined -> null, not inf
    f = compute_features(daily(20, rhr_bpm=[55.0] * 20, hrv_ln_rmssd=[math.log(70.0)] * 20), as_of=last_day(20))
    assert col(f, "rhr_z")[14:] == [None] * 6 and col(f, "hrv_z")[14:] == [None] * 6
    assert f["rhr_baseline_bpm"][19] == 55.0


def test_sleep_mean_debt_efficiency():
    sleep = [7.0, None, 6.0, 9.0, None, 8.0, 5.0]
    bed = [8.0, None, 7.5, 9.0, 8.0, 10.0, 5.0]
    f = compute_features(daily(7, sleep_h=sleep, in_bed_h=bed), as_of=last_day(7))
    # 7-day mean needs 3 nights: days 0, 1 (1 night), null; day 2: (7 + 6) / 2 -> only 2 nights: null
    assert col(f, "sleep_7d_h")[:3] == [None] * 3
    # day 3: (7 + 6 + 9) / 3 = 7.333; day 6: (7 + 6 + 9 + 8 + 5) / 5 = 7.0
    assert f["sleep_7d_h"][3] == pytest.approx(22 / 3) and f["sleep_7d_h"][6] == pytest.approx(7.0)
    # debt (need 8 h), nights without data skipped: 1 + 2 + 0 + 0 + 3 = 6 h on day 6; day 1: 1 h
    assert col(f, "sleep_debt_7d_h")[:2] == [1.0, 1.0] and f["sleep_debt_7d_h"][6] == pytest.approx(6.0)
    # efficiency: 100 x 7/8 = 87.5, 80, 100, (day 4 has no sleep_h) 80, 100 -> day 6 mean of 5 = 89.5
    assert f["sleep_eff_7d_pct"][6] == pytest.approx((87.5 + 80 + 100 + 80 + 100) / 5)
    # a custom need of 7 h: 1 + 0 + 0 + 0 + 2 = 3
    f7 = compute_features(
        daily(7, sleep_h=sleep, in_bed_h=bed), as_of=last_day(7), params=FeatureParams(sleep_need_h=7.0)
    )
    assert f7["sleep_debt_7d_h"][6] == pytest.approx(2.0 + 1.0)
    # no night at all in the window: debt null, not 0
    g = compute_features(daily(3), as_of=last_day(3))
    assert col(g, "sleep_debt_7d_h") == [None] * 3 and col(g, "sleep_h") == [None] * 3


def test_data_coverage():
    # coverage counts days with (RHR or HRV) and sleep; always over 7 days
    rhr = [50.0, None, 50.0, None, 50.0, 50.0, 50.0]
    hrv = [None, 4.0, None, None, 4.0, None, 4.0]
    sleep = [7.0, 7.0, None, 7.0, 7.0, 7.0, 7.0]
    f = compute_features(daily(7, rhr_bpm=rhr, hrv_ln_rmssd=hrv, sleep_h=sleep), as_of=last_day(7))
    # day flags: 1, 1, 0 (no sleep), 0 (no rhr/hrv), 1, 1, 1 -> day 0: 1/7, day 6: 5/7
    assert f["data_coverage_7d"][0] == pytest.approx(1 / 7)
    assert f["data_coverage_7d"][6] == pytest.approx(5 / 7)


def test_back_pain_streak_and_rising():
    pain = [2.0, 3.0, 4.0, 5.0, None, 3.0, 4.0, 5.0, 6.0]
    red = [None, False, None, None, None, None, None, None, True]
    f = compute_features(daily(9, back_pain_0_10=pain, red_flag=red), as_of=last_day(9))
    # streak of days >= 3, broken by a day without report; null on that day
    assert col(f, "back_pain_streak_d") == [0, 1, 2, 3, None, 1, 2, 3, 4]
    # rising: p(d-3) < p(d-2) < p(d-1) < p(d); day 3: 2 < 3 < 4 < 5; days 5-7 see the gap; day 8: 3 < 4 < 5 < 6
    assert col(f, "back_pain_rising_3d") == [False, False, False, True, None, False, False, False, True]
    assert col(f, "red_flag") == red and col(f, "back_pain_0_10") == pain


def test_strain_p90():
    rng = np.random.default_rng(4)
    loads = list(rng.uniform(0, 200, 45))
    f = compute_features(daily(45, load_au=loads), as_of=last_day(45))
    strain = f["strain_au"].to_numpy()
    p90 = col(f, "strain_p90_au")
    # strain exists from day 6; 28 earlier values are there on day 6 + 28 = 34
    assert p90[:34] == [None] * 34
    for d in (34, 40, 44):
        assert p90[d] == pytest.approx(np.quantile(strain[6:d], 0.9), rel=1e-12)


def test_load_family_window():
    fam = ["tss"] * 5 + [None] * 50 + ["srpe"] + [None] * 3
    f = compute_features(daily(59, load_family=fam), as_of=last_day(59))
    lf = col(f, "load_family")
    # window d-41..d: days 0-45 still see a tss day (the last one is day 4: 45 - 41 = 4);
    # days 46-54 see no session -> null
    assert lf[:46] == ["tss"] * 46 and lf[46:55] == [None] * 9
    # day 55: srpe alone
    assert lf[55:] == ["srpe"] * 4
    g = compute_features(daily(3, load_family=["tss", "srpe", None]), as_of=last_day(3))
    assert col(g, "load_family") == ["tss", "mixed", "mixed"]


# ------------------------------------------------------------------ calendar and inputs
def test_missing_days_are_rest_days_and_rows_after_as_of_dropped():
    d = daily(10, load_au=[10.0] * 10).filter(~pl.col("date").is_in([D0 + timedelta(days=3)]))
    f = compute_features(d, as_of=D0 + timedelta(days=7))
    assert f.height == 8 and f["load_au"][3] == 0.0 and f["rhr_bpm"][3] is None
    # acute on day 6: 6 x 10 + 0 = 60
    assert f["acute_7d_au"][6] == 60.0


def test_several_athletes_independent():
    a = daily(30, "a", load_au=[100.0] * 30)
    b = daily(10, "b", start=D0 + timedelta(days=20), load_au=[500.0] * 10)
    f = compute_features(pl.concat([b, a]), as_of=last_day(30))
    fa, fb = f.filter(pl.col("athlete_id") == "a"), f.filter(pl.col("athlete_id") == "b")
    assert fa.height == 30 and fb.height == 10
    assert fa["acwr"][29] == 1.0 and fb["acute_7d_au"][6] == 3500.0 and fb["acwr"].null_count() == 10
    # b's windows never see a's rows
    assert fb["acute_7d_au"][:6].to_list() == [None] * 6
    solo = compute_features(b, as_of=last_day(30))
    assert solo.equals(fb)


def test_duplicate_daily_rows_rejected():
    d = daily(5)
    with pytest.raises(SchemaError, match="duplicate"):
        complete_calendar(pl.concat([d, d.tail(1)]), as_of=last_day(5))


def test_wrong_dtype_rejected():
    d = daily(5).with_columns(pl.col("load_au").cast(pl.String))
    with pytest.raises(SchemaError, match="load_au"):
        compute_features(d, as_of=last_day(5))


def test_bad_as_of_and_params():
    with pytest.raises(ValueError, match="as_of"):
        compute_features(daily(5), as_of="2025-01-05")
    with pytest.raises(ValueError, match=r"FeatureParams.ctl_tau_d must be a real number in \(0, 1000\], got 0"):
        FeatureParams(ctl_tau_d=0)
    with pytest.raises(ValueError, match="params"):
        compute_features(daily(5), as_of=last_day(5), params={"ctl_tau_d": 42})


def test_empty_input():
    f = compute_features(DAILY.empty(), as_of=D0)
    assert f.is_empty() and f.columns[: len(FEATURES.columns)] == list(FEATURES.columns)


def test_sleep_baseline_is_the_mean_of_the_previous_60_nights():
    # 14 nights needed (as the RHR baseline); the day's own night is not in it
    sleep = [7.0 if i % 2 == 0 else 6.0 for i in range(70)]
    sleep[3] = None
    f = compute_features(daily(70, sleep_h=sleep), as_of=last_day(70))
    b = col(f, "sleep_baseline_h")
    # day 14: nights 0..13 minus night 3 = 13 values -> null; day 15: 14 values (7 x 7 h, 7 x 6 h... night 3 was 6 h)
    assert b[:15] == [None] * 15
    assert b[15] == pytest.approx((8 * 7.0 + 6 * 6.0) / 14)
    # day 69: nights 9..68 (60 nights, 30 x 7 h, 30 x 6 h)
    assert b[69] == pytest.approx(6.5)
    # a short last week does not move the baseline of that day (night d excluded) but does the next
    sleep2 = sleep[:69] + [2.0]
    g = compute_features(daily(70, sleep_h=sleep2), as_of=last_day(70))
    assert g["sleep_baseline_h"][69] == pytest.approx(6.5)
