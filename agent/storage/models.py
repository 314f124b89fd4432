"""Typed SQLAlchemy 2 models. Every table is created by Alembic migrations, never create_all in production."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger ids that are still INTEGER PRIMARY KEY (rowid) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite stores naive text; UTC is re-attached on read)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to storage; pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class Equipment(Base):
    __tablename__ = "equipment"
    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(100), default="default")
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    location: Mapped[str] = mapped_column(String(200), default="")
    team: Mapped[str] = mapped_column(String(100), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    tags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime]
    # Set when the item leaves the config (migration 0004): kept, with its alerts and history.
    retired_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SupplyItem(Base):
    __tablename__ = "supply_items"
    sku: Mapped[str] = mapped_column(String(100), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(100), default="default")
    name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(40), default="each")
    location: Mapped[str] = mapped_column(String(200), default="")
    vendor: Mapped[str] = mapped_column(String(200), default="")
    par: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    lead_time_days: Mapped[float] = mapped_column(Float, default=1.0)
    on_order: Mapped[float] = mapped_column(Float, default=0.0)
    fits_models: Mapped[list[Any]] = mapped_column(JSON, default=list)
    part_numbers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    on_hand: Mapped[float | None] = mapped_column(Float, nullable=True)
    daily_use: Mapped[float | None] = mapped_column(Float, nullable=True)
    counted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    settings_changed_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    updated_at: Mapped[datetime]


class StockRecord(Base):
    """Every count of a supply: who or what counted, when, and the value before and after."""

    __tablename__ = "stock_records"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(100), index=True)
    at: Mapped[datetime]
    source: Mapped[str] = mapped_column(String(100))  # mqtt, snmp, person, config
    actor: Mapped[str] = mapped_column(String(100), default="")
    previous: Mapped[float | None] = mapped_column(Float, nullable=True)
    value: Mapped[float] = mapped_column(Float)
    change: Mapped[str] = mapped_column(
        String(30), default="count"
    )  # count, consumption, restock, unexpected_drop
    comment: Mapped[str] = mapped_column(Text, default="")


class LatestReading(Base):
    __tablename__ = "readings_latest"
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(120), primary_key=True)
    subject_kind: Mapped[str] = mapped_column(String(20), default="equipment")
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unit: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    ts: Mapped[datetime]


class ReadingHistory(Base):
    __tablename__ = "readings"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(120))
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)
    value_text: Mapped[str | None] = mapped_column(String(64), nullable=True)
    unit: Mapped[str] = mapped_column(String(20), default="")
    source: Mapped[str] = mapped_column(String(60), default="")
    ts: Mapped[datetime]
    __table_args__ = (
        # One row per observation: a redelivered copy is skipped on insert (migration 0003).
        Index("uq_readings_observation", "subject", "metric", "ts", unique=True),
        Index("ix_readings_ts", "ts"),
    )


def _queue_index(name: str, *columns: Any) -> Index:
    """A partial index over the alerts in the queue. The predicate is written exactly as
    agent/services/queries.py writes it (the + keeps SQLite's planner off the plain status index)."""
    return Index(
        name,
        *columns,
        sqlite_where=text("+status IN ('open', 'acknowledged')"),
        postgresql_where=text("status IN ('open', 'acknowledged')"),
    )


class Alert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(150))
    subject: Mapped[str] = mapped_column(String(100))
    subject_kind: Mapped[str] = mapped_column(String(20), default="equipment")
    metric: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)
    team: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    since: Mapped[datetime]
    opened_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    acknowledged_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    resolve_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(100), nullable=True)
    first_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    last_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    worst_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    last_seen_at: Mapped[datetime]
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    cleared_since: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        # One active alert per identity; resolved ones pile up as history.
        Index(
            "uq_alerts_active_identity",
            "rule_id",
            "subject",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
        Index("ix_alerts_status_severity_opened", "status", "severity", "opened_at"),
        Index("ix_alerts_subject", "subject"),
        Index("ix_alerts_team_status", "team", "status"),
        # The coordinator's queue (migration 0002): one page read in index order.
        _queue_index("ix_alerts_queue", text("severity DESC"), "opened_at", "id"),
        _queue_index("ix_alerts_queue_team", "team", text("severity DESC"), "opened_at", "id"),
        _queue_index("ix_alerts_queue_counts", "team", "severity", "status"),
    )


class AlertEvent(Base):
    """The audit log: every change and every human action, with who, when and a comment."""

    __tablename__ = "alert_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    actor: Mapped[str] = mapped_column(String(100), default="system")
    comment: Mapped[str] = mapped_column(Text, default="")
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    severity: Mapped[int] = mapped_column(Integer)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Silence(Base):
    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    equipment_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    rule_id: Mapped[str | None] = mapped_column(String(150), nullable=True)
    team: Mapped[str | None] = mapped_column(String(100), nullable=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime] = mapped_column(index=True)
    comment: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    ended_by: Mapped[str | None] = mapped_column(String(100), nullable=True)  # who ended it early


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))
    team: Mapped[str] = mapped_column(String(100), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime]
    # In every session cookie; bumped on sign-out, password change and disable, so that every
    # cookie issued before stops working at once.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # "Sam" and "sam" are the same person: unique regardless of case (an expression index).
    __table_args__ = (Index("uq_users_username_lower", func.lower(username), unique=True),)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class NotificationLog(Base):
    """What was sent (or held), so a restart or a second agent never sends the same thing twice."""

    __tablename__ = "notification_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    alert_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    channel: Mapped[str] = mapped_column(String(30))
    recipient: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(20))  # sent, failed, silenced, held
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]


class JobClaim(Base):
    """A once-only job run: unique per (job, site, period), e.g. the nightly restock email per day."""

    __tablename__ = "job_claims"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(60))
    site_id: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(40))  # e.g. 2026-11-26 or 2026-W48
    state: Mapped[str] = mapped_column(String(20))  # claimed, sending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str] = mapped_column(String(200), default="")
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    recipients: Mapped[list[Any]] = mapped_column(JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    __table_args__ = (UniqueConstraint("job", "site_id", "period", name="uq_job_claims_job_site_period"),)


class UnknownSource(Base):
    """Input from a topic or host that matches nothing configured: shown to the coordinator, not dropped."""

    __tablename__ = "unknown_sources"
    source: Mapped[str] = mapped_column(String(30), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    last_payload: Mapped[str] = mapped_column(Text, default="")
    count: Mapped[int] = mapped_column(BigId, default=0)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]


class AuditEntry(Base):
    """A change people made outside an alert (alert actions are in alert_events): who, when, what
    was changed from what to what. E.g. a supply's PAR and reorder point."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(60))  # e.g. supply.settings
    subject: Mapped[str] = mapped_column(String(150), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comment: Mapped[str] = mapped_column(Text, default="")


class OutboxItem(Base):
    """One notification to one channel and recipient, written in the transaction of the alert change
    that caused it; the sender delivers it with retries (ADR 0012)."""

    __tablename__ = "notification_outbox"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    alert_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(30))  # the alert event (opened, resolved...) or "digest"
    team: Mapped[str] = mapped_column(String(100), default="")
    severity: Mapped[int] = mapped_column(Integer, default=0)
    channel: Mapped[str] = mapped_column(String(100))  # the configured channel's name
    channel_type: Mapped[str] = mapped_column(String(20))  # email, webhook, alertmanager, apprise
    recipient: Mapped[str] = mapped_column(String(300), default="")  # an address; never a secret URL
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20))  # pending, held, sent, gave_up, silenced, digested
    detail: Mapped[str] = mapped_column(Text, default="")  # why silenced / held / last error
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    hold_until: Mapped[datetime | None] = mapped_column(nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    digest_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    __table_args__ = (Index("ix_notification_outbox_due", "state", "next_attempt_at"),)


class DeliveryAttempt(Base):
    """The notification log: every delivery attempt, ok or not."""

    __tablename__ = "notification_attempts"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    outbox_id: Mapped[int] = mapped_column(BigId, index=True)
    alert_id: Mapped[int | None] = mapped_column(BigId, nullable=True, index=True)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")


class AckLinkUse(Base):
    """A one-tap link that was used: the nonce is unique, so a link acknowledges once."""

    __tablename__ = "ack_link_uses"
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    alert_id: Mapped[int] = mapped_column(BigId)
    recipient: Mapped[str] = mapped_column(String(300))
    account: Mapped[str] = mapped_column(String(100))
    used_at: Mapped[datetime]


class ExcursionRecord(Base):
    """A cold-chain excursion (rules/cold_chain.py), kept whether or not an alert opened."""

    __tablename__ = "excursions"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    rule_id: Mapped[str] = mapped_column(String(150))
    subject: Mapped[str] = mapped_column(String(100))
    metric: Mapped[str] = mapped_column(String(120))
    side: Mapped[str] = mapped_column(String(10))  # hot or cold
    start_at: Mapped[datetime]
    end_at: Mapped[datetime | None] = mapped_column(nullable=True)  # first reading back in range
    last_at: Mapped[datetime]  # last reading out of range
    extreme: Mapped[float] = mapped_column(Float)  # peak (hot) or trough (cold)
    __table_args__ = (
        UniqueConstraint("rule_id", "subject", "start_at", name="uq_excursions_rule_id"),
        Index("ix_excursions_subject_start", "subject", "start_at"),
    )


class ReadingHourly(Base):
    """Numeric readings rolled up per hour (min, max, sum, count), so a 30-day chart reads 720
    rows instead of 43,200. Rebuilt from `readings` for whole hours (agent/storage/rollups.py)."""

    __tablename__ = "readings_hourly"
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    metric: Mapped[str] = mapped_column(String(120), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    sum: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)


class MqttReceipt(Base):
    """The broker's identity of a stored MQTT message whose ack may not have reached the broker.

    Written in the same transaction as the readings. After a crash the broker redelivers the
    unacked message (DUP, same packet id); the receipt tells the new process it is a copy of
    a reading already stored. A reading without a timestamp in its payload has no other way to
    be recognised. One row per (client id, packet id): a reused id replaces the old row, so the
    table never holds more than 65,535 rows per client id.
    """

    __tablename__ = "mqtt_receipts"
    client_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    mid: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    stored_at: Mapped[datetime]
