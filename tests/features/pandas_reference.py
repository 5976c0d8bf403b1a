"""An independent, straightforward pandas implementation of the features contract.

Written from ``DESIGN.md`` ("Features (output contract)") and the extra
column definitions, without sharing any code with :mod:`features.compute`
(no import from ``features``): plain ``groupby(...).rolling``, ``ewm`` and
``shift``. Used to cross-check the polars implementation on random data
(``tests/features/test_reference.py``) and as the baseline of
``benchmarks/features.py``.

Independent choices on purpose:

* load windows are numpy sums, means and sample SDs over
  ``sliding_window_view`` windows; the other windows are pandas rolling
  sums/means/stds with ``min_periods`` (running sums); never shifted block sums;
* CTL and ATL use a pandas EWM seeded with the first load and then remove the
  seed's contribution: ``x_d = E_d - (1 - k)^(i+1) L_0`` (equal to the
  recursion from 0);
* streaks use the ``cumsum``-of-resets grouping;
* the 60-day baselines use pandas' rolling std (Welford) over d-60..d-1.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd


def reference_features(
    daily: pd.DataFrame,
    as_of: date,
    *,
    acute: int = 7,
    chronic: int = 28,
    span_acute: int = 7,
    span_chronic: int = 28,
    ctl_tau: float = 42.0,
    atl_tau: float = 7.0,
    window: int = 7,
    min_valid: int = 3,
    base_days: int = 60,
    base_min: int = 14,
    sleep_need_h: float = 8.0,
    hard_factor: float = 1.5,
    ramp_days: int = 7,
    pain_threshold: float = 3.0,
    rising_days: int = 3,
    quantile: float = 0.9,
    quantile_min: int = 28,
    family_window: int = 42,
    monotony_cap: float = 10.0,
    sd_rel_tol: float = 1e-6,
) -> pd.DataFrame:
    """FEATURES from a DAILY frame (pandas; NaN for null). See the module docstring."""
    d = daily.copy()
    d["date"] = pd.to_datetime(d["date"])
    d = d[d["date"] <= pd.Timestamp(as_of)]
    # complete calendar per athlete: missing days are rest days without physiology
    parts = []
    for a, grp in d.groupby("athlete_id", sort=True):
        idx = pd.date_range(grp["date"].min(), pd.Timestamp(as_of), freq="D")
        x = grp.set_index("date").reindex(idx)
        x.index.name = "date"
        x["athlete_id"] = a
        missing = x["n_sessions"].isna()
        x.loc[missing, "load_au"] = 0.0
        x.loc[missing, "n_sessions"] = 0
        parts.append(x.reset_index())
    d = pd.concat(parts, ignore_index=True)
    for c in ("load_au", "rhr_bpm", "hrv_ln_rmssd", "sleep_h", "in_bed_h", "back_pain_0_10"):
        d[c] = d[c].astype("float64")
    key = d["athlete_id"]
    g = d.groupby(key, sort=False)
    i = g.cumcount()

    def roll(s: pd.Series, w: int, how: str, minp: int) -> pd.Series:
        r = s.groupby(key, sort=False).rolling(w, min_periods=minp)
        out = getattr(r, how)()
        return out.reset_index(level=0, drop=True).sort_index()

    def gshift(s: pd.Series, k: int) -> pd.Series:
        return s.groupby(key, sort=False).shift(k)

    def full_window(s: pd.Series, w: int, func) -> pd.Series:
        """func over each complete window of w days (NaN when a value is missing or
        the athlete has fewer than w days): numpy's own sum/mean/std of the window
        values, so an all-zero week is exactly 0 (no running-sum residue)."""
        vals = s.to_numpy(dtype=float)
        res = np.full(len(vals), np.nan)
        if len(vals) >= w:
            res[w - 1 :] = func(np.lib.stride_tricks.sliding_window_view(vals, w))
        return pd.Series(res, index=s.index).where(i >= w - 1)

    L = d["load_au"]
    out = pd.DataFrame({"athlete_id": d["athlete_id"], "date": d["date"].dt.date, "load_au": L})
    wsum = lambda v: v.sum(axis=1)  # noqa: E731
    out["acute_7d_au"] = full_window(L, acute, wsum)
    out["chronic_28d_au"] = full_window(L, chronic, wsum) / (chronic / acute)
    warm = i >= chronic - 1
    unc = gshift(full_window(L, chronic - acute, wsum), acute) / ((chronic - acute) / acute)
    out["acwr"] = (out["acute_7d_au"] / out["chronic_28d_au"]).where(warm & (out["chronic_28d_au"] > 0))
    out["acwr_uncoupled"] = (out["acute_7d_au"] / unc).where(warm & (unc > 0))

    L0 = L.fillna(0.0)
    e7 = L0.groupby(key, sort=False).transform(lambda s: s.ewm(span=span_acute, adjust=False).mean())
    e28 = L0.groupby(key, sort=False).transform(lambda s: s.ewm(span=span_chronic, adjust=False).mean())
    out["acwr_ewma"] = (e7 / e28).where(warm & (e28 > 0))
    prev = gshift(out["acute_7d_au"], acute)
    out["weekly_change_pct"] = (100.0 * (out["acute_7d_au"] / prev - 1.0)).where(prev > 0)

    m = full_window(L, acute, lambda v: v.mean(axis=1))
    sd = full_window(L, acute, lambda v: v.std(axis=1, ddof=1))
    mono = pd.Series(np.nan, index=d.index)
    ok = m.notna() & sd.notna()
    pos_sd = ok & (sd > 0)
    mono[pos_sd] = np.minimum(m[pos_sd] / sd[pos_sd], monotony_cap)
    mono[ok & (sd == 0) & (m > 0)] = monotony_cap
    out["monotony"] = mono
    out["strain_au"] = out["acute_7d_au"] * out["monotony"]

    first_load = L0.groupby(key, sort=False).transform("first")

    def pmc(tau: float) -> pd.Series:
        k = 1.0 - math.exp(-1.0 / tau)
        e = L0.groupby(key, sort=False).transform(lambda s: s.ewm(alpha=k, adjust=False).mean())
        return e - (1.0 - k) ** (i + 1) * first_load

    out["ctl"] = pmc(ctl_tau)
    out["atl"] = pmc(atl_tau)
    out["tsb"] = out["ctl"] - out["atl"]

    def mean7(c: str) -> pd.Series:
        return roll(d[c], window, "mean", min_valid)

    def zscore(c: str, m7: pd.Series) -> tuple[pd.Series, pd.Series]:
        base = gshift(roll(d[c], base_days, "mean", base_min), 1)
        bsd = gshift(roll(d[c], base_days, "std", base_min), 1)
        z = ((m7 - base) / bsd).where(bsd > sd_rel_tol * base.abs())
        return base, z

    out["rhr_bpm"] = d["rhr_bpm"]
    out["rhr_7d_bpm"] = mean7("rhr_bpm")
    rb, out["rhr_z"] = zscore("rhr_bpm", out["rhr_7d_bpm"])
    out["hrv_ln_rmssd"] = d["hrv_ln_rmssd"]
    out["hrv_7d_ln"] = mean7("hrv_ln_rmssd")
    hb, out["hrv_z"] = zscore("hrv_ln_rmssd", out["hrv_7d_ln"])
    out["sleep_h"] = d["sleep_h"]
    out["sleep_7d_h"] = mean7("sleep_h")
    deficit = (sleep_need_h - d["sleep_h"]).clip(lower=0.0)
    out["sleep_debt_7d_h"] = roll(deficit, window, "sum", 1)

    # extras
    ctl_prev = gshift(out["ctl"], 1)
    # hard days are defined once a constant load no longer exceeds f x CTL: tau ln(f/(f-1)) days
    hard_warm = i >= max(chronic, math.ceil(ctl_tau * math.log(hard_factor / (hard_factor - 1.0)))) - 1
    hard = (hard_warm & (L > hard_factor * ctl_prev)).fillna(False).astype(bool)
    run_id = (~hard).groupby(key, sort=False).cumsum()
    streak = hard.astype("int64").groupby([key, run_id], sort=False).cumsum()
    out["hard_day_streak"] = streak.where(hard_warm).astype("Int32")
    present = (d["rhr_bpm"].notna() | d["hrv_ln_rmssd"].notna()) & d["sleep_h"].notna()
    out["data_coverage_7d"] = roll(present.astype(float), window, "sum", 1) / window
    out["ctl_ramp_7d"] = out["ctl"] - gshift(out["ctl"], ramp_days)
    out["rhr_baseline_bpm"] = rb
    out["rhr_delta_bpm"] = out["rhr_7d_bpm"] - rb
    out["hrv_baseline_ln"] = hb
    out["sleep_baseline_h"] = gshift(roll(d["sleep_h"], base_days, "mean", base_min), 1)
    eff = (100.0 * d["sleep_h"] / d["in_bed_h"]).where(d["in_bed_h"] > 0)
    out["sleep_eff_7d_pct"] = roll(eff, window, "mean", min_valid)
    q = (
        out["strain_au"]
        .groupby(key, sort=False)
        .expanding(min_periods=quantile_min)
        .quantile(quantile)
        .reset_index(level=0, drop=True)
        .sort_index()
    )
    out["strain_p90_au"] = gshift(q, 1)
    pain = d["back_pain_0_10"]
    out["back_pain_0_10"] = pain
    painful = (pain >= pain_threshold).fillna(False).astype(bool)
    prun = (~painful).groupby(key, sort=False).cumsum()
    pstreak = painful.astype("int64").groupby([key, prun], sort=False).cumsum()
    out["back_pain_streak_d"] = pstreak.where(pain.notna()).astype("Int32")
    rising = pd.Series(True, index=d.index)
    for k in range(rising_days):
        rising &= (gshift(pain, k) > gshift(pain, k + 1)).fillna(False)
    out["back_pain_rising_3d"] = rising.astype("boolean").where(pain.notna(), pd.NA)
    out["red_flag"] = d["red_flag"]
    fam = d["load_family"] if "load_family" in d.columns else pd.Series(None, index=d.index, dtype=object)
    names = sorted(set(fam.dropna().unique()))
    counts = {f: roll((fam == f).astype(float), family_window, "sum", 1) for f in names}
    n_fams = sum((c > 0).astype(int) for c in counts.values()) if counts else pd.Series(0, index=d.index)
    family = pd.Series(None, index=d.index, dtype=object)
    for f, c in counts.items():
        family[(c > 0) & (n_fams == 1)] = f
    family[n_fams > 1] = "mixed"
    out["load_family"] = family
    out["load_ewma_7d_au"] = e7
    out["load_ewma_28d_au"] = e28
    return out.reset_index(drop=True)
