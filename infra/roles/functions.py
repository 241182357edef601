"""Statements of the data-plane functions' roles (templates; `infra.roles.resolve` fills them).

Every function role starts with `base_statements`: its own log group, X-Ray, its failure
destination. Stream readers get the stream of their subscription (`infra.spec`'s
`stream_subscriptions`).
"""

from __future__ import annotations

from infra.roles import arns
from infra.roles.statements import Statement, allow, deny
from infra.roles.tables import table_statements
from infra.spec import StageSpec

# Every function's asynchronous invocations fail into this queue (infra.cloud.function).
ASYNC_FAILURES = "async_failures"
STREAM_READ_ACTIONS = ("dynamodb:DescribeStream", "dynamodb:GetRecords",
                       "dynamodb:GetShardIterator")


def base_statements(function: str) -> list[Statement]:
    """What every function needs: its own log group, X-Ray, its failure destination."""
    return [
        allow("OwnLogGroup", ["logs:CreateLogStream", "logs:PutLogEvents"],
              arns.log_group(f"/aws/lambda/{{function[{function}]}}")),
        # X-Ray has no resource types: AWS requires "*" (WILDCARD_RESOURCE_ACTIONS).
        allow("Tracing", ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
        allow("AsyncFailures", "sqs:SendMessage", arns.queue(ASYNC_FAILURES)),
    ]


def stream_statements(function: str, spec: StageSpec) -> list[Statement]:
    """The streams `function` is subscribed to, and their failure queues."""
    statements: list[Statement] = []
    for subscription in spec.stream_subscriptions:
        if subscription.function != function:
            continue
        statements += [
            allow("ReadRequestLogStream", list(STREAM_READ_ACTIONS),
                  arns.table_stream(subscription.table)),
            # ListStreams has no resource types (Service Authorization Reference, DynamoDB):
            # on a stream ARN it grants nothing.
            allow("FindRequestLogStream", "dynamodb:ListStreams", "*"),
        ]
        if subscription.on_failure != ASYNC_FAILURES:  # the base statements grant that one
            statements.append(allow("StreamFailures", "sqs:SendMessage",
                                    arns.queue(subscription.on_failure)))
    return statements


def _partner_api() -> list[Statement]:
    return [
        allow("PublishStatusChanges", "events:PutEvents", arns.bus()),
        # Presigned GET URLs carry the signer's permissions.
        allow("PresignDocuments", "s3:GetObject", arns.objects("documents")),
    ]


def _portal_api() -> list[Statement]:
    return [
        allow("PublishRequests", "events:PutEvents", arns.bus()),
        allow("Documents", ["s3:GetObject", "s3:PutObject"], arns.objects("documents")),
        # Contacts: a user's email is an SNS subscription (filtered by user id) to the
        # notification topic. Subscribe is authorised on the topic; Unsubscribe and
        # GetSubscriptionAttributes have no resource types, so only `*` grants them.
        allow("EmailSubscriptions", "sns:Subscribe", arns.topic("notifications")),
        allow("ManageEmailSubscriptions",
              ["sns:Unsubscribe", "sns:GetSubscriptionAttributes"], "*"),
    ]


def _notifier() -> list[Statement]:
    own_topic = arns.topic("notifications")
    return [
        allow("PublishToTopic", "sns:Publish", own_topic),
        # Direct SMS has no resource ARN, so SMS needs sns:Publish on "*" ...
        allow("SendSms", ["sns:Publish", "sns:CheckIfPhoneNumberIsOptedOut"], "*"),
        # ... and this Deny keeps that grant off every topic but the stage's own. A Deny
        # with NotResource alone would also refuse direct SMS (it has no resource, so it is
        # never the own topic); the condition limits it to requests on a resource an
        # account owns, which every topic is and a phone number is not
        # (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount).
        deny("PublishToNoOtherTopic", "sns:Publish", not_resources=own_topic,
             condition={"Null": {"aws:ResourceAccount": "false"}}),
        allow("EncryptedTopic", ["kms:GenerateDataKey", "kms:Decrypt"], arns.topics_key()),
    ]


_EXTRA = {
    "partner_api": _partner_api,
    "portal_api": _portal_api,
    "notifier": _notifier,
}


def function_statements(function: str, spec: StageSpec) -> list[Statement]:
    """Base, table, stream and own statements of one data-plane function."""
    extra = _EXTRA.get(function)
    return [*base_statements(function), *table_statements(function),
            *(extra() if extra else []), *stream_statements(function, spec)]
