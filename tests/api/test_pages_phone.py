"""The pages as people use them, at 390 px in a real browser (Debian's Chromium through Playwright).

A tech on a phone: the alert's text is its link, an action returns to the same card with a
notice naming the alert, Resolve is the next step once acknowledged and its form has one
Resolve button, resolving a condition that still holds is warned about and, done anyway, links
the alert that comes back. A coordinator: display names, Assign from a list of people, who was
told. Words: units, no repeated location, the rule in words, times in the site's zone with
"ago". The restock list explains each quantity; the supplies page shows low and out items first.
Layout: no label runs into its value (bounding boxes), no sideways scroll.

Screenshots of the queue, an alert, an equipment page and the restock list, at phone and desktop
width, go to test-artifacts/, and to docs/screenshots/ when FACILITY_UPDATE_SCREENSHOTS=1.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from agent.services import auth
from agent.storage.db import create_db_engine, session_factory
from agent.storage.models import DeliveryAttempt, OutboxItem
from api.app import create_app
from tests.api.server import serve
from tests.api.stack import PASSWORD, Stack
from tests.api.test_browser import ARGS, ARTIFACTS, CHROMIUM, DESKTOP, PHONE, ROOT, fits_the_width
from tests.support.db import migrate

pytestmark = pytest.mark.browser
ZONE = "America/New_York"  # the stack's clock starts at 09:00 UTC: 04:00 EST on the pages

# Labels and values that sit side by side: [label, value] element pairs whose boxes must not touch.
PAIRS_JS = """(pairs) => {
  const bad = [];
  for (const [labels, values] of pairs) {
    const ks = document.querySelectorAll(labels), vs = document.querySelectorAll(values);
    ks.forEach((k, i) => {
      const v = vs[i]; if (!v) return;
      const a = k.getBoundingClientRect(), b = v.getBoundingClientRect();
      if (a.width === 0 || b.width === 0) return;
      const below = b.top >= a.bottom - 1, beside = b.left - a.right >= 4;
      if (!below && !beside) bad.push(`${k.innerText} | ${v.innerText}`);
    });
  }
  return bad;
}"""


@pytest.fixture(scope="module")
def stack_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """SQLite only: the pages read the same services on both backends (tests/api covers both)."""
    url = migrate(f"sqlite:///{tmp_path_factory.mktemp('phone-db') / 'facility.db'}")
    stack = Stack(url=url, db=create_db_engine(url))
    yield stack
    stack.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("FACILITY_TEST_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and FACILITY_TEST_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


def sign_in(page: object, base: str, username: str) -> None:
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(f"{base}/")  # type: ignore[attr-defined]


def clinic(stack: Stack) -> tuple[int, int]:
    """A low-toner printer and a warm fridge; a pharmacist on the pharmacy team. Returns (toner, fridge)."""
    assert stack.services is not None
    auth.add_user(session_factory(stack.db), username="pat", password=PASSWORD, role="staff",
                  now=stack.clock(), display_name="Pat Pharmacist", team="pharmacy")
    stack.submit(
        stack.reading("printer-1", "toner.black.pct", 3.0, unit="%"),
        stack.reading("ups-1", "ups.battery.charge_pct", 100.0, unit="%"),
        stack.reading("fridge-1", "temperature_c", 5.0, unit="°C"),
    )
    toner = stack.services.list_alerts(state="open", severity=None, team=None, equipment="printer-1", sku=None,
                                       cursor=None, limit=5).items[0].id
    fridge = stack.open_fridge_alert("fridge-2", 9.4)
    stack.clock.advance(minutes=12)
    return toner, fridge


def app_in_zone(stack: Stack) -> object:
    return create_app(stack.services, session_secret="test-secret-" + "x" * 32, secure_cookies=False, site_name="Test clinic", timezone=ZONE)  # type: ignore[arg-type]


def at_card(page: object, alert_id: int) -> None:
    """Back on the page the form came from, scrolled to the alert's card."""
    page.wait_for_url(lambda url: url.endswith(f"#alert-{alert_id}") and "notice=" in url)  # type: ignore[attr-defined]


def in_view(page: object, locator: object) -> bool:
    box = locator.bounding_box()  # type: ignore[attr-defined]
    height = page.viewport_size["height"]  # type: ignore[attr-defined]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def no_overlaps(page: object, *pairs: tuple[str, str]) -> None:
    bad = page.evaluate(PAIRS_JS, [list(p) for p in pairs])  # type: ignore[attr-defined]
    assert not bad, f"labels run into their values: {bad}"


def test_a_tech_on_a_phone_acknowledges_resolves_and_sees_the_alert_come_back(stack: Stack, browser: object) -> None:
    toner, fridge = clinic(stack)
    with serve(app_in_zone(stack)) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, base, "staff")
        card = page.locator(f"#alert-{toner}")
        text = card.inner_text()
        # 4. no repeated location; a level doesn't "stand still for 2 seconds"; times in the site's zone
        assert "Ward 3 printer is at 3%" in text and "in Ward 3" not in text
        assert "04:00 EST" in text and "(12 minutes ago)" in text
        assert fits_the_width(page), "the queue scrolls sideways at 390 px"

        # 3. the alert's text is the link to its page
        card.locator(".summary a").click()
        page.wait_for_url(f"{base}/alerts/{toner}")
        page.go_back()

        # 3. acknowledge: back at the same card, the notice names the alert
        card = page.locator(f"#alert-{toner}")
        card.locator("summary", has_text="Acknowledge").click()
        card.locator("form[action$='/ack'] button[type=submit]").click()
        at_card(page, toner)
        card = page.locator(f"#alert-{toner}")
        assert f"Acknowledged #{toner} (Ward 3 printer is at 3%" in card.locator(".notice").inner_text()
        assert in_view(page, card.locator(".notice")), "the notice is off screen"
        page.screenshot(path=str(ARTIFACTS / "acknowledged-phone.png"))
        assert not page.locator("main > .notice").is_visible()  # said once, on the card
        assert "Acknowledged by Staff" in card.inner_text()  # 2. the display name
        # 3. once acknowledged, the primary button is Resolve
        assert card.locator(".primary").inner_text().strip() == "Resolve"

        # 1. warned before resolving a condition that still holds; 3. one Resolve button
        card.locator("summary", has_text="Resolve").click()
        card.screenshot(path=str(ARTIFACTS / "resolve-warning-phone.png"))
        warn = card.locator(".warn")
        assert warn.inner_text() == "Ward 3 printer still reports 3%. Resolving now will reopen it."
        visible = [b for b in card.locator("button, summary").all() if b.is_visible() and b.inner_text().strip() == "Resolve"]
        assert len(visible) == 1, "the Resolve form shows two Resolve buttons"
        card.locator("form[action$='/resolve'] button", has_text="Resolve").click()
        at_card(page, toner)
        top = page.locator("main > .notice")  # the card left the queue: the notice stays on the page
        assert top.is_visible() and f"Resolved #{toner}" in top.inner_text()

        # 1. the printer still reads 3%: the alert comes back, linked both ways
        stack.clock.advance(seconds=30)
        stack.submit(stack.reading("printer-1", "toner.black.pct", 3.0, unit="%"))
        page.goto(f"{base}/alerts/{toner}")
        assert "Came back as" in page.locator(".facts").inner_text()
        page.locator(".facts a", has_text="#").last.click()
        page.wait_for_url(f"{base}/alerts/*")
        again = int(page.url.rsplit("/", 1)[1])
        assert again != toner
        assert f"Reopened from\n#{toner}" in page.locator(".facts").inner_text()
        assert f"reopened from #{toner}" in page.locator("#history").inner_text()

        # 1. an open alert: "Acknowledge instead?" acknowledges it
        page.goto(f"{base}/")
        card = page.locator(f"#alert-{fridge}")
        card.locator("summary", has_text="Resolve").click()
        assert "Fridge 2 still reports 9.4 °C. Resolving now will reopen it. Acknowledge instead?" in card.inner_text()
        card.locator("button", has_text="Acknowledge instead").click()
        at_card(page, fridge)
        assert "Acknowledged by Staff" in page.locator(f"#alert-{fridge}").inner_text()
        context.close()
    assert stack.services is not None
    assert stack.services.get_alert(fridge).status == "acknowledged"


def record_notification(stack: Stack, alert_id: int, recipient: str, *, error: str = "") -> None:
    """An email notification about the alert, delivered or given up after three attempts."""
    now = stack.clock()
    with stack.db.begin() as conn:
        outbox_id = conn.execute(insert(OutboxItem).values(
            dedup_key=f"{alert_id}:{recipient}", alert_id=alert_id, kind="opened", channel="pharmacy-email",
            channel_type="email", recipient=recipient, state="gave_up" if error else "sent", detail=error,
            created_at=now, next_attempt_at=now, sent_at=None if error else now, attempts=3 if error else 1,
        )).inserted_primary_key[0]
        conn.execute(insert(DeliveryAttempt).values(outbox_id=outbox_id, alert_id=alert_id, at=now, ok=not error, error=error))


def test_a_coordinator_assigns_from_a_list_and_reads_who_was_told(stack: Stack, browser: object) -> None:
    toner, fridge = clinic(stack)
    record_notification(stack, fridge, "pharmacy@clinic.example")  # what the outbox sender writes (tests/notify covers it)
    record_notification(stack, fridge, "oncall@clinic.example", error="550 mailbox unavailable")
    stack.submit(stack.reading("fridge-2", "temperature_c", 9.4, unit="°C"))  # still warm
    with serve(app_in_zone(stack)) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, base, "coordinator")
        card = page.locator(f"#alert-{fridge}")
        card.locator("summary", has_text="Assign").click()
        select = card.locator("select[name=assignee]")
        options = select.locator("option").all_inner_texts()
        assert options[:2] == ["Team pharmacy", "Pat Pharmacist"], options  # the team first, then its people
        assert "Staff" in options and not card.locator("input[name=assignee]").count()
        select.select_option(label="Pat Pharmacist")
        card.locator("form[action$='/assign'] button[type=submit]").click()
        at_card(page, fridge)
        assert f"Assigned #{fridge} (Fridge 2 in Pharmacy is at 9.4 °C" in page.locator(f"#alert-{fridge} .notice").inner_text()
        assert "Assigned to Pat Pharmacist" in page.locator(f"#alert-{fridge}").inner_text()

        page.goto(f"{base}/alerts/{fridge}")
        told = page.locator("#notified").inner_text()
        assert "pharmacy@clinic.example by email · 26 Nov 04:12 EST (just now) · delivered" in told
        assert "oncall@clinic.example by email" in told and "not delivered (gave up after 3 attempts: 550 mailbox unavailable)" in told
        facts = page.locator(".facts").inner_text()
        assert "Last value\n9.4 °C" in facts and "Worst value\n9.4 °C" in facts and "opened 1 time" in facts
        assert "Fridge temperature between 2 and 8 °C." in facts and "rule id" not in facts  # not an admin
        assert "Assigned to Pat Pharmacist by Coordinator" in page.locator("#history").inner_text()
        no_overlaps(page, (".facts dt", ".facts dd"))
        assert fits_the_width(page), "the alert page scrolls sideways at 390 px"
        context.close()

        admin = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
        page = admin.new_page()
        sign_in(page, base, "admin")
        page.goto(f"{base}/alerts/{fridge}")
        assert "rule id fridge-temperature" in page.locator(".facts").inner_text()  # 4. kept for admins
        admin.close()


def test_restock_explains_quantities_and_supplies_show_low_first(stack: Stack, browser: object) -> None:
    with serve(app_in_zone(stack)) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, base, "staff")
        page.goto(f"{base}/restock")
        line = page.locator("tr[data-sku='GLV-M']")
        assert "On hand\n4 boxes" in line.inner_text() and "Order\n20 boxes" in line.inner_text()
        how = page.locator("tr.how").first.inner_text()
        assert "PAR 20 − 4 on hand − 0 on order = 16, rounded up to 2 packs of 10 = 20 boxes" in how
        no_overlaps(page, ("table.lines .k", "table.lines .v"))
        assert fits_the_width(page), "the restock list scrolls sideways at 390 px"

        page.goto(f"{base}/supplies")
        first = page.locator("article.supply").first
        assert first.get_attribute("data-sku") == "GLV-M" and first.locator(".stock").inner_text() == "LOW"
        assert "On hand 4 boxes · reorder at 8 boxes · PAR 20 boxes" in first.inner_text()
        assert page.locator("article.supply").nth(1).locator(".stock").count() == 0
        assert fits_the_width(page), "the supplies page scrolls sideways at 390 px"
        context.close()


def test_screenshots_of_the_pages_on_a_phone_and_a_desktop(stack: Stack, browser: object) -> None:
    toner, fridge = clinic(stack)
    stack.services.acknowledge(toner, actor="staff", comment="Cartridge on its way")  # type: ignore[union-attr]
    stack.services.assign(fridge, actor="coordinator", assignee="pat", comment="")  # type: ignore[union-attr]
    stack.services.comment(fridge, actor="pat", text="Moving the vaccines to fridge 1")  # type: ignore[union-attr]
    record_notification(stack, fridge, "pharmacy@clinic.example")
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {"queue": "/", "alert": f"/alerts/{fridge}", "equipment": "/equipment/fridge-2", "restock": "/restock"}
    with serve(app_in_zone(stack)) as base:
        for width, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            context = browser.new_context(viewport=viewport, is_mobile=width == "phone")  # type: ignore[attr-defined]
            page = context.new_page()
            sign_in(page, base, "coordinator")
            for name, path in shots.items():
                page.goto(base + path)
                assert fits_the_width(page), f"{path} scrolls sideways at {viewport['width']} px"
                target = ARTIFACTS / f"{name}-{width}.png"
                page.screenshot(path=str(target))
                if os.environ.get("FACILITY_UPDATE_SCREENSHOTS") == "1":  # opt in: a test run leaves the tree clean
                    shutil.copyfile(target, ROOT / "docs" / "screenshots" / target.name)
            context.close()
