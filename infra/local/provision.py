"""Provision a stage's resources from `infra.spec` into any AWS endpoint (moto, in practice).

The embedded stack and the test suite use this; the cloud uses the Pulumi components, which
read the same spec. Provisioning is idempotent: what exists is left as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.spec import StageSpec, TableSpec, UserPoolSpec
from partners.aws import client, error_code
from partners.constants import Env


@dataclass
class ProvisionedStage:
    """ARNs and URLs of what was provisioned, by logical name."""

    spec: StageSpec
    bus_arn: str = ""
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    topic_arns: dict[str, str] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)
    user_pool_id: str = ""
    user_pool_client_id: str = ""

    def environment_variables(self) -> dict[str, str]:
        variables = self.spec.environment_variables()
        variables.update({t.env_var: self.topic_arns[t.logical]
                          for t in self.spec.topics.values()})
        if self.user_pool_id:
            variables[Env.USER_POOL_ID] = self.user_pool_id
            variables[Env.USER_POOL_CLIENT_ID] = self.user_pool_client_id
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


def provision_user_pool(pool: UserPoolSpec, *,
                        session: boto3.session.Session | None = None) -> tuple[str, str]:
    """Create the console's user pool, its groups and app client; return (pool id, client id).

    Users sign in with their email (the username is Cognito's `sub`), the email is verified by
    a code, and the app client allows `USER_PASSWORD_AUTH` without a client secret (the
    console's server calls Cognito itself).
    """
    cognito = client("cognito-idp", session)
    pools = [p for p in cognito.list_user_pools(MaxResults=60)["UserPools"]
             if p["Name"] == pool.name]
    if pools:
        pool_id = pools[0]["Id"]
    else:
        pool_id = cognito.create_user_pool(
            PoolName=pool.name,
            UsernameAttributes=["email"],
            AutoVerifiedAttributes=["email"],
            Policies={"PasswordPolicy": {
                "MinimumLength": pool.password_minimum_length, "RequireUppercase": True,
                "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": False,
            }},
            AccountRecoverySetting={"RecoveryMechanisms": [
                {"Priority": 1, "Name": "verified_email"}]},
        )["UserPool"]["Id"]
    existing_groups = {g["GroupName"] for g in
                       cognito.list_groups(UserPoolId=pool_id)["Groups"]}
    for group in pool.groups:
        if group not in existing_groups:
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
    clients = [c for c in cognito.list_user_pool_clients(UserPoolId=pool_id,
                                                         MaxResults=60)["UserPoolClients"]
               if c["ClientName"] == pool.client_name]
    if clients:
        client_id = clients[0]["ClientId"]
    else:
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName=pool.client_name, GenerateSecret=False,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            PreventUserExistenceErrors="ENABLED",
        )["UserPoolClient"]["ClientId"]
    return pool_id, client_id


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
    if spec.user_pool is not None:
        stage.user_pool_id, stage.user_pool_client_id = provision_user_pool(
            spec.user_pool, session=session)
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
