"""Alerts over HTTP on a real pipeline and database: actions, history, errors, filters, paging."""

from __future__ import annotations

import threading
from typing import Any

from starlette.testclient import TestClient

from tests.api.stack import Stack


def test_acknowledge_records_who_and_the_comment(stack: Stack, client: TestClient) -> None:
    alert = stack.open_fridge_alert("fridge-2", 9.1)
    stack.clock.advance(minutes=12)
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={"comment": "On my way"}, headers=stack.headers("staff"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged"
    assert body["acknowledged_by"] == "staff"
    assert body["summary"] == "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C) for 12 minutes"
    events = client.get(f"/api/v1/alerts/{alert}/events", headers=stack.headers("viewer")).json()
    assert [e["kind"] for e in events] == ["opened", "acknowledged"]
    assert events[1]["actor"] == "staff"
    assert events[1]["comment"] == "On my way"
    assert events[1]["text"] == "Acknowledged by staff"


def test_every_action_is_logged_with_its_actor(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    h_staff, h_coord = stack.headers("staff"), stack.headers("coordinator")
    assert client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=h_staff).status_code == 200
    assert client.post(f"/api/v1/alerts/{alert}/unack", json={"comment": "not me"}, headers=h_staff).status_code == 200
    r = client.post(f"/api/v1/alerts/{alert}/assign", json={"assignee": "biomed", "comment": "yours"}, headers=h_coord)
    assert r.status_code == 200 and r.json()["assignee"] == "biomed"
    r = client.post(f"/api/v1/alerts/{alert}/comments", json={"text": "vendor called"}, headers=h_staff)
    assert r.status_code == 201 and r.json()["kind"] == "comment" and r.json()["actor"] == "staff"
    r = client.post(f"/api/v1/alerts/{alert}/resolve", json={"reason": "fixed", "comment": "door"}, headers=h_coord)
    assert r.status_code == 200
    assert r.json()["status"] == "resolved" and r.json()["resolved_by"] == "coordinator"
    events = client.get(f"/api/v1/alerts/{alert}/events", headers=h_staff).json()
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("opened", "system"),
        ("acknowledged", "staff"),
        ("unacknowledged", "staff"),
        ("assigned", "coordinator"),
        ("comment", "staff"),
        ("resolved", "coordinator"),
    ]
    assert events[3]["text"] == "Assigned to biomed by coordinator"
    assert events[5]["text"] == "Resolved (fixed) by coordinator"


def test_an_alert_resolved_while_it_still_holds_comes_back_linked_both_ways(stack: Stack, client: TestClient) -> None:
    first = stack.open_fridge_alert("fridge-2", 9.1)
    r = client.post(f"/api/v1/alerts/{first}/resolve", json={"reason": "fixed"}, headers=stack.headers("staff"))
    assert r.status_code == 200
    stack.clock.advance(seconds=20)
    again = stack.open_fridge_alert("fridge-2", 9.2)  # still warm
    assert again != first
    events = client.get(f"/api/v1/alerts/{again}/events", headers=stack.headers("viewer")).json()
    assert events[0]["kind"] == "opened" and events[0]["details"]["reopened_from"] == first
    assert events[0]["text"] == f"Alert opened again (reopened from #{first})"
    old = client.get(f"/api/v1/alerts/{first}/events", headers=stack.headers("viewer")).json()
    assert old[-1]["kind"] == "reopened" and old[-1]["details"] == {"reopened_as": again}
    # Cleared by the readings, then warm again: a new alert of its own, not a reopened one.
    stack.submit(stack.reading("fridge-2", "temperature_c", 5.0))
    stack.clock.advance(minutes=1)
    third = stack.open_fridge_alert("fridge-2", 9.3)
    events = client.get(f"/api/v1/alerts/{third}/events", headers=stack.headers("viewer")).json()
    assert "reopened_from" not in events[0]["details"]


def test_missing_things_are_404(stack: Stack, client: TestClient) -> None:
    h = stack.headers("admin")
    for method, path, body in [
        ("GET", "/api/v1/alerts/999999", None),
        ("GET", "/api/v1/alerts/999999/events", None),
        ("POST", "/api/v1/alerts/999999/ack", {}),
        ("POST", "/api/v1/alerts/999999/unack", {}),
        ("POST", "/api/v1/alerts/999999/resolve", {"reason": "fixed"}),
        ("POST", "/api/v1/alerts/999999/assign", {"assignee": "it"}),
        ("POST", "/api/v1/alerts/999999/comments", {"text": "x"}),
        ("GET", "/api/v1/equipment/no-such-thing", None),
        ("GET", "/api/v1/supplies/NO-SKU", None),
        ("POST", "/api/v1/supplies/NO-SKU/counts", {"count": 3}),
        ("PATCH", "/api/v1/supplies/NO-SKU", {"par": 3}),
        ("DELETE", "/api/v1/silences/999999", None),
        ("DELETE", "/api/v1/tokens/999999", None),
        ("POST", "/api/v1/tokens", {"username": "nobody", "name": "x"}),
        ("POST", "/api/v1/silences", {"equipment_id": "nope", "duration_minutes": 5, "comment": "x"}),
    ]:
        r = client.request(method, path, json=body, headers=h)
        assert r.status_code == 404, f"{method} {path}: {r.status_code} {r.text}"
        assert r.json()["detail"], r.text


def test_acknowledging_a_resolved_alert_is_409(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    h = stack.headers("staff")
    assert client.post(f"/api/v1/alerts/{alert}/resolve", json={"reason": "fixed"}, headers=h).status_code == 200
    for action, body in [("ack", {}), ("unack", {}), ("resolve", {"reason": "fixed"})]:
        r = client.post(f"/api/v1/alerts/{alert}/{action}", json=body, headers=h)
        assert r.status_code == 409, f"{action}: {r.text}"
        assert "resolved" in r.json()["detail"]
    r = client.post(f"/api/v1/alerts/{alert}/assign", json={"assignee": "it"}, headers=stack.headers("coordinator"))
    assert r.status_code == 409


def test_acknowledging_twice_is_409(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    h = stack.headers("staff")
    assert client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=h).status_code == 200
    r = client.post(f"/api/v1/alerts/{alert}/ack", json={}, headers=h)
    assert r.status_code == 409 and "already acknowledged" in r.json()["detail"]
    assert client.post(f"/api/v1/alerts/{alert}/unack", json={}, headers=h).status_code == 200
    assert client.post(f"/api/v1/alerts/{alert}/unack", json={}, headers=h).status_code == 409


def test_two_people_resolving_at_once_one_wins_the_other_gets_409(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    barrier = threading.Barrier(2)
    results: dict[str, tuple[int, dict[str, str]]] = {}

    def resolve(role: str) -> None:
        with TestClient(stack.app) as own:
            barrier.wait()
            r = own.post(
                f"/api/v1/alerts/{alert}/resolve", json={"reason": "fixed", "comment": role}, headers=stack.headers(role)
            )
            results[role] = (r.status_code, r.json())

    threads = [threading.Thread(target=resolve, args=(role,)) for role in ("staff", "coordinator")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    codes = sorted(code for code, _ in results.values())
    assert codes == [200, 409], results
    winner = next(role for role, (code, _) in results.items() if code == 200)
    loser = next(role for role, (code, _) in results.items() if code == 409)
    assert f"already resolved by {winner}" in results[loser][1]["detail"]
    shown = client.get(f"/api/v1/alerts/{alert}", headers=stack.headers("viewer")).json()
    assert shown["status"] == "resolved" and shown["resolved_by"] == winner
    events = client.get(f"/api/v1/alerts/{alert}/events", headers=stack.headers("viewer")).json()
    assert [e["actor"] for e in events if e["kind"] == "resolved"] == [winner]


def test_422_names_the_field(stack: Stack, client: TestClient) -> None:
    alert = stack.new_alert()
    h = stack.headers("admin")
    cases = [
        ("POST", f"/api/v1/alerts/{alert}/resolve", {"reason": "bored"}, "reason"),
        ("POST", f"/api/v1/alerts/{alert}/resolve", {}, "reason"),
        ("POST", f"/api/v1/alerts/{alert}/resolve", {"reason": "other", "comment": " "}, "comment"),
        ("POST", f"/api/v1/alerts/{alert}/comments", {"text": ""}, "text"),
        ("POST", f"/api/v1/alerts/{alert}/ack", {"comment": "x", "extra": 1}, "extra"),
        ("GET", "/api/v1/alerts?limit=0", None, "limit"),
        ("GET", "/api/v1/alerts?limit=201", None, "limit"),
        ("GET", "/api/v1/alerts?state=sleeping", None, "state"),
        ("GET", "/api/v1/alerts?severity=apocalyptic", None, "severity"),
        ("GET", "/api/v1/alerts?cursor=not-a-cursor", None, "cursor"),
        ("GET", "/api/v1/queue?cursor=WzFd", None, "cursor"),
        ("GET", "/api/v1/alerts/abc", None, "alert_id"),
        ("POST", "/api/v1/supplies/GLV-M/counts", {"count": -1}, "count"),
        ("POST", "/api/v1/supplies/GLV-M/counts", {}, "count"),
        ("POST", "/api/v1/silences", {"duration_minutes": 5, "comment": "x"}, "equipment_id"),
        ("POST", "/api/v1/silences", {"team": "it", "comment": "x"}, "ends_at"),
        ("POST", "/api/v1/silences", {"team": "it", "ends_at": "2026-11-26T10:00:00", "comment": "x"}, "ends_at"),
        ("POST", "/api/v1/silences", {"team": "it", "ends_at": "2020-01-01T00:00:00Z", "comment": "x"}, "ends_at"),
        ("POST", "/api/v1/users", {"username": "x", "password": "short", "role": "staff"}, "password"),
        ("POST", "/api/v1/users", {"username": "x y", "password": "long enough pw", "role": "staff"}, "username"),
        ("POST", "/api/v1/users", {"username": "z", "password": "long enough pw", "role": "king"}, "role"),
        ("POST", "/api/v1/tokens", {"username": "viewer", "name": "x", "role": "admin"}, "role"),
    ]
    for method, path, body, field in cases:
        r = client.request(method, path, json=body, headers=h)
        assert r.status_code == 422, f"{method} {path} {body}: {r.status_code} {r.text}"
        assert r.json()["field"] == field, f"{method} {path} {body}: {r.text}"
        assert r.json()["detail"]


def test_duplicate_user_is_409(stack: Stack, client: TestClient) -> None:
    r = client.post(
        "/api/v1/users", json={"username": "staff", "password": "long enough pw", "role": "staff"}, headers=stack.headers("admin")
    )
    assert r.status_code == 409


def test_filters(stack: Stack, client: TestClient) -> None:
    fridge = stack.open_fridge_alert("fridge-2", 9.1)
    hot = stack.open_fridge_alert("fridge-1", 13.0)  # above the critical line
    stack.submit(stack.reading("printer-1", "toner.black.pct", 4.0, unit="%"))
    h = stack.headers("viewer")

    def ids(query: str) -> set[int]:
        r = client.get(f"/api/v1/alerts?{query}", headers=h)
        assert r.status_code == 200, r.text
        return {a["id"] for a in r.json()["items"]}

    everything = ids("")
    assert len(everything) == 3
    assert ids("equipment=fridge-2") == {fridge}
    assert ids("severity=critical") == {hot}
    assert ids("team=it") == everything - {fridge, hot}
    assert ids("state=open") == everything
    assert ids("state=resolved") == set()
    assert ids("sku=GLV-M") == set()
    client.post(f"/api/v1/alerts/{fridge}/resolve", json={"reason": "fixed"}, headers=stack.headers("staff"))
    assert ids("state=resolved") == {fridge}
    assert ids("state=active") == everything - {fridge}


def test_cursor_paging_visits_every_alert_once(stack: Stack, client: TestClient) -> None:
    opened = [stack.new_alert() for _ in range(7)]
    h = stack.headers("viewer")
    for path in ("/api/v1/alerts", "/api/v1/queue"):
        seen: list[int] = []
        cursor = None
        for _ in range(10):
            url = f"{path}?limit=3" + (f"&cursor={cursor}" if cursor else "")
            page = client.get(url, headers=h).json()
            seen += [a["id"] for a in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(opened), path
        assert len(seen) == len(set(seen)), path


def test_queue_orders_by_severity_then_age_with_counts_and_low_supplies(stack: Stack, client: TestClient) -> None:
    older = stack.open_fridge_alert("fridge-2", 9.0)
    stack.clock.advance(minutes=5)
    newer = stack.new_alert(9.5)
    stack.clock.advance(minutes=5)
    critical = stack.open_fridge_alert("fridge-1", 14.0)
    stack.submit(stack.reading("printer-1", "toner.black.pct", 4.0, unit="%"))
    acked = client.post(f"/api/v1/alerts/{newer}/ack", json={}, headers=stack.headers("staff"))
    assert acked.status_code == 200
    q = client.get("/api/v1/queue", headers=stack.headers("viewer")).json()
    ids = [a["id"] for a in q["items"]]
    assert ids[:3] == [critical, older, newer]
    assert q["items"][3]["severity"] == "info"
    assert q["by_severity"] == {"critical": 1, "warning": 2, "info": 1}
    assert q["total_open"] == 4 and q["acknowledged"] == 1
    assert q["low_supply_count"] == 1
    assert q["low_supplies"][0]["sku"] == "GLV-M"
    assert q["low_supplies"][0]["text"] == "Nitrile gloves M in Ward 3: 4 boxes left (reorder at 8)"
    assert "pharmacy" in q["teams"] and "it" in q["teams"]
    only_it = client.get("/api/v1/queue?team=it", headers=stack.headers("viewer")).json()
    assert [a["team"] for a in only_it["items"]] == ["it"]
    assert only_it["total_open"] == 1


def test_equipment_board_shows_state_last_seen_and_key_values(stack: Stack, client: TestClient) -> None:
    stack.submit(
        stack.reading("printer-1", "toner.black.pct", 72.0, unit="%"),
        stack.reading("ups-1", "ups.battery.charge_pct", 100.0, unit="%"),
        stack.reading("fridge-1", "temperature_c", 4.2, unit="°C"),
    )
    stack.open_fridge_alert("fridge-2", 9.1)
    stack.clock.advance(minutes=20)
    stack.submit(stack.reading("fridge-1", "temperature_c", 4.3, unit="°C"))
    board = {e["id"]: e for e in client.get("/api/v1/equipment", headers=stack.headers("viewer")).json()}
    assert board["fridge-1"]["state"] == "ok"
    assert board["fridge-1"]["key_values"][0]["text"] == "4.3 °C"
    assert board["fridge-2"]["state"] == "warning" and board["fridge-2"]["state_text"] == "1 open alert"
    assert board["printer-1"]["state"] == "stale"
    assert board["printer-1"]["state_text"] == "Not heard from for 20 minutes"
    assert board["printer-1"]["key_values"][0] == {
        "metric": "toner.black.pct", "label": "Toner black", "value": 72.0, "unit": "%", "text": "72%",
        "at": "2026-11-26T09:00:00Z",
    }
    assert board["ups-1"]["key_values"][0]["label"] == "Battery charge"
    detail = client.get("/api/v1/equipment/fridge-2", headers=stack.headers("viewer")).json()
    assert len(detail["alerts"]) == 1 and detail["alerts"][0]["subject"] == "fridge-2"
    fridges = client.get("/api/v1/equipment?kind=fridge", headers=stack.headers("viewer")).json()
    assert {e["id"] for e in fridges} == {"fridge-1", "fridge-2"}


def test_health_readiness_metrics(stack: Stack, client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": "ok", "schema": "ok", "pipeline": "ok"}
    m = client.get("/metrics")
    assert m.status_code == 200 and m.text.startswith("facility_up")
    assert m.headers["content-type"].startswith("text/plain")
    stack.stop()
    r = client.get("/readyz")
    assert r.status_code == 503 and r.json()["checks"]["pipeline"] == "not running"


def test_silences_are_created_listed_and_ended(stack: Stack, client: TestClient) -> None:
    h = stack.headers("coordinator")
    r = client.post(
        "/api/v1/silences", json={"equipment_id": "fridge-2", "duration_minutes": 90, "comment": "defrost"}, headers=h
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["created_by"] == "coordinator" and made["ends_at"] == "2026-11-26T10:30:00Z"
    assert [s["id"] for s in client.get("/api/v1/silences", headers=h).json()] == [made["id"]]
    ended = client.delete(f"/api/v1/silences/{made['id']}", headers=h)
    assert ended.status_code == 200 and ended.json()["ends_at"] == "2026-11-26T09:00:00Z"
    assert client.get("/api/v1/silences", headers=h).json() == []


def test_nul_characters_are_a_422_naming_the_field(stack: Stack, client: TestClient) -> None:
    h = stack.headers("staff")
    alert = stack.new_alert()
    r = client.get("/api/v1/equipment?kind=%00", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "kind"
    r = client.get("/api/v1/equipment/fr%00idge", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "path"
    r = client.post(f"/api/v1/alerts/{alert}/comments", json={"text": "a\u0000b"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "text"


def test_reused_queue_pages_never_hide_a_change(stack: Stack, client: TestClient) -> None:
    """Pages and counts are reused for a moment under load, but every change shows at once."""
    h = stack.headers("viewer")
    first = stack.new_alert()
    assert [a["id"] for a in client.get("/api/v1/queue", headers=h).json()["items"]] == [first]
    second = stack.new_alert()  # through the pipeline
    q = client.get("/api/v1/queue", headers=h).json()
    assert {a["id"] for a in q["items"]} == {first, second} and q["total_open"] == 2
    client.post(f"/api/v1/alerts/{first}/ack", json={}, headers=stack.headers("staff"))
    q = client.get("/api/v1/queue", headers=h).json()
    assert q["acknowledged"] == 1
    assert next(a for a in q["items"] if a["id"] == first)["status"] == "acknowledged"
    client.post(f"/api/v1/alerts/{second}/assign", json={"assignee": "biomed"}, headers=stack.headers("coordinator"))
    q = client.get("/api/v1/queue", headers=h).json()
    assert next(a for a in q["items"] if a["id"] == second)["assignee"] == "biomed"
    listed = client.get("/api/v1/alerts", headers=h).json()["items"]
    assert next(a for a in listed if a["id"] == second)["assignee"] == "biomed"
    client.post("/api/v1/supplies/GLV-M/counts", json={"count": 50}, headers=stack.headers("staff"))
    assert client.get("/api/v1/queue", headers=h).json()["low_supply_count"] == 0
    stack.clock.advance(minutes=3)  # the agent's clock moved: durations are recomputed
    q = client.get("/api/v1/queue", headers=h).json()
    assert all(a["summary"].endswith("for 3 minutes") for a in q["items"])


def test_requests_for_the_same_page_arriving_together_share_one_query(stack: Stack) -> None:
    """Fifty phones refreshing the queue at once after a change cost one queue query, and none of
    them is handed a page computed before the change."""
    import asyncio

    from sqlalchemy import event

    assert stack.services is not None
    stack.new_alert()
    queue_queries: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM alerts" in statement and "ORDER BY alerts.severity DESC" in statement:
            queue_queries.append(statement)

    event.listen(stack.db, "before_cursor_execute", count)
    try:

        async def fifty() -> list[Any]:
            services = stack.services
            assert services is not None
            return await asyncio.gather(*(services.queue_async(team=None, cursor=None, limit=50) for _ in range(50)))

        views = asyncio.run(fifty())
        assert len(queue_queries) == 1
        assert all(v is views[0] for v in views) and views[0].total_open == 1
        second = stack.new_alert()  # a change: the reused page must not be served any more
        views = asyncio.run(fifty())
        assert len(queue_queries) == 2
        assert {v.total_open for v in views} == {2} and second in {a.id for a in views[0].items}
    finally:
        event.remove(stack.db, "before_cursor_execute", count)
