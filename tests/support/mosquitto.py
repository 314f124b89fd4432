"""A private mosquitto for tests and benches: a free port, persistence in a temp dir, kill/restart.

Never touches the shared broker on 1883. Runs as the current user (`user` set to it), so
the persistence directory stays writable when the tests run as root.
"""

from __future__ import annotations

import getpass
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from tests.support.wait import wait_until

__all__ = ["Mosquitto", "QosPublisher", "free_port", "remove_session", "wait_until"]

MOSQUITTO = "/usr/sbin/mosquitto"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Mosquitto:
    """One mosquitto process with persistence under workdir. Same port across restarts."""

    def __init__(
        self,
        workdir: Path,
        port: int | None = None,
        extra_config: str = "",
        *,
        listener_config: str = "",
        allow_anonymous: bool = True,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra_config = extra_config
        self.listener_config = listener_config  # lines for the listener, e.g. TLS files
        self.allow_anonymous = allow_anonymous
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = self.workdir / "mosquitto.conf"
        self.log_path = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _write_config(self) -> None:
        data = self.workdir / "data"
        data.mkdir(exist_ok=True)
        # Queue limits raised: the broker must hold a whole backlog for an absent agent.
        self.config_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{self.listener_config}\n"
            f"allow_anonymous {'true' if self.allow_anonymous else 'false'}\n"
            "persistence true\n"
            f"persistence_location {data}/\n"
            f"user {getpass.getuser()}\n"
            f"log_dest file {self.log_path}\n"
            "log_type error\nlog_type warning\nlog_type notice\n"
            "max_queued_messages 1000000\n"
            "max_inflight_messages 0\n"
            f"{self.extra_config}\n"
        )

    def start(self, timeout: float = 10.0) -> Mosquitto:
        if self.process is not None and self.process.poll() is None:
            raise RuntimeError("mosquitto already running")
        self._write_config()
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        proc = self.process
        deadline = time.monotonic() + timeout
        while not _port_open(self.port):
            if proc.poll() is not None:  # a bad config or a taken port: say so at once
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"mosquitto exited with {proc.returncode}: {err} {self.log_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not listen on port {self.port} within {timeout}s")
            time.sleep(0.02)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM: mosquitto writes its persistence file on the way out."""
        self._signal(signal.SIGTERM, timeout)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL: whatever is not yet saved is lost (tests of the worst case)."""
        self._signal(signal.SIGKILL, timeout)

    def restart(self, timeout: float = 10.0) -> None:
        self.stop(timeout)
        self.start(timeout)

    def _signal(self, sig: int, timeout: float) -> None:
        proc = self.process
        if proc is None or proc.poll() is not None:
            self.process = None
            return
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
        if proc.stderr:
            proc.stderr.close()
        self.process = None
        # The port must be free before a restart binds it again.
        wait_until(lambda: not _port_open(self.port), timeout, 0.02, f"port {self.port} to close")

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def __enter__(self) -> Mosquitto:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- MQTT clients for tests and benches ------------------------------------------------------


def remove_session(port: int, client_id: str, protocol: str = "5") -> None:
    """Delete a persistent session on the broker: connect with a clean start, then disconnect.

    Persistent sessions queue every message for an absent client; tests must not leave any.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    v5 = protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        clean_session=None if v5 else True,
    )
    if v5:
        client.connect("127.0.0.1", port, clean_start=True)  # session expiry 0: gone at disconnect
    else:
        client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        wait_until(client.is_connected, 10, what=f"clean connect of {client_id}")
    finally:
        client.disconnect()
        client.loop_stop()


class QosPublisher:
    """A QoS 1 publisher with its own persistent session, that survives broker restarts.

    paho keeps unacknowledged QoS 1 messages and resends them after reconnecting; `acked`
    counts PUBACKs, so a test knows when the broker has taken everything.
    """

    def __init__(self, port: int, client_id: str, protocol: str = "5", max_outstanding: int = 20_000) -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.port = port
        self.client_id = client_id
        self.protocol = protocol
        self.max_outstanding = max_outstanding
        self.published = 0
        self.acked = 0
        self._lock = threading.Lock()
        v5 = protocol == "5"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_publish = self._on_publish
        if v5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
            self.client.connect_async("127.0.0.1", port, clean_start=False, properties=props)
        else:
            self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()
        wait_until(self.client.is_connected, 10, what=f"publisher {client_id} to connect")

    def _on_publish(self, client: object, userdata: object, mid: int, reason: object, props: object) -> None:
        with self._lock:
            self.acked += 1

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        # Back off while too many are unacknowledged: paho's message ids run out at 65535.
        if self.published - self.acked >= self.max_outstanding:
            wait_until(
                lambda: self.published - self.acked < self.max_outstanding, 120, 0.001, "publisher acks"
            )
        info = self.client.publish(topic, payload, qos=qos)
        if info.rc not in (0, 4):  # success, or queued while disconnected
            raise RuntimeError(f"publish refused rc={info.rc}")
        self.published += 1

    def wait_acked(self, timeout: float = 60) -> None:
        wait_until(lambda: self.acked >= self.published, timeout, 0.01, f"{self.published} PUBACKs")

    def close(self, remove: bool = True) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        if remove:
            remove_session(self.port, self.client_id, self.protocol)
