"""Deload alerts: which alerts fire for a day, and their text (pure).

Rules (issue 8; bands from domain brief section 6):

``red_flag``
    A red-flag symptom is reported on ``as_of`` or the two days before
    (FEATURES ``red_flag`` or the ``red_flag`` reason). The alert says "see a clinician" and lists the red
    flags [B13, B14]; it replaces the band alerts for that athlete.
``high_band``
    The athlete is in the high band on ``as_of``. High days at most
    ``episode_gap_days`` (2) apart are one episode (one alert).
``moderate_streak``
    The athlete has been in the moderate band for ``moderate_days`` (3) or
    more consecutive days ending on ``as_of``.

Each alert carries a *key day*: the first day of the red-flag or high-band
run, or the day the moderate run reached ``moderate_days`` days. Evaluating a
later day of the same run yields the same ``(athlete, key day, rule)`` and
therefore the same :attr:`Alert.alert_id`, which is what the outbox
de-duplicates on: one alert per episode, and a night that was missed is still
alerted on the next run ("never twice, never lost").

Texts say what was seen in plain words with the numbers, what to change this
week (the scorer's ``adjustments_json`` sentences), the clinician note for red
flags, and the disclaimer (:mod:`models.vocab`). Nothing here reads a clock,
a file or the environment.

References
----------
B13 Finucane, JOSPT 2020;50:350. B14 NICE NG59 2016.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from features.schemas import FEATURES, SCORES, require
from models.vocab import ADJUSTMENT_GENERIC, DISCLAIMER, REASON_TEXT, RED_FLAG_TEXT

__all__ = ["Alert", "RULES", "alert_id", "alerts_for_day", "coach_digest", "format_alert"]

#: Alert rules in priority order.
RULES = ("red_flag", "high_band", "moderate_streak")
LOAD_REASONS = {"acwr_spike", "weekly_ramp", "monotony", "hard_day_streak", "ctl_ramp"}


def alert_id(athlete_id: str, day: date, rule: str) -> str:
    """Outbox key: ``sha256("athlete|YYYY-MM-DD|rule")`` as 64 hex digits."""
    return hashlib.sha256(f"{athlete_id}|{day.isoformat()}|{rule}".encode()).hexdigest()


@dataclass(frozen=True)
class Alert:
    """One alert for one athlete.

    Attributes
    ----------
    athlete_id, name : str
    rule : str
        One of :data:`RULES`.
    day : datetime.date
        Key day (start of the run, see the module docstring).
    as_of : datetime.date
        The day that was evaluated.
    title, body : str
        Plain-text message (no markup; channels render it as text).
    summary : str
        One line for digests and run summaries.
    """

    athlete_id: str
    name: str
    rule: str
    day: date
    as_of: date
    title: str
    body: str
    summary: str
    details: Mapping[str, object] = field(default_factory=dict, compare=False)

    @property
    def alert_id(self) -> str:
        return alert_id(self.athlete_id, self.day, self.rule)


def _ok(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _dl(d: date) -> str:
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')} {d.year}"


def _codes(s: str | None) -> list[str]:
    return [c.strip() for c in (s or "").split(";") if c.strip()]


def _json(s: str | None) -> list[dict]:
    if not s:
        return []
    try:
        v = json.loads(s)
    except json.JSONDecodeError:
        return []
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def _episode_start(true_days: set[date], end: date, max_gap: int) -> date:
    """First day of the episode ending at ``end``: qualifying days at most ``max_gap`` days apart.

    ``end`` must be in ``true_days``; days without a score count as not qualifying.
    """
    start = end
    while True:
        reach = [start - timedelta(days=k) for k in range(1, max_gap + 2)]
        prev = [d for d in reach if d in true_days]
        if not prev:
            return start
        start = min(prev)


def _run_start(days: Sequence[date], pred: Sequence[bool]) -> date | None:
    """First day of the run of consecutive calendar days ending at the last entry where ``pred`` holds."""
    if not days or not pred[-1]:
        return None
    start = days[-1]
    for i in range(len(days) - 2, -1, -1):
        if pred[i] and (days[i + 1] - days[i]).days == 1:
            start = days[i]
        else:
            break
    return start


def _seen_lines(f: Mapping | None, s: Mapping, reasons: list[str], need_h: float,
                f_load: Mapping | None = None) -> list[str]:
    """Plain-language sentences with the numbers behind the score.

    ``f`` is the day's FEATURES row (morning HRV, RHR, sleep); ``f_load`` the
    row the scorer's load components read (the day before, models.rules
    COMPONENTS), falling back to ``f``.
    """
    f = f or {}
    fl = f_load or f
    out = []
    acute, chronic = fl.get("acute_7d_au"), fl.get("chronic_28d_au")
    if LOAD_REASONS & set(reasons) or not reasons:
        if _ok(acute) and _ok(chronic) and chronic > 0:
            pct = 100 * (acute / chronic - 1)
            line = (f"Training load: {acute:,.0f} AU in the last 7 days against a usual week of "
                    f"{chronic:,.0f} AU ({pct:+.0f} %).")
            acwr = fl.get("acwr")
            ewma = fl.get("acwr_ewma")
            if _ok(acwr):
                line += (f" Acute:chronic ratio {acwr:.2f}" + (f" (EWMA {ewma:.2f})" if _ok(ewma) else "")
                         + "; the usual range is 0.8-1.3 and above 1.5 is a spike.")
            out.append(line)
        wk = fl.get("weekly_change_pct")
        if "weekly_ramp" in reasons and _ok(wk):
            out.append(f"The last 7 days' load is {abs(wk):.0f} % {'higher' if wk >= 0 else 'lower'} than the 7 days before.")
        mono = fl.get("monotony")
        strain, p90 = fl.get("strain_au"), fl.get("strain_p90_au")
        if "monotony" in reasons and _ok(mono) and mono > 2:
            out.append(f"Training monotony {mono:.1f} (above 2 means little day-to-day variation).")
        elif "monotony" in reasons and _ok(strain) and _ok(p90) and strain > p90:
            out.append(f"Training strain {strain:,.0f} AU, above your own 90th percentile ({p90:,.0f} AU).")
        streak = fl.get("hard_day_streak")
        if "hard_day_streak" in reasons and _ok(streak):
            out.append(f"{int(streak)} hard days in a row (load above 1.5 x fitness).")
        ramp = fl.get("ctl_ramp_7d")
        if "ctl_ramp" in reasons and _ok(ramp):
            out.append(f"Fitness (CTL) rose by {ramp:.1f} in 7 days.")
    hz = f.get("hrv_z")
    if "hrv_suppressed" in reasons and _ok(hz):
        out.append(f"Heart-rate variability: 7-day average {abs(hz):.1f} SD below your own 60-day baseline.")
    dr, r7, rb = f.get("rhr_delta_bpm"), f.get("rhr_7d_bpm"), f.get("rhr_baseline_bpm")
    if "rhr_elevated" in reasons and _ok(dr):
        extra = f" ({r7:.0f} vs {rb:.0f} bpm)" if _ok(r7) and _ok(rb) else ""
        out.append(f"Resting heart rate: 7-day average {dr:+.1f} bpm against your baseline{extra}.")
    s7, debt = f.get("sleep_7d_h"), f.get("sleep_debt_7d_h")
    if "sleep_debt" in reasons and _ok(s7):
        line = f"Sleep: {s7:.1f} h a night over the last 7 nights (need {need_h:g} h)"
        line += f", {debt:.1f} h short in total." if _ok(debt) and debt > 0 else "."
        out.append(line)
    bp, bs = f.get("back_pain_0_10"), f.get("back_pain_streak_d")
    if "back_symptoms" in reasons and _ok(bp):
        out.append(f"Back pain {bp:.0f}/10" + (f", {int(bs)} days in a row." if _ok(bs) and bs > 1 else "."))
    return out


def format_alert(athlete_id: str, name: str, rule: str, day: date, as_of: date, f: Mapping | None,
                 s: Mapping | None, run_days: int, *, need_h: float = 8.0, f_load: Mapping | None = None,
                 seen_on: date | None = None) -> Alert:
    """Build the :class:`Alert` text for one athlete-day (see :func:`alerts_for_day`)."""
    s = s or {}
    reasons = _codes(s.get("reasons"))
    score, band = s.get("risk_score"), s.get("risk_band")
    who = name if name == athlete_id else f"{name} ({athlete_id})"
    if rule == "red_flag":
        headline = f"Red flag reported by {name}: see a clinician"
        what = f"A red-flag symptom was reported on {_dl(seen_on or as_of)}."
        summary = f"{name}: RED FLAG reported (since {_dl(day)}) - see a clinician"
    elif rule == "high_band":
        headline = f"High strain risk for {name}: deload suggested"
        span = (as_of - day).days + 1
        if day == as_of:
            since = "entered today"
        elif run_days == span:
            since = f"since {_dl(day)} ({run_days} days)"
        else:
            since = f"since {_dl(day)} (high on {run_days} of those {span} days)"
        what = f"Risk score {score:.0f}/100 on {_dl(as_of)}: high band (60 or more), {since}."
        summary = f"{name}: HIGH band {since}, score {score:.0f}"
    else:
        headline = f"Moderate strain risk for {name} {run_days} days in a row"
        what = (f"Risk score {score:.0f}/100 on {_dl(as_of)}: moderate band (30-59) for {run_days} days in a row "
                f"(since {_dl(as_of - timedelta(days=run_days - 1))}).")
        summary = f"{name}: MODERATE band {run_days} days in a row, score {score:.0f}"
    lines = [f"strainwatch alert for {who}, {_dl(as_of)}", "", "What we saw", f"- {what}"]
    for x in _seen_lines(f, s, reasons, need_h, f_load):
        lines.append(f"- {x}")
    comps = [c for c in _json(s.get("components_json")) if _ok(c.get("points")) and c["points"] > 0]
    comps.sort(key=lambda c: -c["points"])
    if comps:
        lines.append("- Score details: " + "; ".join(
            (c.get("rule") or f"{c.get('component')}: +{c['points']:.0f}")
            + (f" (cap {c['cap']:.0f})" if _ok(c.get("cap")) else "") for c in comps) + ".")
    adj = _json(s.get("adjustments_json"))
    texts = {a.get("code"): a.get("text") for a in adj if a.get("code")}
    codes = _codes(s.get("adjustments")) or list(texts)
    if rule == "red_flag":
        # a red flag overrides the score: the only advice is to see a clinician
        codes = ["see_clinician"]
    codes.sort(key=lambda c: c != "see_clinician")
    lines += ["", "What to change this week"]
    if codes:
        for c in codes:
            t = texts.get(c) or ADJUSTMENT_GENERIC.get(c, c.replace("_", " "))
            if c == "see_clinician" and rule == "red_flag":
                t = "Stop training that provokes the symptom and see a clinician before training again."
            lines.append(f"- {t}")
    else:
        lines.append("- Keep the load steady this week (no increase) and check how you feel tomorrow.")
    if rule == "red_flag" or "red_flag" in reasons:
        lines += ["", "See a clinician", RED_FLAG_TEXT]
    top = [REASON_TEXT.get(r, r) for r in reasons if r != "red_flag"][:3]
    lines += ["", DISCLAIMER]
    return Alert(
        athlete_id=athlete_id, name=name, rule=rule, day=day, as_of=as_of,
        title=f"strainwatch: {headline}", body="\n".join(lines), summary=summary,
        details={"score": score, "band": band, "reasons": top,
                 "adjustment": (texts.get(codes[0]) or ADJUSTMENT_GENERIC.get(codes[0], codes[0])) if codes else None},
    )


def alerts_for_day(
    features: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    as_of: date,
    names: Mapping[str, str] | None = None,
    athletes: Iterable[str] | None = None,
    moderate_days: int = 3,
    red_flag_lookback_days: int = 3,
    episode_gap_days: int = 2,
    sleep_need_h: float = 8.0,
) -> list[Alert]:
    """The alerts that fire on ``as_of``, at most one per athlete.

    Parameters
    ----------
    features, scores : polars.DataFrame
        FEATURES and SCORES tables (any history; days after ``as_of`` are ignored).
    as_of : datetime.date
        The day evaluated (the nightly run's scored day).
    names : mapping of str to str, optional
        athlete_id -> display name.
    athletes : iterable of str, optional
        Only these athletes.
    moderate_days : int
        Consecutive moderate days that fire ``moderate_streak`` [d].
    red_flag_lookback_days : int
        A red flag reported on any of the last this many days (``as_of``
        included) fires ``red_flag``; with the outbox key on the first day of
        the red-flag run this alerts once, even when a nightly run was missed [d].
    episode_gap_days : int
        High-band (and red-flag) days at most this many days apart belong to
        one episode, so a score flapping around 60 does not alert every
        other night; a longer break starts a new episode [d].
    sleep_need_h : float
        Sleep need quoted in the text [h].

    Returns
    -------
    list of Alert
        Red flags first, then high, then moderate; by athlete id within a rule.
        Empty when nothing fires (band alerts need a score on ``as_of``).
    """
    require(features, FEATURES)
    require(scores, SCORES)
    if moderate_days < 1:
        raise ValueError(f"moderate_days must be >= 1, got {moderate_days}")
    if episode_gap_days < 0:
        raise ValueError(f"episode_gap_days must be >= 0, got {episode_gap_days}")
    if red_flag_lookback_days < 1:
        raise ValueError(f"red_flag_lookback_days must be >= 1, got {red_flag_lookback_days}")
    names = dict(names or {})
    sc = scores.filter(pl.col("date") <= as_of)
    fe = features.filter(pl.col("date").is_between(as_of - timedelta(days=max(red_flag_lookback_days, 2) + 1), as_of))
    rf_fe = features.filter((pl.col("date") <= as_of) & pl.col("red_flag").fill_null(False))
    if athletes is not None:
        ids = list(athletes)
        sc = sc.filter(pl.col("athlete_id").is_in(ids))
        fe = fe.filter(pl.col("athlete_id").is_in(ids))
        rf_fe = rf_fe.filter(pl.col("athlete_id").is_in(ids))
    f_rows = {(r["athlete_id"], r["date"]): r for r in fe.iter_rows(named=True)}
    rf_days: dict[str, set[date]] = {}
    for a, d in rf_fe.select("athlete_id", "date").iter_rows():
        rf_days.setdefault(a, set()).add(d)
    s_by = {k[0]: v for k, v in sc.sort("date").partition_by("athlete_id", as_dict=True).items()} if sc.height else {}
    out: list[Alert] = []
    for a in sorted(set(s_by) | set(rf_days)):
        rows = list(s_by[a].iter_rows(named=True)) if a in s_by else []
        by_day = {r["date"]: r for r in rows}
        name = names.get(a) or a
        f = f_rows.get((a, as_of))
        f_load = f_rows.get((a, as_of - timedelta(days=1)))
        # red flag: reported on as_of or within the lookback (a missed night is still alerted)
        rf_set = rf_days.get(a, set()) | {r["date"] for r in rows if "red_flag" in _codes(r["reasons"])}
        recent = [d for d in rf_set if as_of - timedelta(days=red_flag_lookback_days - 1) <= d <= as_of]
        if recent:
            seen = max(recent)
            start = _episode_start(rf_set, seen, episode_gap_days)
            row = by_day.get(seen) or by_day.get(as_of)
            # the day the symptom was reported (the scorer keeps the flag on the following days)
            reported = [d for d in rf_days.get(a, set()) if d <= seen]
            out.append(format_alert(a, name, "red_flag", start, as_of, f_rows.get((a, seen)) or f, row,
                                    (seen - start).days + 1, need_h=sleep_need_h,
                                    f_load=f_rows.get((a, seen - timedelta(days=1))),
                                    seen_on=max(reported) if reported else seen))
            continue
        if not rows or rows[-1]["date"] != as_of:
            continue
        today = rows[-1]
        days = [r["date"] for r in rows]
        bands = [r["risk_band"] for r in rows]
        if bands[-1] == "high":
            high = {r["date"] for r in rows if r["risk_band"] == "high"}
            start = _episode_start(high, as_of, episode_gap_days)
            n_high = sum(1 for d in high if start <= d <= as_of)
            out.append(format_alert(a, name, "high_band", start, as_of, f, today, n_high,
                                    need_h=sleep_need_h, f_load=f_load))
        elif bands[-1] == "moderate":
            start = _run_start(days, [b == "moderate" for b in bands])
            n = (as_of - start).days + 1
            if n >= moderate_days:
                key = start + timedelta(days=moderate_days - 1)
                out.append(format_alert(a, name, "moderate_streak", key, as_of, f, today, n, need_h=sleep_need_h,
                                        f_load=f_load))
    out.sort(key=lambda x: (RULES.index(x.rule), x.athlete_id))
    return out


def coach_digest(alerts: Sequence[Alert], *, as_of: date, team_name: str | None = None,
                 new_ids: Iterable[str] | None = None) -> tuple[str, str] | None:
    """Title and body of the coach's digest of all ``alerts`` of the night.

    Parameters
    ----------
    alerts : sequence of Alert
        What :func:`alerts_for_day` returned for ``as_of`` (new and ongoing episodes).
    new_ids : iterable of str, optional
        ``alert_id`` of the alerts not sent before; those are marked ``NEW`` and
        the others ``ongoing``. None: no marks.

    Returns
    -------
    (str, str) or None
        None when there are no alerts.
    """
    if not alerts:
        return None
    new = set(new_ids) if new_ids is not None else None
    counts = {r: sum(1 for a in alerts if a.rule == r) for r in RULES}
    words = {"red_flag": "red flag", "high_band": "high", "moderate_streak": "moderate 3+ days"}
    parts = ", ".join(f"{n} {words[r]}" for r, n in counts.items() if n)
    if new is not None:
        n_new = sum(1 for a in alerts if a.alert_id in new)
        parts += f"; {n_new} new"
    team = f"{team_name}: " if team_name else ""
    title = f"strainwatch: {team}{len(alerts)} alert{'s' if len(alerts) != 1 else ''} for {as_of.isoformat()} ({parts})"
    lines = [f"strainwatch coach digest{' for ' + team_name if team_name else ''}, {_dl(as_of)}: "
             f"{len(alerts)} alert(s) ({parts}).", ""]
    for al in alerts:
        mark = "" if new is None else ("NEW " if al.alert_id in new else "ongoing ")
        lines.append(f"* {mark}{al.summary}")
        if al.details.get("reasons"):
            lines.append(f"  why: {'; '.join(al.details['reasons'])}")
        if al.rule == "red_flag":
            lines.append("  action: see a clinician; the score is overridden.")
        elif al.details.get("adjustment"):
            lines.append(f"  action: {al.details['adjustment']}")
    if counts["red_flag"]:
        lines += ["", "Red flags (see a clinician): " + RED_FLAG_TEXT]
    lines += ["", DISCLAIMER]
    return title, "\n".join(lines)
