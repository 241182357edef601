"""Event bus logs written by the local runtime, delivered by the subscription filter.

AWS documentation followed: "Amazon EventBridge event bus log schema"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-logs-schema.html),
"Configuring logs for event buses"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html) and
"Using CloudWatch Logs subscription filters"
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html).
"""

from __future__ import annotations

import dataclasses
import json

import pytest

from infra.local.provision import provision_delivery_log
from infra.local.runtime.bus_logs import BusLogConfig
from infra.local.runtime.log_filters import (
    FilterPattern,
    FilterPatternError,
    awslogs_event,
    read_awslogs_event,
)
from infra.spec import FunctionSpec
from tests.infra.local.runtime_support import (  # noqa: F401
    Reply,
    create_function,
    create_queue,
    endpoint,
    receive_all,
    runtime,
)

INDEXER = "delivery_indexer"


@pytest.fixture
def logged_stage(aws, stage, runtime):
    """The stage with an indexer function whose invocations are recorded, and bus logs on."""
    spec = stage.spec
    name = f"{spec.prefix}-delivery-indexer"
    if INDEXER not in spec.functions:
        spec = dataclasses.replace(spec, functions={**spec.functions, INDEXER: FunctionSpec(
            INDEXER, name, "handlers.delivery_indexer.lambda_handler")})
    name = spec.function_name(INDEXER)
    create_function(aws, name)
    received: list[dict] = []
    runtime.register(name, lambda event, context: received.append(read_awslogs_event(event)))
    provision_delivery_log(spec, stage, session=aws)
    return spec, received


def partner_rule(aws, spec, url, *targets, retries=2):
    events = aws.client("events")
    connection = events.create_connection(
        Name="p1-conn", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                  "ApiKeyValue": "k"}})["ConnectionArn"]
    destination = events.create_api_destination(
        Name="p1-dest", ConnectionArn=connection, InvocationEndpoint=f"{url}/hook",
        HttpMethod="POST")["ApiDestinationArn"]
    _, dlq = create_queue(aws, "p1-dlq")
    rule = events.put_rule(Name=f"{spec.partner_resource_prefix}p1-test", EventBusName=spec.bus_name,
                           EventPattern=json.dumps({"source": ["test.source"]}))["RuleArn"]
    events.put_targets(Rule=f"{spec.partner_resource_prefix}p1-test", EventBusName=spec.bus_name,
                       Targets=[{"Id": "delivery", "Arn": destination,
                                 "DeadLetterConfig": {"Arn": dlq},
                                 "InputTransformer": {"InputPathsMap": {"id": "$.id"},
                                                      "InputTemplate": '{"id": <id>}'},
                                 "RetryPolicy": {"MaximumRetryAttempts": retries,
                                                 "MaximumEventAgeInSeconds": 3600}},
                                *targets])
    return rule, destination


def put(aws, spec):
    answer = aws.client("events").put_events(Entries=[{
        "Source": "test.source", "DetailType": "Thing", "EventBusName": spec.bus_name,
        "Detail": json.dumps({"n": 1})}])
    return answer["Entries"][0]["EventId"]


def records(received):
    return [json.loads(e["message"]) for batch in received for e in batch["logEvents"]]


def test_every_attempt_reaches_the_indexer_in_aws_schema(aws, runtime, logged_stage, endpoint):
    """A failing endpoint: INVOCATION_START with the body as sent, each attempt's start and
    retryable failure with the HTTP status, then INVOCATION_FAILURE and INVOCATION_DLQ; all
    of one invocation. The SQS target's records are logged but filtered out."""
    spec, received = logged_stage
    endpoint.default = Reply(500)
    _, queue = create_queue(aws, "other")
    rule, destination = partner_rule(aws, spec, endpoint.url, {"Id": "q", "Arn": queue})
    event_id = put(aws, spec)
    assert runtime.drain(10)
    got = records(received)
    assert {r["details"]["target_arn"] for r in got} == {destination}
    assert all(r["event_id"] == event_id and r["resource_arn"].endswith(
        f":event-bus/{spec.bus_name}") for r in got)
    kinds = [r["message_type"] for r in got]
    assert kinds.count("INVOCATION_ATTEMPT_START") == 3
    failures = [r for r in got if r["message_type"] == "INVOCATION_ATTEMPT_RETRYABLE_FAILURE"]
    assert [f["details"]["attempt_count"] for f in failures] == [1, 2, 3]
    assert {f["error"]["http_status_code"] for f in failures} == {500}
    assert {"INVOCATION_START", "INVOCATION_FAILURE", "INVOCATION_DLQ"} <= set(kinds)
    start = next(r for r in got if r["message_type"] == "INVOCATION_START")
    assert json.loads(start["details"]["target_input"]) == endpoint.received[0].json()
    assert start["details"]["rule_arn"] == rule
    assert len({r["invocation_id"] for r in got}) == 1
    # Everything is in the log group; the receipt and the SQS target's steps stay there.
    logged = [json.loads(e["message"]) for e in aws.client("logs").filter_log_events(
        logGroupName=spec.delivery_log.log_group)["events"]]
    assert {"EVENT_RECEIPT", "RULE_MATCH"} <= {r["message_type"] for r in logged}
    [match] = [r for r in logged if r["message_type"] == "RULE_MATCH"]
    invocations = dict(zip(match["details"]["target_arns"], match["details"]["invocation_ids"]))
    assert set(invocations) == {destination, queue}
    assert invocations[destination] == got[0]["invocation_id"]
    assert any(r["details"].get("target_arn") == queue for r in logged)


def test_a_delivered_event_logs_its_successful_attempt(aws, runtime, logged_stage, endpoint):
    spec, received = logged_stage
    partner_rule(aws, spec, endpoint.url)
    put(aws, spec)
    assert runtime.drain(10)
    got = {r["message_type"]: r for r in records(received)}
    assert got["INVOCATION_ATTEMPT_SUCCESS"]["details"]["invocation_status"] == "200"
    assert got["INVOCATION_ATTEMPT_SUCCESS"]["details"]["attempt_type"] == "FIRST"
    assert got["INVOCATION_SUCCESS"]["details"]["total_attempts"] == 1
    assert "error" not in got["INVOCATION_SUCCESS"]


def test_a_bus_without_log_config_writes_nothing(aws, runtime, stage, endpoint):
    spec = stage.spec
    partner_rule(aws, spec, endpoint.url)
    put(aws, spec)
    assert runtime.drain(10)
    assert runtime.bus_logs.records_written == 0 and endpoint.received


def test_the_bus_log_config_is_kept_by_moto(aws, stage, logged_stage):
    """API_LogConfig: DescribeEventBus answers the LogConfig UpdateEventBus set."""
    answer = aws.client("events").describe_event_bus(Name=stage.spec.bus_name)
    assert answer["LogConfig"] == {"Level": "TRACE", "IncludeDetail": "FULL"}


@pytest.mark.parametrize("level, written", [
    ("TRACE", {"INVOCATION_ATTEMPT_START", "INVOCATION_SUCCESS", "INVOCATION_DLQ"}),
    ("INFO", {"INVOCATION_SUCCESS", "INVOCATION_DLQ"}),
    ("ERROR", {"INVOCATION_DLQ"}),
])
def test_the_level_decides_which_steps_are_logged(level, written):
    config = BusLogConfig("arn", level, "FULL", ("g",))
    steps = {"INVOCATION_ATTEMPT_START", "INVOCATION_SUCCESS", "INVOCATION_DLQ"}
    assert {s for s in steps if config.logs(s)} == written


@pytest.mark.parametrize("pattern, message, matches", [
    ("", "anything", True),
    ('{ $.details.target_arn = "*:api-destination/*" }',
     '{"details": {"target_arn": "arn:aws:events:r:1:api-destination/d/u"}}', True),
    ('{ $.details.target_arn = "*:api-destination/*" }',
     '{"details": {"target_arn": "arn:aws:lambda:r:1:function:f"}}', False),
    ('{ $.details.target_arn = "*:api-destination/*" }', '{"details": {}}', False),
    ('{ $.details.target_arn = "*:api-destination/*" }', "not json", False),
    ('{ $.a = 1 && $.b != "x" }', '{"a": 1, "b": "y"}', True),
    ('{ $.a = 1 || $.b = "x" }', '{"a": 2, "b": "x"}', True),
])
def test_filter_patterns(pattern, message, matches):
    """FilterAndPatternSyntax: JSON property comparisons, `*` wildcards, && and ||."""
    assert FilterPattern.compile(pattern).matches(message) is matches


@pytest.mark.parametrize("pattern", ["ERROR", '{ $.a = 1 && $.b = 2 || $.c = 3 }',
                                     '{ $.a > 1 }'])
def test_unsupported_filter_patterns_are_refused(pattern):
    with pytest.raises(FilterPatternError):
        FilterPattern.compile(pattern)


def test_the_awslogs_payload_is_base64_gzip_json():
    event = awslogs_event(owner="1", log_group="g", log_stream="s", filter_name="f",
                          log_events=[{"id": "1", "timestamp": 5, "message": "m"}])
    assert read_awslogs_event(event) == {
        "messageType": "DATA_MESSAGE", "owner": "1", "logGroup": "g", "logStream": "s",
        "subscriptionFilters": ["f"],
        "logEvents": [{"id": "1", "timestamp": 5, "message": "m"}]}


def test_provisioning_the_delivery_log_twice_changes_nothing(aws, stage, logged_stage):
    spec, _ = logged_stage
    provision_delivery_log(spec, stage, session=aws)
    logs = aws.client("logs")
    assert len(logs.describe_deliveries()["deliveries"]) == 1
    [subscription] = logs.describe_subscription_filters(
        logGroupName=spec.delivery_log.log_group)["subscriptionFilters"]
    assert subscription["filterPattern"] == spec.delivery_log.filter_pattern
    [group] = logs.describe_log_groups(
        logGroupNamePrefix=spec.delivery_log.log_group)["logGroups"]
    assert group["retentionInDays"] == spec.delivery_log.retention_days


def test_the_embedded_log_stream_keeps_only_the_newest_records(aws, runtime, logged_stage,
                                                               monkeypatch):
    """moto never expires log events; the runtime bounds what it keeps in memory."""
    from infra.local.runtime import bus_logs

    spec, _ = logged_stage
    monkeypatch.setattr(bus_logs, "KEEP_RECORDS", 5)
    config = runtime.bus_logs.config(spec.bus_name)
    for n in range(12):
        runtime.bus_logs.record(config, "RULE_MATCH", event={"id": f"e{n}"},
                                details={"rule_arn": "r", "target_arns": [], "invocation_ids": []})
    runtime.bus_logs.flush()
    from moto.logs.models import logs_backends

    group = logs_backends["123456789012"]["us-east-1"].groups[spec.delivery_log.log_group]
    kept = [json.loads(e.message)["event_id"] for e in group.streams[bus_logs.LOG_STREAM].events]
    assert kept == [f"e{n}" for n in range(7, 12)]
