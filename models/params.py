"""The rule scorer's parameters: every cap, threshold and advice constant, documented and range-checked.

:class:`ScorerParams` is shared by the scorer (:mod:`models.rules`, :mod:`models.columnar`),
the advice (:mod:`models.adjustments`), the component registry (:mod:`models.components`:
each component names its cap parameter here) and the reports, which quote the thresholds.
It imports nothing of ours, so every module can import it without a cycle.
Why the caps differ from the domain brief's starting values: :mod:`models.rules`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

__all__ = ["ScorerParams", "params_markdown"]


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
    can add. See the :mod:`models.rules` docstring for why the caps differ from the
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
