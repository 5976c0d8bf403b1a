"""One home per score component: the registry every other module reads.

Each of the nine components of the rule score (:mod:`models.rules`) has one
:class:`ComponentSpec` entry in :data:`REGISTRY`, in the order the scorer
lists them (``components_json``, ties of ``reasons``):

* ``name`` (``components_json`` ``component``) and ``reason`` (its code in
  ``features.schemas.REASON_CODES``);
* ``group`` (``load``, ``device``, ``self_report``: the "nothing recorded"
  rule drops the load group's data when neither load nor device data exist)
  and ``row``, the FEATURES row of its ``Component`` (``d-1`` for load, ``d``
  for morning values), with ``reads``: every (row, FEATURES column) the rule
  reads (the timing table of docs/scoring.md);
* ``cap_param``: the :class:`models.params.ScorerParams` field that caps it;
* texts: ``label`` (report tables), ``reason_text`` (the short phrase of
  :data:`models.vocab.REASON_TEXT`), ``seen`` and ``seen_short`` (what the
  alert says was seen, filled with the component's stored value from
  ``components_json`` and the day's facts: :func:`seen_lines`, :func:`seen_short`);
* ``learned``: the learned model's input columns tied to it, with the
  direction of their effect (:mod:`models.learned` ``FEATURE_REASON`` and
  ``FEATURE_DIRECTION``);
* ``adjustments``: the adjustment codes it can cause
  (:mod:`models.adjustments` refuses any other).

The points formulas stay next to their siblings: the per-row oracle in
:mod:`models.rules` (a function named like the component, registered with
``@_points``) and the columnar expression in :mod:`models.columnar`; both
are looked up by the registry's names, and an import-time check refuses a
registry entry without both. ``tests/models/test_components.py`` checks that
every module's set of component names equals the registry's.

This module also holds the two result types the scorer and the advice
share, :class:`Component` and :class:`DayScore`, so that
:mod:`models.rules` and :mod:`models.adjustments` import them from here and
not from each other. It imports only ``features.schemas`` and
:mod:`models.params`. A risk indicator, not a diagnosis.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from features.schemas import ADJUSTMENT_CODES, REASON_CODES
from models.params import ScorerParams

__all__ = [
    "ComponentSpec",
    "Seen",
    "REGISTRY",
    "NAMES",
    "OTHER_CAUSES",
    "spec",
    "by_reason",
    "columns_at",
    "Component",
    "DayScore",
    "seen_lines",
    "seen_short",
    "is_finite_number",
]

#: FEATURES row offsets a component may read: the morning of d, the last training day d-1,
#: and d-8 (the week before the week ending d-1).
ROWS = ("d", "d-1", "d-8")
GROUPS = ("load", "device", "self_report")


@dataclass(frozen=True)
class Seen:
    """What a component's alert text is filled with.

    ``value`` is the component's own value: from its stored ``components_json``
    entry when the score row is of the named day, else the FEATURES column it
    reads (``ComponentSpec.value_column``); ``facts`` are the day's numbers
    (:func:`reports.facts.day_facts`: load columns of d-1, the rest of d).
    """

    value: float | None
    facts: Mapping[str, Any]
    params: ScorerParams


@dataclass(frozen=True)
class ComponentSpec:
    """Everything one score component is, except its points formula (see the module docstring)."""

    name: str
    reason: str
    label: str
    group: str
    row: str
    reads: tuple[tuple[str, str], ...]
    cap_param: str
    reason_text: str
    value_column: str | None
    learned: tuple[tuple[str, int], ...] = ()
    adjustments: tuple[str, ...] = ()
    seen: Callable[[Seen], str | None] | None = None
    seen_short: Callable[[Seen], str | None] | None = None
    shown_on_red_flag: bool = False

    def cap(self, p: ScorerParams) -> float:
        """The most this component adds with parameters ``p``."""
        return float(getattr(p, self.cap_param))

    @property
    def offsets(self) -> tuple[str, ...]:
        """The FEATURES rows the per-row rule takes, in :data:`ROWS` order (its positional arguments)."""
        used = {r for r, _ in self.reads}
        return tuple(r for r in ROWS if r in used)


def is_finite_number(v: Any) -> bool:
    """A finite int or float, not a bool: a value a text may print (the alert and report texts' test)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


_ok = is_finite_number


# ---------------------------------------------------------------- texts
# "What we saw" in plain words: one sentence for the alert body (``seen``) and one phrase
# for the push text (``seen_short``); None when the numbers are missing.
_WENT_UP_FAST = "your training went up fast"


def _short_load_spike(s: Seen) -> str:
    a, ch = s.facts.get("acute_7d_au"), s.facts.get("chronic_28d_au")
    if _ok(a) and _ok(ch) and ch > 0:
        return f"your training in the last 7 days was {a / ch:.1f} times your usual week"
    return _WENT_UP_FAST


def _seen_weekly_jump(s: Seen) -> str | None:
    wk = s.value
    if not _ok(wk):
        return None
    return f"The last 7 days' load is {abs(wk):.0f} % {'higher' if wk >= 0 else 'lower'} than the 7 days before."


def _short_weekly_jump(s: Seen) -> str:
    return f"you trained {s.value:.0f} % more than the week before" if _ok(s.value) else _WENT_UP_FAST


def _seen_monotony(s: Seen) -> str | None:
    if not _ok(s.value):
        return None
    return f"Training monotony {s.value:.1f} (above {s.params.monotony_flag:g} means little day-to-day variation)."


def _short_monotony(s: Seen) -> str:
    return "every training day has been much the same"


def _seen_hard_day_streak(s: Seen) -> str | None:
    return f"{int(s.value)} hard days in a row." if _ok(s.value) and s.value > 0 else None


def _short_hard_day_streak(s: Seen) -> str:
    return f"you had {int(s.value)} hard days in a row" if _ok(s.value) and s.value > 0 else _WENT_UP_FAST


def _seen_ctl_ramp(s: Seen) -> str | None:
    return f"Fitness (CTL) rose by {s.value:.1f} in 7 days." if _ok(s.value) else None


def _short_ctl_ramp(s: Seen) -> str:
    return _WENT_UP_FAST


def _seen_hrv(s: Seen) -> str | None:
    if not _ok(s.value):
        return None
    return f"Heart-rate variability: 7-day average {abs(s.value):.1f} SD below your own 60-day baseline."


def _short_hrv(s: Seen) -> str:
    return "your heart-rate variability is below your normal"


def _seen_rhr(s: Seen) -> str | None:
    # the component's value is the bpm delta or, without one, the z-score: quote the delta only
    dr, r7, rb = s.facts.get("rhr_delta_bpm"), s.facts.get("rhr_7d_bpm"), s.facts.get("rhr_baseline_bpm")
    if not _ok(dr):
        return None
    extra = f" ({r7:.0f} vs {rb:.0f} bpm)" if _ok(r7) and _ok(rb) else ""
    return f"Resting heart rate: 7-day average {dr:+.1f} bpm against your baseline{extra}."


def _short_rhr(s: Seen) -> str:
    dr = s.facts.get("rhr_delta_bpm")
    if _ok(dr) and round(dr) >= 2:
        return f"your resting heart rate is {dr:.0f} beats a minute higher than usual"
    return "your resting heart rate is above your normal"


def _sleep_reference(s: Seen) -> tuple[str, str] | None:
    """What the sleep rule compared with (:func:`models.rules.sleep`): a coach's fixed need when
    set, else the athlete's usual sleep (``sleep_baseline_h``), else the floor when below it.
    Returns (long, short) phrases, or None when nothing is known to compare with."""
    p, mean = s.params, s.value
    if p.coach_sleep_need_h > 0:
        t = f"your coach's target is {p.coach_sleep_need_h:g} h"
        return t, t
    usual = s.facts.get("sleep_baseline_h")
    if _ok(usual) and usual - mean >= 0.05:
        return (f"{usual - mean:.1f} h less than your usual {usual:.1f} h", f"{usual - mean:.1f} h less than usual")
    if mean < p.sleep_floor_h:
        t = f"below the {p.sleep_floor_h:g}-h floor"
        return t, t
    return None


def _seen_sleep(s: Seen) -> str | None:
    if not _ok(s.value):
        return None
    ref = _sleep_reference(s)
    return f"Sleep: {s.value:.1f} h a night over the last 7 nights" + (f", {ref[0]}." if ref else ".")


def _short_sleep(s: Seen) -> str | None:
    if not _ok(s.value):
        return None
    ref = _sleep_reference(s)
    return f"you slept {s.value:.1f} h a night this week" + (f" ({ref[1]})" if ref else "")


def _seen_back(s: Seen) -> str | None:
    bs = s.facts.get("back_pain_streak_d")
    if not _ok(s.value):
        return None
    return f"Back pain {s.value:.0f}/10" + (f", {int(bs)} days in a row." if _ok(bs) and bs > 1 else ".")


def _short_back(s: Seen) -> str | None:
    n = s.facts.get("back_pain_streak_d")
    if not _ok(s.value):
        return None
    return f"back pain {s.value:.0f}/10" + (f" for {int(n)} days" if _ok(n) and n > 1 else "")


# ---------------------------------------------------------------- the registry
#: Every score component, in the scorer's order.
REGISTRY: tuple[ComponentSpec, ...] = (
    ComponentSpec(
        name="load_spike",
        reason="acwr_spike",
        label="Load spike",
        group="load",
        row="d-1",
        reads=(("d-1", "acwr_ewma"),),
        cap_param="acwr_cap",
        reason_text="training load spike (acute:chronic workload ratio)",
        value_column="acwr_ewma",
        learned=(("acwr_ewma", 1),),
        adjustments=("cut_volume", "hold_volume"),
        seen=None,  # the alert's load line (acute vs chronic week, ACWR) says it for the whole load group
        seen_short=_short_load_spike,
    ),
    ComponentSpec(
        name="weekly_jump",
        reason="weekly_ramp",
        label="Weekly jump",
        group="load",
        row="d-1",
        reads=(("d-1", "weekly_change_pct"), ("d-1", "acute_7d_au"), ("d-1", "chronic_28d_au"), ("d-8", "acute_7d_au")),
        cap_param="weekly_jump_cap",
        reason_text="big week-over-week jump in training load",
        value_column="weekly_change_pct",
        learned=(("weekly_change_clip_pct", 1), ("acute_load_z", 1)),
        adjustments=("hold_volume",),
        seen=_seen_weekly_jump,
        seen_short=_short_weekly_jump,
    ),
    ComponentSpec(
        name="monotony",
        reason="monotony",
        label="Monotony / strain",
        group="load",
        row="d-1",
        reads=(("d-1", "monotony"), ("d-1", "strain_au"), ("d-1", "strain_p90_au"), ("d-1", "acute_7d_au")),
        cap_param="monotony_cap",
        reason_text="monotonous training (little variation day to day)",
        value_column="monotony",
        learned=(("monotony", 1), ("strain_rel_p90", 1)),
        adjustments=("vary_load",),
        seen=_seen_monotony,
        seen_short=_short_monotony,
    ),
    ComponentSpec(
        name="hard_day_streak",
        reason="hard_day_streak",
        label="Hard-day streak",
        group="load",
        row="d-1",
        reads=(("d-1", "hard_day_streak"),),
        cap_param="hard_day_points",
        reason_text="several hard days in a row",
        value_column="hard_day_streak",
        learned=(("hard_day_streak", 1),),
        adjustments=("easy_day",),
        seen=_seen_hard_day_streak,
        seen_short=_short_hard_day_streak,
    ),
    ComponentSpec(
        name="ctl_ramp",
        reason="ctl_ramp",
        label="CTL ramp",
        group="load",
        row="d-1",
        reads=(("d-1", "ctl_ramp_7d"), ("d-1", "load_family")),
        cap_param="ctl_ramp_cap",
        reason_text="fitness (CTL) ramping up too fast",
        value_column="ctl_ramp_7d",
        learned=(),
        adjustments=("hold_volume",),
        seen=_seen_ctl_ramp,
        seen_short=_short_ctl_ramp,
    ),
    ComponentSpec(
        name="hrv",
        reason="hrv_suppressed",
        label="HRV",
        group="device",
        row="d",
        reads=(("d", "hrv_z"),),
        cap_param="hrv_cap",
        reason_text="heart-rate variability below its normal range",
        value_column="hrv_z",
        learned=(("hrv_z", -1),),
        adjustments=("easy_day", "rest_day"),
        seen=_seen_hrv,
        seen_short=_short_hrv,
    ),
    ComponentSpec(
        name="rhr",
        reason="rhr_elevated",
        label="Resting HR",
        group="device",
        row="d",
        reads=(("d", "rhr_delta_bpm"), ("d", "rhr_z")),
        cap_param="rhr_cap",
        reason_text="resting heart rate above baseline",
        value_column=None,  # the bpm delta, or the z-score when there is no delta
        learned=(("rhr_z", 1), ("rhr_delta_bpm", 1)),
        adjustments=(),  # with HRV down its advice is HRV's (cause hrv_suppressed)
        seen=_seen_rhr,
        seen_short=_short_rhr,
    ),
    ComponentSpec(
        name="sleep",
        reason="sleep_debt",
        label="Sleep",
        group="device",
        row="d",
        reads=(
            ("d", "sleep_7d_h"),
            ("d", "sleep_baseline_h"),
            ("d", "sleep_debt_7d_h"),
            ("d", "sleep_eff_7d_pct"),
        ),
        cap_param="sleep_cap",
        reason_text="short or poor sleep",
        value_column="sleep_7d_h",
        learned=(("sleep_rel_h", -1), ("sleep_debt_7d_h", 1), ("sleep_eff_7d_pct", -1)),
        adjustments=("prioritise_sleep",),
        seen=_seen_sleep,
        seen_short=_short_sleep,
    ),
    ComponentSpec(
        name="back_symptoms",
        reason="back_symptoms",
        label="Back symptoms",
        group="self_report",
        row="d",
        reads=(("d", "back_pain_0_10"), ("d", "back_pain_streak_d"), ("d", "back_pain_rising_3d")),
        cap_param="back_cap",
        reason_text="low-back pain lasting beyond 72 hours",
        value_column="back_pain_0_10",
        learned=(("back_pain_0_10", 1),),
        adjustments=("mobility", "see_clinician"),
        seen=_seen_back,
        seen_short=_short_back,
        shown_on_red_flag=True,
    ),
)

#: Component names in the scorer's order.
NAMES: tuple[str, ...] = tuple(c.name for c in REGISTRY)

#: Causes of advice that are not components: the red-flag override and a high-band streak.
OTHER_CAUSES: dict[str, tuple[str, ...]] = {
    "red_flag": ("see_clinician",),
    "high_band_streak": ("deload_week",),
}

_BY_NAME = {c.name: c for c in REGISTRY}
_BY_REASON = {c.reason: c for c in REGISTRY}


def spec(name: str) -> ComponentSpec:
    """The registry entry of component ``name``; KeyError naming the known ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown score component {name!r}; known: {', '.join(NAMES)}") from None


def by_reason(code: str) -> ComponentSpec | None:
    """The component whose reason code is ``code`` (None for ``red_flag`` and unknown codes)."""
    return _BY_REASON.get(code)


def columns_at(row: str) -> tuple[str, ...]:
    """FEATURES columns the components read from ``row`` (``"d"``, ``"d-1"``, ``"d-8"``), first use first."""
    return tuple(dict.fromkeys(col for c in REGISTRY for r, col in c.reads if r == row))


def _check_registry() -> None:
    """Refuse an inconsistent registry at import (a new entry fails loudly, not in a report)."""
    if len(set(NAMES)) != len(NAMES) or len(_BY_REASON) != len(REGISTRY):
        raise ValueError("models.components: component names and reason codes must be unique")
    caps = set(ScorerParams.__dataclass_fields__)
    for c in REGISTRY:
        where = f"models.components: component {c.name!r}"
        if c.reason not in REASON_CODES or c.reason == "red_flag":
            raise ValueError(f"{where}: reason {c.reason!r} is not a features.schemas.REASON_CODES component code")
        if c.cap_param not in caps:
            raise ValueError(f"{where}: cap parameter {c.cap_param!r} is not a ScorerParams field")
        if c.group not in GROUPS or c.row not in ROWS or not c.reads:
            raise ValueError(f"{where}: expected a group in {GROUPS}, a row in {ROWS} and at least one read")
        if any(r not in ROWS for r, _ in c.reads) or c.row not in c.offsets:
            raise ValueError(f"{where}: reads {c.reads!r} must use rows {ROWS} and include its row {c.row!r}")
        bad = [a for a in c.adjustments if a not in ADJUSTMENT_CODES]
        if bad:
            raise ValueError(f"{where}: adjustment codes {bad} are not in features.schemas.ADJUSTMENT_CODES")


_check_registry()


# ---------------------------------------------------------------- result types
@dataclass(frozen=True)
class Component:
    """One component's contribution to one day's score.

    Attributes
    ----------
    name : str
        A :data:`NAMES` entry.
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


# ---------------------------------------------------------------- alert texts
def _stored_values(stored: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    """component name -> stored value, from the rule scorer's ``components_json`` entries only
    (a learned model's entries are model inputs, with no cap)."""
    out: dict[str, Any] = {}
    for e in stored or ():
        name = e.get("component")
        if name in _BY_NAME and e.get("reason") == _BY_NAME[name].reason and e.get("cap") is not None:
            out[name] = e.get("value")
    return out


def _seen(c: ComponentSpec, stored: dict[str, Any], facts: Mapping[str, Any], p: ScorerParams) -> Seen:
    if c.name in stored:
        value = stored[c.name]
    else:
        value = facts.get(c.value_column) if c.value_column else None
    return Seen(value if _ok(value) else None, facts, p)


def seen_lines(
    codes: list[str],
    facts: Mapping[str, Any],
    p: ScorerParams,
    stored: list[Mapping[str, Any]] | None = None,
) -> list[str]:
    """The alert body's sentences of the components whose reason is in ``codes``, in registry order.

    ``stored`` are the day's ``components_json`` entries (only when the score row is of the
    named day); without one, each component's value is read from ``facts``.
    """
    shown = set(codes)
    vals = _stored_values(stored)
    out = []
    for c in REGISTRY:
        if c.seen is None or not (c.reason in shown or (c.shown_on_red_flag and "red_flag" in shown)):
            continue
        line = c.seen(_seen(c, vals, facts, p))
        if line:
            out.append(line)
    return out


def seen_short(
    codes: list[str],
    facts: Mapping[str, Any],
    p: ScorerParams,
    stored: list[Mapping[str, Any]] | None = None,
) -> list[str]:
    """The push text's phrases of the components of ``codes``, in the order of ``codes`` (largest first)."""
    vals = _stored_values(stored)
    out = []
    for code in codes:
        c = by_reason(code)
        if c is None or c.seen_short is None:
            continue
        phrase = c.seen_short(_seen(c, vals, facts, p))
        if phrase:
            out.append(phrase)
    return out
