"""TLS with a private CA and a username/password from the environment or a file."""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from mqtt_memory_sink import MemorySink
from paho.mqtt.enums import CallbackAPIVersion

from collectors.mqtt.config import MqttSettings
from collectors.mqtt.subscriber import MqttSubscriber
from tests.support.mosquitto import Mosquitto, wait_until

PASSWORD = "fridge-s3cret"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    certs = tmp_path / "certs"
    certs.mkdir()
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
        cwd=certs,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=localhost",
        cwd=certs,
    )
    (certs / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "san.ext",
        cwd=certs,
    )
    passwords = tmp_path / "passwd"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "agent", PASSWORD], check=True)
    broker = Mosquitto(
        tmp_path / "mosquitto",
        listener_config=f"cafile {certs / 'ca.pem'}\ncertfile {certs / 'server.pem'}\nkeyfile {certs / 'server.key'}",
        allow_anonymous=False,
        extra_config=f"password_file {passwords}",
    ).start()
    try:
        yield broker
    finally:
        _remove_session_tls(broker, certs / "ca.pem", "agent-tls")
        broker.stop()


def _client(broker: Mosquitto, ca: Path, client_id: str, clean: bool) -> mqtt.Client:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.tls_set(ca_certs=str(ca))
    client.username_pw_set("agent", PASSWORD)
    client.connect("127.0.0.1", broker.port, clean_start=clean)
    client.loop_start()
    wait_until(client.is_connected, 10, what=f"{client_id} over TLS")
    return client


def _remove_session_tls(broker: Mosquitto, ca: Path, client_id: str) -> None:
    client = _client(broker, ca, client_id, clean=True)
    client.disconnect()
    client.loop_stop()


def settings(broker: Mosquitto, tmp_path: Path, **extra: object) -> MqttSettings:
    return MqttSettings.model_validate(
        {
            "url": f"mqtts://127.0.0.1:{broker.port}",
            "client_id": "agent-tls",
            "username": "agent",
            "tls": {"ca_file": str(tmp_path / "certs" / "ca.pem")},
            "reconnect_min": "1s",
            "reconnect_max": "2s",
            **extra,
        }
    )


def test_tls_and_password_from_env(tls_broker: Mosquitto, tmp_path: Path) -> None:
    sink = MemorySink()
    sub = MqttSubscriber(
        settings(tls_broker, tmp_path, password_env="TEST_MQTT_PW"),
        "site-a",
        sink,
        known_equipment={"fridge-1"},
        environ={"TEST_MQTT_PW": PASSWORD},
    )
    sub.start()
    publisher = _client(tls_broker, tmp_path / "certs" / "ca.pem", "pub-tls", clean=True)
    try:
        wait_until(lambda: sub.connected, 15, what="subscriber over TLS")

        def arrived() -> bool:
            if sink.count():
                return True
            publisher.publish("facility/site-a/equipment/fridge-1/temperature_c", b"5.5", qos=1)
            return False

        wait_until(arrived, 15, 0.2, what="a reading over TLS")
        assert sink.readings[0].value == 5.5
    finally:
        publisher.disconnect()
        publisher.loop_stop()
        sub.stop()
        sink.close()


def test_password_from_file(tls_broker: Mosquitto, tmp_path: Path) -> None:
    secret = tmp_path / "mqtt-password"
    secret.write_text(PASSWORD + "\n")
    sink = MemorySink()
    sub = MqttSubscriber(
        settings(tls_broker, tmp_path, password_file=str(secret)), "site-a", sink, known_equipment=set()
    )
    sub.start()
    try:
        wait_until(lambda: sub.connected, 15, what="subscriber with the password from a file")
    finally:
        sub.stop()
        sink.close()


def test_wrong_password_is_refused_and_logged(
    tls_broker: Mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="collectors.mqtt.subscriber")
    sink = MemorySink()
    sub = MqttSubscriber(
        settings(tls_broker, tmp_path, password_env="TEST_MQTT_PW"),
        "site-a",
        sink,
        known_equipment=set(),
        environ={"TEST_MQTT_PW": "wrong"},
    )
    sub.start()
    try:
        wait_until(lambda: "mqtt connect refused" in caplog.text, 15, what="the refusal in the log")
        assert not sub.connected
    finally:
        sub.stop()
        sink.close()


def test_untrusted_certificate_is_refused(tls_broker: Mosquitto, tmp_path: Path) -> None:
    """Without our CA the system trust store does not know the broker: no connection."""
    sink = MemorySink()
    plain = MqttSettings.model_validate(
        {
            "url": f"mqtts://127.0.0.1:{tls_broker.port}",
            "client_id": "agent-tls",
            "username": "agent",
            "password_env": "TEST_MQTT_PW",
            "reconnect_min": "1s",
            "reconnect_max": "1s",
        }
    )
    sub = MqttSubscriber(plain, "site-a", sink, known_equipment=set(), environ={"TEST_MQTT_PW": PASSWORD})
    sub.start()
    try:
        wait_until(lambda: sub.stats.connect_failures >= 2, 15, what="two failed TLS handshakes")
        assert sub.stats.connects == 0 and not sub.connected
    finally:
        sub.stop()
        sink.close()
