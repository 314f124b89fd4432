"""History queries for the equipment chart (issue 14), on SQLite and PostgreSQL.

Data: 30 days of one-minute readings for 200 sensors (8.64 million rows), loaded once per run
in bulk (executemany into SQLite, COPY into PostgreSQL) and kept for every round. --data-dir
keeps the SQLite file between runs too.

Measured, per backend, each round:
  * chart: the chart query of the agent (agent/services/history.py: min, max and mean per
    bucket, computed in SQL) for one sensor over 30 days, at most 500 points;
  * baseline: the same rows read into Python with a bare SELECT of the range (ORM columns, as a
    naive chart would) — same sensors, same order, same run.
Each is timed over --queries (20) random sensors; p95 per round; the median of the rounds is reported.
Target: chart p95 <= 0.25 x baseline p95.

Writes: the same pipeline write path (write_readings, batches of 1,000) into the 8.6 M-row
database and into an empty one; the ratio shows the big history does not slow ingest down.
With --ingest, bench/mqtt_ingest.py (issue "Core": pipeline >= 0.5 x bare subscriber) runs
too, shortened, and its ratio is printed. The chart ratio is printed last.

    .venv/bin/python bench/history.py [--sensors 200] [--days 30] [--rounds 3] [--queries 20]
        [--backends sqlite,postgresql] [--data-dir DIR] [--ingest]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from agent.services.history import series  # noqa: E402
from agent.storage.db import create_db_engine, session_factory  # noqa: E402
from agent.storage.migrate import upgrade  # noqa: E402
from agent.storage.models import ReadingHistory  # noqa: E402
from agent.storage.readings import write_readings  # noqa: E402
from agent.storage.rollups import roll_up  # noqa: E402
from rules.reading import Reading  # noqa: E402

PG_BASE = os.environ.get("FACILITY_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
END = datetime(2026, 11, 1, tzinfo=UTC)
METRIC = "temperature_c"


def value(sensor: int, minute: int) -> float:
    return round(4.5 + 1.5 * ((minute + sensor * 37) % 240) / 240.0, 2)


def rows(sensors: int, days: int):  # type: ignore[no-untyped-def]
    """Time-ordered, sensors interleaved: as 200 sensors reporting each minute would store them."""
    start = END - timedelta(days=days)
    for minute in range(days * 1440):
        ts = start + timedelta(minutes=minute)
        for s in range(sensors):
            yield f"sensor-{s:03d}", ts, value(s, minute)


def load_sqlite(path: Path, sensors: int, days: int) -> str:
    url = f"sqlite:///{path}"
    marker = path.with_suffix(".loaded")
    if marker.exists() and marker.read_text() == f"{sensors}x{days}":
        print(f"sqlite: reusing {path}", flush=True)
        return url
    path.unlink(missing_ok=True)
    upgrade(url)
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    # Bulk load without the unique index, then build it once: the same end state, much faster.
    conn.execute("DROP INDEX uq_readings_observation")
    conn.execute("DROP INDEX ix_readings_ts")
    batch: list[tuple[object, ...]] = []
    for subject, ts, v in rows(sensors, days):
        batch.append((subject, METRIC, v, None, "°C", "bench", ts.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")))
        if len(batch) >= 100_000:
            conn.executemany("INSERT INTO readings (subject, metric, value_num, value_text, unit, source, ts) VALUES (?,?,?,?,?,?,?)", batch)
            batch.clear()
    if batch:
        conn.executemany("INSERT INTO readings (subject, metric, value_num, value_text, unit, source, ts) VALUES (?,?,?,?,?,?,?)", batch)
    conn.execute("CREATE UNIQUE INDEX uq_readings_observation ON readings (subject, metric, ts)")
    conn.execute("CREATE INDEX ix_readings_ts ON readings (ts)")
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    print(f"sqlite: loaded {sensors * days * 1440:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    rollups(url, "sqlite")
    marker.write_text(f"{sensors}x{days}")
    return url


def rollups(url: str, backend: str) -> None:
    """What the agent's rollup job (every 5 minutes) would have built by now."""
    started = time.perf_counter()
    db = create_db_engine(url)
    with session_factory(db)() as session:
        hours = roll_up(session, now=END)
    db.dispose()
    print(f"{backend}: rolled up {hours} hours in {time.perf_counter() - started:.0f} s", flush=True)


def load_postgres(sensors: int, days: int) -> tuple[str, str]:
    import psycopg

    schema = f"fa_bench_history_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{PG_BASE}?options=-csearch_path%3D{schema}"
    upgrade(url)
    started = time.perf_counter()
    with psycopg.connect(PG_BASE, autocommit=True, options=f"-csearch_path={schema}") as conn:
        conn.execute("DROP INDEX uq_readings_observation")
        conn.execute("DROP INDEX ix_readings_ts")
        with conn.cursor() as cur, cur.copy("COPY readings (subject, metric, value_num, unit, source, ts) FROM STDIN") as copy:
            buffer = io.StringIO()
            for n, (subject, ts, v) in enumerate(rows(sensors, days), 1):
                buffer.write(f"{subject}\t{METRIC}\t{v}\t°C\tbench\t{ts.isoformat()}\n")
                if n % 200_000 == 0:
                    copy.write(buffer.getvalue())
                    buffer = io.StringIO()
            copy.write(buffer.getvalue())
        conn.execute("CREATE UNIQUE INDEX uq_readings_observation ON readings (subject, metric, ts)")
        conn.execute("CREATE INDEX ix_readings_ts ON readings (ts)")
        conn.execute("VACUUM ANALYZE readings")  # what autovacuum would have done by now
    print(f"postgresql: loaded {sensors * days * 1440:,} rows in {time.perf_counter() - started:.0f} s", flush=True)
    rollups(url, "postgresql")
    return url, schema


def drop_postgres(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_BASE, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def query_round(url: str, sensors: int, days: int, queries: int, seed: int) -> tuple[float, float, int]:
    db = create_db_engine(url)
    sessions = session_factory(db)
    rng = random.Random(seed)
    picks = [f"sensor-{rng.randrange(sensors):03d}" for _ in range(queries)]
    start, end = END - timedelta(days=days), END
    chart: list[float] = []
    bare: list[float] = []
    points = 0
    with sessions() as session:
        for subject in picks:  # interleaved, so both see the same cache state
            t = time.perf_counter()
            result = series(session, subject=subject, metric=METRIC, start=start, end=end)
            chart.append(time.perf_counter() - t)
            points = max(points, len(result.points))
            t = time.perf_counter()
            got = session.execute(
                select(ReadingHistory.ts, ReadingHistory.value_num).where(
                    ReadingHistory.subject == subject, ReadingHistory.metric == METRIC,
                    ReadingHistory.ts >= start, ReadingHistory.ts < end,
                )
            ).all()
            bare.append(time.perf_counter() - t)
            assert len(got) == days * 1440, len(got)
    db.dispose()
    return p95(chart), p95(bare), points


def write_rate(url: str, n: int = 20_000) -> float:
    db = create_db_engine(url)
    sessions = session_factory(db)
    t0 = END + timedelta(days=1, seconds=random.randrange(10**6))
    readings = [Reading(f"sensor-{i % 200:03d}", METRIC, 5.0, t0 + timedelta(seconds=i // 200)) for i in range(n)]
    started = time.perf_counter()
    for i in range(0, n, 1000):
        with sessions() as session:
            write_readings(session, readings[i : i + 1000])
            session.commit()
    elapsed = time.perf_counter() - started
    db.dispose()
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sensors", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--data-dir", type=Path, help="keep the SQLite database here between runs")
    parser.add_argument("--ingest", action="store_true", help="also run bench/mqtt_ingest.py (shortened)")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="fa-history-")
    data_dir = args.data_dir or Path(tmp.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    print("Note: a shared 2-core machine; other engineers' work ran at the same time.", flush=True)
    ratios: dict[str, float] = {}
    for backend in args.backends.split(","):
        schema = None
        if backend == "sqlite":
            url = load_sqlite(data_dir / f"history-{args.sensors}x{args.days}.db", args.sensors, args.days)
        else:
            url, schema = load_postgres(args.sensors, args.days)
        try:
            charts, bares = [], []
            for r in range(args.rounds):
                chart_p95, bare_p95, points = query_round(url, args.sensors, args.days, args.queries, seed=r)
                charts.append(chart_p95)
                bares.append(bare_p95)
                print(f"{backend} round {r + 1}: chart p95 {chart_p95 * 1000:.1f} ms ({points} points), "
                      f"bare SELECT p95 {bare_p95 * 1000:.1f} ms, ratio {chart_p95 / bare_p95:.3f}", flush=True)
            chart_m, bare_m = statistics.median(charts), statistics.median(bares)
            ratios[backend] = chart_m / bare_m
            print(f"{backend}: median p95 chart {chart_m * 1000:.1f} ms vs bare {bare_m * 1000:.1f} ms", flush=True)
            empty_url = (f"sqlite:///{data_dir / 'empty.db'}" if backend == "sqlite" else None)
            big = [write_rate(url) for _ in range(args.rounds)]
            if empty_url is not None:
                (data_dir / "empty.db").unlink(missing_ok=True)
                upgrade(empty_url)
                small = [write_rate(empty_url) for _ in range(args.rounds)]
                print(f"{backend} writes: {statistics.median(big):,.0f} readings/s into {args.sensors * args.days * 1440:,} rows "
                      f"vs {statistics.median(small):,.0f}/s into an empty database "
                      f"(ratio {statistics.median(big) / statistics.median(small):.2f})", flush=True)
            else:
                print(f"{backend} writes: {statistics.median(big):,.0f} readings/s into the loaded database", flush=True)
        finally:
            if schema:
                drop_postgres(schema)
    if args.ingest:
        out = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "mqtt_ingest.py"), "--count", "50000", "--rounds", "3", "--latency-seconds", "5"],
            capture_output=True, text=True, timeout=1800,
        )
        lines = out.stdout.strip().splitlines()
        print(f"ingest (bench/mqtt_ingest.py, shortened): {lines[-1] if lines else out.stderr[-500:]}", flush=True)
    for backend, ratio in ratios.items():
        print(f"{backend}: chart p95 / bare SELECT p95 = {ratio:.3f} (target <= 0.25)")
    worst = max(ratios.values()) if ratios else float("nan")
    print(f"history chart ratio (worst backend, chart p95 / bare SELECT p95): {worst:.3f}")
    tmp.cleanup()


if __name__ == "__main__":
    main()
