"""Config for reaching people: channels, time windows, per-team routes, contacts and on-call,
delivery retries and one-tap acknowledgement links."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from rules.durations import parse_duration
from rules.windows import ALWAYS, WindowError, parse_span

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
SEVERITIES = ("info", "warning", "critical")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _entries(value: object) -> object:
    return [value] if isinstance(value, str) else value




class ChannelConfig(_Section):
    """One place notifications go. Secrets (URLs with tokens) come from url_env or url_file."""

    type: Literal["email", "webhook", "alertmanager", "apprise"]
    to: list[str] = []  # email: addresses (an email-to-SMS gateway address works too)
    url: str | None = None  # webhook / alertmanager / apprise, when it carries no secret
    url_env: str | None = None  # name of the environment variable holding the URL
    url_file: Path | None = None  # file holding the URL
    timeout: Duration = timedelta(seconds=10)
    contact: str = ""  # a contact's name: a personal channel (their ntfy topic, say); their one-tap links come here too

    @model_validator(mode="after")
    def _target(self) -> ChannelConfig:
        if self.type == "email":
            if not self.to:
                raise ValueError("an email channel needs 'to': a list of addresses")
        elif not (self.url or self.url_env or self.url_file):
            raise ValueError(f"a {self.type} channel needs 'url', 'url_env' or 'url_file'")
        return self


class RouteConfig(_Section):
    severities: list[Literal["info", "warning", "critical"]] = list(SEVERITIES)
    channels: list[str]
    window: str = ALWAYS  # outside the window, notifications are held for one digest when it opens


class ContactConfig(_Section):
    name: str
    role: str = ""
    phone: str = ""
    email: str = ""
    account: str = ""  # the user name of their account: a staff account gets one-tap links


class OnCallConfig(_Section):
    who: str  # a contact's name
    from_: datetime = Field(alias="from")  # local time in the site's zone unless an offset is given
    to: datetime

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _order(self) -> OnCallConfig:
        if self.to <= self.from_:
            raise ValueError("'to' must be after 'from'")
        return self


class DeliveryConfig(_Section):
    retry_initial: Duration = timedelta(seconds=30)  # first retry after a failed attempt; doubles each time
    retry_max: Duration = timedelta(minutes=10)  # longest wait between attempts
    give_up_after: Duration = timedelta(hours=6)  # then the notification is marked given up
    lease: Duration = timedelta(minutes=2)  # a claimed row is retried after this if its sender died
    poll_interval: Duration = timedelta(seconds=2)  # how often the sender looks at the outbox


class AckLinksConfig(_Section):
    enabled: bool = True
    expire_after: Duration = timedelta(hours=12)
    secret_env: str | None = None  # default: the API session secret
    secret_file: Path | None = None


def _check_window(value: list[str]) -> list[str]:
    if not value:
        raise ValueError("a window needs at least one entry like 'mon-fri 07:00-19:00', or 'always'")
    if [v.strip().lower() for v in value] == [ALWAYS]:
        return value
    for entry in value:
        try:
            parse_span(entry)
        except WindowError as exc:
            raise ValueError(str(exc)) from None
    return value


WindowEntries = Annotated[list[str], BeforeValidator(_entries), AfterValidator(_check_window)]


class WindowsMixin(_Section):
    windows: dict[str, WindowEntries] = {}  # name → entries like "mon-fri 07:00-19:00"
    holidays: list[date] = []
