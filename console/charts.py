"""Server-rendered SVG line charts: endpoint health (success rate, p50/p95 latency) over time.

Why our own few lines and not pygal (a well-kept SVG chart library on PyPI): pygal styles
every chart with a `<style>` element inside the SVG and draws its tooltips with a script
loaded from a CDN by default ("css and js array options", pygal's rendering documentation,
https://github.com/Kozea/pygal/blob/2.2.1/docs/documentation/configuration/rendering.rst).
The console's Content-Security-Policy (`style-src 'self'; script-src 'self'`,
console/security.py) blocks both in an inline SVG, and an SVG behind `<img>` loses its
tooltips and its text for screen readers. These charts carry no style or script of their own:
their classes are styled by console.css, each point's `<title>` is the browser's native
tooltip, and the SVG has a `<title>` and `<desc>` (`role="img"`, `aria-labelledby`); the page
prints the same numbers in a table beside it.

`line_chart` is pure: figures in, markup out; the tests parse the SVG and check each point
against its figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 200
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 30
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    """One line: its name, one value per x label (None: no figure there), its CSS class."""

    name: str
    values: Sequence[float | None]
    css_class: str = "series-1"


@dataclass(frozen=True)
class Chart:
    """A line chart's content: what it is (title, description), its x labels and lines."""

    id: str
    title: str
    description: str
    labels: Sequence[str]
    series: Sequence[Series]
    unit: str = ""  # printed after each value: "%", " ms"
    y_max: float | None = None  # None: the largest value, rounded up to a nice number


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^n that is at least `value` (1 for nothing)."""
    if value <= 0 or math.isnan(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop always returns


def y_scale(chart: Chart) -> float:
    """The top of the chart's y axis."""
    if chart.y_max is not None:
        return chart.y_max
    values = [v for s in chart.series for v in s.values if v is not None]
    return nice_ceiling(max(values, default=0.0))


def point_x(index: int, count: int) -> float:
    """Where the `index`-th of `count` x labels sits."""
    if count <= 1:
        return LEFT + PLOT_WIDTH / 2
    return LEFT + PLOT_WIDTH * index / (count - 1)


def point_y(value: float, top: float) -> float:
    """Where `value` sits on an axis from 0 to `top` (values above the top are clipped)."""
    share = min(max(value / top, 0.0), 1.0) if top > 0 else 0.0
    return TOP + PLOT_HEIGHT * (1 - share)


def format_value(value: float, unit: str) -> str:
    """A figure as the tooltips and the axis print it."""
    text = f"{value:.1f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return f"{text}{unit}"


def _segments(series: Series, count: int, top: float) -> list[list[tuple[float, float]]]:
    """The series' runs of consecutive figures (a missing figure breaks the line)."""
    runs: list[list[tuple[float, float]]] = [[]]
    for index, value in enumerate(series.values):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append((point_x(index, count), point_y(value, top)))
    return [run for run in runs if run]


def _label_step(count: int) -> int:
    return max(1, math.ceil(count / MAX_X_LABELS))


def line_chart(chart: Chart) -> Markup:
    """Render `chart` as an inline SVG.

    Parameters
    ----------
    chart: its title, description, x labels and series (one value per label).

    Returns
    -------
    The `<svg>` element, every text escaped; axes at 0, half and the top of the scale;
    one `<circle class="point">` per figure with a `<title>` tooltip; a line per run of
    consecutive figures.
    """
    count = len(chart.labels)
    top = y_scale(chart)
    title_id, desc_id = f"{chart.id}-title", f"{chart.id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart.id)}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}">',
        f'<title id="{escape(title_id)}">{escape(chart.title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(chart.description)}</desc>',
        '<g class="axis">',
    ]
    for share in (0.0, 0.5, 1.0):
        y = point_y(top * share, top)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(format_value(top * share, chart.unit))}</text>')
    step = _label_step(count)
    for index, label in enumerate(chart.labels):
        if index % step == 0 or index == count - 1:
            # The last label ends at the plot's edge instead of running off the picture.
            anchor = "end" if index == count - 1 and count > 1 else "middle"
            parts.append(f'<text x="{point_x(index, count):.1f}" y="{HEIGHT - 8}" '
                         f'text-anchor="{anchor}">{escape(label)}</text>')
    parts.append("</g>")
    for series in chart.series:
        parts.append(f'<g class="series {escape(series.css_class)}" '
                     f'data-series="{escape(series.name)}">')
        for run in _segments(series, count, top):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
            parts.append(f'<polyline points="{points}"/>')
        for index, value in enumerate(series.values):
            if value is None:
                continue
            tip = f"{chart.labels[index]}: {series.name} {format_value(value, chart.unit)}"
            parts.append(f'<circle class="point" cx="{point_x(index, count):.1f}" '
                         f'cy="{point_y(value, top):.1f}" r="3" data-value="{value}">'
                         f'<title>{escape(tip)}</title></circle>')
        parts.append("</g>")
    parts.append("</svg>")
    return Markup("".join(parts))
