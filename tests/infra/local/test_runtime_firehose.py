"""Firehose -> S3 as Firehose writes it (namespaces, dynamic partitioning, processors, GZIP)."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone

import pytest

from infra.local.runtime.firehose import (
    PartitioningError,
    partition_keys,
    render_prefix,
    write_record,
)
from tests.infra.local.runtime_support import runtime  # noqa: F401

MOMENT = datetime(2026, 11, 23, 10, 5, 9, tzinfo=timezone.utc)
QUERY = '{detail_type: (."detail-type" | ascii_downcase | gsub("[^a-z0-9]+"; "-"))}'
PREFIX = ("events/detail_type=!{partitionKeyFromQuery:detail_type}/"
          "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
ERROR_PREFIX = "errors/!{firehose:error-output-type}/year=!{timestamp:yyyy}/"
DATALAKE = {
    "BucketARN": "arn:aws:s3:::lake", "Prefix": PREFIX, "ErrorOutputPrefix": ERROR_PREFIX,
    "CompressionFormat": "GZIP", "DynamicPartitioningConfiguration": {"Enabled": True},
    "ProcessingConfiguration": {"Enabled": True, "Processors": [
        {"Type": "MetadataExtraction", "Parameters": [
            {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
            {"ParameterName": "MetadataExtractionQuery", "ParameterValue": QUERY}]},
        {"Type": "AppendDelimiterToRecord", "Parameters": [
            {"ParameterName": "Delimiter", "ParameterValue": "\\n"}]}]},
}


@pytest.mark.parametrize("prefix, keys, expected, used", [
    ("logs/", {}, "logs/", False),
    ("a/!{timestamp:yyyy-MM-dd}/h=!{timestamp:HH}/", {}, "a/2026-11-23/h=10/", True),
    ("t=!{partitionKeyFromQuery:t}/", {"t": "x"}, "t=x/", True),
    ("r/!{firehose:random-string}/", {}, "r/RANDOM/", True),
])
def test_prefix_namespaces(prefix, keys, expected, used):
    """AWS documentation "Understand custom prefixes for Amazon S3 objects" (s3-prefixes)."""
    assert render_prefix(prefix, MOMENT, keys, random=lambda: "RANDOM") == (expected, used)


def test_a_missing_partition_key_is_a_partitioning_error():
    with pytest.raises(PartitioningError):
        render_prefix("t=!{partitionKeyFromQuery:t}/", MOMENT, {})


def test_partition_keys_from_a_jq_query():
    """dynamic-partitioning: partition keys from a JQ MetadataExtractionQuery."""
    record = json.dumps({"detail-type": "Request Status Changed"}).encode()
    assert partition_keys(record, QUERY) == {"detail_type": "request-status-changed"}
    with pytest.raises(PartitioningError):
        partition_keys(b"not json", QUERY)


def test_the_data_lake_record_is_partitioned_delimited_and_gzipped():
    """dynamic-partitioning, s3-object-name: key from the prefix and the object name, a
    newline appended, GZIP compressed with a `.gz` name."""
    written = {}
    record = json.dumps({"detail-type": "Request Created", "id": "e1"}).encode()
    key = write_record(DATALAKE, "pgw-local-datalake", "1", record,
                       lambda bucket, k, body: written.update({(bucket, k): body}), MOMENT)
    assert key.startswith("events/detail_type=request-created/year=2026/month=11/day=23/"
                          "pgw-local-datalake-1-2026-11-23-10-05-09-")
    assert key.endswith(".gz")
    assert gzip.decompress(written[("lake", key)]) == record + b"\n"


def test_an_unpartitionable_record_goes_to_the_error_prefix():
    """dynamic-partitioning: records that fail partitioning go under the error output prefix
    with error type `partitioning-failed`."""
    written = {}
    key = write_record(DATALAKE, "s", "1", b"plain text",
                       lambda bucket, k, body: written.update({k: body}), MOMENT)
    assert key.startswith("errors/partitioning-failed/year=2026/")
    assert written[key] == b"plain text"


def test_a_plain_prefix_gets_the_default_hour_folders():
    """s3-prefixes: without a namespace, Firehose adds `YYYY/MM/DD/HH/` to the prefix."""
    key = write_record({"BucketARN": "arn:aws:s3:::b", "Prefix": "raw/"}, "s", "1", b"{}",
                       lambda *args: None, MOMENT)
    assert key.startswith("raw/2026/11/23/10/s-1-2026-11-23-10-05-09-")


def test_an_event_rule_feeds_the_data_lake(aws, runtime):
    """eb-targets: a Firehose target gets the event; the object lands under the partition."""
    aws.client("s3").create_bucket(Bucket="lake")
    config = {k: v for k, v in DATALAKE.items()}
    config["RoleARN"] = "arn:aws:iam::123456789012:role/firehose"
    stream = aws.client("firehose").create_delivery_stream(
        DeliveryStreamName="lake", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration=config)["DeliveryStreamARN"]
    events = aws.client("events")
    events.put_rule(Name="all", EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="all", Targets=[{"Id": "lake", "Arn": stream}])
    events.put_events(Entries=[{"Source": "marketplace.requests", "DetailType": "Request Created",
                                "Detail": json.dumps({"request_id": "r1"})}])
    assert runtime.drain(5)
    [item] = aws.client("s3").list_objects_v2(Bucket="lake")["Contents"]
    assert item["Key"].startswith("events/detail_type=request-created/")
    body = gzip.decompress(aws.client("s3").get_object(Bucket="lake", Key=item["Key"])["Body"].read())
    assert json.loads(body)["detail"] == {"request_id": "r1"}
