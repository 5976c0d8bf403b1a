"""The default back-strain risk scorer: additive, capped, explained.

For every athlete and day ``d`` the scorer adds the points of nine components
(domain brief section 6), each capped, into a 0-100 ``risk_score`` with a band
(``low`` < 30 <= ``moderate`` < 60 <= ``high``), the reasons ordered by their
points, the rule that fired for each component, and concrete adjustments
(:mod:`models.adjustments`). It is a **risk indicator, not a diagnosis**: the
cut-offs are heuristics from the load, recovery and sleep literature, not
validated for low-back pain (brief section 6).

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
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields, replace
from datetime import date, timedelta
from typing import Any

import polars as pl

from features.schemas import FEATURES, SCORES, conform, require

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


def _p(default, lo, hi, doc, source, *, lo_open=False, hi_open=False):
    """A documented, range-checked numeric parameter."""
    return field(
        default=default,
        metadata={"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open, "doc": doc, "source": source},
    )


@dataclass(frozen=True)
class ScorerParams:
    """Every cap, threshold and advice constant of the rule scorer.

    Build with ``ScorerParams()`` for the defaults or
    :meth:`ScorerParams.from_dict` for a team's config section. Every field
    is range-checked on construction; cross-field orderings (e.g.
    ``acwr_spike_start < acwr_danger < acwr_max``) are checked too. Errors
    are ``ValueError`` naming the key, the allowed range and the value.

    Points are on the 0-100 score scale; ``*_cap`` is the most a component
    can add. See the module docstring for why the caps differ from the
    brief's starting values. ``params_markdown()`` renders this table with
    sources.
    """

    # ---- load spike (EWMA ACWR, row d-1)
    acwr_spike_start: float = _p(
        1.3,
        0.5,
        3.0,
        "EWMA ACWR where load-spike points start (0 points at or below)",
        "brief s2/s6: top of the 0.8-1.3 sweet spot [R8, R10]",
    )
    acwr_danger: float = _p(
        1.5,
        0.5,
        3.0,
        "EWMA ACWR 'danger' threshold; reaching it gives acwr_points_at_danger",
        "brief s2: >1.5 danger [R8, R10]",
    )
    acwr_max: float = _p(
        2.0, 0.5, 5.0, "EWMA ACWR where the load-spike cap is reached", "brief s6; acute/chronic > 200 % RR 4.5 [R9]"
    )
    acwr_points_at_danger: float = _p(
        40.0,
        0,
        100,
        "points at acwr_danger (linear from 0 at acwr_spike_start)",
        "brief s6 says 15; tuned so a spike alone reaches high (module docstring)",
    )
    acwr_cap: float = _p(
        55.0, 0, 100, "load-spike cap, reached at acwr_max", "brief s6 says 25; tuned (module docstring)"
    )
    # ---- weekly jump (row d-1)
    weekly_jump_start_pct: float = _p(
        10.0,
        0,
        500,
        "week-over-week load change [%] where points start",
        "brief s2: 10 % rule [R18] (conservative default)",
    )
    weekly_jump_high_pct: float = _p(
        30.0, 0, 500, "week-over-week load change [%] above which the cap applies", "brief s2: >30 % HR 1.59 [R17]"
    )
    weekly_jump_points_at_high: float = _p(
        12.0, 0, 100, "points reached at weekly_jump_high_pct (linear from 0 at the start)", "brief s6 says 8; tuned"
    )
    weekly_jump_min_ratio: float = _p(
        1.0,
        0,
        3.0,
        "the jump scores only when this week's load exceeds this multiple of the chronic weekly load (0: always); a "
        "rebound after an easy week back to the usual volume is not a ramp",
        "added: Nielsen's >30 % [R17] is progression beyond the usual load; the week-over-week rule alone flags every "
        "return from a recovery week",
    )
    weekly_jump_cap: float = _p(
        20.0,
        0,
        100,
        "weekly-jump points above weekly_jump_high_pct (also after an empty week)",
        "brief s6 says 12; tuned so a spike alone reaches high",
    )
    # ---- monotony / strain (row d-1)
    monotony_flag: float = _p(
        2.0, 1.0, 10.0, "monotony above which monotony_flag_points apply", "brief s2: flag monotony > 2.0 [R19, R20]"
    )
    monotony_high: float = _p(2.5, 1.0, 10.0, "monotony above which monotony_high_points apply", "brief s6")
    monotony_flag_points: float = _p(6.0, 0, 100, "points for monotony > monotony_flag", "brief s6")
    monotony_high_points: float = _p(8.0, 0, 100, "points for monotony > monotony_high", "brief s6")
    strain_points: float = _p(
        2.0,
        0,
        100,
        "extra points when strain_au > the athlete's own 90th percentile",
        "brief s2/s6: strain thresholds are individual [R19]",
    )
    monotony_cap: float = _p(10.0, 0, 100, "monotony/strain cap", "brief s6")
    # ---- hard-day streak (row d-1)
    hard_day_min_streak: int = _p(3, 1, 28, "consecutive days with load > 1.5 x CTL that score", "brief s6")
    hard_day_points: float = _p(8.0, 0, 100, "points (= cap) for a hard-day streak", "brief s6")
    # ---- CTL ramp (row d-1; TSS-like families only)
    ctl_ramp_mild: float = _p(
        5.0,
        0,
        100,
        "CTL rise per 7 days [TSS/d per week] above which ctl_ramp_mild_points apply",
        "brief s3: ramp <= 5/week [T2]",
    )
    ctl_ramp_high: float = _p(
        8.0, 0, 100, "CTL rise per 7 days above which the cap applies", "brief s3: Friel 5-8/week, ~10 the limit [T3]"
    )
    ctl_ramp_mild_points: float = _p(3.0, 0, 100, "points for a mild CTL ramp", "brief s6")
    ctl_ramp_cap: float = _p(6.0, 0, 100, "CTL-ramp cap (ramp > ctl_ramp_high)", "brief s6")
    tss_like_families: tuple[str, ...] = field(
        default=("tss", "hrss", "trimp100"),
        metadata={
            "doc": "load_family values in TSS-like units, for which the CTL ramp applies",
            "source": "brief s1: CTL-ramp thresholds apply only in TSS-like units",
        },
    )
    # ---- HRV (row d)
    hrv_suppressed_z: float = _p(
        -0.5,
        -5.0,
        0.0,
        "hrv_z below which HRV is suppressed (below the normal band)",
        "brief s4: band = baseline +- 0.5 SD [H5, H6]",
    )
    hrv_strong_z: float = _p(
        -1.0, -5.0, 0.0, "hrv_z below which HRV is strongly suppressed", "brief s4: strong < -1 SD [H7]"
    )
    hrv_suppressed_points: float = _p(
        12.0, 0, 100, "points for hrv_z < hrv_suppressed_z", "brief s6 says 8; tuned (module docstring)"
    )
    hrv_cap: float = _p(
        20.0, 0, 100, "HRV cap (hrv_z < hrv_strong_z)", "brief s6 says 12; tuned so HRV down + RHR up reaches moderate"
    )
    # ---- RHR (row d)
    rhr_mild_bpm: float = _p(
        3.0, 0, 40, "rhr_delta_bpm (7-d mean minus baseline) for 'mild'", "brief s4: Oura +3-5 bpm [V2]"
    )
    rhr_mild_z: float = _p(1.0, 0, 10, "rhr_z for 'mild'", "brief s4: z >= 1 yellow [V6]")
    rhr_flag_bpm: float = _p(5.0, 0, 40, "rhr_delta_bpm for 'flagged'", "brief s4: defaults +5 bpm")
    rhr_flag_z: float = _p(2.0, 0, 10, "rhr_z for 'flagged'", "brief s4: z >= 2 red [V6]")
    rhr_mild_points: float = _p(6.0, 0, 100, "points for a mild RHR elevation", "brief s6 says 4; tuned")
    rhr_cap: float = _p(
        12.0, 0, 100, "RHR cap (flagged elevation)", "brief s6 says 8; tuned so HRV down + RHR up reaches moderate"
    )
    # ---- sleep (row d)
    sleep_need_h: float = _p(
        8.0,
        4.0,
        12.0,
        "sleep per night [h] the advice aims for when neither a coach's need nor the athlete's own baseline is known",
        "brief s4/s6: aim for >= 8 h (athletes/youth), 7 h adults [S1, S2]",
    )
    coach_sleep_need_h: float = _p(
        0.0,
        0.0,
        12.0,
        "a fixed nightly sleep need [h] set by a coach; 0 = none: sleep is judged against the athlete's own usual "
        "sleep (sleep_baseline_h) and the floor only. When set, the fixed-need rule (7-d mean < need: "
        "sleep_short_points; sleep_debt_7d_h > sleep_debt_h / > sleep_debt_severe_h: + sleep_debt_points / + "
        "sleep_debt_severe_points) applies too; set [features.params] sleep_need_h to the same value, since "
        "sleep_debt_7d_h is computed there",
        "brief s4: need 8 h athletes/youth, 7 h adults [S1, S2]; a tracker's asleep time averages ~6.8 h in adults, so "
        "a fixed 8 h need flags most ordinary days",
    )
    sleep_floor_h: float = _p(
        6.0,
        0.0,
        12.0,
        "absolute floor [h]: a 7-d mean below it gives sleep_short_points even when it is the athlete's usual sleep",
        "brief s6 poor night < 6 h (poor_night_h); 6 h asleep ~ 7 h in bed at the 85 % efficiency of [S4], the adults' "
        "7-h need [S1, S2]",
    )
    sleep_short_points: float = _p(
        8.0,
        0,
        100,
        "points for a 7-d mean below the floor (or below a coach's need); also the first part of the personal-deficit "
        "points",
        "brief s6 says 6; tuned",
    )
    sleep_debt_h: float = _p(
        5.0,
        0,
        84,
        "7-d sleep deficit [h] above which sleep_short_points + sleep_debt_points apply; personal deficit = 7 x "
        "(sleep_baseline_h - sleep_7d_h), i.e. > 0.71 h a night below the athlete's usual",
        "brief s6: 7-d debt > 5 h, with the athlete's own usual sleep as the need (personal baseline, as HRV/RHR [H4])",
    )
    sleep_debt_points: float = _p(8.0, 0, 100, "points added for a deficit > sleep_debt_h", "brief s6 says 4; tuned")
    sleep_debt_severe_h: float = _p(
        10.0,
        0,
        84,
        "7-d sleep deficit [h] above which sleep_debt_severe_points are added (> 1.4 h a night below the usual)",
        "added tier: a week of short nights; tuned",
    )
    sleep_debt_severe_points: float = _p(
        14.0, 0, 100, "points added for debt > sleep_debt_severe_h", "tuned so a week of ~5-h nights reaches moderate"
    )
    sleep_eff_min_pct: float = _p(
        85.0,
        0,
        100,
        "sleep efficiency [%] below which sleep_eff_points are added",
        "brief s4: efficiency < 85 % flagged [S4]",
    )
    sleep_eff_points: float = _p(
        4.0, 0, 100, "points for poor sleep efficiency", "brief s6 says 2; scaled with the cap"
    )
    poor_night_h: float = _p(
        6.0,
        0,
        12,
        "last night's sleep [h] below which 'no high intensity today' is advised even without a 7-d debt",
        "brief s6: poor sleep -> no high-intensity or heavy lifting today",
    )
    sleep_cap: float = _p(30.0, 0, 100, "sleep cap", "brief s6 says 12; tuned (module docstring)")
    # ---- back symptoms (row d; optional)
    back_pain_min: float = _p(3.0, 0, 10, "back pain [0-10] that counts as symptomatic", "brief s6: pain >= 3/10")
    back_pain_after_d: int = _p(
        4,
        1,
        28,
        "days of pain >= back_pain_min before it scores (4 = beyond 72 h)",
        "brief s5: DOMS <= 72 h is expected",
    )
    back_pain_points: float = _p(5.0, 0, 100, "points for pain beyond 72 h", "brief s6")
    back_rising_points: float = _p(2.0, 0, 100, "extra points when pain rose on each of the last 3 days", "brief s6")
    back_cap: float = _p(7.0, 0, 100, "back-symptom cap", "brief s6")
    back_pain_clinician_d: int = _p(
        7,
        2,
        60,
        "days of pain after which 'see a clinician' is advised",
        "brief s5: no better after ~1 week [B13, B14]",
    )
    red_flag_followup_d: int = _p(
        7,
        0,
        60,
        "days after a red flag during which 'see a clinician' stays first in the advice",
        "brief s5: no better after ~1 week -> clinician",
    )
    red_flag_hold_d: int = _p(
        7,
        0,
        60,
        "days after a red-flag report during which the override (high, see a clinician) holds unless a later report "
        "says red_flag false",
        "brief s5/s6: a red flag overrides the score; symptoms do not clear overnight",
    )
    red_flag_pain: float = _p(
        6.0,
        0,
        10,
        "back pain [0-10] that, still rising beyond 72 h, is treated as a red flag",
        "brief s5 / issue: pain rising past a threshold beyond 72 h; 6 = upper 'moderate' on the NRS",
    )
    # ---- bands and coverage
    band_moderate: float = _p(30.0, 0, 100, "score from which the band is moderate", "brief s6")
    band_high: float = _p(60.0, 0, 100, "score from which the band is high", "brief s6")
    min_coverage_frac: float = _p(
        0.5,
        0,
        1,
        "share of the applicable caps that must have data, else insufficient_data",
        "brief s6: coverage < 50 -> insufficient data",
    )
    # ---- advice (models.adjustments)
    target_acwr: float = _p(
        1.1,
        0.5,
        2.0,
        "next week's target load as a multiple of the chronic weekly load",
        "brief s6: A* = 1.1 x sum(L 28 d)/4 [R8]",
    )
    weekly_increase_max_pct: float = _p(
        10.0, 0, 100, "largest weekly increase advised after holding volume [%]", "brief s6 / [R18]"
    )
    rest_after_d: int = _p(
        2, 1, 14, "days of HRV down + RHR up after which an easy day becomes a rest day", "brief s6 [H5, H7]"
    )
    deload_after_d: int = _p(
        3, 1, 28, "days in a row in the high band that trigger a deload week", "brief s6 (convention [I3])"
    )
    deload_low_frac: float = _p(
        0.4, 0, 1, "deload week volume, lower bound, as a share of the usual weekly load", "brief s6"
    )
    deload_high_frac: float = _p(0.6, 0, 1, "deload week volume, upper bound", "brief s6")

    # ------------------------------------------------------------ validation
    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "tss_like_families":
                if not isinstance(v, (tuple, list)) or not all(isinstance(x, str) for x in v):
                    raise ValueError(f"{f.name}: expected a list of strings, got {v!r}")
                object.__setattr__(self, f.name, tuple(x.lower() for x in v))
                continue
            m = f.metadata
            is_int = f.type in (int, "int")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(
                    f"{f.name}: expected {'an integer' if is_int else 'a number'} in {_range_text(m)}, got {v!r}"
                )
            if is_int and not float(v).is_integer():
                raise ValueError(f"{f.name}: expected an integer in {_range_text(m)}, got {v!r}")
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"{f.name}: expected a finite number in {_range_text(m)}, got {v!r}")
            lo_ok = v > m["lo"] if m["lo_open"] else v >= m["lo"]
            hi_ok = v < m["hi"] if m["hi_open"] else v <= m["hi"]
            if not (lo_ok and hi_ok):
                raise ValueError(f"{f.name}: expected a value in {_range_text(m)}, got {v!r}")
            object.__setattr__(self, f.name, int(v) if is_int else float(v))
        order = [
            ("acwr_spike_start", "acwr_danger"),
            ("acwr_danger", "acwr_max"),
            ("weekly_jump_start_pct", "weekly_jump_high_pct"),
            ("monotony_flag", "monotony_high"),
            ("ctl_ramp_mild", "ctl_ramp_high"),
            ("hrv_strong_z", "hrv_suppressed_z"),
            ("rhr_mild_bpm", "rhr_flag_bpm"),
            ("rhr_mild_z", "rhr_flag_z"),
            ("sleep_debt_h", "sleep_debt_severe_h"),
            ("band_moderate", "band_high"),
            ("deload_low_frac", "deload_high_frac"),
            ("acwr_points_at_danger", "acwr_cap"),
            ("weekly_jump_points_at_high", "weekly_jump_cap"),
            ("monotony_flag_points", "monotony_high_points"),
            ("ctl_ramp_mild_points", "ctl_ramp_cap"),
            ("hrv_suppressed_points", "hrv_cap"),
            ("rhr_mild_points", "rhr_cap"),
        ]
        for lo, hi in order:
            a, b = getattr(self, lo), getattr(self, hi)
            strict = not lo.endswith(("_points", "at_danger", "at_high", "_frac"))
            if (a >= b) if strict else (a > b):
                rel = "<" if strict else "<="
                raise ValueError(f"{lo} must be {rel} {hi}; got {lo}={a!r}, {hi}={b!r}")
        if self.monotony_high_points > self.monotony_cap:
            raise ValueError(
                f"monotony_high_points must be <= monotony_cap; got {self.monotony_high_points!r} > "
                f"{self.monotony_cap!r}"
            )
        if self.back_pain_points > self.back_cap:
            raise ValueError(f"back_pain_points must be <= back_cap; got {self.back_pain_points!r} > {self.back_cap!r}")

    @classmethod
    def from_dict(cls, values: Mapping[str, Any] | None) -> ScorerParams:
        """Defaults overridden by ``values`` (e.g. the ``[scorer]`` config section).

        Raises
        ------
        ValueError
            An unknown key (the message lists the known ones) or a bad value.
        """
        values = dict(values or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown scorer parameter {unknown[0]!r}"
                + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else "")
                + f"; known parameters: {', '.join(sorted(known))}"
            )
        fam = values.get("tss_like_families")
        if isinstance(fam, str):  # config files may give "tss, hrss"
            values["tss_like_families"] = tuple(x.strip() for x in fam.split(",") if x.strip())
        elif isinstance(fam, list):
            values["tss_like_families"] = tuple(fam)
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tss_like_families"] = list(self.tss_like_families)
        return d

    def replace(self, **changes: Any) -> ScorerParams:
        """A copy with ``changes`` applied (validated)."""
        return ScorerParams.from_dict({**self.to_dict(), **changes})


def _range_text(m: Mapping[str, Any]) -> str:
    left = "(" if m["lo_open"] else "["
    right = ")" if m["hi_open"] else "]"
    return f"{left}{m['lo']}, {m['hi']}{right}"


def params_markdown() -> str:
    """The parameter table (name, default, range, meaning, source) as Markdown."""
    lines = ["| parameter | default | range | meaning | source |", "|---|---|---|---|---|"]
    for f in fields(ScorerParams):
        default = f.default if f.default is not MISSING else None
        rng = _range_text(f.metadata) if "lo" in f.metadata else "list of str"
        lines.append(f"| `{f.name}` | {default} | {rng} | {f.metadata['doc']} | {f.metadata['source']} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- components
#: Component name -> (reason code, FEATURES row it reads: "d-1" or "d").
COMPONENTS: dict[str, tuple[str, str]] = {
    "load_spike": ("acwr_spike", "d-1"),
    "weekly_jump": ("weekly_ramp", "d-1"),
    "monotony": ("monotony", "d-1"),
    "hard_day_streak": ("hard_day_streak", "d-1"),
    "ctl_ramp": ("ctl_ramp", "d-1"),
    "hrv": ("hrv_suppressed", "d"),
    "rhr": ("rhr_elevated", "d"),
    "sleep": ("sleep_debt", "d"),
    "back_symptoms": ("back_symptoms", "d"),
}


@dataclass(frozen=True)
class Component:
    """One component's contribution to one day's score.

    Attributes
    ----------
    name : str
        Key of :data:`COMPONENTS`.
    reason : str
        Its reason code (``features.schemas.REASON_CODES``).
    points : float
        Points added (0 .. cap), rounded to 0.1.
    cap : float
        The most it can add.
    value : float or None
        The raw value the rule looked at (null when no data).
    rule : str
        What fired, with numbers: ``"ACWR(EWMA) 1.62 > 1.5: +43.6"``.
    has_data : bool
        Whether the inputs were present (counts towards coverage).
    applicable : bool
        False for CTL ramp in non-TSS units and back symptoms without a report
        (not counted in the possible points either).
    row : str
        FEATURES row read: ``"d-1"`` (load) or ``"d"`` (morning values).
    detail : mapping
        Extra inputs the advice needs (e.g. ``streak_d`` for back pain).
    """

    name: str
    reason: str
    points: float
    cap: float
    value: float | None
    rule: str
    has_data: bool = True
    applicable: bool = True
    row: str = "d"
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = {
            "component": self.name,
            "reason": self.reason,
            "points": self.points,
            "cap": self.cap,
            "value": None if self.value is None else round(float(self.value), 4),
            "rule": self.rule,
            "has_data": self.has_data,
            "applicable": self.applicable,
            "row": self.row,
        }
        if self.detail:
            out["detail"] = dict(self.detail)
        return out


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
    cap: float,
    value: float | None,
    rule: str,
    *,
    has_data: bool = True,
    applicable: bool = True,
) -> Component:
    reason, row = COMPONENTS[name]
    points = _pts(min(max(points, 0.0), cap))
    return Component(name, reason, points, cap, value, rule, has_data, applicable, row)


def _no_data(name: str, cap: float, what: str) -> Component:
    return _make(name, 0.0, cap, None, f"no data ({what})", has_data=False)


def load_spike(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Load spike from ``acwr_ewma`` of day d-1 [R8-R11].

    0 at or below ``acwr_spike_start``, linear to ``acwr_points_at_danger`` at
    ``acwr_danger``, linear to ``acwr_cap`` at ``acwr_max``, capped above.
    """
    x = _num(load, "acwr_ewma")
    if x is None:
        return _no_data("load_spike", p.acwr_cap, "EWMA ACWR needs 28 days of load history")
    if x <= p.acwr_spike_start:
        pts, rule = 0.0, f"ACWR(EWMA) {_fmt(x)} <= {_fmt(p.acwr_spike_start)}"
    elif x <= p.acwr_danger:
        pts = p.acwr_points_at_danger * (x - p.acwr_spike_start) / (p.acwr_danger - p.acwr_spike_start)
        rule = f"ACWR(EWMA) {_fmt(x)} > {_fmt(p.acwr_spike_start)}"
    else:
        frac = min(1.0, (x - p.acwr_danger) / (p.acwr_max - p.acwr_danger))
        pts = p.acwr_points_at_danger + (p.acwr_cap - p.acwr_points_at_danger) * frac
        rule = f"ACWR(EWMA) {_fmt(x)} > {_fmt(p.acwr_danger)}"
    c = _make("load_spike", pts, p.acwr_cap, x, "")
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
                    _make("weekly_jump", p.weekly_jump_cap, p.weekly_jump_cap, None, ""),
                    f"7-d load {_fmt(acute, 0)} AU after a week with none",
                )
            return _with_rule(_make("weekly_jump", 0.0, p.weekly_jump_cap, 0.0, ""), "no load this week or last")
        return _no_data("weekly_jump", p.weekly_jump_cap, "needs the 7-d load of the week before")
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
    return _with_rule(_make("weekly_jump", pts, p.weekly_jump_cap, x, ""), rule)


def monotony(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Foster monotony of the 7 days ending d-1, plus strain vs own P90 [R19, R20]."""
    x = _num(load, "monotony")
    acute = _num(load, "acute_7d_au")
    if x is None:
        if acute == 0.0:
            return _with_rule(_make("monotony", 0.0, p.monotony_cap, None, ""), "no load in 7 days")
        return _no_data("monotony", p.monotony_cap, "needs 7 days of load")
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
    return _with_rule(_make("monotony", pts, p.monotony_cap, x, ""), "; ".join(parts))


def hard_day_streak(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Consecutive days ending d-1 with load > 1.5 x CTL (brief s6)."""
    x = _num(load, "hard_day_streak")
    if x is None:
        return _no_data("hard_day_streak", p.hard_day_points, "needs load and CTL")
    if x >= p.hard_day_min_streak:
        pts, rule = p.hard_day_points, f"{int(x)} hard days in a row >= {p.hard_day_min_streak}"
    else:
        pts, rule = 0.0, f"{int(x)} hard day{'' if int(x) == 1 else 's'} in a row < {p.hard_day_min_streak}"
    return _with_rule(_make("hard_day_streak", pts, p.hard_day_points, x, ""), rule)


def ctl_ramp(load: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """CTL rise over the 7 days ending d-1, only in TSS-like units [T2, T3]."""
    fam = (load or {}).get("load_family")
    if fam is None or str(fam).lower() not in p.tss_like_families:
        c = _make(
            "ctl_ramp",
            0.0,
            p.ctl_ramp_cap,
            None,
            f"not applicable: load family {fam or 'unknown'} is not TSS-like",
            has_data=False,
            applicable=False,
        )
        return c
    x = _num(load, "ctl_ramp_7d")
    if x is None:
        return _no_data("ctl_ramp", p.ctl_ramp_cap, "needs 7 days of CTL")
    if x > p.ctl_ramp_high:
        pts, rule = p.ctl_ramp_cap, f"CTL ramp {_fmt(x, 1)}/wk > {_fmt(p.ctl_ramp_high)}"
    elif x > p.ctl_ramp_mild:
        pts, rule = p.ctl_ramp_mild_points, f"CTL ramp {_fmt(x, 1)}/wk > {_fmt(p.ctl_ramp_mild)}"
    else:
        pts, rule = 0.0, f"CTL ramp {_fmt(x, 1)}/wk <= {_fmt(p.ctl_ramp_mild)}"
    return _with_rule(_make("ctl_ramp", pts, p.ctl_ramp_cap, x, ""), rule)


def hrv(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """7-day ln rMSSD vs its 60-day baseline, in SDs (``hrv_z`` of day d) [H1-H7]."""
    x = _num(today, "hrv_z")
    if x is None:
        return _no_data("hrv", p.hrv_cap, "needs >= 3 HRV values this week and 14 in the baseline")
    if x < p.hrv_strong_z:
        pts, rule = p.hrv_cap, f"HRV z {_fmt(x)} < {_fmt(p.hrv_strong_z)}"
    elif x < p.hrv_suppressed_z:
        pts, rule = p.hrv_suppressed_points, f"HRV z {_fmt(x)} < {_fmt(p.hrv_suppressed_z)}"
    else:
        pts, rule = 0.0, f"HRV z {_fmt(x)} >= {_fmt(p.hrv_suppressed_z)}"
    return _with_rule(_make("hrv", pts, p.hrv_cap, x, ""), rule)


def rhr(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """7-day RHR vs its 60-day baseline, in bpm or SDs, whichever is worse [V2, V6]."""
    d, z = _num(today, "rhr_delta_bpm"), _num(today, "rhr_z")
    if d is None and z is None:
        return _no_data("rhr", p.rhr_cap, "needs >= 3 RHR values this week and 14 in the baseline")
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
    return _with_rule(_make("rhr", pts, p.rhr_cap, d if d is not None else z, ""), rule)


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
        return _no_data("sleep", p.sleep_cap, "needs >= 3 nights of sleep this week")
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
        _make("sleep", pts, p.sleep_cap, mean, ""),
        "; ".join(parts),
        **({"usual_h": round(base, 2)} if base is not None else {}),
    )


def back_symptoms(today: Mapping[str, Any] | None, p: ScorerParams) -> Component:
    """Self-reported low-back pain persisting beyond 72 h (optional) [B8, B13]."""
    x = _num(today, "back_pain_0_10")
    if x is None:
        return _make(
            "back_symptoms",
            0.0,
            p.back_cap,
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
    return _with_rule(_make("back_symptoms", pts, p.back_cap, x, ""), "; ".join(parts), streak_d=streak, rising=rising)


def _idle(load: Mapping[str, Any] | None, today: Mapping[str, Any] | None, recovery: tuple[Component, ...]) -> bool:
    """No sessions in the 7 days to d-1 and no device data in the 7 days to d.

    Zero load then means "nothing recorded" as much as "rest": the load
    components are treated as having no data, so a week without any data is
    ``insufficient_data``, never "low risk".
    """
    acute = _num(load, "acute_7d_au")
    cov = _num(today, "data_coverage_7d")
    return (
        acute == 0.0
        and (cov is None or cov == 0.0)
        and not any(c.has_data for c in recovery if c.name != "back_symptoms")
    )


# ---------------------------------------------------------------- one day
@dataclass(frozen=True)
class DayScore:
    """The explained score of one athlete-day (before adjustments).

    ``score`` is None when ``band == "insufficient_data"`` (unless a red flag
    overrides). ``points`` is the clipped sum of component points either way.
    """

    athlete_id: str
    date: date
    components: tuple[Component, ...]
    points: float
    coverage: float
    possible: float
    band: str
    score: float | None
    reasons: tuple[str, ...]
    red_flag: str | None = None

    @property
    def pct_of_coverage(self) -> float | None:
        return None if self.coverage <= 0 else round(100.0 * self.points / self.coverage, 1)

    def component(self, name: str) -> Component:
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)


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
    recovery = (hrv(today, p), rhr(today, p), sleep(today, p), back_symptoms(today, p))
    if _idle(load, today, recovery):
        why = "no sessions and no device data in the last 7 days"
        load_comps = tuple(
            _no_data(n, c, why)
            for n, c in (
                ("load_spike", p.acwr_cap),
                ("weekly_jump", p.weekly_jump_cap),
                ("monotony", p.monotony_cap),
                ("hard_day_streak", p.hard_day_points),
            )
        )
        load_comps += (ctl_ramp(load, p),)
        if load_comps[-1].applicable:
            load_comps = load_comps[:-1] + (_no_data("ctl_ramp", p.ctl_ramp_cap, why),)
    else:
        load_comps = (
            load_spike(load, p),
            weekly_jump(load, load_wk_before, p),
            monotony(load, p),
            hard_day_streak(load, p),
            ctl_ramp(load, p),
        )
    comps = load_comps + recovery
    points = _pts(min(100.0, sum(c.points for c in comps)))
    possible = sum(c.cap for c in comps if c.applicable)
    coverage = sum(c.cap for c in comps if c.applicable and c.has_data)
    order = {name: i for i, name in enumerate(COMPONENTS)}
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
    from models.adjustments import recommend  # local: adjustments imports this module for typing

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
