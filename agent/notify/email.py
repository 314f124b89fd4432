"""SMTP sending: plain, STARTTLS or SSL; password from the environment or a file; HTML + text +
attachments; a timeout on every connection. Blocking: call it from a worker thread."""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid

from agent.config.model import SmtpConfig

log = logging.getLogger(__name__)


class EmailError(Exception):
    """Sending failed; the message says why (connection refused, authentication, refused recipients...)."""


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str = "text"
    subtype: str = "csv"


# What happened, first in an alert email's subject line: "[Site] RESOLVED: ...".
_SUBJECT_WORDS = {"opened": "", "severity_raised": "RAISED to ", "escalated": "ESCALATED to ", "relapsed": "BACK: "}


def alert_subject(site: str, *, kind: str, severity: str, message: str, actor: str = "system") -> str:
    """'[Site] CRITICAL: ...' when it opens; then RESOLVED, ACKNOWLEDGED by sam, ESCALATED, ..."""
    words = _SUBJECT_WORDS.get(kind)
    if words is not None:
        head = f"{words}{severity.upper()}"  # opened, raised or back: how bad it is
    else:
        head = kind.replace("_", " ").upper()
        if actor and actor != "system":
            head += f" by {actor}"
    return f"[{site}] {head}: {message}"


def smtp_password(config: SmtpConfig) -> str | None:
    """The password from the named environment variable or the file; never from the config itself."""
    if config.password_env:
        value = os.environ.get(config.password_env)
        if value:
            return value
    if config.password_file:
        try:
            return config.password_file.read_text().strip()
        except OSError as exc:
            raise EmailError(f"can't read the SMTP password file {config.password_file}: {exc.strerror}") from None
    return None


def build_message(
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    text: str,
    html: str | None = None,
    attachments: Sequence[Attachment] = (),
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        message.add_attachment(item.content, maintype=item.maintype, subtype=item.subtype, filename=item.filename)
    return message


def _tls_context(config: SmtpConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(config.ca_file) if config.ca_file else None)
    if not config.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def send_message(config: SmtpConfig, message: EmailMessage, *, password: str | None = None) -> None:
    """Send one message; raises EmailError with a plain reason on any failure."""
    timeout = max(config.timeout.total_seconds(), 1.0)
    password = password if password is not None else smtp_password(config)
    recipients = [address for _, address in getaddresses(message.get_all("To", [])) if address]
    if not recipients:
        raise EmailError("no recipients")
    try:
        if config.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                config.host, config.port, timeout=timeout, context=_tls_context(config)
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            client.ehlo()
            if config.security == "starttls":
                client.starttls(context=_tls_context(config))
                client.ehlo()
            if config.username:
                if password is None:
                    raise EmailError(
                        "SMTP username is set but no password: set the variable named by "
                        "notifications.smtp.password_env or give password_file"
                    )
                client.login(config.username, password)
            refused = client.send_message(message, to_addrs=recipients)
        if refused:
            log.warning("SMTP refused some recipients: %s", ", ".join(sorted(refused)))
    except EmailError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise EmailError(f"SMTP authentication failed for {config.username!r}: {exc.smtp_code}") from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise EmailError(f"SMTP refused every recipient: {', '.join(sorted(exc.recipients))}") from None
    except smtplib.SMTPException as exc:
        raise EmailError(f"SMTP error from {config.host}:{config.port}: {exc}") from None
    except ssl.SSLError as exc:
        raise EmailError(f"TLS with {config.host}:{config.port} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise EmailError(f"can't reach SMTP server {config.host}:{config.port}: {exc.strerror or exc}") from None


def simple_sender(config: SmtpConfig) -> Callable[[Sequence[str], str, str], None]:
    """(recipients, subject, text) → send: what the alert dispatcher uses."""

    def send(recipients: Sequence[str], subject: str, text: str) -> None:
        send_message(config, build_message(sender=config.sender, recipients=recipients, subject=subject, text=text))

    return send
