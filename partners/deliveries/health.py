"""Endpoint health from the delivery log: success rate and latency per hour and per day.

The figures come from the hourly counters the indexer keeps (`DeliveryStore`), by attempt
time: an hour in which the partner's endpoint answered 500 shows as a failing hour even if
the deliveries of that hour got through later. Latency percentiles are read from a histogram
(bounds `LATENCY_BOUNDS_MS`): p50 and p95 are the upper bound of the bucket they fall in, so
they are exact to that bucket, which is how Prometheus histograms report quantiles too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from partners.core.clock import Clock, utc_now
from partners.deliveries.store import LATENCY_BOUNDS_MS, DeliveryStore, env_key, hour_key

HOURS = 24
DAYS = 14
_COUNTERS = ("successes", "failures", "throttled", "dead_lettered")


@dataclass(frozen=True)
class HealthBucket:
    """One hour or one day of an environment's attempts.

    `success_rate` is successes / (successes + failures), None without such attempts
    (throttles are EventBridge holding back, not the endpoint failing). `p50_ms` / `p95_ms`
    are the attempts' durations (None without any). `dead_lettered` counts deliveries sent
    to the dead-letter queue in the bucket.
    """

    start: datetime
    end: datetime
    successes: int = 0
    failures: int = 0
    throttled: int = 0
    dead_lettered: int = 0
    latency_counts: tuple[int, ...] = field(default=(), repr=False)

    @property
    def attempts(self) -> int:
        return self.successes + self.failures + self.throttled

    @property
    def success_rate(self) -> float | None:
        answered = self.successes + self.failures
        return self.successes / answered if answered else None

    @property
    def p50_ms(self) -> int | None:
        return percentile(self.latency_counts, 0.50)

    @property
    def p95_ms(self) -> int | None:
        return percentile(self.latency_counts, 0.95)

    def to_json(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(),
                "attempts": self.attempts, "successes": self.successes,
                "failures": self.failures, "throttled": self.throttled,
                "dead_lettered": self.dead_lettered, "success_rate": self.success_rate,
                "p50_ms": self.p50_ms, "p95_ms": self.p95_ms}


@dataclass(frozen=True)
class EnvironmentHealth:
    """One environment's figures: 24 hours and 14 days, oldest first, and the last 24 h."""

    partner_id: str
    environment: str
    hourly: tuple[HealthBucket, ...]
    daily: tuple[HealthBucket, ...]

    @property
    def last_24h(self) -> HealthBucket:
        return combine(self.hourly, self.hourly[0].start, self.hourly[-1].end)


@dataclass(frozen=True)
class EnvironmentSummary:
    """The admin's row for one environment: its last 24 hours."""

    partner_id: str
    environment: str
    last_24h: HealthBucket


def percentile(counts: tuple[int, ...], fraction: float) -> int | None:
    """The histogram bucket bound below which `fraction` of the durations fall.

    Returns
    -------
    The bucket's upper bound in ms (the last, open bucket reports the last bound), or None
    for an empty histogram.
    """
    total = sum(counts)
    if not total:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for index, count in enumerate(counts):
        seen += count
        if seen >= rank:
            return LATENCY_BOUNDS_MS[min(index, len(LATENCY_BOUNDS_MS) - 1)]
    return LATENCY_BOUNDS_MS[-1]


def bucket_of(item: dict[str, Any], start: datetime, end: datetime) -> HealthBucket:
    """A `HEALTH` item's counters as a bucket."""
    number = lambda name: int(item[name]["N"]) if name in item else 0  # noqa: E731
    return HealthBucket(start, end, **{name: number(name) for name in _COUNTERS},
                        latency_counts=tuple(number(f"lat_{i}")
                                             for i in range(len(LATENCY_BOUNDS_MS) + 1)))


def combine(buckets: Iterable[HealthBucket], start: datetime, end: datetime) -> HealthBucket:
    """The sum of `buckets` as one bucket from `start` to `end`."""
    buckets = list(buckets)
    width = len(LATENCY_BOUNDS_MS) + 1
    return HealthBucket(
        start, end, **{name: sum(getattr(b, name) for b in buckets) for name in _COUNTERS},
        latency_counts=tuple(sum(b.latency_counts[i] if b.latency_counts else 0
                                 for b in buckets) for i in range(width)))


class DeliveryHealth:
    """Health figures of partner environments.

    Parameters
    ----------
    store: the `deliveries` table.
    clock: "now" (the current hour and day are the last buckets).
    """

    def __init__(self, store: DeliveryStore, *, clock: Clock = utc_now):
        self.store = store
        self.clock = clock

    def environment(self, partner_id: str, environment: str) -> EnvironmentHealth:
        """24 hourly and 14 daily buckets (UTC), oldest first, ending with the current ones.

        Parameters
        ----------
        partner_id, environment: the partner environment.

        Returns
        -------
        Its figures; buckets without attempts are there with zeros.
        """
        now = self.clock().astimezone(timezone.utc)
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        today = this_hour.replace(hour=0)
        first_day = today - timedelta(days=DAYS - 1)
        items = self.store.health_items(env_key(partner_id, environment),
                                        hour_key(first_day), hour_key(this_hour))
        by_hour = {item["sk"]["S"]: item for item in items}
        hours = [this_hour - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
        hourly = tuple(bucket_of(by_hour.get(hour_key(h), {}), h, h + timedelta(hours=1))
                       for h in hours)
        daily = []
        for i in range(DAYS):
            day = first_day + timedelta(days=i)
            in_day = [bucket_of(item, day, day) for key, item in by_hour.items()
                      if key.startswith(day.strftime("%Y-%m-%dT"))]
            daily.append(combine(in_day, day, day + timedelta(days=1)))
        return EnvironmentHealth(partner_id, environment, hourly, tuple(daily))

    def summary(self) -> list[EnvironmentSummary]:
        """Every environment with attempts in the last 24 hours, worst success rate first.

        Returns
        -------
        One row per environment (environments without any failure or success last).
        """
        now = self.clock().astimezone(timezone.utc)
        this_hour = now.replace(minute=0, second=0, microsecond=0)
        first = this_hour - timedelta(hours=HOURS - 1)
        end = this_hour + timedelta(hours=1)
        rows: dict[tuple[str, str], list[HealthBucket]] = {}
        for i in range(HOURS):
            hour = first + timedelta(hours=i)
            for item in self.store.hour_items(hour_key(hour)):
                owner = (item["partner_id"]["S"], item["environment"]["S"])
                rows.setdefault(owner, []).append(bucket_of(item, hour, hour))
        summaries = [EnvironmentSummary(p, e, combine(b, first, end))
                     for (p, e), b in rows.items()]
        return sorted(summaries, key=lambda s: (s.last_24h.success_rate is None,
                                                s.last_24h.success_rate or 0.0,
                                                s.partner_id, s.environment))
