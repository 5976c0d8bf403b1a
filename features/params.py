"""Parameters of the feature stage, validated once when they are built.

:class:`FeatureParams` is a frozen dataclass: every window, time constant and
threshold used by :mod:`features.daily` and :mod:`features.compute` is a field
here, so the pure functions never hide a constant. Invalid values raise a
:class:`ValueError` that names the parameter, the allowed range and the value
(the scikit-learn ``validate_params`` convention, ``docs/style.md`` section 5).

The defaults reproduce the features output contract of ``docs/design.md`` and the
domain brief (``docs/domain-brief.md`` sections 2-4). The contract's column
names keep their default windows in the name (``acute_7d_au``,
``chronic_28d_au``, ``rhr_7d_bpm`` ...) even when a window is changed here;
change windows only for research, not for the exported contract.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from numbers import Integral, Real

from features.load import FAMILIES

__all__ = ["FeatureParams", "DEFAULT_PARAMS"]

# (kind, low, high, low_closed, high_closed); "int" fields must be integers.
_RULES: dict[str, tuple[str, float, float, bool, bool]] = {
    "acute_days": ("int", 2, 60, True, True),
    "chronic_days": ("int", 2, 365, True, True),
    "ewma_acute_span_d": ("int", 1, 365, True, True),
    "ewma_chronic_span_d": ("int", 1, 365, True, True),
    "ctl_tau_d": ("real", 0, 1000, False, True),
    "atl_tau_d": ("real", 0, 1000, False, True),
    "mean_window_d": ("int", 1, 60, True, True),
    "min_valid_days": ("int", 1, 60, True, True),
    "baseline_days": ("int", 2, 365, True, True),
    "baseline_min_values": ("int", 2, 365, True, True),
    "sleep_need_h": ("real", 0, 24, False, True),
    "hard_day_factor": ("real", 1, 100, False, True),
    "ctl_ramp_days": ("int", 1, 60, True, True),
    "back_pain_threshold": ("real", 0, 10, True, True),
    "back_pain_rising_days": ("int", 1, 14, True, True),
    "strain_quantile": ("real", 0, 1, True, True),
    "strain_min_values": ("int", 1, 3650, True, True),
    "family_window_d": ("int", 1, 365, True, True),
    "monotony_cap": ("real", 0, 1e6, False, True),
    "sd_rel_tol": ("real", 0, 1e-3, True, True),
    "load_tail_days": ("int", 0, 365, True, True),
}
#: allowed values of FeatureParams.load_family
_LOAD_FAMILIES = ("auto", *FAMILIES)


@dataclass(frozen=True)
class FeatureParams:
    """Windows, time constants and thresholds of the feature stage.

    Parameters
    ----------
    acute_days : int, default 7
        Acute window A [d], at least 2 (monotony needs a sample SD): ``acute_7d_au`` = sum of ``load_au`` over
        d-A+1..d [R8].
    chronic_days : int, default 28
        Chronic window C [d]: ``chronic_28d_au`` = sum over d-C+1..d times A/C
        (the weekly average, divided by 4 for 28 days) [R8]; also the warm-up
        of every ACWR variant: null while fewer than C days of history exist.
        Must be larger than ``acute_days``.
    ewma_acute_span_d, ewma_chronic_span_d : int, default 7 and 28
        Spans N of the EWMA ACWR, lambda = 2 / (N + 1) [R11].
    ctl_tau_d, atl_tau_d : float, default 42 and 7
        Time constants tau [d] of the fitness (CTL) and fatigue (ATL)
        exponentials, daily gain 1 - exp(-1/tau) [G2].
    mean_window_d : int, default 7
        Window [d] of the 7-day means of RHR, ln rMSSD, sleep and sleep
        efficiency, and of the 7-day sleep debt and data coverage [H1, H3].
    min_valid_days : int, default 3
        Fewest values a 7-day mean needs, else null [H3].
    baseline_days : int, default 60
        Baseline window [d] d-B..d-1 of the RHR and ln rMSSD z-scores [H4].
    baseline_min_values : int, default 14
        Fewest values a baseline needs, else null. Must not exceed ``baseline_days``.
    sleep_need_h : float, default 8.0
        Nightly sleep need [h] of the sleep debt; 7 h for adults [S1, S2].
    hard_day_factor : float, default 1.5
        A hard day has ``load_au`` above this factor (> 1) times the previous
        day's CTL (domain brief section 6, hard-day streak).
    ctl_ramp_days : int, default 7
        ``ctl_ramp_7d`` = CTL_d - CTL_(d-k) [G2, T2].
    back_pain_threshold : float, default 3.0
        Back-pain streaks count days with ``back_pain_0_10`` at or above this [0-10].
    back_pain_rising_days : int, default 3
        ``back_pain_rising_3d`` needs a strict rise on each of this many days.
    strain_quantile : float, default 0.9
        Quantile of the athlete's own earlier ``strain_au`` in ``strain_p90_au`` [R19, R20].
    strain_min_values : int, default 28
        Fewest earlier strain values that quantile needs, else null.
    family_window_d : int, default 42
        Window [d] over which ``load_family`` reports the unit family of the
        loads feeding the CTL ("mixed" when it changed) (brief section 1).
    monotony_cap : float, default 10
        Upper bound of ``monotony``; also its value when the 7 loads are equal
        and positive (SD 0) [R19].
    sd_rel_tol : float, default 1e-6
        A standard deviation below ``sd_rel_tol * |mean|`` is rounding noise of
        a constant series and counts as 0 (the z-score is then null). The
        baselines' SD comes from sums of values and squares, whose rounding
        leaves an SD of about 1e-8 x the mean for a constant series; real
        RHR and ln rMSSD SDs are above 1e-2 x the mean.
    wellness_source_priority : tuple of str, default ()
        Source names, best first, used when two sources report the same
        wellness day; sources not listed rank after those listed, and equally
        ranked sources are averaged.
    sleep_source_priority : tuple of str, default ()
        Tie-break between equally long main-sleep records from several sources.
    load_family : str, default "auto"
        The team's load unit family (:func:`features.load.assign_session_loads`):
        ``"auto"`` picks per athlete the family with the largest share of
        training time; ``"srpe"``, ``"tss"``, ``"trimp"``, ``"epoc"`` or
        ``"kcal"`` pins it for every athlete without a roster ``load_family``.
    count_everyday : bool, default False
        Count device-detected everyday activity (auto-detected walks) as
        training load; by default it is kept out and shown apart.
    load_tail_days : int, default 7
        No data is not zero (:func:`features.daily.build_daily`): a day is
        covered by the athlete's session sources from the first session on,
        and up to this many days after the last one (a rest week); later days,
        days before the first session and every day of an athlete without
        sessions have no training data (``load_au`` null), not load 0.

    Raises
    ------
    ValueError
        ``"FeatureParams.ctl_tau_d must be a real number in (0, 1000], got -1"``.
    """

    acute_days: int = 7
    chronic_days: int = 28
    ewma_acute_span_d: int = 7
    ewma_chronic_span_d: int = 28
    ctl_tau_d: float = 42.0
    atl_tau_d: float = 7.0
    mean_window_d: int = 7
    min_valid_days: int = 3
    baseline_days: int = 60
    baseline_min_values: int = 14
    sleep_need_h: float = 8.0
    hard_day_factor: float = 1.5
    ctl_ramp_days: int = 7
    back_pain_threshold: float = 3.0
    back_pain_rising_days: int = 3
    strain_quantile: float = 0.9
    strain_min_values: int = 28
    family_window_d: int = 42
    monotony_cap: float = 10.0
    sd_rel_tol: float = 1e-6
    wellness_source_priority: tuple[str, ...] = ()
    sleep_source_priority: tuple[str, ...] = ()
    load_family: str = "auto"
    count_everyday: bool = False
    load_tail_days: int = 7

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in _RULES:
                kind, lo, hi, lo_closed, hi_closed = _RULES[f.name]
                interval = f"{'[' if lo_closed else '('}{lo:g}, {hi:g}{']' if hi_closed else ')'}"
                what = "an integer" if kind == "int" else "a real number"
                ok_type = (
                    isinstance(value, Integral) and not isinstance(value, bool)
                    if kind == "int"
                    else isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
                )
                ok = (
                    ok_type
                    and (value >= lo if lo_closed else value > lo)
                    and (value <= hi if hi_closed else value < hi)
                )
                if not ok:
                    raise ValueError(f"FeatureParams.{f.name} must be {what} in {interval}, got {value!r}")
            elif f.name.endswith("_priority"):
                if isinstance(value, str) or not all(isinstance(s, str) for s in value):
                    raise ValueError(f"FeatureParams.{f.name} must be a tuple of source names (str), got {value!r}")
                object.__setattr__(self, f.name, tuple(value))
        if self.load_family not in _LOAD_FAMILIES:
            raise ValueError(
                f"FeatureParams.load_family must be one of {', '.join(_LOAD_FAMILIES)}, got {self.load_family!r}"
            )
        if not isinstance(self.count_everyday, bool):
            raise ValueError(f"FeatureParams.count_everyday must be true or false, got {self.count_everyday!r}")
        if self.chronic_days <= self.acute_days:
            raise ValueError(
                "FeatureParams.chronic_days must be larger than acute_days "
                f"({self.acute_days}), got {self.chronic_days}"
            )
        if self.baseline_min_values > self.baseline_days:
            raise ValueError(
                "FeatureParams.baseline_min_values must be in [2, baseline_days "
                f"= {self.baseline_days}], got {self.baseline_min_values}"
            )
        if self.min_valid_days > self.mean_window_d:
            raise ValueError(
                "FeatureParams.min_valid_days must be in [1, mean_window_d "
                f"= {self.mean_window_d}], got {self.min_valid_days}"
            )

    # ------------------------------------------------------------- derived
    @property
    def ctl_gain(self) -> float:
        """Daily CTL gain 1 - exp(-1/tau) (0.023528 for tau 42) [G2, I3]."""
        return 1.0 - math.exp(-1.0 / self.ctl_tau_d)

    @property
    def atl_gain(self) -> float:
        """Daily ATL gain 1 - exp(-1/tau) (0.133122 for tau 7) [G2, I3]."""
        return 1.0 - math.exp(-1.0 / self.atl_tau_d)

    @property
    def ewma_acute_lambda(self) -> float:
        """lambda = 2 / (N + 1) of the acute EWMA (0.25 for N 7) [R11]."""
        return 2.0 / (self.ewma_acute_span_d + 1)

    @property
    def ewma_chronic_lambda(self) -> float:
        """lambda = 2 / (N + 1) of the chronic EWMA (0.069 for N 28) [R11]."""
        return 2.0 / (self.ewma_chronic_span_d + 1)

    @property
    def hard_day_warmup_days(self) -> int:
        """Days of history before ``hard_day_streak`` is defined (47 by default).

        CTL starts from 0, so early on nearly every training day exceeds
        ``f x CTL``. Under a constant load L, CTL after n days is
        ``L (1 - (1 - k)^n)`` and a day at L stops being "hard" once that exceeds
        L / f, i.e. after ``n = ln(f / (f - 1)) / -ln(1 - k) = tau ln(f / (f - 1))``
        days (46.1 for tau 42, f 1.5). The warm-up is that, rounded up, and at
        least ``chronic_days``.
        """
        n = self.ctl_tau_d * math.log(self.hard_day_factor / (self.hard_day_factor - 1.0))
        return max(self.chronic_days, math.ceil(n))

    @property
    def history_days(self) -> int:
        """Days before a day d that any feature of d reads (the incremental lookback).

        The longest of: the baseline window d-B..d-1, the chronic window,
        week-over-week change (acute window at d-A), the CTL ramp, the
        load-family window and the rising back-pain test.
        """
        return (
            max(
                self.baseline_days,
                self.chronic_days - 1,
                2 * self.acute_days - 1,
                self.mean_window_d - 1,
                self.ctl_ramp_days,
                self.family_window_d - 1,
                self.back_pain_rising_days,
                1,
            )
            + 1
        )


DEFAULT_PARAMS = FeatureParams()
