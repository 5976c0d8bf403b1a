"""Scorer speed: rule scores (and a learned model) for N athletes x D days of FEATURES.

    python benchmarks/score.py [--athletes 50] [--days 1095] [--learned]

Builds synthetic athletes (tests/models/synth.py), computes their FEATURES
with the real feature stage, then times ``models.rules.score_features`` for
all days, for the last 7 days only (``start``: the nightly incremental case)
the columnar scorer of issue 19 (``models.columnar``: numbers only, and the
full SCORES frame with per-row texts) in the same run and, with ``--learned``,
training a calibrated logistic model and scoring with it. Prints rows per
second; nothing is asserted.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from models.columnar import score_features_columnar, score_numbers  # noqa: E402
from models.rules import score_features  # noqa: E402
from tests.models import synth  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--athletes", type=int, default=50)
    ap.add_argument("--days", type=int, default=1095)
    ap.add_argument("--learned", action="store_true")
    a = ap.parse_args()

    t = time.perf_counter()
    if a.learned:
        daily = synth.labelled_team(n_athletes=a.athletes, days=a.days, seed=1)
    else:
        daily = pl.concat(
            [synth.make_daily(f"b{i:03d}", days=a.days, seed=i, phys_ar=0.3).frame() for i in range(a.athletes)]
        )
    feats = synth.to_features(daily)
    as_of = feats["date"].max()
    print(f"features: {feats.height:,} athlete-days in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    s = score_features(feats, as_of=as_of)
    dt = time.perf_counter() - t
    print(f"rules, every day: {s.height:,} rows in {dt:.2f} s ({s.height / dt:,.0f} rows/s)")

    t = time.perf_counter()
    s7 = score_features(feats, as_of=as_of, start=as_of - timedelta(days=6))
    dt = time.perf_counter() - t
    print(f"rules, last 7 days (nightly): {s7.height:,} rows in {dt:.2f} s")

    # issue 19: the columnar scorer in the same run
    t = time.perf_counter()
    n = score_numbers(feats, as_of=as_of)
    dt = time.perf_counter() - t
    print(
        f"columnar numbers (scores, bands, reasons, streaks), every day: {n.height:,} rows in {dt:.2f} s "
        f"({n.height / dt:,.0f} rows/s)"
    )
    t = time.perf_counter()
    c = score_features_columnar(feats, as_of=as_of)
    dt = time.perf_counter() - t
    print(
        f"columnar numbers + per-row texts (full SCORES), every day: {c.height:,} rows in {dt:.2f} s "
        f"({c.height / dt:,.0f} rows/s); equal to rules: {c.equals(s)}"
    )
    t = time.perf_counter()
    c7 = score_features_columnar(feats, as_of=as_of, start=as_of - timedelta(days=6))
    dt = time.perf_counter() - t
    print(f"columnar, last 7 days (nightly): {c7.height:,} rows in {dt:.2f} s; equal to rules: {c7.equals(s7)}")

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
