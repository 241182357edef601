"""Functions: the stage's data-plane Lambda functions (the reconciler and the console have
components of their own), their stream mappings (`spec.stream_subscriptions`: the request
log's stream -> projector and notifier), and the environment they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.config import Quotas
from infra.cloud.documents import Statement, statement
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.permissions import table_statements
from infra.spec import StageSpec
from partners.core.constants import Env

# The functions this component builds; `Reconciler` and `Console` build the other two.
# Every function's asynchronous failures go to this queue (`StageFunctionArgs`).
ASYNC_FAILURES = "async_failures"
DATA_PLANE_FUNCTIONS = ("partner_api", "authorizer", "portal_api", "routing_recorder",
                        "projector", "notifier")


def common_environment(spec: StageSpec, *, allow_insecure_endpoints: bool, quotas: Quotas,
                       topic_arns: Mapping[str, pulumi.Input[str]],
                       sms_sender_id: str | None = None) -> dict[str, pulumi.Input[str]]:
    """The variables every function of the stage gets: the spec's names plus ARNs and settings."""
    variables: dict[str, pulumi.Input[str]] = dict(spec.environment_variables())
    variables[Env.ALLOW_INSECURE_ENDPOINTS] = "true" if allow_insecure_endpoints else "false"
    variables[Env.RULE_QUOTA] = str(quotas.rules_per_bus)
    variables[Env.DESTINATION_QUOTA] = str(quotas.api_destinations)
    variables[Env.CONNECTION_QUOTA] = str(quotas.connections)
    for topic in spec.topics.values():
        variables[topic.env_var] = topic_arns[topic.logical]
    if sms_sender_id:
        variables[Env.SMS_SENDER_ID] = sms_sender_id
    return variables


@dataclass
class FunctionsArgs:
    """Everything the data-plane functions reach, as ARNs."""

    spec: StageSpec
    code: pulumi.Archive
    layer_arn: str
    account_id: pulumi.Input[str]
    environment: Mapping[str, pulumi.Input[str]]
    table_arns: Mapping[str, pulumi.Input[str]]
    request_events_stream_arn: pulumi.Input[str]
    documents_bucket_arn: pulumi.Input[str]
    bus_arn: pulumi.Input[str]
    notifications_topic_arn: pulumi.Input[str]
    topics_key_arn: pulumi.Input[str]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    queue_arns: Mapping[str, pulumi.Input[str]]

    def stream_arn(self, table: str) -> pulumi.Input[str]:
        """The stream of a table that feeds a function (only the request log has one)."""
        if table != "request_events":
            raise ValueError(f"table {table!r} has no stream a function reads")
        return self.request_events_stream_arn


class Functions(pulumi.ComponentResource):
    """One `StageFunction` per data-plane entry of `spec.functions`, each with its own role."""

    functions: dict[str, StageFunction]

    def __init__(self, name: str, args: FunctionsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Functions", name, None, opts)
        self.functions = {}
        for logical in DATA_PLANE_FUNCTIONS:
            spec = args.spec.functions[logical]
            self.functions[logical] = StageFunction(
                f"{name}-{logical.replace('_', '-')}",
                StageFunctionArgs(
                    spec=spec,
                    code=args.code,
                    layer_arn=args.layer_arn,
                    environment=args.environment,
                    statements=function_statements(logical, args),
                    account_id=args.account_id,
                    failure_destination_arn=args.failure_destination_arn,
                    log_retention_days=args.log_retention_days,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.stream_mappings = {}
        for subscription in args.spec.stream_subscriptions:
            function = self.functions[subscription.function]
            filter_criteria = None
            if subscription.filter_json:
                filter_criteria = aws.lambda_.EventSourceMappingFilterCriteriaArgs(filters=[
                    aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(
                        pattern=subscription.filter_json)])
            self.stream_mappings[subscription.function] = aws.lambda_.EventSourceMapping(
                f"{name}-{subscription.function}-stream",
                event_source_arn=args.stream_arn(subscription.table),
                function_name=function.function.arn,
                starting_position=subscription.starting_position,
                batch_size=subscription.batch_size,
                maximum_batching_window_in_seconds=subscription.batching_window_seconds,
                maximum_retry_attempts=subscription.retries,
                maximum_record_age_in_seconds=subscription.max_record_age_seconds,
                bisect_batch_on_function_error=subscription.bisect_on_error,
                function_response_types=["ReportBatchItemFailures"],
                filter_criteria=filter_criteria,
                destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                    on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                        destination_arn=args.queue_arns[subscription.on_failure])),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[function.policy]),
            )
        self.register_outputs({k: f.function.arn for k, f in self.functions.items()})

    def __getitem__(self, logical: str) -> StageFunction:
        return self.functions[logical]


def function_statements(logical: str, args: FunctionsArgs) -> list[Statement]:
    """The statements of one data-plane function: its tables plus what else it does."""
    statements = table_statements(logical, args.table_arns)
    documents = pulumi.Output.concat(args.documents_bucket_arn, "/*")
    if logical == "partner_api":
        statements += [
            statement("events:PutEvents", args.bus_arn, sid="PublishStatusChanges"),
            # Presigned GET URLs carry the signer's permissions.
            statement("s3:GetObject", documents, sid="PresignDocuments"),
        ]
    elif logical == "portal_api":
        topic = args.notifications_topic_arn
        statements += [
            statement("events:PutEvents", args.bus_arn, sid="PublishRequests"),
            statement(["s3:GetObject", "s3:PutObject"], documents, sid="Documents"),
            # Contacts: a user's email is an SNS subscription (filtered by user id) to the
            # notification topic; subscription ARNs are `<topic ARN>:<id>`.
            statement(["sns:Subscribe", "sns:Unsubscribe", "sns:GetSubscriptionAttributes"],
                      [topic, pulumi.Output.concat(topic, ":*")], sid="EmailSubscriptions"),
        ]
    elif logical == "notifier":
        statements += [
            statement("sns:Publish", args.notifications_topic_arn, sid="PublishToTopic"),
            # Direct SMS has no resource ARN (documents.WILDCARD_RESOURCE_ACTIONS).
            statement(["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], "*", sid="SendSms"),
            statement(["kms:GenerateDataKey", "kms:Decrypt"], args.topics_key_arn,
                      sid="EncryptedTopic"),
        ]
    for subscription in args.spec.stream_subscriptions:
        if subscription.function != logical:
            continue
        statements.append(statement(
            ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
             "dynamodb:ListStreams"],
            args.stream_arn(subscription.table), sid="ReadRequestLogStream"))
        if subscription.on_failure != ASYNC_FAILURES:  # the base statements grant that one
            statements.append(statement("sqs:SendMessage", args.queue_arns[subscription.on_failure],
                                        sid="StreamFailures"))
    return statements
