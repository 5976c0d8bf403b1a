"""Synthetic FEATURES / SCORES frames for report and alert tests.

Deterministic (``random.Random(seed)``), conformed with ``features.schemas.conform``.
The feature columns follow the DESIGN.md formulas closely enough to look
real (rolling sums, EWMA, ctl/atl); the scores are a simple additive rule in
the spirit of domain brief section 6 with ``components_json`` and
``adjustments_json``. They are test inputs, not a second implementation of
the scorer.
"""

from __future__ import annotations

import json
import math
import random
from datetime import date, timedelta

import polars as pl

from features.schemas import FEATURES, SCORES, conform


def _band(score: float, coverage: float) -> str:
    if coverage < 50:
        return "insufficient_data"
    return "high" if score >= 60 else "moderate" if score >= 30 else "low"


def athlete_frames(
    athlete: str,
    *,
    end: date,
    days: int = 84,
    seed: int = 0,
    spike: bool = False,
    red_flag_day: date | None = None,
    gap_days: tuple[date, ...] = (),
    no_physio: bool = False,
) -> tuple[list[dict], list[dict]]:
    """Feature and score rows (as dicts) for one athlete from ``end - days + 1`` to ``end``."""
    rnd = random.Random(seed)
    start = end - timedelta(days=days - 1)
    base_load = 300 + 150 * rnd.random()
    base_rhr = 48 + 8 * rnd.random()
    base_hrv = math.log(55 + 30 * rnd.random())
    loads, rhrs, hrvs, sleeps = [], [], [], []
    frows, srows = [], []
    e7 = e28 = None
    ctl = atl = 0.0
    l7, l28 = 2 / 8, 2 / 29
    for i in range(days):
        d = start + timedelta(days=i)
        days_left = (end - d).days
        rest = d.weekday() in (0, 4) and rnd.random() < 0.8
        load = 0.0 if rest else base_load * (0.6 + 0.8 * rnd.random())
        if spike and days_left < 10:
            load *= 2.6
        gap = d in gap_days
        rhr = None if (gap or no_physio) else base_rhr + rnd.gauss(0, 1.5) + (6 if spike and days_left < 6 else 0)
        hrv = None if (gap or no_physio) else base_hrv + rnd.gauss(0, 0.08) - (0.25 if spike and days_left < 6 else 0)
        sleep = None if gap else 7.6 + rnd.gauss(0, 0.6) - (1.3 if spike and days_left < 7 else 0)
        loads.append(load)
        rhrs.append(rhr)
        hrvs.append(hrv)
        sleeps.append(sleep)
        acute = sum(loads[-7:])
        chronic = sum(loads[-28:]) / 4
        acwr = acute / chronic if i >= 27 and chronic > 0 else None
        unc = sum(loads[-28:-7]) / 3 if i >= 27 else None
        e7 = load if e7 is None else l7 * load + (1 - l7) * e7
        e28 = load if e28 is None else l28 * load + (1 - l28) * e28
        ctl += (1 - math.exp(-1 / 42)) * (load - ctl)
        atl += (1 - math.exp(-1 / 7)) * (load - atl)

        def mean7(xs):
            v = [x for x in xs[-7:] if x is not None]
            return sum(v) / len(v) if len(v) >= 3 else None

        def base(xs):
            v = [x for x in xs[-61:-1] if x is not None]
            if len(v) < 14:
                return None, None
            m = sum(v) / len(v)
            sd = math.sqrt(sum((x - m) ** 2 for x in v) / (len(v) - 1))
            return m, sd

        r7, h7, s7 = mean7(rhrs), mean7(hrvs), mean7(sleeps)
        rb, rsd = base(rhrs)
        hb, hsd = base(hrvs)
        rz = (r7 - rb) / rsd if r7 is not None and rb is not None and rsd else None
        hz = (h7 - hb) / hsd if h7 is not None and hb is not None and hsd else None
        debt = sum(max(0.0, 8 - s) for s in sleeps[-7:] if s is not None)
        prev7 = sum(loads[-14:-7]) if i >= 13 else None
        wk = 100 * (acute / prev7 - 1) if prev7 else None
        w = loads[-7:]
        mu = sum(w) / len(w)
        sdw = math.sqrt(sum((x - mu) ** 2 for x in w) / (len(w) - 1)) if len(w) > 1 else 0.0
        mono = min(mu / sdw, 10.0) if sdw > 0 else (10.0 if mu > 0 else None)
        rf = red_flag_day == d
        frows.append(
            {
                "athlete_id": athlete,
                "date": d,
                "load_au": load,
                "acute_7d_au": acute,
                "chronic_28d_au": chronic,
                "acwr": acwr,
                "acwr_uncoupled": acute / unc if unc else None,
                "acwr_ewma": e7 / e28 if i >= 27 and e28 else None,
                "weekly_change_pct": wk,
                "monotony": mono,
                "strain_au": acute * mono if mono is not None else None,
                "ctl": ctl,
                "atl": atl,
                "tsb": ctl - atl,
                "rhr_bpm": rhr,
                "rhr_7d_bpm": r7,
                "rhr_z": rz,
                "hrv_ln_rmssd": hrv,
                "hrv_7d_ln": h7,
                "hrv_z": hz,
                "sleep_h": sleep,
                "sleep_7d_h": s7,
                "sleep_debt_7d_h": debt,
                "hard_day_streak": 0,
                "data_coverage_7d": None,
                "ctl_ramp_7d": None,
                "rhr_baseline_bpm": rb,
                "rhr_delta_bpm": (r7 - rb) if r7 is not None and rb is not None else None,
                "hrv_baseline_ln": hb,
                "sleep_eff_7d_pct": 90.0,
                "strain_p90_au": None,
                "back_pain_0_10": None,
                "back_pain_streak_d": 0,
                "back_pain_rising_3d": False,
                "red_flag": rf,
                "load_family": "srpe",
            }
        )
        # ---- score (simple additive rule, domain brief 6)
        comps, cover = [], 0.0
        ae = frows[-1]["acwr_ewma"]
        if ae is not None:
            cover += 25
            pts = 0.0 if ae <= 1.3 else (15 * (ae - 1.3) / 0.2 if ae <= 1.5 else min(25.0, 15 + 10 * (ae - 1.5) / 0.5))
            comps.append(
                {
                    "component": "load_spike",
                    "reason": "acwr_spike",
                    "points": round(pts, 1),
                    "cap": 25,
                    "value": round(ae, 2),
                    "rule": f"ACWR (EWMA) {ae:.2f} {'>' if ae > 1.3 else '<='} 1.3: +{pts:.0f}",
                }
            )
        if wk is not None:
            cover += 12
            pts = 0.0 if wk <= 10 else (8 * (wk - 10) / 20 if wk <= 30 else 12.0)
            comps.append(
                {
                    "component": "weekly_jump",
                    "reason": "weekly_ramp",
                    "points": round(pts, 1),
                    "cap": 12,
                    "value": round(wk, 1),
                    "rule": f"load {wk:+.0f} % vs previous week: +{pts:.0f}",
                }
            )
        if hz is not None:
            cover += 12
            pts = 12.0 if hz < -1 else 8.0 if hz < -0.5 else 0.0
            comps.append(
                {
                    "component": "hrv",
                    "reason": "hrv_suppressed",
                    "points": pts,
                    "cap": 12,
                    "value": round(hz, 2),
                    "rule": f"HRV 7-day z {hz:+.1f} SD: +{pts:.0f}",
                }
            )
        if rz is not None:
            cover += 8
            dlt = frows[-1]["rhr_delta_bpm"]
            pts = 8.0 if (rz >= 2 or dlt >= 5) else 4.0 if (rz >= 1 or dlt >= 3) else 0.0
            comps.append(
                {
                    "component": "rhr",
                    "reason": "rhr_elevated",
                    "points": pts,
                    "cap": 8,
                    "value": round(dlt, 1),
                    "rule": f"RHR {dlt:+.1f} bpm vs baseline (z {rz:+.1f}): +{pts:.0f}",
                }
            )
        if s7 is not None:
            cover += 12
            pts = (6.0 if s7 < 8 else 0.0) + (4.0 if debt > 5 else 0.0)
            comps.append(
                {
                    "component": "sleep",
                    "reason": "sleep_debt",
                    "points": pts,
                    "cap": 12,
                    "value": round(s7, 1),
                    "rule": f"7-day sleep {s7:.1f} h vs need 8 h, debt {debt:.1f} h: +{pts:.0f}",
                }
            )
        have = {c["component"] for c in comps}
        for name, reason, cap in (
            ("load_spike", "acwr_spike", 25),
            ("weekly_jump", "weekly_ramp", 12),
            ("hrv", "hrv_suppressed", 12),
            ("rhr", "rhr_elevated", 8),
            ("sleep", "sleep_debt", 12),
        ):
            if name not in have:  # like the real scorer: a component without data is listed with has_data false
                comps.append(
                    {
                        "component": name,
                        "reason": reason,
                        "points": 0.0,
                        "cap": cap,
                        "value": None,
                        "rule": f"no data ({name})",
                        "has_data": False,
                    }
                )
        points = sum(c["points"] for c in comps)
        score = min(100.0, points * 100 / 79 * 1.0) if cover else 0.0
        band = _band(score, cover)
        if rf:
            band = "high"
            score = 100.0
        reasons = [c["reason"] for c in sorted(comps, key=lambda c: -c["points"]) if c["points"] > 0]
        if rf:
            reasons = ["red_flag"] + reasons
        adj = []
        if rf:
            adj.append(
                {"code": "see_clinician", "text": "A red-flag symptom was reported: stop training and see a clinician."}
            )
        if ae is not None and ae > 1.5:
            tgt = 1.1 * chronic
            adj.append(
                {
                    "code": "cut_volume",
                    "text": (
                        f"Cut next week's training load to about {tgt:.0f} AU "
                        f"(1.1 x your chronic weekly load of {chronic:.0f} AU), "
                        f"{100 * (1 - tgt / acute):.0f} % less than this week's {acute:.0f} AU."
                    ),
                }
            )
        elif band in ("moderate", "high"):
            adj.append(
                {
                    "code": "hold_volume",
                    "text": (
                        f"Hold your weekly load at about {acute:.0f} AU for now, "
                        f"then raise it by no more than 10 % a week (at most {acute * 1.1:.0f} AU next week)."
                    ),
                }
            )
        if band in ("moderate", "high") and s7 is not None and s7 < 8:
            adj.append(
                {
                    "code": "prioritise_sleep",
                    "text": (
                        f"No high-intensity sessions or heavy lifting today, and aim "
                        f"for at least 8 h of sleep tonight (last 7 nights: {s7:.1f} h on average)."
                    ),
                }
            )
        srows.append(
            {
                "athlete_id": athlete,
                "date": d,
                "risk_score": round(score, 1),
                "risk_band": band,
                "reasons": ";".join(reasons),
                "adjustments": ";".join(a["code"] for a in adj),
                "coverage_points": cover,
                "score_pct_of_coverage": round(100 * points / cover, 1) if cover else None,
                "components_json": json.dumps(comps),
                "adjustments_json": json.dumps(adj),
                "model": "rules",
            }
        )
    return frows, srows


def team_frames(
    n: int = 6, *, end: date = date(2026, 4, 12), days: int = 84, names: dict[str, str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """FEATURES and SCORES for ``n`` athletes ``a01``..; a01 has a load spike, a02 a red flag,
    a03 a 3-day data gap in the last week, a04 no physiology at all."""
    fr, sr = [], []
    for i in range(n):
        a = f"a{i + 1:02d}"
        f, s = athlete_frames(
            a,
            end=end,
            days=days,
            seed=i + 1,
            spike=(i % 6 == 0),
            red_flag_day=(end - timedelta(days=2)) if i % 6 == 1 else None,
            gap_days=tuple(end - timedelta(days=k) for k in (3, 4, 5)) if i % 6 == 2 else (),
            no_physio=(i % 6 == 3),
        )
        fr += f
        sr += s
    features = conform(
        pl.DataFrame(fr, schema_overrides={k: v for k, v in FEATURES.columns.items()}, infer_schema_length=None),
        FEATURES,
    )
    scores = conform(
        pl.DataFrame(sr, schema_overrides={k: v for k, v in SCORES.columns.items()}, infer_schema_length=None), SCORES
    )
    return features, scores
