"""Resending a delivery: the same CloudEvent id, to this partner environment only, limited,
audited, refused to who may not handle the partner's deliveries."""

from __future__ import annotations

import dataclasses
import json

import pytest

from partners.deliveries import (
    DeliveryNotFoundError,
    DeliveryNotResendableError,
    ResendRateLimitedError,
    Resender,
    delivery_id,
    parse_record,
)
from partners.onboarding import Actor, AuditLog, RoleRefusedError
from tests.partners.deliveries.builders import Send

ACTOR = "user:dev@acme.example.com"


class RecordingEvents:
    """The bus client: records what a resend publishes."""

    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"new-{len(self.entries)}"}]}


@pytest.fixture
def audit(spec, aws, clock):
    from infra.local.provision import _create_table

    _create_table(aws.client("dynamodb"), spec.tables["audit"])
    return AuditLog(spec.tables["audit"].name, boto3_session=aws, clock=clock)


@pytest.fixture
def sent(store):
    send = Send(partner_id="pabc", environment="prod", event_id="ev-1", cloudevent_id="ce-1")
    store.index(parse_record(r) for r in send.failing_then_dead_lettered())
    return delivery_id("pabc", "prod", "ce-1")


def resender(store, events, audit=None, per_minute=10):
    return Resender(events, store, bus_name="pgw-test-marketplace", per_minute=per_minute,
                    audit=audit)


def test_a_resend_publishes_the_same_cloudevent_to_this_environment_only(store, sent, audit):
    events = RecordingEvents()
    event_id = resender(store, events, audit).resend("pabc", "prod", sent, actor=ACTOR)
    [entry] = events.entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "Request Created"
    assert (detail["cloudevent_id"], detail["addressed_to"], detail["environment"]) == (
        "ce-1", "pabc", "prod")
    assert detail["request_id"] == "r-1"
    [record] = audit.for_target("partner:pabc").items
    assert (record.actor, record.action) == (ACTOR, "deliveries.resent")
    assert record.after == {"environment": "prod", "delivery_id": sent,
                            "cloudevent_id": "ce-1", "event_id": event_id}


def test_another_environments_delivery_is_not_found(store, sent):
    with pytest.raises(DeliveryNotFoundError):
        resender(store, RecordingEvents()).resend("pabc", "test", sent)
    with pytest.raises(DeliveryNotFoundError):
        resender(store, RecordingEvents()).resend("pother", "prod", sent)


def test_resends_are_limited_per_environment(store, sent):
    events = RecordingEvents()
    limited = resender(store, events, per_minute=2)
    limited.resend("pabc", "prod", sent)
    limited.resend("pabc", "prod", sent)
    with pytest.raises(ResendRateLimitedError):
        limited.resend("pabc", "prod", sent)
    assert len(events.entries) == 2


def test_a_viewer_may_not_resend(store, sent, audit):
    events = RecordingEvents()
    viewer = Actor.member("u1", "viewer@acme.example.com", "pabc", "viewer")
    with pytest.raises(RoleRefusedError):
        resender(store, events, audit).resend("pabc", "prod", sent, actor=viewer)
    assert events.entries == [] and audit.for_target("partner:pabc").items == []


def test_a_delivery_without_its_cloudevent_cannot_be_resent(store):
    send = Send(partner_id="pabc", environment="prod", event_id="ev-2", cloudevent_id="ce-2")
    store.index(parse_record(r) for r in send.delivered())
    item = delivery_id("pabc", "prod", "ce-2")

    class NoPayload:
        def __init__(self, inner):
            self.inner = inner

        def get(self, partner_id, environment, delivery):
            return dataclasses.replace(self.inner.get(partner_id, environment, delivery),
                                       payload=None)

    sender = resender(store, RecordingEvents())
    sender.queries = NoPayload(sender.queries)
    with pytest.raises(DeliveryNotResendableError):
        sender.resend("pabc", "prod", item)
