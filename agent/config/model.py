"""The one settings class, AgentConfig, and its sections. Unknown keys are errors everywhere."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from agent.config.notify_model import (
    AckLinksConfig,
    ChannelConfig,
    ContactConfig,
    DeliveryConfig,
    OnCallConfig,
    RouteConfig,
    WindowsMixin,
)
from rules.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
KEBAB = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
EQUIPMENT_KINDS = ("printer", "ups", "fridge", "freezer", "sensor", "shelf", "scale", "other")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=False)


class SiteConfig(Section):
    id: str = "default"
    name: str = "Facility"
    timezone: str = "UTC"
    public_base_url: str = ""  # e.g. https://facility.example.org; used only to build one-tap links

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not KEBAB.match(value):
            raise ValueError("site id must be kebab-case, like 'st-marys-east'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/London'"
            ) from None
        return value


class DatabaseConfig(Section):
    url: str | None = None  # default: SQLite file in data_dir
    url_env: str | None = None
    url_file: Path | None = None
    data_dir: Path = Path("data")
    history_retention: Duration = timedelta(days=30)
    cold_chain_retention: Duration = timedelta(days=3 * 365 + 1)  # readings of cold-chain units
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    flush_interval: Duration = timedelta(milliseconds=200)
    queue_size: int = Field(default=50_000, ge=100)


class ApiConfig(Section):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    session_secret_env: str | None = "FACILITY_SESSION_SECRET"
    session_secret_file: Path | None = None
    cookie_secure: bool = True  # false only for plain http on a test machine
    idle_timeout: Duration = timedelta(hours=1)  # a session with no request for this long ends
    sign_in_failures: int = Field(default=5, ge=1)  # failed sign-ins per user and address before each try waits longer...
    sign_in_window: Duration = timedelta(minutes=5)  # ...for this long (also the longest wait)
    # Addresses of reverse proxies whose X-Forwarded-For is believed (for the sign-in limiter
    # and logs); "*" believes anyone, so use it only when nothing else can reach the port.
    trusted_proxies: list[str] = ["127.0.0.1"]
    max_body_bytes: int = Field(default=64 * 1024, ge=1024, le=10 * 1024 * 1024)
    max_streams: int = Field(default=200, ge=1)  # live event streams in all...
    max_streams_per_principal: int = Field(default=5, ge=1)  # ...and per user or token
    count_backfill: Duration = timedelta(days=30)  # how far back a person may date a count (paper sheets)


class MatchConfig(Section):
    kinds: list[str] = []
    tags: list[str] = []
    equipment: list[str] = []
    skus: list[str] = []


Pair = tuple[float, float]


class CumulativeConfig(Section):
    limit: Duration  # total time out of range that opens the alert, e.g. 60m
    window: Duration = timedelta(hours=24)  # rolling window the total is counted in


class ColdChainConfig(Section):
    hot_above: float | None = None
    cold_below: float | None = None
    consecutive: Duration | None = None  # out of range continuously this long
    cumulative: CumulativeConfig | None = None


class RuleConfig(Section):
    id: str
    metric: str
    description: str = ""
    match: MatchConfig = MatchConfig()
    above: float | None = None
    at_or_above: float | None = None
    below: float | None = None
    at_or_below: float | None = None
    outside: Pair | None = None
    clear_below: float | None = None
    clear_above: float | None = None
    clear_inside: Pair | None = None
    critical_above: float | None = None
    critical_below: float | None = None
    critical_outside: Pair | None = None
    equals: list[str] | str | None = None
    rate_above: float | None = None  # units per minute
    rate_below: float | None = None
    window: Duration = timedelta(minutes=10)
    absent_for: Duration | None = None
    hold: Duration = Field(default=timedelta(0), alias="for")
    cold_chain: ColdChainConfig | None = None
    require_comment: list[Literal["ack", "resolve"]] = []
    severity: Literal["info", "warning", "critical"] = "warning"
    team: str = ""
    message: str = ""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TeamConfig(Section):
    name: str = ""
    emails: list[str] = []
    escalate_after: Duration | None = None
    escalate_during: str = ""  # window the escalation clock runs in; default: the window of its route
    routes: list[RouteConfig] = []  # none: every severity to 'emails', at any hour
    contacts: list[ContactConfig] = []
    on_call: list[OnCallConfig] = []


class SmtpConfig(Section):
    host: str = "127.0.0.1"
    port: int = 25
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    sender: str = "facility-agent@localhost"
    timeout: Duration = timedelta(seconds=20)
    ca_file: Path | None = None
    verify_tls: bool = True

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> SmtpConfig:
        if self.username and self.security == "none":
            raise ValueError(
                "an SMTP username with security: none would send the password in clear; "
                "set security: starttls (port 587) or ssl (port 465)"
            )
        return self


class RestockReportConfig(Section):
    enabled: bool = True
    at: str = "06:00"
    recipients: list[str] = []
    retry_for: Duration = timedelta(hours=2)
    # A failed send (SMTP down) is tried again after this, then after twice as long, up to 30 min.
    retry_after: Duration = timedelta(minutes=1)

    @field_validator("at")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError("write the time as HH:MM in 24-hour form, e.g. '06:00'")
        return value


class WeeklySummaryConfig(Section):
    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    at: str = "07:00"
    recipients: list[str] = []
    review_days: float = Field(default=7.0, gt=0)  # how often stock is reviewed: PAR covers this many days' use
    reassign_limit: int = Field(default=3, ge=0)  # more reassignments to another team a month → suggest a team
    offline_pct: float = Field(default=10.0, ge=0, le=100)  # list equipment offline more than this share of the week


class ColdChainReportConfig(Section):
    enabled: bool = True
    day: int = Field(default=1, ge=1, le=28)  # day of the month it goes out, for the month before
    at: str = "07:00"
    recipients: list[str] = []  # besides the unit's team (teams.<id>.emails)
    retry_for: Duration = timedelta(hours=6)

    _clock = field_validator("at")(RestockReportConfig._clock.__func__)  # type: ignore[attr-defined]


class NotificationsConfig(WindowsMixin):
    smtp: SmtpConfig = SmtpConfig()
    cold_chain_report: ColdChainReportConfig = ColdChainReportConfig()
    restock_report: RestockReportConfig = RestockReportConfig()
    weekly_summary: WeeklySummaryConfig = WeeklySummaryConfig()
    coordinator_emails: list[str] = []
    alert_emails: bool = True  # email each team (teams.<id>.emails) its alerts as they open, rise and resolve
    channels: dict[str, ChannelConfig] = {}
    delivery: DeliveryConfig = DeliveryConfig()
    ack_links: AckLinksConfig = AckLinksConfig()


class AlertingConfig(Section):
    ack_recovery: Duration = timedelta(minutes=10)
    flap_threshold: int = Field(default=4, ge=1)
    flap_window: Duration = timedelta(hours=1)
    flap_settle: Duration = timedelta(minutes=30)
    tick_interval: Duration = timedelta(seconds=5)
    builtin_rules: bool = True


class ScaleConfig(Section):
    grams_per_unit: float = Field(gt=0)
    tare_g: float = Field(default=0.0, ge=0)


class SupplyConfig(Section):
    sku: str
    name: str
    unit: str = "each"
    location: str = ""
    vendor: str = ""
    par: float = Field(ge=0)
    reorder_point: float = Field(ge=0)
    pack_size: int = Field(default=1, ge=1)
    lead_time_days: float = Field(default=1.0, ge=0)
    on_order: float = Field(default=0.0, ge=0)
    on_hand: float | None = Field(default=None, ge=0)
    fits_models: list[str] = []
    part_numbers: list[str] = []
    scale: ScaleConfig | None = None
    team: str = "supply"

    @model_validator(mode="after")
    def _par_above_reorder(self) -> SupplyConfig:
        if self.reorder_point > self.par:
            raise ValueError(
                f"reorder_point ({self.reorder_point:g}) is above par ({self.par:g}): "
                "the reorder point must be at or below the PAR level"
            )
        return self


class EquipmentConfig(Section):
    id: str
    name: str = ""
    kind: Literal["printer", "ups", "fridge", "freezer", "sensor", "shelf", "scale", "other"] = "other"
    location: str = ""
    team: str = ""
    model: str = ""
    tags: list[str] = []
    snmp: dict[str, Any] | None = None
    silent_after: Duration | None = None  # no reading for this long → "offline" (MQTT sensors)

    @field_validator("id")
    @classmethod
    def _kebab(cls, value: str) -> str:
        if not KEBAB.match(value):
            raise ValueError("equipment id must be kebab-case, like 'fridge-pharmacy-2'")
        return value


class LoggingConfig(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class AgentConfig(Section):
    site: SiteConfig = SiteConfig()
    database: DatabaseConfig = DatabaseConfig()
    api: ApiConfig = ApiConfig()
    mqtt: dict[str, Any] | None = None
    snmp: dict[str, Any] = {}
    equipment: list[EquipmentConfig] = []
    supplies: list[SupplyConfig] = []
    rules: list[RuleConfig] = []
    teams: dict[str, TeamConfig] = {}
    notifications: NotificationsConfig = NotificationsConfig()
    alerting: AlertingConfig = AlertingConfig()
    logging: LoggingConfig = LoggingConfig()

    # Where the file was read from; relative paths in it are relative to its folder.
    source_path: Path | None = Field(default=None, exclude=True)

    def database_url(self) -> str:
        import os

        db = self.database
        if db.url_env and os.environ.get(db.url_env):
            return os.environ[db.url_env]
        if db.url_file:
            return db.url_file.read_text().strip()
        if db.url:
            return db.url
        return f"sqlite:///{(self.data_dir() / 'facility.db').resolve()}"

    def data_dir(self) -> Path:
        base = self.source_path.parent if self.source_path else Path.cwd()
        return (
            self.database.data_dir if self.database.data_dir.is_absolute() else base / self.database.data_dir
        )
