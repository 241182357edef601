"""Notifications: the KMS key of the stage's topics and the user notification topic.

SMS preferences are account-wide and live in `AccountSettings`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from infra.cloud.iam import arn_context
from infra.roles import ArnContext, topics_key_policy
from infra.spec import StageSpec


@dataclass
class NotificationsArgs:
    """The stage spec (the key policy is `infra.roles.topics_key_policy`)."""

    spec: StageSpec


def key_policy(context: ArnContext) -> str:
    """The topic key's policy as JSON: the account administers it, the services that publish
    to the stage's topics use it, each only for this account's sources."""
    return json.dumps(topics_key_policy(context), sort_keys=True)


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
            policy=arn_context(spec).apply(key_policy),
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
