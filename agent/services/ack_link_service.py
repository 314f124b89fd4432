"""One-tap acknowledgement: check a link (GET shows a confirm page) and use it (POST). The use is
recorded and the alert acknowledged in one writer-thread transaction, so a link acknowledges once
and a refused link writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from agent.notify.ack_links import ROLES_WITH_ACK, Claims, LinkInvalid, verify
from agent.pipeline import CommandContext, Pipeline
from agent.storage.models import AckLinkUse, Alert, User
from api.ports import AckLinkCheck
from rules.alerts import ActionRefused, AlertStatus

TIMEOUT = 30.0


class AckLinkService:
    def __init__(self, *, sessions: sessionmaker[Session], pipeline: Pipeline, clock: Callable[[], datetime], secret: str | None) -> None:
        self.sessions = sessions
        self.pipeline = pipeline
        self.clock = clock
        self.secret = secret

    def _claims(self, token: str) -> Claims | AckLinkCheck:
        if not self.secret:
            return AckLinkCheck("invalid")
        try:
            return verify(self.secret, token)
        except LinkInvalid:
            return AckLinkCheck("invalid")

    def _check(self, session: Session, claims: Claims) -> AckLinkCheck:
        alert = session.get(Alert, claims.alert_id)
        person = session.scalars(select(User).where(User.username == claims.account)).first()
        name = (person.display_name or person.username) if person else claims.account
        base = {"alert_id": claims.alert_id, "recipient": claims.recipient, "person": name}
        if alert is not None:
            base.update(message=alert.message, alert_status=alert.status)
        used = session.get(AckLinkUse, claims.nonce)
        if used is not None:
            return AckLinkCheck("used", used_at=used.used_at, **base)  # type: ignore[arg-type]
        if self.clock() >= claims.expires_at:
            return AckLinkCheck("expired", **base)  # type: ignore[arg-type]
        if person is None or person.disabled or person.role not in ROLES_WITH_ACK:
            return AckLinkCheck("invalid", **base)  # type: ignore[arg-type]
        if alert is None or alert.status == AlertStatus.RESOLVED.value:
            return AckLinkCheck("closed", **base)  # type: ignore[arg-type]
        return AckLinkCheck("ok", **base)  # type: ignore[arg-type]

    def inspect_link(self, token: str) -> AckLinkCheck:
        claims = self._claims(token)
        if isinstance(claims, AckLinkCheck):
            return claims
        with self.sessions() as session:
            return self._check(session, claims)

    def use_link(self, token: str) -> AckLinkCheck:
        claims = self._claims(token)
        if isinstance(claims, AckLinkCheck):
            return claims

        def run(ctx: CommandContext) -> AckLinkCheck:
            check = self._check(ctx.session, claims)
            if check.status != "ok":
                return check
            alert = ctx.session.get(Alert, claims.alert_id)
            assert alert is not None
            use = insert(AckLinkUse).values(
                nonce=claims.nonce, alert_id=claims.alert_id, recipient=claims.recipient, account=claims.account, used_at=ctx.now
            )
            if alert.status == AlertStatus.ACKNOWLEDGED.value:
                ctx.session.execute(use)
                return AckLinkCheck("done", already=alert.acknowledged_by or "", **_fields(check))  # type: ignore[arg-type]
            try:
                transition = ctx.engine.acknowledge(
                    alert.rule_id, alert.subject, at=ctx.now, actor=claims.account, comment=f"{check.person} acknowledged via link sent to {claims.recipient}"
                )
            except ActionRefused:
                return AckLinkCheck("closed", **_fields(check))  # type: ignore[arg-type]
            ctx.session.execute(use)
            ctx.apply([transition])
            return AckLinkCheck("done", **_fields(check))  # type: ignore[arg-type]

        return self.pipeline.call(run).result(TIMEOUT)


def _fields(check: AckLinkCheck) -> dict[str, object]:
    return {"alert_id": check.alert_id, "recipient": check.recipient, "person": check.person, "message": check.message, "alert_status": check.alert_status}
