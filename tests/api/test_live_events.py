"""GET /api/v1/events pushes every alert change as it is stored (server-sent events, real server)."""

from __future__ import annotations

import json
import queue
import threading

import httpx

from tests.api.server import serve
from tests.api.stack import Stack
from tests.support.wait import wait_until


def _reader(url: str, headers: dict[str, str], out: queue.Queue[object], stop: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(30, read=30)) as r:
            out.put(("status", r.status_code, r.headers.get("content-type", "")))
            for line in r.iter_lines():
                out.put(("line", line))
                if stop.is_set():
                    return
    except Exception as exc:  # noqa: BLE001 - reported to the test through the queue
        out.put(("error", repr(exc)))


def test_alert_changes_arrive_live(stack: Stack) -> None:
    assert stack.live is not None
    with serve(stack.app) as base:
        assert httpx.get(f"{base}/api/v1/events").status_code == 401
        out: queue.Queue[object] = queue.Queue()
        stop = threading.Event()
        thread = threading.Thread(
            target=_reader, args=(f"{base}/api/v1/events", stack.headers("viewer"), out, stop), daemon=True
        )
        thread.start()
        first = out.get(timeout=15)
        assert first == ("status", 200, "text/event-stream; charset=utf-8"), first
        wait_until(lambda: stack.live is not None and stack.live.clients == 1, timeout=10, what="the client to subscribe")

        alert = stack.open_fridge_alert("fridge-2", 9.1)
        r = httpx.post(
            f"{base}/api/v1/alerts/{alert}/ack", json={"comment": "on it"}, headers=stack.headers("staff"), timeout=30
        )
        assert r.status_code == 200

        events: list[dict[str, object]] = []
        keepalives = 0

        def got_both() -> bool:
            nonlocal keepalives
            while True:
                try:
                    item = out.get_nowait()
                except queue.Empty:
                    return len(events) >= 2
                assert isinstance(item, tuple) and item[0] != "error", item
                line = str(item[1])
                if line.startswith("data: "):
                    events.append(json.loads(line[6:]))
                elif line == ": keep-alive":
                    keepalives += 1

        wait_until(got_both, timeout=15, what="the opened and acknowledged events")
        assert [(e["alert_id"], e["kind"]) for e in events[:2]] == [(alert, "opened"), (alert, "acknowledged")]
        assert events[1]["actor"] == "staff" and events[1]["status"] == "acknowledged"
        assert events[0]["message"] == "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C)"
        # Quiet streams get keep-alives (the test stack uses 0.5 s).
        wait_until(lambda: got_both() and keepalives > 0, timeout=10, what="a keep-alive")
        stop.set()
    thread.join(10)
    wait_until(lambda: stack.live is not None and stack.live.clients == 0, timeout=10, what="the subscriber to leave")
