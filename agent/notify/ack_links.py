"""One-tap acknowledgement links: signed (HMAC-SHA256), naming the alert, the recipient and their
account, expiring, and single use (the nonce is recorded when used). Only recipients whose account
has staff rights or more get one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.storage.models import User

ROLES_WITH_ACK = ("staff", "coordinator", "admin")


class LinkInvalid(Exception):
    """Tampered with, or not a link at all."""


@dataclass(frozen=True, slots=True)
class Claims:
    alert_id: int
    account: str
    recipient: str
    expires_at: datetime
    nonce: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, body: str) -> str:
    return _b64(hmac.new(secret.encode(), b"ack-link:" + body.encode(), hashlib.sha256).digest())


def sign(secret: str, claims: Claims) -> str:
    body = _b64(
        json.dumps(
            {"a": claims.alert_id, "u": claims.account, "r": claims.recipient, "e": int(claims.expires_at.timestamp()), "n": claims.nonce},
            separators=(",", ":"),
        ).encode()
    )
    return f"{body}.{_mac(secret, body)}"


def verify(secret: str, token: str) -> Claims:
    """The claims of a well-signed token (expiry is the caller's check); LinkInvalid otherwise."""
    body, _, mac = token.partition(".")
    if not body or not mac or not hmac.compare_digest(_mac(secret, body), mac):
        raise LinkInvalid("signature does not match")
    try:
        data = json.loads(_unb64(body))
        return Claims(int(data["a"]), str(data["u"]), str(data["r"]), datetime.fromtimestamp(int(data["e"]), UTC), str(data["n"]))
    except (ValueError, KeyError, TypeError):
        raise LinkInvalid("malformed") from None


class LinkMaker:
    def __init__(self, *, secret: str, base_url: str, expire_after: timedelta) -> None:
        self.secret = secret
        self.base_url = base_url.rstrip("/")
        self.expire_after = expire_after

    def link(self, session: Session, *, alert_id: int, recipient: str, account: str | None, now: datetime) -> str | None:
        """A link for this recipient, or None when they have no account with staff rights or more."""
        if not account or not self.base_url:
            return None
        user = session.scalars(select(User).where(User.username == account)).first()
        if user is None or user.disabled or user.role not in ROLES_WITH_ACK:
            return None
        claims = Claims(alert_id, account, recipient, now + self.expire_after, secrets.token_urlsafe(12))
        return f"{self.base_url}/ack/{sign(self.secret, claims)}"
