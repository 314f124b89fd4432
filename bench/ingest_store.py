"""Readings per second persisted (latest value and history) through the agent's pipeline, in batches,
into SQLite and PostgreSQL. Baseline, same run: a raw executemany of the same rows through the same
driver (sqlite3 / psycopg). Target: each backend ≥ 0.6 × its baseline. The lower ratio is printed last.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.pipeline import Pipeline  # noqa: E402
from agent.storage.db import create_db_engine, session_factory  # noqa: E402
from agent.storage.migrate import upgrade  # noqa: E402
from rules.engine import Engine  # noqa: E402
from rules.reading import Reading  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 1000
HISTORY_SQL = "INSERT INTO readings (subject, metric, value_num, value_text, unit, source, ts) VALUES ({p})"
LATEST_SQL = (
    "INSERT INTO readings_latest (subject, metric, subject_kind, value_num, value_text, unit, source, ts) VALUES ({p}) "
    "ON CONFLICT (subject, metric) DO UPDATE SET value_num = excluded.value_num, value_text = excluded.value_text, "
    "unit = excluded.unit, source = excluded.source, ts = excluded.ts, subject_kind = excluded.subject_kind "
    "WHERE readings_latest.ts <= excluded.ts"
)


def make_readings(n: int, subjects: int = 2000) -> list[Reading]:
    return [
        Reading(f"fridge-{i % subjects}", "temperature_c", 4.0 + (i % 7) * 0.1, T0 + timedelta(milliseconds=i), unit="°C", source="bench")
        for i in range(n)
    ]


def through_pipeline(url: str, readings: list[Reading]) -> float:
    engine = create_db_engine(url)
    pipeline = Pipeline(engine=Engine([], {}), sessions=session_factory(engine), clock=lambda: T0, batch_size=BATCH, queue_size=len(readings) * 2)
    pipeline.start()
    start = time.perf_counter()
    for i in range(0, len(readings), BATCH):
        pipeline.submit(readings[i : i + BATCH])
    pipeline.flush(timeout=600)
    elapsed = time.perf_counter() - start
    pipeline.stop()
    engine.dispose()
    return len(readings) / elapsed


def rows_for(readings: list[Reading], sqlite_ts: bool) -> tuple[list[tuple], list[tuple]]:
    def ts(r: Reading) -> object:
        return r.ts.replace(tzinfo=None).isoformat(sep=" ") if sqlite_ts else r.ts

    history = [(r.subject, r.metric, r.value, None, r.unit, r.source, ts(r)) for r in readings]
    latest = [(r.subject, r.metric, "equipment", r.value, None, r.unit, r.source, ts(r)) for r in readings]
    return history, latest


def dedupe_latest(rows: list[tuple]) -> list[tuple]:
    newest: dict[tuple[str, str], tuple] = {}
    for row in rows:
        newest[(row[0], row[1])] = row
    return list(newest.values())


def raw_sqlite(path: str, readings: list[Reading]) -> float:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    history, latest = rows_for(readings, sqlite_ts=True)
    start = time.perf_counter()
    for i in range(0, len(history), BATCH):
        conn.executemany(HISTORY_SQL.format(p=",".join("?" * 7)), history[i : i + BATCH])
        conn.executemany(LATEST_SQL.format(p=",".join("?" * 8)), dedupe_latest(latest[i : i + BATCH]))
        conn.commit()
    elapsed = time.perf_counter() - start
    conn.close()
    return len(readings) / elapsed


def raw_postgres(dsn: str, schema: str, readings: list[Reading]) -> float:
    import psycopg

    history, latest = rows_for(readings, sqlite_ts=False)
    with psycopg.connect(dsn, options=f"-csearch_path={schema}") as conn:
        start = time.perf_counter()
        with conn.cursor() as cur:
            for i in range(0, len(history), BATCH):
                cur.executemany(HISTORY_SQL.format(p=",".join(["%s"] * 7)), history[i : i + BATCH])
                cur.executemany(LATEST_SQL.format(p=",".join(["%s"] * 8)), dedupe_latest(latest[i : i + BATCH]))
                conn.commit()
        elapsed = time.perf_counter() - start
    return len(readings) / elapsed


def bench_sqlite(readings: list[Reading], rounds: int) -> float:
    raw = ours = 0.0
    for _ in range(rounds):  # interleaved, best of each: the machine is shared
        with tempfile.TemporaryDirectory() as tmp:
            agent_db, raw_db = f"{tmp}/agent.db", f"{tmp}/raw.db"
            upgrade(f"sqlite:///{agent_db}")
            upgrade(f"sqlite:///{raw_db}")
            raw = max(raw, raw_sqlite(raw_db, readings))
            ours = max(ours, through_pipeline(f"sqlite:///{agent_db}", readings))
    print(f"sqlite:     baseline {raw:>9,.0f} readings/s   agent {ours:>9,.0f} readings/s   ratio {ours / raw:.2f}")
    return ours / raw


def bench_postgres(readings: list[Reading], dsn: str, rounds: int) -> float | None:
    import psycopg

    try:
        admin = psycopg.connect(dsn, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        print(f"postgresql: skipped, no server at {dsn} ({exc})")
        return None
    raw = ours = 0.0
    try:
        for _ in range(rounds):
            schemas = [f"bench_{uuid.uuid4().hex[:8]}" for _ in range(2)]
            try:
                for schema in schemas:
                    admin.execute(f"CREATE SCHEMA {schema}")
                    upgrade(f"{dsn}?options=-csearch_path%3D{schema}")
                raw = max(raw, raw_postgres(dsn, schemas[0], readings))
                ours = max(ours, through_pipeline(f"{dsn}?options=-csearch_path%3D{schemas[1]}", readings))
            finally:
                for schema in schemas:
                    admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    finally:
        admin.close()
    print(f"postgresql: baseline {raw:>9,.0f} readings/s   agent {ours:>9,.0f} readings/s   ratio {ours / raw:.2f}")
    return ours / raw


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("FACILITY_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    readings = make_readings(args.readings)
    print(f"{len(readings):,} readings in batches of {BATCH}; latest value + history")
    ratios = {"sqlite": bench_sqlite(readings, args.rounds)}
    pg = bench_postgres(readings, args.postgres, args.rounds)
    if pg is not None:
        ratios["postgresql"] = pg
    lowest = min(ratios, key=lambda k: ratios[k])
    print(f"target >= 0.6 on each backend: {'met' if all(r >= 0.6 for r in ratios.values()) else 'NOT met'}")
    print(f"ratio sqlite: {ratios['sqlite']:.2f}")
    if "postgresql" in ratios:
        print(f"ratio postgresql: {ratios['postgresql']:.2f}")
    print(f"lowest ratio ({lowest}): {ratios[lowest]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
