"""The demo clinic: simulators, a broker and the real agent, started in order and stopped in reverse.

`Demo.run()` blocks until `Demo.request_stop()` (the command calls it on SIGINT/SIGTERM). Every
process and thread it starts is stopped before it returns, also when starting fails half-way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import shutil
import socket
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, load_config_text
from agent.demo.processes import Child

log = logging.getLogger(__name__)

DEMO_USER = "coordinator"
# The demo listens on 127.0.0.1 only; a fixed sign-in keeps the README's first command simple.
DEMO_PASSWORD = "clinic-demo"
MARKER = ".facility-demo"
CONFIG_NAME = "demo-config.yaml"
# What the demo itself writes into its data directory (removed at the next start unless kept).
DEMO_FILES = ("facility.db", "facility.db-wal", "facility.db-shm", CONFIG_NAME, "logs")

Say = Callable[[str], None]


class DemoError(RuntimeError):
    """Something the person running the demo can fix; the message says what."""


@dataclass
class DemoOptions:
    data_dir: Path
    port: int = 8080
    keep_data: bool = False
    log_level: str = "warning"
    prefer_mosquitto: bool = True


def prepare_data_dir(options: DemoOptions) -> Path:
    """Create or reuse the data directory; refuse one that the demo did not make."""
    data = options.data_dir.expanduser().resolve()
    if data.exists() and not data.is_dir():
        raise DemoError(f"--data-dir {data} is a file; give a directory")
    if data.exists() and any(data.iterdir()) and not (data / MARKER).exists():
        raise DemoError(
            f"{data} already holds files that the demo did not write; "
            "give an empty or new directory with --data-dir"
        )
    data.mkdir(parents=True, exist_ok=True)
    (data / MARKER).write_text(
        "This directory belongs to `facility-agent demo`; it may delete what is here.\n"
    )
    if not options.keep_data:
        for name in DEMO_FILES:
            path = data / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (data / "logs").mkdir(exist_ok=True)
    secret = data / "session-secret"
    if not secret.exists():
        secret.touch(mode=0o600)
        secret.write_text(secrets.token_urlsafe(32) + "\n")
    return data


def api_port(wanted: int) -> tuple[int, bool]:
    """The wanted port if it is free on 127.0.0.1, else a free one; (port, whether it is the wanted one)."""
    if wanted:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", wanted))
                return wanted, True
            except OSError:
                pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1]), wanted == 0


def demo_config_text(
    *, data_dir: Path, api_port: int, snmp_port: int, mqtt_port: int, mqtt_protocol: str, log_level: str
) -> str:
    template = (resources.files("agent.demo") / "clinic.yaml").read_text(encoding="utf-8")
    # Paths as JSON strings: valid YAML scalars whatever characters the folder's name has.
    return string.Template(template).substitute(
        data_dir=json.dumps(str(data_dir)),
        session_secret_file=json.dumps(str(data_dir / "session-secret")),
        api_port=api_port,
        snmp_port=snmp_port,
        mqtt_port=mqtt_port,
        mqtt_protocol=mqtt_protocol,
        log_level=log_level,
    )


@dataclass
class Demo:
    options: DemoOptions
    say: Say
    data_dir: Path | None = None
    config: AgentConfig | None = None
    url: str = ""
    runtime: Any = None
    loop: asyncio.AbstractEventLoop | None = None  # set while the agent's event loop runs
    _stops: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    _stop_requested: threading.Event = field(default_factory=threading.Event)
    _children: list[Child] = field(default_factory=list)  # every process started, even half-way
    _said_stopping: bool = False

    # ------------------------------------------------------------------ control
    def request_stop(self) -> None:
        """Safe from a signal handler or another thread."""
        self._stop_requested.set()
        if self.loop is not None and self.runtime is not None:
            self.loop.call_soon_threadsafe(self._stop_runtime)

    def _stop_runtime(self) -> None:
        self._say_stopping()
        self.runtime.request_stop()

    def _say_stopping(self) -> None:
        if not self._said_stopping:
            self._said_stopping = True
            self.say("Stopping the demo clinic...")
            # A poll cut short by the shutdown is no error worth a traceback on the terminal.
            logging.getLogger("apscheduler.executors.default").setLevel(logging.CRITICAL)

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    def run(self) -> None:
        try:
            self._start_and_serve()
        finally:
            self._stop_everything()

    # ------------------------------------------------------------------ start
    def _start_and_serve(self) -> None:
        from agent.demo.broker import start_broker
        from agent.demo.snmp import start_snmpsim

        data = self.data_dir = prepare_data_dir(self.options)
        logs = data / "logs"
        self.say(f"Starting the demo clinic; its data is in {data}")

        sim = start_snmpsim(log_path=logs / "snmpsim.log", registry=self._children)
        self._stops.append(("SNMP simulator", sim.stop))
        self.say(f"  - SNMP simulator (snmpsim): 2 printers and a UPS on udp://127.0.0.1:{sim.port}")
        self._check_stop()

        broker = start_broker(
            workdir=logs / "mosquitto",
            prefer_mosquitto=self.options.prefer_mosquitto,
            registry=self._children,
        )
        self._stops.append(("MQTT broker", broker.stop))
        self.say(f"  - MQTT broker ({broker.kind}) on mqtt://127.0.0.1:{broker.port}")
        self._check_stop()

        port, as_asked = api_port(self.options.port)
        if not as_asked:
            self.say(f"  - port {self.options.port} is taken; the web page uses port {port} instead")
        config_path = data / CONFIG_NAME
        text = demo_config_text(
            data_dir=data,
            api_port=port,
            snmp_port=sim.port,
            mqtt_port=broker.port,
            mqtt_protocol=broker.protocol,
            log_level=self.options.log_level,
        )
        config_path.write_text(text, encoding="utf-8")
        # environ={}: FACILITY_* settings are for the real agent. Run inside a production
        # container, they would point the demo at the production database.
        self.config = load_config_text(text, file=str(config_path), source_path=config_path, environ={})
        if not self.config.database_url().startswith("sqlite:"):
            raise DemoError("the demo only runs on its own SQLite database; it refuses any other")
        self.url = f"http://127.0.0.1:{port}/"
        asyncio.run(self._serve(broker.port, broker.protocol))

    def _check_stop(self) -> None:
        if self.stopping:
            raise KeyboardInterrupt

    async def _serve(self, mqtt_port: int, mqtt_protocol: str) -> None:
        from agent.demo.publishers import Publishers, clinic_devices
        from agent.runtime import Runtime

        assert self.config is not None
        self.loop = asyncio.get_running_loop()
        runtime = Runtime(self.config)
        await asyncio.to_thread(runtime.build)
        self._create_user(runtime)
        self.say(f"  - agent: SQLite database ready, user '{DEMO_USER}' can sign in")
        runtime.pipeline.listeners.append(self._announce)
        publishers = Publishers(
            port=mqtt_port, protocol=mqtt_protocol, devices=clinic_devices(self.config.site.id)
        )
        self._stops.append(("simulated sensors and shelves", publishers.stop))

        def started() -> None:
            if self.stopping:
                return
            publishers.start()
            self.say("  - 3 fridge sensors and 3 smart shelves are publishing over MQTT")
            api = "" if runtime.api_server is not None else " (the API is not in this build)"
            self.say("")
            self.say(f"The clinic is running. Open {self.url}{api}")
            self.say(f"Sign in as: {DEMO_USER} / {DEMO_PASSWORD}")
            self.say(
                "Within a minute the queue shows a low-toner printer, a vaccine fridge above 8 °C "
                "and gloves at their reorder point."
            )
            self.say("Press Ctrl-C to stop.")
            self.say("")

        if self.stopping:  # a signal came while the agent was being built: don't start it
            runtime.db.dispose()
            return
        self.runtime = runtime
        try:
            await runtime.run(install_signals=False, started=started)
        finally:
            self.loop = None

    def _create_user(self, runtime: Any) -> None:
        from agent.services import auth
        from agent.services.errors import Conflict

        try:
            auth.add_user(
                runtime.sessions,
                username=DEMO_USER,
                password=DEMO_PASSWORD,
                role="coordinator",
                now=runtime.clock(),
                display_name="Demo coordinator",
            )
        except Conflict:  # a kept data directory: the demo never changes an existing account
            self.say(f"  - user '{DEMO_USER}' already exists; its password was left as it was")

    def _announce(self, applied: list[Any]) -> None:
        """Pipeline listener (writer thread): one line per alert that opens or resolves."""
        from rules.alerts import TransitionKind

        for item in applied:
            transition = item.transition
            if transition.kind in (TransitionKind.OPENED, TransitionKind.RESOLVED):
                when = transition.at.astimezone().strftime("%H:%M:%S")
                self.say(f"[{when}] alert {transition.kind.value}: {transition.alert.message}")

    # ------------------------------------------------------------------ stop
    def _stop_everything(self) -> None:
        self._stop_requested.set()  # from here on a signal only waits for this to finish
        if self._stops or self._children:
            self._say_stopping()
        # The agent has already stopped (runtime.run returns after its shutdown); the rest in
        # reverse start order: devices, broker, SNMP simulator.
        for name, stop in reversed(self._stops):
            try:
                stop()
            except Exception:  # noqa: BLE001 - stop the rest whatever one of them does
                log.exception("could not stop %s", name)
        self._stops.clear()
        for child in self._children:  # those whose start was interrupted before they were set up
            child.stop()
        self.say("Stopped.")
