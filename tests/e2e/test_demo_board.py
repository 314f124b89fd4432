"""The demo's Equipment page in Chromium: the clinic's printers, UPS, fridges and shelves, from
its config (synced on start), each with its latest values. Screenshot: test-artifacts/demo-equipment.png."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.api.test_browser import ARGS, ARTIFACTS, CHROMIUM, DESKTOP
from tests.e2e.test_demo import DemoRun, assert_all_gone, new_user_env
from tests.support.mosquitto import free_port
from tests.support.wait import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.timeout(240)
def test_the_demo_equipment_page_lists_the_clinic(tmp_path: Path) -> None:
    command = Path(sys.executable).with_name("facility-agent")
    if not command.exists():
        pytest.skip("facility-agent is not installed in this environment")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import sync_playwright

    run = DemoRun(
        [str(command), "demo", "--port", str(free_port()), "--data-dir", str(tmp_path / "demo-data")],
        cwd=tmp_path, env=new_user_env(),
    )
    try:
        url = run.wait_for(r"Open (http://\S+?)/?(\s|$)", timeout=180).group(1)
        user, password = run.wait_for(r"Sign in as: (\S+) / (\S+)", timeout=5).groups()
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_context(viewport=DESKTOP).new_page()
            page.goto(f"{url}/login")
            page.fill("input[name=username]", user)
            page.fill("input[name=password]", password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{url}/")

            def board() -> str:
                page.goto(f"{url}/equipment")
                text = page.inner_text(".board")
                # Every tile heard from: printers and UPS over SNMP, fridges and shelves over MQTT.
                return text if "Not heard from yet" not in text and "Toner" in text else ""

            text = wait_until(board, 90, 1.0, "every demo tile heard from")
            for name in ("Front desk", "Ward 3", "UPS", "Vaccine fridge 1", "Vaccine fridge 2", "Ward 3 smart shelf", "Central smart shelf"):
                assert name.lower() in text.lower(), (name, text)
            assert page.locator("a.tile").count() == 8
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "demo-equipment.png"), full_page=True)
            if os.environ.get("FACILITY_UPDATE_SCREENSHOTS") == "1":
                shutil.copyfile(ARTIFACTS / "demo-equipment.png", Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "equipment.png")
            browser.close()
        os.kill(run.process.pid, signal.SIGTERM)
        assert run.process.wait(60) == 0, run.output()[-4000:]
        assert "Traceback" not in run.output(), run.output()[-6000:]
        assert_all_gone(run)
    finally:
        run.kill_leftovers()
