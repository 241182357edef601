"""The request log's events: their types and their `request_events` items (pure)."""

from __future__ import annotations

import json

import pytest

from partners.requests.events import (
    CREATED,
    EVENT_TYPES,
    NOTIFICATION_FAILED,
    STATUS_CHANGED,
    LogEvent,
    event_from_item,
    event_item,
)


@pytest.mark.parametrize("event", [
    LogEvent("r1", 1, CREATED, {"request_id": "r1", "attributes": {"b": 2, "a": 1}},
             "2026-11-23T10:00:00Z"),
    LogEvent("r1", 7, STATUS_CHANGED, {"status": "accepted", "note": "é ok"},
             "2026-11-23T10:05:00Z", partner_id="p1", environment="prod"),
    LogEvent("r1", 8, NOTIFICATION_FAILED, {"channel": "sms"}, "2026-11-23T10:06:00Z",
             environment="prod"),
])
def test_an_event_reads_back_from_its_item(event):
    assert event_from_item(event_item(event)) == event


def test_the_item_has_the_partner_environment_only_when_the_event_has_it():
    item = event_item(LogEvent("r1", 1, CREATED, {}, "2026-11-23T10:00:00Z"))
    assert set(item) == {"request_id", "sequence", "type", "recorded_at", "data"}
    assert item["sequence"] == {"N": "1"}
    routed = event_item(LogEvent("r1", 2, "request.routed", {}, "t", "p1", "prod"))
    assert routed["partner_id"] == {"S": "p1"} and routed["environment"] == {"S": "prod"}


def test_data_is_one_string_whatever_order_it_was_built_in():
    one = event_item(LogEvent("r1", 1, CREATED, {"b": 1, "a": {"d": 2, "c": 3}}, "t"))
    two = event_item(LogEvent("r1", 1, CREATED, {"a": {"c": 3, "d": 2}, "b": 1}, "t"))
    assert one["data"] == two["data"] == {"S": '{"a":{"c":3,"d":2},"b":1}'}
    assert json.loads(one["data"]["S"]) == {"a": {"c": 3, "d": 2}, "b": 1}


def test_event_types_are_distinct_and_spelled_as_stored():
    assert len(set(EVENT_TYPES)) == len(EVENT_TYPES)
    assert CREATED == "request.created" and STATUS_CHANGED == "request.status_changed"
    assert NOTIFICATION_FAILED == "notification.failed"
