"""api/charts.py: the SVG is well formed and carries what the reader needs to see."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api.charts import Bucket, Marker, Point, RefLine, Span, render_svg

NS = {"s": "http://www.w3.org/2000/svg"}
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def _by_class(root: ET.Element, cls: str) -> list[ET.Element]:
    return [e for e in root.iter() if cls in (e.get("class") or "").split()]


def _points(n: int, step: timedelta = timedelta(minutes=10), base: float = 5.0) -> list[Point]:
    return [Point(T0 + i * step, base + (i % 5)) for i in range(n)]


def test_empty_series_says_so() -> None:
    root = _parse(render_svg([], title="Fridge"))
    assert _by_class(root, "chart-empty")[0].text == "No readings in this period"


def test_points_draw_one_line_and_a_gap_breaks_it() -> None:
    pts = _points(10) + [Point(T0 + timedelta(hours=6), 4.0), Point(T0 + timedelta(hours=6, minutes=10), 4.5)]
    whole = _parse(render_svg(pts))
    assert len(_by_class(whole, "chart-line")) == 1
    broken = _parse(render_svg(pts, break_after=timedelta(minutes=30)))
    lines = _by_class(broken, "chart-line")
    assert len(lines) == 2
    assert len(lines[0].get("points", "").split()) == 10


def test_band_sits_between_its_values_and_excursion_span_is_shaded() -> None:
    pts = _points(36) + [Point(T0 + timedelta(hours=7), 12.0)]
    svg = render_svg(
        pts,
        unit="°C",
        band=(2.0, 8.0),
        spans=[Span(T0 + timedelta(hours=1), T0 + timedelta(hours=2), "Excursion 60 min, peak 9.1 °C")],
    )
    root = _parse(svg)
    band = _by_class(root, "chart-band")[0]
    y, h = float(band.get("y", "0")), float(band.get("height", "0"))
    assert h > 0
    # Higher values sit higher on screen: the 12 °C reading is drawn above the band's top edge (8 °C).
    last_y = float(_by_class(root, "chart-line")[0].get("points", "").split()[-1].split(",")[1])
    assert last_y < y
    span = _by_class(root, "chart-span")[0]
    assert float(span.get("width", "0")) > 0
    assert "peak 9.1" in (span.find("s:title", NS).text or "")  # type: ignore[union-attr]
    assert "°C" in svg


def test_open_band_and_spans_outside_range_are_clipped_or_dropped() -> None:
    pts = _points(12)
    root = _parse(
        render_svg(
            pts,
            band=(None, -15.0),
            spans=[Span(T0 - timedelta(days=3), T0 - timedelta(days=2)), Span(T0 - timedelta(hours=1), T0 + timedelta(minutes=20))],
        )
    )
    spans = _by_class(root, "chart-span")
    assert len(spans) == 1
    assert float(spans[0].get("x", "0")) == 40  # clipped to the plot's left edge


def test_markers_and_reference_lines_are_labelled_and_escaped() -> None:
    pts = _points(12)
    root = _parse(
        render_svg(
            pts,
            lines=[RefLine(8.0, "max 8 °C")],
            markers=[Marker(T0 + timedelta(minutes=30), "Alert <opened>", 9.0), Marker(T0 - timedelta(days=1), "off")],
        )
    )
    markers = _by_class(root, "chart-marker")
    assert len(markers) == 1
    assert markers[0].find("s:title", NS).text == "Alert <opened>"  # type: ignore[union-attr]
    ref = _by_class(root, "chart-ref")[0]
    assert ref.find("s:text", NS).text == "max 8 °C"  # type: ignore[union-attr]


def test_buckets_draw_min_max_area_and_mean_line() -> None:
    buckets = [Bucket(T0 + i * timedelta(hours=1), 3.0 + i % 2, 6.0 + i % 3, 4.5) for i in range(24)]
    root = _parse(render_svg(buckets, band=(2.0, 8.0)))
    area = _by_class(root, "chart-range-area")[0]
    assert len(area.get("points", "").split()) == 48
    assert len(_by_class(root, "chart-line")) == 1


def test_daily_ticks_fall_on_local_midnight_and_text_stays_phone_readable() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    pts = _points(30 * 24, step=timedelta(hours=1))
    svg = render_svg(pts, tz=berlin, start=T0, end=T0 + timedelta(days=30))
    root = _parse(svg)
    labels = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("y") == str(220 - 34 + 16)]
    assert labels and all(lbl and lbl[0].isdigit() and " " in lbl for lbl in labels)
    assert len(labels) <= 7  # at most ~6 time labels across a phone
    assert "CET" in svg
    # viewBox 400 wide drawn in a 390 px column: 11-unit text is still >= 10 px.
    width = float(root.get("viewBox", "").split()[2])
    assert float(root.get("font-size", "0")) * 390 / width >= 10


def test_hour_ticks_for_a_day() -> None:
    pts = _points(144)
    root = _parse(render_svg(pts, start=T0, end=T0 + timedelta(days=1)))
    labels = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text") if t.get("y") == "202"]
    assert "00:00" in labels and all(":" in lbl for lbl in labels)
