"""Notifications: the KMS key of the stage's topics and the user notification topic.

SMS preferences are account-wide and live in `AccountSettings`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.spec import StageSpec

# Services that publish to the stage's encrypted topics: CloudWatch alarms and EventBridge
# rules. An AWS managed key (alias/aws/sns) cannot grant them, hence a customer managed key.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


@dataclass
class NotificationsArgs:
    """The stage spec and the account (for the key policy)."""

    spec: StageSpec
    account_id: pulumi.Input[str]


def key_policy(account_id: str) -> str:
    """The topic key's policy: the account administers it, the publishing services use it."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                # As in SNS's "encrypted topics and AWS event sources" guide: the services
                # encrypt for the topic with this key (they can publish only where topic
                # policies let them, and this key protects nothing but the stage's topics).
                "Sid": "ServicesPublishToEncryptedTopics",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHING_SERVICES)},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
        ],
    }, sort_keys=True)


class Notifications(pulumi.ComponentResource):
    """A customer managed KMS key and the notification topic(s) of the spec."""

    key: aws.kms.Key
    topics: dict[str, aws.sns.Topic]

    def __init__(self, name: str, args: NotificationsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        self.key = aws.kms.Key(
            f"{name}-key",
            description=f"{spec.prefix} SNS topics",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=pulumi.Output.from_input(args.account_id).apply(key_policy),
            opts=child,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{spec.prefix}-topics",
                      target_key_id=self.key.key_id, opts=child)
        self.topics = {
            topic.logical: aws.sns.Topic(f"{name}-{topic.logical}", name=topic.name,
                                         kms_master_key_id=self.key.arn, opts=child)
            for topic in spec.topics.values()
        }
        outputs: dict[str, Any] = {"topics": {k: t.arn for k, t in self.topics.items()},
                                   "key_arn": self.key.arn}
        self.register_outputs(outputs)
