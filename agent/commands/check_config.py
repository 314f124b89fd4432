"""`facility-agent check-config PATH`: validate a config file and explain every mistake."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from agent.config import ConfigError, load_config


def register(sub: Any) -> None:
    parser = sub.add_parser("check-config", help="validate a config file; one line per mistake")
    parser.add_argument("path", nargs="?", help="config file (default: --config or $FACILITY_CONFIG)")
    parser.set_defaults(func=run, needs_config=False)


def run(args: argparse.Namespace, _config: Any) -> int:
    path = args.path or args.config
    if not path:
        print("error: give the config file: facility-agent check-config PATH", file=sys.stderr)
        return 2
    try:
        config = load_config(path)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        count = len(exc.problems)
        print(f"{path}: {count} problem{'s' if count != 1 else ''} found", file=sys.stderr)
        return 1
    print(
        f"{path}: OK — site '{config.site.id}', {len(config.equipment)} equipment, "
        f"{len(config.supplies)} supplies, {len(config.rules)} rules"
    )
    return 0
