"""The MQTT subscriber: a paho-mqtt 2 client on its own thread feeding a ReadingSink.

Delivery guarantees:
- QoS 1 with a persistent session (fixed client id, clean_start false + session expiry on
  MQTT 5, clean_session false on 3.1.1), so the broker keeps messages while we are away.
- Manual acks: a reading's PUBACK is sent only from the sink's on_stored callback, after the
  reading is committed. Rejects, unknown sources and ignored messages are acked at once.
- An ack is sent only on the connection that delivered the message. After a reconnect the
  broker redelivers unacked messages; a bounded memory of recent messages drops the copies
  (a reading whose timestamp came from the payload is the same observation however often
  it arrives; without one, only broker redeliveries, flagged dup, are recognised).
- on_message never raises: every failure is counted and logged, rate-limited.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from collectors.mqtt.batching import Batcher
from collectors.mqtt.config import MqttSettings
from collectors.mqtt.messages import (
    Accepted,
    Ignored,
    Known,
    MessageInterpreter,
    Outcome,
    ScaleSpec,
    UnknownSource,
)
from collectors.mqtt.payload import BAD_UTF8, Rejected
from collectors.mqtt.publisher import AlertPublisher
from collectors.mqtt.topics import TopicRouter
from collectors.sink import ReadingSink
from rules.reading import Reading

log = logging.getLogger(__name__)

INTERNAL_ERROR = "internal_error"
RETAINED_WITHOUT_TS = "retained_without_ts"
_SOURCE = "mqtt"
_DEDUPE_WINDOW = 50_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


class MqttStats:
    """Counters for /metrics and tests.

    No lock: each counter has one writing thread (paho's loop thread; `stored` the sink's
    writer thread), and reads of an int are atomic.
    """

    def __init__(self) -> None:
        self.received = 0
        self.accepted = 0
        self.stored = 0
        self.duplicates = 0
        self.unknown_sources = 0
        self.ignored = 0
        self.connects = 0
        self.connect_failures = 0
        self.rejected: Counter[str] = Counter()

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def rejects_by_reason(self) -> dict[str, int]:
        return dict(self.rejected)  # a C-level copy: atomic under the GIL

    def snapshot(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "unknown_sources": self.unknown_sources,
            "ignored": self.ignored,
            "connects": self.connects,
            "rejected": self.rejects_by_reason(),
        }


class RateLimitedLog:
    """One warning per reason per interval, with how many were suppressed."""

    def __init__(self, logger: logging.Logger, interval_s: float, monotonic: Callable[[], float]) -> None:
        self._logger = logger
        self._interval = interval_s
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}
        self._pending: Counter[str] = Counter()

    def warn(self, reason: str, topic: str, detail: str) -> None:
        now = self._monotonic()
        with self._lock:
            self._pending[reason] += 1
            last = self._last.get(reason)
            if last is not None and now - last < self._interval:
                return
            count = self._pending.pop(reason)
            self._last[reason] = now
        self._logger.warning(
            "mqtt message rejected reason=%s count=%d topic=%r detail=%s",
            reason,
            count,
            topic[:200],
            detail,
            extra={"reason": reason, "count": count},
        )


@dataclass(slots=True, eq=False)
class _Delivery:
    """One accepted message and the (connection generation, mid, qos) copies waiting for its ack."""

    stored: bool = False
    acked: bool = False  # a PUBACK went out on a live connection
    waiters: list[tuple[int, int, int]] = field(default_factory=list)


_Pending = tuple[Reading, _Delivery, int]  # a reading, its delivery, its dedupe key


class MqttSubscriber:
    """Subscribes to the configured topics and submits Readings to a sink.

    known_equipment / known_skus: ids (or a callable returning them, read per message so
    config reloads take effect). scales: sku -> ScaleSpec for weight topics.
    """

    def __init__(
        self,
        settings: MqttSettings,
        site_id: str,
        sink: ReadingSink,
        *,
        known_equipment: Known,
        known_skus: Known = frozenset(),
        scales: Mapping[str, ScaleSpec] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        log_interval_s: float = 10.0,
        environ: Mapping[str, str] | None = None,
        batch_max: int = 500,
        batch_delay_s: float = 0.005,
    ) -> None:
        self.settings = settings
        self.site_id = site_id
        self._sink = sink
        self._clock = clock
        self.router = TopicRouter.from_settings(settings, site_id)
        self._interpreter = MessageInterpreter(
            router=self.router,
            known_equipment=known_equipment,
            known_skus=known_skus,
            scales=scales,
            max_payload_bytes=settings.max_payload_bytes,
            max_future=settings.max_future_skew,
        )
        self.stats = MqttStats()
        self._reject_log = RateLimitedLog(log, log_interval_s, monotonic)
        self._password = settings.resolve_password(environ)
        # _lock guards the dedupe memory and the delivery records; _conn_lock guards acks against a
        # connection change. Whoever changes _generation or _connected holds both (_conn_lock first).
        self._lock = threading.Lock()
        self._conn_lock = threading.Lock()
        self._generation = 0
        self._connected = False
        self._stopping = False
        self._disconnected = threading.Event()
        self._barrier = threading.Event()
        self._barrier_mid: int | None = None
        self._seen: OrderedDict[int, _Delivery] = OrderedDict()
        self._unacked = 0
        self._client: mqtt.Client | None = None
        self._batcher: Batcher[_Pending] | None = None
        self._batch_max = batch_max
        self._batch_delay_s = batch_delay_s
        self._alerts = AlertPublisher(
            self._publish, template=settings.topics.alerts, site_id=site_id, qos=settings.qos
        )

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while a session with the broker is up (for /readyz)."""
        return self._connected

    def start(self) -> None:
        """Connect in the background; paho's thread reconnects with backoff until stop()."""
        if self._client is not None:
            raise RuntimeError("subscriber already started")
        self._stopping = False
        self._batcher = Batcher(
            self._submit_batch,
            max_items=self._batch_max,
            max_delay=self._batch_delay_s,
            max_pending=max(self._batch_max, self.settings.receive_maximum, 1000) * 4,
            name="mqtt-batcher",
        )
        self._batcher.start()
        client = self._build_client()
        self._client = client
        s = self.settings
        props: Properties | None = None
        if s.protocol == "5":
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = int(s.session_expiry.total_seconds())
            props.ReceiveMaximum = s.receive_maximum
            client.connect_async(
                s.host,
                s.port,
                keepalive=int(s.keepalive.total_seconds()),
                clean_start=False,
                properties=props,
            )
        else:
            client.connect_async(s.host, s.port, keepalive=int(s.keepalive.total_seconds()))
        client.loop_start()
        log.info("mqtt subscriber starting url=%s client_id=%s protocol=%s", s.url, s.client_id, s.protocol)

    def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop taking messages, wait (bounded) for stored ones to be acked, then disconnect.

        Messages that arrive meanwhile are left unacked, so the broker keeps them for next time.
        """
        client = self._client
        if client is None:
            return
        self._stopping = True
        batcher, self._batcher = self._batcher, None
        if batcher is not None:
            batcher.stop()  # hands over what it holds
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._unacked == 0 or not self._connected:
                    break
            time.sleep(0.01)
        self._ack_barrier(client, drain_timeout)
        with self._conn_lock, self._lock:
            was_connected = self._connected
            self._connected = False
            self._generation += 1
            unacked = self._unacked
        log.info(
            "mqtt subscriber disconnecting client_id=%s stored=%d unacked=%d",
            self.settings.client_id,
            self.stats.stored,
            unacked,
        )
        self._disconnected.clear()
        client.disconnect()
        # The network thread writes what is queued, then DISCONNECT, then calls on_disconnect;
        # stopping it sooner would cut that short.
        if was_connected and not self._disconnected.wait(drain_timeout):
            log.warning("mqtt disconnect not confirmed within %.0fs", drain_timeout)
        client.loop_stop()
        self._client = None
        log.info("mqtt subscriber stopped client_id=%s", self.settings.client_id)

    def _ack_barrier(self, client: mqtt.Client, timeout: float) -> None:
        """Wait until the broker has processed every PUBACK sent so far.

        Written PUBACKs can still be lost: closing a socket with unread data (messages the
        broker keeps sending) resets the connection, and the broker drops what it had not read
        yet. It would then redeliver readings that are already stored. So: UNSUBSCRIBE from a
        topic we never subscribed to and wait for the UNSUBACK. The broker handles packets in
        order, so the answer means the acks before it are done. It changes no subscription.
        """
        with self._lock:
            if not self._connected:
                return
        self._barrier.clear()
        rc, mid = client.unsubscribe(f"facility-agent/ack-barrier/{self.settings.client_id}")
        if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
            return
        self._barrier_mid = mid
        if not self._barrier.wait(timeout):
            log.warning("mqtt broker did not confirm the last acks within %.0fs; some stored readings may be redelivered", timeout)

    def _on_unsubscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if mid == self._barrier_mid:
            self._barrier.set()

    def publish_alert(self, alert_id: str | int, payload: Mapping[str, object]) -> bool:
        """Publish one alert change to the alert topic: JSON, QoS 1, not retained."""
        return self._alerts.publish_alert(alert_id, payload)

    # -- paho plumbing -------------------------------------------------------------------

    def _build_client(self) -> mqtt.Client:
        s = self.settings
        v5 = s.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
            manual_ack=True,
            reconnect_on_failure=True,
        )
        if s.username is not None:
            client.username_pw_set(s.username, self._password)
        if s.use_tls:
            client.tls_set(
                ca_certs=str(s.tls.ca_file) if s.tls.ca_file else None,
                certfile=str(s.tls.cert_file) if s.tls.cert_file else None,
                keyfile=str(s.tls.key_file) if s.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(s.tls.insecure)
        client.reconnect_delay_set(
            max(1, int(s.reconnect_min.total_seconds())), max(1, int(s.reconnect_max.total_seconds()))
        )
        # Outgoing alerts: no cap on what paho queues while offline; many in flight at once.
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        client.on_message = self._on_message
        return client

    def _publish(self, topic: str, payload: bytes, qos: int, retain: bool) -> bool:
        client = self._client
        if client is None:
            return False
        info = client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            log.error("mqtt connect refused reason=%s url=%s", reason_code, self.settings.url)
            return
        with self._conn_lock, self._lock:
            self._generation += 1
            self._connected = True
        self.stats.connects += 1
        # Resubscribe every time: the broker may have lost the session (expiry, restart
        # without persistence), and it costs one packet.
        filters = self.router.subscriptions()
        qos = self.settings.qos
        if self.settings.protocol == "5":
            options: list[tuple[str, SubscribeOptions]] = [
                (
                    f,
                    SubscribeOptions(
                        qos=qos, noLocal=True, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB
                    ),
                )
                for f in filters
            ]
            client.subscribe(options)
        else:
            plain: list[tuple[str, int]] = [(f, qos) for f in filters]
            client.subscribe(plain)
        log.info(
            "mqtt connected url=%s session_present=%s subscriptions=%s",
            self.settings.url,
            flags.session_present,
            ",".join(filters),
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._conn_lock, self._lock:
            was = self._connected
            self._connected = False
            self._generation += 1
        self._disconnected.set()
        if was and not self._stopping:
            log.warning("mqtt disconnected reason=%s; reconnecting with backoff", reason_code)

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        # paho passes no detail: network, DNS, TLS handshake or certificate, broker down.
        self.stats.connect_failures += 1
        log.warning(
            "mqtt connection to %s failed (network, TLS or broker down); retrying with backoff attempt=%d",
            self.settings.url,
            self.stats.connect_failures,
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        for code in reason_codes:
            if code.is_failure:
                log.error("mqtt subscription refused reason=%s", code)

    def _on_message(self, client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        try:
            self._handle(client, msg)
        except Exception as exc:  # never let one message stop the loop
            self.stats.reject(INTERNAL_ERROR)
            self._reject_log.warn(INTERNAL_ERROR, _topic_text(msg), f"{type(exc).__name__}: {exc}")
            log.debug("mqtt message handling failed", exc_info=True)

    # -- one message ---------------------------------------------------------------------

    def _handle(self, client: mqtt.Client, msg: mqtt.MQTTMessage) -> None:
        self.stats.received += 1
        mid, qos = msg.mid, msg.qos
        generation = self._generation  # an int read is atomic; no lock on the hot path
        if self._stopping:
            return  # unacked: the broker keeps it for the next session
        received_at = self._clock()
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            self._rejected(_topic_text(msg), Rejected(BAD_UTF8, "topic is not valid UTF-8"))
            client.ack(mid, qos)
            return
        payload = msg.payload if isinstance(msg.payload, bytes) else bytes(msg.payload)
        outcome: Outcome
        try:
            outcome = self._interpreter.interpret(topic, payload, received_at)
        except Exception as exc:  # a bug: count it, ack it (a redelivery would fail the same way)
            log.debug("mqtt message interpretation failed", exc_info=True)
            outcome = Rejected(INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        if isinstance(outcome, Accepted) and msg.retain and not outcome.ts_from_payload:
            # A retained message is a value from the past, sent because we subscribed; without
            # a timestamp it would pass for a fresh reading (a dead sensor looking alive).
            outcome = Rejected(
                RETAINED_WITHOUT_TS, "retained message without a timestamp: its age is unknown"
            )
        if isinstance(outcome, Accepted):
            self._accept(client, outcome, topic, payload, msg.dup, generation, mid, qos)
            return
        try:
            if isinstance(outcome, Rejected):
                self._rejected(topic, outcome)
            elif isinstance(outcome, UnknownSource):
                self.stats.unknown_sources += 1
                self._sink.unknown_source(
                    source=_SOURCE,
                    key=topic,
                    payload=payload[:200].decode("utf-8", "replace"),
                    at=received_at,
                )
            elif isinstance(outcome, Ignored):
                self.stats.ignored += 1
        finally:
            client.ack(mid, qos)  # nothing of these is ever stored: ack even if recording it failed

    def _rejected(self, topic: str, outcome: Rejected) -> None:
        self.stats.reject(outcome.reason)
        self._sink.reject(source=f"{_SOURCE}:{topic[:200]}", reason=outcome.reason, detail=outcome.detail)
        self._reject_log.warn(outcome.reason, topic, outcome.detail)

    def _accept(
        self,
        client: mqtt.Client,
        outcome: Accepted,
        topic: str,
        payload: bytes,
        dup: bool,
        generation: int,
        mid: int,
        qos: int,
    ) -> None:
        # Without a timestamp, equal payloads on a topic are different readings ("4.0" twice);
        # only a DUP redelivery of the same packet id is a copy of one already taken, and only
        # while that one is unacked: an acked id can be reused by the broker for a new message.
        # (An ack lost on the wire then gives a duplicate, never a loss.)
        key = hash((topic, payload)) if outcome.ts_from_payload else hash((topic, payload, mid))
        with self._lock:
            delivery = self._seen.get(key)
            if delivery is not None and (outcome.ts_from_payload or (dup and not delivery.acked)):
                # A copy of a message already submitted: ack it once the first is stored.
                self.stats.duplicates += 1
                if delivery.stored:
                    if qos and generation == self._generation and self._connected:
                        client.ack(mid, qos)
                        delivery.acked = True
                else:
                    delivery.waiters.append((generation, mid, qos))
                    self._unacked += 1
                return
            delivery = _Delivery(waiters=[(generation, mid, qos)])
            self._seen[key] = delivery
            self._seen.move_to_end(key)
            if len(self._seen) > _DEDUPE_WINDOW:
                self._seen.popitem(last=False)
            self._unacked += 1
        self.stats.accepted += 1
        pending = (outcome.reading, delivery, key)
        batcher = self._batcher
        if batcher is None or not batcher.add(pending):
            self._forget([pending])  # stopping: left unacked for the next session

    def _submit_batch(self, items: list[_Pending]) -> None:
        """On the batcher's thread: one submit for many readings; one callback acks them all."""
        deliveries = [delivery for _, delivery, _ in items]

        def on_stored() -> None:
            self._stored(deliveries)

        try:
            self._sink.submit([reading for reading, _, _ in items], on_stored=on_stored)
        except Exception as exc:
            # Not queued: forget them so the broker's redelivery counts as new; they stay unacked.
            self._forget(items)
            self.stats.reject(INTERNAL_ERROR)
            self._reject_log.warn(
                INTERNAL_ERROR, "(batch)", f"sink.submit failed: {type(exc).__name__}: {exc}"
            )

    def _forget(self, items: list[_Pending]) -> None:
        with self._lock:
            for _, delivery, key in items:
                if self._seen.get(key) is delivery:
                    del self._seen[key]
                self._unacked -= len(delivery.waiters)
                delivery.waiters.clear()

    def _stored(self, deliveries: list[_Delivery]) -> None:
        """Called by the sink (writer thread) after commit: ack every copy on the live connection.

        The acks go out under the connection lock only, so that a batch of a thousand acks
        doesn't hold up the network thread's next messages, which need the other lock.
        """
        to_ack: list[tuple[_Delivery, list[tuple[int, int, int]]]] = []
        with self._lock:
            for delivery in deliveries:
                delivery.stored = True
                waiters, delivery.waiters = delivery.waiters, []
                to_ack.append((delivery, waiters))
        acked: list[_Delivery] = []
        with self._conn_lock:  # generation changes hold it: an ack never lands on a newer connection
            client = self._client
            live = self._connected and client is not None
            current = self._generation
            for delivery, waiters in to_ack:
                for generation, mid, qos in waiters:
                    if qos and live and generation == current and client is not None:
                        client.ack(mid, qos)
                        acked.append(delivery)
        with self._lock:
            for delivery in acked:
                delivery.acked = True
            # Only now: stop() waits for this to reach zero before its ack barrier.
            self._unacked -= sum(len(waiters) for _, waiters in to_ack)
        self.stats.stored += len(deliveries)


def _topic_text(msg: mqtt.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:
        return repr(bytes(msg._topic))
