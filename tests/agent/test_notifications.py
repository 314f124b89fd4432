"""Alert emails: to the team on open, to the coordinator on escalation; silences hold them; the
notification log stops a second send of the same thing (e.g. after a restart)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import insert, select

from agent.notify.channels import build_channel
from agent.notify.outbox import OutboxWriter
from agent.notify.routing import Router
from agent.notify.sender import OutboxSender
from agent.storage.models import OutboxItem, Silence
from rules.reading import Reading
from tests.agent.harness import AgentHarness, config_from
from tests.reports.smtp_server import PASSWORD, SmtpServer


@pytest.fixture
def smtp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    server = SmtpServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def harness(db_url, clock, smtp):
    document = {
        "site": {"id": "riverside", "name": "Riverside Clinic"},
        "equipment": [
            {"id": "fridge-2", "name": "Fridge 2", "kind": "fridge", "location": "Pharmacy", "team": "pharmacy"},
            {"id": "fridge-3", "name": "Fridge 3", "kind": "fridge", "location": "Ward 4", "team": "pharmacy"},
        ],
        "rules": [
            {"id": "fridge-temp", "metric": "temperature_c", "match": {"kinds": ["fridge"]}, "outside": [2, 8], "team": "pharmacy"}
        ],
        "teams": {"pharmacy": {"emails": ["pharmacy@riverside.example"], "escalate_after": "15m"}},
        "notifications": {"smtp": smtp.smtp_settings(), "coordinator_emails": ["coordinator@riverside.example"]},
        "alerting": {"builtin_rules": False},
    }
    h = AgentHarness(config_from(yaml.safe_dump(document)), db_url, clock)
    h.start()
    yield h
    h.close()


def test_team_email_silence_dedup_and_escalation(harness: AgentHarness, smtp: SmtpServer, clock) -> None:
    """Teams without routes keep the old behaviour: every severity to their emails, at any hour;
    escalations also reach coordinator_emails."""
    config = harness.config
    router = Router(config)
    assert harness.pipeline is not None
    harness.pipeline.alerts.on_applied.append(OutboxWriter(router, clock=clock.now, site_name=config.site.name))
    sender = OutboxSender(
        sessions=harness.sessions,
        clock=clock.now,
        channels={n: build_channel(n, c, config.notifications.smtp) for n, c in router.channels.items()},
        delivery=config.notifications.delivery,
    )
    now = clock.now()
    with harness.sessions() as s:
        s.execute(
            insert(Silence).values(
                equipment_id="fridge-3", starts_at=now, ends_at=now + timedelta(hours=2), comment="defrosting", created_by="coord", created_at=now
            )
        )
        s.commit()
    harness.pipeline.submit(
        [Reading("fridge-2", "temperature_c", 9.5, now, unit="°C"), Reading("fridge-3", "temperature_c", 9.9, now, unit="°C")]
    )
    harness.pipeline.flush()
    sender.run_once()

    messages = smtp.messages()
    assert len(messages) == 1
    assert messages[0].rcpt_tos == ["pharmacy@riverside.example"]
    # (The Subject is RFC 2047-encoded because of "°", and decoding may refold its spaces.)
    assert "Fridge 2 in Pharmacy" in messages[0].message["Subject"]
    body = messages[0].message.get_body(preferencelist=("plain",))
    assert body is not None and "Fridge 2 in Pharmacy is at 9.5 °C (safe range 2–8 °C)" in body.get_content()

    with harness.sessions() as s:
        log = {(r.recipient, r.state) for r in s.scalars(select(OutboxItem))}
    assert ("pharmacy@riverside.example", "sent") in log and ("pharmacy@riverside.example", "silenced") in log

    sender.run_once()  # another round: nothing new goes out
    assert len(smtp.messages()) == 1

    clock.advance(timedelta(minutes=16))
    harness.pipeline.tick(clock.now()).result(10)
    sender.run_once()
    escalations = [m for m in smtp.messages() if "coordinator@riverside.example" in m.rcpt_tos]
    assert len(escalations) == 1 and "CRITICAL" in escalations[0].message["Subject"]


def test_an_alert_email_subject_says_what_happened() -> None:
    from agent.notify.email import alert_subject

    def subject(kind: str, severity: str = "warning", actor: str = "system") -> str:
        return alert_subject("Site", kind=kind, severity=severity, message="Fridge 1 is at 9", actor=actor)

    assert subject("opened") == "[Site] WARNING: Fridge 1 is at 9"
    assert subject("opened", "critical") == "[Site] CRITICAL: Fridge 1 is at 9"
    assert subject("severity_raised", "critical") == "[Site] RAISED to CRITICAL: Fridge 1 is at 9"
    assert subject("escalated", "critical") == "[Site] ESCALATED to CRITICAL: Fridge 1 is at 9"
    assert subject("acknowledged", actor="sam") == "[Site] ACKNOWLEDGED by sam: Fridge 1 is at 9"
    assert subject("resolved") == "[Site] RESOLVED: Fridge 1 is at 9"
    assert subject("resolved", actor="sam") == "[Site] RESOLVED by sam: Fridge 1 is at 9"
