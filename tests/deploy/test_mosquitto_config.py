"""deploy/mosquitto: a real mosquitto with that config refuses anonymous clients and enforces the ACL."""

from __future__ import annotations

import getpass
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from tests.support.wait import wait_until

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "mosquitto"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
USERS = {"facility-agent": "agent-secret-1", "sensors": "sensor-secret-1", "viewer": "viewer-secret-1"}

pytestmark = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or not Path(MOSQUITTO_PASSWD).exists(),
    reason="mosquitto is not installed (apt-get install mosquitto)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _local_copy(config: str, folder: Path, port: int) -> str:
    """The deploy config with its paths moved into folder, listening on loopback only."""
    lines = []
    for line in config.splitlines():
        if line.startswith("listener 1883"):
            line = f"listener {port} 127.0.0.1"
        line = line.replace("/mosquitto/config/", f"{folder}/").replace("/mosquitto/data/", f"{folder}/data/")
        lines.append(line)
    lines.append(f"user {getpass.getuser()}")  # as root it would switch to `mosquitto`, who can't read tmp
    return "\n".join(lines) + "\n"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    (tmp_path / "data").mkdir()
    shutil.copy(DEPLOY / "acl", tmp_path / "acl")
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in USERS.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), user, password], check=True, timeout=30)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(_local_copy((DEPLOY / "mosquitto.conf").read_text(), tmp_path, port))
    log = (tmp_path / "mosquitto.log").open("w")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(
            lambda: (
                process.poll() is None
                and socket.create_connection(("127.0.0.1", port), timeout=0.2).close() is None
            ),
            timeout=10,
            what=f"mosquitto with deploy/mosquitto/mosquitto.conf on port {port}",
        )
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        log.close()


@dataclass
class Client:
    port: int
    username: str | None
    password: str | None = None
    connected: threading.Event = field(default_factory=threading.Event)
    refused: list[str] = field(default_factory=list)
    received: list[tuple[str, bytes]] = field(default_factory=list)
    subscribed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.mqtt = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{self.username}", protocol=mqtt.MQTTv5
        )
        if self.username:
            self.mqtt.username_pw_set(self.username, self.password)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = lambda _c, _u, msg: self.received.append((msg.topic, msg.payload))
        self.mqtt.on_subscribe = lambda *_args: self.subscribed.set()

    def _on_connect(
        self, _client: object, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            self.refused.append(str(reason))
        else:
            self.connected.set()

    def __enter__(self) -> Client:
        self.mqtt.connect("127.0.0.1", self.port)
        self.mqtt.loop_start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()


def test_anonymous_clients_are_refused(broker: int) -> None:
    with Client(broker, None) as anonymous:
        wait_until(lambda: anonymous.refused, timeout=10, what="the broker to refuse an anonymous client")
        assert not anonymous.connected.is_set()


def test_a_wrong_password_is_refused(broker: int) -> None:
    with Client(broker, "sensors", "not-the-password") as intruder:
        wait_until(lambda: intruder.refused, timeout=10, what="the broker to refuse a wrong password")


def test_the_acl_lets_each_user_do_its_job_and_no_more(broker: int) -> None:
    with (
        Client(broker, "facility-agent", USERS["facility-agent"]) as agent,
        Client(broker, "sensors", USERS["sensors"]) as sensor,
        Client(broker, "viewer", USERS["viewer"]) as viewer,
    ):
        for client in (agent, sensor, viewer):
            wait_until(client.connected.is_set, timeout=10, what=f"{client.username} to connect")
        for client in (agent, sensor, viewer):
            client.mqtt.subscribe("facility/#", qos=1)
        wait_until(
            lambda: all(c.subscribed.is_set() for c in (agent, sensor, viewer)),
            timeout=10,
            what="subscriptions",
        )

        # Denied publishes are dropped silently by mosquitto; publish them first, then a
        # permitted one, so that once the permitted one arrives the denied ones would have too.
        sensor.mqtt.publish("facility/clinic/alerts/1", b'{"forged": true}', qos=1).wait_for_publish(10)
        viewer.mqtt.publish(
            "facility/clinic/equipment/fridge-1/temperature_c", b"99", qos=1
        ).wait_for_publish(10)
        sensor.mqtt.publish(
            "facility/clinic/equipment/fridge-1/temperature_c", b"4.2", qos=1
        ).wait_for_publish(10)
        agent.mqtt.publish("facility/clinic/alerts/7", b'{"state": "open"}', qos=1).wait_for_publish(10)

        expected = [
            ("facility/clinic/equipment/fridge-1/temperature_c", b"4.2"),
            ("facility/clinic/alerts/7", b'{"state": "open"}'),
        ]
        wait_until(
            lambda: agent.received == expected,
            timeout=10,
            what="the agent to receive exactly the permitted messages",
        )
        wait_until(
            lambda: viewer.received == expected,
            timeout=10,
            what="the viewer to receive exactly the permitted messages",
        )
        assert sensor.received == [], "sensors may publish but not read"
