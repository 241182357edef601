"""Endpoint health as the console draws it: the delivery log's figures made into charts.

`partners.deliveries.DeliveryHealth` counts attempts per hour (24) and per day (14) for one
partner environment; this module turns those buckets into `console.charts` charts (success
rate; p50 and p95 latency) and the rows of the table printed beside them. The partner's
environment pages and the admin's delivery-health page draw the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from markupsafe import Markup

from console.charts import Chart, Series, line_chart


@dataclass(frozen=True)
class HealthRow:
    """One bucket as the table prints it."""

    label: str
    attempts: int
    successes: int
    failures: int
    success_rate: float | None  # percent
    p50_ms: int | None
    p95_ms: int | None
    dead_lettered: int


@dataclass(frozen=True)
class HealthView:
    """One range (24 hours or 14 days): its two charts and its table."""

    key: str  # "24h" or "14d"
    heading: str
    success_chart: Markup
    latency_chart: Markup
    rows: tuple[HealthRow, ...]


def percent(rate: float | None) -> float | None:
    """A 0-1 rate as a percentage with one decimal (None stays None)."""
    return None if rate is None else round(rate * 100, 1)


def _rows(buckets: Sequence[Any], label_format: str) -> tuple[HealthRow, ...]:
    return tuple(HealthRow(b.start.strftime(label_format), b.attempts, b.successes, b.failures,
                           percent(b.success_rate), b.p50_ms, b.p95_ms, b.dead_lettered)
                 for b in buckets)


def health_view(key: str, heading: str, buckets: Sequence[Any], label_format: str,
                chart_id: str) -> HealthView:
    """Charts and table of one range of buckets (oldest first).

    Parameters
    ----------
    key, heading: the range's name and title.
    buckets: `partners.deliveries.HealthBucket`s, oldest first.
    label_format: strftime format of each bucket's start (its x label).
    chart_id: prefix of the charts' element ids (unique on the page).

    Returns
    -------
    The `HealthView`; a bucket without attempts is a gap in the lines, not a zero.
    """
    rows = _rows(buckets, label_format)
    labels = [r.label for r in rows]
    span = f"{labels[0]} to {labels[-1]} UTC" if labels else "no figures"
    attempts = sum(r.attempts for r in rows)
    successes = sum(r.successes for r in rows)
    overall = f"{successes / attempts * 100:.1f}%" if attempts else "no attempts"
    success = Chart(
        id=f"{chart_id}-success", title=f"Success rate, {heading.lower()}",
        description=(f"Share of delivery attempts your endpoint answered with 2xx, {span}; "
                     f"{successes} of {attempts} attempts succeeded ({overall})."),
        labels=labels, unit="%", y_max=100.0,
        series=[Series("success rate", [r.success_rate for r in rows], "series-success")])
    slowest = max((r.p95_ms for r in rows if r.p95_ms is not None), default=None)
    latency = Chart(
        id=f"{chart_id}-latency", title=f"Latency, {heading.lower()}",
        description=(f"Median (p50) and 95th percentile (p95) time your endpoint took to "
                     f"answer, {span}; slowest p95 "
                     f"{f'{slowest} ms' if slowest is not None else 'none'}."),
        labels=labels, unit=" ms",
        series=[Series("p50", [r.p50_ms for r in rows], "series-p50"),
                Series("p95", [r.p95_ms for r in rows], "series-p95")])
    return HealthView(key, heading, line_chart(success), line_chart(latency), rows)


def environment_views(health: Any, chart_id: str = "health") -> tuple[HealthView, HealthView]:
    """The 24-hour (hourly) and 14-day (daily) views of one environment's health."""
    return (health_view("24h", "Last 24 hours, per hour", health.hourly, "%H:00",
                        f"{chart_id}-24h"),
            health_view("14d", "Last 14 days, per day", health.daily, "%m-%d",
                        f"{chart_id}-14d"))
