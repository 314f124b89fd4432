"""Eight weeks of a clinic through the real agent (MQTT counts and fridge readings with their own
timestamps, a backdated count and reassignments over HTTP, an injected clock), then last week's
report from `facility-agent weekly-summary --week 2026-W06 --send` (aiosmtpd) and from
/reports/weekly. Every number is checked against a computation made here, and the email and the
page carry the same suggestions."""

from __future__ import annotations

import json
import math
import re
import statistics
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from agent.cli import main as cli
from agent.config import load_config
from agent.runtime import Runtime
from rules.durations import format_duration
from tests.e2e.test_ops_endpoints import free_port
from tests.reports.smtp_server import PASSWORD, SmtpServer
from tests.support.clock import FakeClock
from tests.support.mosquitto import Mosquitto, QosPublisher, remove_session
from tests.support.running_agent import RunningAgent
from tests.support.wait import wait_until

pytestmark = pytest.mark.slow

WEEK = "2026-W06"  # Monday 2 - Sunday 8 February 2026 (UTC site)
WEEK_START, WEEK_END = datetime(2026, 2, 2, tzinfo=UTC), datetime(2026, 2, 9, tzinfo=UTC)
FIRST_DAY = datetime(2025, 12, 15, 9, 0, tzinfo=UTC)  # eight weeks before the end of the week
Z = statistics.NormalDist().inv_cdf(0.95)


def config_text(tmp: Path, api_port: int, broker_port: int, smtp: SmtpServer) -> str:
    s = smtp.smtp_settings()
    return f"""
site: {{id: riverside, name: Riverside Clinic, timezone: UTC}}
database: {{data_dir: {tmp / "data"}, flush_interval: 20ms}}
api: {{port: {api_port}, count_backfill: 14d, cookie_secure: false}}  # plain http on loopback
mqtt: {{url: "mqtt://127.0.0.1:{broker_port}", client_id: agent-weekly-e2e}}
alerting: {{flap_threshold: 3, tick_interval: 1s}}
equipment:
  - {{id: fridge-1, name: Vaccine fridge, kind: fridge, location: Pharmacy, team: pharmacy}}
  - {{id: printer-1, name: Printer 1, kind: printer, location: Ward 2, team: it, silent_after: 1h}}
rules:
  - {{id: fridge-temp, metric: temperature_c, match: {{kinds: [fridge]}}, outside: [2, 8], clear_inside: [2.5, 7.5],
     team: pharmacy}}
supplies:
  - {{sku: GLV-M, name: Gloves M, unit: box, location: Store A, par: 40, reorder_point: 10, lead_time_days: 2}}
  - {{sku: PAD-S, name: Gauze pads, unit: pack, location: Store A, par: 100, reorder_point: 30, lead_time_days: 2}}
  - {{sku: NEW-1, name: Wound strips, unit: box, location: Store A, par: 20, reorder_point: 5, lead_time_days: 1}}
notifications:
  smtp: {{host: 127.0.0.1, port: {s["port"]}, security: starttls, username: {s["username"]},
          password_env: TEST_SMTP_PASSWORD, sender: agent@riverside.example, ca_file: "{s["ca_file"]}", timeout: 5s}}
  weekly_summary: {{recipients: [coordinator@riverside.example]}}
"""


def glove_counts() -> list[tuple[datetime, float]]:
    """Daily counts at 09:00 for 56 days: 3 then 5 boxes a day, 4 on Sundays; restocked to 40 at 08:00
    after a day it ran out. It runs out on Friday 6 February."""
    out: list[tuple[datetime, float]] = []
    stock = 40.0
    for day in range(56):
        at = FIRST_DAY + timedelta(days=day)
        if stock <= 0:
            stock = 40.0
            out.append((at - timedelta(hours=1), stock))
        if day:
            stock = max(stock - (4 if at.weekday() == 6 else (3 if day % 2 else 5)), 0.0)
        out.append((at, stock))
    return out


def independent_stock(counts: list[tuple[datetime, float]], *, lead: float, review: float = 7) -> tuple[int, int, float, float]:
    """Daily use over the 28 whole days before the week's end, from consecutive counts in time order."""
    first = max(WEEK_END - timedelta(days=28), min(at for at, _ in counts).replace(hour=0))
    totals = [0.0] * (WEEK_END - first).days
    ordered = sorted(counts)
    for (_, a), (at, b) in zip(ordered, ordered[1:], strict=False):
        if b < a and at >= first:
            totals[(at - first).days] += a - b
    mean, sigma = statistics.fmean(totals), statistics.pstdev(totals)
    rop = math.ceil(mean * lead + Z * sigma * math.sqrt(lead))
    return rop, math.ceil(rop + mean * review), mean, sigma


def alerts_replayed(values: list[float], clear_high: float) -> int:
    """Fridge alerts (above 8 fires, inside [2.5, clear_high] clears), counted by hand."""
    alerts, open_ = 0, False
    for v in values:
        if not open_ and (v > 8 or v < 2):
            alerts, open_ = alerts + 1, True
        elif open_ and 2.5 <= v <= clear_high:
            open_ = False
    return alerts


def alerts_with_hold(series: list[tuple[datetime, float]], hold_min: int) -> int:
    """Fridge alerts when the condition must last ``hold_min`` minutes (until the clearing reading)."""
    alerts, since = 0, None
    for at, v in series:
        if since is None and (v > 8 or v < 2):
            since = at
        elif since is not None and 2.5 <= v <= 7.5:
            alerts += (at - since) >= timedelta(minutes=hold_min)
            since = None
    return alerts


FLAPPY = [5.0, 8.3, 7.4, 8.2, 7.3, 8.4, 7.4, 8.1, 7.4, 8.2, 6.0, 5.0]  # every 5 min from 4 Feb 10:00
GENUINE = [5.0, 9.5, 9.8, 9.9, 6.0]  # every 5 min from 5 Feb 10:00


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'").replace("&gt;", ">").replace("&amp;", "&")


def test_eight_weeks_to_the_weekly_report_in_email_and_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", PASSWORD)
    smtp = SmtpServer(tmp_path).start()
    port = free_port()
    # Sunday evening: every count is in the past, and Monday's scheduled email is not due yet.
    clock = FakeClock(WEEK_END - timedelta(hours=4))
    with Mosquitto(tmp_path / "mosquitto") as broker:
        path = tmp_path / "agent.yaml"
        path.write_text(config_text(tmp_path, port, broker.port, smtp))
        runtime = Runtime(load_config(str(path)), clock=clock).build()
        (tmp_path / "pw").write_text("correct horse battery")
        for user, role, team in (("cora", "coordinator", "pharmacy"), ("ines", "staff", "facilities"),
                                 ("pat", "staff", "pharmacy")):
            assert cli(["-c", str(path), "user", "add", user, "--role", role, "--team", team,
                        "--password-file", str(tmp_path / "pw")]) == 0
        assert cli(["-c", str(path), "token", "create", "--user", "cora", "--name", "tests"]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}/api/v1", headers={"Authorization": f"Bearer {token}"},
                           timeout=10)
        pub = QosPublisher(broker.port, "clinic-devices")
        gloves = glove_counts()
        pads = [(FIRST_DAY + timedelta(days=d), 260.0 - 2 * d) for d in range(56)]
        strips = [(WEEK_START + timedelta(days=d, hours=9), v) for d, v in enumerate([12.0, 8.0, 4.0, 0.0, 10.0])]

        def stored(sku: str, n: int) -> bool:
            r = api.get(f"/supplies/{sku}/counts", params={"limit": 500})
            return r.status_code == 200 and len(r.json()["items"]) >= n

        try:
            with RunningAgent(runtime):
                wait_until(lambda: runtime.mqtt is not None and runtime.mqtt.connected, timeout=20, what="agent connected")
                # The shelf of gloves reports one count late: it is entered by hand afterwards, backdated.
                late = next(i for i, (at, _) in enumerate(gloves) if at >= WEEK_START + timedelta(days=1))
                for sku, series in (("GLV-M", [c for i, c in enumerate(gloves) if i != late]), ("PAD-S", pads),
                                    ("NEW-1", strips)):
                    for at, value in series:
                        pub.publish(f"facility/riverside/supplies/{sku}/count", json.dumps({"value": value, "ts": at.isoformat()}))
                    pub.wait_acked()
                    wait_until(lambda sku=sku, n=len(series): stored(sku, n), timeout=60, what=f"{sku} counts stored")
                at, value = gloves[late]
                r = api.post("/supplies/GLV-M/counts", json={"count": value, "at": at.isoformat(), "comment": "paper sheet"})
                assert r.status_code == 201, r.text

                # The fridge flaps on Wednesday morning, and really warms up on Thursday.
                for start, values in ((WEEK_START + timedelta(days=2, hours=10), FLAPPY),
                                      (WEEK_START + timedelta(days=3, hours=10), GENUINE)):
                    for i, v in enumerate(values):
                        ts = start + timedelta(minutes=5 * i)
                        clock.set(ts)
                        pub.publish("facility/riverside/equipment/fridge-1/temperature_c",
                                    json.dumps({"value": v, "ts": ts.isoformat()}))
                        pub.wait_acked()
                        if values is GENUINE and v == 9.8:
                            # Passed between teams five times while it is open.
                            def open_alert() -> int | None:
                                items = api.get("/alerts", params={"state": "active"}).json()["items"]
                                return next((a["id"] for a in items if a["rule_id"] == "fridge-temp"), None)

                            wait_until(lambda: open_alert() is not None, timeout=20, what="the fridge alert")
                            alert = open_alert()
                            for who in ("ines", "pat", "ines", "pat", "ines"):
                                r = api.post(f"/alerts/{alert}/assign", json={"assignee": who})
                                assert r.status_code == 200, r.text
                    wait_until(lambda: not [a for a in api.get("/alerts", params={"state": "active"}).json()["items"]
                                            if a["rule_id"] == "fridge-temp"], timeout=20, what="the fridge alerts to clear")
                fridge = [a for a in api.get("/alerts", params={"limit": 200}).json()["items"] if a["rule_id"] == "fridge-temp"]

                # The printer goes quiet on Thursday afternoon and is heard from again on Saturday.
                def printer(ts: datetime) -> None:
                    clock.set(ts)
                    pub.publish("facility/riverside/equipment/printer-1/toner.black.pct",
                                json.dumps({"value": 50, "ts": ts.isoformat()}))
                    pub.wait_acked()

                def silent() -> list[dict]:
                    return [a for a in api.get("/alerts", params={"limit": 200}).json()["items"]
                            if a["rule_id"] == "equipment-silent.printer-1"]

                printer(WEEK_START + timedelta(days=3, hours=12))
                clock.set(WEEK_START + timedelta(days=5, hours=12))
                wait_until(lambda: any(a["status"] == "open" for a in silent()), timeout=20, what="the printer silent")
                printer(WEEK_START + timedelta(days=5, hours=12))
                wait_until(lambda: all(a["status"] == "resolved" for a in silent()), timeout=20, what="the printer back")
                # Quiet again from Saturday 13:00 until it reports on Tuesday after the week.
                clock.set(WEEK_END + timedelta(days=1, hours=8))
                wait_until(lambda: len(silent()) == 2, timeout=20, what="the printer silent again")
                printer(WEEK_END + timedelta(days=1, hours=8))
                wait_until(lambda: all(a["status"] == "resolved" for a in silent()), timeout=20, what="the printer back")
                printer_alerts = silent()

                # The page, for a signed-in coordinator.
                web = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10)
                login = web.get("/login")
                csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
                assert csrf is not None
                web.post("/login", data={"username": "cora", "password": "correct horse battery",
                                         "csrf_token": csrf.group(1), "next": "/"})
                page = web.get("/reports/weekly", params={"week": WEEK})
                assert page.status_code == 200, page.text
                page_text = text_of(page.text)
        finally:
            api.close()
            pub.close(remove=True)
            remove_session(broker.port, "agent-weekly-e2e")

        # The same week by the command, emailed.
        assert cli(["-c", str(path), "weekly-summary", "--week", WEEK, "--send"]) == 0
        printed = capsys.readouterr().out
    smtp.stop()
    [mail] = smtp.messages()
    assert mail.rcpt_tos == ["coordinator@riverside.example"]
    email_text = mail.message.get_body(preferencelist=("plain",)).get_content()
    email_html = text_of(mail.message.get_body(preferencelist=("html",)).get_content())
    assert email_text.replace("\r\n", "\n") == printed

    expected: list[str] = []
    # Gloves ran out: raise, with the formula's figures.
    rop, par, mean, sigma = independent_stock(gloves, lead=2)
    assert min(v for at, v in gloves if WEEK_START <= at < WEEK_END) == 0
    assert rop > 10
    change = f"raise the reorder point 10 → {rop}" + (
        f" and raise PAR 40 → {par}" if par > 40 else f"; PAR stays at 40 (the formula gives {par})" if par < 40 else "")
    expected.append(f"Gloves M (GLV-M): it ran out: {change}")
    expected.append(f"PAR {rop} + {mean:.2f} × 7-day review = {rop + mean * 7:.2f} → {par}.")
    expected.append(f"Average daily use {mean:.2f} boxes over 28 days, σ {sigma:.2f}")
    expected.append(f"safety stock {Z:.3f} × {sigma:.2f} × √2 = {Z * sigma * math.sqrt(2):.2f}")
    # Pads sat above PAR all week: lower, and what it frees.
    p_rop, p_par, _, _ = independent_stock(pads, lead=2)
    assert (p_rop, p_par) == (4, 18)
    expected.append(f"Gauze pads (PAD-S): it stayed above PAR all week: lower the reorder point 30 → {p_rop} and "
                    f"lower PAR 100 → {p_par}, {100 - p_par} packs less on the shelf")
    # Strips: too little history to say.
    expected.append("Wound strips (NEW-1): no change: only 7 days of counts, and 14 are needed")

    # The fridge: the clearing threshold that removes most flaps, checked by brute force here.
    values = FLAPPY + GENUINE
    before = alerts_replayed(values, 7.5)
    assert before == len(fridge) == 6
    flaps = 4  # all but the first alert of Wednesday's burst
    candidates = sorted({v for v in values if 2.5 < v < 7.5}, reverse=True)
    best = next(c for c in candidates if 2 * (before - alerts_replayed(values, c)) > flaps)
    after = alerts_replayed(values, best)
    expected.append(f"Rule fridge-temp on fridge-1 flapped: {before} alerts from its readings, {flaps} of them flaps. "
                    f"Clear at {best:g} instead: {before - after} fewer alerts.")
    expected.append(f"clear_inside: [2.5, {best:g}] # was [2.5, 7.5]")
    timed = [(WEEK_START + timedelta(days=2, hours=10, minutes=5 * i), v) for i, v in enumerate(FLAPPY)] + [
        (WEEK_START + timedelta(days=3, hours=10, minutes=5 * i), v) for i, v in enumerate(GENUINE)]
    assert alerts_with_hold(timed, 0) == before
    hold = next(h for h in (1, 2, 5, 10, 15, 20, 30, 45, 60) if 2 * (before - alerts_with_hold(timed, h)) > flaps)
    kept = alerts_with_hold(timed, hold)
    expected.append(f"Or wait {hold} minutes before alerting: {before - kept} fewer alerts.")
    expected.append(f"{kept} genuine alert{'' if kept == 1 else 's'} delayed by {hold} minutes.")
    expected.append(f"for: {hold}m")
    self_cleared = sum(1 for a in fridge if a["resolve_reason"] == "cleared" and not a["acknowledged_at"])
    expected.append(f"Rule fridge-temp: {self_cleared} of {len(fridge)} alerts cleared by themselves before anyone "
                    "acknowledged them.")
    expected.append("Alerts of fridge-temp on fridge-1 were reassigned from team pharmacy to another team 5 times in "
                    "30 days, most often to facilities: route them to facilities.")
    expected.append("team: facilities # was pharmacy")

    # The printer: silent from an hour after its Thursday reading until Saturday's, and from Saturday
    # 13:00 past the end of the week: 47 h + 35 h of 168.
    spans = sorted((max(datetime.fromisoformat(a["opened_at"]), WEEK_START),
                    min(datetime.fromisoformat(a["resolved_at"]), WEEK_END)) for a in printer_alerts)
    assert spans[0] == (WEEK_START + timedelta(days=3, hours=13), WEEK_START + timedelta(days=5, hours=12))
    offline = sum((b - a for a, b in spans if b > a), timedelta(0))
    assert offline == timedelta(hours=82)
    # Named by its id: the equipment table isn't filled from the config file (the report reads names there).
    expected.append(f"Printer 1 was offline or silent for {format_duration(offline)}, "
                    f"{100 * offline / timedelta(days=7):.1f} % of the week")
    squash = lambda s: re.sub(r"\s+", " ", s)  # noqa: E731
    for line in expected:
        assert line in squash(email_text), (line, email_text)
        assert line in email_html, (line, email_html)
        assert line in page_text, (line, page_text)
