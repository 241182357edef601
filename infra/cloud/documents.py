"""Resource policy documents as plain data: TLS-only bucket policies, queue policies.

Documents are built from `pulumi.Output` ARNs with `render`, so the component code reads like
the policy it writes, and tests (and the policy pack) inspect the same JSON AWS receives.
Identity policies and trusts are `infra.roles`' (rendered by `infra.cloud.iam`).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import pulumi

from infra.roles import WILDCARD_RESOURCE_ACTIONS

__all__ = ["WILDCARD_RESOURCE_ACTIONS", "Statement", "queue_policy_for_events", "render",
           "tls_only_bucket_policy"]

Statement = dict[str, Any]


def render(statements: Iterable[Any]) -> pulumi.Output[str]:
    """The policy JSON for `statements`, resolving every `Output` inside them."""
    def document(resolved: list[Any]) -> str:
        flat: list[Statement] = []
        for item in resolved:
            flat.extend(item if isinstance(item, list) else [item])
        return json.dumps({"Version": "2012-10-17", "Statement": flat}, sort_keys=True)

    return pulumi.Output.all(*[pulumi.Output.from_input(s) for s in statements]).apply(document)


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
