"""POST /supplies/{sku}/counts with `at`: a count copied from a paper sheet goes into the history in
time order; on hand stays at the latest count; the count after it is re-classified; the limit holds.
And a PAR / reorder point change is in the audit log with who made it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from starlette.testclient import TestClient

from agent.storage.models import AuditEntry
from tests.api.stack import Stack


def test_a_backdated_count_lands_in_time_order(stack: Stack, client: TestClient) -> None:
    staff = stack.headers("staff")
    t0 = stack.clock()
    assert client.post("/api/v1/supplies/GLV-M/counts", json={"count": 100}, headers=staff).status_code == 201
    stack.clock.advance(days=2)
    assert client.post("/api/v1/supplies/GLV-M/counts", json={"count": 60}, headers=staff).status_code == 201
    stack.clock.advance(days=1)
    # The paper sheet from the day in between: 80 on the shelf.
    r = client.post("/api/v1/supplies/GLV-M/counts",
                    json={"count": 80, "at": (t0 + timedelta(days=1)).isoformat(), "comment": "sheet"}, headers=staff)
    assert r.status_code == 201, r.text
    assert r.json()["on_hand"] == 60  # the latest count still says what is on the shelf
    items = client.get("/api/v1/supplies/GLV-M/counts", headers=staff).json()["items"]
    oldest_first = list(reversed(items))
    assert [(i["before"], i["after"], i["classification"]) for i in oldest_first] == [
        (4, 100, "restock"), (100, 80, "use"), (80, 60, "use")]
    assert oldest_first[1]["comment"] == "sheet"
    assert client.get("/api/v1/supplies/GLV-M", headers=staff).json()["daily_use"] == 40 / 2

    too_old = (stack.clock() - timedelta(days=31)).isoformat()
    for body, field in (({"count": 5, "at": too_old}, "at"), ({"count": 5, "at": "2026-01-01T00:00:00"}, "at"),
                        ({"count": 5, "at": (stack.clock() + timedelta(hours=1)).isoformat()}, "at")):
        r = client.post("/api/v1/supplies/GLV-M/counts", json=body, headers=staff)
        assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_a_settings_change_is_audited_with_who_made_it(stack: Stack, client: TestClient) -> None:
    r = client.patch("/api/v1/supplies/GLV-M", json={"par": 30, "reorder_point": 12}, headers=stack.headers("coordinator"))
    assert r.status_code == 200, r.text
    with stack.db.connect() as conn:
        [row] = conn.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.subject, AuditEntry.details)).all()
    assert row == ("coordinator", "supply.settings", "GLV-M", {"par": [20.0, 30.0], "reorder_point": [8.0, 12.0]})
