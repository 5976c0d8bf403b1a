"""Random DAILY frames for property tests, the pandas cross-check and the benchmark."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from features.schemas import DAILY, conform


def random_daily(
    n_athletes: int,
    n_days: int,
    *,
    seed: int = 0,
    start: date = date(2020, 1, 1),
    ragged: bool = True,
    p_rest: float = 0.3,
    p_null_load: float = 0.0,
    p_missing: float = 0.25,
) -> pl.DataFrame:
    """A complete DAILY calendar ending on ``start + n_days - 1`` for every athlete.

    Athletes start on different days when ``ragged`` (up to a third of the
    span later), loads are gamma distributed with ``p_rest`` rest days (0)
    and ``p_null_load`` unknown loads (null), physiology and sleep are missing
    on ``p_missing`` of the days, back pain is reported on about half of them.
    """
    rng = np.random.default_rng(seed)
    end = start + timedelta(days=n_days - 1)
    offsets = rng.integers(0, max(n_days // 3, 1), n_athletes) if ragged else np.zeros(n_athletes, int)
    lengths = n_days - offsets
    n = int(lengths.sum())
    aid = np.repeat(np.arange(n_athletes), lengths)
    first = np.repeat(offsets, lengths)
    pos = np.arange(n) - np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    day = (first + pos).astype(np.int64)
    scale = rng.uniform(40, 150, n_athletes)[aid]
    load = rng.gamma(2.0, 1.0, n) * scale
    load[rng.random(n) < p_rest] = 0.0
    load_null = rng.random(n) < p_null_load

    def maybe(x):
        x = x.astype(float)
        x[rng.random(n) < p_missing] = np.nan
        return x

    rhr = maybe(rng.normal(rng.uniform(42, 65, n_athletes)[aid], 3.0))
    hrv = maybe(rng.normal(np.log(rng.uniform(30, 110, n_athletes))[aid], 0.25))
    sleep_h = maybe(np.clip(rng.normal(7.4, 1.1, n), 2.0, 12.0))
    in_bed = sleep_h + rng.uniform(0.1, 1.5, n)
    pain = np.where(rng.random(n) < 0.5, rng.integers(0, 8, n).astype(float), np.nan)
    fam_choice = np.array(["srpe", "tss"])[rng.integers(0, 2, n_athletes)][aid].astype(object)
    fam_choice[rng.random(n) < 0.02] = "trimp"
    fam = np.where(load > 0, fam_choice, None)
    athlete = np.array([f"ath{k:04d}" for k in range(n_athletes)], dtype=object)[aid]
    df = pl.DataFrame(
        {
            "athlete_id": pl.Series(athlete, dtype=pl.String),
            "date": pl.Series((np.datetime64(start, "D") + day).astype("datetime64[D]")).cast(pl.Date),
            "load_au": pl.Series(np.where(load_null, np.nan, load)).fill_nan(None),
            "n_sessions": pl.Series((load > 0).astype(np.int32) + load_null),
            "duration_s": pl.Series(np.where(load > 0, load * 12.0, 0.0)),
            "rhr_bpm": pl.Series(rhr).fill_nan(None),
            "hrv_ln_rmssd": pl.Series(hrv).fill_nan(None),
            "sleep_h": pl.Series(sleep_h).fill_nan(None),
            "in_bed_h": pl.Series(in_bed).fill_nan(None),
            "back_pain_0_10": pl.Series(pain).fill_nan(None),
            "red_flag": pl.Series(rng.random(n) < 0.01).set(pl.Series(np.isnan(pain)), None),
            "load_family": pl.Series(fam.tolist(), dtype=pl.String),
        }
    )
    assert df["date"].max() == end
    return conform(df, DAILY)
