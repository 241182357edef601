"""Provision a stage's resources from `infra.spec` into any AWS endpoint (moto, in practice).

The embedded stack and the test suite use this; the cloud uses the Pulumi components, which
read the same spec. Provisioning is idempotent: what exists is left as it is.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

import boto3
from botocore.exceptions import ClientError

from infra.roles import MailSender
from infra.spec import (
    CATCH_ALL_PATTERN,
    DATALAKE_DETAIL_TYPE_QUERY,
    DATALAKE_ERROR_PREFIX,
    DATALAKE_PREFIX,
    StageSpec,
    TableSpec,
    UserPoolSpec,
)
from partners.core.aws import client, error_code
from partners.core.constants import Env


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
    archive_arn: str = ""
    datalake_stream_arn: str = ""
    console_session_secret_arn: str = ""

    def environment_variables(self) -> dict[str, str]:
        variables = self.spec.environment_variables()
        variables.update({t.env_var: self.topic_arns[t.logical]
                          for t in self.spec.topics.values()})
        if self.user_pool_id:
            variables[Env.USER_POOL_ID] = self.user_pool_id
            variables[Env.USER_POOL_CLIENT_ID] = self.user_pool_client_id
        if self.console_session_secret_arn:
            variables[Env.CONSOLE_SESSION_SECRET] = self.console_session_secret_arn
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
             "Projection": {"ProjectionType": index.projection_type,
                            **({"NonKeyAttributes": list(index.include)} if index.include
                               else {})}}
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


def provision_console_session_secret(spec: StageSpec, *,
                                     session: boto3.session.Session | None = None) -> str:
    """The console's session key secret (its ARN), created with a generated key when missing
    (the cloud stores the stack's `consoleSessionSecret` in the same secret)."""
    secretsmanager = client("secretsmanager", session)
    name = spec.console_session_secret_name
    try:
        return str(secretsmanager.create_secret(
            Name=name, SecretString=secrets.token_urlsafe(48),
            Description=f"{spec.prefix} console session key")["ARN"])
    except ClientError as error:
        if error_code(error) != "ResourceExistsException":
            raise
        return str(secretsmanager.describe_secret(SecretId=name)["ARN"])


def provision_mail_sender(sender: str, *,
                          session: boto3.session.Session | None = None) -> MailSender:
    """Verify the console's sender (`Name <address>` or `address`) as an SES email identity;
    its address and identity ARN. moto, like LocalStack, verifies at once; on AWS the owner of
    the address follows the link SES mails
    (https://docs.aws.amazon.com/ses/latest/dg/creating-identities.html)."""
    address = parseaddr(sender)[1]
    ses = client("ses", session)
    ses.verify_email_identity(EmailAddress=address)
    account = client("sts", session).get_caller_identity()["Account"]
    return MailSender(address, f"arn:{ses.meta.partition}:ses:{ses.meta.region_name}:"
                               f"{account}:identity/{address}")


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
        stage.console_session_secret_arn = provision_console_session_secret(
            spec, session=session)
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
        # Named for the account and region as in the cloud (infra/bucket_names.py); a name
        # another account holds (BucketAlreadyExists) is refused here as on AWS.
        try:
            s3.create_bucket(Bucket=bucket.name, BucketNamespace=bucket.namespace)
        except ClientError as error:
            if error_code(error) != "BucketAlreadyOwnedByYou":
                raise
        s3.put_public_access_block(Bucket=bucket.name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True,
            "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
        })
    return stage


# Same figures as infra/cloud/eventbus.py: a day of retries into the data lake (the archive
# keeps every event anyway), and Firehose's buffer for dynamic partitioning.
DATALAKE_RETRY = {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}
DATALAKE_BUFFER = {"SizeInMBs": 64, "IntervalInSeconds": 300}
_EVENTS_AND_FIREHOSE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {
        "Service": ["events.amazonaws.com", "firehose.amazonaws.com"]}}],
}


def _service_role(session: boto3.session.Session | None, name: str) -> str:
    iam = client("iam", session)
    try:
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            _EVENTS_AND_FIREHOSE_TRUST))["Role"]["Arn"])
    except ClientError as error:
        if error_code(error) != "EntityAlreadyExists":
            raise
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def provision_event_feeds(spec: StageSpec, stage: ProvisionedStage, *,
                          session: boto3.session.Session | None = None) -> ProvisionedStage:
    """The bus's archive and the data lake feed, as `infra/cloud/eventbus.py` builds them.

    Needs `provision_stage` (bus, bucket, queues) first; idempotent. The data lake rule's
    Firehose target is delivered by the local runtime (moto raises NotImplementedError for
    Firehose targets), so call this where the runtime runs: the embedded stack.
    """
    provision_archive(spec, stage, session=session)
    return provision_datalake(spec, stage, session=session)


def provision_archive(spec: StageSpec, stage: ProvisionedStage, *,
                      session: boto3.session.Session | None = None) -> ProvisionedStage:
    """Archive `spec.archive_name` of every event on the bus, kept indefinitely (cloud stages
    take the retention from config), for `python -m handlers.replay_cli`."""
    events = client("events", session)
    try:
        stage.archive_arn = events.create_archive(
            ArchiveName=spec.archive_name, EventSourceArn=stage.bus_arn, RetentionDays=0,
            Description=f"Every event on {spec.bus_name}, for replays")["ArchiveArn"]
    except ClientError as error:
        if error_code(error) != "ResourceAlreadyExistsException":
            raise
        stage.archive_arn = events.describe_archive(ArchiveName=spec.archive_name)["ArchiveArn"]
    return stage


def provision_datalake(spec: StageSpec, stage: ProvisionedStage, *,
                       session: boto3.session.Session | None = None) -> ProvisionedStage:
    """Firehose stream `spec.datalake_stream_name` -> the `datalake` bucket (keys partitioned by
    detail type and day: `DATALAKE_PREFIX`, dynamic partitioning with a JQ query), and the
    catch-all rule `spec.datalake_rule_name` -> the stream (retry policy, `async_failures`
    DLQ)."""
    events = client("events", session)
    role_arn = _service_role(session, f"{spec.prefix}-datalake")
    firehose = client("firehose", session)
    bucket = spec.buckets["datalake"].name
    try:
        firehose.create_delivery_stream(
            DeliveryStreamName=spec.datalake_stream_name, DeliveryStreamType="DirectPut",
            DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"},
            ExtendedS3DestinationConfiguration={
                "RoleARN": role_arn, "BucketARN": f"arn:aws:s3:::{bucket}",
                "Prefix": DATALAKE_PREFIX, "ErrorOutputPrefix": DATALAKE_ERROR_PREFIX,
                "BufferingHints": DATALAKE_BUFFER, "CompressionFormat": "GZIP",
                "DynamicPartitioningConfiguration": {"Enabled": True},
                "ProcessingConfiguration": {"Enabled": True, "Processors": [
                    {"Type": "MetadataExtraction", "Parameters": [
                        {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"},
                        {"ParameterName": "MetadataExtractionQuery",
                         "ParameterValue": DATALAKE_DETAIL_TYPE_QUERY}]},
                    {"Type": "AppendDelimiterToRecord", "Parameters": [
                        {"ParameterName": "Delimiter", "ParameterValue": "\\n"}]},
                ]},
            })
    except ClientError as error:
        if error_code(error) != "ResourceInUseException":
            raise
    stage.datalake_stream_arn = firehose.describe_delivery_stream(
        DeliveryStreamName=spec.datalake_stream_name)["DeliveryStreamDescription"][
        "DeliveryStreamARN"]
    events.put_rule(Name=spec.datalake_rule_name, EventBusName=spec.bus_name,
                    EventPattern=json.dumps(CATCH_ALL_PATTERN),
                    Description="Every event on the bus into the data lake")
    events.put_targets(Rule=spec.datalake_rule_name, EventBusName=spec.bus_name, Targets=[{
        "Id": "datalake", "Arn": stage.datalake_stream_arn, "RoleArn": role_arn,
        "RetryPolicy": DATALAKE_RETRY,
        "DeadLetterConfig": {"Arn": stage.queue_arns["async_failures"]}}])
    return stage


def provision_delivery_log(spec: StageSpec, stage: ProvisionedStage, *,
                           session: boto3.session.Session | None = None) -> ProvisionedStage:
    """The bus's own logs, as `infra/cloud/delivery_log.py` builds them (`spec.delivery_log`).

    The bus's LogConfig, the log group (with retention), the vended-log delivery bus -> log
    group, and the log group's subscription filter -> the indexer function with CloudWatch
    Logs' permission to invoke it. The subscription needs the function: call this after the
    functions exist (`wire_stage`); without the indexer in the spec it is left out.
    Idempotent.
    """
    log = spec.delivery_log
    events = client("events", session)
    events.update_event_bus(Name=spec.bus_name, LogConfig={
        "Level": log.level, "IncludeDetail": log.include_detail})
    logs = client("logs", session)
    try:
        logs.create_log_group(logGroupName=log.log_group)
    except ClientError as error:
        if error_code(error) != "ResourceAlreadyExistsException":
            raise
    logs.put_retention_policy(logGroupName=log.log_group, retentionInDays=log.retention_days)
    group_arn = next(g["arn"] for g in logs.describe_log_groups(
        logGroupNamePrefix=log.log_group)["logGroups"] if g["logGroupName"] == log.log_group)
    group_arn = group_arn.removesuffix(":*")
    logs.put_delivery_source(name=log.delivery_source, resourceArn=stage.bus_arn,
                             logType=log.log_type)
    destination = logs.put_delivery_destination(
        name=log.delivery_destination,
        deliveryDestinationConfiguration={"destinationResourceArn": group_arn},
    )["deliveryDestination"]["arn"]
    if not any(d["deliverySourceName"] == log.delivery_source
               and d["deliveryDestinationArn"] == destination
               for d in logs.describe_deliveries()["deliveries"]):
        logs.create_delivery(deliverySourceName=log.delivery_source,
                             deliveryDestinationArn=destination)
    if log.function not in spec.functions:
        return stage
    lambdas = client("lambda", session)
    function_arn = lambdas.get_function(
        FunctionName=spec.function_name(log.function))["Configuration"]["FunctionArn"]
    try:
        lambdas.add_permission(FunctionName=function_arn, StatementId="bus-logs-subscription",
                               Action="lambda:InvokeFunction",
                               Principal="logs.amazonaws.com", SourceArn=f"{group_arn}:*")
    except ClientError as error:
        if error_code(error) != "ResourceConflictException":
            raise
    logs.put_subscription_filter(logGroupName=log.log_group, filterName=log.filter_name,
                                 filterPattern=log.filter_pattern, destinationArn=function_arn)
    return stage
