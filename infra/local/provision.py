"""Provision a stage's resources from `infra.spec` into any AWS endpoint (moto, in practice).

The embedded stack and the test suite use this; the cloud uses the Pulumi components, which
read the same spec. Provisioning is idempotent: what exists is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.spec import StageSpec, TableSpec
from partners.aws import client, error_code


@dataclass
class ProvisionedStage:
    """ARNs and URLs of what was provisioned, by logical name."""

    spec: StageSpec
    bus_arn: str = ""
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)

    def environment_variables(self) -> dict[str, str]:
        variables = self.spec.environment_variables()
        variables.update({t.env_var: self.topic_arns[t.logical]
                          for t in self.spec.topics.values()})
        return variables


def _create_table(dynamodb: Any, table: TableSpec) -> str | None:
    request: dict[str, Any] = {
        "TableName": table.name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a.name, "AttributeType": a.type}
                                 for a in table.attributes],
        "KeySchema": [{"AttributeName": table.hash_key.name, "KeyType": "HASH"}]
        + ([{"AttributeName": table.range_key.name, "KeyType": "RANGE"}]
           if table.range_key else []),
        "SSESpecification": {"Enabled": True},
    }
    if table.indexes:
        request["GlobalSecondaryIndexes"] = [
            {"IndexName": index.name,
             "KeySchema": [{"AttributeName": index.hash_key.name, "KeyType": "HASH"}]
             + ([{"AttributeName": index.range_key.name, "KeyType": "RANGE"}]
                if index.range_key else []),
             "Projection": {"ProjectionType": "ALL"}}
            for index in table.indexes
        ]
    if table.stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": table.stream}
    try:
        description = dynamodb.create_table(**request)["TableDescription"]
    except ClientError as error:
        if error_code(error) != "ResourceInUseException":
            raise
        description = dynamodb.describe_table(TableName=table.name)["Table"]
    else:
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        dynamodb.update_continuous_backups(
            TableName=table.name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    return description.get("LatestStreamArn")


def provision_stage(spec: StageSpec, *, session: boto3.session.Session | None = None,
                    tables: bool = True, messaging: bool = True) -> ProvisionedStage:
    """Create the stage's bus, tables, queues, topics and buckets where they are missing."""
    stage = ProvisionedStage(spec)
    if tables:
        dynamodb = client("dynamodb", session)
        for table in spec.tables.values():
            stream_arn = _create_table(dynamodb, table)
            if stream_arn:
                stage.stream_arns[table.logical] = stream_arn
    if not messaging:
        return stage
    events = client("events", session)
    try:
        stage.bus_arn = events.create_event_bus(Name=spec.bus_name)["EventBusArn"]
    except ClientError as error:
        if error_code(error) != "ResourceAlreadyExistsException":
            raise
        stage.bus_arn = events.describe_event_bus(Name=spec.bus_name)["Arn"]
    sqs = client("sqs", session)
    for queue in spec.queues.values():
        url = sqs.create_queue(QueueName=queue.name, Attributes={
            "MessageRetentionPeriod": str(queue.retention_seconds),
            "SqsManagedSseEnabled": "true",
        })["QueueUrl"]
        stage.queue_urls[queue.logical] = url
        stage.queue_arns[queue.logical] = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns = client("sns", session)
    for topic in spec.topics.values():
        stage.topic_arns[topic.logical] = sns.create_topic(Name=topic.name)["TopicArn"]
    s3 = client("s3", session)
    for bucket in spec.buckets.values():
        try:
            s3.create_bucket(Bucket=bucket.name)
        except ClientError as error:
            if error_code(error) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        })
    return stage
