"""`db copy` speed: a demo-sized SQLite database into a fresh PostgreSQL schema, per round.

Same run, same source file, two ways of writing the target:
- baseline: one row per INSERT and per transaction (`--batch 1`), the naive loop;
- batched: what `db copy` does, executemany in batches of 2,000 rows, a transaction each.
Prints rows/s per variant as the median of three rounds. Needs PostgreSQL as tests do
($FACILITY_TEST_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import contextlib
import io
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert  # noqa: E402

from agent.commands.db_copy import _copy  # noqa: E402
from agent.storage.models import Alert, AlertEvent, Equipment, ReadingHistory  # noqa: E402
from tests.support.db import migrate, postgres_schema  # noqa: E402

T0 = datetime(2026, 11, 1, tzinfo=UTC)
READINGS = 12_000  # about two days of a 6-sensor demo clinic at one reading a minute each
ALERTS = 300
EVENTS_PER_ALERT = 4


def build(path: Path) -> int:
    engine = create_engine(migrate(f"sqlite:///{path}"))
    subjects = [f"fridge-{i}" for i in range(6)]
    with engine.begin() as conn:
        conn.execute(insert(Equipment), [
            {"id": s, "name": s, "kind": "fridge", "updated_at": T0} for s in subjects])
        conn.execute(insert(ReadingHistory), [
            {"subject": subjects[i % 6], "metric": "temperature_c", "value_num": 4 + i % 7, "unit": "°C",
             "source": "mqtt", "ts": T0 + timedelta(minutes=i // 6)} for i in range(READINGS)])
        conn.execute(insert(Alert), [
            {"rule_id": f"r{i}", "subject": subjects[i % 6], "status": "resolved", "severity": 2,
             "message": f"fridge {i} is warm", "since": T0, "opened_at": T0, "last_seen_at": T0,
             "updated_at": T0, "first_value": 9.5, "last_value": 4.0} for i in range(ALERTS)])
        conn.execute(insert(AlertEvent), [
            {"alert_id": 1 + i // EVENTS_PER_ALERT, "at": T0, "kind": "opened", "to_status": "open",
             "severity": 2, "value": 9.5, "details": {"n": i}} for i in range(ALERTS * EVENTS_PER_ALERT)])
    engine.dispose()
    return 6 + READINGS + ALERTS + ALERTS * EVENTS_PER_ALERT


def one_round(source: Path, batch: int) -> float:
    with postgres_schema() as url:
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            assert _copy(source, url, resume=False, batch=batch) == 0
        return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "facility.db"
        rows = build(source)
        print(f"source: {rows} rows in {source.stat().st_size // 1024} KiB (migrations on the target included)")
        for label, batch in (("baseline, one row per insert", 1), ("db copy, batches of 2000", 2000)):
            times = [one_round(source, batch) for _ in range(3)]
            median = statistics.median(times)
            print(f"{label}: median {median:.2f} s, {rows / median:.0f} rows/s "
                  f"(rounds: {', '.join(f'{t:.2f}' for t in times)})")


if __name__ == "__main__":
    main()
