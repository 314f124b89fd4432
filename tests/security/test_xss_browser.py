"""HTML, script and SQL-looking text in comments, names and payloads is stored as sent and shown
as text: in real Chromium no script runs, nothing is injected, and the CSP reports nothing to do.
The filters that apply on change (data-autosubmit, no inline handler) still work under the CSP."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.server import serve
from tests.api.stack import PASSWORD, Stack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = [
    "<script>window.__xss = 1</script>",
    '<img src=x onerror="window.__xss = 2">',
    '"><svg onload="window.__xss = 3">',
    "'; DROP TABLE alerts; --",
    "javascript:window.__xss = 4",
]

pytestmark = pytest.mark.browser


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


def test_hostile_text_is_stored_and_shown_as_text(stack: Stack, browser: object) -> None:
    alert = stack.new_alert()
    staff = stack.headers("staff")
    with serve(stack.app) as base:
        for text in HOSTILE:
            r = httpx.post(f"{base}/api/v1/alerts/{alert}/comments", json={"text": text}, headers=staff, timeout=30)
            assert r.status_code == 201, r.text
        stored = httpx.get(f"{base}/api/v1/alerts/{alert}/events", headers=staff, timeout=30).json()
        assert [e["comment"] for e in stored if e["kind"] == "comment"] == HOSTILE  # stored exactly as sent
        assert httpx.get(f"{base}/api/v1/alerts", headers=staff, timeout=30).status_code == 200  # the table is still there

        context = browser.new_context()  # type: ignore[attr-defined]
        page = context.new_page()
        violations: list[str] = []
        page.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/alerts/{alert}")
        body = page.inner_text("body")
        for text in HOSTILE:
            assert text in body, f"{text!r} is not shown as text"
        assert page.evaluate("window.__xss") is None, "a hostile comment ran as script"
        assert page.locator("script:not([src])").count() == 0
        assert page.locator("svg[onload], img[onerror]").count() == 0
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "xss-alert.png"), full_page=True)

        # The supplies filter submits on change through app.js, not an inline handler the CSP would block.
        page.goto(f"{base}/supplies")
        page.check("input[name=low]")
        page.wait_for_url(lambda url: "low=true" in url)
        assert violations == [], violations
        context.close()
