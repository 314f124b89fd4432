"""`facility-agent demo`: the demo facility (issue 7). Until it lands, say so plainly."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    parser = sub.add_parser("demo", help="bring up a small demo clinic with simulated equipment")
    parser.set_defaults(func=run, needs_config=False)


def run(_args: argparse.Namespace, _config: Any) -> int:
    print("The demo facility is not built yet (issue 7).", file=sys.stderr)
    return 1
