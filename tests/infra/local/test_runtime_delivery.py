"""Rule targets delivered by the local runtime as EventBridge delivers them (moto in-process)."""

from __future__ import annotations

import json
import random
import time

import pytest

from infra.local.runtime.delivery import Backoff, RetryPolicy
from tests.infra.local.runtime_support import (  # noqa: F401
    Reply,
    create_function,
    create_queue,
    endpoint,
    receive_all,
    runtime,
)

PATTERN = json.dumps({"source": ["test.source"]})


def put(session, detail=None, bus="default"):
    answer = session.client("events").put_events(Entries=[{
        "Source": "test.source", "DetailType": "Thing Happened", "EventBusName": bus,
        "Detail": json.dumps(detail or {"state": "running", "n": 1})}])
    assert answer["FailedEntryCount"] == 0
    return answer["Entries"][0]["EventId"]


def api_destination(session, url, *, name="dest"):
    events = session.client("events")
    connection = events.create_connection(
        Name=f"{name}-conn", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                  "ApiKeyValue": "key-123"}})["ConnectionArn"]
    return events.create_api_destination(
        Name=name, ConnectionArn=connection, InvocationEndpoint=f"{url}/hook",
        HttpMethod="POST")["ApiDestinationArn"]


def rule_with(session, *targets, name="r1", state="ENABLED"):
    events = session.client("events")
    arn = events.put_rule(Name=name, EventPattern=PATTERN, State=state)["RuleArn"]
    events.put_targets(Rule=name, Targets=list(targets))
    return arn


def test_api_destination_gets_transformed_body_and_auth(aws, runtime, endpoint):
    """AWS documentation "API destinations" (eb-api-destinations) and "Amazon EventBridge input
    transformation" (eb-transform-target-input): the body is the rendered template with string
    values quoted; the connection's API key is sent."""
    arn = api_destination(aws, endpoint.url)
    rule_with(aws, {"Id": "d", "Arn": arn, "InputTransformer": {
        "InputPathsMap": {"state": "$.detail.state", "id": "$.id", "time": "$.time"},
        "InputTemplate": '{"state": <state>, "id": <id>, "time": <time>}'}})
    event_id = put(aws)
    assert runtime.drain(5)
    body = endpoint.received[0].json()
    assert body["state"] == "running" and body["id"] == event_id
    assert body["time"].endswith("Z") and "T" in body["time"]
    assert endpoint.received[0].headers["x-api-key"] == "key-123"


def test_put_events_returns_before_delivery(aws, runtime, endpoint):
    """eb-api-destinations: delivery is asynchronous to PutEvents."""
    endpoint.default = Reply(200, delay=0.6)
    rule_with(aws, {"Id": "d", "Arn": api_destination(aws, endpoint.url)})
    started = time.monotonic()
    put(aws)
    assert time.monotonic() - started < 0.5
    assert runtime.drain(5) and len(endpoint.received) == 1


def test_5xx_is_retried_until_delivered(aws, runtime, endpoint):
    """AWS documentation "Event retry policy and using dead-letter queues" (eb-rule-retry-policy):
    failed deliveries are retried with backoff."""
    endpoint.script.extend([Reply(500), Reply(503)])
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    rule_with(aws, {"Id": "d", "Arn": api_destination(aws, endpoint.url),
                    "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws)
    assert runtime.drain(5)
    assert len(endpoint.received) == 3
    assert receive_all(aws, dlq_url) == []


def test_exhausted_retries_go_to_the_dlq_with_error_attributes(aws, runtime, endpoint):
    """eb-rule-dlq ("Using dead-letter queues to process undelivered events"): after
    MaximumRetryAttempts the event goes to the DLQ with RULE_ARN, TARGET_ARN, ERROR_CODE,
    ERROR_MESSAGE (and EXHAUSTED_RETRY_CONDITION, RETRY_ATTEMPTS); the body is the event."""
    endpoint.default = Reply(500)
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    target_arn = api_destination(aws, endpoint.url)
    rule_arn = rule_with(aws, {"Id": "d", "Arn": target_arn, "DeadLetterConfig": {"Arn": dlq_arn},
                               "RetryPolicy": {"MaximumRetryAttempts": 2,
                                               "MaximumEventAgeInSeconds": 3600}})
    event_id = put(aws)
    assert runtime.drain(5)
    assert len(endpoint.received) == 3  # the first try and two retries
    [message] = receive_all(aws, dlq_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["RULE_ARN"] == rule_arn and attributes["TARGET_ARN"] == target_arn
    assert attributes["ERROR_CODE"] == "HTTP_500" and "500" in attributes["ERROR_MESSAGE"]
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    body = json.loads(message["Body"])
    assert body["id"] == event_id and body["detail"] == {"state": "running", "n": 1}


def test_a_4xx_goes_to_the_dlq_without_retries(aws, runtime, endpoint):
    """eb-api-destinations: 4xx other than 429 is not retried."""
    endpoint.default = Reply(403)
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    rule_with(aws, {"Id": "d", "Arn": api_destination(aws, endpoint.url),
                    "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws)
    assert runtime.drain(5)
    assert len(endpoint.received) == 1
    [message] = receive_all(aws, dlq_url)
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "HTTP_403"
    assert "EXHAUSTED_RETRY_CONDITION" not in message["MessageAttributes"]


def test_retry_after_beyond_the_event_age_ends_retries(aws, runtime, endpoint):
    """eb-api-destinations: Retry-After is honoured (the more conservative wait wins); a wait
    past MaximumEventAgeInSeconds sends the event to the DLQ."""
    endpoint.default = Reply(429, headers={"Retry-After": "120"})
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    rule_with(aws, {"Id": "d", "Arn": api_destination(aws, endpoint.url),
                    "DeadLetterConfig": {"Arn": dlq_arn},
                    "RetryPolicy": {"MaximumRetryAttempts": 10, "MaximumEventAgeInSeconds": 60}})
    put(aws)
    assert runtime.drain(5)
    assert len(endpoint.received) == 1
    [message] = receive_all(aws, dlq_url)
    assert message["MessageAttributes"]["EXHAUSTED_RETRY_CONDITION"]["StringValue"] == \
        "MaximumEventAgeInSeconds"


def test_sqs_target_gets_the_rendered_input(aws, runtime):
    """AWS documentation "Amazon EventBridge targets" (eb-targets): an SQS target receives the
    (transformed) event as the message body."""
    url, arn = create_queue(aws, "target")
    rule_with(aws, {"Id": "q", "Arn": arn, "InputPath": "$.detail"},
              {"Id": "whole", "Arn": create_queue(aws, "whole")[1]})
    put(aws)
    assert runtime.drain(5)
    [message] = receive_all(aws, url)
    assert json.loads(message["Body"]) == {"state": "running", "n": 1}
    [whole] = receive_all(aws, aws.client("sqs").get_queue_url(QueueName="whole")["QueueUrl"])
    assert json.loads(whole["Body"])["time"].endswith("Z")


def test_sns_target_publishes_the_input(aws, runtime):
    """eb-targets: an SNS target publishes the event as the message."""
    sns = aws.client("sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    url, queue_arn = create_queue(aws, "subscriber")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"RawMessageDelivery": "true"})
    rule_with(aws, {"Id": "t", "Arn": topic, "Input": '{"hello": "sns"}'})
    put(aws)
    assert runtime.drain(5)
    [message] = receive_all(aws, url)
    assert json.loads(message["Body"]) == {"hello": "sns"}


def test_firehose_target_lands_in_its_s3_destination(aws, runtime):
    """eb-targets: a Firehose target puts the event as a record of the delivery stream."""
    aws.client("s3").create_bucket(Bucket="lake")
    firehose = aws.client("firehose")
    stream = firehose.create_delivery_stream(
        DeliveryStreamName="lake-stream", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::lake"})["DeliveryStreamARN"]
    rule_with(aws, {"Id": "f", "Arn": stream})
    event_id = put(aws)
    assert runtime.drain(5)
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake").get("Contents", [])]
    assert keys
    content = s3.get_object(Bucket="lake", Key=keys[0])["Body"].read().decode()
    assert event_id in content


def test_lambda_target_runs_the_handler_with_the_aws_event(aws, runtime):
    """AWS documentation "Using Lambda with EventBridge" (with-eventbridge): the function gets
    the event as EventBridge sends it (asynchronous invocation)."""
    received = []
    arn = create_function(aws, "fn")
    runtime.register("fn", lambda event, context: received.append((event, context.function_name)))
    rule_with(aws, {"Id": "l", "Arn": arn})
    event_id = put(aws)
    assert runtime.drain(5)
    [(event, name)] = received
    assert name == "fn" and event["id"] == event_id and event["source"] == "test.source"
    assert event["detail-type"] == "Thing Happened" and event["time"].endswith("Z")


def test_a_missing_lambda_goes_straight_to_the_dlq(aws, runtime):
    """eb-rule-dlq: a target that no longer exists goes to the DLQ without retries."""
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    rule_with(aws, {"Id": "l", "Arn": "arn:aws:lambda:us-east-1:123456789012:function:gone",
                    "DeadLetterConfig": {"Arn": dlq_arn}})
    put(aws)
    assert runtime.drain(5)
    [message] = receive_all(aws, dlq_url)
    assert message["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"


def test_disabled_rules_and_schedule_rules_get_no_events(aws, runtime):
    """AWS documentation "Rules in Amazon EventBridge" (eb-rules): a disabled rule matches
    nothing; a schedule rule runs on its schedule, not on events."""
    url, arn = create_queue(aws, "q")
    rule_with(aws, {"Id": "q", "Arn": arn}, name="off", state="DISABLED")
    events = aws.client("events")
    events.put_rule(Name="every-hour", ScheduleExpression="rate(1 hour)")
    events.put_targets(Rule="every-hour", Targets=[{"Id": "q", "Arn": arn}])
    put(aws)
    assert runtime.drain(5)
    assert receive_all(aws, url) == []


def test_events_on_a_custom_bus_match_only_its_rules(aws, runtime):
    events = aws.client("events")
    events.create_event_bus(Name="market")
    url, arn = create_queue(aws, "q")
    events.put_rule(Name="on-market", EventBusName="market", EventPattern=PATTERN)
    events.put_targets(Rule="on-market", EventBusName="market", Targets=[{"Id": "q", "Arn": arn}])
    put(aws)
    put(aws, bus="market")
    assert runtime.drain(5)
    assert len(receive_all(aws, url)) == 1


def test_archive_targets_stay_with_moto(aws, runtime):
    events = aws.client("events")
    bus_arn = events.describe_event_bus(Name="default")["Arn"]
    events.create_archive(ArchiveName="all", EventSourceArn=bus_arn)
    put(aws)
    assert runtime.drain(5)
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 1


@pytest.mark.parametrize("attempt, low, high", [(1, 0.5, 1.0), (2, 1.0, 2.0), (4, 4.0, 8.0),
                                                (20, 150.0, 300.0)])
def test_backoff_is_exponential_with_jitter_and_capped(attempt, low, high):
    """eb-rule-retry-policy: exponential back off and jitter."""
    backoff = Backoff(rng=random.Random(7))
    delays = [backoff.delay(attempt) for _ in range(50)]
    assert all(low <= d <= high for d in delays) and len(set(delays)) > 1


@pytest.mark.parametrize("target, expected", [
    ({}, RetryPolicy(185, 86400)),
    ({"RetryPolicy": {"MaximumRetryAttempts": 0}}, RetryPolicy(0, 86400)),
    ({"RetryPolicy": {"MaximumEventAgeInSeconds": 60}}, RetryPolicy(185, 60)),
])
def test_retry_policy_defaults(target, expected):
    """eb-rule-retry-policy: 24 hours and 185 attempts by default."""
    assert RetryPolicy.of(target) == expected


def test_rate_limiter_is_a_one_second_token_bucket():
    """AWS documentation "API destinations" (eb-api-destinations): InvocationRateLimitPerSecond
    bounds the calls per second; the events over it wait for capacity."""
    from infra.local.runtime.api_destinations import RateLimiter

    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    assert [limiter.reserve("d", 2) for _ in range(2)] == [0.0, 0.0]
    assert limiter.reserve("d", 2) == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.reserve("d", 2) == 0.0
    assert limiter.reserve("other", 2) == 0.0


def test_a_rate_limited_destination_gets_every_event_at_its_rate(aws, endpoint):
    """eb-api-destinations: over the rate, events are held back and delivered later, not
    dropped and not counted as failed attempts."""
    from infra.local.runtime import LocalRuntime, RuntimeSettings

    events = aws.client("events")
    connection = events.create_connection(
        Name="c", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    destination = events.create_api_destination(
        Name="slow", ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{endpoint.url}/hook", HttpMethod="POST",
        InvocationRateLimitPerSecond=5)["ApiDestinationArn"]
    rule_with(aws, {"Id": "d", "Arn": destination,
                    "RetryPolicy": {"MaximumRetryAttempts": 0}})
    runtime = LocalRuntime(RuntimeSettings(rate_limits=True, backoff_scale=0.0001)).start()
    try:
        started = time.monotonic()
        aws.client("events").put_events(Entries=[
            {"Source": "test.source", "DetailType": "t", "Detail": json.dumps({"n": n})}
            for n in range(10)])
        assert runtime.drain(10)
        elapsed = time.monotonic() - started
    finally:
        runtime.stop()
    assert len(endpoint.received) == 10 and not runtime.dead_letters.letters
    assert elapsed >= 0.9  # 5 at once (a second's worth), then 5 more at 5/s
