"""Adjustments: what to change, tied to the component that caused it, with numbers.

:func:`recommend` turns one explained :class:`models.components.DayScore` into a
list of :class:`Adjustment` (code from ``features.schemas.ADJUSTMENT_CODES``,
a filled-in sentence from :data:`models.vocab.ADJUSTMENT_TEXT`, the cause and
the numbers used). The advice follows the domain brief section 6:

===========================================  ===================================================
cause (component that fired)                 adjustment
===========================================  ===================================================
red flag (override)                          ``see_clinician`` only, with the red-flag list
red flag in the last ``red_flag_followup_d``  ``see_clinician`` first
days
high band ``deload_after_d`` (3)+ days       ``deload_week`` at ``deload_low_frac``-
in a row                                     ``deload_high_frac`` (40-60 %) of the chronic
                                             weekly load ``chronic_28d_au``
EWMA ACWR > ``acwr_danger`` (1.5)            ``cut_volume``: next 7-d target
                                             ``A* = target_acwr x chronic_28d_au``
                                             (1.1 x sum(L, 28 d) / 4) and the cut in % from
                                             the current ``acute_7d_au``; ``hold_volume``
                                             if that is no cut
ACWR 1.3-1.5, weekly jump > 10 %,            ``hold_volume``, then <= ``weekly_increase_max_pct``
CTL ramp                                     (10 %) a week
HRV suppressed and RHR elevated              ``easy_day``; ``rest_day`` once it has lasted
                                             ``rest_after_d`` (2)+ days [H5, H7]
HRV strongly suppressed alone                ``easy_day`` (Kiviniemi 2007 [H7])
hard-day streak                              ``easy_day``
sleep debt > ``sleep_debt_h``, efficiency    ``prioritise_sleep``: no high-intensity or heavy
< 85 %, or last night < ``poor_night_h``     lifting today, aim for >= ``sleep_need_h``
monotony > ``monotony_flag`` (2.0)           ``vary_load``: 1-2 easy days a week
back pain >= 3/10 within 72 h                ``mobility`` (DOMS lasts 1-3 d)
back pain for ``back_pain_clinician_d``+     ``see_clinician`` (no better after ~1 week)
days
===========================================  ===================================================

Loads ("AU") are in the athlete's own load units (``load_family``) and refer
to the FEATURES row of day d-1, the last complete training day.

Adjustments are ordered: ``see_clinician``, ``deload_week``, then by the
points of their cause (largest first), one per code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models.components import OTHER_CAUSES, DayScore, by_reason
from models.params import ScorerParams
from models.vocab import RED_FLAG_TEXT, format_adjustment

__all__ = ["Adjustment", "recommend"]


@dataclass(frozen=True)
class Adjustment:
    """One recommended change.

    Attributes
    ----------
    code : str
        ``features.schemas.ADJUSTMENT_CODES`` member.
    text : str
        Human sentence with the numbers filled in.
    cause : str
        Reason code (or ``"high_band_streak"``) that triggered it.
    values : dict
        The numbers in the sentence (loads [AU], hours [h], days).
    """

    code: str
    text: str
    cause: str
    values: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        vals = {k: (round(v, 2) if isinstance(v, float) else v) for k, v in self.values.items()}
        return {"code": self.code, "text": self.text, "cause": self.cause, "values": vals}


def _num(row: Mapping[str, Any] | None, col: str) -> float | None:
    if row is None or row.get(col) is None:
        return None
    v = float(row[col])
    return None if v != v else v


def _adj(code: str, cause_code: str, **values: Any) -> Adjustment:
    """An adjustment ``code`` caused by ``cause_code``, which must list it (the component's registry
    entry, :data:`models.components.OTHER_CAUSES` for the red flag and a high-band streak)."""
    c = by_reason(cause_code)
    allowed = c.adjustments if c is not None else OTHER_CAUSES.get(cause_code, ())
    if code not in allowed:
        raise ValueError(
            f"adjustment {code!r} is not one that {cause_code!r} can cause ({', '.join(allowed) or 'none'})"
        )
    return Adjustment(code, format_adjustment(code, **values), cause_code, values)


def _sleep_target_h(sl, p: ScorerParams) -> float:
    """Tonight's sleep target: the coach's need when set; else the athlete's usual sleep rounded up
    to a whole hour, at least the adults' 7 h [S1, S2]; else ``sleep_need_h`` (no baseline yet)."""
    if p.coach_sleep_need_h > 0:
        return p.coach_sleep_need_h
    usual = sl.detail.get("usual_h") if sl.detail else None
    return max(float(math.ceil(usual - 1e-9)), 7.0) if usual is not None else p.sleep_need_h


def recommend(
    day: DayScore,
    *,
    load: Mapping[str, Any] | None = None,
    high_streak_d: int = 0,
    recovery_streak_d: int = 0,
    params: ScorerParams | None = None,
    recent_red_flag: date | None = None,
    last_night_h: float | None = None,
) -> list[Adjustment]:
    """Adjustments for one scored athlete-day.

    Parameters
    ----------
    day : models.components.DayScore
        The explained score of day d.
    load : mapping or None
        FEATURES row of day d-1 (``acute_7d_au``, ``chronic_28d_au``,
        ``acwr_ewma``, ``monotony``, ``hard_day_streak``).
    high_streak_d : int
        Consecutive days ending d in the high band (d included).
    recovery_streak_d : int
        Consecutive days ending d with both HRV and RHR components firing.
    params : models.params.ScorerParams, optional
    recent_red_flag : datetime.date, optional
        Day of a red flag in the ``red_flag_followup_d`` days before d: keeps
        ``see_clinician`` first in the advice.
    last_night_h : float, optional
        Hours asleep last night (``sleep_h`` of day d) [h]; below
        ``poor_night_h`` it triggers ``prioritise_sleep`` on its own.

    Returns
    -------
    list of Adjustment
    """
    p = params or ScorerParams()
    if day.red_flag is not None:
        cause = f"{day.red_flag}; stop training until you have been seen"
        return [_adj("see_clinician", "red_flag", cause=cause, red_flags=RED_FLAG_TEXT)]

    pts = {c.name: c.points for c in day.components}
    acute, chronic = _num(load, "acute_7d_au"), _num(load, "chronic_28d_au")
    acwr = _num(load, "acwr_ewma")
    found: list[tuple[float, Adjustment]] = []  # (priority, adjustment)
    first: list[Adjustment] = []

    bp = day.component("back_symptoms")
    if recent_red_flag is not None:
        first.append(
            _adj(
                "see_clinician",
                "red_flag",
                cause=(
                    f"a red-flag symptom was reported on {recent_red_flag.isoformat()}; "
                    "if you have not been seen yet, do so before training hard again"
                ),
                red_flags=RED_FLAG_TEXT,
            )
        )
    if high_streak_d >= p.deload_after_d:
        lo = round(p.deload_low_frac * chronic) if chronic is not None else None
        hi = round(p.deload_high_frac * chronic) if chronic is not None else None
        first.append(
            _adj(
                "deload_week",
                "high_band_streak",
                days=high_streak_d,
                low_au=lo,
                high_au=hi,
                low_pct=100 * p.deload_low_frac,
                high_pct=100 * p.deload_high_frac,
            )
        )

    # load: cut or hold
    spike = pts.get("load_spike", 0.0)
    ramp = max(pts.get("weekly_jump", 0.0), pts.get("ctl_ramp", 0.0))
    if acwr is not None and acwr > p.acwr_danger and chronic is not None and acute is not None and acute > 0:
        target = round(p.target_acwr * chronic)  # whole AU: the number a coach plans with
        cut = round(100.0 * (1.0 - target / acute), 1)
        if cut > 0:
            found.append(
                (
                    spike,
                    _adj(
                        "cut_volume",
                        "acwr_spike",
                        target_au=target,
                        ratio=p.target_acwr,
                        chronic_au=chronic,
                        cut_pct=cut,
                        acute_au=acute,
                    ),
                )
            )
        else:
            found.append(
                (
                    spike,
                    _adj(
                        "hold_volume",
                        "acwr_spike",
                        acute_au=acute,
                        max_pct=p.weekly_increase_max_pct,
                        cause=f"EWMA ACWR {acwr:.2f}",
                    ),
                )
            )
    elif spike > 0 or ramp > 0:
        if spike >= ramp:
            cause_code, cause = "acwr_spike", f"EWMA ACWR {acwr:.2f} is above {p.acwr_spike_start:g}"
        elif pts.get("weekly_jump", 0.0) >= pts.get("ctl_ramp", 0.0):
            wc = day.component("weekly_jump").value
            cause_code = "weekly_ramp"
            cause = (
                f"this week's load is {wc:.0f} % above last week's"
                if wc is not None
                else "this week's load follows a week with none"
            )
        else:
            cause_code = "ctl_ramp"
            cause = f"CTL rose {day.component('ctl_ramp').value:.1f} in a week"
        found.append(
            (
                max(spike, ramp),
                _adj("hold_volume", cause_code, acute_au=acute, max_pct=p.weekly_increase_max_pct, cause=cause),
            )
        )

    # recovery: HRV down + RHR up -> easy day, rest when it lasts
    hrv_c, rhr_c = day.component("hrv"), day.component("rhr")
    easy_causes: list[tuple[float, str, str]] = []
    if hrv_c.points > 0 and rhr_c.points > 0:
        both = hrv_c.points + rhr_c.points
        if recovery_streak_d >= p.rest_after_d:
            found.append(
                (
                    both,
                    _adj(
                        "rest_day",
                        "hrv_suppressed",
                        cause="HRV below its normal range and resting heart rate up",
                        days=recovery_streak_d,
                    ),
                )
            )
        else:
            easy_causes.append((both, "hrv_suppressed", "HRV is below its normal range and resting heart rate is up"))
    elif hrv_c.value is not None and hrv_c.value < p.hrv_strong_z:
        easy_causes.append((hrv_c.points, "hrv_suppressed", f"HRV is {abs(hrv_c.value):.1f} SD below your baseline"))
    if pts.get("hard_day_streak", 0.0) > 0:
        n = int(day.component("hard_day_streak").value or 0)
        easy_causes.append((pts["hard_day_streak"], "hard_day_streak", f"{n} hard days in a row"))
    if easy_causes and not any(a.code == "rest_day" for _, a in found):
        easy_causes.sort(key=lambda t: -t[0])
        found.append(
            (easy_causes[0][0], _adj("easy_day", easy_causes[0][1], cause="; ".join(c for _, _, c in easy_causes)))
        )

    # sleep: "poor sleep" = more than a 7-d mean slightly under need (a debt or poor
    # efficiency), or a short night last night
    sl = day.component("sleep")
    short_night = last_night_h is not None and last_night_h < p.poor_night_h
    if sl.points > p.sleep_short_points or (short_night and sl.value is not None):
        found.append(
            (
                max(sl.points, p.sleep_short_points),
                _adj("prioritise_sleep", "sleep_debt", need_h=_sleep_target_h(sl, p), sleep_7d_h=sl.value),
            )
        )

    # monotony
    mo = day.component("monotony")
    if mo.value is not None and mo.value > p.monotony_flag:
        found.append((mo.points, _adj("vary_load", "monotony", monotony=mo.value, threshold=p.monotony_flag)))

    # back pain: early soreness -> mobility; lasting -> clinician
    if bp.value is not None and bp.value >= p.back_pain_min:
        streak = bp.detail.get("streak_d")
        if streak is not None and streak >= p.back_pain_clinician_d:
            first.insert(
                0,
                _adj(
                    "see_clinician",
                    "back_symptoms",
                    cause=f"back pain has lasted {streak} days without getting better",
                    red_flags=RED_FLAG_TEXT,
                ),
            )
        elif streak is not None and streak < p.back_pain_after_d:
            found.append((0.0, _adj("mobility", "back_symptoms")))
        else:
            found.append((bp.points, _adj("mobility", "back_symptoms")))

    found.sort(key=lambda t: -t[0])  # stable: equal priorities keep the order above
    out: list[Adjustment] = []
    seen: set[str] = set()
    for a in first + [a for _, a in found]:
        if a.code not in seen:
            seen.add(a.code)
            out.append(a)
    return out
