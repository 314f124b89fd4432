"""One-tap links: only staff-or-more recipients get one; a link names its alert and cannot be
bent to another; used, expired and tampered links write nothing."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from agent.services.ack_link_service import AckLinkService
from agent.services.auth import add_user
from agent.storage.models import AckLinkUse, Alert
from rules.reading import Reading
from tests.notify.stack import NotifyStack
from tests.reports.smtp_server import SmtpServer
from tests.support.webhook import WebhookReceiver

SECRET = "test-link-secret-0123456789"
LINK = re.compile(r"https://clinic\.example/ack/(\S+)")


@pytest.fixture
def stack(db_url, clock, smtp, hooks):
    document = {
        "site": {"id": "riverside", "name": "Riverside Clinic", "public_base_url": "https://clinic.example"},
        "equipment": [{"id": f, "name": f, "kind": "fridge", "team": "pharmacy"} for f in ("fridge-a", "fridge-b")],
        "rules": [{"id": "fridge-temp", "metric": "temperature_c", "match": {"kinds": ["fridge"]}, "outside": [2, 8], "team": "pharmacy"}],
        "teams": {
            "pharmacy": {
                "routes": [{"channels": ["pharmacy-email", "priya-push", "victor-push"]}],
                "contacts": [
                    {"name": "Priya Shah", "role": "pharmacist", "phone": "+44 20 7946 0001", "email": "priya@riverside.example", "account": "priya"},
                    {"name": "Victor Vue", "role": "volunteer", "email": "victor@riverside.example", "account": "victor"},
                ],
            }
        },
        "notifications": {
            "smtp": smtp.smtp_settings(),
            "channels": {
                "pharmacy-email": {"type": "email", "to": ["priya@riverside.example", "victor@riverside.example"]},
                "priya-push": {"type": "apprise", "url": f"json://127.0.0.1:{hooks.port}/priya", "contact": "Priya Shah"},
                "victor-push": {"type": "webhook", "url": hooks.url("/victor"), "contact": "Victor Vue"},
            },
        },
        "alerting": {"builtin_rules": False},
    }
    s = NotifyStack(document, db_url, clock, link_secret=SECRET)
    add_user(s.sessions, username="priya", password="long-enough-pw", role="staff", display_name="Priya Shah", now=clock.now())
    add_user(s.sessions, username="victor", password="long-enough-pw", role="viewer", display_name="Victor Vue", now=clock.now())
    yield s
    s.close()


def links_by_recipient(smtp: SmtpServer) -> dict[tuple[str, str], str | None]:
    out = {}
    for m in smtp.messages():
        text = m.message.get_body(preferencelist=("plain",)).get_content()
        found = LINK.search(text)
        out[(m.rcpt_tos[0], "a" if "fridge-a" in text else "b")] = found.group(1) if found else None
    return out


def test_a_personal_push_channel_carries_the_link_too(stack: NotifyStack, hooks: WebhookReceiver, clock) -> None:
    stack.pipeline.submit([Reading("fridge-a", "temperature_c", 9.5, clock.now())])
    stack.pipeline.flush()
    stack.sender.run_once()
    (push,) = hooks.received("/priya")
    token = re.search(r"https://clinic\.example/ack/(\S+)", push.body["message"])
    assert token, push.body
    (victor,) = hooks.received("/victor")
    assert victor.body["ack_url"] is None  # a viewer's channel: no link
    service = AckLinkService(sessions=stack.sessions, pipeline=stack.pipeline, clock=clock, secret=SECRET)
    assert service.use_link(token.group(1)).status == "done"
    with stack.sessions() as s:
        assert s.scalar(select(Alert.acknowledged_by).where(Alert.subject == "fridge-a")) == "priya"


def test_links_go_to_staff_only_and_cannot_be_bent(stack: NotifyStack, smtp: SmtpServer, clock) -> None:
    now = clock.now()
    stack.pipeline.submit([Reading("fridge-a", "temperature_c", 9.5, now), Reading("fridge-b", "temperature_c", 9.7, now)])
    stack.pipeline.flush()
    stack.sender.run_once()
    links = links_by_recipient(smtp)
    assert links[("victor@riverside.example", "a")] is None  # a viewer's email carries no link
    token_a = links[("priya@riverside.example", "a")]
    assert token_a
    service = AckLinkService(sessions=stack.sessions, pipeline=stack.pipeline, clock=clock, secret=SECRET)
    with stack.sessions() as s:
        ids = dict(s.execute(select(Alert.subject, Alert.id)).all())

    # Alert A's link, with its alert id rewritten to B's, is not valid; nothing is written.
    body, _, mac = token_a.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["a"] = ids["fridge-b"]
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode() + "." + mac
    assert service.use_link(forged).status == "invalid"
    assert service.use_link(token_a[:-1] + ("A" if token_a[-1] != "A" else "B")).status == "invalid"

    assert service.inspect_link(token_a).status == "ok"  # GET changes nothing
    with stack.sessions() as s:
        assert s.scalar(select(func.count()).select_from(AckLinkUse)) == 0
        assert {a.status for a in s.scalars(select(Alert))} == {"open"}

    done = service.use_link(token_a)
    assert done.status == "done" and done.alert_id == ids["fridge-a"] and done.person == "Priya Shah"
    with stack.sessions() as s:
        status = dict(s.execute(select(Alert.subject, Alert.status)).all())
    assert status == {"fridge-a": "acknowledged", "fridge-b": "open"}  # A only
    assert service.use_link(token_a).status == "used"

    token_b = links[("priya@riverside.example", "b")]
    assert token_b
    clock.advance(timedelta(hours=12, seconds=1))
    assert service.use_link(token_b).status == "expired"
    with stack.sessions() as s:
        assert s.scalar(select(Alert.status).where(Alert.subject == "fridge-b")) == "open"
        assert s.scalar(select(func.count()).select_from(AckLinkUse)) == 1
