"""The restock email as a real SMTP server receives it: recipients, subject, parts, CSV attachment."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config.model import SmtpConfig
from agent.jobs.restock import make_restock_job
from agent.notify.email import EmailError, build_message, send_message
from tests.inventory.harness import InventoryHarness
from tests.reports.conftest import RECIPIENTS
from tests.reports.smtp_server import PASSWORD, USER, SmtpServer
from tests.support.clock import FakeClock

# 06:00 in London on 2026-01-06 (GMT in winter).
SIX_AM = datetime(2026, 1, 6, 6, 0, 5, tzinfo=UTC)


def test_restock_email_over_starttls_with_auth(
    agent: InventoryHarness, smtp: SmtpServer, clock: FakeClock
) -> None:
    clock.set(SIX_AM)
    job = make_restock_job(config=agent.config, sessions=agent.sessions, clock=clock, pipeline=agent.pipeline)
    outcome = job.tick()
    assert outcome.action == "sent", outcome
    [got] = smtp.messages()
    assert sorted(got.rcpt_tos) == sorted(RECIPIENTS)
    assert got.login == USER and got.tls
    message = got.message
    assert message["Subject"] == "Restock list for St Mary's East, 2026-01-06: 2 items to order"
    assert message["From"] == "facility-agent@st-marys.example"
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    text_body, html_body = text.get_content(), html.get_content()
    assert "Medline" in text_body and "Store A" in text_body and "GLV-M" in text_body
    assert text_body.index("Acme Linen") < text_body.index("Medline")  # grouped by vendor
    assert "<table" in html_body and "GLV-M" in html_body and "St Mary&#x27;s East" in html_body
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "restock-st-marys-east-2026-01-06.csv"
    assert attachment.get_content_type() == "text/csv"
    payload = attachment.get_content()
    rows = list(csv.DictReader(io.StringIO(payload if isinstance(payload, str) else payload.decode())))
    quantities = {row["sku"]: int(row["order_quantity"]) for row in rows}
    # Worked example: PAR 40, on hand 12, on order 10, pack 10 → 20. Sheets: 100 − 20 → 80 → 4 × 25 = 100.
    assert quantities == {"GLV-M": 20, "LIN-S": 100}
    assert [row["vendor"] for row in rows] == ["Acme Linen", "Medline"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_implicit_tls_and_a_password_file(tmp_path: Path) -> None:
    server = SmtpServer(tmp_path, mode="ssl").start()
    try:
        secret = tmp_path / "smtp-password"
        secret.write_text(PASSWORD + "\n")
        config = SmtpConfig.model_validate(server.smtp_settings(password_env=None, password_file=str(secret)))
        send_message(config, build_message(sender=config.sender, recipients=["a@example.org"], subject="s", text="t"))
        [got] = server.messages()
        assert got.login == USER and got.rcpt_tos == ["a@example.org"]
    finally:
        server.stop()


def test_wrong_password_is_a_clear_error(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    config = SmtpConfig.model_validate(smtp.smtp_settings())
    with pytest.raises(EmailError, match="authentication failed"):
        send_message(config, build_message(sender=config.sender, recipients=["a@example.org"], subject="s", text="t"))
    assert smtp.messages() == []


def test_untrusted_certificate_is_refused(smtp: SmtpServer) -> None:
    config = SmtpConfig.model_validate(smtp.smtp_settings(ca_file=None))
    with pytest.raises(EmailError, match="TLS|certificate|SMTP"):
        send_message(config, build_message(sender=config.sender, recipients=["a@example.org"], subject="s", text="t"))


def test_server_down_is_a_clear_error(smtp: SmtpServer) -> None:
    smtp.stop()
    config = SmtpConfig.model_validate(smtp.smtp_settings())
    with pytest.raises(EmailError, match="can't reach SMTP server 127.0.0.1"):
        send_message(config, build_message(sender=config.sender, recipients=["a@example.org"], subject="s", text="t"))


def test_recipients_with_display_names(smtp: SmtpServer) -> None:
    config = SmtpConfig.model_validate(smtp.smtp_settings())
    recipients = ['"Stores, Main" <stores@example.org>', "purchasing@example.org"]
    send_message(config, build_message(sender=config.sender, recipients=recipients, subject="s", text="t"))
    assert smtp.messages()[0].rcpt_tos == ["stores@example.org", "purchasing@example.org"]
