"""Patches of moto's SNS: the emails an email subscription would have received are kept.

`infra.local.sns_messages` shows them (and the SMS moto already keeps) at the AWS endpoint's
developer endpoints, so what end users would have received is visible in `make run`.
"""

from __future__ import annotations

from typing import Any

from infra.local.patches.registry import MOTO_5_2, Patch

EMAIL_DOC = "https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html"
# The backend attribute the emails are kept in (a list, in publish order).
EMAIL_MESSAGES = "pgw_email_messages"
EMAIL_PROTOCOLS = ("email", "email-json")


def email_messages(backend: Any) -> list[dict[str, Any]]:
    """The emails recorded for one SNS backend (account and region), oldest first."""
    return list(getattr(backend, EMAIL_MESSAGES, ()))


def keep_email_notifications() -> None:
    """A publish to a topic keeps what each matching email subscription would have been sent.

    Targets moto >=5.2.5,<5.3: `moto.sns.models.Subscription.publish`.
    AWS: a message published to a topic is emailed to every confirmed `email` (plain text)
    and `email-json` (the JSON notification) subscription whose filter policy matches its
    message attributes; with `MessageStructure=json` the subscription gets the message's
    `email` (or `default`) text.
    Why: moto's subscription publish does nothing for email protocols and keeps no record,
    so what a user would have received is not visible. The email is recorded on the SNS
    backend (reset with it) and the subscription's own publish then runs unchanged. moto
    confirms email subscriptions at once, so every matching one counts.
    Follows: https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html
    """
    from moto.sns.models import Subscription, sns_backends

    original_publish = Subscription.publish

    def publish(subscription: Any, message: str, message_id: str, subject: str | None = None,
                message_attributes: dict[str, Any] | None = None, *args: Any,
                **kwargs: Any) -> None:
        if subscription.protocol in EMAIL_PROTOCOLS:
            matcher = subscription._filter_policy_matcher
            if matcher is None or matcher.matches(message_attributes, message):
                text = message
                if kwargs.get("message_structure") == "json":
                    text = subscription._parse_message_structure(message, subscription.protocol)
                region = subscription.topic_arn.split(":")[3]
                backend = sns_backends[subscription.account_id][region]
                if not hasattr(backend, EMAIL_MESSAGES):
                    setattr(backend, EMAIL_MESSAGES, [])
                getattr(backend, EMAIL_MESSAGES).append({
                    "EmailAddress": subscription.endpoint,
                    "Protocol": subscription.protocol,
                    "TopicArn": subscription.topic_arn,
                    "SubscriptionArn": subscription.arn,
                    "MessageId": message_id,
                    "Subject": subject,
                    "Message": text,
                    "MessageAttributes": dict(message_attributes or {}),
                })
        original_publish(subscription, message, message_id, subject, message_attributes,
                         *args, **kwargs)

    Subscription.publish = publish  # type: ignore[method-assign,assignment]


PATCHES = (
    Patch(keep_email_notifications, (MOTO_5_2,), EMAIL_DOC),
)
