"""/reports/weekly in a real browser: a coordinator opens last week's report, applies the stock
suggestion in one click, and the supplies page shows the new reorder point. Staff get 403.
The figures are checked against the formula computed here from the counts this test made."""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterator

import pytest

from agent.jobs.weekly import weekly_summary_for
from tests.agent.harness import config_from
from tests.api.server import serve
from tests.api.stack import Stack
from tests.api.test_browser import ARTIFACTS, PHONE, fits_the_width, sign_in
from tests.api.test_browser import browser as browser  # the Chromium fixture

pytestmark = pytest.mark.browser
USES = [4.0, 6.0] * 10  # one count a day after the first: 100 boxes gone in 20 days, out on day 20


@pytest.fixture
def weekly(stack: Stack) -> Iterator[Stack]:
    config = config_from("site: {id: test, name: Test clinic, timezone: UTC}")
    assert stack.services is not None
    stack.services.weekly_builder = lambda session, week: weekly_summary_for(session, config, week=week)
    stack.services.weekly_timezone = "UTC"
    # Monday 30 November 08:00: 100 boxes, then a count every morning until it runs out on Sunday
    # 20 December.
    stack.clock.advance(days=3, hours=23)
    assert stack.clock().isoformat() == "2026-11-30T08:00:00+00:00"
    stack.services.record_count("GLV-M", count=100, actor="staff", comment="")
    stock = 100.0
    for used in USES:
        stack.clock.advance(days=1)
        stock -= used
        stack.services.record_count("GLV-M", count=stock, actor="staff", comment="")
    stack.clock.advance(days=2)  # Tuesday 22nd: last week is 2026-W51 (14-20 December)
    yield stack


def expected() -> tuple[int, int, str]:
    totals = [0.0, *USES]  # 21 whole days, 30 November - 20 December; the first has no use
    mean, sigma = statistics.fmean(totals), statistics.pstdev(totals)
    z = statistics.NormalDist().inv_cdf(0.95)
    rop = math.ceil(mean * 1 + z * sigma * math.sqrt(1))  # lead time 1 day
    par = math.ceil(rop + mean * 7)
    return rop, par, f"Average daily use {mean:.2f} boxes over 21 days, σ {sigma:.2f}"


def test_coordinator_applies_a_suggestion_and_staff_get_403(weekly: Stack, browser: object) -> None:  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    rop, par, figures = expected()
    assert (rop, par) != (8, 20)
    with serve(weekly.app) as base:
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)  # type: ignore[attr-defined]
        page = context.new_page()
        sign_in(page, base, "coordinator")
        page.click("nav a:has-text('Week')")
        page.wait_for_url(f"{base}/reports/weekly")
        assert "The week 2026-W51" in page.inner_text("h1")
        item = page.locator("li.suggestion[data-sku='GLV-M']")
        text = item.inner_text()
        change = (f"raise the reorder point 8 → {rop} and " if rop != 8 else "") + f"raise PAR 20 → {par}"
        assert f"Nitrile gloves M (GLV-M): it ran out: {change}" in text, text
        assert figures in text
        assert fits_the_width(page), "the weekly page scrolls sideways at phone width"
        page.screenshot(path=str(ARTIFACTS / "weekly-phone.png"), full_page=True)
        item.locator("button", has_text="Apply").click()
        page.wait_for_url(f"{base}/reports/weekly?week=2026-W51&notice=*")
        assert f"GLV-M: PAR {par}, reorder point {rop}, changed by coordinator." in page.inner_text(".notice")
        page.goto(f"{base}/supplies")
        assert f"reorder at {rop} boxes · PAR {par} boxes" in page.inner_text("article[data-sku='GLV-M']")

        # An earlier week opens too; a week not over yet is refused.
        assert page.goto(f"{base}/reports/weekly?week=2026-W50").status == 200
        assert page.goto(f"{base}/reports/weekly?week=2026-W52").status == 422
        context.close()

        staff = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
        page = staff.new_page()
        sign_in(page, base, "staff")
        assert page.locator("nav a:has-text('Week')").count() == 0
        response = page.goto(f"{base}/reports/weekly")
        assert response.status == 403 and "needs the coordinator role" in page.inner_text("main")
        staff.close()
