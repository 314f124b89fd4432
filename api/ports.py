"""What the API needs from the agent, as small Protocols. The agent hands an implementation to
``create_app(services)``; api/ never imports agent/.

Service methods are synchronous (routes run them in the thread pool) and raise the errors below,
which the app maps to status codes. The ``*_async`` methods are for the event loop, and ``recent_principal``
never blocks: hot routes skip the thread pool when memory can answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from rules.views import (
    AlertChange,
    AlertContext,
    AlertEventView,
    AlertPage,
    AlertView,
    EquipmentView,
    NewToken,
    Principal,
    QueueView,
    SilenceView,
    TokenView,
    UnknownSourceView,
    UserView,
)


@dataclass(frozen=True, slots=True)
class AckLinkCheck:
    """What a one-tap link is: ok (confirm page), done, used, expired, invalid, or closed (alert resolved)."""

    status: str
    alert_id: int | None = None
    recipient: str = ""
    person: str = ""
    message: str = ""
    alert_status: str = ""
    used_at: datetime | None = None
    already: str = ""  # acknowledged earlier by this person


class AckLinks(Protocol):
    """One-tap acknowledgement links (optional: create_app(ack_links=...))."""

    def inspect_link(self, token: str) -> AckLinkCheck: ...

    def use_link(self, token: str) -> AckLinkCheck: ...


@dataclass(frozen=True, slots=True)
class ContactView:
    name: str
    role: str = ""
    phone: str = ""

    @property
    def tel(self) -> str:
        """The phone number as a tel: link target (digits and a leading +)."""
        digits = "".join(ch for ch in self.phone if ch.isdigit() or ch == "+")
        return f"tel:{digits}" if digits else ""


@dataclass(frozen=True, slots=True)
class TeamContacts:
    team: str
    name: str
    on_call: tuple[ContactView, ...]  # named by the rotation right now
    reachable: tuple[ContactView, ...]  # on call, or everyone while the team's hours are open
    contacts: tuple[ContactView, ...]


class Contacts(Protocol):
    """Who knows what and who can be reached now (optional: create_app(contacts=...))."""

    def team_contacts(self, team: str) -> TeamContacts | None: ...

    def all_teams(self) -> list[TeamContacts]: ...


class NotFoundError(Exception):
    """404: the resource doesn't exist."""


class ConflictError(Exception):
    """409: the action conflicts with the resource's current state."""


class InvalidError(Exception):
    """422: the request is well-formed but a field's value is not acceptable."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class Clock(Protocol):
    def now(self) -> datetime: ...


class AlertReads(Protocol):
    def list_alerts(
        self,
        *,
        state: str | None,
        severity: str | None,
        team: str | None,
        equipment: str | None,
        sku: str | None,
        cursor: str | None,
        limit: int,
    ) -> AlertPage: ...

    def get_alert(self, alert_id: int) -> AlertView: ...

    def alert_events(self, alert_id: int, *, after: int = 0, limit: int = 500) -> list[AlertEventView]:
        """Up to ``limit`` events with ids above ``after``, oldest first."""
        ...

    def queue(self, *, team: str | None, cursor: str | None, limit: int) -> QueueView: ...

    async def queue_async(self, *, team: str | None, cursor: str | None, limit: int) -> QueueView:
        """queue() for the event loop: from memory when it can be, and requests for the same page
        that arrive together share one query in the thread pool."""
        ...

    async def list_alerts_async(
        self,
        *,
        state: str | None,
        severity: str | None,
        team: str | None,
        equipment: str | None,
        sku: str | None,
        cursor: str | None,
        limit: int,
    ) -> AlertPage:
        """list_alerts() for the event loop, as queue_async is for queue()."""
        ...


class AlertPages(Protocol):
    """What the pages show around an alert (no JSON route needs these)."""

    def alert_context(self, alert: AlertView) -> AlertContext:
        """The rule in words, values with units, who was notified, and still_holds."""
        ...

    def still_holds(self, alert: AlertView) -> str:
        """'Ward 3 printer still reports 3%.' when resolving now would reopen the alert, else ''."""
        ...


class AlertActions(Protocol):
    """Each returns the alert as it is after the action (the event log records ``actor``)."""

    def acknowledge(self, alert_id: int, *, actor: str, comment: str) -> AlertView: ...

    def unacknowledge(self, alert_id: int, *, actor: str, comment: str) -> AlertView: ...

    def resolve(
        self,
        alert_id: int,
        *,
        actor: str,
        reason: str,
        comment: str,
        actions: Sequence[str] = (),
        stock_affected: str | None = None,
    ) -> AlertView: ...

    def assign(self, alert_id: int, *, actor: str, assignee: str, comment: str) -> AlertView: ...

    def comment(self, alert_id: int, *, actor: str, text: str) -> AlertEventView: ...


class EquipmentReads(Protocol):
    def list_equipment(self, *, location: str | None, kind: str | None, team: str | None) -> list[EquipmentView]: ...

    def get_equipment(self, equipment_id: str) -> EquipmentView: ...


class UnknownSources(Protocol):
    def list_unknown_sources(self, *, limit: int) -> list[UnknownSourceView]: ...


class Supplies(Protocol):
    """Supply levels and the restock list. Values are rules.restock dataclasses."""

    def list_supplies(self, *, location: str | None, low_only: bool) -> list[Any]: ...

    def get_supply(self, sku: str) -> Any: ...

    def record_count(self, sku: str, *, count: float, actor: str, comment: str, at: datetime | None = None) -> Any: ...

    def update_supply_settings(
        self, sku: str, *, actor: str, par: float | None, reorder_point: float | None
    ) -> Any: ...

    def restock_list(self) -> list[Any]: ...

    def restock_csv(self, lines: list[Any]) -> str: ...

    def list_restock_reports(self) -> list[Any]: ...


class SupplyHistoryReads(Protocol):
    """A supply's stock records (rules.stock_history values) and what its page shows."""

    def list_supply_counts(
        self, sku: str, *, start: datetime | None, end: datetime | None, cursor: str | None, limit: int
    ) -> Any: ...

    def supply_counts_csv(self, sku: str, *, start: datetime | None, end: datetime | None) -> str: ...

    def supply_history(self, sku: str) -> Any:
        """agent.services.stock_history.SupplyHistory: level, chart records, latest records, use basis."""
        ...


class WeeklyReports(Protocol):
    def weekly_report(self, week: str | None) -> Any:
        """agent.services.weekly_services.WeeklyReport for an ISO week ('2026-W05'; None: last week)."""
        ...


class Silences(Protocol):
    def create_silence(
        self,
        *,
        actor: str,
        comment: str,
        ends_at: datetime,
        starts_at: datetime | None,
        equipment_id: str | None,
        rule_id: str | None,
        team: str | None,
    ) -> SilenceView: ...

    def list_silences(self) -> list[SilenceView]: ...

    def end_silence(self, silence_id: int, actor: str | None = None) -> SilenceView:
        """End it now; ``actor`` is recorded as who ended it."""
        ...


class Accounts(Protocol):
    def authenticate(self, username: str, password: str) -> Principal | None: ...

    def principal_for(self, username: str, version: int | None = None) -> Principal | None:
        """The current role of a signed-in user; None when removed or disabled, or when
        ``version`` (from the cookie) is no longer the user's session version."""
        ...

    def session_version(self, username: str) -> int | None:
        """The user's session version, put in a new session cookie."""
        ...

    def end_sessions(self, username: str) -> None:
        """Sign-out: every cookie issued to the user so far stops working."""
        ...

    def set_password(self, *, username: str, password: str) -> UserView:
        """A new password; the user's sessions end."""
        ...

    def set_disabled(self, *, username: str, disabled: bool) -> UserView:
        """Disable (sessions and tokens stop at once) or enable an account."""
        ...

    def verify_token(self, secret: str) -> Principal | None: ...

    def recent_principal(
        self, *, token: str | None = None, username: str | None = None, version: int | None = None
    ) -> tuple[bool, Principal | None]:
        """(True, who) when verify_token / principal_for answered for this a moment ago; (False, None)
        when they must be asked."""
        ...

    def list_users(self) -> list[UserView]: ...

    def add_user(self, *, username: str, password: str, role: str, display_name: str, team: str) -> UserView: ...

    def create_token(self, *, username: str, name: str, role: str | None) -> NewToken: ...

    def list_tokens(self, *, username: str | None) -> list[TokenView]: ...

    def revoke_token(self, token_id: int) -> TokenView: ...


class LiveFeed(Protocol):
    def changes(self) -> AsyncIterator[AlertChange | None]:
        """Every alert change from now on (an async generator); None now and then when it is quiet,
        so the route can send a keep-alive and notice a client that went away."""
        ...


class Operations(Protocol):
    def ready(self) -> tuple[bool, dict[str, str]]:
        """Readiness for /readyz: (ready, {check: detail})."""
        ...

    def metrics(self) -> tuple[bytes, str]:
        """Prometheus text exposition for /metrics: (body, content type)."""
        ...


class Services(
    Clock, AlertReads, AlertPages, AlertActions, EquipmentReads, Supplies, SupplyHistoryReads, WeeklyReports, Silences,
    Accounts, LiveFeed, Operations, UnknownSources, Protocol,
):
    """Everything the app uses; agent.services.app_services.AppServices implements it."""
