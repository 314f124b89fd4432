"""The queue in a real browser (Debian's Chromium through Playwright), against a real server.

Staff: sign in, watch an alert arrive with no reload, acknowledge it with a comment, open its
history. Viewer: no acknowledge button, and a 403 from the API. Screenshots of the queue and the
equipment board at desktop and phone width go to test-artifacts/ (the README's screenshots come
from tests/api/test_pages_phone.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.server import serve
from tests.api.stack import PASSWORD, Stack
from tests.support.wait import wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("FACILITY_TEST_REQUIRE_BROWSER"):
            pytest.fail(f"{CHROMIUM} is missing and FACILITY_TEST_REQUIRE_BROWSER is set")
        pytest.skip(f"{CHROMIUM} is not installed (set FACILITY_TEST_REQUIRE_BROWSER=1 to make this a failure)")
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


def fits_the_width(page: object) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))  # type: ignore[attr-defined]


def furnish(stack: Stack) -> None:
    """A few readings and alerts so the screenshots show a believable clinic."""
    stack.submit(
        stack.reading("printer-1", "toner.black.pct", 6.0, unit="%"),
        stack.reading("ups-1", "ups.battery.charge_pct", 100.0, unit="%"),
        stack.reading("ups-1", "ups.runtime_min", 42.0, unit="min"),
        stack.reading("fridge-1", "temperature_c", 13.2, unit="°C"),
    )
    stack.clock.advance(minutes=7)


def test_staff_watch_an_alert_arrive_acknowledge_it_and_read_its_history(stack: Stack, browser: object) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    furnish(stack)
    with serve(stack.app) as base:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, base, "staff")
        page.wait_for_selector("article.alert")  # the alerts opened by furnish()
        # The page is listening for changes before the alert exists.
        wait_until(lambda: stack.live is not None and stack.live.clients >= 1, timeout=15, what="the page to subscribe")
        page.evaluate("window.__same_page = true")

        stack.clock.advance(minutes=5)
        alert = stack.open_fridge_alert("fridge-2", 9.1)
        stack.clock.advance(minutes=12)
        card = page.locator(f"article[data-alert-id='{alert}']")
        card.wait_for(timeout=15_000)
        assert page.evaluate("window.__same_page === true"), "the page reloaded instead of updating live"
        assert "Fridge 2 in Pharmacy is at 9.1 °C (safe range 2–8 °C) for 12 minutes" in card.inner_text()

        page.screenshot(path=str(ARTIFACTS / "live-queue-desktop.png"), full_page=True)

        card.locator("summary", has_text="Acknowledge").click()
        card.locator("input[name=comment]").first.fill("On my way with the spare fridge")
        card.locator("form[action$='/ack'] button[type=submit]").click()
        page.wait_for_url(f"{base}/?notice=*")
        card = page.locator(f"article[data-alert-id='{alert}']")
        assert "Acknowledged by Staff" in card.inner_text()

        card.locator(".summary a").click()  # the alert's text is its link
        page.wait_for_url(f"{base}/alerts/{alert}")
        history = page.locator("#history").inner_text()
        assert "Alert opened" in history
        assert "Acknowledged by Staff" in history and "On my way with the spare fridge" in history

        page.goto(f"{base}/equipment")
        page.screenshot(path=str(ARTIFACTS / "board-desktop.png"), full_page=True)
        assert "Toner black" in page.inner_text(".board")

        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        small = phone.new_page()
        sign_in(small, base, "staff")
        small.wait_for_selector("article.alert")
        assert fits_the_width(small), "the queue scrolls sideways at phone width"
        small.screenshot(path=str(ARTIFACTS / "live-queue-phone.png"), full_page=True)
        small.goto(f"{base}/equipment")
        assert fits_the_width(small), "the equipment board scrolls sideways at phone width"
        small.screenshot(path=str(ARTIFACTS / "board-phone.png"), full_page=True)
        phone.close()
        context.close()
        assert not errors, errors


def test_viewer_has_no_acknowledge_button_and_the_api_says_403(stack: Stack, browser: object) -> None:
    alert = stack.open_fridge_alert("fridge-2", 9.1)
    with serve(stack.app) as base:
        context = browser.new_context(viewport=DESKTOP)  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, base, "viewer")
        card = page.locator(f"article[data-alert-id='{alert}']")
        card.wait_for()
        assert card.locator("summary", has_text="Acknowledge").count() == 0
        assert page.locator("form[action$='/ack']").count() == 0
        status = page.evaluate(
            """async (id) => {
                const csrf = document.querySelector('meta[name=csrf-token]').content;
                const r = await fetch(`/api/v1/alerts/${id}/ack`, {method: 'POST',
                    headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf}, body: '{}'});
                return r.status;
            }""",
            alert,
        )
        assert status == 403
        context.close()
    assert stack.services is not None
    assert stack.services.get_alert(alert).status == "open"
