"""A real agent stack for API tests: migrated database, rules engine, pipeline writer,
AppServices, live broadcaster and the app, with one user and one token per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, text
from sqlalchemy.engine import Engine as DbEngine

from agent.config.model import EquipmentConfig
from agent.equipment_sync import sync_equipment
from agent.live import LiveBroadcaster
from agent.pipeline import Pipeline
from agent.services import auth
from agent.services.app_services import AppServices
from agent.storage.db import session_factory
from agent.storage.models import Base, Equipment, SupplyItem
from api.app import create_app
from rules.engine import Engine
from rules.model import ConditionKind, Match, Rule, Subject
from rules.reading import Reading
from rules.severity import Severity

PASSWORD = "a long enough password"
KEEP_TABLES = frozenset({"users", "api_tokens"})
ROLES = ("viewer", "staff", "coordinator", "admin")
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> datetime:
        self.now += timedelta(**kwargs)
        return self.now


EQUIPMENT = [
    {"id": "fridge-1", "name": "Fridge 1", "kind": "fridge", "location": "Pharmacy", "team": "pharmacy"},
    {"id": "fridge-2", "name": "Fridge 2", "kind": "fridge", "location": "Pharmacy", "team": "pharmacy"},
    {"id": "printer-1", "name": "Ward 3 printer", "kind": "printer", "location": "Ward 3", "team": "it"},
    {"id": "ups-1", "name": "Server room UPS", "kind": "ups", "location": "Basement", "team": "facilities"},
]

SUPPLIES = [
    {"sku": "GLV-M", "name": "Nitrile gloves M", "unit": "box", "location": "Ward 3", "vendor": "Medline",
     "par": 20.0, "reorder_point": 8.0, "pack_size": 10, "on_hand": 4.0},
    {"sku": "TNR-BK", "name": "Black toner", "unit": "each", "location": "Central supply", "vendor": "Xerox",
     "par": 4.0, "reorder_point": 1.0, "pack_size": 1, "on_hand": 3.0},
]


def rules() -> list[Rule]:
    return [
        Rule(
            id="fridge-temperature",
            metric="temperature_c",
            kind=ConditionKind.THRESHOLD,
            severity=Severity.WARNING,
            team="pharmacy",
            match=Match(kinds=frozenset({"fridge"})),
            fire_low=2.0,
            fire_high=8.0,
            clear_low=2.5,
            clear_high=7.5,
            critical_high=12.0,
            description="Fridge temperature between 2 and 8 °C.",
        ),
        Rule(
            id="toner-low",
            metric="toner.black.pct",
            kind=ConditionKind.THRESHOLD,
            severity=Severity.INFO,
            team="it",
            match=Match(kinds=frozenset({"printer"})),
            fire_low=10.0,
            clear_low=15.0,
        ),
    ]


# Extra fridges known to the engine (not on the board) so tests can open many independent alerts.
SPARE_FRIDGES = [f"fridge-t{n}" for n in range(1, 200)]


def subjects() -> dict[str, Subject]:
    known = {
        e["id"]: Subject(id=e["id"], name=e["name"], kind=e["kind"], location=e["location"], team=e["team"])
        for e in EQUIPMENT
    }
    for spare in SPARE_FRIDGES:
        known[spare] = Subject(id=spare, name=spare.replace("-", " ").title(), kind="fridge", location="Lab", team="lab")
    return known


@dataclass
class Stack:
    url: str
    db: DbEngine
    clock: FakeClock = field(default_factory=FakeClock)
    tokens: dict[str, str] = field(default_factory=dict)
    pipeline: Pipeline | None = None
    services: AppServices | None = None
    live: LiveBroadcaster | None = None
    app: Any = None

    @property
    def backend(self) -> str:
        return self.db.dialect.name

    def reset(self) -> None:
        """Empty every table and start a fresh engine, pipeline and app."""
        self.stop()
        self.clock = FakeClock()
        with self.db.begin() as conn:
            # People and their tokens survive between tests (argon2 hashing is slow on purpose);
            # tests that add users or tokens use names no other test needs.
            tables = [t.name for t in reversed(Base.metadata.sorted_tables) if t.name not in KEEP_TABLES]
            if self.backend == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(tables) + " RESTART IDENTITY CASCADE"))
            else:
                for name in tables:
                    conn.execute(text(f"DELETE FROM {name}"))
            conn.execute(insert(SupplyItem), [{**s, "updated_at": self.clock()} for s in SUPPLIES])
        sessions = session_factory(self.db)
        with sessions() as session:  # as the agent does on start: from the config
            sync_equipment(session, [EquipmentConfig(**e) for e in EQUIPMENT], site_id="default", now=self.clock())
            session.commit()
        self.pipeline = Pipeline(engine=Engine(rules(), subjects()), sessions=sessions, clock=self.clock, flush_interval=0.01)
        self.live = LiveBroadcaster(keepalive=0.5)
        self.pipeline.listeners.append(self.live.listener)
        self.pipeline.restore()
        self.pipeline.start()
        self.services = AppServices(
            sessions=sessions,
            pipeline=self.pipeline,
            clock=self.clock,
            live=self.live,
            metrics=lambda: b"facility_up 1.0\n",
        )
        self.app = create_app(self.services, session_secret="test-secret-of-at-least-32-bytes!", site_name="Test clinic")
        self._spare = 0
        if not self.tokens:
            for role in ROLES:
                auth.add_user(sessions, username=role, password=PASSWORD, role=role, now=self.clock(), display_name=role.title())
                self.tokens[role] = auth.create_token(sessions, username=role, name="tests", now=self.clock()).secret
        with self.db.begin() as conn:  # undo what a test did to people: extra users, revoked tokens
            conn.execute(text("DELETE FROM api_tokens WHERE name != 'tests'"))
            conn.execute(text("DELETE FROM users WHERE username NOT IN ('viewer', 'staff', 'coordinator', 'admin')"))
            conn.execute(text("UPDATE users SET disabled = false"))
            conn.execute(text("UPDATE api_tokens SET revoked_at = NULL, last_used_at = NULL"))
            conn.execute(text("UPDATE users SET disabled = :f"), {"f": False})

    def stop(self) -> None:
        if self.pipeline is not None:
            self.pipeline.stop()
            self.pipeline = None

    def close(self) -> None:
        self.stop()
        self.db.dispose()

    def submit(self, *readings: Reading) -> None:
        assert self.pipeline is not None
        self.pipeline.submit(list(readings))
        self.pipeline.flush()

    def reading(self, subject: str, metric: str, value: float | str, *, unit: str = "", ago: float = 0) -> Reading:
        return Reading(
            subject=subject,
            metric=metric,
            value=value,
            ts=self.clock() - timedelta(seconds=ago),
            unit=unit,
            source="test",
        )

    def open_fridge_alert(self, subject: str = "fridge-2", value: float = 9.1) -> int:
        """Make the fridge rule fire and return the new alert's id."""
        self.submit(self.reading(subject, "temperature_c", value, unit="°C"))
        with self.db.connect() as conn:
            row = conn.execute(
                text("SELECT id FROM alerts WHERE subject = :s AND status != 'resolved' ORDER BY id DESC"), {"s": subject}
            ).first()
        assert row is not None, "the fridge rule did not open an alert"
        return int(row[0])

    def new_alert(self, value: float = 9.1) -> int:
        """An open alert on a fridge that has none yet."""
        self._spare = getattr(self, "_spare", 0) + 1
        return self.open_fridge_alert(SPARE_FRIDGES[self._spare - 1], value)

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}


def clear_equipment(db: DbEngine) -> None:
    with db.begin() as conn:
        conn.execute(delete(Equipment))
