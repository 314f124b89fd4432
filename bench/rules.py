"""Readings per second through the rules engine: 10,000 rules over 50,000 subjects.

Baseline, measured in the same run: a bare loop that looks a threshold up in a dict and compares.
Target: engine ≥ 0.25 × baseline. The last line is the ratio.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rules.engine import Engine  # noqa: E402
from rules.model import ConditionKind, Match, Rule, Subject  # noqa: E402
from rules.reading import Reading  # noqa: E402

RULES = 10_000
SUBJECTS = 50_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def build(readings_count: int, seed: int = 7) -> tuple[list[Rule], dict[str, Subject], list[Reading], dict[tuple[str, str], float]]:
    rng = random.Random(seed)
    subjects = {f"s{i}": Subject(id=f"s{i}", kind="fridge", name=f"Fridge {i}") for i in range(SUBJECTS)}
    rules = []
    thresholds: dict[tuple[str, str], float] = {}
    per_rule = SUBJECTS // RULES
    for r in range(RULES):
        ids = frozenset(f"s{r * per_rule + k}" for k in range(per_rule))
        high = 8.0 + (r % 3)
        rules.append(
            Rule(
                id=f"rule-{r}",
                metric="temperature_c",
                kind=ConditionKind.THRESHOLD,
                fire_low=2.0,
                fire_high=high,
                clear_low=2.5,
                clear_high=high - 0.5,
                hold=timedelta(minutes=5),
                match=Match(ids=ids),
            )
        )
        for sid in ids:
            thresholds[("temperature_c", sid)] = high
    readings = []
    for i in range(readings_count):
        sid = f"s{rng.randrange(SUBJECTS)}"
        # Mostly in range, ~2 % excursions: what a real facility looks like.
        value = rng.uniform(3.0, 7.0) if rng.random() > 0.02 else rng.uniform(8.5, 12.0)
        readings.append(Reading(sid, "temperature_c", value, T0 + timedelta(seconds=i // 100)))
    return rules, subjects, readings, thresholds


def baseline(readings: list[Reading], thresholds: dict[tuple[str, str], float]) -> int:
    hits = 0
    for r in readings:
        t = thresholds.get((r.metric, r.subject))
        if t is not None and r.value > t:
            hits += 1
    return hits


def best_rate(fn, n: int, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = 0.0
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = max(best, n / (time.perf_counter() - start))
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readings", type=int, default=500_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rules, subjects, readings, thresholds = build(args.readings)
    engine = Engine(rules, subjects)
    engine.evaluate_many(readings)  # warm the per-(metric, subject) index, as a running agent has

    def run_engine() -> None:
        for r in readings:
            engine.evaluate(r)

    base = best_rate(lambda: baseline(readings, thresholds), len(readings), args.repeats)
    eng = best_rate(run_engine, len(readings), args.repeats)
    ratio = eng / base
    print(f"rules: {RULES:,}  subjects: {SUBJECTS:,}  readings: {len(readings):,}")
    print(f"baseline (dict lookup + compare): {base:,.0f} readings/s")
    print(f"engine:                           {eng:,.0f} readings/s")
    print(f"target ratio >= 0.25: {'met' if ratio >= 0.25 else 'NOT met'}")
    print(f"ratio: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
