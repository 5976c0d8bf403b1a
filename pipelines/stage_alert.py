"""Alert stage: evaluate the night's alerts, queue them in the outbox, deliver through apprise.

:func:`run_alerts` is what ``strainwatch alert`` and the nightly flow call:

1. read FEATURES and SCORES from the store and ask :func:`reports.alerts.alerts_for_day`
   which alerts fire on ``as_of`` (plus a coach digest when coach URLs exist);
2. queue each in the outbox (:mod:`pipelines.outbox`; insert-or-ignore on
   ``sha256(athlete|day|rule)``, so a re-run queues nothing new);
3. deliver every queued, failed or channel-less alert (also from earlier
   nights, up to ``max_age_days`` old) to each of its recipient's apprise URLs
   that has not received it yet, and record ``sent`` / ``failed``.

Secrets: a URL may contain ``${NAME}``; it is replaced by the environment
variable ``NAME`` at send time only. URLs are never logged or printed: output
shows :func:`mask_url` (scheme, host for host-based schemes, and a short
fingerprint), and apprise's own log lines are captured and scrubbed of the URL
and every substituted secret before they are stored as an error.

``dry_run=True`` opens the ledger read-only and writes nothing: it lists what
would be sent (with masked targets) and what is waiting for a retry.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlsplit

from models.rules import ScorerParams
from pipelines.outbox import RETRYABLE, Outbox, target_key
from pipelines.stage_score import params_used
from pipelines.store import Store
from reports.alerts import alert_id, alerts_for_day, coach_digest, push_text
from reports.facts import freshness, last_data_dates, tracked_inputs, usual_training

__all__ = [
    "ChannelConfig",
    "ChannelConfigError",
    "AlertRunSummary",
    "channels_from_config",
    "expand_url",
    "mask_url",
    "apprise_send",
    "run_alerts",
]

COACH = "coach"
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
#: schemes that get the whole e-mail text; every other (push) channel gets the short
#: first paragraph (at most reports.alerts.SHORT_MAX characters) of an athlete alert
FULL_TEXT_SCHEMES = {
    "mailto",
    "mailtos",
    "ses",
    "sendgrid",
    "mailgun",
    "sparkpost",
    "resend",
    "smtp2go",
    "json",
    "jsons",
    "form",
    "forms",
    "xml",
    "xmls",
}
#: schemes whose host part is a server name, not a token (safe to show)
_HOST_SCHEMES = {
    "json",
    "jsons",
    "form",
    "forms",
    "xml",
    "xmls",
    "mailto",
    "mailtos",
    "ntfy",
    "ntfys",
    "gotify",
    "gotifys",
    "matrix",
    "matrixs",
    "mqtt",
    "mqtts",
    "rocket",
    "rockets",
    "mmost",
    "mmosts",
    "apprise",
    "apprises",
}

Sender = Callable[[str, str, str], "tuple[bool, str | None]"]


class ChannelConfigError(ValueError):
    """The alert channel configuration is malformed; the message names the key."""


@dataclass(frozen=True)
class ChannelConfig:
    """Apprise URL templates per recipient (``${VAR}`` not yet substituted)."""

    athletes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    coach: tuple[str, ...] = ()

    def for_recipient(self, recipient: str) -> tuple[str, ...]:
        return self.coach if recipient == COACH else tuple(self.athletes.get(recipient, ()))


def _urls(v: object, key: str) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not all(isinstance(u, str) for u in v):
        raise ChannelConfigError(f"{key}: expected a list of apprise URL strings, got {type(v).__name__}")
    out = []
    for i, u in enumerate(v):
        u = u.strip()
        if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", u):
            raise ChannelConfigError(f"{key}[{i}]: not an apprise URL (expected scheme://..., e.g. ntfys://host/topic)")
        out.append(u)
    return tuple(out)


def channels_from_config(cfg: Mapping | ChannelConfig | None) -> ChannelConfig:
    """Alert channels from a plain mapping (a TOML document or section).

    Accepted shapes (first match wins):

    * a whole config document: ``[alerts] coach_urls = [...]`` plus
      ``[[athletes]] id = "..." alert_urls = [...]`` (the ``strainwatch.toml``
      layout of :mod:`pipelines.config`), or ``[alerts] coach = [...]`` with
      ``[alerts.athletes] alice = [...]``;
    * an ``[alerts]`` section: ``{"coach": [...], "athletes": {"alice": [...]}}``;
    * a flat mapping ``{"alice": [...], "coach": [...]}`` (what
      ``Config.alert_channels()`` returns).

    A single URL string is accepted where a list is expected.

    Raises
    ------
    ChannelConfigError
        A value is not a URL string or list of them; the message names the key.
    """
    if cfg is None:
        return ChannelConfig()
    if isinstance(cfg, ChannelConfig):
        return cfg
    if not isinstance(cfg, Mapping):
        raise ChannelConfigError(f"alert channels: expected a mapping, got {type(cfg).__name__}")
    athletes: dict[str, tuple[str, ...]] = {}
    coach: tuple[str, ...] = ()
    if "alerts" in cfg or isinstance(cfg.get("athletes"), list):
        sec = cfg.get("alerts") or {}
        if not isinstance(sec, Mapping):
            raise ChannelConfigError("alerts: expected a table")
        roster = cfg.get("athletes") if isinstance(cfg.get("athletes"), list) else []
        for i, a in enumerate(roster):
            if isinstance(a, Mapping) and a.get("alert_urls"):
                if not isinstance(a.get("id"), str):
                    raise ChannelConfigError(f"athletes[{i}].id: expected a string")
                athletes[a["id"]] = _urls(a["alert_urls"], f"athletes[{i}].alert_urls")
        coach = _urls(sec.get("coach_urls", sec.get("coach", [])), "alerts.coach_urls")
        for k, v in (sec.get("athletes") or {}).items():
            athletes[str(k)] = _urls(v, f"alerts.athletes.{k}")
        return ChannelConfig(athletes, coach)
    if "athletes" in cfg and isinstance(cfg["athletes"], Mapping):
        for k, v in cfg["athletes"].items():
            athletes[str(k)] = _urls(v, f"athletes.{k}")
        coach = _urls(cfg.get("coach", cfg.get("coach_urls", [])), "coach")
        return ChannelConfig(athletes, coach)
    for k, v in cfg.items():
        if k in (COACH, "coach_urls"):
            coach = _urls(v, k)
        else:
            athletes[str(k)] = _urls(v, str(k))
    return ChannelConfig(athletes, coach)


def expand_url(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """Substitute ``${NAME}`` from the environment.

    Returns
    -------
    (str, list of str)
        The URL to use and the substituted values (to scrub from messages).

    Raises
    ------
    KeyError
        With the variable name (never the URL) when a variable is not set.
    """
    env = os.environ if environ is None else environ
    secrets: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in env:
            raise KeyError(name)
        if env[name]:
            secrets.append(env[name])
        return env[name]

    return _VAR_RE.sub(sub, url), secrets


def mask_url(url: str) -> str:
    """A printable label for a configured URL that reveals no credentials.

    Keeps the scheme, the host (only for schemes where the host is a server
    name) and a 6-digit fingerprint to tell URLs apart:

    >>> mask_url("json://127.0.0.1:8080/hook?token=abc")
    'json://127.0.0.1:8080/... #099c1b'
    >>> mask_url("tgram://123456:SECRET/987")
    'tgram://... #72dc4e'
    """
    fp = hashlib.sha256(url.encode()).hexdigest()[:6]
    scheme = url.split("://", 1)[0].lower() if "://" in url else "?"
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*", scheme):
        scheme = "?"
    if scheme in _HOST_SCHEMES:
        try:
            parts = urlsplit(url)
            netloc = parts.netloc.rsplit("@", 1)[-1]
            host = parts.hostname if "$" not in netloc else None
            port = parts.port if host else None
        except ValueError:
            host, port = None, None
        if host:
            return f"{scheme}://{host}{':' + str(port) if port else ''}/... #{fp}"
    return f"{scheme}://... #{fp}"


def _scrub(text: str, *secrets: str) -> str:
    for s in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(s, "***")
    return text


def apprise_send(url: str, title: str, body: str) -> tuple[bool, str | None]:
    """Send one plain-text notification to one apprise URL.

    Returns ``(ok, error)``; ``ok`` is ``bool(result)`` of ``Apprise.notify``
    (apprise 1.x returns a bool, 2.x an ``AppriseResult``; both are truthy on
    success). ``error`` holds apprise's captured warnings, not yet scrubbed.
    """
    import apprise

    ap = apprise.Apprise()
    with apprise.LogCapture(level=logging.INFO) as logs:
        if not ap.add(url):
            return False, "apprise does not accept this URL (unknown scheme or malformed)"
        try:
            ok = bool(ap.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT))
        except Exception as err:  # a plugin raising instead of returning False
            return False, f"{type(err).__name__}: {err}"
        text = logs.getvalue()
    if ok:
        return True, None
    msgs = [ln.split(" - ", 2)[-1].strip() for ln in text.splitlines() if " - WARNING - " in ln or " - ERROR - " in ln]
    return False, "; ".join(msgs[-3:]) or "delivery failed (no reason given by apprise)"


@dataclass
class AlertRunSummary:
    """What :func:`run_alerts` did. ``lines`` is a printable report (URLs masked)."""

    as_of: date | None
    dry_run: bool = False
    fired: int = 0  # alerts that fire on as_of (new or not)
    new: int = 0  # queued by this run
    sent: int = 0  # outbox rows delivered by this run
    retried: int = 0  # of which queued by an earlier run
    failed: int = 0  # rows that failed this run (retried next run)
    already_sent: int = 0  # alerts of as_of that an earlier run delivered
    no_channel: int = 0
    gave_up: int = 0
    expired: int = 0
    would_send: int = 0  # dry run
    pending: int = 0  # left for the next run
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    messages: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.gave_up == 0


def _open_ro(store: Store) -> sqlite3.Connection | None:
    if not store.ledger_path.exists():
        return None
    con = sqlite3.connect(f"file:{store.ledger_path}?mode=ro", uri=True, timeout=60)
    has = con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='alert_outbox'").fetchone()
    if not has:
        con.close()
        return None
    return con


def run_alerts(
    store: Store,
    *,
    as_of: date | None = None,
    channels: Mapping | ChannelConfig | None = None,
    dry_run: bool = False,
    names: Mapping[str, str] | None = None,
    athletes: Iterable[str] | None = None,
    team_name: str | None = None,
    max_attempts: int = 8,
    max_age_days: int = 7,
    moderate_days: int = 3,
    environ: Mapping[str, str] | None = None,
    sender: Sender | None = None,
    params: ScorerParams | Mapping | None = None,
    stale_after_d: int = 7,
) -> AlertRunSummary:
    """Evaluate, queue and deliver the alerts of ``as_of``, and retry earlier failures.

    Parameters
    ----------
    store : Store
    as_of : datetime.date, optional
        Night to evaluate; default the latest scored day in the store.
    channels : mapping or ChannelConfig
        Apprise URLs per athlete and ``"coach"`` (see :func:`channels_from_config`).
    dry_run : bool
        Write nothing, send nothing; ``lines`` and ``messages`` show what would be sent.
    names : mapping of str to str, optional
        athlete_id -> display name for the texts.
    max_attempts : int
        Delivery attempts before an alert is given up (``gave_up``, reported).
    max_age_days : int
        Alerts queued more than this many days before ``as_of`` are not
        retried any more (``expired``, reported) [d].
    environ : mapping, optional
        Environment for ``${VAR}`` in URLs (default ``os.environ``).
    sender : callable, optional
        ``sender(url, title, body) -> (ok, error)``; default :func:`apprise_send`.
    params : ScorerParams or mapping, optional
        The configured scorer parameters (``[scorer.params]``), used when the
        store does not record the ones the scores were made with
        (:func:`pipelines.stage_score.params_used`); thresholds and the sleep
        need quoted in the texts come from them.
    stale_after_d : int
        The coach digest names athletes whose training, sleep or HR/HRV data
        is older than this [d].

    Returns
    -------
    AlertRunSummary
    """
    ch = channels_from_config(channels)
    send = sender or apprise_send
    features = store.read_table("features", athletes=athletes)
    scores = store.read_table("scores", athletes=athletes)
    summary = AlertRunSummary(as_of=as_of, dry_run=dry_run)
    if as_of is None:
        if scores.is_empty():
            summary.lines.append("no scores in the store: run `strainwatch score` first; nothing to alert")
            return summary
        as_of = scores["date"].max()
        summary.as_of = as_of
    p = params_used(store, athletes, params)  # the parameters the stored scores were made with
    sessions = store.read_table("sessions", athletes=athletes)
    usual = usual_training(sessions, as_of=as_of)
    alerts = alerts_for_day(
        features,
        scores,
        as_of=as_of,
        names=names,
        athletes=athletes,
        moderate_days=moderate_days,
        params=p,
        usual=usual,
    )
    last = last_data_dates(features, as_of=as_of)
    team_tracks = tracked_inputs(last)
    stale = {
        a: fr
        for a, d in last.items()
        if (fr := freshness(d, day=as_of, stale_after_d=stale_after_d, tracked=team_tracks))["stale_core"]
    }
    summary.fired = len(alerts)
    queue: list[tuple[str, dict]] = []
    for al in alerts:
        queue.append(
            (
                al.alert_id,
                dict(
                    recipient=al.athlete_id,
                    athlete_id=al.athlete_id,
                    day=al.day.isoformat(),
                    rule=al.rule,
                    as_of=as_of.isoformat(),
                    title=al.title,
                    body=al.body,
                ),
            )
        )

    def digest_entry(new_ids: set[str]) -> tuple[str, dict] | None:
        d = (
            coach_digest(
                alerts,
                as_of=as_of,
                team_name=team_name,
                new_ids=new_ids,
                stale=stale,
                names=names,
                stale_after_d=stale_after_d,
            )
            if ch.coach
            else None
        )
        if d is None:
            return None
        return (
            alert_id(COACH, as_of, "digest"),
            dict(
                recipient=COACH,
                athlete_id=None,
                day=as_of.isoformat(),
                rule="digest",
                as_of=as_of.isoformat(),
                title=d[0],
                body=d[1],
            ),
        )

    summary.lines.append(
        f"alerts for {as_of.isoformat()}: {len(alerts)} fire" + (" (+ coach digest)" if alerts and ch.coach else "")
    )
    if dry_run:
        _dry_run(store, ch, queue, summary, as_of, max_attempts, max_age_days, digest_entry)
        return summary

    with store.lock():
        con = store.connect()
        try:
            box = Outbox(con)
            fresh = set()

            def put(aid: str, row: dict) -> None:
                if box.enqueue(aid, **row):
                    fresh.add(aid)
                else:
                    prev = box.get(aid)
                    if prev is not None and prev.status == "sent":
                        summary.already_sent += 1
                        summary.lines.append(f"already sent: {row['rule']} {row['recipient']} (key day {row['day']})")

            for aid, row in queue:
                put(aid, row)
            dig = digest_entry(set(fresh))
            if dig is not None:
                put(*dig)
            summary.new = len(fresh)
            for row in box.due(max_attempts):
                age = (as_of - date.fromisoformat(row.as_of)).days
                if age > max_age_days:
                    box.finish(row.alert_id, "expired", row.last_error, count_attempt=False)
                    summary.expired += 1
                    summary.problems.append(
                        f"expired undelivered after {age} days: {row.rule} for {row.recipient} "
                        f"(key day {row.day}; last error: {row.last_error or row.status})"
                    )
                    continue
                _deliver(
                    box, row, ch, send, environ, summary, retry=row.alert_id not in fresh, max_attempts=max_attempts
                )
            summary.pending = len(box.due(max_attempts))
        finally:
            con.close()
    summary.lines.append(
        f"summary: {summary.new} new, {summary.sent} sent ({summary.retried} retried from earlier runs), "
        f"{summary.failed} failed, {summary.already_sent} already sent, {summary.no_channel} without a channel"
        + (f", {summary.gave_up} given up" if summary.gave_up else "")
        + (f", {summary.expired} expired" if summary.expired else "")
    )
    return summary


def _deliver(
    box: Outbox,
    row,
    ch: ChannelConfig,
    send: Sender,
    environ,
    summary: AlertRunSummary,
    *,
    retry: bool,
    max_attempts: int,
) -> None:
    urls = ch.for_recipient(row.recipient)
    what = f"{row.rule} for {row.recipient} (key day {row.day})"
    if not urls:
        if row.status != "no_channel":
            box.finish(row.alert_id, "no_channel", "no apprise URL configured for this recipient", count_attempt=False)
        summary.no_channel += 1
        summary.lines.append(f"no channel: {what} - add alert URLs for {row.recipient!r} to deliver it")
        return
    done = box.delivered_targets(row.alert_id)
    interrupted = box.interrupted_targets(row.alert_id)
    errors = []
    for url in urls:
        key, label = target_key(url), mask_url(url)
        if key in done:
            continue
        if key in interrupted:
            box.mark_interrupted(row.alert_id, key)
            summary.problems.append(
                f"delivery of {what} -> {label} was interrupted by a crash: it may or may not have arrived; "
                "not sent again (alerts are never sent twice)"
            )
            continue
        try:
            real, secrets = expand_url(url, environ)
        except KeyError as err:
            msg = f"environment variable {err.args[0]} is not set"
            box.record_delivery(row.alert_id, key, label, False, msg)
            errors.append(f"{label}: {msg}")
            continue
        box.begin_delivery(row.alert_id, key, label)
        ok, error = send(real, row.title, _text_for(url, row.rule, row.body))
        error = _scrub(error or "", real, url, *secrets) if not ok else None
        box.record_delivery(row.alert_id, key, label, ok, error)
        if ok:
            summary.lines.append(f"sent: {what} -> {label}" + (" (retry)" if retry else ""))
        else:
            errors.append(f"{label}: {error}")
    if errors:
        attempts = row.attempts + 1
        status = "gave_up" if attempts >= max_attempts else "failed"
        box.finish(row.alert_id, status, "; ".join(errors))
        if status == "gave_up":
            summary.gave_up += 1
            summary.problems.append(f"gave up after {attempts} attempts: {what}: {'; '.join(errors)}")
        else:
            summary.failed += 1
            summary.problems.append(
                f"delivery failed (attempt {attempts}, retried next run): {what}: {'; '.join(errors)}"
            )
        summary.lines.append(f"FAILED: {what}: {'; '.join(errors)}")
    else:
        box.finish(row.alert_id, "sent")
        summary.sent += 1
        if retry:
            summary.retried += 1


def _text_for(url: str, rule: str, body: str) -> str:
    """The whole text for e-mail-like schemes and the digest; the short push text otherwise."""
    scheme = url.split("://", 1)[0].lower()
    if rule == "digest" or scheme in FULL_TEXT_SCHEMES:
        return body
    return push_text(body)


def _dry_run(
    store: Store,
    ch: ChannelConfig,
    queue,
    summary: AlertRunSummary,
    as_of: date,
    max_attempts: int,
    max_age_days: int,
    digest_entry,
) -> None:
    con = _open_ro(store)
    try:
        box_rows = {}
        due = []
        if con is not None:
            for r in con.execute("SELECT alert_id, status FROM alert_outbox").fetchall():
                box_rows[r[0]] = r[1]
            marks = ",".join("?" * len(RETRYABLE))
            due = con.execute(
                f"SELECT alert_id, recipient, day, rule, as_of, title, body, status, attempts, last_error "
                f"FROM alert_outbox WHERE status IN ({marks}) AND attempts < ?",
                (*RETRYABLE, max_attempts),
            ).fetchall()
    finally:
        if con is not None:
            con.close()
    dig = digest_entry({aid for aid, _ in queue if aid not in box_rows})
    if dig is not None:
        queue = [*queue, dig]
    seen = set()
    for aid, row in queue:
        seen.add(aid)
        status = box_rows.get(aid)
        if status == "sent":
            summary.already_sent += 1
            summary.lines.append(
                f"already sent (would skip): {row['rule']} for {row['recipient']} (key day {row['day']})"
            )
            continue
        _would(
            summary,
            ch,
            row["recipient"],
            row["rule"],
            row["day"],
            row["title"],
            row["body"],
            "retry" if status else "new",
        )
    for r in due:
        aid, recipient, day, rule, q_as_of, title, body, status, attempts, last_error = r
        if aid in seen:
            continue
        if (as_of - date.fromisoformat(q_as_of)).days > max_age_days:
            summary.lines.append(f"would expire (too old to retry): {rule} for {recipient} (key day {day})")
            continue
        _would(summary, ch, recipient, rule, day, title, body, f"retry of {status} (attempts {attempts})")


def _would(
    summary: AlertRunSummary, ch: ChannelConfig, recipient: str, rule: str, day: str, title: str, body: str, kind: str
) -> None:
    targets = [mask_url(u) for u in ch.for_recipient(recipient)]
    summary.would_send += 1 if targets else 0
    if not targets:
        summary.no_channel += 1
    summary.messages.append(
        {
            "recipient": recipient,
            "rule": rule,
            "day": day,
            "title": title,
            "body": body,
            "targets": targets,
            "kind": kind,
        }
    )
    summary.lines.append(
        f"{'would send' if targets else 'would NOT send (no channel configured)'} ({kind}): "
        f"{rule} for {recipient} (key day {day})" + (" -> " + ", ".join(targets) if targets else "")
    )
    summary.lines.append(f"  title: {title}")
    if rule != "digest":
        summary.lines.append(f"  push ({len(push_text(body))} chars): {push_text(body)}")
    summary.lines += ["  | " + ln for ln in body.splitlines()]
