"""`facility-agent probe`: poll equipment once over SNMP and print the readings it would produce.

facility-agent probe printer-2west              # one configured device
facility-agent probe                            # every SNMP device in the config
facility-agent probe --host 10.1.2.3 --profile printer --community public --json
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from agent.snmp_jobs import build_snmp_targets, snmp_defaults
from collectors.snmp.config import SnmpEquipmentSettings, SnmpTarget, resolve_target
from collectors.snmp.poller import PollResult, SnmpPoller
from collectors.snmp.probe import format_json_lines, format_table


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "probe",
        help="poll SNMP equipment once and print the readings it would produce",
        description="Poll one configured piece of equipment (or all of them), or a host given here, "
        "once, and print the readings: a table, or JSON lines with --json.",
    )
    parser.add_argument("equipment_id", nargs="?", metavar="EQUIPMENT_ID", help="a configured equipment id")
    parser.add_argument(
        "--host", metavar="HOST[:PORT]", help="poll this address instead of configured equipment"
    )
    parser.add_argument("--profile", choices=("printer", "ups"), help="with --host: what the device is")
    parser.add_argument("--version", dest="snmp_version", choices=("1", "2c", "3"), help="SNMP version")
    parser.add_argument("--community", help="SNMP v1/v2c community (default: the config's, else 'public')")
    parser.add_argument("--user", help="SNMPv3 user")
    parser.add_argument(
        "--auth-protocol", help="SNMPv3 authentication: SHA, SHA-224, SHA-256, SHA-384, SHA-512, MD5"
    )
    parser.add_argument(
        "--auth-password-env", metavar="VAR", help="environment variable holding the auth password"
    )
    parser.add_argument("--auth-password-file", metavar="PATH", help="file holding the auth password")
    parser.add_argument("--priv-protocol", help="SNMPv3 privacy: AES-128, AES-256, DES")
    parser.add_argument(
        "--priv-password-env", metavar="VAR", help="environment variable holding the privacy password"
    )
    parser.add_argument("--priv-password-file", metavar="PATH", help="file holding the privacy password")
    parser.add_argument("--timeout", help="per-request timeout, e.g. 2s")
    parser.add_argument("--retries", type=int, help="retries per request")
    parser.add_argument(
        "--json", action="store_true", help="JSON lines: equipment, metric, value or state, unit"
    )
    parser.set_defaults(func=run)


def _host_target(args: argparse.Namespace, config: Any) -> SnmpTarget:
    host, _, port = args.host.rpartition(":") if args.host.count(":") == 1 else (args.host, "", "")
    if not host:
        host, port = port, ""
    settings: dict[str, Any] = {"host": host, "profile": args.profile or "printer"}
    if port:
        settings["port"] = port
    for key in (
        "community",
        "user",
        "auth_protocol",
        "auth_password_env",
        "auth_password_file",
        "priv_protocol",
        "priv_password_env",
        "priv_password_file",
        "timeout",
        "retries",
    ):
        value = getattr(args, key)
        if value is not None:
            settings[key] = value
    if args.snmp_version:
        settings["version"] = args.snmp_version
    defaults = snmp_defaults(config) if config is not None else snmp_defaults(None)
    if "community" not in settings and not (
        defaults.community or defaults.community_env or defaults.community_file
    ):
        settings["community"] = "public"
    return resolve_target(host, SnmpEquipmentSettings.model_validate(settings), defaults)


async def _poll_all(targets: list[SnmpTarget], max_concurrency: int) -> list[PollResult]:
    poller = SnmpPoller(max_concurrency=max_concurrency)
    poller.prepare(targets)
    try:
        now = datetime.now(UTC)
        return list(await asyncio.gather(*(poller.poll(target, now=now) for target in targets)))
    finally:
        poller.close()


def run(args: argparse.Namespace, config: Any) -> int:
    """Exit 0 when every device answered cleanly, 1 when any reported an error, 2 for bad input."""
    problems: list[str] = []
    if args.host:
        if args.equipment_id:
            print("error: give either EQUIPMENT_ID or --host, not both", file=sys.stderr)
            return 2
        try:
            targets = [_host_target(args, config)]
        except ValidationError as exc:
            for error in exc.errors():
                where = ".".join(str(part) for part in error["loc"])
                print(f"error: {where}: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
            return 2
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    else:
        if config is None:
            print("error: give --host, or --config with the equipment to probe", file=sys.stderr)
            return 2
        targets, problems = build_snmp_targets(config, only=args.equipment_id)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if not targets:
            if not problems:
                print("error: no equipment with snmp settings in the config; or use --host", file=sys.stderr)
            return 2
    max_concurrency = snmp_defaults(config).max_concurrency if config is not None else 32
    results = asyncio.run(_poll_all(targets, max_concurrency))
    sys.stdout.write(format_json_lines(results) if args.json else format_table(results))
    return 1 if problems or any(result.error for result in results) else 0
