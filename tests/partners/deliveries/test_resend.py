"""Resend: the logged CloudEvent's request again, same CloudEvent id, one environment only,
rate-limited; what cannot be resent says why."""

from __future__ import annotations

import json

import pytest

from partners.deliveries import (
    DeliveryNotFoundError,
    DeliveryNotResendableError,
    ResendFailedError,
    ResendRateLimitedError,
    Resender,
    delivery_id,
    parse_record,
)
from tests.partners.deliveries.builders import Send


class FakeEvents:
    def __init__(self, failed: bool = False):
        self.failed = failed
        self.entries = []

    def put_events(self, Entries):  # noqa: N803 - boto3's argument name
        self.entries += Entries
        if self.failed:
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"new-{len(self.entries)}"}]}


@pytest.fixture
def delivered(store):
    # The CloudEvent id is the request id (partners.core.contracts.CLOUDEVENTS_TRANSFORMER).
    store.index(parse_record(r) for r in Send(cloudevent_id="r-1", request_id="r-1").delivered())
    return delivery_id("pabc", "prod", "r-1")


def test_the_request_goes_again_with_its_cloudevent_id_to_this_environment(store, delivered):
    events = FakeEvents()
    assert Resender(events, store, bus_name="bus").resend("pabc", "prod", delivered) == "new-1"
    [entry] = events.entries
    detail = json.loads(entry["Detail"])
    assert (entry["EventBusName"], entry["DetailType"]) == ("bus", "Request Created")
    # The request id, which the partner target renders as the same CloudEvent id.
    assert (detail["request_id"], detail["addressed_to"], detail["environment"]) == (
        "r-1", "pabc", "prod")


def test_another_environment_cannot_resend_it(store, delivered):
    events = FakeEvents()
    with pytest.raises(DeliveryNotFoundError):
        Resender(events, store, bus_name="bus").resend("pabc", "test", delivered)
    assert events.entries == []


def test_the_rate_is_per_environment_and_minute(store, delivered, clock):
    resender = Resender(FakeEvents(), store, bus_name="bus", clock=clock, per_minute=1)
    resender.resend("pabc", "prod", delivered)
    with pytest.raises(ResendRateLimitedError) as caught:
        resender.resend("pabc", "prod", delivered)
    assert caught.value.retry_after == 60
    clock.advance(seconds=60)
    resender.resend("pabc", "prod", delivered)


def test_without_a_logged_cloudevent_there_is_nothing_to_resend(store, delivered, aws,
                                                                deliveries_table):
    aws.client("dynamodb").update_item(
        TableName=deliveries_table,
        Key={"pk": {"S": f"DELIVERY#{delivered}"}, "sk": {"S": "DELIVERY"}},
        UpdateExpression="REMOVE payload")
    events = FakeEvents()
    with pytest.raises(DeliveryNotResendableError, match="not logged"):
        Resender(events, store, bus_name="bus").resend("pabc", "prod", delivered)
    assert events.entries == []


def test_a_refused_entry_is_a_temporary_failure(store, delivered):
    with pytest.raises(ResendFailedError) as caught:
        Resender(FakeEvents(failed=True), store, bus_name="bus").resend("pabc", "prod",
                                                                        delivered)
    assert caught.value.code == "InternalFailure"
