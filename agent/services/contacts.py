"""Who to call: each team's contacts, who is on call now, and who is reachable now (from the config)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from agent.config.notify_model import ContactConfig
from agent.notify.routing import Router
from api.ports import ContactView, TeamContacts


def _view(contact: ContactConfig) -> ContactView:
    return ContactView(contact.name, contact.role, contact.phone)


class ContactDirectory:
    def __init__(self, router: Router, clock: Callable[[], datetime]) -> None:
        self.router = router
        self.clock = clock

    def team_contacts(self, team: str) -> TeamContacts | None:
        config = self.router.teams().get(team)
        if config is None:
            return None
        now = self.clock()
        return TeamContacts(
            team=team,
            name=config.name or team,
            on_call=tuple(_view(c) for c in self.router.on_call_now(team, now)),
            reachable=tuple(_view(c) for c in self.router.reachable(team, now)),
            contacts=tuple(_view(c) for c in config.contacts),
        )

    def all_teams(self) -> list[TeamContacts]:
        out = [self.team_contacts(team) for team in sorted(self.router.teams())]
        return [t for t in out if t is not None and t.contacts]
