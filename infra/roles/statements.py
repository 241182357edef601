"""IAM statements as plain data (templates until resolved), and the actions AWS authorises
only on `Resource: "*"`."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

Statement = dict[str, Any]

# Actions that AWS only authorises on `Resource: "*"` (no resource-level permissions exist;
# the Service Authorization Reference lists no resource type for them). The tests, the
# policy pack and the policy audit accept `*` for these alone.
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
    # publishing. Only the notifier holds it, with a Deny on every topic but its own.
    "sns:Publish": "direct SMS publishing has no resource ARN",
    "sns:CheckIfPhoneNumberIsOptedOut": "phone numbers have no ARN",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonsns.html
    "sns:Unsubscribe": "Unsubscribe has no resource types",
    "sns:GetSubscriptionAttributes": "GetSubscriptionAttributes has no resource types",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazondynamodb.html
    "dynamodb:ListStreams": "ListStreams has no resource types",
}


def allow(sid: str, actions: str | Sequence[str], resources: str | Sequence[str], *,
          condition: Mapping[str, Any] | None = None) -> Statement:
    """An Allow statement; resources may be templates."""
    return _statement("Allow", sid, actions, "Resource", resources, condition)


def deny(sid: str, actions: str | Sequence[str], *, resources: str | Sequence[str] = (),
         not_resources: str | Sequence[str] = (),
         condition: Mapping[str, Any] | None = None) -> Statement:
    """A Deny statement on `resources`, or on everything but `not_resources`."""
    if bool(resources) == bool(not_resources):
        raise ValueError("a Deny names either resources or not_resources")
    key, value = ("Resource", resources) if resources else ("NotResource", not_resources)
    return _statement("Deny", sid, actions, key, value, condition)


def _statement(effect: str, sid: str, actions: str | Sequence[str], resource_key: str,
               resources: str | Sequence[str],
               condition: Mapping[str, Any] | None) -> Statement:
    result: Statement = {
        "Sid": sid, "Effect": effect,
        "Action": [actions] if isinstance(actions, str) else list(actions),
        resource_key: [resources] if isinstance(resources, str) else list(resources),
    }
    if condition:
        result["Condition"] = dict(condition)
    return result
