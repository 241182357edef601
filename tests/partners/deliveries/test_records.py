"""Reading event bus log records in AWS's schema
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-logs-schema.html)."""

from __future__ import annotations

import json

import pytest

from partners.deliveries import MalformedRecordError, MessageType, parse_record
from partners.deliveries.records import arn_resource_name
from tests.partners.deliveries.builders import Send


def test_an_attempt_record_keeps_what_the_delivery_log_needs():
    send = Send()
    record = parse_record(json.dumps(send.attempt("RETRYABLE_FAILURE", 2, 500, status=503,
                                                  duration_ms=87)))
    assert record.message_type is MessageType.INVOCATION_ATTEMPT_RETRYABLE_FAILURE
    assert (record.event_id, record.invocation_id) == ("ev-1", "inv-1")
    assert record.rule_arn == send.rule_arn and record.target_arn == send.target_arn
    assert (record.attempt_count, record.duration_ms, record.http_status) == (2, 87, 503)
    assert record.error_message == "endpoint answered 503"
    assert record.log_level == "ERROR"


def test_the_timestamp_may_be_quoted_as_in_the_schema_sample():
    raw = Send().start()
    raw["message_timestamp_ms"] = str(raw["message_timestamp_ms"])
    assert parse_record(raw).timestamp_ms == Send().start()["message_timestamp_ms"]


def test_event_receipt_needs_no_rule_or_target():
    record = parse_record({"resource_arn": "arn:aws:events:us-east-1:1:event-bus/b",
                           "request_id": "r", "event_id": "e", "message_timestamp_ms": 5,
                           "invocation_id": "",
                           "message_type": "EVENT_RECEIPT", "log_level": "TRACE",
                           "details": {"source": "marketplace.requests", "event_detail": "{}"}})
    assert record.message_type is MessageType.EVENT_RECEIPT and not record.is_invocation


@pytest.mark.parametrize("mutate,reason", [
    (lambda r: "not json {", "not JSON"),
    (lambda r: [r], "not a JSON object"),
    (lambda r: {**r, "message_type": "SOMETHING_ELSE"}, "unknown message_type"),
    (lambda r: {**r, "message_timestamp_ms": "soon"}, "message_timestamp_ms"),
    (lambda r: {**r, "message_timestamp_ms": None}, "message_timestamp_ms"),
    (lambda r: {**r, "log_level": "DEBUG"}, "log_level"),
    (lambda r: {**r, "event_id": 7}, "event_id"),
    (lambda r: {**r, "details": "x"}, "objects"),
    (lambda r: {**r, "details": {**r["details"], "target_arn": None}}, "target_arn"),
    (lambda r: {**r, "details": {**r["details"], "attempt_count": "two"}}, "attempt_count"),
    (lambda r: {**r, "details": {**r["details"], "target_input": {"id": 1}}}, "target_input"),
])
def test_malformed_records_are_refused_with_a_reason(mutate, reason):
    raw = mutate(Send().start())
    with pytest.raises(MalformedRecordError, match=reason):
        parse_record(raw if isinstance(raw, str) else json.dumps(raw))


@pytest.mark.parametrize("arn,kind,name", [
    ("arn:aws:events:us-east-1:1:rule/pgw-test-marketplace/pgw-test-pt-p1-prod", "rule",
     "pgw-test-pt-p1-prod"),
    ("arn:aws:events:us-east-1:1:rule/on-default-bus", "rule", "on-default-bus"),
    ("arn:aws:events:us-east-1:1:api-destination/pgw-test-pt-p1-prod/uuid", "api-destination",
     "pgw-test-pt-p1-prod"),
    ("arn:aws:lambda:us-east-1:1:function:pgw-test-routing-recorder", "api-destination", None),
    ("arn:aws:events:us-east-1:1:rule/x", "api-destination", None),
    ("not-an-arn", "rule", None),
    (None, "rule", None),
])
def test_names_are_read_from_eventbridge_arns(arn, kind, name):
    assert arn_resource_name(arn, kind) == name
