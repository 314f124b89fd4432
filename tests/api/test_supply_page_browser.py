"""The supply's page in a real browser at phone width: the on-hand chart with its reorder-point and
PAR lines and a marker at the unexpected drop; daily use with the counts behind it; the latest
counts with the person's display name. Screenshot: test-artifacts/supply-phone.png."""

from __future__ import annotations

import pytest

from tests.api.server import serve
from tests.api.stack import Stack
from tests.api.test_browser import ARTIFACTS, PHONE, fits_the_width, sign_in
from tests.api.test_browser import browser as browser  # the Chromium fixture

pytestmark = pytest.mark.browser


def count(stack: Stack, value: float, actor: str = "staff") -> None:
    assert stack.services is not None
    stack.services.record_count("GLV-M", count=value, actor=actor, comment="")


def test_supply_page_shows_the_chart_with_reorder_line_and_drop_marker_at_390px(stack: Stack, browser: object) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    count(stack, 100)
    for value in (90, 80):
        stack.clock.advance(days=1)
        count(stack, value)
    stack.clock.advance(hours=1)
    count(stack, 40, actor="coordinator")  # 40 boxes gone within the hour: an unexpected drop
    stack.clock.advance(days=2)
    with serve(stack.app) as base:
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        page = phone.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, base, "staff")
        page.goto(f"{base}/supplies")
        page.locator("article[data-sku='GLV-M'] a", has_text="History and chart").click()
        page.wait_for_url(f"{base}/supplies/GLV-M")

        chart = page.locator("svg.chart")
        chart.wait_for()
        assert chart.bounding_box()["width"] <= PHONE["width"]
        refs = chart.locator("g.chart-ref")
        assert "Reorder point 8 boxes" in refs.all_text_contents()
        assert "PAR 20 boxes" in refs.all_text_contents()
        marker = chart.locator("g.chart-marker")
        assert marker.count() == 1
        assert "40 boxes went at once" in marker.text_content()
        assert chart.locator("polyline.chart-line").count() == 1

        use = page.locator(".daily-use").inner_text()
        assert "20 used in 2 counts over" in use, use
        page.locator("details.use-counts summary").click()
        assert page.locator("details.use-counts tbody tr").count() == 2
        assert "days" in page.locator(".days-of-supply").inner_text()

        rows = page.locator("table.stock-records tbody tr")
        assert rows.count() == 4
        assert "Coordinator" in rows.first.inner_text() and "unexpected drop" in rows.first.inner_text()
        assert fits_the_width(page), "the supply page scrolls sideways at phone width"
        page.screenshot(path=str(ARTIFACTS / "supply-phone.png"), full_page=True)

        csv_body = page.evaluate("fetch('/supplies/GLV-M/counts.csv').then(r => r.text())")
        assert csv_body.splitlines()[1].split(",")[-2] == "unexpected_drop"
        phone.close()
        assert not errors, errors
