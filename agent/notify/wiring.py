"""Build the notification parts from the config: router, outbox writer, channels, sender, links."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from agent.notify.ack_links import LinkMaker
from agent.notify.channels import build_channel
from agent.notify.outbox import OutboxWriter
from agent.notify.routing import Router
from agent.notify.sender import OutboxSender
from agent.storage.alerts import add_event
from agent.storage.models import Alert, OutboxItem

if TYPE_CHECKING:
    from agent.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class Notifications:
    router: Router
    writer: OutboxWriter
    sender: OutboxSender
    links: LinkMaker | None


def link_secret(runtime: Runtime) -> str | None:
    cfg = runtime.config.notifications.ack_links
    if cfg.secret_file is not None:
        return cfg.secret_file.read_text().strip() or None
    if cfg.secret_env:
        return os.environ.get(cfg.secret_env) or None
    from agent.api_wiring import session_secret

    return session_secret(runtime)


def build_notifications(runtime: Runtime, router: Router) -> Notifications:
    config = runtime.config
    writer = OutboxWriter(router, clock=runtime.clock, site_name=config.site.name)
    runtime.pipeline.alerts.on_applied.append(writer)
    links = None
    ack = config.notifications.ack_links
    if ack.enabled and config.site.public_base_url:
        secret = link_secret(runtime)
        if secret:
            links = LinkMaker(secret=secret, base_url=config.site.public_base_url, expire_after=ack.expire_after)
        else:
            log.warning("one-tap links are off: no secret (set notifications.ack_links.secret_env or the API session secret)")
    channels = {name: build_channel(name, cfg, config.notifications.smtp) for name, cfg in router.channels.items()}
    sender = OutboxSender(
        sessions=runtime.sessions,
        clock=runtime.clock,
        channels=channels,
        delivery=config.notifications.delivery,
        site_name=config.site.name,
        metrics=runtime.metrics,
        links=links,
        account_for=router.account_for,
        on_give_up=lambda row, error: record_give_up(runtime, row, error),
    )
    runtime.pipeline.listeners.append(sender.wake)
    return Notifications(router, writer, sender, links)


def record_give_up(runtime: Runtime, row: OutboxItem, error: str) -> None:
    """The alert's history says a notification was given up (through the single writer)."""
    if row.alert_id is None:
        return
    alert_id = row.alert_id

    def write(ctx: object) -> None:
        session = ctx.session  # type: ignore[attr-defined]
        alert = session.scalars(select(Alert).where(Alert.id == alert_id)).first()
        if alert is None:
            return
        add_event(
            session,
            alert_id=alert_id,
            kind="notify_gave_up",
            at=runtime.clock(),
            actor="system",
            comment=f"gave up on {row.channel_type} '{row.channel}' to {row.recipient or row.channel}: {error}"[:2000],
            from_status=alert.status,
            to_status=alert.status,
            severity=alert.severity,
            value=None,
            details={"outbox_id": row.id},
        )

    runtime.pipeline.call(write)


def escalation_clocks(router: Router) -> dict[str, Callable[[datetime, datetime], timedelta]]:
    """team → how much answered time lies between two moments (escalation counts only then)."""
    out: dict[str, Callable[[datetime, datetime], timedelta]] = {}
    for team_id in router.teams():
        window = router.escalation_window(team_id)
        if not window.always:
            out[team_id] = window.open_time_between
    return out
