from __future__ import annotations

import threading

from collectors.mqtt.batching import Batcher
from tests.support.mosquitto import wait_until


def test_a_full_batch_goes_at_once_and_the_rest_after_the_delay() -> None:
    batches: list[list[int]] = []
    b: Batcher[int] = Batcher(batches.append, max_items=10, max_delay=0.05, max_pending=100)
    b.start()
    try:
        for i in range(25):
            assert b.add(i)
        wait_until(lambda: sum(len(x) for x in batches) == 25, 5, what="all 25 flushed")
        assert [i for batch in batches for i in batch] == list(range(25))
        assert max(len(x) for x in batches) <= 25 and all(batches)
    finally:
        b.stop()


def test_stop_hands_over_what_is_waiting_and_refuses_more() -> None:
    batches: list[list[int]] = []
    b: Batcher[int] = Batcher(batches.append, max_items=1000, max_delay=60, max_pending=1000)
    b.start()
    for i in range(5):
        b.add(i)
    b.stop()
    assert [i for batch in batches for i in batch] == [0, 1, 2, 3, 4]
    assert b.add(5) is False


def test_a_failing_flush_does_not_stop_the_thread() -> None:
    seen: list[list[int]] = []

    def flush(items: list[int]) -> None:
        seen.append(items)
        if items == [1]:
            raise RuntimeError("storage down")

    b: Batcher[int] = Batcher(flush, max_items=1, max_delay=0, max_pending=1)
    b.start()
    try:
        b.add(1)
        wait_until(lambda: seen == [[1]], 5)
        b.add(2)
        wait_until(lambda: seen == [[1], [2]], 5, what="the next batch after a failure")
    finally:
        b.stop()


def test_add_blocks_while_max_pending_wait() -> None:
    release = threading.Event()
    flushed: list[list[int]] = []

    def slow(items: list[int]) -> None:
        release.wait(10)
        flushed.append(items)

    b: Batcher[int] = Batcher(slow, max_items=2, max_delay=0, max_pending=2)
    b.start()
    try:
        b.add(0)
        wait_until(lambda: not b._items, 5)  # the thread holds [0] in slow()
        b.add(1)
        b.add(2)  # now 2 are pending: the next add must wait
        done = threading.Event()
        threading.Thread(target=lambda: (b.add(3), done.set()), daemon=True).start()
        assert not done.wait(0.2)
        release.set()
        wait_until(done.is_set, 5, what="the blocked add to go through")
        wait_until(lambda: sum(len(x) for x in flushed) == 4, 5)
    finally:
        release.set()
        b.stop()
