"""`facility-agent demo`: a small clinic with simulated equipment, a broker and the real agent.

Needs no config file and no outside service. Ctrl-C (SIGINT), SIGTERM or SIGHUP stops everything it started.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from agent.demo.broker import DemoBrokerError
from agent.demo.clinic import Demo, DemoError, DemoOptions
from agent.demo.snmp import DemoSnmpError
from agent.logging_setup import configure_logging


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "demo",
        help="bring up a small demo clinic with simulated equipment (no config needed)",
        description=(
            "Starts simulated printers and a UPS (snmpsim, real SNMP), fridge sensors and smart shelves "
            "(MQTT, through a broker it starts: mosquitto if installed, else an embedded one) and the agent "
            "with its web page. Prints the address and a sign-in. Ctrl-C stops everything."
        ),
    )
    parser.add_argument(
        "--port", type=int, default=8080, help="web page and API port (default 8080; a free one if taken)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path("demo-data"),
        help="where the demo keeps its database, config and logs (default ./demo-data)",
    )
    parser.add_argument(
        "--keep-data", action="store_true", help="keep the previous run's database instead of starting afresh"
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="show the agent's log lines")
    parser.add_argument(
        "--embedded-broker",
        action="store_true",
        help="use the embedded MQTT broker (amqtt) even when mosquitto is installed",
    )
    parser.set_defaults(func=run, needs_config=False)


def say(line: str) -> None:
    print(line, flush=True)


def run(args: argparse.Namespace, _config: Any) -> int:
    level = "info" if args.verbose else "warning"
    configure_logging(level, "text")
    if not 0 <= args.port <= 65535:
        print(f"error: --port {args.port} is not a port number", file=sys.stderr)
        return 2
    demo = Demo(
        DemoOptions(
            data_dir=args.data_dir,
            port=args.port,
            keep_data=args.keep_data,
            log_level=level,
            prefer_mosquitto=not args.embedded_broker,
        ),
        say,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        first = not demo.stopping
        demo.request_stop()
        # Before the agent's event loop runs, unwind the start-up; its finally stops what started.
        if first and demo.loop is None:
            raise KeyboardInterrupt

    # SIGHUP too: closing the terminal must stop the clinic as Ctrl-C does.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        demo.run()
    except KeyboardInterrupt:
        return 0  # stopped by a signal while starting; everything started was stopped
    except (DemoError, DemoSnmpError, DemoBrokerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
