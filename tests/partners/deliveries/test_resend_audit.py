"""Resend as a use case: audited with who asked, refused before anything is sent to who may
not handle the partner's deliveries, limited per environment (not per caller)."""

from __future__ import annotations

import json

import pytest

from partners.deliveries import (
    DeliveryNotFoundError,
    ResendRateLimitedError,
    Resender,
    delivery_id,
    parse_record,
)
from partners.onboarding import Actor, AuditLog, RoleRefusedError
from tests.partners.deliveries.builders import Send

ACTOR = "user:dev@acme.example.com"


class RecordingEvents:
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
    """A dead-lettered delivery (its CloudEvent id is its request id, as rendered)."""
    send = Send(partner_id="pabc", environment="prod", event_id="ev-1", cloudevent_id="r-1",
                request_id="r-1")
    store.index(parse_record(r) for r in send.failing_then_dead_lettered())
    return delivery_id("pabc", "prod", "r-1")


def resender(store, events, audit=None, per_minute=10):
    return Resender(events, store, bus_name="pgw-test-marketplace", per_minute=per_minute,
                    audit=audit)


def test_a_resend_is_audited_with_who_asked(store, sent, audit):
    events = RecordingEvents()
    event_id = resender(store, events, audit).resend("pabc", "prod", sent, actor=ACTOR)
    [entry] = events.entries
    assert json.loads(entry["Detail"])["addressed_to"] == "pabc"
    [record] = audit.for_target("partner:pabc").items
    assert (record.actor, record.action) == (ACTOR, "delivery.resent")
    assert record.after == {"environment": "prod", "deliveries": [sent],
                            "cloudevent_id": "r-1", "event_id": event_id}


def test_another_partners_delivery_is_not_found(store, sent):
    with pytest.raises(DeliveryNotFoundError):
        resender(store, RecordingEvents()).resend("pother", "prod", sent)


def test_the_limit_is_the_environments(store, sent):
    """Two callers of one environment share its resends."""
    events = RecordingEvents()
    resender(store, events, per_minute=2).resend("pabc", "prod", sent, actor="user:a")
    resender(store, events, per_minute=2).resend("pabc", "prod", sent, actor="user:b")
    with pytest.raises(ResendRateLimitedError):
        resender(store, events, per_minute=2).resend("pabc", "prod", sent, actor="user:c")
    assert len(events.entries) == 2


def test_a_viewer_may_not_resend(store, sent, audit):
    events = RecordingEvents()
    viewer = Actor.member("u1", "viewer@acme.example.com", "pabc", "viewer")
    with pytest.raises(RoleRefusedError):
        resender(store, events, audit).resend("pabc", "prod", sent, actor=viewer)
    assert events.entries == [] and audit.for_target("partner:pabc").items == []
