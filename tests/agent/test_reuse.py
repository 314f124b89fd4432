"""Results reused in memory: pages by generation and age, who-is-this by age, with one refresh."""

from __future__ import annotations

import threading

from agent.services.reuse import Expiring, Recent
from tests.support.clock import DEFAULT_START


class Ticks:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_a_page_is_reused_until_it_expires_or_the_generation_changes() -> None:
    ticks = Ticks()
    recent = Recent(1.0, monotonic=ticks)
    calls: list[int] = []

    def make() -> str:
        calls.append(1)
        return f"page {len(calls)}"

    assert recent.get("q", 0, DEFAULT_START, make) == "page 1"
    assert recent.get("q", 0, DEFAULT_START, make) == "page 1"
    assert recent.get("q", 1, DEFAULT_START, make) == "page 2"  # an alert changed
    ticks.t += 1.5
    assert recent.peek("q", 1, DEFAULT_START) is None  # expired, nobody refreshing
    assert recent.get("q", 1, DEFAULT_START, make) == "page 3"


def test_an_expired_page_is_served_while_one_caller_refreshes_it_but_never_after_a_change() -> None:
    ticks = Ticks()
    recent = Recent(1.0, stale_limit=2.0, monotonic=ticks)
    recent.get("q", 0, DEFAULT_START, lambda: "old")
    ticks.t += 1.5
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(10)
        return "new"

    refresher = threading.Thread(target=lambda: recent.get("q", 0, DEFAULT_START, slow))
    refresher.start()
    assert started.wait(10)
    assert recent.peek("q", 0, DEFAULT_START) == "old"  # same generation: the old page, at once
    assert recent.get("q", 0, DEFAULT_START, lambda: "unused") == "old"
    assert recent.peek("q", 1, DEFAULT_START) is None  # after a change: never the old page
    ticks.t += 0.9  # 2.4 s old: too old to serve even while refreshing
    assert recent.peek("q", 0, DEFAULT_START) is None
    release.set()
    refresher.join(10)
    assert recent.peek("q", 0, DEFAULT_START) == "new"


def test_expiring_answers_for_ttl_then_sends_one_caller_to_look_it_up() -> None:
    ticks = Ticks()
    who: Expiring[str] = Expiring(2.0, grace=1.0, monotonic=ticks)
    assert who.get("token") == (False, None)
    who.put("token", "sam")
    assert who.get("token") == (True, "sam")
    ticks.t += 2.5
    assert who.get("token") == (False, None)  # the first caller looks it up again...
    assert who.get("token") == (True, "sam")  # ...while the others keep the old answer
    who.forget("token")  # the lookup said: revoked
    assert who.get("token") == (False, None)
    who.put("token", "sam")
    ticks.t += 3.5  # past the grace too: nobody gets the old answer
    assert who.get("token") == (False, None)
    assert who.get("token") == (False, None)


def test_expiring_clear_forgets_everything() -> None:
    who: Expiring[str] = Expiring(60.0)
    who.put("a", "x")
    who.clear()
    assert who.get("a") == (False, None)


def test_recent_with_no_ttl_always_computes() -> None:
    recent = Recent(0.0)
    n = iter(range(10))
    assert recent.get("q", 0, DEFAULT_START, lambda: next(n)) == 0
    assert recent.get("q", 0, DEFAULT_START, lambda: next(n)) == 1
