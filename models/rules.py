"""The default back-strain risk scorer: additive, capped, explained.

For every athlete and day ``d`` the scorer adds the points of nine components
(domain brief section 6), each capped, into a 0-100 ``risk_score`` with a band
(``low`` < 30 <= ``moderate`` < 60 <= ``high``), the reasons ordered by their
points, the rule that fired for each component, and concrete adjustments
(:mod:`models.adjustments`). It is a **risk indicator, not a diagnosis**: the
cut-offs are heuristics from the load, recovery and sleep literature, not
validated for low-back pain (brief section 6).

Each component's name, reason code, rows and columns read, cap parameter,
texts, learned-model inputs and advice codes are its entry in
:data:`models.components.REGISTRY`; this module holds each component's
per-row points rule (a function of the same name, registered with
``@_points`` and called with the rows of the entry's ``offsets``), the test
oracle of :mod:`models.columnar`. The parameters are
:class:`models.params.ScorerParams` (re-exported here).

Which row feeds which component
-------------------------------
The brief: "Runs nightly for day d on data <= d-1 (plus morning HRV/RHR/sleep)".
The score of day ``d`` is a morning, pre-training indicator, so

========================  =========  ==================================================
component                 FEATURES   columns
                          row
========================  =========  ==================================================
load spike                d-1        ``acwr_ewma``
weekly jump               d-1, d-8   ``weekly_change_pct`` (d-1); when that is null
                                     because the week before was empty,
                                     ``acute_7d_au`` of d-1 and d-8
monotony / strain         d-1        ``monotony``, ``strain_au``, ``strain_p90_au``,
                                     ``acute_7d_au``
hard-day streak           d-1        ``hard_day_streak``
CTL ramp                  d-1        ``ctl_ramp_7d``, ``load_family``
HRV                       d          ``hrv_z`` (7-d mean of ln rMSSD incl. the morning of d)
RHR                       d          ``rhr_delta_bpm``, ``rhr_z``
sleep                     d          ``sleep_7d_h``, ``sleep_baseline_h`` (the
                                     athlete's usual sleep, 60 nights before d),
                                     ``sleep_eff_7d_pct`` (nights ending d-6..d,
                                     i.e. including last night);
                                     ``sleep_debt_7d_h`` with a coach's need only
back symptoms             d          ``back_pain_0_10``, ``back_pain_streak_d``,
                                     ``back_pain_rising_3d`` (morning self-report)
red flag                  d          ``red_flag``; or pain >= ``red_flag_pain`` still
                                     rising beyond 72 h
advice numbers            d-1        ``acute_7d_au``, ``chronic_28d_au``
========================  =========  ==================================================

Training done on day ``d`` therefore first shows in the score of ``d+1``;
the physiology measured on the morning of ``d`` shows on ``d``.

Coverage
--------
A component *has data* when its input values are not null (a 7-day window
with no training at all counts as data for monotony: nothing monotonous
happened). ``coverage_points`` is the sum of the caps of components with
data; ``possible`` is the sum of the caps of *applicable* components (CTL
ramp only for TSS-like load families; back symptoms only on days with a
self-report, so an athlete who never reports pain is not penalised). When
``coverage_points < min_coverage_frac * possible`` the band is
``insufficient_data`` and ``risk_score`` is null: a coach sees "not enough
data", never "low risk". ``score_pct_of_coverage`` = ``100 * points /
coverage_points`` is reported either way. A week with no sessions (d-1
``acute_7d_au`` = 0) *and* no device data (``data_coverage_7d`` = 0, no HRV,
RHR or sleep value) is not a rest week but "nothing recorded": its load
components count as having no data.

Red flag
--------
A red flag on day ``d`` (``red_flag`` true, or back pain >= ``red_flag_pain``
that keeps rising beyond 72 h) overrides everything, coverage included:
``risk_score`` 100, band ``high``, reason ``red_flag`` first, adjustment
``see_clinician`` only, whose text lists the red flags of brief section 5.
The override holds for ``red_flag_hold_d`` days after the report (a symptom
does not clear overnight, and a coach must not see "low" the morning after a
red flag), unless a later day reports ``red_flag`` false explicitly. For
``red_flag_followup_d`` days afterwards ``see_clinician`` stays first in the
advice.

Tuning of the caps
------------------
The brief's caps (25, 12, 10, 8, 6, 12, 8, 12, 7; sum 100) are "a starting
point". With them a clear load spike (EWMA ACWR just above 1.5 with a
weekly jump above 30 %) scores 15 + 12 = 27, i.e. *low*, and the strongest
recovery signal (a week of 5-h nights: sleep 12; RHR +7 bpm with ln rMSSD
1 SD below baseline: 8 + 12 = 20) never reaches *moderate*. The product
requirement is that each of these signals alone is visible in the band:

* load spike: the points at ACWR 1.5 rise from 15 to 40 (cap 25 -> 55,
  reached at ACWR 2.0, where Hulin 2014 [R9] saw RR 4.5) and the weekly-jump
  points above 30 % from 12 to 20 (the Nielsen 2014 [R17] threshold; 10 %
  -> 30 % ramps 0 -> 12). ACWR > 1.5 with a jump > 30 % = 40 + 20 = 60:
  **high** on its own; ACWR 1.3-1.5 alone stays < 40 (low/moderate). The
  jump only scores when this week is above the chronic weekly load
  (``weekly_jump_min_ratio``): a rebound from an easy week back to the
  usual volume is not a progression.
* recovery: HRV cap 12 -> 20 (< -0.5 SD: 12, < -1 SD: 20) and RHR cap
  8 -> 12 (mild: 6, flagged: 12). HRV down with RHR up, "the strongest
  non-load signal" [H2], scores 20 + 12 = 32: **moderate**; either alone
  stays low.
* sleep: cap 12 -> 30, adding a severe tier, and judged against the
  athlete's own usual sleep (issue 15): the 7-d deficit 7 x (usual - 7-d
  mean) > 5 h scores 8 + 8, > 10 h another 14. A week of ~5-h nights after
  a usual 7.9 h (deficit ~18 h) scores 30: **moderate**. A stable 6.8-h
  sleeper scores 0; a 7-d mean below the 6-h floor scores 8; a fixed need
  applies only when a coach sets ``coach_sleep_need_h``.
* monotony, hard-day streak, CTL ramp and back symptoms keep the brief's
  caps; they add to the others ("several signals together push higher").

The caps now sum to more than 100; ``risk_score`` is the capped sum clipped
to 100. The steady-control scenario tests check that these caps keep
ordinary training out of ``high`` on >= 98 % and out of ``moderate``-or-
``high`` on >= 90 % of days (``tests/models/test_scenarios.py``).

References
----------
Domain brief (``../shared/docs/domain-brief.md``) sections 2-6 and its
reference list: R8 Gabbett 2016, R9 Hulin 2014, R10 Blanch & Gabbett 2016,
R11 Williams 2017 (EWMA ACWR), R17 Nielsen 2014, R18 Buist 2008, R19 Foster
1998, R20 monotony > 2 convention, T2/T3 CTL ramp, H1-H7 HRV, V2/V6 RHR,
S1-S4 sleep, B8/B11-B14 back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import polars as pl

from features.schemas import FEATURES, SCORES, conform, require
from models.adjustments import recommend
from models.components import NAMES, REGISTRY, Component, DayScore, spec
from models.params import ScorerParams, params_markdown

__all__ = [
    "ScorerParams",
    "Component",
    "DayScore",
    "COMPONENTS",
    "score_day",
    "score_features",
    "streaks_before",
    "band_for",
    "params_markdown",
]


# ---------------------------------------------------------------- components
#: Component name -> (reason code, FEATURES row of its Component), derived from the registry
#: (:data:`models.components.REGISTRY`, the one home of each component) for older callers.
COMPONENTS: dict[str, tuple[str, str]] = {c.name: (c.reason, c.row) for c in REGISTRY}

#: Component name -> its per-row points rule (``@_points``); looked up through the registry.
_ORACLES: dict[str, Callable[..., Component]] = {}


def _points(fn: Callable[..., Component]) -> Callable[..., Component]:
    """Register ``fn`` as the per-row rule of the registry component of the same name.

    It takes the FEATURES rows of the component's ``offsets`` (``d``, ``d-1``, ``d-8``, in
    that order) and the parameters, and returns a :class:`Component`.
    """
    spec(fn.__name__)  # KeyError for a name the registry does not know
    _ORACLES[fn.__name__] = fn
    return fn


def _num(row: Mapping[str, Any] | None, col: str) -> float | None:
    if row is None:
        return None
    v = row.get(col)
    if v is None:
        return None
    v = float(v)
    return None if math.isnan(v) else v


def _fmt(x: float, nd: int = 2) -> str:
    """``x`` with at most ``nd`` decimals, trailing zeros of the decimals dropped (70 -> "70", 1.50 -> "1.5")."""
    s = f"{x:.{nd}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def _pts(x: float) -> float:
    return round(x + 0.0, 1)


def _make(
    name: str,
    points: float,
    p: ScorerParams,
    value: float | None,
    rule: str,
    *,
    has_data: bool = True,
    applicable: bool = True,
) -> Component:
    """A :class:`Component` of registry component ``name``: its reason, row and cap from the registry."""
    c = spec(name)
    cap = c.cap(p)
    points = _pts(min(max(points, 0.0), cap))
    return Component(name, c.reason, points, cap, value, rule, has_data, applicable, c.row)


def _no_data(name: str, p: ScorerParams, what: str) -> Component:
    return _make(name, 0.0, p, None, f"no data ({what})", has_data=False)


@_points
def load_spike(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Load spike from ``acwr_ewma`` of day d-1 [R8-R11].

    0 at or below ``acwr_spike_start``, linear to ``acwr_points_at_danger`` at
    ``acwr_danger``, linear to ``acwr_cap`` at ``acwr_max``, capped above.
    """
    x = _num(load, "acwr_ewma")
    if x is None:
        return _no_data("load_spike", p, "EWMA ACWR needs 28 days of load history")
    if x <= p.acwr_spike_start:
        pts, rule = 0.0, f"ACWR(EWMA) {_fmt(x)} <= {_fmt(p.acwr_spike_start)}"
    elif x <= p.acwr_danger:
        pts = p.acwr_points_at_danger * (x - p.acwr_spike_start) / (p.acwr_danger - p.acwr_spike_start)
        rule = f"ACWR(EWMA) {_fmt(x)} > {_fmt(p.acwr_spike_start)}"
    else:
        frac = min(1.0, (x - p.acwr_danger) / (p.acwr_max - p.acwr_danger))
        pts = p.acwr_points_at_danger + (p.acwr_cap - p.acwr_points_at_danger) * frac
        rule = f"ACWR(EWMA) {_fmt(x)} > {_fmt(p.acwr_danger)}"
    c = _make("load_spike", pts, p, x, "")
    return _with_rule(c, rule)


def _with_rule(c: Component, rule: str, **detail: Any) -> Component:
    return Component(
        c.name,
        c.reason,
        c.points,
        c.cap,
        c.value,
        f"{rule}: +{_fmt(c.points, 1)}",
        c.has_data,
        c.applicable,
        c.row,
        detail,
    )


@_points
def weekly_jump(load: Mapping[str, Any] | None, load_wk_before: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Week-over-week change of the 7-day load, day d-1 vs d-8 [R17, R18].

    0 at or below ``weekly_jump_start_pct``, linear to
    ``weekly_jump_points_at_high`` at ``weekly_jump_high_pct``, the cap above
    it. When ``weekly_change_pct`` is null because the week before had no
    load (d-8 ``acute_7d_au`` == 0) and this week has load, the jump is
    unbounded: cap (a return after a break). A jump that only brings the
    week back to the usual volume (``acute_7d_au <= weekly_jump_min_ratio x
    chronic_28d_au``, e.g. after a recovery week) scores 0: it is not a
    progression.
    """
    x = _num(load, "weekly_change_pct")
    if x is None:
        acute = _num(load, "acute_7d_au")
        before = _num(load_wk_before, "acute_7d_au")
        if acute is not None and before is not None and before == 0.0:
            if acute > 0:
                return _with_rule(
                    _make("weekly_jump", p.weekly_jump_cap, p, None, ""),
                    f"7-d load {_fmt(acute, 0)} AU after a week with none",
                )
            return _with_rule(_make("weekly_jump", 0.0, p, 0.0, ""), "no load this week or last")
        return _no_data("weekly_jump", p, "needs the 7-d load of the week before")
    if x <= p.weekly_jump_start_pct:
        pts, rule = 0.0, f"weekly change {_fmt(x, 0)} % <= {_fmt(p.weekly_jump_start_pct)} %"
    elif x <= p.weekly_jump_high_pct:
        pts = (
            p.weekly_jump_points_at_high
            * (x - p.weekly_jump_start_pct)
            / (p.weekly_jump_high_pct - p.weekly_jump_start_pct)
        )
        rule = f"weekly change {_fmt(x, 0)} % > {_fmt(p.weekly_jump_start_pct)} %"
    else:
        pts, rule = p.weekly_jump_cap, f"weekly change {_fmt(x, 0)} % > {_fmt(p.weekly_jump_high_pct)} %"
    acute, chronic = _num(load, "acute_7d_au"), _num(load, "chronic_28d_au")
    if (
        pts > 0
        and p.weekly_jump_min_ratio > 0
        and acute is not None
        and chronic is not None
        and acute <= p.weekly_jump_min_ratio * chronic
    ):
        # a rebound from an easy week back to (or below) the usual volume is not a ramp
        pts = 0.0
        rule += (
            f", but this week's {_fmt(acute, 0)} AU is not above "
            f"{_fmt(p.weekly_jump_min_ratio)} x the 4-week average {_fmt(chronic, 0)} AU"
        )
    return _with_rule(_make("weekly_jump", pts, p, x, ""), rule)


@_points
def monotony(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Foster monotony of the 7 days ending d-1, plus strain vs own P90 [R19, R20]."""
    x = _num(load, "monotony")
    acute = _num(load, "acute_7d_au")
    if x is None:
        if acute == 0.0:
            return _with_rule(_make("monotony", 0.0, p, None, ""), "no load in 7 days")
        return _no_data("monotony", p, "needs 7 days of load")
    parts: list[str] = []
    pts = 0.0
    if x > p.monotony_high:
        pts, parts = p.monotony_high_points, [f"monotony {_fmt(x)} > {_fmt(p.monotony_high)}"]
    elif x > p.monotony_flag:
        pts, parts = p.monotony_flag_points, [f"monotony {_fmt(x)} > {_fmt(p.monotony_flag)}"]
    else:
        parts = [f"monotony {_fmt(x)} <= {_fmt(p.monotony_flag)}"]
    strain, p90 = _num(load, "strain_au"), _num(load, "strain_p90_au")
    if strain is not None and p90 is not None and strain > p90:
        pts += p.strain_points
        parts.append(f"strain {_fmt(strain, 0)} > own P90 {_fmt(p90, 0)}")
    return _with_rule(_make("monotony", pts, p, x, ""), "; ".join(parts))


@_points
def hard_day_streak(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Consecutive days ending d-1 with load > 1.5 x CTL (brief s6)."""
    x = _num(load, "hard_day_streak")
    if x is None:
        return _no_data("hard_day_streak", p, "needs load and CTL")
    if x >= p.hard_day_min_streak:
        pts, rule = p.hard_day_points, f"{int(x)} hard days in a row >= {p.hard_day_min_streak}"
    else:
        pts, rule = 0.0, f"{int(x)} hard day{'' if int(x) == 1 else 's'} in a row < {p.hard_day_min_streak}"
    return _with_rule(_make("hard_day_streak", pts, p, x, ""), rule)


@_points
def ctl_ramp(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """CTL rise over the 7 days ending d-1, only in TSS-like units [T2, T3]."""
    fam = (load or {}).get("load_family")
    if fam is None or str(fam).lower() not in p.tss_like_families:
        c = _make(
            "ctl_ramp",
            0.0,
            p,
            None,
            f"not applicable: load family {fam or 'unknown'} is not TSS-like",
            has_data=False,
            applicable=False,
        )
        return c
    x = _num(load, "ctl_ramp_7d")
    if x is None:
        return _no_data("ctl_ramp", p, "needs 7 days of CTL")
    if x > p.ctl_ramp_high:
        pts, rule = p.ctl_ramp_cap, f"CTL ramp {_fmt(x, 1)}/wk > {_fmt(p.ctl_ramp_high)}"
    elif x > p.ctl_ramp_mild:
        pts, rule = p.ctl_ramp_mild_points, f"CTL ramp {_fmt(x, 1)}/wk > {_fmt(p.ctl_ramp_mild)}"
    else:
        pts, rule = 0.0, f"CTL ramp {_fmt(x, 1)}/wk <= {_fmt(p.ctl_ramp_mild)}"
    return _with_rule(_make("ctl_ramp", pts, p, x, ""), rule)


@_points
def hrv(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """7-day ln rMSSD vs its 60-day baseline, in SDs (``hrv_z`` of day d) [H1-H7]."""
    x = _num(today, "hrv_z")
    if x is None:
        return _no_data("hrv", p, "needs >= 3 HRV values this week and 14 in the baseline")
    if x < p.hrv_strong_z:
        pts, rule = p.hrv_cap, f"HRV z {_fmt(x)} < {_fmt(p.hrv_strong_z)}"
    elif x < p.hrv_suppressed_z:
        pts, rule = p.hrv_suppressed_points, f"HRV z {_fmt(x)} < {_fmt(p.hrv_suppressed_z)}"
    else:
        pts, rule = 0.0, f"HRV z {_fmt(x)} >= {_fmt(p.hrv_suppressed_z)}"
    return _with_rule(_make("hrv", pts, p, x, ""), rule)


@_points
def rhr(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """7-day RHR vs its 60-day baseline, in bpm or SDs, whichever is worse [V2, V6]."""
    d, z = _num(today, "rhr_delta_bpm"), _num(today, "rhr_z")
    if d is None and z is None:
        return _no_data("rhr", p, "needs >= 3 RHR values this week and 14 in the baseline")
    dd = d if d is not None else -math.inf
    zz = z if z is not None else -math.inf
    desc = ", ".join(
        s
        for s in (
            f"+{_fmt(d, 1)} bpm" if d is not None and d >= 0 else (f"{_fmt(d, 1)} bpm" if d is not None else ""),
            f"z {_fmt(z)}" if z is not None else "",
        )
        if s
    )
    if dd >= p.rhr_flag_bpm or zz >= p.rhr_flag_z:
        pts, rule = p.rhr_cap, f"RHR {desc} >= +{_fmt(p.rhr_flag_bpm)} bpm or z {_fmt(p.rhr_flag_z)}"
    elif dd >= p.rhr_mild_bpm or zz >= p.rhr_mild_z:
        pts, rule = p.rhr_mild_points, f"RHR {desc} >= +{_fmt(p.rhr_mild_bpm)} bpm or z {_fmt(p.rhr_mild_z)}"
    else:
        pts, rule = 0.0, f"RHR {desc} below +{_fmt(p.rhr_mild_bpm)} bpm and z {_fmt(p.rhr_mild_z)}"
    return _with_rule(_make("rhr", pts, p, d if d is not None else z, ""), rule)


@_points
def sleep(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """7-day sleep against the athlete's own usual sleep, a floor and (optionally) a coach's need [S1-S4, B11, H4].

    * personal: deficit = 7 x (``sleep_baseline_h`` - ``sleep_7d_h``), the
      brief's 7-d debt with the athlete's usual sleep (mean of the 60 nights
      before d) as the need. > ``sleep_debt_h`` (5 h): short + debt points
      (16); > ``sleep_debt_severe_h`` (10 h): + severe points (30). A stable
      trait (a 6.8-h sleeper) gives no points: only a change does.
    * floor: ``sleep_7d_h`` < ``sleep_floor_h`` (6 h) gives at least
      ``sleep_short_points`` (8), with or without a baseline.
    * coach's need (``coach_sleep_need_h`` > 0 only): the brief's fixed-need
      rule on ``sleep_7d_h`` and ``sleep_debt_7d_h``; the larger of the two
      rules counts.
    * efficiency < ``sleep_eff_min_pct``: + ``sleep_eff_points``.

    The measurement kind (tracker asleep time, time in bed, a self-report)
    differs between sources; comparing each athlete with their own usual
    sleep from the same data removes most of that difference.
    """
    mean = _num(today, "sleep_7d_h")
    if mean is None:
        return _no_data("sleep", p, "needs >= 3 nights of sleep this week")
    base = _num(today, "sleep_baseline_h")
    debt, eff = _num(today, "sleep_debt_7d_h"), _num(today, "sleep_eff_7d_pct")
    personal, parts = 0.0, []
    if base is not None:
        deficit = 7.0 * (base - mean)
        text = f"7-d sleep {_fmt(mean, 1)} h vs usual {_fmt(base, 1)} h"
        if deficit > p.sleep_debt_severe_h:
            personal = p.sleep_short_points + p.sleep_debt_points + p.sleep_debt_severe_points
            parts.append(f"{text}: deficit {_fmt(deficit, 1)} h > {_fmt(p.sleep_debt_severe_h, 1)} h")
        elif deficit > p.sleep_debt_h:
            personal = p.sleep_short_points + p.sleep_debt_points
            parts.append(f"{text}: deficit {_fmt(deficit, 1)} h > {_fmt(p.sleep_debt_h, 1)} h")
        else:
            parts.append(text)
    else:
        parts.append(f"7-d sleep {_fmt(mean, 1)} h (no usual sleep yet: needs 14 nights)")
    if mean < p.sleep_floor_h:
        parts.append(f"below the {_fmt(p.sleep_floor_h, 1)}-h floor")
        personal = max(personal, p.sleep_short_points)
    need_pts = 0.0
    if p.coach_sleep_need_h > 0:
        if mean < p.coach_sleep_need_h:
            need_pts += p.sleep_short_points
            parts.append(f"< coach's need {_fmt(p.coach_sleep_need_h, 1)} h")
        if debt is not None:
            if debt > p.sleep_debt_severe_h:
                need_pts += p.sleep_debt_points + p.sleep_debt_severe_points
                parts.append(
                    f"debt {_fmt(debt, 1)} h > {_fmt(p.sleep_debt_h, 1)} h and > {_fmt(p.sleep_debt_severe_h, 1)} h"
                )
            elif debt > p.sleep_debt_h:
                need_pts += p.sleep_debt_points
                parts.append(f"debt {_fmt(debt, 1)} h > {_fmt(p.sleep_debt_h, 1)} h")
    pts = max(personal, need_pts)
    if eff is not None and eff < p.sleep_eff_min_pct:
        pts += p.sleep_eff_points
        parts.append(f"efficiency {_fmt(eff, 0)} % < {_fmt(p.sleep_eff_min_pct, 0)} %")
    return _with_rule(
        _make("sleep", pts, p, mean, ""),
        "; ".join(parts),
        **({"usual_h": round(base, 2)} if base is not None else {}),
    )


@_points
def back_symptoms(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Self-reported low-back pain persisting beyond 72 h (optional) [B8, B13]."""
    x = _num(today, "back_pain_0_10")
    if x is None:
        return _make(
            "back_symptoms",
            0.0,
            p,
            None,
            "not applicable: no back-pain report today",
            has_data=False,
            applicable=False,
        )
    streak = int(_num(today, "back_pain_streak_d") or 0)
    rising = bool((today or {}).get("back_pain_rising_3d"))
    pts, parts = 0.0, []
    if x >= p.back_pain_min and streak >= p.back_pain_after_d:
        pts += p.back_pain_points
        parts.append(f"back pain {_fmt(x, 1)}/10 for {streak} days (beyond 72 h)")
        if rising:
            pts += p.back_rising_points
            parts.append("rising 3 days")
    elif x >= p.back_pain_min:
        parts.append(f"back pain {_fmt(x, 1)}/10 for {streak} day{'s' if streak != 1 else ''} (<= 72 h)")
    else:
        parts.append(f"back pain {_fmt(x, 1)}/10 < {_fmt(p.back_pain_min, 0)}")
    return _with_rule(_make("back_symptoms", pts, p, x, ""), "; ".join(parts), streak_d=streak, rising=rising)


#: why the load components of a week with nothing recorded have no data (:func:`_idle`)
IDLE_WHY = "no sessions and no device data in the last 7 days"


def _idle(load: Mapping[str, Any] | None, today: Mapping[str, Any] | None, comps: tuple[Component, ...]) -> bool:
    """No sessions in the 7 days to d-1 and no device data in the 7 days to d.

    Zero load then means "nothing recorded" as much as "rest": the load
    components are treated as having no data, so a week without any data is
    ``insufficient_data``, never "low risk". Device data: the components of
    the registry's ``device`` group.
    """
    acute = _num(load, "acute_7d_au")
    cov = _num(today, "data_coverage_7d")
    return (
        acute == 0.0
        and (cov is None or cov == 0.0)
        and not any(c.has_data for c in comps if spec(c.name).group == "device")
    )


if set(_ORACLES) != set(NAMES):  # a registry entry without its rule, or a rule without an entry
    raise ImportError(f"models.rules: per-row points rules {sorted(_ORACLES)} differ from the registry's {list(NAMES)}")


# ---------------------------------------------------------------- one day
def band_for(score: float, params: ScorerParams | None = None) -> str:
    """``low`` / ``moderate`` / ``high`` for a 0-100 score (brief s6 bands)."""
    p = params or ScorerParams()
    if score >= p.band_high:
        return "high"
    if score >= p.band_moderate:
        return "moderate"
    return "low"


def red_flag_reason(today: Mapping[str, Any] | None, p: ScorerParams) -> str | None:
    """Why day d is a red-flag day, or None.

    A reported red flag (``red_flag`` true), or back pain >= ``red_flag_pain``
    that rose on each of the last 3 days while lasting beyond 72 h
    (``back_pain_streak_d >= back_pain_after_d``).
    """
    if today is None:
        return None
    if today.get("red_flag") is True:
        return "red-flag symptom reported"
    x = _num(today, "back_pain_0_10")
    streak = int(_num(today, "back_pain_streak_d") or 0)
    if (
        x is not None
        and x >= p.red_flag_pain
        and bool(today.get("back_pain_rising_3d"))
        and streak >= p.back_pain_after_d
    ):
        return f"back pain {_fmt(x, 1)}/10 still rising after {streak} days"
    return None


def score_day(
    today: Mapping[str, Any],
    load: Mapping[str, Any] | None = None,
    load_wk_before: Mapping[str, Any] | None = None,
    params: ScorerParams | None = None,
) -> DayScore:
    """Score one athlete-day from its FEATURES rows.

    Parameters
    ----------
    today : mapping
        FEATURES row of day d (morning HRV/RHR/sleep, back pain, red flag);
        must have ``athlete_id`` and ``date``.
    load : mapping or None
        FEATURES row of day d-1 (load components); None when absent.
    load_wk_before : mapping or None
        FEATURES row of day d-8 (only its ``acute_7d_au``, for a weekly jump
        after an empty week).
    params : ScorerParams, optional

    Returns
    -------
    DayScore
    """
    p = params or ScorerParams()
    rows = {"d": today, "d-1": load, "d-8": load_wk_before}
    comps = tuple(_ORACLES[c.name](*(rows[r] for r in c.offsets), p) for c in REGISTRY)
    if _idle(load, today, comps):
        comps = tuple(
            _no_data(c.name, p, IDLE_WHY) if spec(c.name).group == "load" and c.applicable else c for c in comps
        )
    points = _pts(min(100.0, sum(c.points for c in comps)))
    possible = sum(c.cap for c in comps if c.applicable)
    coverage = sum(c.cap for c in comps if c.applicable and c.has_data)
    order = {name: i for i, name in enumerate(NAMES)}
    fired = sorted((c for c in comps if c.points > 0), key=lambda c: (-c.points, order[c.name]))
    reasons = tuple(c.reason for c in fired)
    rf = red_flag_reason(today, p)
    if rf is not None:
        band, score = "high", 100.0
        reasons = ("red_flag",) + reasons
    elif possible <= 0 or coverage < p.min_coverage_frac * possible:
        band, score = "insufficient_data", None
    else:
        band, score = band_for(points, p), points
    return DayScore(
        athlete_id=str(today.get("athlete_id")),
        date=today.get("date"),
        components=comps,
        points=points,
        coverage=coverage,
        possible=possible,
        band=band,
        score=score,
        reasons=reasons,
        red_flag=rf,
    )


# ---------------------------------------------------------------- frames
def score_features(
    features: pl.DataFrame, *, as_of: date, params: ScorerParams | None = None, start: date | None = None
) -> pl.DataFrame:
    """Rule scores for every athlete-day of ``features`` up to ``as_of``.

    Parameters
    ----------
    features : polars.DataFrame
        FEATURES frame (``features.schemas.FEATURES``), one row per athlete
        and calendar day.
    as_of : datetime.date
        Last day scored; later rows are ignored (never read).
    params : ScorerParams, optional
        Defaults: ``ScorerParams()``.
    start : datetime.date, optional
        First day returned (earlier days are still read for streaks and
        the d-1 / d-8 rows).

    Returns
    -------
    polars.DataFrame
        SCORES frame: ``athlete_id, date, risk_score, risk_band, reasons,
        adjustments, coverage_points, score_pct_of_coverage,
        components_json, adjustments_json, model`` (``"rules"``), one row
        per athlete-day of ``features`` in ``[start, as_of]``, sorted.

    Raises
    ------
    features.schemas.SchemaError
        ``features`` does not match FEATURES.
    """
    p = params or ScorerParams()
    require(features, FEATURES)
    if not isinstance(as_of, date):
        raise TypeError(f"as_of must be a datetime.date, got {type(as_of).__name__}")
    f = features.filter(pl.col("date") <= as_of).sort("athlete_id", "date")
    out: list[dict[str, Any]] = []
    one = timedelta(days=1)
    for (_athlete,), frame in f.partition_by("athlete_id", as_dict=True, maintain_order=True).items():
        rows = {r["date"]: r for r in frame.iter_rows(named=True)}
        days = sorted(rows)
        last_rf: date | None = None  # latest red-flag day (advice follow-up)
        hold_rf: date | None = None  # the same, cleared by an explicit red_flag false (score override)
        if start is not None:
            days = [d for d in days if d >= start]
            high_streak, recov_streak = streaks_before(rows, start, p)
            prev_day: date | None = start - one if (high_streak or recov_streak) else None
            for k in range(max(p.red_flag_followup_d, p.red_flag_hold_d), 0, -1):
                row, day_k = rows.get(start - k * one), start - k * one
                hold_rf = _next_red_flag_day(row, day_k, hold_rf, p)
                if red_flag_reason(row, p) is not None:
                    last_rf = day_k
        else:
            high_streak = recov_streak = 0
            prev_day = None
        for d in days:
            today = rows[d]
            load = rows.get(d - one)
            day = score_day(today, load, rows.get(d - 8 * one), p)
            fresh_rf = day.red_flag is not None
            if (
                day.red_flag is None
                and hold_rf is not None
                and today.get("red_flag") is not False
                and (d - hold_rf).days <= p.red_flag_hold_d
            ):
                day = replace(
                    day,
                    band="high",
                    score=100.0,
                    reasons=("red_flag",) + day.reasons,
                    red_flag=f"red flag reported on {hold_rf.isoformat()} "
                    f"({(d - hold_rf).days} d ago) and not cleared since",
                )
            contiguous = prev_day is not None and d - prev_day == one
            high_streak = (high_streak + 1 if contiguous else 1) if day.band == "high" else 0
            recov_streak = (recov_streak + 1 if contiguous else 1) if _recovery_both(day) else 0
            prev_day = d
            recent_rf = last_rf if last_rf is not None and (d - last_rf).days <= p.red_flag_followup_d else None
            adj = recommend(
                day,
                load=load,
                high_streak_d=high_streak,
                recovery_streak_d=recov_streak,
                params=p,
                recent_red_flag=recent_rf,
                last_night_h=_num(today, "sleep_h"),
            )
            hold_rf = _next_red_flag_day(today, d, hold_rf, p)  # an explicit "false" report clears it
            if fresh_rf:
                last_rf = d
            out.append(_score_row(day, adj, model="rules"))
    if not out:
        return SCORES.empty()
    return conform(pl.DataFrame(out, schema=SCORES.polars_schema), SCORES).sort("athlete_id", "date")


def _next_red_flag_day(row: Mapping[str, Any] | None, d: date, last_rf: date | None, p: ScorerParams) -> date | None:
    """The latest red-flag day after looking at ``row`` (day ``d``): ``d`` when it has a
    fresh red flag, None when it reports ``red_flag`` false, else unchanged."""
    if row is None:
        return last_rf
    if red_flag_reason(row, p) is not None:
        return d
    if row.get("red_flag") is False:
        return None
    return last_rf


def _recovery_both(day: DayScore) -> bool:
    return day.component("hrv").points > 0 and day.component("rhr").points > 0


def streaks_before(rows: Mapping[date, Mapping[str, Any]], start: date, p: ScorerParams) -> tuple[int, int]:
    """High-band and HRV-and-RHR streaks ending the day before ``start``.

    Walks back from ``start - 1`` only until both streaks are broken, so a
    ``start``-limited run gives exactly the rows of a full run without
    scoring the whole history.
    """
    one = timedelta(days=1)
    high = recov = 0
    high_open = recov_open = True
    d = start - one
    while (high_open or recov_open) and d in rows:
        day = score_day(rows[d], rows.get(d - one), rows.get(d - 8 * one), p)
        if high_open:
            if day.band == "high":
                high += 1
            else:
                high_open = False
        if recov_open:
            if _recovery_both(day):
                recov += 1
            else:
                recov_open = False
        d -= one
    return high, recov


def _score_row(day: DayScore, adjustments, *, model: str, components_json: str | None = None) -> dict[str, Any]:
    return {
        "athlete_id": day.athlete_id,
        "date": day.date,
        "risk_score": day.score,
        "risk_band": day.band,
        "reasons": ";".join(day.reasons),
        "adjustments": ";".join(a.code for a in adjustments),
        "coverage_points": float(day.coverage),
        "score_pct_of_coverage": day.pct_of_coverage,
        "components_json": components_json
        if components_json is not None
        else json.dumps([c.as_json() for c in day.components], separators=(",", ":")),
        "adjustments_json": json.dumps([a.as_json() for a in adjustments], separators=(",", ":")),
        "model": model,
    }
