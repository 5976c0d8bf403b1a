"""Alert delivery for real to local sinks: a JSON webhook on 127.0.0.1 and an aiosmtpd SMTP sink.

Covers content, de-duplication (a re-run sends nothing new), the retry of a
failed delivery on the next run, secrets from the environment never printed,
and --dry-run writing and sending nothing.
"""

from __future__ import annotations

import socket
import sqlite3
from datetime import date
from email import message_from_bytes

import pytest

from pipelines.stage_alert import ChannelConfigError, apprise_send, channels_from_config, mask_url, run_alerts
from pipelines.store import Store
from tests.reports.synth import team_frames
from tests.webhook import Webhook

AS_OF = date(2026, 4, 10)  # a01: moderate 4 days in a row (key day 9 Apr); a02: red flag


@pytest.fixture
def hook():
    h = Webhook()
    yield h
    h.close()


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.messages = []

        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            self.messages.append((envelope.rcpt_tos, envelope.content))
            return "250 OK"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = Sink()
    ctl = Controller(sink, hostname="127.0.0.1", port=port)
    ctl.start()
    sink.url = f"mailto://127.0.0.1:{port}?from=bot@example.org&to=athlete@example.org&mode=insecure"
    yield sink
    ctl.stop()


@pytest.fixture
def store(tmp_path):
    f, s = team_frames(6)
    st = Store(tmp_path / "store")
    st.replace_athletes("features", f)
    st.replace_athletes("scores", s)
    return st


def outbox(st: Store) -> list[tuple]:
    con = sqlite3.connect(st.ledger_path)
    try:
        return con.execute(
            "SELECT recipient, rule, day, status, attempts FROM alert_outbox ORDER BY recipient"
        ).fetchall()
    finally:
        con.close()


def test_deliver_content_and_never_twice(store, hook, smtp):
    channels = {"a01": [hook.url("a01")], "a02": [smtp.url], "coach": [hook.url("coach")]}
    s1 = run_alerts(store, as_of=AS_OF, channels=channels, names={"a01": "Alice"})
    assert (s1.fired, s1.new, s1.sent, s1.failed) == (2, 3, 3, 0), s1.lines
    # the athlete's webhook got the moderate-streak alert with numbers and changes
    by_path = dict(zip(hook.paths, hook.received, strict=True))
    a = by_path["/a01"]
    assert a["title"] == "strainwatch: Moderate strain risk for Alice 4 days in a row"
    assert "moderate band (score 30 to under 60) for 4 days in a row" in a["message"]
    assert "AU in the last 7 days against a usual week of" in a["message"]
    assert "The one change" in a["message"] and "Hold your weekly load at about" in a["message"]
    assert "not a diagnosis" in a["message"]
    # the red flag went by e-mail and says see a clinician
    ((rcpts, raw),) = smtp.messages
    assert rcpts == ["athlete@example.org"]
    msg = message_from_bytes(raw)
    assert "see a clinician" in msg["Subject"].lower()
    text = (
        msg.get_payload(decode=True).decode()
        if not msg.is_multipart()
        else next(p.get_payload(decode=True).decode() for p in msg.walk() if p.get_content_type() == "text/plain")
    )
    assert "Go to an emergency department now" in text
    # the coach digest lists both
    d = by_path["/coach"]
    # a04 has no resting HR or HRV at all: named as "no recent data" (never read as low risk)
    assert (
        d["title"]
        == "strainwatch: 2 alerts for 2026-04-10 (1 red flag, 1 moderate 3+ days; 2 new; 1 without recent data)"
    )
    assert "* a04: no HR/HRV data" in d["message"]
    assert "* NEW a02: RED FLAG" in d["message"] and "* NEW Alice: MODERATE band 4 days in a row" in d["message"]

    # re-run the same night, and the next night (same episodes): nothing new is sent
    s2 = run_alerts(store, as_of=AS_OF, channels=channels, names={"a01": "Alice"})
    assert (s2.new, s2.sent, s2.already_sent) == (0, 0, 3)
    assert len(hook.received) == 2 and len(smtp.messages) == 1
    assert [r[3] for r in outbox(store)] == ["sent"] * 3

    # the next night: same episodes (no athlete message), the coach digest marks them ongoing
    s3 = run_alerts(store, as_of=date(2026, 4, 11), channels=channels, names={"a01": "Alice"})
    assert (s3.fired, s3.new, s3.sent, s3.already_sent) == (2, 1, 1, 2), s3.lines
    d2 = hook.received[-1]
    assert hook.paths[-1] == "/coach" and d2["title"].endswith(
        "(1 red flag, 1 moderate 3+ days; 0 new; 1 without recent data)"
    )
    assert "* ongoing Alice: MODERATE band 5 days in a row" in d2["message"]
    assert len(smtp.messages) == 1


def test_failed_delivery_is_retried_next_run_and_secret_never_printed(store, monkeypatch):
    hook = Webhook(fail_first=1)
    try:
        secret = "s3cr3t-T0KEN"
        channels = {"a01": [f"json://127.0.0.1:{hook.port}/hook/${{HOOK_TOKEN}}"]}
        env = {"HOOK_TOKEN": secret}
        s1 = run_alerts(store, as_of=AS_OF, channels=channels, environ=env)
        assert (s1.sent, s1.failed, s1.no_channel) == (0, 1, 1), s1.lines  # a02 has no channel
        assert any("delivery failed (attempt 1, retried next run): moderate_streak for a01" in p for p in s1.problems)
        printed = "\n".join(s1.lines + s1.problems)
        assert secret not in printed and "${HOOK_TOKEN}" not in printed
        assert mask_url(channels["a01"][0]) in printed
        assert ("a01", "moderate_streak", "2026-04-09", "failed", 1) in outbox(store)
        con = sqlite3.connect(store.ledger_path)
        dump = "\n".join(con.iterdump())
        con.close()
        assert secret not in dump  # neither the URL nor the token is stored

        s2 = run_alerts(store, as_of=AS_OF, channels=channels, environ=env)
        assert (s2.sent, s2.retried, s2.failed) == (1, 1, 0), s2.lines
        assert any(ln.endswith("(retry)") for ln in s2.lines)
        assert len(hook.received) == 1
        assert hook.paths[0] == f"/hook/{secret}"  # expanded at send time
        s3 = run_alerts(store, as_of=AS_OF, channels=channels, environ=env)
        assert (s3.sent, s3.failed) == (0, 0) and len(hook.received) == 1
    finally:
        hook.close()


def test_missing_env_var_is_a_failed_delivery_then_sent(store, hook):
    channels = {"a01": [hook.url() + "/${NOT_SET_VAR}"]}
    s1 = run_alerts(store, as_of=AS_OF, channels=channels, environ={}, athletes=["a01"])
    assert s1.failed == 1 and "environment variable NOT_SET_VAR is not set" in s1.problems[0]
    s2 = run_alerts(store, as_of=AS_OF, channels=channels, environ={"NOT_SET_VAR": "x"}, athletes=["a01"])
    assert s2.sent == 1 and len(hook.received) == 1


def test_only_the_failed_target_is_retried(store, hook):
    bad = Webhook(fail_first=1)
    try:
        channels = {"a01": [hook.url("good"), bad.url("bad")]}
        s1 = run_alerts(store, as_of=AS_OF, channels=channels, athletes=["a01"])
        assert s1.failed == 1 and len(hook.received) == 1
        s2 = run_alerts(store, as_of=AS_OF, channels=channels, athletes=["a01"])
        assert s2.sent == 1 and len(hook.received) == 1 and len(bad.received) == 1
    finally:
        bad.close()


def test_no_channel_is_delivered_once_configured(store, hook):
    s1 = run_alerts(store, as_of=AS_OF, channels={}, athletes=["a01"])
    assert s1.no_channel == 1 and s1.sent == 0
    assert outbox(store)[0][3] == "no_channel"
    s2 = run_alerts(store, as_of=AS_OF, channels={"a01": [hook.url()]}, athletes=["a01"])
    assert s2.sent == 1 and s2.retried == 1


def test_dry_run_sends_and_writes_nothing(store, hook):
    channels = {"a01": [hook.url("a01")], "coach": [hook.url("coach")]}
    s = run_alerts(store, as_of=AS_OF, channels=channels, dry_run=True)
    assert not store.ledger_path.exists()
    assert hook.received == []
    assert s.would_send == 2 and s.no_channel == 1  # a01 + digest; a02 has no channel
    out = "\n".join(s.lines)
    assert f"would send (new): moderate_streak for a01 (key day 2026-04-09) -> {mask_url(hook.url('a01'))}" in out
    assert "would NOT send (no channel configured) (new): red_flag for a02 (key day 2026-04-10)" in out
    assert "  | The one change" in out
    # the push text shown is what a push channel gets: the first paragraph, at most 300 characters
    push = [ln for ln in s.lines if ln.startswith("  push (")]
    assert push and all(int(ln.split("(")[1].split()[0]) <= 300 for ln in push)
    # after a real run the dry run reports them as already sent
    run_alerts(store, as_of=AS_OF, channels=channels)
    s = run_alerts(store, as_of=AS_OF, channels=channels, dry_run=True)
    assert s.would_send == 0 and s.already_sent == 2


def test_channels_from_config_shapes():
    toml_doc = {
        "alerts": {"coach_urls": ["mailto://h?to=c@x.org"]},
        "athletes": [{"id": "alice", "alert_urls": ["ntfys://${T}@ntfy.sh/alice"]}, {"id": "bob"}],
    }
    c = channels_from_config(toml_doc)
    assert c.coach == ("mailto://h?to=c@x.org",) and dict(c.athletes) == {"alice": ("ntfys://${T}@ntfy.sh/alice",)}
    c = channels_from_config({"coach": "json://h/c", "athletes": {"bob": ["json://h/b"]}})
    assert c.coach == ("json://h/c",) and c.for_recipient("bob") == ("json://h/b",)
    c = channels_from_config({"bob": ["json://h/b"], "coach": []})
    assert c.for_recipient("bob") == ("json://h/b",) and c.coach == ()
    with pytest.raises(
        ChannelConfigError, match=r"alerts.athletes.bob: expected a list of apprise URL strings, got int"
    ):
        channels_from_config({"alerts": {"athletes": {"bob": 3}}})
    with pytest.raises(ChannelConfigError, match=r"bob\[0\]: not an apprise URL"):
        channels_from_config({"bob": ["not a url"]})


def test_mask_url_hides_credentials():
    assert mask_url("mailtos://coach:pw@mail.example.org?to=x@y.org").startswith("mailtos://mail.example.org/... #")
    assert "SECRET" not in mask_url("tgram://123:SECRET/987") and mask_url("tgram://123:SECRET/987").startswith(
        "tgram://... #"
    )
    assert "tok" not in mask_url("slack://tokA/tokB/tokC")
    assert mask_url("ntfys://${T}@ntfy.sh/a") != mask_url("ntfys://${T}@ntfy.sh/b")


def test_send_interrupted_by_a_crash_is_never_sent_twice(store, hook):
    """A run killed between the send and its record: the next run does not send again, and says so."""
    channels = {"a01": [hook.url("a01")]}

    def crash(url, title, body):  # the message leaves, then the process dies before recording it
        hook_send = apprise_send(url, title, body)
        assert hook_send[0]
        raise SystemExit("killed")

    with pytest.raises(SystemExit):
        run_alerts(store, as_of=AS_OF, channels=channels, sender=crash)
    assert len(hook.received) == 1
    s2 = run_alerts(store, as_of=AS_OF, channels=channels)
    assert len(hook.received) == 1  # not sent twice
    assert any("interrupted by a crash" in p for p in s2.problems), s2.problems
    s3 = run_alerts(store, as_of=AS_OF, channels=channels)
    assert len(hook.received) == 1 and not any("interrupted" in p for p in s3.problems)
