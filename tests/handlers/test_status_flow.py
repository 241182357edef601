"""Flow B's user side on the local runtime: status event -> rule -> notifier -> SNS; replay.

The stage is wired as on AWS (`infra.local.wiring`: functions, the notifier rule with its
retry policy and DLQ) and the archive provisioned; the local runtime delivers rule targets to
the handlers in-process. A replay to the notifier rule after an outage sends what was missed,
and nothing twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from infra.local.provision import provision_archive
from infra.local.runtime import LocalRuntime, RuntimeSettings
from infra.local.wiring import wire_stage, wiring_environment
from partners.constants import REQUEST_STATUS_CHANGED
from partners.contacts import ContactStore
from partners.contracts import put_events_entry
from partners.replay import Replayer
from partners.requests import RequestLog

PHONE = "+14155550123"


@pytest.fixture
def flow(aws, spec, stage, monkeypatch):
    import handlers.notifier

    environment = {**stage.environment_variables(),
                   **wiring_environment(spec, stage, "us-east-1"),
                   "PGW_SMS_SENDER_ID": "Marketplace", "POWERTOOLS_TRACE_DISABLED": "true"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    handlers.notifier.reset()
    provision_archive(spec, stage, session=aws)
    runtime = LocalRuntime(RuntimeSettings(backoff_scale=0.0001, workers=2,
                                           stream_interval=0.01)).start()
    wire_stage(spec, stage, environment, session=aws)
    RequestLog(spec.tables["request_events"].name, boto3_session=aws).create({
        "environment": "prod", "request_id": "r-42", "request_type": "mortgage.application",
        "occurred_at": "2026-11-23T09:00:00Z", "schema_version": "1", "user_id": "u-1",
        "attributes": {}})
    ContactStore(spec.tables["contacts"].name, stage.topic_arns["notifications"],
                 boto3_session=aws).put("u-1", {"email": "ana@example.com", "phone": PHONE})
    yield runtime
    runtime.stop()
    handlers.notifier.reset()


def put_status(aws, spec, status, minute):
    detail = {"environment": "prod", "request_id": "r-42", "request_type": "mortgage.application",
              "occurred_at": f"2026-11-23T10:{minute:02d}:00Z", "schema_version": "1",
              "user_id": "u-1", "partner_id": "p-acme", "partner_name": "Acme Bank",
              "status": status}
    entry = put_events_entry(spec.bus_name, REQUEST_STATUS_CHANGED, detail)
    entry["Time"] = datetime(2026, 11, 23, 10, minute, tzinfo=timezone.utc)
    assert aws.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def sms_texts():
    return [text for _, text in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def topic_messages(stage):
    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[stage.topic_arns["notifications"]]
    return [(subject, attributes) for _, _, subject, attributes, _ in topic.sent_notifications]


def test_a_status_event_on_the_bus_reaches_the_user_once_and_a_replay_fills_the_gap(
        flow, aws, spec, stage):
    put_status(aws, spec, "received", 1)
    assert flow.drain(10)
    assert len(sms_texts()) == 1 and "Acme Bank has received" in sms_texts()[0]
    assert topic_messages(stage) == [("Acme Bank has received your mortgage application request",
                                      {"user_id": {"Type": "String", "Value": "u-1"}})]

    # The notifier is unreachable for a while: its rule is disabled, the event is archived.
    events = aws.client("events")
    rule = f"{spec.prefix}-notifier"
    events.disable_rule(Name=rule, EventBusName=spec.bus_name)
    put_status(aws, spec, "accepted", 2)
    assert flow.drain(10)
    assert len(sms_texts()) == 1
    events.enable_rule(Name=rule, EventBusName=spec.bus_name)

    # The operator replays the window to the notifier rule only: the missed status is sent,
    # the one already sent is not sent again.
    replayer = Replayer(spec.bus_name, spec.archive_name, boto3_session=aws,
                        clock=lambda: datetime(2026, 11, 23, 12, tzinfo=timezone.utc))
    progress = replayer.start(datetime(2026, 11, 23, 10, tzinfo=timezone.utc),
                              datetime(2026, 11, 23, 11, tzinfo=timezone.utc), rules=[rule],
                              name="notifier-outage")
    assert progress.state == "COMPLETED"
    assert flow.drain(10)
    texts = sms_texts()
    assert len(texts) == 2 and "accepted" in texts[1]
    assert [subject for subject, _ in topic_messages(stage)] == [
        "Acme Bank has received your mortgage application request",
        "Acme Bank accepted your mortgage application request"]
    assert flow.failed_invocations == []


def test_a_pattern_replay_to_a_lambda_rule_grants_and_removes_the_invoke_permission(
        flow, aws, spec, stage):
    events, lambdas = aws.client("events"), aws.client("lambda")
    rule = f"{spec.prefix}-notifier"
    events.disable_rule(Name=rule, EventBusName=spec.bus_name)
    put_status(aws, spec, "received", 1)
    put_status(aws, spec, "accepted", 2)
    assert flow.drain(10)
    events.enable_rule(Name=rule, EventBusName=spec.bus_name)

    replayer = Replayer(spec.bus_name, spec.archive_name, boto3_session=aws,
                        clock=lambda: datetime(2026, 11, 23, 12, tzinfo=timezone.utc),
                        id_factory=lambda: "z1")
    replayer.start(datetime(2026, 11, 23, 10, tzinfo=timezone.utc),
                   datetime(2026, 11, 23, 11, tzinfo=timezone.utc), rules=[rule],
                   pattern={"detail": {"status": ["accepted"]}}, name="accepted-only")
    assert flow.drain(10)
    assert len(sms_texts()) == 1 and "accepted" in sms_texts()[0]
    temporary = f"{rule}-rp-z1"
    policy = json.loads(lambdas.get_policy(FunctionName=spec.function_name("notifier"))["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [temporary]

    assert replayer.cleanup("accepted-only") == [temporary]
    with pytest.raises(lambdas.exceptions.ResourceNotFoundException):
        lambdas.get_policy(FunctionName=spec.function_name("notifier"))
