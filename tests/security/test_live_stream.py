"""The live stream checks who is listening on every keep-alive (a revoked token or a disabled
user stops receiving), and caps streams per user or token and in total."""

from __future__ import annotations

import queue
import threading

import httpx

from api.app import create_app
from tests.api.server import serve
from tests.api.stack import Stack
from tests.support.wait import wait_until


def _reader(url: str, headers: dict[str, str], out: queue.Queue[object], stop: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30, read=30)) as r:
            out.put(("status", r.status_code))
            for line in r.iter_lines():
                out.put(("line", line))
                if stop.is_set():
                    return
        out.put(("closed", None))
    except Exception as exc:  # noqa: BLE001 - reported through the queue
        out.put(("error", repr(exc)))


def _open(url: str, headers: dict[str, str]) -> tuple[queue.Queue[object], threading.Event, threading.Thread]:
    out: queue.Queue[object] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=_reader, args=(url, headers, out, stop), daemon=True)
    thread.start()
    return out, stop, thread


def _drain(out: queue.Queue[object]) -> list[tuple[str, object]]:
    items = []
    while True:
        try:
            items.append(out.get_nowait())  # type: ignore[arg-type]
        except queue.Empty:
            return items


def test_a_revoked_token_stops_receiving_at_the_next_keep_alive(stack: Stack) -> None:
    admin = stack.headers("admin")
    with serve(stack.app) as base:
        created = httpx.post(f"{base}/api/v1/tokens", json={"username": "viewer", "name": "wall screen"}, headers=admin).json()
        out, stop, thread = _open(f"{base}/api/v1/events", {"Authorization": f"Bearer {created['secret']}"})
        assert out.get(timeout=15) == ("status", 200)
        wait_until(lambda: stack.live is not None and stack.live.clients == 1, timeout=10, what="the stream")
        assert httpx.delete(f"{base}/api/v1/tokens/{created['token']['id']}", headers=admin).status_code == 200
        seen: list[tuple[str, object]] = []
        wait_until(lambda: seen.extend(_drain(out)) or ("closed", None) in seen, timeout=15, what="the stream to end")
        assert ("line", "event: signed-out") in seen
        stack.open_fridge_alert("fridge-2", 9.4)  # nothing more reaches the revoked token
        wait_until(lambda: stack.live is not None and stack.live.clients == 0, timeout=10, what="the subscriber to leave")
        stop.set()
    thread.join(10)


def test_a_disabled_users_stream_ends(stack: Stack) -> None:
    admin = stack.headers("admin")
    with serve(stack.app) as base:
        httpx.post(f"{base}/api/v1/users", json={"username": "screen-user", "password": "long enough pw", "role": "viewer"}, headers=admin)
        secret = httpx.post(f"{base}/api/v1/tokens", json={"username": "screen-user", "name": "s"}, headers=admin).json()["secret"]
        out, stop, thread = _open(f"{base}/api/v1/events", {"Authorization": f"Bearer {secret}"})
        assert out.get(timeout=15) == ("status", 200)
        assert httpx.post(f"{base}/api/v1/users/screen-user/disable", headers=admin).status_code == 200
        seen: list[tuple[str, object]] = []
        wait_until(lambda: seen.extend(_drain(out)) or ("closed", None) in seen, timeout=15, what="the stream to end")
        stop.set()
    thread.join(10)


def test_streams_are_capped_per_token_and_in_total(stack: Stack) -> None:
    app = create_app(stack.services, session_secret="s" * 32, max_streams=3, max_streams_per_principal=2)  # type: ignore[arg-type]
    readers = []
    with serve(app) as base:
        url = f"{base}/api/v1/events"
        for _ in range(2):
            readers.append(_open(url, stack.headers("viewer")))
            assert readers[-1][0].get(timeout=15) == ("status", 200)
        third = httpx.get(url, headers=stack.headers("viewer"), timeout=10)
        assert third.status_code == 429 and "per user or token" in third.json()["detail"]
        readers.append(_open(url, stack.headers("staff")))
        assert readers[-1][0].get(timeout=15) == ("status", 200)
        full = httpx.get(url, headers=stack.headers("admin"), timeout=10)
        assert full.status_code == 429 and full.headers["retry-after"] == "60"
        for _, stop, _ in readers:
            stop.set()
        # A closed stream gives its slot back.
        wait_until(lambda: app.state.streams.open_count() < 3, timeout=20, what="slots to come back")
    for _, _, thread in readers:
        thread.join(10)
