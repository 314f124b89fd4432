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
USERS = {"facility-agent": "agent-secret-1", "fridge-1": "sensor-secret-1", "fridge-2": "sensor-secret-2", "viewer": "viewer-secret-1"}

pytestmark = pytest.mark.skipif(
    not Path(MOSQUITTO).exists() or not Path(MOSQUITTO_PASSWD).exists(),
    reason="mosquitto is not installed (apt-get install mosquitto)",
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _local_copy(config: str, folder: Path, port: int, tls_port: int) -> str:
    """The deploy config with its paths moved into folder, listening on loopback only."""
    lines = []
    for line in config.splitlines():
        if line.startswith("listener 1883"):
            line = f"listener {port} 127.0.0.1"
        if line.startswith("listener 8883"):
            line = f"listener {tls_port} 127.0.0.1"
        line = line.replace("/mosquitto/config/", f"{folder}/").replace("/mosquitto/data/", f"{folder}/data/")
        lines.append(line)
    lines.append(f"user {getpass.getuser()}")  # as root it would switch to `mosquitto`, who can't read tmp
    return "\n".join(lines) + "\n"


def _self_signed(folder: Path) -> None:
    (folder / "tls").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(folder / "tls" / "server.key"), "-out", str(folder / "tls" / "server.crt")],
        check=True, timeout=60, capture_output=True,
    )


TLS_PORTS: dict[int, int] = {}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    tls_port = _free_port()
    TLS_PORTS[port] = tls_port
    _self_signed(tmp_path)
    (tmp_path / "data").mkdir()
    shutil.copy(DEPLOY / "acl", tmp_path / "acl")
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user, password in USERS.items():
        subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), user, password], check=True, timeout=30)
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(_local_copy((DEPLOY / "mosquitto.conf").read_text(), tmp_path, port, tls_port))
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
    tls_ca: Path | None = None
    disconnected: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.mqtt = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{self.username}", protocol=mqtt.MQTTv5
        )
        if self.username:
            self.mqtt.username_pw_set(self.username, self.password)
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_message = lambda _c, _u, msg: self.received.append((msg.topic, msg.payload))
        self.mqtt.on_subscribe = lambda *_args: self.subscribed.set()
        self.mqtt.on_disconnect = lambda *_args: self.disconnected.set()

    def _on_connect(
        self, _client: object, _userdata: object, _flags: object, reason: object, _props: object
    ) -> None:
        if getattr(reason, "is_failure", False):
            self.refused.append(str(reason))
        else:
            self.connected.set()

    def __enter__(self) -> Client:
        if self.tls_ca is not None:
            self.mqtt.tls_set(ca_certs=str(self.tls_ca))
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
    with Client(broker, "fridge-1", "not-the-password") as intruder:
        wait_until(lambda: intruder.refused, timeout=10, what="the broker to refuse a wrong password")


def test_the_acl_lets_each_user_do_its_job_and_no_more(broker: int) -> None:
    with (
        Client(broker, "facility-agent", USERS["facility-agent"]) as agent,
        Client(broker, "fridge-1", USERS["fridge-1"]) as sensor,
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
        # A sensor's login can't fake another device's reading (the fridge-2 fridge stays unfaked).
        sensor.mqtt.publish("facility/clinic/equipment/fridge-2/temperature_c", b"4.0", qos=1).wait_for_publish(10)
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


def test_sensors_publish_over_tls_on_the_second_listener(broker: int, tmp_path: Path) -> None:
    ca = tmp_path / "tls" / "server.crt"
    with (
        Client(broker, "facility-agent", USERS["facility-agent"]) as agent,
        Client(TLS_PORTS[broker], "fridge-2", USERS["fridge-2"], tls_ca=ca) as sensor,
    ):
        wait_until(lambda: agent.connected.is_set() and sensor.connected.is_set(), timeout=10, what="both connect")
        agent.mqtt.subscribe("facility/#", qos=1)
        wait_until(agent.subscribed.is_set, timeout=10, what="subscription")
        sensor.mqtt.publish("facility/clinic/equipment/fridge-2/temperature_c", b"5.5", qos=1).wait_for_publish(10)
        wait_until(
            lambda: agent.received == [("facility/clinic/equipment/fridge-2/temperature_c", b"5.5")],
            timeout=10,
            what="the reading sent over TLS",
        )


def test_a_packet_over_max_packet_size_is_refused(broker: int) -> None:
    with (
        Client(broker, "facility-agent", USERS["facility-agent"]) as agent,
        Client(broker, "fridge-1", USERS["fridge-1"]) as sensor,
    ):
        wait_until(lambda: agent.connected.is_set() and sensor.connected.is_set(), timeout=10, what="both connect")
        agent.mqtt.subscribe("facility/#", qos=1)
        wait_until(agent.subscribed.is_set, timeout=10, what="subscription")
        sensor.mqtt.publish("facility/clinic/equipment/fridge-1/temperature_c", b"9" * 70_000, qos=0)
        wait_until(sensor.disconnected.is_set, timeout=10, what="the broker to drop the oversized sender")
        assert agent.received == []
