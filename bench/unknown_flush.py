"""A count stored while 5,000 unknown sources are written out (SQLite, the default backend).

Same run, two write-outs of the same 5,000 sources on a background thread, while a count is
submitted to the pipeline every 20 ms and timed until it is committed:
- baseline: the former write-out, a SELECT and an INSERT per source in one transaction;
- bulk: agent.unknown_sources (one upsert per 500 sources, a short transaction each).
Prints, per variant, the median over three rounds of the worst count latency during the
write-out, and of the write-out's duration. Target: the bulk worst case under 0.5 s.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from agent.pipeline import Pipeline  # noqa: E402
from agent.storage.db import create_db_engine, session_factory  # noqa: E402
from agent.storage.migrate import upgrade  # noqa: E402
from agent.storage.models import UnknownSource  # noqa: E402
from agent.unknown_sources import UnknownSourceLog  # noqa: E402
from rules.engine import Engine  # noqa: E402
from rules.reading import Reading  # noqa: E402

T0 = datetime(2026, 12, 1, tzinfo=UTC)
SOURCES = 5000


def per_row_flush(sessions: sessionmaker[Session], pending: dict[str, int]) -> None:
    """The write-out before this change: one SELECT and one INSERT per source, one transaction."""
    with sessions() as session:
        for key, count in pending.items():
            row = session.scalar(select(UnknownSource).where(UnknownSource.source == "mqtt:t", UnknownSource.key == key))
            if row is None:
                session.add(UnknownSource(source="mqtt:t", key=key, last_payload="4.5", count=count, first_seen=T0, last_seen=T0))
            else:
                row.count += count
        session.commit()


def one_round(variant: str, round_no: int, workdir: Path) -> tuple[float, float]:
    url = f"sqlite:///{workdir / f'{variant}-{round_no}.db'}"
    upgrade(url)
    engine = create_db_engine(url)
    sessions = session_factory(engine)
    pipeline = Pipeline(engine=Engine([], {}), sessions=sessions, clock=lambda: T0, flush_interval=0.05)
    pipeline.start()
    keys = [f"facility/site/equipment/ghost-{round_no}-{i}/temperature_c" for i in range(SOURCES)]
    flush: Callable[[], object]
    if variant == "baseline":
        flush = lambda: per_row_flush(sessions, dict.fromkeys(keys, 1))  # noqa: E731
    else:
        log = UnknownSourceLog(sessions)
        for key in keys:
            log.record("mqtt:t", key, "4.5", T0)
        flush = log.flush
    done = threading.Event()
    took: list[float] = []

    def write_out() -> None:
        started = time.perf_counter()
        flush()
        took.append(time.perf_counter() - started)
        done.set()

    worst = 0.0
    writer = threading.Thread(target=write_out)
    n = 0
    writer.start()
    while not done.is_set() or n < 5:
        stored = threading.Event()
        sent = time.perf_counter()
        pipeline.submit([Reading("GLV-M", "count", float(n), T0 + timedelta(seconds=n), subject_kind="supply", source="mqtt:c")], on_stored=stored.set)
        stored.wait(30)
        worst = max(worst, time.perf_counter() - sent)
        n += 1
        time.sleep(0.02)
    writer.join()
    pipeline.stop()
    engine.dispose()
    return worst, took[0]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, list[tuple[float, float]]] = {"baseline": [], "bulk": []}
        for round_no in range(3):
            for variant in results:
                results[variant].append(one_round(variant, round_no, Path(tmp)))
        for variant, rounds in results.items():
            worst = statistics.median(r[0] for r in rounds)
            took = statistics.median(r[1] for r in rounds)
            print(f"{variant:8s} write-out of {SOURCES} sources {took * 1000:7.0f} ms; worst count latency meanwhile {worst * 1000:6.0f} ms (median of 3)")


if __name__ == "__main__":
    main()
