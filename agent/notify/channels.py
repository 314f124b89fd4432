"""Channels: how one outbox row is delivered. Email goes through agent.notify.email; chat and push
services through Apprise URLs; a generic JSON webhook and an Alertmanager-format webhook are
plain POSTs. Secret URLs are read from the environment or a file and never logged."""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.config.model import SmtpConfig
from agent.config.notify_model import ChannelConfig

log = logging.getLogger(__name__)

WEBHOOK_VERSION = 1


class DeliveryError(Exception):
    """Delivery failed; the message is safe to log (no secrets)."""


@dataclass(frozen=True, slots=True)
class Message:
    """What a channel delivers: one outbox row, with its link if the recipient gets one."""

    id: int
    dedup_key: str
    kind: str
    recipient: str
    subject: str
    body: str
    payload: dict[str, Any]
    ack_url: str | None = None
    site: str = ""


Deliver = Callable[[Message], None]


def secret_url(channel: str, config: ChannelConfig, base: os.PathLike[str] | None = None) -> str:
    if config.url_env:
        value = os.environ.get(config.url_env, "").strip()
        if value:
            return value
        if not (config.url_file or config.url):
            raise DeliveryError(f"channel '{channel}': the variable {config.url_env} is not set")
    if config.url_file:
        path = config.url_file
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise DeliveryError(f"channel '{channel}': can't read {path}: {exc.strerror}") from None
    return config.url or ""


def webhook_body(message: Message) -> dict[str, Any]:
    """The generic webhook's JSON body (documented in the README, versioned)."""
    return {
        "version": WEBHOOK_VERSION,
        "id": message.dedup_key,
        "site": message.site,
        "kind": message.kind,
        "title": message.subject,
        "text": message.body,
        "alert": message.payload,
        "alerts": message.payload.get("alerts", []),
        "ack_url": message.ack_url,  # a one-tap link when the channel is a person's (channel 'contact') with staff rights
    }


def alertmanager_body(message: Message, receiver: str) -> dict[str, Any]:
    """An Alertmanager webhook (version 4) body, one alert per post (digests carry several)."""
    items = message.payload.get("alerts") or [message.payload]
    alerts = []
    for a in items:
        resolved = a.get("status") == "resolved"
        labels = {
            "alertname": str(a.get("rule_id", "")),
            "subject": str(a.get("subject", "")),
            "severity": str(a.get("severity", "")),
            "team": str(a.get("team", "")),
            "site": message.site,
        }
        alerts.append(
            {
                "status": "resolved" if resolved else "firing",
                "labels": labels,
                "annotations": {"summary": str(a.get("message", "")), "alert_id": str(a.get("alert_id", ""))},
                "startsAt": a.get("opened_at") or a.get("at") or "",
                "endsAt": a.get("at", "") if resolved else "0001-01-01T00:00:00Z",
                "generatorURL": "",
                "fingerprint": f"{a.get('rule_id', '')}/{a.get('subject', '')}",
            }
        )
    firing = any(x["status"] == "firing" for x in alerts)
    common = {k: v for k, v in alerts[0]["labels"].items() if all(x["labels"].get(k) == v for x in alerts)}
    return {
        "version": "4",
        "groupKey": message.dedup_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": {"team": common.get("team", "")},
        "commonLabels": common,
        "commonAnnotations": {},
        "externalURL": "",
        "alerts": alerts,
    }


def _post_json(url: str, body: dict[str, Any], timeout: float, idempotency_key: str) -> None:
    data = json.dumps(body, default=str).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured http(s) URL
            response.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"can't reach the receiver: {getattr(reason, 'strerror', None) or reason}") from None


def build_channel(name: str, config: ChannelConfig, smtp: SmtpConfig) -> Deliver:
    timeout = max(config.timeout.total_seconds(), 1.0)
    if config.type == "email":
        from agent.notify.email import EmailError, build_message, send_message

        def send_email(m: Message) -> None:
            text = m.body + (f"\nAcknowledge with one tap: {m.ack_url}\n" if m.ack_url else "")
            message = build_message(
                sender=smtp.sender,
                recipients=[m.recipient],
                subject=m.subject,
                text=text,
                headers={"X-Facility-Notification": m.dedup_key},
            )
            try:
                send_message(smtp, message)
            except EmailError as exc:
                raise DeliveryError(str(exc)) from None

        return send_email
    if config.type in ("webhook", "alertmanager"):

        def post(m: Message) -> None:
            url = secret_url(name, config)
            body = webhook_body(m) if config.type == "webhook" else alertmanager_body(m, name)
            _post_json(url, body, timeout, m.dedup_key)

        return post

    # Apprise, and urllib3 under it, log full URLs (tokens included) at debug level: keep them at
    # warnings, which name the host only.
    for logger_name in ("apprise", "urllib3"):
        logging.getLogger(logger_name).setLevel(max(logging.getLogger(logger_name).getEffectiveLevel(), logging.WARNING))

    def notify(m: Message) -> None:
        import apprise

        url = secret_url(name, config)
        sender = apprise.Apprise()
        if not sender.add(url):
            raise DeliveryError(f"channel '{name}': Apprise does not understand its URL (check the scheme)")
        text = m.body + (f"\nAcknowledge: {m.ack_url}\n" if m.ack_url else "")
        if not sender.notify(body=text, title=m.subject):
            raise DeliveryError(f"channel '{name}': the service refused or could not be reached")

    return notify
