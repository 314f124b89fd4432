"""The demo's MQTT broker on a free loopback port: mosquitto when it is on PATH, else amqtt in-process.

amqtt (a pure-Python broker, a dependency of the agent) speaks MQTT 3.1.1 only, so the demo's
clients use 3.1.1 with it; with mosquitto they use MQTT 5.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import shutil
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.demo.processes import Child, start_child

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0


class DemoBrokerError(RuntimeError):
    pass


class Broker(Protocol):
    port: int
    kind: str
    protocol: str  # "5" or "3.1.1": what the demo's clients should speak

    def stop(self) -> None: ...


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class MosquittoBroker:
    port: int
    child: Child
    kind: str = "mosquitto"
    protocol: str = "5"

    def stop(self) -> None:
        self.child.stop()


@dataclass
class AmqttBroker:
    port: int
    kind: str = "amqtt (embedded)"
    protocol: str = "3.1.1"
    _thread: threading.Thread | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    def start(self) -> AmqttBroker:
        self._thread = threading.Thread(target=self._serve, name="demo-amqtt", daemon=True)
        self._thread.start()
        try:
            ready = self._ready.wait(START_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        if not ready or self._error is not None:
            self.stop()
            raise DemoBrokerError(f"the embedded MQTT broker (amqtt) did not start: {self._error}")
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        from amqtt.broker import Broker as AmqttServer

        config: dict[str, Any] = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._stop = asyncio.Event()
        server = AmqttServer(config)
        await server.start()
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await server.shutdown()

    def stop(self) -> None:
        if (
            self._loop is not None
            and self._stop is not None
            and self._thread is not None
            and self._thread.is_alive()
        ):
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)


def start_broker(
    *, workdir: Path, prefer_mosquitto: bool = True, registry: list[Child] | None = None
) -> Broker:
    """mosquitto from PATH if there is one (and prefer_mosquitto), else amqtt in this process."""
    mosquitto = shutil.which("mosquitto") if prefer_mosquitto else None
    if mosquitto is not None:
        return _start_mosquitto(mosquitto, workdir, registry)
    # amqtt logs every connection at INFO; the demo's own lines are enough.
    for name in ("amqtt", "transitions"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return AmqttBroker(port=free_tcp_port()).start()


def _start_mosquitto(binary: str, workdir: Path, registry: list[Child] | None) -> MosquittoBroker:
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_tcp_port()
    conf = workdir / "mosquitto.conf"
    # `user` as ourselves: as root, mosquitto would otherwise switch to a 'mosquitto' user.
    conf.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        f"user {getpass.getuser()}\n"
        "log_dest stdout\n"
        "log_type error\nlog_type warning\nlog_type notice\n"
    )
    child = start_child(
        "mosquitto", [binary, "-c", str(conf)], log_path=workdir / "mosquitto.log", registry=registry
    )
    broker = MosquittoBroker(port=port, child=child)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and child.running:
            if port_open(port):
                return broker
            time.sleep(0.05)
    except BaseException:  # Ctrl-C while waiting: nothing may outlive the demo
        broker.stop()
        raise
    broker.stop()
    raise DemoBrokerError(f"mosquitto did not start on port {port}:\n{child.log_tail()}")
