from __future__ import annotations

import logging

import pytest

from collectors.mqtt.subscriber import RateLimitedLog


def test_one_line_per_reason_per_interval_with_the_count(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    limiter = RateLimitedLog(logging.getLogger("test.mqtt.ratelimit"), 10.0, lambda: now[0])
    caplog.set_level(logging.WARNING, logger="test.mqtt.ratelimit")
    for _ in range(500):
        limiter.warn("not_json", "t/1", "bad")
    limiter.warn("too_large", "t/2", "big")
    now[0] += 9.9
    for _ in range(30):
        limiter.warn("not_json", "t/1", "bad")
    assert [(r.reason, r.count) for r in caplog.records] == [("not_json", 1), ("too_large", 1)]  # type: ignore[attr-defined]
    now[0] += 0.2  # 10.1 s after the first line: the next one carries everything since
    limiter.warn("not_json", "t/1", "bad")
    assert [(r.reason, r.count) for r in caplog.records][-1] == ("not_json", 530)  # type: ignore[attr-defined]
    assert "count=530" in caplog.records[-1].getMessage()
