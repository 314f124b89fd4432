"""The `facility-agent` command."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from types import ModuleType

from agent.config import ConfigError, load_config

log = logging.getLogger(__name__)

# Subcommand modules, in the order `--help` lists them.
COMMAND_MODULES = (
    "agent.commands.run",
    "agent.commands.demo",
    "agent.commands.check_config",
    "agent.commands.probe",
    "agent.commands.db",
    "agent.commands.restock",
    "agent.commands.weekly",
    "agent.commands.evidence",
    "agent.commands.users",
)


def _load_commands() -> list[ModuleType]:
    modules = []
    for name in COMMAND_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facility-agent",
        description="Watches printers, UPSes, fridges and supplies, and tells the coordinator first.",
    )
    parser.add_argument(
        "--config",
        "-c",
        default=os.environ.get("FACILITY_CONFIG"),
        help="YAML config file (default: $FACILITY_CONFIG). Any key can be overridden by FACILITY_<SECTION>__<KEY>.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in _load_commands():
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    needs_config = getattr(args, "needs_config", True)
    config = None
    if needs_config:
        try:
            config = load_config(args.config)
        except ConfigError as exc:
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            return 2
    try:
        return int(args.func(args, config) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
