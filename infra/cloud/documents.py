"""IAM policy documents as plain data: statements, trust policies, TLS-only bucket policies.

Documents are built from `pulumi.Output` ARNs with `render`, so the component code reads like
the policy it writes, and tests (and the policy pack) inspect the same JSON AWS receives.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping, Sequence

import pulumi

Statement = dict[str, Any]
# A statement, or an Output holding a list of them (ARNs only known at deploy time).
StatementInput = Statement | pulumi.Output[list[Statement]]

# Actions that AWS only authorises on `Resource: "*"` (no resource-level permissions exist).
# Each is listed with the reason; the tests and the policy pack accept `*` for these alone.
WILDCARD_RESOURCE_ACTIONS: Mapping[str, str] = {
    "xray:PutTraceSegments": "X-Ray has no resource types",
    "xray:PutTelemetryRecords": "X-Ray has no resource types",
    "cloudwatch:GetMetricData": "CloudWatch metric reads have no resource types",
    "events:ListRules": "EventBridge list actions have no resource types",
    "events:ListApiDestinations": "EventBridge list actions have no resource types",
    "events:ListConnections": "EventBridge list actions have no resource types",
    "sqs:ListQueues": "sqs:ListQueues has no resource types",
    "events:TestEventPattern": "TestEventPattern evaluates a pattern; it has no resource types",
    "secretsmanager:ListSecrets": "ListSecrets has no resource types (the reconciler filters "
                                  "by the partners' name prefix)",
    # SMS to a phone number has no ARN: AWS documents `Resource: "*"` for direct SMS
    # publishing. Only the notifier holds it; its topic publishes are a separate statement.
    "sns:Publish": "direct SMS publishing has no resource ARN",
    "sns:CheckIfPhoneNumberIsOptedOut": "phone numbers have no ARN",
}


def statement(actions: str | Sequence[str], resources: Any, *, sid: str | None = None,
              effect: str = "Allow", condition: Mapping[str, Any] | None = None) -> Statement:
    """One IAM statement; `resources` may hold `pulumi.Output`s."""
    result: Statement = {"Effect": effect,
                         "Action": [actions] if isinstance(actions, str) else list(actions),
                         "Resource": resources if isinstance(resources, list) else [resources]}
    if sid:
        result["Sid"] = sid
    if condition:
        result["Condition"] = dict(condition)
    return result


def render(statements: Iterable[StatementInput]) -> pulumi.Output[str]:
    """The policy JSON for `statements`, resolving every `Output` inside them."""
    def document(resolved: list[Any]) -> str:
        flat: list[Statement] = []
        for item in resolved:
            flat.extend(item if isinstance(item, list) else [item])
        return json.dumps({"Version": "2012-10-17", "Statement": flat}, sort_keys=True)

    return pulumi.Output.all(*[pulumi.Output.from_input(s) for s in statements]).apply(document)


def assume_role_policy(service: str, *, source_account: Any = None,
                       source_arn: Any = None) -> pulumi.Output[str]:
    """A trust policy letting one AWS service assume the role (confused-deputy guarded)."""
    condition: dict[str, Any] = {}
    if source_account is not None:
        condition["StringEquals"] = {"aws:SourceAccount": source_account}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    trust: Statement = {"Effect": "Allow", "Principal": {"Service": service},
                        "Action": "sts:AssumeRole"}
    if condition:
        trust["Condition"] = condition
    return pulumi.Output.from_input({"Version": "2012-10-17", "Statement": [trust]}).apply(
        lambda resolved: json.dumps(resolved, sort_keys=True))


def tls_only_bucket_policy(bucket_arn: Any,
                           extra: Sequence[Statement] = ()) -> pulumi.Output[str]:
    """A bucket policy denying every request not made over TLS (plus `extra` statements)."""
    deny: Statement = {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return render([deny, *extra])


def queue_policy_for_events(queue_arn: Any, rule_arns: Sequence[Any]) -> pulumi.Output[str]:
    """An SQS queue policy letting EventBridge dead-letter into the queue from `rule_arns`."""
    return render([{
        "Sid": "EventBridgeDeadLetters",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["sqs:SendMessage"],
        "Resource": [queue_arn],
        "Condition": {"ArnLike": {"aws:SourceArn": list(rule_arns)}},
    }])
