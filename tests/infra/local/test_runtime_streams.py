"""DynamoDB Streams -> stream handlers through the event source mappings in moto."""

from __future__ import annotations

import json
import threading

from tests.infra.local.runtime_support import (  # noqa: F401
    create_function,
    create_queue,
    receive_all,
    runtime,
)


def _log_table(aws, name="log"):
    return aws.client("dynamodb").create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "request_id", "AttributeType": "S"},
                              {"AttributeName": "sequence", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "request_id", "KeyType": "HASH"},
                   {"AttributeName": "sequence", "KeyType": "RANGE"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]["LatestStreamArn"]


def _map(aws, stream_arn, function, **settings):
    aws.client("lambda").create_event_source_mapping(
        EventSourceArn=stream_arn, FunctionName=function, StartingPosition="TRIM_HORIZON",
        **settings)


def _append(aws, request_id, sequence, table="log"):
    aws.client("dynamodb").put_item(TableName=table, Item={
        "request_id": {"S": request_id}, "sequence": {"N": str(sequence)},
        "event_type": {"S": f"e{sequence}"}})


def test_records_reach_the_handler_in_order_in_the_lambda_format(aws, runtime):
    """AWS documentation "Using AWS Lambda with Amazon DynamoDB" (with-ddb): Records with
    eventName, dynamodb.Keys/NewImage in AttributeValue JSON and eventSourceARN, in order."""
    batches = []
    stream_arn = _log_table(aws)
    create_function(aws, "projector")
    runtime.register("projector", lambda event, context: batches.append(event["Records"]))
    _map(aws, stream_arn, "projector")
    for sequence in range(1, 6):
        _append(aws, "r1", sequence)
    assert runtime.drain(5)
    records = [record for batch in batches for record in batch]
    assert [r["dynamodb"]["NewImage"]["sequence"] for r in records] == \
        [{"N": str(n)} for n in range(1, 6)]
    first = records[0]
    assert first["eventName"] == "INSERT" and first["eventSource"] == "aws:dynamodb"
    assert first["eventSourceARN"] == stream_arn and first["awsRegion"] == "us-east-1"
    assert first["dynamodb"]["Keys"] == {"request_id": {"S": "r1"}, "sequence": {"N": "1"}}
    assert first["dynamodb"]["NewImage"]["event_type"] == {"S": "e1"}
    assert isinstance(first["dynamodb"]["ApproximateCreationDateTime"], int)


def test_a_failed_batch_is_retried_and_blocks_later_records(aws, runtime):
    """with-ddb: a failing batch is retried until it succeeds; records after it wait
    (at-least-once, in order)."""
    seen = []
    failures = iter([True, True, False])

    def projector(event, context):
        sequences = [r["dynamodb"]["NewImage"]["sequence"]["N"] for r in event["Records"]]
        seen.append(sequences)
        if next(failures, False):
            raise RuntimeError("projection table busy")

    stream_arn = _log_table(aws)
    create_function(aws, "projector")
    runtime.register("projector", projector)
    for sequence in range(1, 4):
        _append(aws, "r1", sequence)
    _map(aws, stream_arn, "projector", BatchSize=2)  # TRIM_HORIZON: from the first record
    assert runtime.drain(5)
    assert seen == [["1", "2"], ["1", "2"], ["1", "2"], ["3"]]


def test_put_item_returns_before_the_handler_runs(aws, runtime):
    """with-ddb: Lambda polls the stream; the write does not wait for the function."""
    release = threading.Event()
    stream_arn = _log_table(aws)
    create_function(aws, "slow")
    runtime.register("slow", lambda event, context: release.wait(5))
    _map(aws, stream_arn, "slow")
    _append(aws, "r1", 1)  # returns although the handler blocks
    release.set()
    assert runtime.drain(5)


def test_maximum_retry_attempts_discards_a_poison_batch(aws, runtime):
    """with-ddb: MaximumRetryAttempts bounds the retries of a failing batch."""
    calls = []

    def poison(event, context):
        calls.append(len(event["Records"]))
        raise ValueError("bad record")

    stream_arn = _log_table(aws)
    create_function(aws, "poison")
    runtime.register("poison", poison)
    _map(aws, stream_arn, "poison", MaximumRetryAttempts=1)
    _append(aws, "r1", 1)
    assert runtime.drain(5)
    assert len(calls) == 2


def _sequences(event):
    return [r["dynamodb"]["NewImage"]["sequence"]["N"] for r in event["Records"]]


def test_a_partial_batch_response_retries_from_the_first_failed_record(aws, runtime):
    """AWS documentation "Handling errors for a DynamoDB event source"
    (services-ddb-batchfailurereporting): with ReportBatchItemFailures, Lambda retries from
    the lowest failed sequence number; the records before it are done."""
    seen = []

    def projector(event, context):
        seen.append(_sequences(event))
        if len(seen) == 1:  # record "2" fails the first time
            return {"batchItemFailures": [
                {"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    stream_arn = _log_table(aws)
    for sequence in range(1, 4):
        _append(aws, "r1", sequence)
    create_function(aws, "projector")
    runtime.register("projector", projector)
    _map(aws, stream_arn, "projector", FunctionResponseTypes=["ReportBatchItemFailures"])
    assert runtime.drain(5)
    assert seen == [["1", "2", "3"], ["2", "3"]]


def test_bisect_then_discard_to_the_on_failure_destination(aws, runtime):
    """services-ddb-batchfailurereporting: BisectBatchOnFunctionError halves a failing batch;
    after MaximumRetryAttempts the on-failure destination gets a DDBStreamBatchInfo record."""
    seen = []

    def projector(event, context):
        seen.append(_sequences(event))
        if "2" in _sequences(event):
            raise ValueError("poison record 2")

    url, queue_arn = create_queue(aws, "stream-failures")
    stream_arn = _log_table(aws)
    for sequence in range(1, 5):
        _append(aws, "r1", sequence)
    create_function(aws, "projector")
    runtime.register("projector", projector)
    _map(aws, stream_arn, "projector", BisectBatchOnFunctionError=True, MaximumRetryAttempts=0,
         DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    assert runtime.drain(5)
    assert seen[0] == ["1", "2", "3", "4"] and ["1", "2"] in seen and ["3", "4"] in seen
    assert ["2"] in seen
    [message] = receive_all(aws, url)
    info = json.loads(message["Body"])["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and info["streamArn"] == stream_arn


def test_filter_criteria_drop_records_without_an_invocation(aws, runtime):
    """AWS documentation "Control which events Lambda sends to your function"
    (invocation-eventfiltering): FilterCriteria patterns (EventBridge syntax) apply to each
    record; records no filter matches never reach the function, and a failure is retried
    from the failed matching record."""
    seen = []

    def notifier(event, context):
        seen.append(_sequences(event))
        if len(seen) == 1:
            return {"batchItemFailures": [
                {"itemIdentifier": event["Records"][1]["dynamodb"]["SequenceNumber"]}]}
        return {"batchItemFailures": []}

    stream_arn = _log_table(aws)
    for sequence in range(1, 7):
        _append(aws, "r1", sequence)
    create_function(aws, "notifier")
    runtime.register("notifier", notifier)
    _map(aws, stream_arn, "notifier", FunctionResponseTypes=["ReportBatchItemFailures"],
         FilterCriteria={"Filters": [{"Pattern": json.dumps({
             "eventName": ["INSERT"],
             "dynamodb": {"NewImage": {"event_type": {"S": ["e2", "e4", "e5"]}}}})}]})
    assert runtime.drain(5)
    assert seen == [["2", "4", "5"], ["4", "5"]]


def test_a_batching_window_gathers_records_into_one_invocation(aws, runtime):
    """with-ddb: MaximumBatchingWindowInSeconds makes Lambda gather records until the batch
    is full or the window has passed, counted from the first waiting record."""
    batches = []
    stream_arn = _log_table(aws)
    create_function(aws, "projector")
    runtime.register("projector", lambda event, context: batches.append(_sequences(event)))
    _map(aws, stream_arn, "projector", MaximumBatchingWindowInSeconds=1, BatchSize=3)
    assert runtime.drain(5)
    for sequence in range(1, 6):
        _append(aws, "r1", sequence)
    assert runtime.drain(5)
    # Three fill a batch at once; the last two wait out the window together.
    assert batches == [["1", "2", "3"], ["4", "5"]]
