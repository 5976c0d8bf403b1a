"""Synthetic athletes for the scorer tests: DAILY-like frames and their FEATURES.

``make_daily`` builds one athlete's days (load with a weekly pattern and
noise, RHR, ln rMSSD, sleep, optional back pain) and the scenario helpers
perturb a window of it. ``to_features`` turns DAILY-like frames into FEATURES
through the project's feature stage (:func:`features.compute.compute_features`);
``reference_features`` is a small independent implementation of the same
DESIGN.md formulas, used to cross-check that the scorer's scenario results do
not hinge on one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from features.schemas import FEATURES, conform

START = date(2024, 1, 1)
#: Relative load of each weekday (a typical week with a rest day).
WEEK = np.array([1.0, 0.6, 1.3, 0.0, 1.0, 1.6, 0.5])


@dataclass
class Athlete:
    """A synthetic athlete's daily series (numpy arrays, one value per day)."""

    athlete_id: str
    dates: list[date]
    load_au: np.ndarray
    rhr_bpm: np.ndarray
    hrv_ln_rmssd: np.ndarray
    sleep_h: np.ndarray
    in_bed_h: np.ndarray
    back_pain_0_10: np.ndarray
    red_flag: np.ndarray

    def frame(self) -> pl.DataFrame:
        n = len(self.dates)
        return pl.DataFrame(
            {
                "athlete_id": [self.athlete_id] * n,
                "date": self.dates,
                "load_au": self.load_au.astype(float),
                "rhr_bpm": self.rhr_bpm,
                "hrv_ln_rmssd": self.hrv_ln_rmssd,
                "sleep_h": self.sleep_h,
                "in_bed_h": self.in_bed_h,
                "back_pain_0_10": self.back_pain_0_10,
                "red_flag": self.red_flag,
            },
            schema_overrides={"red_flag": pl.Boolean},
        ).with_columns(
            pl.col(c).fill_nan(None) for c in ("rhr_bpm", "hrv_ln_rmssd", "sleep_h", "in_bed_h", "back_pain_0_10")
        )


def make_daily(
    athlete_id: str,
    *,
    days: int = 200,
    seed: int = 0,
    base_load_au: float = 450.0,
    rhr_base_bpm: float = 50.0,
    rhr_sd_bpm: float = 2.0,
    hrv_base_ln: float = 4.2,
    hrv_sd_ln: float = 0.15,
    sleep_mean_h: float = 7.9,
    sleep_sd_h: float = 0.5,
    week_sd: float = 0.08,
    day_sd: float = 0.15,
    phys_ar: float = 0.0,
    back_pain: bool = False,
    start: date = START,
) -> Athlete:
    """A steady athlete.

    Load = ``base_load_au`` x weekly pattern :data:`WEEK` x week factor
    N(1, ``week_sd``) x day noise LN(0, ``day_sd``). RHR, ln rMSSD and sleep
    are their means plus AR(1) noise (coefficient ``phys_ar``, marginal SDs as
    given); day-to-day physiology of real athletes is autocorrelated, which
    makes 7-day means wander more than independent noise would.
    """
    rng = np.random.default_rng(seed)
    idx = np.arange(days)
    week_factor = np.repeat(rng.normal(1.0, week_sd, days // 7 + 1), 7)[:days]
    offset = rng.integers(0, 7)
    load = base_load_au * WEEK[(idx + offset) % 7] * week_factor * rng.lognormal(0.0, day_sd, days)

    def ar(sd: float) -> np.ndarray:
        e = rng.normal(0, sd * np.sqrt(1 - phys_ar**2), days)
        x = np.empty(days)
        x[0] = rng.normal(0, sd)
        for i in range(1, days):
            x[i] = phys_ar * x[i - 1] + e[i]
        return x

    rhr = rhr_base_bpm + ar(rhr_sd_bpm)
    hrv = hrv_base_ln + ar(hrv_sd_ln)
    sleep = np.clip(sleep_mean_h + ar(sleep_sd_h), 3.0, 11.0)
    in_bed = sleep / rng.uniform(0.88, 0.95, days)
    pain = np.clip(np.round(rng.choice([0, 0, 0, 1, 1, 2], days) + 0.0), 0, 10) if back_pain else np.full(days, np.nan)
    return Athlete(
        athlete_id,
        [start + timedelta(days=int(i)) for i in idx],
        load,
        rhr,
        hrv,
        sleep,
        in_bed,
        pain,
        np.zeros(days, dtype=bool),
    )


# ---------------------------------------------------------------- scenarios
def load_spike(a: Athlete, start: int, days: int = 10, factor: float = 2.5) -> Athlete:
    """Multiply the training load by ``factor`` for ``days`` from day index ``start`` (a camp)."""
    a.load_au[start : start + days] *= factor
    return a


def break_and_return(a: Athlete, start: int, off_days: int = 21) -> Athlete:
    """No training for ``off_days`` from ``start``; then the usual full load resumes."""
    a.load_au[start : start + off_days] = 0.0
    return a


def short_sleep(a: Athlete, start: int, days: int = 7, hours: float = 5.0, seed: int = 1) -> Athlete:
    """About ``hours`` of sleep a night (+-0.3 h) for ``days`` nights from ``start``."""
    rng = np.random.default_rng(seed)
    a.sleep_h[start : start + days] = hours + rng.normal(0, 0.3, days)
    a.in_bed_h[start : start + days] = a.sleep_h[start : start + days] / 0.9
    return a


def strained_recovery(
    a: Athlete, start: int, days: int = 10, rhr_up_bpm: float = 8.0, hrv_down_ln: float = 0.35
) -> Athlete:
    """RHR up by ``rhr_up_bpm`` and ln rMSSD down by ``hrv_down_ln`` for ``days`` from ``start``."""
    a.rhr_bpm[start : start + days] += rhr_up_bpm
    a.hrv_ln_rmssd[start : start + days] -= hrv_down_ln
    return a


# ---------------------------------------------------------------- features
def _real_features():
    try:
        from features.compute import compute_features
    except ImportError:  # pragma: no cover - before the features stage landed
        return None
    return compute_features


def to_features(
    daily: pl.DataFrame, *, as_of: date | None = None, load_family: str = "srpe", reference: bool = False
) -> pl.DataFrame:
    """FEATURES for DAILY-like frames.

    Uses the project's :func:`features.compute.compute_features` (the real
    feature stage), or the small reference implementation below when
    ``reference`` is true or the stage is missing.
    """
    real = None if reference else _real_features()
    if real is not None:
        from features.schemas import DAILY

        d = daily.with_columns(
            pl.lit(load_family).alias("load_family"),
            (pl.col("load_au") > 0).cast(pl.Int32).alias("n_sessions"),
            (pl.col("load_au") / 6.0 * 60.0).alias("duration_s"),  # sRPE ~ RPE 6 x minutes
        )
        d = conform(d, DAILY)
        return real(d, as_of=as_of or d["date"].max())
    parts = [
        reference_features(g, load_family=load_family)
        for _, g in daily.sort("athlete_id", "date").group_by("athlete_id", maintain_order=True)
    ]
    return conform(pl.concat(parts), FEATURES)


def _roll(x: np.ndarray, i: int, n: int) -> np.ndarray:
    return x[max(0, i - n + 1) : i + 1]


def reference_features(g: pl.DataFrame, *, load_family: str = "srpe", sleep_need_h: float = 8.0) -> pl.DataFrame:
    """FEATURES of one athlete (days contiguous), DESIGN.md formulas, plain numpy loops."""
    L = g["load_au"].to_numpy().astype(float)
    rhr = g["rhr_bpm"].to_numpy(allow_copy=True).astype(float)
    hrv = g["hrv_ln_rmssd"].to_numpy(allow_copy=True).astype(float)
    sl = g["sleep_h"].to_numpy(allow_copy=True).astype(float)
    bed = g["in_bed_h"].to_numpy(allow_copy=True).astype(float)
    pain = g["back_pain_0_10"].to_numpy(allow_copy=True).astype(float)
    n = len(L)
    nan = np.nan
    out = {
        k: np.full(n, nan)
        for k in (
            "acute_7d_au",
            "chronic_28d_au",
            "acwr",
            "acwr_uncoupled",
            "acwr_ewma",
            "weekly_change_pct",
            "monotony",
            "strain_au",
            "ctl",
            "atl",
            "tsb",
            "rhr_7d_bpm",
            "rhr_z",
            "hrv_7d_ln",
            "hrv_z",
            "sleep_7d_h",
            "sleep_debt_7d_h",
            "ctl_ramp_7d",
            "rhr_baseline_bpm",
            "rhr_delta_bpm",
            "hrv_baseline_ln",
            "sleep_eff_7d_pct",
            "strain_p90_au",
            "data_coverage_7d",
            "sleep_baseline_h",
        )
    }
    streak = np.zeros(n, dtype=np.int32)
    pstreak = np.zeros(n, dtype=np.int32)
    rising = np.zeros(n, dtype=bool)
    e7 = e28 = L[0]
    k7, k28 = 2 / 8, 2 / 29
    ctl = atl = 0.0
    for i in range(n):
        a = L[max(0, i - 6) : i + 1].sum()
        c = L[max(0, i - 27) : i + 1].sum() / 4
        out["acute_7d_au"][i], out["chronic_28d_au"][i] = a, c
        if i > 0:
            e7 = k7 * L[i] + (1 - k7) * e7
            e28 = k28 * L[i] + (1 - k28) * e28
        if i >= 27:
            if c > 0:
                out["acwr"][i] = a / c
            unc = L[i - 27 : i - 6].sum() / 3
            if unc > 0:
                out["acwr_uncoupled"][i] = a / unc
            if e28 > 0:
                out["acwr_ewma"][i] = e7 / e28
        if i >= 7 and out["acute_7d_au"][i - 7] > 0:
            out["weekly_change_pct"][i] = 100 * (a / out["acute_7d_au"][i - 7] - 1)
        if i >= 6:
            w = L[i - 6 : i + 1]
            m, s = w.mean(), w.std(ddof=1)
            mono = nan if (m == 0 and s == 0) else (10.0 if s == 0 else min(10.0, m / s))
            out["monotony"][i] = mono
            out["strain_au"][i] = a * mono if mono == mono else nan
        prev_ctl = ctl
        ctl = ctl + (1 - np.exp(-1 / 42)) * (L[i] - ctl)
        atl = atl + (1 - np.exp(-1 / 7)) * (L[i] - atl)
        out["ctl"][i], out["atl"][i], out["tsb"][i] = ctl, atl, ctl - atl
        if i >= 7:
            out["ctl_ramp_7d"][i] = ctl - out["ctl"][i - 7]
        hard = L[i] > 1.5 * prev_ctl and prev_ctl > 0
        streak[i] = (streak[i - 1] + 1 if i else 1) if hard else 0
        prior = out["strain_au"][:i]
        prior = prior[~np.isnan(prior)]
        if len(prior) >= 28:
            out["strain_p90_au"][i] = np.percentile(prior, 90)
        for x, k7col, zcol, bcol, dcol in (
            (rhr, "rhr_7d_bpm", "rhr_z", "rhr_baseline_bpm", "rhr_delta_bpm"),
            (hrv, "hrv_7d_ln", "hrv_z", "hrv_baseline_ln", None),
        ):
            w = _roll(x, i, 7)
            w = w[~np.isnan(w)]
            if len(w) >= 3:
                out[k7col][i] = w.mean()
            base = x[max(0, i - 60) : i]
            base = base[~np.isnan(base)]
            if len(base) >= 14:
                out[bcol][i] = base.mean()
                sd = base.std(ddof=1)
                if out[k7col][i] == out[k7col][i] and sd > 0:
                    out[zcol][i] = (out[k7col][i] - base.mean()) / sd
                if dcol:
                    out[dcol][i] = out[k7col][i] - base.mean()
        w = _roll(sl, i, 7)
        ok = ~np.isnan(w)
        if ok.sum() >= 3:
            out["sleep_7d_h"][i] = w[ok].mean()
            out["sleep_debt_7d_h"][i] = np.maximum(0, sleep_need_h - w[ok]).sum()
        sb = sl[max(0, i - 60) : i]
        sb = sb[~np.isnan(sb)]
        if len(sb) >= 14:
            out["sleep_baseline_h"][i] = sb.mean()
        wb = _roll(bed, i, 7)
        okb = ok & ~np.isnan(wb) & (wb > 0)
        if okb.sum() >= 3:
            out["sleep_eff_7d_pct"][i] = (100 * w[okb] / wb[okb]).mean()
        have = (~np.isnan(_roll(rhr, i, 7)) | ~np.isnan(_roll(hrv, i, 7))) & ok
        out["data_coverage_7d"][i] = have.sum() / 7
        if pain[i] == pain[i] and pain[i] >= 3:
            pstreak[i] = (pstreak[i - 1] + 1) if i else 1
        if i >= 3 and all(pain[j] == pain[j] for j in range(i - 3, i + 1)):
            rising[i] = pain[i] > pain[i - 1] > pain[i - 2] > pain[i - 3]
    df = g.select("athlete_id", "date", "load_au", "rhr_bpm", "hrv_ln_rmssd", "sleep_h", "back_pain_0_10", "red_flag")
    return df.with_columns(
        *[pl.Series(k, v).fill_nan(None) for k, v in out.items()],
        pl.Series("hard_day_streak", streak, dtype=pl.Int32),
        pl.Series("back_pain_streak_d", pstreak, dtype=pl.Int32),
        pl.Series("back_pain_rising_3d", rising),
        pl.lit(load_family).alias("load_family"),
    )


# ---------------------------------------------------------------- labelled team
def labelled_team(n_athletes: int = 24, days: int = 330, seed: int = 7, *, signal: bool = True) -> pl.DataFrame:
    """DAILY-like frames of a team with a daily back-pain log and episodes caused by strain.

    Each athlete gets load spikes (x2.2 for 7 days) and short-sleep weeks
    (5.5 h) at random times. A new pain episode starts on day d with hazard
    0.002 + 0.06 inside days 3..12 after a spike started + 0.04 inside days
    3..10 after a short-sleep week started (``signal=False``: a flat 0.01,
    i.e. no relation to the features). An episode lasts 3-8 days at pain
    3-6/10; outside episodes pain is 0-2, reported on 90 % of days.
    """
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n_athletes):
        a = make_daily(
            f"t{k:02d}", days=days, seed=seed * 1000 + k, phys_ar=0.3, base_load_au=float(rng.uniform(300, 600))
        )
        hazard = np.full(days, 0.002 if signal else 0.01)
        for _ in range(int(rng.integers(3, 6))):
            s = int(rng.integers(60, days - 20))
            load_spike(a, s, days=7, factor=2.2)
            if signal:
                hazard[s + 3 : s + 13] += 0.06
        for _ in range(int(rng.integers(2, 4))):
            s = int(rng.integers(60, days - 20))
            short_sleep(a, s, days=7, hours=5.5, seed=int(rng.integers(1 << 30)))
            if signal:
                hazard[s + 3 : s + 11] += 0.04
        pain = rng.choice([0.0, 0.0, 1.0, 1.0, 2.0], size=days)
        i = 0
        while i < days:
            if rng.random() < hazard[i]:
                length = int(rng.integers(3, 9))
                pain[i : i + length] = rng.integers(3, 7, size=len(pain[i : i + length]))
                i += length + 7  # the episode, then at least the 7-day gap
                continue
            i += 1
        pain[rng.random(days) < 0.10] = np.nan
        a.back_pain_0_10 = pain
        frames.append(a.frame())
    return pl.concat(frames)
