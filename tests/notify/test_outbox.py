"""The durable outbox with real receivers: email (aiosmtpd), a generic JSON webhook, an
Alertmanager-format webhook and an Apprise json:// URL, all on loopback; a receiver that is down
for two minutes gets every notification exactly once when it is back; give-up is recorded."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from agent.notify.history import notification_history
from agent.notify.sender import OutboxSender
from agent.storage.alerts import events_of
from agent.storage.models import DeliveryAttempt, OutboxItem, Silence
from rules.reading import Reading
from tests.notify.stack import NotifyStack
from tests.reports.smtp_server import SmtpServer
from tests.support.webhook import WebhookReceiver

FRIDGES = ["fridge-1", "fridge-2", "fridge-3"]


def document(smtp: SmtpServer, hooks: WebhookReceiver, **delivery: str) -> dict:
    return {
        "site": {"id": "riverside", "name": "Riverside Clinic", "timezone": "Europe/London"},
        "equipment": [{"id": f, "name": f.title(), "kind": "fridge", "location": "Pharmacy", "team": "pharmacy"} for f in FRIDGES],
        "rules": [{"id": "fridge-temp", "metric": "temperature_c", "match": {"kinds": ["fridge"]}, "outside": [2, 8], "severity": "critical", "team": "pharmacy"}],
        "teams": {
            "pharmacy": {
                "routes": [{"severities": ["critical"], "channels": ["pharmacy-email", "bms", "am", "ntfy"]}],
            }
        },
        "notifications": {
            "smtp": smtp.smtp_settings(),
            "channels": {
                "pharmacy-email": {"type": "email", "to": ["pharmacy@riverside.example"]},
                "bms": {"type": "webhook", "url_env": "TEST_BMS_URL"},
                "am": {"type": "alertmanager", "url": hooks.url("/am")},
                "ntfy": {"type": "apprise", "url_env": "TEST_APPRISE_URL"},
            },
            "delivery": {"retry_initial": "10s", "retry_max": "20s", "give_up_after": "1h", **delivery},
        },
        "alerting": {"builtin_rules": False},
    }


@pytest.fixture
def env(hooks: WebhookReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_BMS_URL", hooks.url("/bms"))
    monkeypatch.setenv("TEST_APPRISE_URL", f"json://127.0.0.1:{hooks.port}/apprise-s3cr3t-token")


def open_alerts(stack: NotifyStack, fridges: list[str]) -> None:
    now = stack.clock.now()
    stack.pipeline.submit([Reading(f, "temperature_c", 9.5, now, unit="°C") for f in fridges])
    stack.pipeline.flush()


def test_every_channel_gets_the_alert_with_its_documented_body(db_url, clock, smtp, hooks, env, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    stack = NotifyStack(document(smtp, hooks), db_url, clock)
    try:
        hooks.stop()  # first a failed round, so errors are logged too
        open_alerts(stack, ["fridge-2"])
        stack.sender.run_once()
        hooks.start()
        clock.advance(timedelta(minutes=1))
        with stack.sessions() as s:  # written with the alert change, before any sending
            assert {r.channel for r in s.scalars(select(OutboxItem))} == {"pharmacy-email", "bms", "am", "ntfy"}
        assert stack.sender.run_once() == 3  # the email went in the first round
        (bms,) = hooks.received("/bms")
        assert bms.body["version"] == 1 and bms.body["kind"] == "opened" and bms.body["alert"]["subject"] == "fridge-2"
        assert bms.headers["Idempotency-Key"] == bms.body["id"]
        (am,) = hooks.received("/am")
        assert am.body["version"] == "4" and am.body["status"] == "firing"
        assert am.body["alerts"][0]["labels"] == {"alertname": "fridge-temp", "subject": "fridge-2", "severity": "critical", "team": "pharmacy", "site": "Riverside Clinic"}
        (push,) = hooks.received("/apprise-s3cr3t-token")
        assert "Fridge-2" in push.body["title"] or "fridge" in push.body["message"].lower()
        (mail,) = smtp.messages()
        assert mail.rcpt_tos == ["pharmacy@riverside.example"]
        assert stack.sender.run_once() == 0  # nothing twice
        assert "/bms" not in caplog.text and "s3cr3t" not in caplog.text, caplog.text  # secret URLs never logged
    finally:
        stack.close()


def test_a_channel_down_for_two_minutes_gets_everything_exactly_once(db_url, clock, smtp, hooks, env) -> None:
    stack = NotifyStack(document(smtp, hooks), db_url, clock)
    try:
        hooks.stop()  # the receiver is really down: connection refused
        open_alerts(stack, FRIDGES)
        stack.sender.run_once()
        outage_end = clock.now() + timedelta(minutes=2)
        while clock.now() < outage_end:
            clock.advance(timedelta(seconds=15))
            stack.sender.run_once()
        assert hooks.received() == []
        with stack.sessions() as s:
            failed = s.scalar(select(DeliveryAttempt.id).where(DeliveryAttempt.ok.is_(False)).limit(1))
        assert failed is not None
        hooks.start()  # back, same port
        for _ in range(6):
            clock.advance(timedelta(seconds=15))
            stack.sender.run_once()
        per_path = Counter((p.path, p.body.get("id") or p.body.get("groupKey") or p.body.get("title")) for p in hooks.received())
        assert len(hooks.received("/bms")) == 3 and len(hooks.received("/am")) == 3 and len(hooks.received("/apprise-s3cr3t-token")) == 3
        assert set(per_path.values()) == {1}
        assert len(smtp.messages()) == 3  # email was never down: sent at once, once
        with stack.sessions() as s:
            assert {r.state for r in s.scalars(select(OutboxItem))} == {"sent"}
            history = notification_history(s, 1)
        assert {d.channel for d in history} == {"pharmacy-email", "bms", "am", "ntfy"}
        assert all(d.attempts >= 1 for d in history) and any(d.attempts > 1 for d in history)
    finally:
        stack.close()


def test_give_up_after_the_configured_time_is_on_the_alert_and_in_metrics(db_url, clock, smtp, hooks, env) -> None:
    stack = NotifyStack(document(smtp, hooks, give_up_after="5m"), db_url, clock)
    try:
        hooks.stop()
        open_alerts(stack, ["fridge-1"])
        for _ in range(25):
            stack.sender.run_once()
            clock.advance(timedelta(seconds=20))
        stack.pipeline.flush()
        with stack.sessions() as s:
            states = Counter(r.state for r in s.scalars(select(OutboxItem)))
            events = [e for e in events_of(s, 1) if e.kind == "notify_gave_up"]
        assert states == {"sent": 1, "gave_up": 3}
        assert len(events) == 3 and "can't reach the receiver" in events[0].comment
        text = stack.metrics.render().decode()
        assert 'facility_notifications_given_up_total{channel="webhook"} 1.0' in text
    finally:
        stack.close()


def test_a_silence_holds_every_channel(db_url, clock, smtp, hooks, env) -> None:
    stack = NotifyStack(document(smtp, hooks), db_url, clock)
    try:
        now = clock.now()
        with stack.sessions() as s:
            s.execute(insert(Silence).values(equipment_id="fridge-3", starts_at=now, ends_at=now + timedelta(hours=2), comment="defrosting", created_by="coord", created_at=now))
            s.commit()
        open_alerts(stack, ["fridge-3"])
        stack.sender.run_once()
        assert hooks.received() == [] and smtp.messages() == []
        with stack.sessions() as s:
            rows = s.scalars(select(OutboxItem)).all()
        assert {r.state for r in rows} == {"silenced"} and "defrosting" in rows[0].detail
    finally:
        stack.close()


def test_two_senders_on_one_database_send_each_row_once(db_url, clock, smtp, hooks, env) -> None:
    """Two agents' senders working the same outbox at the same time (the claim is a conditional update)."""
    doc = document(smtp, hooks)
    doc["teams"]["pharmacy"]["routes"] = [{"severities": ["critical"], "channels": ["bms"]}]
    doc["equipment"] = [{"id": f"fridge-{i}", "name": f"Fridge {i}", "kind": "fridge", "team": "pharmacy"} for i in range(20)]
    stack = NotifyStack(doc, db_url, clock)
    try:
        now = clock.now()
        stack.pipeline.submit([Reading(f"fridge-{i}", "temperature_c", 9.5, now) for i in range(20)])
        stack.pipeline.flush()
        other = OutboxSender(sessions=stack.sessions, clock=clock, channels=stack.sender.channels, delivery=stack.sender.delivery)
        barrier = threading.Barrier(2)

        def work(sender: OutboxSender) -> None:
            barrier.wait()
            sender.run_once()

        threads = [threading.Thread(target=work, args=(s,)) for s in (stack.sender, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        ids = Counter(p.body["id"] for p in hooks.received("/bms"))
        assert len(ids) == 20 and set(ids.values()) == {1}, ids
    finally:
        stack.close()
