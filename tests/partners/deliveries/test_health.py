"""Endpoint health: success rate and p50/p95 per hour (24) and per day (14), the admin's
cross-partner rows."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partners.deliveries import DeliveryHealth, parse_record
from partners.deliveries.health import HealthBucket, percentile
from tests.partners.deliveries.builders import T0, Send, ms


@pytest.mark.parametrize("counts,p50,p95", [
    ((), None, None),
    ((0, 0, 10), 100, 100),
    ((5, 0, 0, 4, 1), 25, 300),
    ((0,) * 13 + (3,), 10000, 10000),
])
def test_percentiles_from_the_histogram(counts, p50, p95):
    assert (percentile(counts, 0.5), percentile(counts, 0.95)) == (p50, p95)


def test_a_failure_window_shows_in_its_hours_and_day(store, clock):
    records = []
    # 08:xx: three requests fail twice each with 500 and dead-letter; 09:xx: four delivered.
    for n in range(3):
        records += Send(event_id=f"bad-{n}", start_ms=ms(T0 - timedelta(hours=2))
                        ).failing_then_dead_lettered(2)
    for n in range(4):
        records += Send(event_id=f"ok-{n}", start_ms=ms(T0 - timedelta(hours=1, minutes=-n))
                        ).delivered()
    store.index(parse_record(r) for r in records)
    clock.now = T0 + timedelta(minutes=30)
    health = DeliveryHealth(store, clock=clock).environment("pabc", "prod")
    assert len(health.hourly) == 24 and len(health.daily) == 14
    by_hour = {b.start.hour: b for b in health.hourly}
    assert (by_hour[8].failures, by_hour[8].success_rate, by_hour[8].dead_lettered) == (6, 0.0, 3)
    assert (by_hour[9].successes, by_hour[9].success_rate) == (4, 1.0)
    assert by_hour[9].p50_ms == 200 and by_hour[10].success_rate is None
    assert health.hourly[-1].start == T0 and health.daily[-1].start == T0.replace(hour=0)
    today = health.daily[-1]
    assert (today.successes, today.failures) == (4, 6)
    assert today.success_rate == pytest.approx(0.4)
    assert health.last_24h.attempts == 10


def test_the_admin_summary_lists_environments_worst_first(store, clock):
    records = Send(environment="prod").failing_then_dead_lettered(1) + \
        Send(environment="test").delivered() + \
        Send(partner_id="pold", start_ms=ms(T0 - timedelta(days=2))).delivered()
    store.index(parse_record(r) for r in records)
    clock.now = T0 + timedelta(minutes=5)
    rows = DeliveryHealth(store, clock=clock).summary()
    assert [(r.partner_id, r.environment, r.last_24h.success_rate) for r in rows] == [
        ("pabc", "prod", 0.0), ("pabc", "test", 1.0)]


def test_a_bucket_serialises_for_charts():
    bucket = HealthBucket(T0, T0 + timedelta(hours=1), successes=3, failures=1,
                          latency_counts=(0, 4))
    assert bucket.to_json()["success_rate"] == 0.75 and bucket.to_json()["p95_ms"] == 50
