"""The athletes' daily check-in: personal tokens, the answer inbox, form validation, CSV import.

The web app (:mod:`pipelines.checkin_app`) and ``strainwatch checkin import``
share this module. How an answer reaches the tables:

1. the answer is validated (:func:`parse_form`, or :func:`read_form_csv` for a
   form service's export): anything outside the scales is refused with a
   message naming the question;
2. it is written as one JSON file (:mod:`connectors.checkin` format) under
   ``<store>/checkin/inbox/<athlete>/`` by :func:`write_answer_file`: a hidden
   temporary file, fsync, rename, fsync of the folder. A process killed before
   the rename leaves only a hidden temporary file, which ingest skips; after
   it, the whole answer. There is no state in between;
3. it is ingested at once (:func:`ingest_answers`, the ordinary
   :func:`pipelines.ingest.ingest_paths`: ledgered, tables written before the
   ledger rows). When the store is busy (the nightly job holds the writer
   lock) the file simply waits: the nightly run ingests the inbox first
   (:func:`inbox_dir` is added to its input folders).

Tokens: ``strainwatch checkin links`` issues one random token per athlete
(``secrets.token_urlsafe``, 144 bits) and prints the personal link
``<base_url>/c/<athlete_id>/<token>``; only the token's SHA-256 is stored
(``<store>/checkin/tokens.json``, mode 0600), so the printed link is the only
copy. ``--rotate ID`` issues a new token, which invalidates the old link.
A request is served only when the SHA-256 of its token equals the stored hash
*of the athlete id in the same URL* (constant-time comparison), so one
athlete's link cannot open another athlete's form.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from connectors.checkin import AREAS, FILE_FORMAT, RED_FLAG_QUESTIONS, SCALES, SOURCE, validate_answer
from pipelines.atomic import atomic_write_bytes

__all__ = [
    "CheckinError",
    "FormFields",
    "inbox_dir",
    "tokens_path",
    "issue_token",
    "verify_token",
    "token_status",
    "write_answer_file",
    "ingest_answers",
    "device_sessions",
    "parse_form",
    "read_form_csv",
    "CSV_FIELDS",
    "PAUSE_ENV",
]

#: Test hook: seconds to sleep between writing the temporary answer file and renaming it
#: (tests kill the server inside this window to show that nothing half-written is kept).
PAUSE_ENV = "STRAINWATCH_CHECKIN_TEST_PAUSE_S"

#: A number as people type it: digits, optionally a sign and a decimal point or comma ("7", "7.0", "7,0").
_NUMBER = re.compile(r"^[-+]?\d+(?:[.,]\d+)?$")

#: Extra session rows the form offers for training without a device file.
EXTRA_SESSION_ROWS = 2


class CheckinError(ValueError):
    """A check-in input cannot be used; the message says which question or line and why."""


# ----------------------------------------------------------------------------- paths
def inbox_dir(store_root: str | Path) -> Path:
    """``<store>/checkin/inbox``: answer files waiting to be (or already) ingested; never deleted."""
    return Path(store_root) / "checkin" / "inbox"


def tokens_path(store_root: str | Path) -> Path:
    return Path(store_root) / "checkin" / "tokens.json"


def _test_pause() -> None:
    """The crash tests' window between the fsync of an answer file and its rename (:data:`PAUSE_ENV`)."""
    pause = float(os.environ.get(PAUSE_ENV, "0") or 0)
    if pause > 0:
        time.sleep(pause)


def _atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """:func:`pipelines.atomic.atomic_write_bytes` with the crash tests' pause before the rename."""
    atomic_write_bytes(path, data, mode=mode, before_rename=_test_pause)


# ----------------------------------------------------------------------------- tokens
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _load_tokens(store_root: str | Path) -> dict[str, dict[str, str]]:
    p = tokens_path(store_root)
    if not p.exists():
        return {}
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise CheckinError(f"{p}: cannot read the check-in token file: {err}") from err
    return dict(doc.get("athletes", {}))


def token_status(store_root: str | Path) -> dict[str, str]:
    """athlete id -> when its current token was issued (UTC, ISO 8601)."""
    return {a: v.get("issued_utc", "") for a, v in _load_tokens(store_root).items()}


def issue_token(store_root: str | Path, athlete_id: str, *, now: datetime | None = None) -> str:
    """A new random token for ``athlete_id`` (replacing any earlier one); only its hash is stored."""
    token = secrets.token_urlsafe(18)
    tokens = _load_tokens(store_root)
    tokens[athlete_id] = {
        "sha256": _hash(token),
        "issued_utc": (now or datetime.now(timezone.utc)).isoformat(timespec="seconds"),
    }
    _atomic_write(
        tokens_path(store_root),
        json.dumps({"version": 1, "athletes": tokens}, indent=1, sort_keys=True).encode(),
        mode=0o600,
    )
    return token


def verify_token(store_root: str | Path, athlete_id: str, token: str | None) -> bool:
    """True when ``token`` is the current token of ``athlete_id`` (constant-time)."""
    if not token or not athlete_id:
        return False
    entry = _load_tokens(store_root).get(athlete_id)
    expected = entry.get("sha256") if entry else None
    # compare even when there is no entry, so timing does not tell which ids exist
    ok = hmac.compare_digest(_hash(token), expected or "0" * 64)
    return bool(ok and expected)


# ----------------------------------------------------------------------------- inbox
def write_answer_file(
    store_root: str | Path, answers: Sequence[dict], *, folder: str, name: str | None = None, team: bool = False
) -> Path:
    """Write validated answers as one check-in file in ``inbox/<folder>/``, atomically.

    ``answers`` are dicts as :func:`connectors.checkin.validate_answer` accepts
    (dates and times as ISO strings). Returns the file's path.
    """
    for a in answers:
        validate_answer(a)  # never write what the connector would reject
    doc: dict[str, Any] = {"format": FILE_FORMAT, "answers": list(answers)}
    if team:
        doc["team"] = True
    if name is None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:8]}.checkin.json"
    path = inbox_dir(store_root) / folder / name
    _atomic_write(path, json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8"))
    return path


def ingest_answers(
    store_root: str | Path,
    paths: Sequence[Path],
    *,
    tz_for: Callable[[str | None], str | None] | None = None,
    lock_timeout_s: float = 5.0,
):
    """Ingest answer files now; None when another process holds the store (the nightly run will)."""
    from pipelines.ingest import ingest_paths
    from pipelines.store import Store, StoreLockedError

    try:
        return ingest_paths(
            Store(store_root), [str(p) for p in paths], tz_for=tz_for, pool=False, lock_timeout_s=lock_timeout_s
        )
    except StoreLockedError:
        return None


# ----------------------------------------------------------------------------- form
def device_sessions(store_root: str | Path, athlete_id: str, day: date) -> list[dict]:
    """The athlete's sessions from devices and exports (not check-ins) on local ``day``, one per workout."""
    from features.merge import merge_duplicate_sessions
    from pipelines.store import Store

    s = Store(store_root).read_table("sessions", athletes=[athlete_id], since=day, until=day)
    s = s.filter((pl.col("local_date") == day) & (pl.col("source") != SOURCE))
    if s.is_empty():
        return []
    kept, _ = merge_duplicate_sessions(s)
    out = []
    for r in kept.sort("start_utc").iter_rows(named=True):
        minutes = r["duration_s"] / 60.0 if r["duration_s"] is not None else None
        out.append(
            {
                "start_utc": r["start_utc"].astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                "sport": r["sport"] or "session",
                "minutes": max(1, round(minutes)) if minutes else None,
                "source": r["source"],
                "rpe": None if r["rpe"] is None else int(round(r["rpe"])),
            }
        )
    return out


class FormFields(dict):
    """Submitted form fields: the last value of each name, and :meth:`getlist` for repeated names."""

    def __init__(self, pairs: Sequence[tuple[str, str]]) -> None:
        super().__init__(pairs)
        self._lists: dict[str, list[str]] = {}
        for k, v in pairs:
            self._lists.setdefault(k, []).append(v)

    @classmethod
    def from_body(cls, body: bytes) -> FormFields:
        from urllib.parse import parse_qsl

        return cls(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))

    def getlist(self, key: str) -> list[str]:
        return list(self._lists.get(key, []))


def today_answer(store_root: str | Path, athlete_id: str, day: date) -> dict[str, Any] | None:
    """The athlete's stored check-in of ``day`` as form values (None when not answered yet)."""
    from pipelines.store import Store

    w = Store(store_root).read_table("wellness", athletes=[athlete_id], since=day, until=day)
    w = w.filter((pl.col("date") == day) & (pl.col("source") == SOURCE))
    if w.is_empty():
        return None
    r = w.row(0, named=True)

    def num(x: float | None) -> str:
        return "" if x is None else str(int(x))

    pain = r.get("pain_0_10") if r.get("pain_0_10") is not None else r["back_pain_0_10"]
    return {
        "back_pain": num(pain),
        "area": r.get("back_pain_area") or "",
        "soreness": num(r["soreness"]),
        "sleep": num(r.get("sleep_quality_1_5")),
        "rf": (r.get("red_flags") or "").split(";") if r.get("red_flags") else [],
        "note": r.get("note") or "",
    }


def _int_field(
    form: Mapping[str, str], key: str, scale: str, label: str, errors: dict[str, str], required: bool = True
) -> int | None:
    raw = (form.get(key) or "").strip()
    lo, hi, what = SCALES[scale]
    if raw == "":
        if required:
            errors[key] = f"{label}: please answer ({what})."
        return None
    if not _NUMBER.match(raw):
        errors[key] = f"{label}: {raw!r} is not a number; give {what}."
        return None
    v = float(raw.replace(",", "."))
    if v != int(v) or not lo <= v <= hi:
        errors[key] = f"{label}: {raw} is outside the scale; give {what}."
        return None
    return int(v)


def parse_form(
    form: FormFields, *, athlete_id: str, today: date, tz: str, devices: Sequence[dict], now_utc: datetime
) -> tuple[dict | None, dict[str, str]]:
    """Validate the submitted form; (answer dict ready for :func:`write_answer_file`, {}) or (None, errors).

    ``errors`` maps a form field to a message for the athlete. ``devices`` are
    :func:`device_sessions` of yesterday: a device row is reported when its
    RPE is given; extra rows when minutes and RPE are given.
    """
    errors: dict[str, str] = {}
    pain = _int_field(form, "back_pain", "back_pain_0_10", "Back or neck pain", errors)
    area = (form.get("area") or "").strip() or None
    if pain and area is None:
        errors["area"] = "Where is the pain? Choose lower back, upper back, neck or somewhere else."
    elif area is not None and area not in AREAS:
        errors["area"] = f"Where is the pain: {area!r} is not one of the choices."
    soreness = _int_field(form, "soreness", "soreness_0_10", "General soreness", errors)
    sleep_q = _int_field(form, "sleep", "sleep_quality_1_5", "Sleep quality", errors)
    flags = list(form.getlist("rf"))
    bad = [f for f in flags if f not in RED_FLAG_QUESTIONS]
    if bad:
        errors["rf"] = f"Unknown red-flag answer {bad[0]!r}."
    note = (form.get("note") or "").strip()
    if len(note) > 1000:
        errors["note"] = f"The note is {len(note)} characters long; please keep it under 1000."
    yesterday = today - timedelta(days=1)
    sessions = []
    by_start = {d["start_utc"]: d for d in devices}
    for k in range(int(form.get("n_dev") or 0)):
        ref = form.get(f"d{k}_ref") or ""
        rpe_raw = (form.get(f"d{k}_rpe") or "").strip()
        if not rpe_raw:
            continue  # not rated: nothing to report for that session
        dev = by_start.get(ref)
        if dev is None:
            errors[f"d{k}_rpe"] = "That device session is no longer in the store; please reload the page."
            continue
        rpe = _int_field(form, f"d{k}_rpe", "rpe", f"Effort (RPE) of the {dev['sport']} session", errors)
        minutes = _int_field(form, f"d{k}_min", "minutes", f"Minutes of the {dev['sport']} session", errors)
        if rpe is not None and minutes is not None:
            sessions.append(
                {
                    "start_utc": ref,
                    "local_date": yesterday.isoformat(),
                    "sport": dev["sport"],
                    "minutes": minutes,
                    "rpe": rpe,
                    "device_source": dev["source"],
                }
            )
    zone = ZoneInfo(tz)
    for j in range(EXTRA_SESSION_ROWS):
        mins_raw, rpe_raw = (form.get(f"x{j}_min") or "").strip(), (form.get(f"x{j}_rpe") or "").strip()
        if not mins_raw and not rpe_raw:
            continue
        rpe = _int_field(form, f"x{j}_rpe", "rpe", "Effort (RPE) of the added session", errors)
        minutes = _int_field(form, f"x{j}_min", "minutes", "Minutes of the added session", errors)
        if rpe is not None and minutes is not None:
            # no device start time: noon of yesterday (local), one minute apart per row, so that
            # answering again replaces these rows instead of adding new ones
            start = datetime.combine(yesterday, dtime(12, j), tzinfo=zone).astimezone(timezone.utc)
            sessions.append(
                {
                    "start_utc": start.isoformat().replace("+00:00", "Z"),
                    "local_date": yesterday.isoformat(),
                    "sport": (form.get(f"x{j}_sport") or "").strip()[:40] or "training",
                    "minutes": minutes,
                    "rpe": rpe,
                    "device_source": None,
                }
            )
    if errors:
        return None, errors
    answer = {
        "athlete_id": athlete_id,
        "date": today.isoformat(),
        "reported_utc": now_utc.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "via": "web",
        "back_pain_0_10": pain,
        "back_pain_area": area if pain else None,
        "soreness_0_10": soreness,
        "sleep_quality_1_5": sleep_q,
        "red_flags": flags,
        "sessions": sessions,
        "note": note or None,
    }
    validate_answer(answer)
    return answer, {}


# ----------------------------------------------------------------------------- CSV import
#: Check-in fields a form service's CSV can carry (``[checkin] csv_columns`` maps each to a column title).
#: ``red_flag.<code>`` fields are yes/no columns, one per red-flag question.
CSV_FIELDS: tuple[str, ...] = (
    "athlete_id",
    "time",
    "date",
    "back_pain_0_10",
    "back_pain_area",
    "soreness_0_10",
    "sleep_quality_1_5",
    "session_sport",
    "session_minutes",
    "session_rpe",
    "note",
    *(f"red_flag.{c}" for c in RED_FLAG_QUESTIONS),
)


def _area_code(value: str) -> str | None:
    v = value.strip().lower().replace("-", " ").replace("_", " ")
    if not v:
        return None
    for code, label in AREAS.items():
        if v in (code.replace("_", " "), label.lower()):
            return code
    if v in ("other", "elsewhere"):
        return "other"
    raise ValueError(f"{value!r} is not one of {', '.join(AREAS.values())}")


def read_form_csv(
    data: bytes,
    *,
    name: str,
    columns: Mapping[str, str],
    time_format: str | None,
    true_words: Sequence[str],
    tz_for: Callable[[str], str],
    athletes: Sequence[str] | None = None,
) -> list[dict]:
    """Answers from a form service's CSV export, through the configured column mapping.

    Every row must be valid, or :class:`CheckinError` names the file, the
    line, the column and what was expected (nothing is written then).

    Parameters
    ----------
    columns : mapping
        Check-in field (:data:`CSV_FIELDS`) -> column title in the CSV. Needs
        ``athlete_id`` and ``time`` or ``date``.
    time_format : str, optional
        ``strptime`` format of the time column; ISO 8601 otherwise. A time
        without offset is read in the athlete's zone (``tz_for``).
    athletes : sequence of str, optional
        Known athlete ids (the roster); other ids are refused.
    """
    unknown = sorted(set(columns) - set(CSV_FIELDS))
    if unknown:
        raise CheckinError(
            f"[checkin] csv_columns: unknown field(s) {', '.join(unknown)}; known: {', '.join(CSV_FIELDS)}"
        )
    if "athlete_id" not in columns or not ({"time", "date"} & set(columns)):
        raise CheckinError("[checkin] csv_columns must map 'athlete_id' and 'time' (or 'date') to column titles")
    text = data.decode("utf-8-sig", errors="strict") if data else ""
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample.splitlines()[0] if sample else ",", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        return []
    titles = [h.strip() for h in header]
    missing = [f"{f} -> {c!r}" for f, c in columns.items() if c.strip() not in titles]
    if missing:
        raise CheckinError(f"{name}, line 1: column(s) not found: {'; '.join(missing)} (header: {', '.join(titles)})")
    idx = {f: titles.index(c.strip()) for f, c in columns.items()}
    truthy = {w.lower() for w in true_words}
    answers: list[dict] = []
    for row in reader:
        line = reader.line_num
        if not any(x.strip() for x in row):
            continue

        def cell(field: str, row: list[str] = row) -> str:
            i = idx.get(field)
            return row[i].strip() if i is not None and i < len(row) else ""

        field = "athlete_id"
        try:
            athlete = cell("athlete_id")
            if not athlete:
                raise ValueError("empty athlete id")
            if athletes is not None and athlete not in athletes:
                raise ValueError(f"unknown athlete id {athlete!r}")
            zone = ZoneInfo(tz_for(athlete))
            field = "time" if "time" in idx else "date"
            raw_t = cell(field)
            if field == "time":
                t = (
                    datetime.strptime(raw_t, time_format)
                    if time_format
                    else datetime.fromisoformat(raw_t.replace("Z", "+00:00"))
                )
                t = t.replace(tzinfo=zone) if t.tzinfo is None else t
                day = t.astimezone(zone).date()
            else:
                day = date.fromisoformat(raw_t)
                t = datetime.combine(day, dtime(7, 0), tzinfo=zone)
            if "date" in idx and field == "time" and cell("date"):
                field = "date"
                day = date.fromisoformat(cell("date"))
            a: dict[str, Any] = {
                "athlete_id": athlete,
                "date": day.isoformat(),
                "reported_utc": t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z"),
                "via": f"csv:{name}",
            }
            for field, scale in (
                ("back_pain_0_10", "back_pain_0_10"),
                ("soreness_0_10", "soreness_0_10"),
                ("sleep_quality_1_5", "sleep_quality_1_5"),
            ):
                v = cell(field)
                a[field] = _scaled(v, scale)
            field = "back_pain_area"
            a["back_pain_area"] = _area_code(cell(field))
            field = "red_flags"
            flags = []
            for code in RED_FLAG_QUESTIONS:
                field = f"red_flag.{code}"
                v = cell(field).lower()
                if v in truthy:
                    flags.append(code)
                elif v and v not in ("no", "n", "false", "0", "nein", "non"):
                    raise ValueError(f"{cell(field)!r} is neither yes nor no (yes: {', '.join(sorted(truthy))})")
            # no red-flag column mapped: the form did not ask, so the answer is unknown, not "no"
            a["red_flags"] = flags if any(f.startswith("red_flag.") for f in idx) else None
            field = "session_minutes"
            mins, rpe = _scaled(cell("session_minutes"), "minutes"), None
            field = "session_rpe"
            rpe = _scaled(cell("session_rpe"), "rpe")
            if (mins is None) != (rpe is None):
                raise ValueError("give both the session minutes and its RPE, or neither")
            a["sessions"] = []
            if mins is not None:
                y = day - timedelta(days=1)
                start = datetime.combine(y, dtime(12, 0), tzinfo=zone).astimezone(timezone.utc)
                a["sessions"].append(
                    {
                        "start_utc": start.isoformat().replace("+00:00", "Z"),
                        "local_date": y.isoformat(),
                        "sport": cell("session_sport") or "training",
                        "minutes": mins,
                        "rpe": rpe,
                    }
                )
            a["note"] = cell("note") or None
            validate_answer(a)
        except (ValueError, KeyError) as err:
            col = columns.get(field, field)
            raise CheckinError(f"{name}, line {line}, column {col!r}: {err}") from None
        answers.append(a)
    return answers


def _scaled(raw: str, scale: str) -> int | None:
    if not raw:
        return None
    lo, hi, what = SCALES[scale]
    if not _NUMBER.match(raw):
        raise ValueError(f"{raw!r} is not a number; expected {what}")
    v = float(raw.replace(",", "."))
    if v != int(v) or not lo <= v <= hi:
        raise ValueError(f"{raw} is outside the scale; expected {what}")
    return int(v)
