"""What the alert pages show around an alert: who was told (the notification log), the rule in
words, the value's unit, and whether the condition still holds (resolving it now would reopen it).

A mixin for AppServices (it supplies ``sessions`` and ``pipeline``), so that file stays small.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from agent.notify.history import Delivery, notification_history
from agent.storage.models import Alert, SupplyItem
from rules.model import ConditionKind, Rule
from rules.views import AlertContext, AlertView, NotificationView, unit_for, unit_text, value_text

ACTIVE = ("open", "acknowledged")


def notifications_for(sessions: sessionmaker[Session], alert_id: int) -> list[NotificationView]:
    """Who was told about this alert, on which channel, when, and whether it got through: the
    outbox and its delivery attempts (agent.notify.history, the one query for them)."""
    with sessions() as session:
        deliveries = notification_history(session, alert_id)
    return [_view(d) for d in deliveries]


def _view(d: Delivery) -> NotificationView:
    status, detail = d.state, d.detail
    if d.state == "gave_up":
        status, detail = "failed", f"gave up after {d.attempts} attempts: {d.detail}"
    elif d.state == "pending" and d.attempts:
        status = "retrying"
    return NotificationView(
        channel=d.channel_type,
        recipient=d.recipient or d.channel,
        status=status,
        detail=detail,
        at=d.sent_at or d.last_attempt_at or d.created_at,
    )


def holds(rule: Rule, value: Any) -> bool:
    """Would this value open the alert again right after a person resolves it?"""
    if rule.kind is ConditionKind.THRESHOLD and isinstance(value, int | float) and not isinstance(value, bool):
        return rule.fires(float(value))
    if rule.kind is ConditionKind.EQUALS and isinstance(value, str):
        return value in rule.states
    return rule.kind is ConditionKind.ABSENT  # still silent: a reading would have resolved it


class AlertContextServices:
    sessions: sessionmaker[Session]
    pipeline: Any

    def _rule(self, rule_id: str) -> Rule | None:
        rule: Rule | None = self.pipeline.engine.rule_by_id(rule_id)
        return rule

    def _worder(self, alert: AlertView, rule: Rule | None, exact: bool = True) -> Callable[[Any], str]:
        """How this alert's values read: '18 boxes' for a supply count, '9.4 °C', '3%'. Not exact:
        the unit from the rule's metric, without a query (cards on the queue)."""
        metric = rule.metric if rule else ""
        with self.sessions() as session:
            if alert.subject_kind == "supply":
                unit = session.scalar(select(SupplyItem.unit).where(SupplyItem.sku == alert.subject)) or ""
                return lambda v: unit_text(float(v), unit) if isinstance(v, int | float) else value_text(v)
            if exact:
                metric = session.scalar(select(Alert.metric).where(Alert.id == alert.id)) or metric
        unit = unit_for(metric, "")
        return lambda v: value_text(v, unit)

    def still_holds(self, alert: AlertView) -> str:
        """'Ward 3 printer still reports 3%.' when resolving now would reopen the alert, else ''."""
        if alert.status not in ACTIVE:
            return ""
        rule = self._rule(alert.rule_id)
        if rule is None or not holds(rule, alert.last_value):
            return ""
        name = self._name(alert)
        if rule.kind is ConditionKind.ABSENT:
            return f"{name} is still silent."
        value = self._worder(alert, rule, exact=False)(alert.last_value)
        return f"{name} still has {value}." if alert.subject_kind == "supply" else f"{name} still reports {value}."

    def _name(self, alert: AlertView) -> str:
        if alert.subject_name != alert.subject:
            return alert.subject_name
        subject = self.pipeline.engine.subject(alert.subject, alert.subject_kind)  # not on the board (yet)
        return str(subject.display_name)

    def alert_context(self, alert: AlertView) -> AlertContext:
        rule = self._rule(alert.rule_id)
        words = self._worder(alert, rule)
        return AlertContext(
            subject_name=self._name(alert),
            rule_text=rule.description if rule and rule.description else "",
            last_value=words(alert.last_value) if alert.last_value is not None else "–",
            worst_value=words(alert.worst_value) if alert.worst_value is not None else "–",
            notifications=notifications_for(self.sessions, alert.id),
            still_holds=self.still_holds(alert),
        )
