"""Cross-key checks for reaching people: routes name configured channels and windows, on-call
entries name a team's contacts, the public base URL is absolute, holidays are not listed twice."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from agent.config.model import AgentConfig
from rules.windows import ALWAYS

Problem = tuple[tuple[Any, ...], str, str]


def check_notifications(config: AgentConfig) -> Iterator[Problem]:
    n = config.notifications
    channels, windows = set(n.channels), set(n.windows) | {ALWAYS}
    window_list = ", ".join(sorted(windows))
    url = config.site.public_base_url
    if url and not url.startswith(("http://", "https://")):
        yield (("site", "public_base_url"), f"'{url}' is not an absolute http(s) URL", "write it like 'https://facility.example.org'")
    if ALWAYS in n.windows:
        yield (("notifications", "windows", ALWAYS), "'always' is built in and can't be redefined", "pick another name")
    for team_id, team in config.teams.items():
        for r, route in enumerate(team.routes):
            for c, name in enumerate(route.channels):
                if name not in channels:
                    known = ", ".join(sorted(channels)) or "none yet"
                    yield (("teams", team_id, "routes", r, "channels", c), f"names channel '{name}' that isn't configured", f"add it under notifications.channels (configured: {known})")
            if route.window not in windows:
                yield (("teams", team_id, "routes", r, "window"), f"names window '{route.window}' that isn't configured", f"add it under notifications.windows or use one of: {window_list}")
        if team.escalate_during and team.escalate_during not in windows:
            yield (("teams", team_id, "escalate_during"), f"names window '{team.escalate_during}' that isn't configured", f"use one of: {window_list}")
        names = {c.name for c in team.contacts}
        for i, entry in enumerate(team.on_call):
            if entry.who not in names:
                yield (("teams", team_id, "on_call", i, "who"), f"'{entry.who}' is not one of the team's contacts", "add them under this team's contacts, or fix the name")
    contacts = {c.name for team in config.teams.values() for c in team.contacts}
    for name, channel in n.channels.items():
        if channel.contact and channel.contact not in contacts:
            yield (("notifications", "channels", name, "contact"), f"'{channel.contact}' is not a contact of any team", "add them under a team's contacts, or fix the name")
    seen: set[Any] = set()
    for i, day in enumerate(n.holidays):
        if day in seen:
            yield (("notifications", "holidays", i), f"{day} is listed twice", "list each holiday once")
        seen.add(day)
