"""Flow B's user side on the local runtime: recorded status change -> the request log's stream
-> notifier -> SNS; an outage of the notifier; replaying the archive to a Lambda rule.

The stage is wired as on AWS (`infra.local.wiring`: functions and the stream mappings of
`spec.stream_subscriptions`, with their filters, batching windows and on-failure queues) and
the archive provisioned; the local runtime polls the stream and runs the handlers in-process.
"""

from __future__ import annotations

import contextlib
import importlib
import json
from datetime import datetime, timezone

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from infra.local.provision import provision_archive
from infra.local.runtime import LocalRuntime, RuntimeSettings
from infra.local.wiring import function_arn, wire_stage, wiring_environment
from partners.archive.replay import Replayer
from partners.core.constants import REQUEST_STATUS_CHANGED, SOURCE_REQUESTS
from partners.core.contracts import put_events_entry
from partners.notifications.contacts import ContactStore
from partners.requests.log import RequestLog

PHONE = "+14155550123"
STAGE_HANDLERS = ("handlers.notifier", "handlers.projector", "handlers.routing_recorder",
                  "handlers.partner_api", "handlers.portal_api", "handlers.authorizer",
                  "handlers.reconciler")
TAP = "pgw-test-status-tap"


@pytest.fixture
def flow(aws, spec, stage, monkeypatch):
    environment = {**stage.environment_variables(),
                   **wiring_environment(spec, stage, "us-east-1"),
                   "PGW_SMS_SENDER_ID": "Marketplace", "POWERTOOLS_TRACE_DISABLED": "true"}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # The runtime invokes the process's handler modules (and copies of them): nothing built,
    # so each first invocation builds on this test's stage, from the variables just set, and
    # nothing built here outlives the test (the stream mappings reach the projector too).
    with contextlib.ExitStack() as built_here:
        for name in STAGE_HANDLERS:
            module = importlib.import_module(name)
            built_here.enter_context(module.dependencies.override())
        provision_archive(spec, stage, session=aws)
        tapped: list[dict] = []
        runtime = LocalRuntime(RuntimeSettings(backoff_scale=0.0001, workers=2,
                                               stream_interval=0.01),
                               handlers={TAP: lambda event, context: tapped.append(event)}).start()
        runtime.tapped = tapped
        wire_stage(spec, stage, environment, session=aws)
        runtime.streams.start_new_mappings()  # the `LATEST` notifier mapping sees what follows
        log = RequestLog(spec.tables["request_events"].name, boto3_session=aws)
        log.create({"environment": "prod", "request_id": "r-42",
                    "request_type": "mortgage.application", "occurred_at": "2026-11-23T09:00:00Z",
                    "schema_version": "1", "user_id": "u-1", "attributes": {}})
        log.record_routing({"request_id": "r-42"}, partner_id="p-acme", environment="prod",
                           mode="push", event_id="e-1")
        runtime.log = log
        ContactStore(spec.tables["contacts"].name, stage.topic_arns["notifications"],
                     boto3_session=aws).put("u-1", {"email": "ana@example.com", "phone": PHONE})
        yield runtime
        runtime.stop()


def post(flow, status, key):
    return flow.log.change_status("r-42", partner_id="p-acme", environment="prod",
                                  partner_name="Acme Bank", status=status, command_id=key)


def sms_texts():
    return [text for _, text in sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sms_messages.values()]


def topic_messages(stage):
    topic = sns_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].topics[stage.topic_arns["notifications"]]
    return [(subject, attributes) for _, _, subject, attributes, _ in topic.sent_notifications]


def notifier_mapping(aws, spec):
    return aws.client("lambda").list_event_source_mappings(
        FunctionName=spec.function_name("notifier"))["EventSourceMappings"][0]


def test_the_notifier_mapping_filters_status_changes_from_the_log_stream(aws, spec, flow):
    mapping = notifier_mapping(aws, spec)
    assert mapping["EventSourceArn"].endswith(
        flow.log.table_name + mapping["EventSourceArn"].split(flow.log.table_name)[-1])
    assert json.loads(mapping["FilterCriteria"]["Filters"][0]["Pattern"]) == {
        "eventName": ["INSERT"],
        "dynamodb": {"NewImage": {"type": {"S": ["request.status_changed"]}}}}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        f"{spec.prefix}-notifier-dlq")


def test_a_recorded_status_change_reaches_the_user_once(flow, stage):
    post(flow, "received", "k1")
    assert flow.drain(10)
    assert len(sms_texts()) == 1 and "Acme Bank has received" in sms_texts()[0]
    assert topic_messages(stage) == [("Acme Bank has received your mortgage application request",
                                      {"user_id": {"Type": "String", "Value": "u-1"}})]
    post(flow, "accepted", "k2")
    assert flow.drain(10)
    assert len(sms_texts()) == 2 and "accepted" in sms_texts()[1]
    assert flow.failed_invocations == []


def test_changes_recorded_while_the_notifier_is_paused_are_sent_when_it_resumes(
        flow, aws, spec, stage):
    lambdas = aws.client("lambda")
    uuid = notifier_mapping(aws, spec)["UUID"]
    lambdas.update_event_source_mapping(UUID=uuid, Enabled=False)
    post(flow, "received", "k1")
    post(flow, "accepted", "k2")
    flow.drain(2)
    assert sms_texts() == []
    lambdas.update_event_source_mapping(UUID=uuid, Enabled=True)
    assert flow.drain(10)
    texts = sms_texts()
    assert len(texts) == 2 and "received" in texts[0] and "accepted" in texts[1]
    assert len(topic_messages(stage)) == 2


def put_status(aws, spec, status, minute):
    detail = {"environment": "prod", "request_id": "r-42", "request_type": "mortgage.application",
              "occurred_at": f"2026-11-23T10:{minute:02d}:00Z", "schema_version": "1",
              "user_id": "u-1", "partner_id": "p-acme", "partner_name": "Acme Bank",
              "status": status}
    entry = put_events_entry(spec.bus_name, REQUEST_STATUS_CHANGED, detail)
    entry["Time"] = datetime(2026, 11, 23, 10, minute, tzinfo=timezone.utc)
    assert aws.client("events").put_events(Entries=[entry])["FailedEntryCount"] == 0


def test_a_pattern_replay_to_a_lambda_rule_grants_and_removes_the_invoke_permission(
        flow, aws, spec):
    events, lambdas = aws.client("events"), aws.client("lambda")
    lambdas.create_function(FunctionName=TAP, Runtime="python3.12", Handler="tap.handler",
                            Role=f"arn:aws:iam::{DEFAULT_ACCOUNT_ID}:role/{spec.prefix}-functions",
                            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18})
    rule = f"{spec.prefix}-status-tap"
    events.put_rule(Name=rule, EventBusName=spec.bus_name, State="DISABLED",
                    EventPattern=json.dumps({"source": [SOURCE_REQUESTS],
                                             "detail-type": [REQUEST_STATUS_CHANGED]}))
    events.put_targets(Rule=rule, EventBusName=spec.bus_name,
                       Targets=[{"Id": "tap", "Arn": function_arn("us-east-1", TAP)}])
    put_status(aws, spec, "received", 1)
    put_status(aws, spec, "accepted", 2)
    assert flow.drain(10)
    assert flow.tapped == []
    events.enable_rule(Name=rule, EventBusName=spec.bus_name)

    replayer = Replayer(spec.bus_name, spec.archive_name, boto3_session=aws,
                        clock=lambda: datetime(2026, 11, 23, 12, tzinfo=timezone.utc),
                        id_factory=lambda: "z1")
    replayer.start(datetime(2026, 11, 23, 10, tzinfo=timezone.utc),
                   datetime(2026, 11, 23, 11, tzinfo=timezone.utc), rules=[rule],
                   pattern={"detail": {"status": ["accepted"]}}, name="accepted-only")
    assert flow.drain(10)
    assert [event["detail"]["status"] for event in flow.tapped] == ["accepted"]
    temporary = f"{rule}-rp-z1"
    policy = json.loads(lambdas.get_policy(FunctionName=TAP)["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == [temporary]

    assert replayer.cleanup("accepted-only") == [temporary]
    with pytest.raises(lambdas.exceptions.ResourceNotFoundException):
        lambdas.get_policy(FunctionName=TAP)
