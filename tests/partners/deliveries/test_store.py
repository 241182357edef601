"""The delivery log in DynamoDB (moto): folding across invocations, out of order, twice,
concurrently; TTL; health counters counted once; the resend window."""

from __future__ import annotations

import threading
from datetime import timedelta

from partners.deliveries import DeliveryStore, Outcome, delivery_id, parse_record
from tests.atomic_writes import atomic_dynamodb_writes  # noqa: F401 (fixture)
from tests.partners.deliveries.builders import PREFIX, Send


def index(store, raw_records):
    return store.index(parse_record(r) for r in raw_records)


def test_a_send_becomes_one_delivery_with_its_payload(store):
    send = Send()
    result = index(store, send.delivered())
    assert (result.records, result.indexed, result.ignored, result.deliveries) == (4, 4, 0, 1)
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert found.outcome is Outcome.DELIVERED and found.cloudevent_id == "ev-1"
    assert (found.request_id, found.request_type) == ("r-1", "stock.check")
    assert found.payload == send.cloudevent
    assert [a.http_status for a in found.attempts] == [200]


def test_records_split_across_invocations_out_of_order_and_twice(store):
    records = Send().failing_then_dead_lettered(attempts=3)
    # The results come before the record that names the CloudEvent (INVOCATION_START).
    late_first = list(reversed(records))
    for chunk in (late_first[:3], late_first[2:6], late_first[5:], late_first[:2]):
        index(store, chunk)
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert found.outcome is Outcome.DEAD_LETTERED
    assert [a.http_status for a in found.attempts] == [500, 500, 500]


def test_a_send_whose_cloudevent_is_not_known_yet_waits_and_is_not_listed(store):
    send = Send()
    index(store, [send.attempt("RETRYABLE_FAILURE", 1, 100, status=500)])
    assert store.get(delivery_id("pabc", "prod", "ev-1")) is None
    index(store, [send.attempt_start(1, 50)])
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert found.outcome is Outcome.RETRYING and len(found.attempts) == 1


def test_a_resend_joins_its_delivery(store):
    original = Send(event_id="ev-1")
    resend = Send(event_id="ev-2", cloudevent_id="ev-1", invocation_id="inv-2",
                  start_ms=original.start_ms + 60_000)
    index(store, resend.delivered())
    index(store, original.failing_then_dead_lettered(2))
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert found.outcome is Outcome.DELIVERED and found.resent == 1
    assert [a.http_status for a in found.attempts] == [500, 500, 200]


def test_records_of_other_targets_and_environments_are_ignored(store):
    send = Send()
    routing = send.start()
    routing["details"]["target_arn"] = "arn:aws:lambda:us-east-1:1:function:recorder"
    receipt = {**send.start(), "message_type": "EVENT_RECEIPT", "details": {}}
    result = index(store, [routing, receipt])
    assert (result.indexed, result.ignored, result.deliveries) == (0, 2, 0)


def test_one_event_for_two_environments_makes_two_deliveries(store):
    index(store, Send(environment="prod").delivered() + Send(environment="test").delivered())
    assert store.get(delivery_id("pabc", "prod", "ev-1")).environment == "prod"
    assert store.get(delivery_id("pabc", "test", "ev-1")).environment == "test"


def test_concurrent_indexers_lose_no_attempt(store, aws, clock, atomic_dynamodb_writes):
    """DynamoDB applies a conditional write atomically (moto needs `atomic_dynamodb_writes`)."""
    send = Send()
    index(store, [send.start()])
    records = [send.attempt("RETRYABLE_FAILURE", n, n * 1000, status=500) for n in range(1, 9)]
    errors = []

    def run(record):
        try:
            own = DeliveryStore(store.table_name, prefix=PREFIX, boto3_session=aws, clock=clock)
            index(own, [record])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(r,)) for r in records]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert len(found.attempts) == 8


def test_items_expire_after_the_ttl_days(store, aws, deliveries_table, clock):
    short = DeliveryStore(deliveries_table, prefix=PREFIX, ttl_days=7, boto3_session=aws,
                          clock=clock)
    send = Send()
    index(short, send.delivered())
    item = aws.client("dynamodb").get_item(
        TableName=deliveries_table,
        Key={"pk": {"S": f"DELIVERY#{delivery_id('pabc', 'prod', 'ev-1')}"},
             "sk": {"S": "DELIVERY"}})["Item"]
    assert int(item["expires_at"]["N"]) == send.start_ms // 1000 + 7 * 86400


def test_health_counters_count_a_repeated_record_once(store, aws, deliveries_table):
    send = Send()
    records = send.failing_then_dead_lettered(2)
    index(store, records)
    index(store, records)
    [item] = store.health_items("pabc#prod", "2026-11-23T00", "2026-11-23T23")
    assert (item["failures"]["N"], item["dead_lettered"]["N"]) == ("2", "1")
    assert "successes" not in item


def test_resends_are_counted_per_window(store, clock):
    assert store.take_resend_slot("pabc", "prod", per_window=2, window_seconds=60) is None
    assert store.take_resend_slot("pabc", "prod", per_window=2, window_seconds=60) is None
    clock.advance(seconds=15)
    assert store.take_resend_slot("pabc", "prod", per_window=2, window_seconds=60) == 45
    assert store.take_resend_slot("pabc", "test", per_window=2, window_seconds=60) is None
    clock.advance(seconds=timedelta(seconds=45).total_seconds())
    assert store.take_resend_slot("pabc", "prod", per_window=2, window_seconds=60) is None
