"""`facility-agent run`: collectors, scheduler and API in one process."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from agent.config import AgentConfig
from agent.logging_setup import configure_logging
from agent.runtime import Runtime


def register(sub: Any) -> None:
    parser = sub.add_parser("run", help="run collectors, scheduler and API (stops cleanly on SIGTERM)")
    parser.set_defaults(func=run)


def run(_args: argparse.Namespace, config: AgentConfig) -> int:
    configure_logging(config.logging.level, config.logging.format)
    runtime = Runtime(config).build()
    asyncio.run(runtime.run())
    return 0
