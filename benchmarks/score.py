"""Scorer speed: the per-row rule scorer against the columnar one (issue 19), in one run.

    python benchmarks/score.py [--athletes 50] [--days 1095] [--repeat 3] [--learned]

Builds synthetic athletes (tests/models/synth.py, not timed), computes their
FEATURES with the real feature stage (``features.compute.compute_features``
through ``synth.to_features``: the "features stage" the target compares
with), then times, for the full stored SCORES table (every column, texts
included) and for the nightly case (``start`` = the last 7 days):

* ``models.rules.score_features``: the old per-row scorer (the test oracle);
* the first columnar step of issue 19 (numbers columnar, ``components_json``
  and the advice rendered per row with ``score_day``/``recommend``), rebuilt
  here as it was, for the "before" of the nightly check;
* ``models.columnar.score_features_columnar``: numbers and texts columnar.

Each columnar and features time is the best of ``--repeat`` runs (the machine
is shared); the old scorer runs once. Prints rows per second, whether each
output equals the old scorer's, the ratio scoring / features stage (target
<= 1.5) and the 1-minute load average. With ``--learned``, also trains a
calibrated logistic model and scores with it. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from models.columnar import score_features_columnar, score_numbers  # noqa: E402
from models.rules import ScorerParams, score_features  # noqa: E402
from tests.models import synth  # noqa: E402


def _per_row_texts(features: pl.DataFrame, *, as_of, start=None) -> pl.DataFrame:
    """The columnar scorer before its texts were columnar: numbers columnar, texts per row."""
    from dataclasses import replace

    from features.schemas import SCORES, conform
    from models.adjustments import recommend
    from models.columnar import _LOAD_COLS, _TODAY_COLS
    from models.rules import _num, _score_row, score_day

    p = ScorerParams()
    nums = score_numbers(features, as_of=as_of, params=p, start=start)
    f = features.filter(pl.col("date").is_between(nums["date"].min() - timedelta(days=8), as_of)).select(
        "athlete_id", "date", *_TODAY_COLS, *_LOAD_COLS, "sleep_h"
    )
    rows = {(r["athlete_id"], r["date"]): r for r in f.iter_rows(named=True)}
    one = timedelta(days=1)
    out = []
    for a, d, hs, rs, held, recent in nums.select(
        "athlete_id", "date", "high_streak_d", "recovery_streak_d", "red_flag_held_since", "recent_red_flag"
    ).iter_rows():
        today = rows[(a, d)]
        load = rows.get((a, d - one))
        day = score_day(today, load, rows.get((a, d - 8 * one)), p)
        if held is not None:
            why = f"red flag reported on {held.isoformat()} ({(d - held).days} d ago) and not cleared since"
            day = replace(day, band="high", score=100.0, reasons=("red_flag",) + day.reasons, red_flag=why)
        adj = recommend(
            day,
            load=load,
            high_streak_d=hs,
            recovery_streak_d=rs,
            params=p,
            recent_red_flag=recent,
            last_night_h=_num(today, "sleep_h"),
        )
        out.append(_score_row(day, adj, model="rules"))
    return conform(pl.DataFrame(out, schema=SCORES.polars_schema), SCORES).sort("athlete_id", "date")


def _best(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return out, best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--athletes", type=int, default=50)
    ap.add_argument("--days", type=int, default=1095)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--learned", action="store_true")
    a = ap.parse_args()

    t = time.perf_counter()
    if a.learned:
        daily = synth.labelled_team(n_athletes=a.athletes, days=a.days, seed=1)
    else:
        daily = pl.concat(
            [synth.make_daily(f"b{i:03d}", days=a.days, seed=i, phys_ar=0.3).frame() for i in range(a.athletes)]
        )
    print(f"synthetic DAILY: {daily.height:,} athlete-days in {time.perf_counter() - t:.2f} s (not counted)")
    feats, t_feat = _best(lambda: synth.to_features(daily), a.repeat)
    as_of = feats["date"].max()
    print(f"features stage (compute_features): {feats.height:,} athlete-days in {t_feat:.3f} s")

    print("-- every day (the full stored SCORES table, every column)")
    t = time.perf_counter()
    s = score_features(feats, as_of=as_of)
    t_old = time.perf_counter() - t
    print(f"old per-row scorer: {s.height:,} rows in {t_old:.2f} s ({s.height / t_old:,.0f} rows/s)")
    n, dt = _best(lambda: score_numbers(feats, as_of=as_of), a.repeat)
    print(f"columnar numbers only: {n.height:,} rows in {dt:.3f} s ({n.height / dt:,.0f} rows/s)")
    c, t_new = _best(lambda: score_features_columnar(feats, as_of=as_of), a.repeat)
    print(
        f"columnar scorer, full table: {c.height:,} rows in {t_new:.3f} s ({c.height / t_new:,.0f} rows/s), "
        f"{t_old / t_new:.0f}x the old scorer; equal to the old scorer: {c.equals(s)}"
    )
    ratio = t_new / t_feat
    print(
        f"scoring / features stage: {ratio:.2f}x (target <= 1.5x: {'met' if ratio <= 1.5 else 'NOT met'}); "
        f"features + scores {t_feat + t_new:.2f} s"
    )

    print("-- nightly (start = as_of - 6 d, last 7 days)")
    start = as_of - timedelta(days=6)
    t = time.perf_counter()
    s7 = score_features(feats, as_of=as_of, start=start)
    dt_old = time.perf_counter() - t
    print(f"old per-row scorer: {s7.height:,} rows in {dt_old:.3f} s")
    b7, dt_before = _best(lambda: _per_row_texts(feats, as_of=as_of, start=start), a.repeat)
    print(f"before (numbers columnar, texts per row): {b7.height:,} rows in {dt_before:.3f} s; equal: {b7.equals(s7)}")
    c7, dt_new = _best(lambda: score_features_columnar(feats, as_of=as_of, start=start), a.repeat)
    print(
        f"columnar scorer: {c7.height:,} rows in {dt_new:.3f} s; equal: {c7.equals(s7)}; "
        f"{dt_before / dt_new:.1f}x the 'before', {dt_old / dt_new:.1f}x the old scorer "
        f"({'not slower' if dt_new <= dt_before else 'SLOWER'})"
    )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    if a.learned:
        from models.learned import score_features_learned, train_model

        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            b = train_model(feats, as_of=as_of)
        print(f"train logistic: {b.n_rows:,} labelled days, {b.n_events} onsets in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        sl = score_features_learned(feats, as_of=as_of, bundle=b)
        dt = time.perf_counter() - t
        print(f"learned, every day: {sl.height:,} rows in {dt:.2f} s ({sl.height / dt:,.0f} rows/s)")


if __name__ == "__main__":
    main()
