"""Redriving failed deliveries: re-put to this partner only, then one audit record."""

from __future__ import annotations

import json

import pytest

from partners.core.constants import partner_resource_name
from partners.core.contracts import cloudevent_for
from partners.onboarding import AuditLog
from partners.routing.dead_letters import DeadLetters, redrive_deliveries

ACTOR = "user:ops@acme.example.com"
DETAIL = {"environment": "test", "request_id": "r1", "request_type": "test.ping",
          "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
          "attributes": {}}


@pytest.fixture
def audit(stage, aws, clock):
    return AuditLog(stage.spec.tables["audit"].name, boto3_session=aws, clock=clock)


@pytest.fixture
def dead_letters(stage, aws):
    prefix = stage.spec.partner_resource_prefix
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=partner_resource_name(prefix, "p1", "test"))["QueueUrl"]
    for body in (json.dumps({"id": "e1", "detail-type": "Request Created", "detail": DETAIL}),
                 "not an event"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    return DeadLetters(sqs, aws.client("events"), bus_name=stage.spec.bus_name,
                       resource_prefix=prefix, partner_id="p1", environment="test")


def test_redrive_all_audits_the_counts(dead_letters, audit):
    result = redrive_deliveries(dead_letters, audit, ACTOR)
    assert len(result.redriven) == 1 and len(result.failed) == 1
    assert dead_letters.depth() == 1  # the unreadable message stays for a human to look at
    [record] = audit.for_target("partner:p1").items
    assert (record.actor, record.action) == (ACTOR, "deliveries.redriven")
    assert record.after == {"environment": "test", "redriven": 1, "failed": 1}


def test_redrive_of_chosen_messages(dead_letters, audit):
    result = redrive_deliveries(dead_letters, audit, ACTOR, ["gone"])
    assert result.redriven == [] and set(result.failed) == {"gone"}
    assert audit.for_target("partner:p1").items[0].after == {
        "environment": "test", "redriven": 0, "failed": 1}


class RecordingEvents:
    """The bus client: records the entries a redrive re-puts."""

    def __init__(self) -> None:
        self.entries: list[dict] = []

    def put_events(self, Entries):  # noqa: N803 - boto3's parameter name
        self.entries += Entries
        return {"FailedEntryCount": 0, "Entries": [{"EventId": f"new-{len(self.entries)}"}]}


def test_a_redrive_keeps_the_cloudevent_id(stage, aws):
    """The redriven event is a new EventBridge event addressed to this partner, whose
    CloudEvent (as the partner target renders it) has the id the partner already saw."""
    prefix = stage.spec.partner_resource_prefix
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=partner_resource_name(prefix, "p1", "test"))["QueueUrl"]
    original = {"id": "e1", "detail-type": "Request Created", "time": "2026-11-23T10:00:00Z",
                "detail": DETAIL}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(original))
    events = RecordingEvents()
    letters = DeadLetters(sqs, events, bus_name=stage.spec.bus_name, resource_prefix=prefix,
                          partner_id="p1", environment="test")
    assert len(letters.redrive().redriven) == 1
    [entry] = events.entries
    redriven = {**original, "id": "e2", "detail": json.loads(entry["Detail"])}
    assert redriven["detail"]["addressed_to"] == "p1"
    assert cloudevent_for(redriven)["id"] == cloudevent_for(original)["id"]
