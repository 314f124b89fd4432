"""Run Alembic migrations from inside the package (no alembic.ini needed on the server)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

from agent.storage.db import normalise_url

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def is_current(engine: Engine) -> bool:
    """True when the schema is at the newest migration."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(str(engine.url)))
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return False
        heads = set(MigrationContext.configure(conn).get_current_heads())
    return heads == set(script.get_heads())


def include_object_for(dialect_name: str) -> Callable[..., bool]:
    """Alembic's include_object for autogenerate and `alembic check`.

    SQLite's reflection drops DESC from an index column, so alembic would propose dropping and
    re-creating the queue indexes (``severity DESC``) on every autogenerate. On SQLite those
    are left out of the comparison; PostgreSQL compares them in full.
    """

    def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if type_ != "index" or dialect_name != "sqlite":
            return True
        model_index = compare_to if reflected else obj
        if model_index is None:
            return True
        return not any("DESC" in str(e).upper() for e in model_index.expressions)

    return include_object
