"""The roles AWS services assume for the stage, every role's trust, and the topics key policy.

Trusts are confused-deputy guarded: `aws:SourceAccount` always, `aws:SourceArn` where the
service sets it when it assumes the role (EventBridge rules, EventBridge Scheduler).
"""

from __future__ import annotations

from typing import Any

from infra.roles import arns
from infra.roles.names import FUNCTION_ROLES
from infra.roles.statements import Statement, allow

# The schedules the scheduler role runs (infra.cloud.reconciler names them so).
RECONCILE_SCHEDULES = "{prefix}-reconcile-*"
PORTAL_CALLBACK = "{prefix}-portal-callback"


def service_statements(role: str) -> list[Statement]:
    """The identity statements of a service role."""
    return _SERVICE_STATEMENTS[role]()


def _partner_delivery() -> list[Statement]:
    # EventBridge assumes this role to call partners' API destinations, and only those.
    return [allow("DeliverToPartners", "events:InvokeApiDestination",
                  arns.api_destinations("{partner_prefix}*"))]


def _portal_callback() -> list[Statement]:
    return [allow("CallPortal", "events:InvokeApiDestination",
                  arns.api_destinations(f"{PORTAL_CALLBACK}/*"))]


def _datalake_firehose() -> list[Statement]:
    return [
        allow("WriteDataLake", ["s3:AbortMultipartUpload", "s3:GetBucketLocation",
                                "s3:GetObject", "s3:ListBucket",
                                "s3:ListBucketMultipartUploads", "s3:PutObject"],
              [arns.bucket("datalake"), arns.objects("datalake")]),
        allow("DeliveryErrors", "logs:PutLogEvents",
              arns.arn("logs", "log-group:/aws/kinesisfirehose/{firehose}:log-stream:*")),
    ]


def _datalake_rule() -> list[Statement]:
    return [allow("FeedDataLake", ["firehose:PutRecord", "firehose:PutRecordBatch"],
                  arns.firehose())]


def _reconcile_scheduler() -> list[Statement]:
    return [allow("RunReconciler", "lambda:InvokeFunction", arns.function("reconciler")),
            allow("MissedRuns", "sqs:SendMessage", arns.queue("async_failures"))]


def _apigateway_logs() -> list[Statement]:
    # API Gateway's account-wide logging role holds AWS's managed policy (MANAGED_POLICIES).
    return []


def _portal_invoke() -> list[Statement]:
    return [allow("CallPortalApi", "execute-api:Invoke",
                  arns.execute_api("{id[portal_api]}/{stage}/*/v1/*"))]


_SERVICE_STATEMENTS = {
    "partner_delivery": _partner_delivery,
    "portal_callback": _portal_callback,
    "datalake_firehose": _datalake_firehose,
    "datalake_rule": _datalake_rule,
    "reconcile_scheduler": _reconcile_scheduler,
    "apigateway_logs": _apigateway_logs,
    "portal_invoke": _portal_invoke,
}

# AWS managed policies a role holds besides its inline statements.
MANAGED_POLICIES: dict[str, tuple[str, ...]] = {
    # Log groups and streams of API Gateway's execution and access logs.
    "apigateway_logs": (arns.managed_policy(
        "service-role/AmazonAPIGatewayPushToCloudWatchLogs"),),
}

# role -> (service principal, the aws:SourceArn the service assumes it for, or None).
TRUSTS: dict[str, tuple[str, str | None]] = {
    **{role: ("lambda.amazonaws.com", None) for role in FUNCTION_ROLES},
    "partner_delivery": ("events.amazonaws.com", arns.rules("{partner_prefix}*")),
    "portal_callback": ("events.amazonaws.com", arns.rules(PORTAL_CALLBACK)),
    "datalake_rule": ("events.amazonaws.com", arns.rules("{datalake_rule}")),
    "datalake_firehose": ("firehose.amazonaws.com", None),
    "reconcile_scheduler": ("scheduler.amazonaws.com",
                            arns.arn("scheduler", f"schedule/default/{RECONCILE_SCHEDULES}")),
    "apigateway_logs": ("apigateway.amazonaws.com", None),
}


def trust_template(role: str) -> dict[str, Any]:
    """The role's trust policy (templates)."""
    service, source_arn = TRUSTS[role]
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": "{account}"}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole",
        "Condition": condition}]}


# Services that publish to the stage's encrypted topics: CloudWatch alarms (to the alarm
# topic). An AWS managed key (alias/aws/sns) cannot grant them, hence a customer managed
# key. No EventBridge rule of the stage targets a topic, so EventBridge is not granted.
TOPIC_PUBLISHING_SERVICES = {
    "cloudwatch.amazonaws.com": arns.arn("cloudwatch", "alarm:{prefix}-*"),
}


def topics_key_policy_template() -> dict[str, Any]:
    """The topic key's policy: the account administers it, the publishing services use it
    (SNS "encrypted topics and AWS event sources"), each only for this account's sources."""
    statements: list[Statement] = [{
        "Sid": "AccountAdministers", "Effect": "Allow",
        "Principal": {"AWS": arns.arn("iam", "root", region="")},
        "Action": "kms:*", "Resource": "*",
    }]
    for service, source_arn in TOPIC_PUBLISHING_SERVICES.items():
        statements.append({
            "Sid": "ServicesPublishToEncryptedTopics", "Effect": "Allow",
            "Principal": {"Service": service},
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
            "Condition": {"StringEquals": {"aws:SourceAccount": "{account}"},
                          "ArnLike": {"aws:SourceArn": source_arn}},
        })
    return {"Version": "2012-10-17", "Statement": statements}
