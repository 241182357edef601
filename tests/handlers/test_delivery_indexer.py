"""The delivery indexer Lambda: CloudWatch Logs subscription payloads in, the delivery log out.

Payload shape: "Using CloudWatch Logs subscription filters", Lambda example
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample):
`awslogs.data` is base64 of gzip of `{"messageType", "logGroup", "logStream",
"subscriptionFilters", "logEvents": [{"id", "timestamp", "message"}]}`.
"""

from __future__ import annotations

import base64
import gzip
import json

import pytest

from handlers import delivery_indexer
from partners.deliveries import DeliveryStore, Outcome, delivery_id
from tests.handlers.gateway import LambdaContext
from tests.partners.deliveries.builders import PREFIX, Send


def subscription_event(messages, message_type="DATA_MESSAGE"):
    document = {"messageType": message_type, "owner": "123456789012",
                "logGroup": "/aws/vendedlogs/events/event-bus/pgw-test-marketplace",
                "logStream": "stream", "subscriptionFilters": ["pgw-test-delivery-indexer"],
                "logEvents": [{"id": str(i), "timestamp": 0,
                               "message": m if isinstance(m, str) else json.dumps(m)}
                              for i, m in enumerate(messages)]}
    data = base64.b64encode(gzip.compress(json.dumps(document).encode())).decode()
    return {"awslogs": {"data": data}}


@pytest.fixture
def store(aws, spec, clock):
    from infra.local.provision import _create_table

    _create_table(aws.client("dynamodb"), spec.tables["deliveries"])
    store = DeliveryStore(spec.tables["deliveries"].name, prefix=PREFIX, boto3_session=aws,
                          clock=clock)
    with delivery_indexer.dependencies.override(delivery_indexer.Dependencies(store=store)):
        yield store


def handle(event):
    return delivery_indexer.lambda_handler(event, LambdaContext())


def test_records_are_folded_and_malformed_ones_counted_and_skipped(store):
    send = Send()
    records = send.failing_then_dead_lettered(2)
    answer = handle(subscription_event(records[:3] + ["{not json", {"message_type": "X"}]
                                       + records[3:]))
    assert answer == {"records": len(records) + 2, "indexed": len(records), "ignored": 0,
                      "malformed": 2}
    found = store.get(delivery_id("pabc", "prod", "ev-1"))
    assert found.outcome is Outcome.DEAD_LETTERED and len(found.attempts) == 2


def test_a_batch_delivered_twice_changes_nothing(store):
    event = subscription_event(Send().delivered())
    handle(event)
    before = store.get(delivery_id("pabc", "prod", "ev-1"))
    handle(event)
    assert store.get(delivery_id("pabc", "prod", "ev-1")) == before


def test_a_control_message_has_no_records(store):
    assert handle(subscription_event(["CWL CONTROL MESSAGE"], "CONTROL_MESSAGE")) == {
        "records": 0, "indexed": 0, "ignored": 0, "malformed": 0}


@pytest.mark.parametrize("event", [
    {}, {"awslogs": {}}, {"awslogs": {"data": "%%%"}},
    {"awslogs": {"data": base64.b64encode(b"plain, not gzip").decode()}},
    {"awslogs": {"data": base64.b64encode(gzip.compress(b"[1, 2]")).decode()}},
])
def test_a_payload_that_is_not_a_subscription_is_refused_without_raising(store, event):
    assert handle(event)["malformed"] == 1


def test_dependencies_come_from_the_environment(monkeypatch, aws):
    monkeypatch.setenv("PGW_DELIVERIES_TABLE", "t")
    monkeypatch.setenv("PGW_RESOURCE_PREFIX", "pgw-x-pt-")
    monkeypatch.setenv("PGW_DELIVERIES_TTL_DAYS", "9")
    store = delivery_indexer.Dependencies.from_environment(aws).store
    assert (store.table_name, store.prefix, store.ttl_days) == ("t", "pgw-x-pt-", 9)


def test_the_local_runtimes_records_fold_like_awss(store, aws):
    """The embedded stack's writer (infra/local/runtime/bus_logs.py) and this reader agree on
    the schema: a 500, a 503, then a 200, written by the runtime, fold to `delivered`."""
    from infra.local.runtime.bus_logs import BusLogConfig, BusLogs

    group = "/aws/vendedlogs/events/event-bus/pgw-test-marketplace"
    aws.client("logs").create_log_group(logGroupName=group)
    config = BusLogConfig("arn:aws:events:us-east-1:123456789012:event-bus/pgw-test-marketplace",
                          "TRACE", "FULL", (group,))
    logs = BusLogs(account="123456789012", region="us-east-1", config=lambda *_: config)
    send = Send(event_id="ev-local")
    invocation = logs.invocation("pgw-test-marketplace", rule_arn=send.rule_arn,
                                 target={"Arn": send.target_arn, "RoleArn": "arn:aws:iam::1:r/d"},
                                 event={"id": "ev-local", "detail": {}})
    invocation.start(json.dumps(send.cloudevent))
    for attempt, status in ((1, 500), (2, 503)):
        invocation.attempt_start(attempt)
        invocation.attempt_failed(attempt, retryable=True, status=status, code=str(status),
                                  message="server error", service="events", duration_ms=40)
    invocation.attempt_start(3)
    invocation.attempt_succeeded(3, 200, 35)
    invocation.succeeded(3)
    logs.flush()
    messages = [e["message"] for e in aws.client("logs").get_log_events(
        logGroupName=group, logStreamName="eventbus-logs")["events"]]
    answer = handle(subscription_event(list(reversed(messages))))
    assert answer["malformed"] == 0 and answer["indexed"] == len(messages)
    found = store.get(delivery_id("pabc", "prod", "ev-local"))
    assert found.outcome is Outcome.DELIVERED
    assert [(a.outcome.value, a.http_status) for a in found.attempts] == [
        ("retryable_failure", 500), ("retryable_failure", 503), ("success", 200)]
