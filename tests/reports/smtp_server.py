"""A real SMTP server in the test process (aiosmtpd) with AUTH and STARTTLS (or implicit TLS),
a self-signed certificate made for the test, and the messages it received."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.mosquitto import free_port

USER = "reports"
PASSWORD = "s3cret-Pa55"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for localhost and 127.0.0.1: (cert.pem, key.pem)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    tls: bool
    message: EmailMessage


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        login = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None
        with self.server.lock:
            self.server.received.append(
                Received(
                    mail_from=envelope.mail_from,
                    rcpt_tos=list(envelope.rcpt_tos),
                    login=login,
                    tls=session.ssl is not None or self.server.mode == "ssl",
                    message=message,  # type: ignore[arg-type]
                )
            )
        return "250 Message accepted for delivery"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class SmtpServer:
    """mode: "starttls" (plain port, STARTTLS required before AUTH) or "ssl" (implicit TLS)."""

    def __init__(self, workdir: Path, *, mode: str = "starttls", port: int | None = None) -> None:
        self.mode = mode
        self.port = port or free_port()
        self.cert, self.key = make_certificate(workdir)
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def _context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context

    def start(self) -> SmtpServer:
        kwargs: dict[str, Any] = dict(authenticator=_authenticate, auth_required=True, auth_require_tls=True)
        if self.mode == "ssl":
            # The whole connection is TLS; aiosmtpd only tracks STARTTLS, so don't ask for it again.
            kwargs.update(ssl_context=self._context(), auth_require_tls=False)
        else:
            kwargs.update(tls_context=self._context(), require_starttls=True)
        self._controller = Controller(
            _Handler(self), hostname="127.0.0.1", port=self.port, server_hostname="localhost", **kwargs
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def messages(self) -> list[Received]:
        with self.lock:
            return list(self.received)

    def smtp_settings(self, **overrides: Any) -> dict[str, Any]:
        """The notifications.smtp section that reaches this server."""
        settings: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "security": self.mode,
            "username": USER,
            "password_env": "TEST_SMTP_PASSWORD",
            "sender": "facility-agent@st-marys.example",
            "ca_file": str(self.cert),
            "timeout": "5s",
        }
        settings.update(overrides)
        return settings
