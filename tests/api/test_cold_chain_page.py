"""The equipment page's history chart in Chromium on a 390 px phone (issue 14): the safe band,
the excursion shaded, the alert it opened marked, and the evidence link. The cold-chain resolve
form asks what was done. The chart is saved to docs/screenshots/ only with FACILITY_UPDATE_SCREENSHOTS=1."""

from __future__ import annotations

import os
import shutil

import pytest

from agent.catalog import build_rules
from agent.cold_chain import history_service, wire
from agent.storage.db import session_factory
from tests.agent.harness import config_from
from tests.api.server import serve
from tests.api.stack import PASSWORD, Stack, rules, subjects
from tests.api.test_browser import ARTIFACTS, PHONE, ROOT, browser, fits_the_width  # noqa: F401 - fixture

pytestmark = pytest.mark.browser

CONFIG = """
equipment:
  - {id: fridge-1, name: Fridge 1, kind: fridge, location: Pharmacy, team: pharmacy}
rules:
  - id: vaccine-cold-chain
    metric: temperature_c
    match: {equipment: [fridge-1]}
    cold_chain: {hot_above: 8, cold_below: 2, consecutive: 30m}
    require_comment: [ack, resolve]
    team: pharmacy
"""


def cold_chain_stack(stack: Stack, *, hot_now: bool = False) -> None:
    config = config_from(CONFIG)
    assert stack.pipeline is not None
    stack.pipeline.engine.replace_rules(rules() + build_rules(config))
    wire(config, subjects(), stack.pipeline)
    engine = stack.pipeline.engine
    stack.app.state.history = history_service(
        config, session_factory(stack.db), stack.clock, subjects=subjects(), rules=lambda: engine.rules
    )
    # The last 24 hours every 5 minutes, with a 40-minute excursion to 9.6 °C six hours ago.
    readings = []
    for minutes_ago in range(24 * 60, -1, -5):
        hot = 6 * 60 - 40 < minutes_ago <= 6 * 60 or (hot_now and minutes_ago <= 35)
        readings.append(stack.reading("fridge-1", "temperature_c", 9.6 if hot else 4.5 + (minutes_ago % 60) / 60, unit="°C", ago=minutes_ago * 60))
    stack.submit(*readings)


def test_phone_chart_shows_band_excursion_and_alert(stack: Stack, browser: object) -> None:  # noqa: F811 - the fixture
    cold_chain_stack(stack)
    ARTIFACTS.mkdir(exist_ok=True)
    with serve(stack.app) as base:
        page = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.goto(f"{base}/equipment/fridge-1")
        chart = page.locator("svg.chart")
        assert chart.is_visible()
        assert page.locator("svg.chart .chart-band").count() == 1
        assert page.locator("svg.chart .chart-span").count() == 1
        assert page.locator("svg.chart .chart-marker").count() >= 1
        assert "40 min" in page.locator("li.excursion").first.inner_text()
        assert page.locator("a.evidence").count() == 1
        assert fits_the_width(page)
        box = chart.bounding_box()
        assert box is not None and 300 <= box["width"] <= 390
        shot = ARTIFACTS / "equipment-chart-phone.png"
        page.locator("#history").screenshot(path=str(shot))
        if os.environ.get("FACILITY_UPDATE_SCREENSHOTS") == "1":
            shutil.copy(shot, ROOT / "docs" / "screenshots" / "equipment-chart-phone.png")
        page.click("a[href='?span=7d#history']")
        page.wait_for_url("**span=7d**")
        assert page.locator("svg.chart .chart-band").count() == 1
        page.close()


def test_resolve_form_asks_the_cold_chain_questions(stack: Stack, browser: object) -> None:  # noqa: F811 - the fixture
    cold_chain_stack(stack, hot_now=True)
    with serve(stack.app) as base:
        page = browser.new_page(viewport=PHONE)  # type: ignore[attr-defined]
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "staff")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        alerts = page.request.get(f"{base}/api/v1/alerts?equipment=fridge-1&state=active").json()["items"]
        cold = [a for a in alerts if a["rule_id"] == "vaccine-cold-chain"]
        assert cold and cold[0]["status"] == "open"
        page.goto(f"{base}/alerts/{cold[0]['id']}")
        assert page.locator("fieldset.cold-chain").count() == 1
        assert page.locator("input[name=comment][required]").count() >= 1
        page.close()
