"""Sending a test event: one addressed `Request Created` on the bus, and one audit record."""

from __future__ import annotations

import pytest

from partners.core.exceptions import ContractViolationError
from partners.core.strict_json import UnsafeJsonError
from partners.onboarding import AuditLog
from partners.routing.exceptions import EventRefusedError
from partners.routing.test_events import is_probe_of, put_test_event, recent_probes

ACTOR = "user:ops@acme.example.com"


@pytest.fixture
def audit(stage, aws, clock):
    return AuditLog(stage.spec.tables["audit"].name, boto3_session=aws, clock=clock)


class RefusingBus:
    """An EventBridge client whose bus refuses every entry."""

    def __init__(self):
        self.entries = []

    def put_events(self, Entries):
        self.entries += Entries
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException",
                                                    "ErrorMessage": "slow down"}]}


def send(events, audit, clock, stage, **overrides):
    arguments = {"bus_name": stage.spec.bus_name, "partner_id": "p1", "environment": "test",
                 "request_type": "test.ping", "attributes": {"region": "eu-west"},
                 "clock": clock, **overrides}
    return put_test_event(events, audit, ACTOR, **arguments)


def test_put_sends_an_addressed_event_and_audits_it(stage, aws, audit, clock):
    sent = send(aws.client("events"), audit, clock, stage)
    assert sent.event_id and is_probe_of(sent.detail["request_id"], "p1")
    assert sent.detail["addressed_to"] == "p1" and sent.detail["test"] is True
    [record] = audit.for_target("partner:p1").items
    assert (record.actor, record.action) == (ACTOR, "test_event.sent")
    assert record.after == {"environment": "test", "request_id": sent.detail["request_id"],
                            "request_type": "test.ping", "event_id": sent.event_id,
                            "sent_at": "2026-11-23T10:00:00Z",
                            "attributes": {"region": "eu-west"}}


def test_recent_probes_are_this_environments_newest_first(stage, aws, audit, clock):
    events = aws.client("events")
    first = send(events, audit, clock, stage)
    clock.advance(seconds=1)
    send(events, audit, clock, stage, environment="prod")
    clock.advance(seconds=1)
    latest = send(events, audit, clock, stage)
    audit.record(actor=ACTOR, action="token.created", target="partner:p1", after={})
    probes = recent_probes(audit, "p1", "test")
    assert [p["request_id"] for p in probes] == [latest.detail["request_id"],
                                                 first.detail["request_id"]]
    assert len(recent_probes(audit, "p1", "test", limit=1)) == 1
    assert recent_probes(audit, "p2", "test") == []


def test_a_refused_event_is_not_audited(stage, audit, clock):
    bus = RefusingBus()
    with pytest.raises(EventRefusedError, match="ThrottlingException slow down"):
        send(bus, audit, clock, stage)
    assert len(bus.entries) == 1 and audit.for_target("partner:p1").items == []


def test_a_detail_that_breaks_the_contract_is_not_sent(stage, audit, clock):
    bus = RefusingBus()
    with pytest.raises(ContractViolationError):
        send(bus, audit, clock, stage, request_type="Not A Type")
    assert bus.entries == [] and audit.for_target("partner:p1").items == []


@pytest.mark.parametrize("attributes,pointer", [
    ({"qty": float("nan")}, "/qty"),
    ({"region": "eu", "qty": float("-inf")}, "/qty"),
    ({"qty": 10 ** 400}, "/qty"),
])
def test_attributes_strict_json_cannot_carry_are_refused_and_nothing_is_sent(
        stage, audit, clock, attributes, pointer):
    bus = RefusingBus()
    with pytest.raises(UnsafeJsonError) as caught:
        send(bus, audit, clock, stage, attributes=attributes)
    assert caught.value.pointer == pointer
    assert bus.entries == [] and audit.for_target("partner:p1").items == []
