"""An injected clock walks a Friday evening to a Monday morning in Europe/London: the critical
fridge alert at 02:00 on Saturday reaches on-call at once; the toner warning from Friday 20:00
arrives in the Monday 07:00 digest, with the one that resolved on Sunday listed as resolved;
escalation counts only clinic hours."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from agent.storage.models import Alert, OutboxItem
from rules.reading import Reading
from tests.notify.stack import NotifyStack
from tests.reports.smtp_server import SmtpServer
from tests.support.webhook import WebhookReceiver

LONDON = ZoneInfo("Europe/London")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LONDON)  # Friday 4th .. Monday 7th


def document(smtp: SmtpServer, pager: WebhookReceiver) -> dict:
    return {
        "site": {"id": "riverside", "name": "Riverside Clinic", "timezone": "Europe/London"},
        "equipment": [
            {"id": "fridge-2", "name": "Fridge 2", "kind": "fridge", "location": "Pharmacy", "team": "pharmacy"},
            {"id": "printer-1", "name": "Printer 1", "kind": "printer", "location": "Front desk", "team": "facilities"},
            {"id": "printer-2", "name": "Printer 2", "kind": "printer", "location": "Ward 4", "team": "facilities"},
        ],
        "rules": [
            {"id": "fridge-temp", "metric": "temperature_c", "match": {"kinds": ["fridge"]}, "outside": [2, 8], "severity": "critical", "team": "pharmacy"},
            {"id": "toner-low", "metric": "toner.black.pct", "match": {"kinds": ["printer"]}, "below": 10, "clear_above": 20, "severity": "warning", "team": "facilities"},
        ],
        "teams": {
            "pharmacy": {"routes": [{"severities": ["critical"], "channels": ["on-call-pager"], "window": "always"}]},
            "facilities": {
                "escalate_after": "30m",
                "escalate_during": "clinic_hours",
                "routes": [{"severities": ["warning", "info"], "channels": ["facilities-email"], "window": "clinic_hours"}],
            },
        },
        "notifications": {
            "smtp": smtp.smtp_settings(),
            "windows": {"clinic_hours": "mon-fri 07:00-19:00"},
            "channels": {
                "on-call-pager": {"type": "webhook", "url": pager.url("/page")},
                "facilities-email": {"type": "email", "to": ["facilities@riverside.example"]},
            },
        },
        "alerting": {"builtin_rules": False},
    }


def test_friday_evening_to_monday_morning(db_url, clock, smtp, pager) -> None:
    clock.set(at(4, 19, 30))
    stack = NotifyStack(document(smtp, pager), db_url, clock)

    def reading(subject: str, metric: str, value: float) -> None:
        stack.pipeline.submit([Reading(subject, metric, value, clock.now())])
        stack.pipeline.flush()
        stack.pipeline.tick(clock.now()).result(10)
        stack.sender.run_once()

    try:
        clock.set(at(4, 20))
        reading("printer-1", "toner.black.pct", 5.0)
        reading("printer-2", "toner.black.pct", 6.0)
        assert smtp.messages() == []  # held: outside clinic hours

        clock.set(at(5, 2))
        reading("fridge-2", "temperature_c", 12.0)
        (page,) = pager.received("/page")  # at once, at 02:00 on Saturday
        assert page.body["alert"]["subject"] == "fridge-2" and page.body["alert"]["severity"] == "critical"

        clock.set(at(6, 10))
        reading("printer-2", "toner.black.pct", 80.0)  # replaced on Sunday: resolves
        clock.set(at(7, 6, 59))
        stack.pipeline.tick(clock.now()).result(10)
        stack.sender.run_once()
        assert smtp.messages() == []
        with stack.sessions() as s:  # not escalated: nobody was expected to answer all weekend
            assert s.scalar(select(Alert.escalation_level).where(Alert.subject == "printer-1")) == 0

        clock.set(at(7, 7))
        stack.pipeline.tick(clock.now()).result(10)
        stack.sender.run_once()
        (digest,) = smtp.messages()  # one digest, not a flood
        assert digest.rcpt_tos == ["facilities@riverside.example"]
        text = digest.message.get_body(preferencelist=("plain",)).get_content()
        lines = [line for line in text.splitlines() if line.startswith("- ")]
        assert len(lines) == 2, text
        assert lines[0].startswith("- OPEN: [warning]") and "Printer 1" in lines[0]
        assert lines[1].startswith("- RESOLVED: [warning]") and "Printer 2" in lines[1]
        stack.sender.run_once()
        assert len(smtp.messages()) == 1

        clock.set(at(7, 7, 31))  # 30 minutes of clinic time: now it escalates
        stack.pipeline.tick(clock.now()).result(10)
        with stack.sessions() as s:
            assert s.scalar(select(Alert.escalation_level).where(Alert.subject == "printer-1")) == 1
            assert s.scalar(select(OutboxItem.state).where(OutboxItem.kind == "digest")) == "sent"
    finally:
        stack.close()
