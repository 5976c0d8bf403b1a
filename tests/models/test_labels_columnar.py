"""The columnar episode labels equal the per-athlete loop they replace (issue 19 item 2).

``_labels_one_loop`` is the per-day implementation ``models.learned`` used
before (a copy, kept here as the oracle); the hypothesis test draws athletes
with gaps, NaN and null reports, duplicate days and every label parameter, and
compares ``make_labels`` (and so ``build_dataset``) with it row for row.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from features.schemas import FEATURES, conform
from models.learned import LabelParams, make_labels

D0 = date(2024, 1, 1)


def _labels_one_loop(athlete: str, dates: list[date], pain: np.ndarray, lp: LabelParams) -> pl.DataFrame:
    # index by calendar day so gaps in the rows are handled
    first = dates[0]
    n = (dates[-1] - first).days + 1
    p = np.full(n, np.nan)
    for d, v in zip(dates, pain, strict=True):
        p[(d - first).days] = v
    reported = ~np.isnan(p)
    if lp.label_op == "<=":
        sym = reported & (np.nan_to_num(p, nan=np.inf) <= lp.pain_threshold)
    else:
        sym = reported & (np.nan_to_num(p, nan=-np.inf) >= lp.pain_threshold)
    onset = np.zeros(n, dtype=bool)
    in_ep = np.zeros(n, dtype=bool)
    ret = np.zeros(n, dtype=bool)
    last_sym = -(10**9)
    ep_start = None
    for i in range(n):
        if sym[i]:
            if i - last_sym > lp.gap_d:
                onset[i] = True
                ep_start = i
            last_sym = i
    # episode spans: onset .. last symptomatic day before the next onset
    sym_idx = np.flatnonzero(sym)
    onsets = np.flatnonzero(onset)
    for k, s in enumerate(onsets):
        nxt = onsets[k + 1] if k + 1 < len(onsets) else n
        members = sym_idx[(sym_idx >= s) & (sym_idx < nxt)]
        end = int(members.max())
        in_ep[s : end + 1] = True
        ret[end + 1 : min(n, end + 1 + lp.return_window_d)] = True
    del ep_start
    H = lp.horizon_d
    label = np.zeros(n, dtype=np.int8)
    reason: list[str | None] = [None] * n
    csum_onset = np.concatenate([[0], np.cumsum(onset)])
    csum_rep = np.concatenate([[0], np.cumsum(reported)])
    for i in range(n):
        lo, hi = i + 1, i + H  # window d+1..d+H
        hi_c = min(hi, n - 1)
        has_onset = lo <= hi_c and csum_onset[hi_c + 1] - csum_onset[lo] > 0
        if in_ep[i]:
            reason[i] = "in_episode"
        elif ret[i]:
            reason[i] = "return_window"
        elif has_onset:
            label[i] = 1
        elif hi > n - 1:
            reason[i] = "censored"
        elif csum_rep[hi + 1] - csum_rep[lo] == 0:
            reason[i] = "no_reports"
    all_dates = [first + timedelta(days=i) for i in range(n)]
    df = pl.DataFrame(
        {
            "athlete_id": [athlete] * n,
            "date": all_dates,
            "label": [None if r else int(v) for v, r in zip(label, reason, strict=True)],
            "onset": onset,
            "in_episode": in_ep,
            "drop_reason": reason,
        },
        schema={
            "athlete_id": pl.String,
            "date": pl.Date,
            "label": pl.Int8,
            "onset": pl.Boolean,
            "in_episode": pl.Boolean,
            "drop_reason": pl.String,
        },
    )
    return df.filter(pl.col("date").is_in(dates))


def _loop_labels(features: pl.DataFrame, *, as_of: date, lp: LabelParams) -> pl.DataFrame:
    """``make_labels`` as it was: one Python loop per athlete and day."""
    f = (
        features.filter(pl.col("date") <= as_of)
        .select("athlete_id", "date", pl.col(lp.label_column).cast(pl.Float64).alias("_pain"))
        .sort("athlete_id", "date")
    )
    out = []
    for (athlete,), g in f.partition_by("athlete_id", as_dict=True, maintain_order=True).items():
        out.append(_labels_one_loop(athlete, g["date"].to_list(), g["_pain"].to_numpy(allow_copy=True), lp))
    return pl.concat(out)


@st.composite
def pain_frames(draw):
    """1-3 athletes, 1-80 days each, with gaps, null and NaN reports."""
    parts = []
    for k in range(draw(st.integers(1, 3))):
        n = draw(st.integers(1, 80))
        days = sorted(set(draw(st.lists(st.integers(0, n), min_size=1, max_size=n + 1))))
        vals = draw(
            st.lists(
                st.one_of(st.none(), st.just(float("nan")), st.sampled_from([0.0, 1.0, 2.0, 2.5, 3.0, 4.0, 6.0, 9.0])),
                min_size=len(days),
                max_size=len(days),
            )
        )
        parts.append(
            pl.DataFrame(
                {
                    "athlete_id": [f"a{k}"] * len(days),
                    "date": [D0 + timedelta(days=d) for d in days],
                    "back_pain_0_10": vals,
                },
                schema_overrides={"back_pain_0_10": pl.Float64},
            )
        )
    return conform(pl.concat(parts), FEATURES)


label_params = st.builds(
    LabelParams,
    horizon_d=st.integers(1, 10),
    pain_threshold=st.sampled_from([2.0, 3.0, 4.0]),
    gap_d=st.integers(1, 9),
    return_window_d=st.integers(0, 15),
    label_op=st.sampled_from([">=", "<="]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f=pain_frames(), lp=label_params, cut=st.integers(0, 90))
def test_columnar_labels_equal_the_per_day_loop(f, lp, cut):
    as_of = D0 + timedelta(days=cut)
    if f.filter(pl.col("date") <= as_of).is_empty():
        assert make_labels(f, as_of=as_of, params=lp).is_empty()
        return
    assert_frame_equal(make_labels(f, as_of=as_of, params=lp), _loop_labels(f, as_of=as_of, lp=lp))


def test_labels_by_hand_gap_episode_return_window_and_censoring():
    """One athlete, 40 days: pain >= 3 on days 5, 6 and 9 (one episode: 9 - 6 <= 7), on 20 (a new onset)."""
    pain = [0.0] * 40
    for d in (5, 6, 9, 20):
        pain[d] = 4.0
    pain[30] = None
    f = conform(
        pl.DataFrame(
            {"athlete_id": ["a"] * 40, "date": [D0 + timedelta(days=i) for i in range(40)], "back_pain_0_10": pain},
            schema_overrides={"back_pain_0_10": pl.Float64},
        ),
        FEATURES,
    )
    lp = LabelParams(horizon_d=7, gap_d=7, return_window_d=5)
    lab = make_labels(f, as_of=D0 + timedelta(days=39), params=lp)
    by = {(r["date"] - D0).days: r for r in lab.iter_rows(named=True)}
    assert [d for d, r in by.items() if r["onset"]] == [5, 20]
    assert [d for d, r in by.items() if r["in_episode"]] == [5, 6, 7, 8, 9, 20]
    assert [d for d, r in by.items() if r["drop_reason"] == "return_window"] == [10, 11, 12, 13, 14, 21, 22, 23, 24, 25]
    assert [d for d, r in by.items() if r["label"] == 1] == [0, 1, 2, 3, 4, 15, 16, 17, 18, 19]  # onset within 7 d
    assert by[0]["label"] == 1 and by[26]["label"] == 0
    assert all(by[d]["drop_reason"] == "censored" for d in range(33, 40))  # d + 7 beyond the last day


def test_build_dataset_equals_the_one_built_with_the_loop_labels(monkeypatch):
    """build_dataset (labels, model inputs, rule points) is the same frame with the old per-day labels."""
    from models import learned
    from tests.models import synth

    feats = synth.to_features(synth.labelled_team(n_athletes=6, days=200, seed=3))
    as_of = feats["date"].max()
    got = learned.build_dataset(feats, as_of=as_of)
    assert got.height > 0 and got["label"].sum() > 0
    monkeypatch.setattr(
        learned,
        "make_labels",
        lambda f, *, as_of, params=None: _loop_labels(f, as_of=as_of, lp=params or LabelParams()),
    )
    assert_frame_equal(got, learned.build_dataset(feats, as_of=as_of))
