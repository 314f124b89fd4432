"""API load: p50/p99 latency and requests per second for GET /api/v1/queue and GET /api/v1/alerts,
with 100,000 alerts stored (10,000 open), 50 concurrent clients for 20 s each, on SQLite and on
PostgreSQL. Baseline, same run: a bare FastAPI route returning a constant, served and loaded the
same way (a sync and an async route). Also the queue while alerts change (--changes-per-second,
default 1: every change drops the reused pages). Target: queue p99 under 100 ms on both
backends. The queue's closed-loop p99 on PostgreSQL is printed last.

Each server runs in its own process (uvicorn, one worker, like the agent); the load comes from
this process over keep-alive HTTP/1.1 connections with a minimal asyncio client, so the client
costs little next to the server.

    .venv/bin/python bench/api_load.py [--seconds 20] [--clients 50] [--backends sqlite,postgresql] [--paced-rate 100]

Two ways to load: closed loop (each client sends again as soon as it is answered: the most the
server can do, and latency is then mostly queueing, clients ÷ throughput) and paced (the same
clients sending a fixed total rate, latency counted from when each request was due).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T0 = datetime(2026, 11, 1, tzinfo=UTC)
PG_BASE = os.environ.get("FACILITY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_P99_MS = 100.0


# ---------------------------------------------------------------------- data


def seed(url: str, *, alerts: int, open_alerts: int, equipment: int = 400, supplies: int = 300) -> str:
    """Fill a migrated database; return an API token for a viewer."""
    from sqlalchemy import insert

    from agent.services import auth
    from agent.storage.db import create_db_engine, session_factory
    from agent.storage.models import Alert, Equipment, SupplyItem

    rng = random.Random(7)
    db = create_db_engine(url)
    kinds = ["fridge", "printer", "ups", "freezer", "sensor"]
    teams = ["pharmacy", "it", "facilities", "biomed", "lab"]
    with db.begin() as conn:
        conn.execute(
            insert(Equipment),
            [
                {
                    "id": f"eq-{i}",
                    "name": f"{kinds[i % 5].title()} {i}",
                    "kind": kinds[i % 5],
                    "location": f"Ward {i % 20}",
                    "team": teams[i % 5],
                    "updated_at": T0,
                }
                for i in range(equipment)
            ],
        )
        conn.execute(
            insert(SupplyItem),
            [
                {
                    "sku": f"SKU-{i}",
                    "name": f"Item {i}",
                    "location": f"Store {i % 4}",
                    "vendor": f"Vendor {i % 6}",
                    "par": 100.0,
                    "reorder_point": 30.0,
                    "on_hand": float(rng.randint(0, 120)),
                    "updated_at": T0,
                }
                for i in range(supplies)
            ],
        )
        batch: list[dict[str, Any]] = []
        for i in range(alerts):
            is_open = i >= alerts - open_alerts  # the newest are the open ones, as in life
            subject = f"eq-{i % equipment}"
            at = T0 + timedelta(seconds=20 * i)
            status = ("acknowledged" if i % 4 == 0 else "open") if is_open else "resolved"
            batch.append(
                {
                    # Open alerts are unique per (rule, subject): one rule id per open alert.
                    "rule_id": f"rule-{i}" if is_open else f"rule-{i % 50}",
                    "subject": subject,
                    "subject_kind": "equipment",
                    "status": status,
                    "severity": 1 + (i % 3),
                    "team": teams[i % 5],
                    "message": f"{kinds[i % 5].title()} {i % equipment} in Ward {i % 20} is at 9.1°C (safe range 2°C–8°C)",
                    "since": at,
                    "opened_at": at,
                    "acknowledged_at": at if status == "acknowledged" else None,
                    "acknowledged_by": "sam" if status == "acknowledged" else None,
                    "resolved_at": None if is_open else at + timedelta(minutes=30),
                    "resolved_by": None if is_open else "system",
                    "resolve_reason": None if is_open else "cleared",
                    "first_value": 9.1,
                    "last_value": 9.3,
                    "worst_value": 10.2,
                    "last_seen_at": at,
                    "occurrences": 3,
                    "updated_at": at,
                    "version": 1,
                }
            )
            if len(batch) == 5000:
                conn.execute(insert(Alert), batch)
                batch = []
        if batch:
            conn.execute(insert(Alert), batch)
    if db.dialect.name == "postgresql":  # what autovacuum would have done by now: stats, visibility map
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    sessions = session_factory(db)
    auth.add_user(sessions, username="bench", password="bench password", role="viewer", now=T0)
    secret = auth.create_token(sessions, username="bench", name="bench", now=T0).secret
    db.dispose()
    return secret


# ---------------------------------------------------------------------- servers (child processes)


def serve_agent(url: str, changes_per_second: float, port: int) -> None:
    import logging
    import threading

    import uvicorn

    from agent.live import LiveBroadcaster
    from agent.pipeline import Pipeline
    from agent.services.app_services import AppServices
    from agent.storage.db import create_db_engine, session_factory
    from api.app import create_app
    from rules.engine import Engine

    logging.disable(logging.WARNING)
    db = create_db_engine(url)
    sessions = session_factory(db)
    pipeline = Pipeline(engine=Engine([], {}), sessions=sessions, clock=lambda: datetime.now(UTC))
    pipeline.start()
    live = LiveBroadcaster()
    pipeline.listeners.append(live.listener)
    services = AppServices(sessions=sessions, pipeline=pipeline, clock=lambda: datetime.now(UTC), live=live)
    app = create_app(services, session_secret="bench-secret-of-at-least-32-bytes")
    if changes_per_second:
        # What the pipeline does after it commits an alert change: every reused page is dropped,
        # so the next request of each page runs its queries again.
        def churn() -> None:
            while True:
                time.sleep(1 / changes_per_second)
                for listener in pipeline.listeners:
                    listener([])

        threading.Thread(target=churn, daemon=True).start()
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def serve_bare(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/bare")
    def bare() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/bare-async")
    async def bare_async() -> dict[str, bool]:
        return {"ok": True}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start in {timeout:.0f}s")


# ---------------------------------------------------------------------- load


async def _client(
    port: int, request: bytes, until: float, latencies: list[float], errors: list[str], interval: float, offset: float
) -> None:
    """One keep-alive connection. interval 0: back to back (closed loop). Otherwise requests are
    scheduled every interval seconds and latency counts from the scheduled time, so a slow
    response also charges the requests it delayed (no coordinated omission)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    next_at = time.perf_counter() + offset
    try:
        while True:
            if interval:
                delay = next_at - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                start = next_at
                next_at += interval
            else:
                start = time.perf_counter()
            if start >= until:
                break
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            if status != 200:
                errors.append(f"HTTP {status}")
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        errors.append(repr(exc))
    finally:
        writer.close()


async def _load(
    port: int, path: str, headers: dict[str, str], clients: int, seconds: float, rate: float = 0.0
) -> dict[str, float]:
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: application/json"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    latencies: list[float] = []
    errors: list[str] = []
    interval = clients / rate if rate else 0.0
    start = time.perf_counter()
    until = start + seconds
    await asyncio.gather(
        *(
            _client(port, request, until, latencies, errors, interval, interval * i / clients)
            for i in range(clients)
        )
    )
    elapsed = time.perf_counter() - start
    if not latencies:
        raise RuntimeError(f"no responses from {path}: {errors[:3]}")
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": q[49] * 1000,
        "p99_ms": q[98] * 1000,
        "errors": len(errors),
    }


def load(
    port: int, path: str, headers: dict[str, str], clients: int, seconds: float, rate: float = 0.0
) -> dict[str, float]:
    asyncio.run(_load(port, path, headers, clients, min(2.0, seconds)))  # warm-up: connections, caches, plans
    return asyncio.run(_load(port, path, headers, clients, seconds, rate))


def run_server(target: Any, *args: Any) -> tuple[multiprocessing.Process, int]:
    port = free_port()
    ctx = multiprocessing.get_context("spawn")
    proc = ctx.Process(target=target, args=(*args, port), daemon=True)
    proc.start()
    wait_for_port(port)
    return proc, port


def stop_server(proc: multiprocessing.Process) -> None:
    proc.terminate()
    proc.join(10)
    if proc.is_alive():
        proc.kill()


# ---------------------------------------------------------------------- databases


def sqlite_db(tmp: Path) -> str:
    return f"sqlite:///{tmp / 'bench.db'}"


def postgres_schema() -> tuple[str, str]:
    import psycopg

    schema = f"fa_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    return f"{PG_BASE}?options=-csearch_path%3D{schema}", schema


def drop_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE %s AND pid <> pg_backend_pid()",
            (f"%{schema}%",),
        )
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def row(name: str, result: dict[str, float]) -> str:
    return (
        f"{name:<34} {result['rps']:>9.0f} req/s   p50 {result['p50_ms']:>7.1f} ms   "
        f"p99 {result['p99_ms']:>7.1f} ms   ({int(result['requests'])} requests, {int(result['errors'])} errors)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--paced-rate",
        type=float,
        default=100.0,
        help="also measure with the clients sending this many requests/s in all (0: skip)",
    )
    parser.add_argument(
        "--changes-per-second",
        type=float,
        default=1.0,
        help="also measure the queue while alerts change this often (every change drops the reused pages; 0: skip)",
    )
    args = parser.parse_args()
    from agent.storage.migrate import upgrade

    print(
        f"{args.alerts:,} alerts ({args.open:,} open), {args.clients} concurrent clients, {args.seconds:g} s per "
        f"measurement, one uvicorn worker per server, {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f} at start"
    )
    print("closed loop: every client sends its next request as soon as the last one is answered")
    if args.paced_rate:
        print(f"paced: the {args.clients} clients send {args.paced_rate:g} requests/s in all, latency from the scheduled time")
    proc, port = run_server(serve_bare)
    try:
        bare = load(port, "/bare", {}, args.clients, args.seconds)
        print(row("baseline: bare FastAPI constant", bare))
        print(row("baseline: the same, async def", load(port, "/bare-async", {}, args.clients, args.seconds)))
        if args.paced_rate:
            print(row("baseline: bare, paced", load(port, "/bare", {}, args.clients, args.seconds, args.paced_rate)))
    finally:
        stop_server(proc)

    results: dict[tuple[str, str, str], dict[str, float]] = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            schema = None
            if backend == "sqlite":
                url = sqlite_db(Path(tmp))
            else:
                url, schema = postgres_schema()
            try:
                upgrade(url)
                started = time.perf_counter()
                token = seed(url, alerts=args.alerts, open_alerts=args.open)
                print(f"[{backend}] seeded in {time.perf_counter() - started:.1f} s")
                proc, port = run_server(serve_agent, url, 0.0)
                try:
                    headers = {"Authorization": f"Bearer {token}"}
                    for path in ("/api/v1/queue", "/api/v1/alerts"):
                        result = load(port, path, headers, args.clients, args.seconds)
                        results[(backend, path, "closed")] = result
                        ratio = result["rps"] / bare["rps"]
                        print(row(f"[{backend}] GET {path}", result) + f"   {ratio:.2f} x baseline req/s")
                        if args.paced_rate:
                            paced = load(port, path, headers, args.clients, args.seconds, args.paced_rate)
                            results[(backend, path, "paced")] = paced
                            print(row(f"[{backend}] GET {path}, paced", paced))
                finally:
                    stop_server(proc)
                if args.changes_per_second:
                    proc, port = run_server(serve_agent, url, args.changes_per_second)
                    try:
                        headers = {"Authorization": f"Bearer {token}"}
                        churned = load(port, "/api/v1/queue", headers, args.clients, args.seconds)
                        results[(backend, "/api/v1/queue", f"{args.changes_per_second:g} changes/s")] = churned
                        print(row(f"[{backend}] GET /api/v1/queue, {args.changes_per_second:g} changes/s", churned))
                    finally:
                        stop_server(proc)
            finally:
                if schema:
                    drop_schema(schema)
    print(f"target: queue p99 under {TARGET_P99_MS:.0f} ms")
    ordered = sorted(
        ((k, v) for k, v in results.items() if k[1] == "/api/v1/queue"),
        key=lambda kv: (kv[0][0] == "postgresql", kv[0][2] == "closed"),
    )
    for (backend, _, mode), result in ordered:  # the closed-loop PostgreSQL figure comes last
        verdict = "meets" if result["p99_ms"] < TARGET_P99_MS else "MISSES"
        print(f"queue p99 on {backend} ({mode}): {result['p99_ms']:.1f} ms ({verdict} the target)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
