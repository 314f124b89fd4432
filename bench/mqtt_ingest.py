"""MQTT ingest: readings per second from publish until stored and evaluated, and alert latency.

Setup: a private mosquitto (persistence on) on a free port; a separate process publishes JSON
readings at QoS 1 with its own persistent session.

Measured in one run:
1. baseline: a bare paho subscriber (QoS 1) that only counts messages;
2. collector: the MQTT collector into a counting sink (acks at once after submit);
3. pipeline: the collector into the agent's pipeline (rules engine + SQLite storage, latest
   value and history), acks after commit. Throughput = readings / (first publish → last commit);
4. latency: at a steady 1,000 messages/s, each message turns a fridge warm; time from publish
   until the alert is committed (pipeline listener, called after the commit) at p50 and p99.

1-3 run in turn, --rounds times (default 3), and each is reported by its median: on a shared
2-core VM a single run of the same code varied from 0.46 to 0.60.

Targets: pipeline throughput ≥ 0.6 × bare subscriber both live and draining a backlog (issue 13;
0.5 live in issue 4), 0 missing, p99 < 250 ms. The last line gives both ratios.

    .venv/bin/python bench/mqtt_ingest.py [--count 200000] [--rounds 3] [--latency-seconds 20] [--rate 1000]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from tests.support.mosquitto import Mosquitto, remove_session, wait_until  # noqa: E402

SITE = "bench"
STEADY_FRIDGES = 100


# -- the publisher process ---------------------------------------------------------------------


def run_publisher(args: argparse.Namespace) -> None:
    """Publish `count` readings at QoS 1 (as fast as possible, or at `rate`/s); print a JSON summary."""
    acked = 0
    lock = threading.Lock()

    def on_publish(client: object, userdata: object, mid: int, reason: object, props: object) -> None:
        nonlocal acked
        with lock:
            acked += 1

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=args.client_id, protocol=mqtt.MQTTv5)
    # No in-flight cap in paho (its queue is rescanned on every ack); we cap outstanding ourselves.
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    client.on_publish = on_publish
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", args.port, clean_start=False, properties=props)
    client.loop_start()
    wait_until(client.is_connected, 10, what="publisher connected")

    hot: list[tuple[int, float]] = []
    first = time.time()
    for i in range(args.count):
        if args.rate:
            due = first + i / args.rate
            while (delay := due - time.time()) > 0:
                time.sleep(min(delay, 0.001))
        else:
            while i - acked >= 20_000:  # paho's message ids run out at 65,535
                time.sleep(0.0005)
        now = time.time()
        if args.alert_every and i % args.alert_every == 0:
            n = len(hot)
            topic = f"facility/{SITE}/equipment/hot-{n}/temperature_c"
            payload = {"value": 9.5, "ts": now}
            hot.append((n, now))
        else:
            topic = f"facility/{SITE}/equipment/fridge-{i % STEADY_FRIDGES}/temperature_c"
            payload = {"value": 4.0 + (i % 30) / 10, "ts": now, "seq": i}
        client.publish(topic, json.dumps(payload), qos=1)
    last = time.time()
    wait_until(lambda: acked >= args.count, 300, 0.001, "publisher PUBACKs")
    client.disconnect()
    client.loop_stop()
    remove_session(args.port, args.client_id)
    if args.times_file:
        Path(args.times_file).write_text(json.dumps(hot))
    summary = {"first": first, "last": last, "published": args.count, "acked": acked}
    sys.stdout.write(json.dumps(summary) + "\n")


def publish(
    port: int, count: int, *, rate: float = 0, alert_every: int = 0, times_file: str = ""
) -> dict[str, Any]:
    """Run the publisher process to completion (every message acknowledged by the broker)."""
    cmd = [
        sys.executable,
        __file__,
        "publish",
        "--port",
        str(port),
        "--count",
        str(count),
        "--rate",
        str(rate),
    ]
    cmd += ["--alert-every", str(alert_every), "--client-id", f"bench-pub-{time.monotonic_ns()}"]
    cmd += ["--times-file", times_file]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"publisher failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def wait_progress(current: Callable[[], int], target: int, stall_s: float = 15.0) -> float:
    """Wait until current() reaches target or stops moving for stall_s; when it reached its last value."""
    last_value, last_change = -1, time.monotonic()
    reached_at = time.time()
    while True:
        value = current()
        if value != last_value:
            last_value, last_change = value, time.monotonic()
            reached_at = time.time()
        if value >= target or time.monotonic() - last_change > stall_s:
            return reached_at
        time.sleep(0.005)  # coarse enough not to steal the GIL from the threads being measured


# -- consumers ---------------------------------------------------------------------------------


class BareConsumer:
    """A bare paho subscriber, QoS 1 with a persistent session, that only counts messages."""

    name = "bare paho subscriber (counts only)"

    def __init__(self, broker: Mosquitto, protocol: str = "5") -> None:
        self.broker = broker
        self.protocol = protocol
        self.received = 0
        self.client: mqtt.Client | None = None

    def start(self) -> None:
        def on_message(client: object, userdata: object, msg: mqtt.MQTTMessage) -> None:
            self.received += 1

        v5 = self.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="bench-bare",
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
            clean_session=None if v5 else False,
        )
        client.on_message = on_message
        client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"facility/{SITE}/#", qos=1)
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600
            client.connect("127.0.0.1", self.broker.port, clean_start=False, properties=props)
        else:
            client.connect("127.0.0.1", self.broker.port)
        client.loop_start()
        self.client = client

    def stop(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None

    def done(self) -> int:
        return self.received

    def close(self) -> None:
        self.stop()
        remove_session(self.broker.port, "bench-bare", self.protocol)


class CountingSink:
    """Counts and acks at once: the collector's own cost, without storage."""

    def __init__(self) -> None:
        self.count = 0

    def submit(self, readings: Sequence[Any], *, on_stored: Callable[[], None] | None = None) -> None:
        self.count += len(readings)
        if on_stored is not None:
            on_stored()

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        pass

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        pass


class TimingSink:
    """Passes everything to the real sink, noting when each hot fridge's reading was handed over."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.submitted_at: dict[str, float] = {}

    def submit(self, readings: Sequence[Any], *, on_stored: Callable[[], None] | None = None) -> None:
        now = time.time()
        for r in readings:
            if r.subject.startswith("hot-"):
                self.submitted_at.setdefault(r.subject, now)
        self.inner.submit(readings, on_stored=on_stored)

    def reject(self, *, source: str, reason: str, detail: str) -> None:
        self.inner.reject(source=source, reason=reason, detail=detail)

    def unknown_source(self, *, source: str, key: str, payload: str, at: datetime) -> None:
        self.inner.unknown_source(source=source, key=key, payload=payload, at=at)


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


class CollectorConsumer:
    """The MQTT collector into a sink; done() counts readings whose on_stored has fired."""

    def __init__(
        self,
        broker: Mosquitto,
        name: str,
        client_id: str,
        sink: Any,
        equipment: set[str],
        protocol: str = "5",
    ) -> None:
        from collectors.mqtt.config import MqttSettings
        from collectors.mqtt.subscriber import MqttSubscriber

        self.name = name
        self.broker = broker
        self.client_id = client_id
        settings = MqttSettings.model_validate(
            {
                "url": broker.url,
                "client_id": client_id,
                "protocol": protocol,
                "reconnect_min": "1s",
                "reconnect_max": "2s",
            }
        )
        self.protocol = protocol
        self.sub = MqttSubscriber(settings, SITE, sink, known_equipment=equipment)

    def start(self) -> None:
        self.sub.start()

    def stop(self) -> None:
        self.sub.stop()

    def done(self) -> int:
        return self.sub.stats.stored

    def close(self) -> None:
        self.sub.stop()
        remove_session(self.broker.port, self.client_id, self.protocol)


def measure(consumer: Any, broker: Mosquitto, count: int) -> dict[str, float]:
    """Live: consumer connected while the publisher runs. Drain: the same count queued while it was away."""
    consumer.start()
    time.sleep(0.3)  # CONNACK and SUBACK
    base = consumer.done()
    summary = publish(broker.port, count)
    end = wait_progress(lambda: consumer.done() - base, count)
    live_done = consumer.done() - base
    consumer.stop()
    publish(broker.port, count)
    base = consumer.done()
    started = time.time()
    consumer.start()
    drained = wait_progress(lambda: consumer.done() - base, count)
    drain_done = consumer.done() - base
    # Its session goes too: a persistent session left behind would queue every message the
    # other consumers are measured with, and hand them all over next round.
    consumer.close()
    return {
        "live": count / (end - summary["first"]),
        "live_missing": count - live_done,
        "drain": count / (drained - started),
        "drain_missing": count - drain_done,
    }


def equipment_ids(hot: int) -> set[str]:
    return {f"fridge-{i}" for i in range(STEADY_FRIDGES)} | {f"hot-{i}" for i in range(hot)}


def build_runtime(workdir: Path, hot: int) -> Any:
    from agent.config.loader import load_config_text
    from agent.runtime import Runtime

    equipment = [{"id": e, "kind": "fridge"} for e in sorted(equipment_ids(hot))]
    config = {
        "site": {"id": SITE, "name": "Bench"},
        "database": {"url": f"sqlite:///{workdir / 'bench.db'}"},
        "api": {"enabled": False},
        "equipment": equipment,
        "rules": [
            {
                "id": "fridge-warm",
                "metric": "temperature_c",
                "match": {"kinds": ["fridge"]},
                "above": 8,
                "clear_below": 7.5,
                "severity": "critical",
                "message": "{subject} is at {value} °C",
            }
        ],
    }
    return Runtime(load_config_text(json.dumps(config), file="<bench>"), migrate=True).build()


def latency(
    runtime: Any,
    consumer: CollectorConsumer,
    timing: TimingSink,
    broker: Mosquitto,
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, Any]:
    """Steady rate; every alert_every-th message opens an alert on a fresh fridge."""
    from sqlalchemy import func, select

    from agent.storage.models import Alert
    from rules.alerts import TransitionKind

    opened_at: dict[str, float] = {}

    def listener(applied: list[Any]) -> None:  # called after the commit: the alert is readable
        now = time.time()
        for a in applied:
            if a.transition.kind is TransitionKind.OPENED:
                opened_at.setdefault(a.transition.alert.subject, now)

    runtime.pipeline.listeners.append(listener)
    count = int(args.latency_seconds * args.rate)
    hot = len(range(0, count, args.alert_every))
    times_file = workdir / "hot-times.json"
    consumer.start()
    time.sleep(0.3)
    publish(broker.port, count, rate=args.rate, alert_every=args.alert_every, times_file=str(times_file))
    wait_progress(lambda: len(opened_at), hot, stall_s=10)
    published = json.loads(times_file.read_text())
    in_order = [(t, (opened_at[f"hot-{n}"] - t) * 1000) for n, t in published if f"hot-{n}" in opened_at]
    latencies = sorted(lat for _, lat in in_order)
    if in_order:  # the worst second of the run: where a tail comes from
        start = in_order[0][0]
        by_second: dict[int, list[float]] = {}
        for t, lat in in_order:
            by_second.setdefault(int(t - start), []).append(lat)
        worst = max(by_second, key=lambda sec: max(by_second[sec]))
        print(
            "latency by second of the run (max ms): "
            + " ".join(f"{sec}:{max(v):.0f}" for sec, v in sorted(by_second.items()))
            + f"; worst second {worst}"
        )
    with runtime.sessions() as session:
        alerts = session.scalar(select(func.count()).select_from(Alert).where(Alert.subject.like("hot-%")))
    to_sink = sorted(
        (timing.submitted_at[f"hot-{n}"] - t) * 1000
        for n, t in published
        if f"hot-{n}" in timing.submitted_at
    )
    in_pipeline = sorted(
        (opened_at[s] - timing.submitted_at[s]) * 1000 for s in opened_at if s in timing.submitted_at
    )
    print(
        f"latency split: publish → handed to the pipeline p50 {percentile(to_sink, 0.5):.1f} ms "
        f"p99 {percentile(to_sink, 0.99):.1f} ms; handed over → alert committed p50 "
        f"{percentile(in_pipeline, 0.5):.1f} ms p99 {percentile(in_pipeline, 0.99):.1f} ms"
    )
    return {
        "messages": count,
        "hot": hot,
        "opened": len(latencies),
        "in_storage": int(alerts or 0),
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p99": percentile(latencies, 0.99),
        "max": latencies[-1] if latencies else float("nan"),
    }


def history_rows(runtime: Any) -> int:
    from sqlalchemy import func, select

    from agent.storage.models import ReadingHistory

    runtime.pipeline.flush()
    with runtime.sessions() as session:
        rows = session.scalar(
            select(func.count()).select_from(ReadingHistory).where(ReadingHistory.subject.like("fridge-%"))
        )
    return int(rows or 0)


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def line(name: str, m: dict[str, float]) -> str:
    return (
        f"{name:<46} live {m['live']:8,.0f}/s (missing {m['live_missing']:.0f})   "
        f"backlog drain {m['drain']:8,.0f}/s (missing {m['drain_missing']:.0f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command")
    pub = sub.add_parser("publish", help="(internal) the publisher process")
    pub.add_argument("--port", type=int, required=True)
    pub.add_argument("--count", type=int, required=True)
    pub.add_argument("--rate", type=float, default=0)
    pub.add_argument("--alert-every", type=int, default=0)
    pub.add_argument("--client-id", required=True)
    pub.add_argument("--times-file", default="")
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument(
        "--alert-every", type=int, default=10, help="every Nth latency message opens an alert"
    )
    parser.add_argument("--sink", choices=["pipeline", "counting"], default="pipeline")
    parser.add_argument("--rounds", type=int, default=3, help="measure each consumer this many times; report medians")
    parser.add_argument(
        "--protocol",
        choices=["5", "3.1.1"],
        default="5",
        help="for the bare subscriber and the collector alike",
    )
    args = parser.parse_args()
    if args.command == "publish":
        run_publisher(args)
        return

    logging.basicConfig(level=logging.WARNING)
    n = args.count
    with tempfile.TemporaryDirectory(prefix="mqtt-bench-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir / "mosquitto").start()
        try:
            print(
                f"mosquitto on port {broker.port}; {n:,} JSON readings at QoS 1 from a separate process, twice:"
            )
            print("live = consumer connected while publishing (first publish → last done);")
            print("backlog drain = published while the consumer was away, then drained (connect → last done)")
            print(f"MQTT {args.protocol} for the bare subscriber and the collector")
            print(
                f"{args.rounds} rounds, each consumer once per round in turn; the figures are each "
                "one's median over the rounds (this machine's speed drifts between minutes)"
            )
            bare = BareConsumer(broker, args.protocol)
            counting = CollectorConsumer(
                broker,
                "collector into a counting sink",
                "bench-counting",
                CountingSink(),
                equipment_ids(0),
                args.protocol,
            )
            hot = len(range(0, int(args.latency_seconds * args.rate), args.alert_every))
            runtime = build_runtime(workdir, hot)
            runtime.pipeline.start()
            timing = TimingSink(runtime.sink)
            agent = CollectorConsumer(
                broker,
                "collector into the pipeline (rules + SQLite)",
                "bench-agent",
                timing,
                equipment_ids(hot),
                args.protocol,
            )
            consumers: list[Any] = [bare, counting] if args.sink == "counting" else [bare, counting, agent]
            runs: dict[str, list[dict[str, float]]] = {c.name: [] for c in consumers}
            try:
                for round_no in range(1, args.rounds + 1):
                    for consumer in consumers:
                        m = measure(consumer, broker, n)
                        runs[consumer.name].append(m)
                        print(f"round {round_no}: " + line(consumer.name, m))
                base, coll = median_of(runs[bare.name]), median_of(runs[counting.name])
                print("medians:")
                print(line(bare.name, base))
                print(line(counting.name, coll))
                if args.sink == "counting":
                    missing = sum(m["live_missing"] + m["drain_missing"] for m in runs[counting.name])
                    print(f"missing messages: {missing:.0f}")
                    print(
                        f"throughput ratio (collector into counting sink / bare, live): {coll['live'] / base['live']:.2f}"
                    )
                    return
                full = median_of(runs[agent.name])
                rows = history_rows(runtime)
                print(line(agent.name, full))
                published = 2 * n * args.rounds
                print(f"history rows stored: {rows:,} of {published:,} published")
                lat = latency(runtime, agent, timing, broker, args, workdir)
                print(f"collector stats: {agent.sub.stats.snapshot()}")
            finally:
                agent.close()
                counting.close()
                bare.close()
                runtime.pipeline.stop()
            print(
                f"latency run: {lat['messages']:,} messages at {args.rate:,.0f}/s, every {args.alert_every}th opens an "
                f"alert: {lat['opened']:,} of {lat['hot']:,} opened, {lat['in_storage']:,} in storage"
            )
            missing = sum(int(m["live_missing"] + m["drain_missing"]) for m in runs[agent.name])
            missing += lat["hot"] - lat["opened"]
            print(f"missing messages: {missing} (history rows short by {published - rows})")
            print(
                f"latency publish → alert readable in storage: p50 {lat['p50']:.1f} ms  p99 {lat['p99']:.1f} ms  "
                f"max {lat['max']:.1f} ms (target p99 < 250 ms)"
            )
            per_round = ", ".join(
                f"{a['live'] / b['live']:.2f}" for a, b in zip(runs[agent.name], runs[bare.name], strict=True)
            )
            print(f"live ratio in each round: {per_round}")
            print(
                f"throughput ratio (pipeline / bare subscriber, medians): live {full['live'] / base['live']:.2f}, "
                f"backlog drain {full['drain'] / base['drain']:.2f} (target ≥ 0.6 for both)"
            )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
