"""Supply counts per second through the agent's pipeline with the inventory hook (stock records,
on hand, daily use, supply rules) against the same counts through the same pipeline without it
(baseline, same run). Half the counts change (a shelf taking or losing stock), half repeat.
Prints both rates and their ratio; the hook's cost is per count, so the ratio is the figure to watch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agent.catalog import build_rules, build_subjects  # noqa: E402
from agent.config import load_config_text  # noqa: E402
from agent.inventory import setup_inventory, supply_rules  # noqa: E402
from agent.pipeline import Pipeline  # noqa: E402
from agent.storage.db import create_db_engine, session_factory  # noqa: E402
from agent.storage.migrate import upgrade  # noqa: E402
from rules.engine import Engine  # noqa: E402
from rules.reading import Reading  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def config_text(skus: int) -> str:
    items = "\n".join(
        f"  - {{sku: SKU-{i}, name: Item {i}, location: Store, vendor: V, par: 200, reorder_point: 40, "
        f"lead_time_days: 2, on_hand: 150}}"
        for i in range(skus)
    )
    return f"site: {{id: bench, name: Bench}}\nsupplies:\n{items}\n"


def counts(n: int, skus: int) -> list[Reading]:
    out = []
    for i in range(n):
        step = i // skus
        value = 150.0 - (step // 2) % 100  # changes every other round
        out.append(Reading(f"SKU-{i % skus}", "count", value, T0 + timedelta(seconds=i), "units", "mqtt:bench", "supply"))
    return out


def run(url: str, readings: list[Reading], skus: int, with_inventory: bool) -> float:
    config = load_config_text(config_text(skus), environ={})
    db = create_db_engine(url)
    sessions = session_factory(db)
    extra = supply_rules(config) if with_inventory else []
    engine = Engine(build_rules(config, extra), build_subjects(config))
    pipeline = Pipeline(engine=engine, sessions=sessions, clock=lambda: T0, batch_size=500)
    if with_inventory:
        setup_inventory(config=config, sessions=sessions, pipeline=pipeline, clock=lambda: T0)
    pipeline.start()
    pipeline.flush()
    start = time.perf_counter()
    for i in range(0, len(readings), 500):
        pipeline.submit(readings[i : i + 500])
    pipeline.flush(timeout=600)
    elapsed = time.perf_counter() - start
    pipeline.stop()
    db.dispose()
    return len(readings) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", type=int, default=5000)
    parser.add_argument("--skus", type=int, default=50)
    args = parser.parse_args()
    readings = counts(args.counts, args.skus)
    with tempfile.TemporaryDirectory() as tmp:
        rates = {}
        for label, with_inventory in (("baseline (no inventory hook)", False), ("with inventory hook", True)):
            url = f"sqlite:///{Path(tmp) / (label[:4] + '.db')}"
            upgrade(url)
            rates[label] = run(url, readings, args.skus, with_inventory)
            print(f"{label:32s} {rates[label]:10.0f} counts/s")
        ratio = rates["with inventory hook"] / rates["baseline (no inventory hook)"]
        print(f"ratio (hook / baseline)          {ratio:10.2f}")


if __name__ == "__main__":
    main()
