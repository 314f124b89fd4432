"""`facility-agent db upgrade`: bring the database schema to the newest migration."""

from __future__ import annotations

import argparse
from typing import Any

from agent.commands import db_copy
from agent.config import AgentConfig
from agent.storage.migrate import upgrade


def register(sub: Any) -> None:
    parser = sub.add_parser("db", help="database maintenance")
    dbsub = parser.add_subparsers(dest="db_command", metavar="ACTION")
    dbsub.required = True
    up = dbsub.add_parser("upgrade", help="apply pending migrations (safe to run repeatedly)")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=run)
    db_copy.register(dbsub)


def run(args: argparse.Namespace, config: AgentConfig) -> int:
    url = config.database_url()
    upgrade(url, args.revision)
    print(f"database is at revision {args.revision}: {_redact(url)}")
    return 0


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
