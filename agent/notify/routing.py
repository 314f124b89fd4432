"""Who gets what, where and when: a team's routes pick channels by severity and time window
(Alertmanager's routes + time_intervals); teams with no routes keep the old behaviour, every
severity to their `emails` at any hour."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from agent.config.model import AgentConfig, TeamConfig
from agent.config.notify_model import ChannelConfig, ContactConfig
from rules.windows import ALWAYS, Window, build_window

COORDINATOR_CHANNEL = "coordinator"


@dataclass(frozen=True, slots=True)
class Target:
    channel: str
    config: ChannelConfig
    window: Window
    recipients: tuple[str, ...]  # email addresses, or ("",) for a URL channel


class Router:
    def __init__(self, config: AgentConfig) -> None:
        self.config = config
        self.zone = ZoneInfo(config.site.timezone)
        n = config.notifications
        self.windows: dict[str, Window] = {ALWAYS: build_window(ALWAYS, [ALWAYS], config.site.timezone)}
        for name, entries in n.windows.items():
            self.windows[name] = build_window(name, entries, config.site.timezone, n.holidays)
        self.channels: dict[str, ChannelConfig] = dict(n.channels)
        for team_id, team in config.teams.items():
            if not team.routes and team.emails and n.alert_emails:
                self.channels.setdefault(f"team:{team_id}", ChannelConfig(type="email", to=list(team.emails)))
        if n.coordinator_emails:
            self.channels.setdefault(COORDINATOR_CHANNEL, ChannelConfig(type="email", to=list(n.coordinator_emails)))

    def targets(self, team_id: str, severity: str, *, escalated: bool = False) -> list[Target]:
        out: list[Target] = []
        team = self.config.teams.get(team_id)
        if team is not None and team.routes:
            for route in team.routes:
                if severity in route.severities:
                    for name in route.channels:
                        out.append(self._target(name, route.window))
        elif team is not None and f"team:{team_id}" in self.channels:
            out.append(self._target(f"team:{team_id}", ALWAYS))
        elif team_id == COORDINATOR_CHANNEL and COORDINATOR_CHANNEL in self.channels:
            out.append(self._target(COORDINATOR_CHANNEL, ALWAYS))
        if escalated and COORDINATOR_CHANNEL in self.channels:
            out.append(self._target(COORDINATOR_CHANNEL, ALWAYS))
        seen: set[str] = set()
        return [t for t in out if not (t.channel in seen or seen.add(t.channel))]

    def _target(self, channel: str, window: str) -> Target:
        config = self.channels[channel]
        recipients = tuple(dict.fromkeys(config.to)) if config.type == "email" else (config.contact,)
        return Target(channel, config, self.windows[window], recipients)

    def escalation_window(self, team_id: str) -> Window:
        """The window an escalation clock runs in: escalate_during, else the window of the team's
        route for critical alerts (who is expected to answer), else always."""
        team = self.config.teams.get(team_id)
        if team is None:
            return self.windows[ALWAYS]
        if team.escalate_during:
            return self.windows[team.escalate_during]
        for route in team.routes:
            if "critical" in route.severities:
                return self.windows[route.window]
        return self.windows[ALWAYS]

    # ------------------------------------------------------------ who to call
    def on_call_now(self, team_id: str, now: datetime) -> list[ContactConfig]:
        team = self.config.teams.get(team_id)
        if team is None:
            return []
        by_name = {c.name: c for c in team.contacts}
        out = []
        for entry in team.on_call:
            if self._aware(entry.from_) <= now < self._aware(entry.to):
                out.append(by_name.get(entry.who) or ContactConfig(name=entry.who))
        return out

    def reachable(self, team_id: str, now: datetime) -> list[ContactConfig]:
        """On call now if a rotation names someone; else every contact while a route's window is open."""
        team = self.config.teams.get(team_id)
        if team is None:
            return []
        if team.on_call:
            return self.on_call_now(team_id, now)
        if any(self.windows[r.window].is_open(now) for r in team.routes) or not team.routes:
            return list(team.contacts)
        return []

    def _aware(self, when: datetime) -> datetime:
        return when if when.tzinfo is not None else when.replace(tzinfo=self.zone).astimezone(UTC)

    def account_for(self, address: str) -> str | None:
        """The account of the contact with this email address or name (a user named like the address also counts)."""
        for team in self.config.teams.values():
            for contact in team.contacts:
                if contact.account and (contact.name == address or (contact.email and contact.email.lower() == address.lower())):
                    return contact.account
        return address or None

    def teams(self) -> dict[str, TeamConfig]:
        return dict(self.config.teams)

