"""What people do to alerts. Every action runs on the pipeline's writer thread (ADR 0002),
so it is ordered with the readings and a second, simultaneous action sees the first's result."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future

from sqlalchemy import update

from agent.pipeline import CommandContext, Pipeline
from agent.services.errors import Conflict, Invalid, NotFound
from agent.storage.alerts import add_event
from agent.storage.models import Alert
from rules.alerts import HUMAN_RESOLVE_REASONS, ActionRefused, AlertStatus, ResolveReason

TIMEOUT = 30.0
# What an inspector asks after a cold-chain excursion: what was done, and was stock affected.
CORRECTIVE_ACTIONS = ("moved_stock", "quarantined_stock", "called_manufacturer", "adjusted_thermostat", "other")
STOCK_AFFECTED = ("yes", "no", "unknown")
_VERB = {"ack": "acknowledge", "resolve": "resolve"}


def _require_comment(ctx: CommandContext, alert: Alert, action: str, comment: str) -> None:
    """A rule with `require_comment: [ack, resolve]` refuses those actions without a comment."""
    rule = ctx.engine.rule_by_id(alert.rule_id)
    if rule is not None and action in rule.require_comment and not comment.strip():
        raise Invalid("comment", f"a comment is required to {_VERB[action]} this alert: say what was done")


def _load(ctx: CommandContext, alert_id: int) -> Alert:
    alert = ctx.session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def _wait(future: Future[int]) -> int:
    return future.result(TIMEOUT)


def acknowledge(pipeline: Pipeline, *, alert_id: int, actor: str, comment: str = "") -> int:
    def run(ctx: CommandContext) -> int:
        alert = _load(ctx, alert_id)
        if alert.status == AlertStatus.RESOLVED.value:
            raise Conflict(f"alert {alert_id} is already resolved (by {alert.resolved_by or 'the system'})")
        _require_comment(ctx, alert, "ack", comment)
        try:
            transition = ctx.engine.acknowledge(alert.rule_id, alert.subject, at=ctx.now, actor=actor, comment=comment)
        except ActionRefused as exc:
            raise Conflict(str(exc)) from None
        ctx.apply([transition])
        return alert_id

    return _wait(pipeline.call(run))


def unacknowledge(pipeline: Pipeline, *, alert_id: int, actor: str, comment: str = "") -> int:
    def run(ctx: CommandContext) -> int:
        alert = _load(ctx, alert_id)
        if alert.status != AlertStatus.ACKNOWLEDGED.value:
            raise Conflict(f"alert {alert_id} is {alert.status}, not acknowledged")
        try:
            transitions = ctx.engine.unacknowledge(alert.rule_id, alert.subject, at=ctx.now, actor=actor, comment=comment)
        except ActionRefused as exc:
            raise Conflict(str(exc)) from None
        ctx.apply(transitions)
        return alert_id

    return _wait(pipeline.call(run))


def resolve(
    pipeline: Pipeline,
    *,
    alert_id: int,
    actor: str,
    reason: str,
    comment: str = "",
    actions: Sequence[str] = (),
    stock_affected: str | None = None,
) -> int:
    try:
        why = ResolveReason(reason)
    except ValueError:
        why = None
    if why is None or why not in HUMAN_RESOLVE_REASONS:
        allowed = ", ".join(sorted(r.value for r in HUMAN_RESOLVE_REASONS))
        raise Invalid("reason", f"reason must be one of: {allowed}")
    if why is ResolveReason.OTHER and not comment.strip():
        raise Invalid("comment", "say what happened when the reason is 'other'")
    unknown = [a for a in actions if a not in CORRECTIVE_ACTIONS]
    if unknown:
        raise Invalid("actions", f"unknown action {unknown[0]!r}; choose from: {', '.join(CORRECTIVE_ACTIONS)}")
    if stock_affected is not None and stock_affected not in STOCK_AFFECTED:
        raise Invalid("stock_affected", f"stock_affected must be one of: {', '.join(STOCK_AFFECTED)}")

    def run(ctx: CommandContext) -> int:
        alert = _load(ctx, alert_id)
        if alert.status == AlertStatus.RESOLVED.value:
            raise Conflict(f"alert {alert_id} was already resolved by {alert.resolved_by or 'the system'}")
        _require_comment(ctx, alert, "resolve", comment)
        try:
            transition = ctx.engine.resolve(alert.rule_id, alert.subject, at=ctx.now, actor=actor, reason=why, comment=comment)
        except ActionRefused as exc:
            raise Conflict(str(exc)) from None
        ctx.apply([transition])
        if actions or stock_affected is not None:
            add_event(
                ctx.session,
                alert_id=alert_id,
                at=ctx.now,
                kind="corrective-action",
                actor=actor,
                comment=comment,
                from_status=AlertStatus.RESOLVED.value,
                to_status=AlertStatus.RESOLVED.value,
                severity=alert.severity,
                value=alert.last_value,
                details={"actions": list(actions), "stock_affected": stock_affected},
            )
        return alert_id

    return _wait(pipeline.call(run))


def assign(pipeline: Pipeline, *, alert_id: int, actor: str, assignee: str, comment: str = "") -> int:
    def run(ctx: CommandContext) -> int:
        alert = _load(ctx, alert_id)
        if alert.status == AlertStatus.RESOLVED.value:
            raise Conflict(f"alert {alert_id} is resolved; it can't be assigned")
        ctx.session.execute(update(Alert).where(Alert.id == alert_id).values(assignee=assignee or None, updated_at=ctx.now))
        add_event(
            ctx.session,
            alert_id=alert_id,
            at=ctx.now,
            kind="assigned",
            actor=actor,
            comment=comment,
            from_status=alert.status,
            to_status=alert.status,
            severity=alert.severity,
            value=alert.last_value,
            details={"assignee": assignee},
        )
        return alert_id

    return _wait(pipeline.call(run))


def comment(pipeline: Pipeline, *, alert_id: int, actor: str, text: str) -> int:
    if not text.strip():
        raise Invalid("comment", "the comment is empty")

    def run(ctx: CommandContext) -> int:
        alert = _load(ctx, alert_id)
        return add_event(
            ctx.session,
            alert_id=alert_id,
            at=ctx.now,
            kind="comment",
            actor=actor,
            comment=text,
            from_status=alert.status,
            to_status=alert.status,
            severity=alert.severity,
            value=alert.last_value,
            details={},
        )

    return _wait(pipeline.call(run))
