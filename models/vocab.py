"""Human wording for the scorer's codes: reasons, adjustments, red flags, disclaimer.

The codes themselves (``REASON_CODES``, ``ADJUSTMENT_CODES``, ``RISK_BANDS``)
are defined in :mod:`features.schemas`; this module maps each to the short
text that reports and alerts show. Reports may import this module (docs/design.md,
dependency rule); it imports the schema vocabularies and the component registry
(:mod:`models.components`, where each component's reason text lives).

* :data:`REASON_TEXT` - reason code -> short noun phrase ("training load spike"),
  read from each component's registry entry.
* :data:`ADJUSTMENT_TEXT` - adjustment code -> sentence *template* with
  ``str.format`` fields (``{target_au:.0f}`` ...). The filled-in sentence for
  a given athlete-day is in the ``adjustments_json`` column of SCORES, built by
  :func:`models.adjustments.recommend`; use :func:`format_adjustment` to fill a
  template yourself. The field names each template needs are in
  :data:`ADJUSTMENT_FIELDS`.
* :data:`ADJUSTMENT_GENERIC` - adjustment code -> the same advice without
  numbers (for legends and when the numbers are unknown).
* :data:`RED_FLAGS` / :data:`RED_FLAG_TEXT` - the red-flag symptom list of the
  domain brief section 5 [B13, B14], as items and as one paragraph.
* :data:`BAND_TEXT`, :data:`DISCLAIMER`.

References
----------
B13 Finucane et al., International framework for red flags for potential
serious spinal pathologies, JOSPT 2020;50:350.
B14 NICE NG59, Low back pain and sciatica in over 16s, 2016.
"""

from __future__ import annotations

import string

from features.schemas import ADJUSTMENT_CODES
from models.components import REGISTRY

__all__ = [
    "REASON_TEXT",
    "ADJUSTMENT_TEXT",
    "ADJUSTMENT_GENERIC",
    "ADJUSTMENT_FIELDS",
    "RED_FLAGS",
    "RED_FLAG_EMERGENCY",
    "RED_FLAG_TEXT",
    "BAND_TEXT",
    "DISCLAIMER",
    "format_adjustment",
]

#: Reason code -> short human phrase (what pushed the score up): each component's own
#: ``reason_text`` (models.components.REGISTRY), then the red-flag override.
REASON_TEXT: dict[str, str] = {
    **{c.reason: c.reason_text for c in REGISTRY},
    "red_flag": "red-flag symptom reported",
}

#: Adjustment code -> sentence template (``str.format`` fields, see ADJUSTMENT_FIELDS).
ADJUSTMENT_TEXT: dict[str, str] = {
    "cut_volume": (
        "Cut next week's training load to about {target_au:.0f} AU "
        "({ratio:g} x your chronic weekly load of {chronic_au:.0f} AU), "
        "{cut_pct:.0f} % less than this week's {acute_au:.0f} AU."
    ),
    "hold_volume": (
        "Hold next week's load at about this week's {acute_au:.0f} AU ({cause}), "
        "then raise it by no more than {max_pct:.0f} % a week."
    ),
    "easy_day": ("Make today an easy day (light aerobic work only): {cause}."),
    "rest_day": ("Take a rest day: {cause} for {days} days in a row."),
    "prioritise_sleep": (
        "No high-intensity sessions or heavy lifting today, and aim for at least "
        "{need_h:.0f} h of sleep tonight (last 7 nights: {sleep_7d_h:.1f} h on average)."
    ),
    "vary_load": (
        "Training has been monotonous (monotony {monotony:.1f}, above {threshold:.1f}): "
        "plan 1-2 easy or rest days this week."
    ),
    "deload_week": (
        "High risk for {days} days in a row: plan a deload week at {low_pct:.0f}-{high_pct:.0f} % "
        "of your usual volume (about {low_au:.0f}-{high_au:.0f} AU for the week)."
    ),
    "mobility": (
        "Back soreness in the first 72 h after a new or heavy session is expected: "
        "do mobility work and light activity; see a clinician if it has not improved after a week."
    ),
    "see_clinician": ("See a clinician: {cause}. {red_flags}"),
}

#: Adjustment code -> the advice without numbers.
ADJUSTMENT_GENERIC: dict[str, str] = {
    "cut_volume": "Cut next week's load to about 1.1 x your chronic weekly load.",
    "hold_volume": "Hold your weekly load, then raise it by no more than 10 % a week.",
    "easy_day": "Make today an easy day (light aerobic work only).",
    "rest_day": "Take a rest day.",
    "prioritise_sleep": "No high-intensity sessions or heavy lifting today; aim for at least 8 h of sleep.",
    "vary_load": "Plan 1-2 easy or rest days a week to break up monotonous training.",
    "deload_week": "Plan a deload week at 40-60 % of your usual volume.",
    "mobility": "Mobility work and light activity; see a clinician if back pain lasts more than a week.",
    "see_clinician": "See a clinician; stop training until you have been seen if a red-flag symptom was reported.",
}

#: Field names each ADJUSTMENT_TEXT template needs.
ADJUSTMENT_FIELDS: dict[str, tuple[str, ...]] = {
    code: tuple(name for _, name, _, _ in string.Formatter().parse(text) if name)
    for code, text in ADJUSTMENT_TEXT.items()
}

#: Symptoms that need emergency care the same day (cauda equina) [B13, B14].
RED_FLAG_EMERGENCY: tuple[str, ...] = (
    "new bladder or bowel problems (difficulty passing urine, incontinence)",
    "numbness around the genitals or buttocks (saddle numbness)",
    "weakness in both legs, or leg weakness that is getting worse",
)

#: The full red-flag list of domain brief section 5 [B13, B14].
RED_FLAGS: tuple[str, ...] = RED_FLAG_EMERGENCY + (
    "pain spreading below the knee with numbness or weakness",
    "fever, a history of cancer, unexplained weight loss, or a recent fall or other trauma",
    "back pain that is no better after about one week",
)

#: One paragraph for alerts and reports.
RED_FLAG_TEXT: str = (
    "Go to an emergency department now if you have: "
    + "; ".join(RED_FLAG_EMERGENCY)
    + ". See a clinician soon if you have: "
    + "; ".join(RED_FLAGS[len(RED_FLAG_EMERGENCY) :])
    + "."
)

#: Band -> short human label.
BAND_TEXT: dict[str, str] = {
    "low": "low",
    "moderate": "moderate",
    "high": "high",
    "insufficient_data": "not enough data",
}

DISCLAIMER: str = (
    "This is a risk indicator, not a diagnosis. It combines training load, heart-rate "
    "variability, resting heart rate, sleep and self-reported back pain using heuristic "
    "thresholds that have not been validated for low-back pain. It cannot rule an injury "
    "in or out. If you have a red-flag symptom, or back pain that is not improving, see a clinician."
)


def format_adjustment(code: str, **values: object) -> str:
    """Fill the template of an adjustment ``code`` with ``values``.

    Parameters
    ----------
    code : str
        One of ``features.schemas.ADJUSTMENT_CODES``.
    **values
        The template's fields (see :data:`ADJUSTMENT_FIELDS`); ``red_flags``
        defaults to :data:`RED_FLAG_TEXT`.

    Returns
    -------
    str
        The filled sentence; :data:`ADJUSTMENT_GENERIC` text when a field is
        missing or None.

    Raises
    ------
    ValueError
        ``code`` is not an adjustment code.
    """
    if code not in ADJUSTMENT_TEXT:
        raise ValueError(f"unknown adjustment code {code!r}; expected one of {', '.join(ADJUSTMENT_CODES)}")
    if code == "see_clinician":
        values.setdefault("red_flags", RED_FLAG_TEXT)
        values.setdefault("cause", "a red-flag symptom was reported; stop training until you have been seen")
    needed = ADJUSTMENT_FIELDS[code]
    if any(values.get(name) is None for name in needed):
        return ADJUSTMENT_GENERIC[code]
    return ADJUSTMENT_TEXT[code].format(**values)
