"""Athlete daily check-in answers: strainwatch's own JSON input format.

The check-in web app (``strainwatch checkin serve``) and the form-service CSV
import (``strainwatch checkin import``) never write to the tables directly:
each answer (or each imported CSV) becomes one JSON file under the store's
check-in inbox, written atomically (temporary file, fsync, rename), and this
connector reads it through the ordinary ingest, so a check-in is ledgered like
any other input file and a process killed mid-request leaves the whole answer
or none of it.

File layout (detected by content: a JSON object whose ``format`` is
:data:`FILE_FORMAT`)::

    {"format": "strainwatch-checkin/1",
     "answers": [
       {"athlete_id": "alice", "date": "2026-12-06", "reported_utc": "2026-12-06T06:58:12Z",
        "via": "web",
        "back_pain_0_10": 4, "back_pain_area": "lower_back",  # pain in that area
        "soreness_0_10": 3, "sleep_quality_1_5": 2,
        "red_flags": ["leg_weakness"],
        "sessions": [{"start_utc": "2026-12-05T16:30:00Z", "local_date": "2026-12-05",
                      "sport": "running", "minutes": 45, "rpe": 6, "device_source": "fit"}],
        "note": "tight after the long run"}]}

What is stored (source ``checkin``):

* ``wellness``: one row per answer on ``date`` (the morning of the check-in):
  ``pain_0_10`` (the pain reported, any area) and ``back_pain_area``;
  ``back_pain_0_10`` (what the low-back score reads) only when the area is the
  lower back or there is no pain (pain elsewhere leaves it null); ``soreness`` (general soreness 0-10), ``red_flag``
  (true when any red flag was ticked, false when the questions were answered
  with none ticked: an explicit "no"; null when they were not asked, as in a
  form-service import that maps no red-flag column),
  ``red_flags`` (the codes, ``;``-joined), ``sleep_quality_1_5`` and ``reported_utc`` (when the athlete answered).
* ``sessions``: one row per session of the day before with ``rpe`` (CR10) and
  ``duration_s``; ``load_au = rpe x minutes`` (session RPE, Foster 2001),
  ``load_method = "srpe"``. A session pre-filled from a device session
  carries that session's ``start_utc``, so the cross-source merge
  (:mod:`features.merge`) keeps the device row and fills in the athlete's RPE.

Scales (inclusive): pain and soreness 0-10, RPE 0-10 (CR10), sleep quality
1-5, minutes 1-1440; anything else rejects the file with the answer index and
the field.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from connectors.base import BadRowError, ConnectorError, ReadContext, ReadResult

__all__ = [
    "FORMAT",
    "SOURCE",
    "FILE_FORMAT",
    "AREAS",
    "SLEEP_QUALITY",
    "RED_FLAG_QUESTIONS",
    "EMERGENCY_FLAGS",
    "SCALES",
    "detect",
    "read",
    "validate_answer",
]

FORMAT = "checkin"
SOURCE = "checkin"
FILE_FORMAT = "strainwatch-checkin/1"

#: Where the back hurts: code -> label shown to the athlete.
AREAS: dict[str, str] = {
    "lower_back": "Lower back",
    "upper_back": "Upper back",
    "neck": "Neck",
    "other": "Somewhere else",
}

#: Sleep quality, 1-5: value -> label.
SLEEP_QUALITY: dict[int, str] = {1: "Very poor", 2: "Poor", 3: "OK", 4: "Good", 5: "Very good"}

#: The red-flag questions of domain brief section 5 [B13, B14] in plain words:
#: code -> (urgency, question). ``emergency``: same day (possible cauda equina);
#: ``soon``: see a clinician within days. Keep in step with models.vocab.RED_FLAGS.
RED_FLAG_QUESTIONS: dict[str, tuple[str, str]] = {
    "bladder_bowel": ("emergency", "New trouble peeing, or leaking urine or stool, that you can't control"),
    "saddle_numbness": (
        "emergency",
        "Numbness around your bottom, genitals or inner thighs (where you sit on a saddle)",
    ),
    "leg_weakness": ("emergency", "Weakness in both legs, or a leg that is getting weaker"),
    "below_knee": ("soon", "Pain going down below the knee, with numbness or weakness in the leg or foot"),
    "systemic": ("soon", "Fever, losing weight without trying, or ever having had cancer"),
    "trauma": ("soon", "The pain started after a fall, crash or hard blow"),
    "no_better_week": ("soon", "Back pain that is no better after about a week"),
}
EMERGENCY_FLAGS: frozenset[str] = frozenset(k for k, (u, _) in RED_FLAG_QUESTIONS.items() if u == "emergency")

#: Inclusive ranges of the numeric answers: field -> (low, high, what).
SCALES: dict[str, tuple[int, int, str]] = {
    "back_pain_0_10": (0, 10, "a whole number from 0 (no pain) to 10 (worst imaginable)"),
    "soreness_0_10": (0, 10, "a whole number from 0 (none) to 10 (extreme)"),
    "sleep_quality_1_5": (1, 5, "a whole number from 1 (very poor) to 5 (very good)"),
    "rpe": (0, 10, "a whole number from 0 (rest) to 10 (maximal), the CR10 scale"),
    "minutes": (1, 1440, "minutes from 1 to 1440"),
}

_MAX_SPORT = 40
_MAX_NOTE = 1000


def detect(path: Path, head: bytes) -> bool:
    """A JSON object naming :data:`FILE_FORMAT` near its start."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    return text.startswith(b"{") and FILE_FORMAT.encode() in text[:512]


def _int_in(value: object, field: str) -> int:
    lo, hi, what = SCALES[field]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ValueError(f"{field} must be {what}, got {value!r}")
    v = int(value)
    if not lo <= v <= hi:
        raise ValueError(f"{field} must be {what}, got {v}")
    return v


def _utc(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an ISO 8601 time with offset, got {value!r}")
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field} must be an ISO 8601 time with offset, got {value!r}") from None
    if t.tzinfo is None:
        raise ValueError(f"{field} must carry a UTC offset, got {value!r}")
    return t.astimezone(timezone.utc)


def _day(value: object, field: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{field} must be a date YYYY-MM-DD, got {value!r}") from None


def validate_answer(a: object) -> dict:
    """Check one answer (a dict as in the module docstring) and return it normalised.

    Raises
    ------
    ValueError
        Naming the field, what is allowed and what was found.
    """
    if not isinstance(a, dict):
        raise ValueError(f"an answer must be an object, got {type(a).__name__}")
    athlete = a.get("athlete_id")
    if not isinstance(athlete, str) or not athlete.strip():
        raise ValueError(f"athlete_id must be a non-empty text, got {athlete!r}")
    out: dict = {
        "athlete_id": athlete,
        "date": _day(a.get("date"), "date"),
        "reported_utc": _utc(a.get("reported_utc"), "reported_utc"),
        "via": str(a.get("via") or "web"),
    }
    for f in ("back_pain_0_10", "soreness_0_10", "sleep_quality_1_5"):
        out[f] = None if a.get(f) is None else _int_in(a.get(f), f)
    area = a.get("back_pain_area")
    if area is not None and area not in AREAS:
        raise ValueError(f"back_pain_area must be one of {', '.join(AREAS)}, got {area!r}")
    out["back_pain_area"] = area if (out["back_pain_0_10"] or 0) > 0 else None
    flags = a.get("red_flags")
    if flags is None:  # the questions were not asked (a form-service import without them): unknown
        out["red_flags"] = None
    elif not isinstance(flags, list) or any(f not in RED_FLAG_QUESTIONS for f in flags):
        raise ValueError(f"red_flags must be a list of {', '.join(RED_FLAG_QUESTIONS)}, got {flags!r}")
    else:
        out["red_flags"] = sorted(set(flags), key=list(RED_FLAG_QUESTIONS).index)
    note = a.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > _MAX_NOTE):
        raise ValueError(f"note must be text of at most {_MAX_NOTE} characters")
    out["note"] = note.strip() or None if isinstance(note, str) else None
    sessions = a.get("sessions") or []
    if not isinstance(sessions, list):
        raise ValueError("sessions must be a list")
    out["sessions"] = []
    for i, s in enumerate(sessions):
        if not isinstance(s, dict):
            raise ValueError(f"sessions[{i}] must be an object")
        try:
            sport = str(s.get("sport") or "").strip().lower()[:_MAX_SPORT] or None
            out["sessions"].append(
                {
                    "start_utc": _utc(s.get("start_utc"), "start_utc"),
                    "local_date": _day(s.get("local_date"), "local_date"),
                    "sport": sport,
                    "minutes": _int_in(s.get("minutes"), "minutes"),
                    "rpe": _int_in(s.get("rpe"), "rpe"),
                    "device_source": s.get("device_source") or None,
                }
            )
        except ValueError as err:
            raise ValueError(f"sessions[{i}].{err}") from None
    return out


def tables(answers: list[dict]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Wellness and session rows (canonical columns, source ``checkin``) of validated answers."""
    w_rows, s_rows = [], []
    for a in answers:
        w_rows.append(
            {
                "athlete_id": a["athlete_id"],
                "source": SOURCE,
                "date": a["date"],
                # the indicator is about the lower back: pain elsewhere (upper back, neck, other) is kept in
                # pain_0_10 with its area, not scored as low-back pain
                "back_pain_0_10": (
                    None
                    if a["back_pain_0_10"] is None
                    or (a["back_pain_0_10"] > 0 and a["back_pain_area"] not in (None, "lower_back"))
                    else float(a["back_pain_0_10"])
                ),
                "pain_0_10": None if a["back_pain_0_10"] is None else float(a["back_pain_0_10"]),
                "soreness": None if a["soreness_0_10"] is None else float(a["soreness_0_10"]),
                "red_flag": None if a["red_flags"] is None else bool(a["red_flags"]),
                "note": a["note"],
                "back_pain_area": a["back_pain_area"],
                "sleep_quality_1_5": None if a["sleep_quality_1_5"] is None else float(a["sleep_quality_1_5"]),
                "red_flags": ";".join(a["red_flags"] or []) or None,
                "reported_utc": a["reported_utc"],
            }
        )
        for s in a["sessions"]:
            s_rows.append(
                {
                    "athlete_id": a["athlete_id"],
                    "source": SOURCE,
                    "start_utc": s["start_utc"],
                    "local_date": s["local_date"],
                    "sport": s["sport"],
                    "duration_s": 60.0 * s["minutes"],
                    "rpe": float(s["rpe"]),
                    "load_au": float(s["rpe"] * s["minutes"]),
                    "load_method": "srpe",
                    "load_confidence": "high",
                    "reported_utc": a["reported_utc"],
                }
            )
    utc = pl.Datetime("us", "UTC")
    wellness = (
        pl.DataFrame(w_rows, schema_overrides={"reported_utc": utc, "date": pl.Date()}, strict=False)
        if w_rows
        else pl.DataFrame()
    )
    sessions = (
        pl.DataFrame(
            s_rows, schema_overrides={"reported_utc": utc, "start_utc": utc, "local_date": pl.Date()}, strict=False
        )
        if s_rows
        else pl.DataFrame()
    )
    return wellness, sessions


def read(path: Path, ctx: ReadContext) -> ReadResult:
    """Read one check-in file (see the module docstring)."""
    name = ctx.source_name or str(path)
    raw = Path(path).read_bytes()
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as err:
        raise ConnectorError(name, f"not UTF-8 text: {err.reason}", offset=err.start) from None
    except json.JSONDecodeError as err:
        raise ConnectorError(name, f"not valid JSON: {err.msg}", line=err.lineno, offset=err.pos) from None
    if not isinstance(doc, dict) or doc.get("format") != FILE_FORMAT:
        raise ConnectorError(name, f'expected a JSON object with "format": "{FILE_FORMAT}"')
    answers = doc.get("answers")
    if not isinstance(answers, list):
        raise ConnectorError(name, 'expected a list "answers"', column="answers")
    good = []
    for i, a in enumerate(answers):
        try:
            v = validate_answer(a)
        except ValueError as err:
            raise BadRowError(name, f"answer {i + 1} of {len(answers)}: {err}", column=f"answers[{i}]") from None
        if ctx.athlete_id and v["athlete_id"] != ctx.athlete_id and not doc.get("team"):
            raise BadRowError(
                name,
                f"answer {i + 1}: athlete_id {v['athlete_id']!r} in the folder of {ctx.athlete_id!r}",
                column=f"answers[{i}].athlete_id",
            )
        good.append(v)
    wellness, sessions = tables(good)
    return ReadResult(FORMAT, sessions=sessions, wellness=wellness)
