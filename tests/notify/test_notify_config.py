"""check-config explains mistakes in channels, windows, routes and contacts with file, line, key and fix."""

from __future__ import annotations

from pathlib import Path

from tests.agent.test_check_config import check

BAD = """\
site: {id: riverside, timezone: Europe/London, public_base_url: facility.example.org}
teams:
  pharmacy:
    escalate_during: weekdays
    routes:
      - severities: [critical]
        channels: [pagr]
        window: clinic_hours
    contacts:
      - {name: Priya Shah, phone: "+44 20 7946 0001"}
    on_call:
      - {who: Priya, from: "2026-12-04T19:00", to: "2026-12-05T07:00"}
notifications:
  windows:
    clinic_hours: mon-fry 07:00-19:00
  channels:
    pager: {type: webhook}
    ward-email: {type: email, to: []}
    nobodys-phone: {type: apprise, url_env: NOBODY_NTFY, contact: Nobody}
"""


def test_every_notification_mistake_is_named(tmp_path: Path) -> None:
    result = check(tmp_path, BAD)
    assert result.returncode != 0
    err = result.stderr
    expected = [
        ("site.public_base_url", "absolute http(s) URL"),
        ("teams.pharmacy.escalate_during", "window 'weekdays'"),
        ("teams.pharmacy.routes[0].channels[0]", "channel 'pagr'"),
        ("teams.pharmacy.on_call[0].who", "'Priya' is not one of the team's contacts"),
        ("notifications.windows.clinic_hours", "'mon-fry' is not a day"),
        ("notifications.channels.pager", "needs 'url', 'url_env' or 'url_file'"),
        ("notifications.channels.ward-email", "needs 'to'"),
        ("notifications.channels.nobodys-phone.contact", "'Nobody' is not a contact of any team"),
    ]
    lines = err.splitlines()
    for key, words in expected:
        assert any(key in line and words in line and "facility.yaml:" in line for line in lines), f"{key}: {words}\n{err}"
