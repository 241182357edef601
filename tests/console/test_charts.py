"""The endpoint health charts: valid SVG, accessible, each point where its figure says."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone

import pytest

from console.charts import (
    HEIGHT,
    LEFT,
    PLOT_HEIGHT,
    PLOT_WIDTH,
    TOP,
    Chart,
    Series,
    line_chart,
    nice_ceiling,
)
from console.health import environment_views
from partners.deliveries import EnvironmentHealth, HealthBucket

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


def _points(root: ET.Element, series: str) -> list[tuple[float, float, str]]:
    group = next(g for g in root.iter(f"{SVG}g") if g.get("data-series") == series)
    return [(float(c.get("cx")), float(c.get("cy")), c.find(f"{SVG}title").text)
            for c in group.iter(f"{SVG}circle")]


def test_the_svg_parses_and_names_itself_for_screen_readers():
    root = _parse(line_chart(Chart("c", "Success rate", "Share of 2xx", ["a", "b"],
                                   [Series("rate", [50.0, 100.0])], unit="%", y_max=100)))
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert (title.text, desc.text) == ("Success rate", "Share of 2xx")
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    # No style or script of its own: the console's CSP would refuse both.
    assert root.find(f".//{SVG}style") is None and root.find(f".//{SVG}script") is None


def test_each_point_sits_at_its_figure_and_says_it_in_a_tooltip():
    values = [0.0, 25.0, None, 100.0]
    root = _parse(line_chart(Chart("c", "t", "d", ["00", "01", "02", "03"],
                                   [Series("rate", values)], unit="%", y_max=100)))
    points = _points(root, "rate")
    assert len(points) == 3  # the missing figure draws no point
    expected = [(0, 0.0), (1, 25.0), (3, 100.0)]
    for (x, y, tip), (index, value) in zip(points, expected):
        assert x == pytest.approx(LEFT + PLOT_WIDTH * index / 3, abs=0.1)
        assert y == pytest.approx(TOP + PLOT_HEIGHT * (1 - value / 100), abs=0.1)
        assert tip == f"{['00', '01', '02', '03'][index]}: rate {value:g}%"
    # The gap splits the line in two runs.
    lines = root.findall(f".//{SVG}polyline")
    assert [len(p.get("points").split()) for p in lines] == [2, 1]


def test_text_is_escaped():
    root = _parse(line_chart(Chart("c", "<script>", "a & b", ["<x>"],
                                   [Series("s<1>", [1.0])])))
    assert root.find(f"{SVG}title").text == "<script>"
    assert root.find(f".//{SVG}script") is None


@pytest.mark.parametrize("value,ceiling", [(0, 1), (0.7, 1), (1, 1), (130, 200), (2100, 2500),
                                           (4999, 5000), (10_001, 20_000)])
def test_the_latency_axis_rounds_up_to_a_nice_number(value, ceiling):
    assert nice_ceiling(value) == ceiling


def test_environment_health_becomes_two_ranges_of_charts_with_their_table():
    start = datetime(2026, 11, 23, 0, tzinfo=timezone.utc)
    hour = timedelta(hours=1)
    # 10 ms histogram bucket first: 8 failures in hour 2, successes elsewhere.
    hourly = tuple(HealthBucket(start + i * hour, start + (i + 1) * hour,
                                successes=0 if i == 2 else 4, failures=8 if i == 2 else 0,
                                latency_counts=(4,)) for i in range(24))
    daily = tuple(HealthBucket(start - timedelta(days=13 - i), start - timedelta(days=12 - i))
                  for i in range(14))
    views = environment_views(EnvironmentHealth("p1", "prod", hourly, daily), "h")
    assert [v.key for v in views] == ["24h", "14d"]
    day = views[0]
    assert len(day.rows) == 24 and day.rows[2].success_rate == 0.0
    success = _points(_parse(day.success_chart), "success rate")
    assert len(success) == 24
    # The failing hour is at the bottom of the chart, the others at the top.
    assert success[2][1] == pytest.approx(TOP + PLOT_HEIGHT) and success[3][1] == TOP
    assert "02:00: success rate 0%" == success[2][2]
    assert "92 of 100 attempts succeeded (92.0%)" in str(day.success_chart)
    # Days without attempts are gaps, not zeros.
    assert _points(_parse(views[1].success_chart), "success rate") == []
    assert HEIGHT > TOP + PLOT_HEIGHT
