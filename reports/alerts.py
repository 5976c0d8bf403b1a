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

Texts say what was seen in plain words with the numbers (each fired
component's own sentence from its registry entry, :mod:`models.components`,
filled with the value it stored in ``components_json``; its stored ``rule``
under "what added points"), what to change this week (the scorer's
``adjustments_json`` sentences), the clinician note for red flags, and the
disclaimer (:mod:`models.vocab`). Nothing here reads a clock,
a file or the environment.

References
----------
B13 Finucane, JOSPT 2020;50:350. B14 NICE NG59 2016.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from features.schemas import FEATURES, SCORES, require
from models.components import REGISTRY, seen_lines, seen_short
from models.components import is_finite_number as _ok
from models.params import ScorerParams
from models.vocab import ADJUSTMENT_GENERIC, DISCLAIMER, REASON_TEXT, RED_FLAG_TEXT
from reports.facts import (
    Usual,
    day_facts,
    json_entries,
    load_as_time,
    load_range_as_time,
    one_advice,
    reasons_with_points,
    red_flag_cause,
)

__all__ = [
    "Alert",
    "RULES",
    "SHORT_MAX",
    "alert_id",
    "alerts_for_day",
    "coach_digest",
    "format_alert",
    "push_text",
    "short_text",
]

#: Alert rules in priority order.
RULES = ("red_flag", "high_band", "moderate_streak")
#: Reason codes of the load components (models.components.REGISTRY, group "load").
LOAD_REASONS = {c.reason for c in REGISTRY if c.group == "load"}


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
        Plain-text message (no markup; channels render it as text). ``body``
        is the e-mail version; its first paragraph is ``short``.
    short : str
        The push text (at most :data:`SHORT_MAX` characters): what we saw, the
        one change, when to see a clinician; no jargon.
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
    short: str = ""

    @property
    def alert_id(self) -> str:
        return alert_id(self.athlete_id, self.day, self.rule)


def push_text(body: str) -> str:
    """The short push text of an athlete alert body: its first paragraph."""
    return body.split("\n\n", 1)[0]


def _dl(d: date) -> str:
    return f"{d.strftime('%a')} {d.day} {d.strftime('%b')} {d.year}"


def _codes(s: str | None) -> list[str]:
    return [c.strip() for c in (s or "").split(";") if c.strip()]


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


def _seen_lines(fc: Mapping, reasons: list[str], p: ScorerParams, stored: list[dict] | None = None) -> list[str]:
    """Plain-language sentences with the named day's numbers (``fc`` from :func:`reports.facts.day_facts`).

    The load line (acute vs chronic week, ACWR) when a load component fired or none did, then
    each fired component's own sentence (:func:`models.components.seen_lines`), filled with
    its stored value (``stored``: the day's ``components_json``). Thresholds quoted are the
    scorer's own (``p``).
    """
    out = []
    acute, chronic = fc.get("acute_7d_au"), fc.get("chronic_28d_au")
    if (LOAD_REASONS & set(reasons) or not reasons) and _ok(acute) and _ok(chronic) and chronic > 0:
        pct = 100 * (acute / chronic - 1)
        line = (
            f"Training load: {acute:,.0f} AU in the last 7 days against a usual week of "
            f"{chronic:,.0f} AU ({pct:+.0f} %)."
        )
        acwr, ewma = fc.get("acwr"), fc.get("acwr_ewma")
        if _ok(acwr):
            line += (
                f" Acute:chronic ratio {acwr:.2f}"
                + (f" (EWMA {ewma:.2f})" if _ok(ewma) else "")
                + f"; points start above {p.acwr_spike_start:g} and {p.acwr_danger:g} is a spike."
            )
        out.append(line)
    return out + seen_lines(reasons, fc, p, stored)


#: Short push text limit [characters] (a phone notification shows about this much).
SHORT_MAX = 300

#: The one change in plain words, per adjustment code (``{load}`` = a load turned into time/distance).
_SHORT_CHANGE = {
    "cut_volume": "Next 7 days: {load} in total, easy pace",
    "deload_week": "Next 7 days: an easy week, {load} in total",
    "hold_volume": "Next 7 days: no more than {load}",
    "easy_day": "Today: easy, light training only",
    "rest_day": "Today: take a rest day",
    "prioritise_sleep": "Today: no hard sessions; tonight aim for {need} h of sleep",
    "vary_load": "This week: plan 1-2 easy or rest days",
    "mobility": "Do gentle mobility work and light activity",
    "see_clinician": "Please see a clinician about your back",
}
_SHORT_CHANGE_NO_LOAD = {
    "cut_volume": "Next 7 days: train clearly less than this week, easy pace",
    "deload_week": "Next 7 days: an easy week, about half your usual training",
    "hold_volume": "Next 7 days: do not train more than this week",
}
_CLINICIAN_SHORT = "See a clinician if back pain lasts over a week or spreads below the knee."
_EMERGENCY_SHORT = (
    "Emergency care now if you have bladder or bowel problems, numbness around the genitals or weakness in both legs."
)


def _first(name: str) -> str:
    return name.split()[0] if name.strip() else name


def _seen_short(fc: Mapping, reasons: list[dict], p: ScorerParams, stored: list[dict] | None = None) -> str:
    """What we saw, in plain words with one or two numbers (no jargon): the phrases of the two
    largest reasons' components (:func:`models.components.seen_short`)."""
    parts = seen_short([r["code"] for r in reasons[:2]], fc, p, stored)
    # one sentence, no duplicate phrases
    parts = list(dict.fromkeys(parts))
    return " and ".join(parts) if parts else "your strain-risk score went up"


def _change_short(advice: Mapping | None, usual: Usual | None, need_h: float) -> str:
    if advice is None:
        return "Keep this week's training steady and check how you feel tomorrow"
    code, vals = advice["code"], advice.get("values") or {}
    au = None
    if code == "cut_volume":
        au = vals.get("target_au")
    elif code == "deload_week":
        lo, hi = vals.get("low_au"), vals.get("high_au")
        au = (lo + hi) / 2 if _ok(lo) and _ok(hi) else None
    elif code == "hold_volume":
        au = vals.get("acute_au")
    load = load_as_time(au, usual) if code in ("cut_volume", "deload_week", "hold_volume") else None
    if code in _SHORT_CHANGE_NO_LOAD and load is None:
        return _SHORT_CHANGE_NO_LOAD[code]
    tmpl = _SHORT_CHANGE.get(code, ADJUSTMENT_GENERIC.get(code, code.replace("_", " ")).rstrip("."))
    need = vals.get("need_h") if _ok(vals.get("need_h")) else need_h  # the advice's own target (usual sleep)
    return tmpl.format(load=load or "", need=f"{need:.1f}".removesuffix(".0"))


def short_text(
    name: str,
    rule: str,
    fc: Mapping,
    reasons: list[dict],
    advice: Mapping | None,
    usual: Usual | None,
    need_h: float,
    red_flag_day: date | None = None,
    red_cause: str | None = None,
    *,
    params: ScorerParams | None = None,
    stored: list[dict] | None = None,
) -> str:
    """The push text: what we saw, the one change, when to see a clinician (<= :data:`SHORT_MAX`).

    ``stored``: the named day's ``components_json`` entries, whose values the components'
    phrases quote (without them, the values are read from ``fc``).
    """
    who = _first(name)
    p = params or ScorerParams()
    if rule == "red_flag":
        when = f" on {_dl(red_flag_day)[:-5]}" if red_flag_day else ""
        seen = (
            f"you reported a red-flag back symptom{when}"
            if red_cause in (None, "red-flag symptom reported")
            else f"{red_cause}{' (' + when[4:] + ')' if when else ''}"
        )
        txt = (
            f"{who}, {seen}. Stop training that provokes it and see a "
            f"clinician before training again. {_EMERGENCY_SHORT}"
        )
    else:
        txt = (
            f"{who}, {_seen_short(fc, [r for r in reasons if r['code'] != 'red_flag'], p, stored)}. "
            f"{_change_short(advice, usual, need_h)}. {_CLINICIAN_SHORT}"
        )
    if len(txt) > SHORT_MAX:  # never cut the clinician sentence: shorten what we saw instead
        tail = txt[txt.index(". ") + 2 :]
        head = txt[: SHORT_MAX - len(tail) - 5].rsplit(" ", 1)[0]
        txt = f"{head}... {tail}"
    return txt


def format_alert(
    athlete_id: str,
    name: str,
    rule: str,
    day: date,
    as_of: date,
    f: Mapping | None,
    s: Mapping | None,
    run_days: int,
    *,
    need_h: float | None = None,
    f_load: Mapping | None = None,
    seen_on: date | None = None,
    params: ScorerParams | None = None,
    usual: Usual | None = None,
) -> Alert:
    """Build the :class:`Alert` texts for one athlete-day (see :func:`alerts_for_day`).

    Every number is the stored value of the named day (``as_of``, or the
    red-flag day) read through :func:`reports.facts.day_facts`; thresholds
    come from ``params`` (the scorer's parameters). ``f_load`` is accepted
    for compatibility and ignored.
    """
    p = params or ScorerParams()
    need = p.sleep_need_h if need_h is None else need_h
    s = s or {}
    named = seen_on if rule == "red_flag" and seen_on else as_of
    fc = day_facts(f, s, named, f_load)
    reasons = reasons_with_points(s)
    score, band = s.get("risk_score"), s.get("risk_band")
    who = name if name == athlete_id else f"{name} ({athlete_id})"
    red = rule == "red_flag"
    advice, others = one_advice(s, red_flag=red)
    red_cause = red_flag_cause(f, s) if red else None
    if red:
        headline = f"Red flag reported by {name}: see a clinician"
        what = (
            f"A red-flag symptom was reported on {_dl(seen_on or as_of)}."
            if red_cause in (None, "red-flag symptom reported")
            else f"Red flag on {_dl(seen_on or as_of)}: {red_cause}."
        )
        summary = f"{name}: RED FLAG reported on {_dl(seen_on or as_of)} - see a clinician"
    elif rule == "high_band":
        headline = f"High strain risk for {name}: deload suggested"
        span = (as_of - day).days + 1
        if day == as_of:
            since = "entered today"
        elif run_days == span:
            since = f"since {_dl(day)} ({run_days} days)"
        else:
            since = f"since {_dl(day)} (high on {run_days} of those {span} days)"
        what = f"Risk score {score:.0f}/100 on {_dl(as_of)}: high band ({p.band_high:g} or more), {since}."
        summary = f"{name}: HIGH band {since}, score {score:.0f}"
    else:
        headline = f"Moderate strain risk for {name} {run_days} days in a row"
        what = (
            f"Risk score {score:.0f}/100 on {_dl(as_of)}: moderate band (score {p.band_moderate:g} to under "
            f"{p.band_high:g}) "
            f"for {run_days} days in a row (since {_dl(as_of - timedelta(days=run_days - 1))})."
        )
        summary = f"{name}: MODERATE band {run_days} days in a row, score {score:.0f}"
    # the components' own stored values, when the score row (and the FEATURES row, if any) is of the named day
    same_day = s.get("date") in (None, named) and (f is None or f.get("date") in (None, named))
    stored = json_entries(s.get("components_json")) if same_day else None
    short = short_text(
        name, rule, fc, reasons, advice, usual, need, red_flag_day=seen_on, red_cause=red_cause, params=p, stored=stored
    )
    lines = [
        short,
        "",
        f"strainwatch alert for {who}, {_dl(as_of)}",
        "",
        f"What we saw (values of {_dl(named)}; load: the 7 days to {_dl(fc['load_day'])})",
        f"- {what}",
    ]
    for x in _seen_lines(fc, [r["code"] for r in reasons], p, stored):
        lines.append(f"- {x}")
    if reasons and not red:
        lines.append(
            "- What added points: "
            + "; ".join(
                r["rule"] or (REASON_TEXT.get(r["code"], r["code"]) + (f" (+{r['points']:.0f})" if r["points"] else ""))
                for r in reasons
                if r["code"] != "red_flag"
            )
            + "."
        )
    lines += ["", "The one change"]
    if red:
        lines.append("- Stop training that provokes the symptom and see a clinician before training again.")
    elif advice is not None:
        t = advice["text"]
        lines.append(f"- {t}")
        conv = _load_line(advice, usual)
        if conv:
            lines.append(f"  {conv}")
        if others:
            lines += ["", "Also worth knowing"]
            lines += [f"- {o['text']}" for o in others]
    else:
        lines.append("- Keep the load steady this week (no increase) and check how you feel tomorrow.")
    lines += ["", "See a clinician", RED_FLAG_TEXT]
    top = [REASON_TEXT.get(r["code"], r["code"]) for r in reasons if r["code"] != "red_flag"][:3]
    lines += ["", DISCLAIMER]
    adv_txt = None
    if red:
        adv_txt = "see a clinician; the score is overridden."
    elif advice is not None:
        adv_txt = advice["text"]
    return Alert(
        athlete_id=athlete_id,
        name=name,
        rule=rule,
        day=day,
        as_of=as_of,
        title=f"strainwatch: {headline}",
        body="\n".join(lines),
        summary=summary,
        short=short,
        details={"score": score, "band": band, "reasons": top, "adjustment": adv_txt, "named_day": named.isoformat()},
    )


def _load_line(advice: Mapping, usual: Usual | None) -> str | None:
    vals = advice.get("values") or {}
    code = advice["code"]
    if code == "cut_volume":
        t = load_as_time(vals.get("target_au"), usual)
        return f"In your usual training that is {t} over the next 7 days." if t else None
    if code == "deload_week":
        t = load_range_as_time(vals.get("low_au"), vals.get("high_au"), usual)
        return f"In your usual training that is {t} for the week." if t else None
    if code == "hold_volume":
        t = load_as_time(vals.get("acute_au"), usual)
        return f"This week's load is {t}." if t else None
    return None


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
    sleep_need_h: float | None = None,
    params: ScorerParams | None = None,
    usual: Mapping[str, Usual] | None = None,
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
    sleep_need_h : float, optional
        Sleep need quoted in the text [h]; default ``params.sleep_need_h``.
    params : models.rules.ScorerParams, optional
        The parameters the scores were made with (thresholds quoted in the text).
    usual : mapping of str to reports.facts.Usual, optional
        athlete_id -> usual training (:func:`reports.facts.usual_training`), to
        turn loads into minutes and kilometres.

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
    usual_by = dict(usual or {})
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
            seen_on = max(reported) if reported else seen
            out.append(
                format_alert(
                    a,
                    name,
                    "red_flag",
                    start,
                    as_of,
                    f_rows.get((a, seen_on)) or f_rows.get((a, seen)),
                    by_day.get(seen_on) or row,
                    (seen - start).days + 1,
                    need_h=sleep_need_h,
                    seen_on=seen_on,
                    params=params,
                    usual=usual_by.get(a),
                    f_load=f_rows.get((a, seen_on - timedelta(days=1))),
                )
            )
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
            out.append(
                format_alert(
                    a,
                    name,
                    "high_band",
                    start,
                    as_of,
                    f,
                    today,
                    n_high,
                    need_h=sleep_need_h,
                    params=params,
                    usual=usual_by.get(a),
                    f_load=f_load,
                )
            )
        elif bands[-1] == "moderate":
            start = _run_start(days, [b == "moderate" for b in bands])
            n = (as_of - start).days + 1
            if n >= moderate_days:
                key = start + timedelta(days=moderate_days - 1)
                out.append(
                    format_alert(
                        a,
                        name,
                        "moderate_streak",
                        key,
                        as_of,
                        f,
                        today,
                        n,
                        need_h=sleep_need_h,
                        params=params,
                        usual=usual_by.get(a),
                        f_load=f_load,
                    )
                )
    out.sort(key=lambda x: (RULES.index(x.rule), x.athlete_id))
    return out


def coach_digest(
    alerts: Sequence[Alert],
    *,
    as_of: date,
    team_name: str | None = None,
    new_ids: Iterable[str] | None = None,
    stale: Mapping[str, Mapping] | None = None,
    names: Mapping[str, str] | None = None,
    stale_after_d: int = 7,
) -> tuple[str, str] | None:
    """Title and body of the coach's digest of all ``alerts`` of the night.

    Parameters
    ----------
    alerts : sequence of Alert
        What :func:`alerts_for_day` returned for ``as_of`` (new and ongoing episodes).
    new_ids : iterable of str, optional
        ``alert_id`` of the alerts not sent before; those are marked ``NEW`` and
        the others ``ongoing``. None: no marks.
    stale : mapping, optional
        athlete_id -> :func:`reports.facts.freshness` result for athletes whose
        training, sleep or HR/HRV data is older than ``stale_after_d`` days:
        listed under "No recent data" (missing data is not low risk).

    Returns
    -------
    (str, str) or None
        None when there are no alerts and no stale athletes.
    """
    stale = dict(stale or {})
    names = dict(names or {})
    if not alerts and not stale:
        return None
    new = set(new_ids) if new_ids is not None else None
    counts = {r: sum(1 for a in alerts if a.rule == r) for r in RULES}
    words = {"red_flag": "red flag", "high_band": "high", "moderate_streak": "moderate 3+ days"}
    parts = ", ".join(f"{n} {words[r]}" for r, n in counts.items() if n)
    if new is not None:
        n_new = sum(1 for a in alerts if a.alert_id in new)
        parts += ("; " if parts else "") + f"{n_new} new"
    team = f"{team_name}: " if team_name else ""
    if stale:
        parts = (parts + "; " if parts else "") + f"{len(stale)} without recent data"
    title = f"strainwatch: {team}{len(alerts)} alert{'s' if len(alerts) != 1 else ''} for {as_of.isoformat()} ({parts})"
    lines = [
        f"strainwatch coach digest{' for ' + team_name if team_name else ''}, {_dl(as_of)}: "
        f"{len(alerts)} alert(s) ({parts}).",
        "",
    ]
    for al in alerts:
        mark = "" if new is None else ("NEW " if al.alert_id in new else "ongoing ")
        lines.append(f"* {mark}{al.summary}")
        if al.details.get("reasons"):
            lines.append(f"  why: {'; '.join(al.details['reasons'])}")
        if al.rule == "red_flag":
            lines.append("  action: see a clinician; the score is overridden.")
        elif al.details.get("adjustment"):
            lines.append(f"  action: {al.details['adjustment']}")
    if stale:
        lines += ["", f"No recent data (older than {stale_after_d} days; their scores cannot be read as low risk):"]
        for a in sorted(stale):
            fr = stale[a]
            what = "; ".join(
                f"no {r['label']} data since {r['last'].isoformat()}" if r["last"] else f"no {r['label']} data"
                for r in fr["inputs"]
                if r["stale"]
            )
            lines.append(f"* {names.get(a) or a}: {what}")
    if counts["red_flag"]:
        lines += ["", "Red flags (see a clinician): " + RED_FLAG_TEXT]
    lines += ["", DISCLAIMER]
    return title, "\n".join(lines)
