"""Email the organisation's technical contact about its endpoint, the way the stage emails.

The stage sends email through its SNS notification topic (partners.notifications): an email
address is a subscription with a filter policy, and a message published with the matching
message attribute reaches that address only. End users' subscriptions filter on `user_id`;
the organisation's contact address (`Partner.contact_email`) is subscribed here with
`{"partner_id": ["<id>"]}`, and alerts are published with the `partner_id` attribute only, so
no end user ever matches them (a filter policy on an attribute the message lacks does not
match: https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html).

The subscription is made on the first alert, and again when the contact address changes
(the old one is unsubscribed); its ARN is kept in the partners table (`sk=ALERTS`). On AWS a
new email subscription waits for the recipient's confirmation (SNS emails the link), so the
first alert to a new address reaches it once confirmed
(https://docs.aws.amazon.com/sns/latest/dg/sns-email-notifications.html); the embedded stack
confirms at once and shows the email at `/_aws/sns/email-messages`.

Sending is best effort: a failure is logged by its code and the reconciler's run goes on
(the audit record of the disable or alert stands either way).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code
from partners.onboarding import Partner

logger = logging.getLogger(__name__)

ATTRIBUTE = "partner_id"
SUBJECT_LIMIT = 100  # SNS: subjects up to 100 printable ASCII characters


def alert_filter_policy(partner_id: str) -> str:
    """The subscription filter policy that lets only `partner_id`'s alerts through."""
    return json.dumps({ATTRIBUTE: [partner_id]}, separators=(",", ":"))


def _subject(text: str) -> str:
    printable = "".join(c if 32 <= ord(c) < 127 else "?" for c in text)
    return printable[:SUBJECT_LIMIT]


class AlertMailer:
    """`mailer(partner, subject, text) -> sent?` for `EndpointGuard`."""

    def __init__(self, topic_arn: str, table_name: str, *, sns_client: Any = None,
                 dynamodb_client: Any = None,
                 boto3_session: boto3.session.Session | None = None):
        self.topic_arn = topic_arn
        self.table_name = table_name
        self._sns = sns_client or client("sns", boto3_session)
        self._dynamodb = dynamodb_client or client("dynamodb", boto3_session)

    def __call__(self, partner: Partner, subject: str, text: str) -> bool:
        try:
            self._subscribe(partner)
            self._sns.publish(
                TopicArn=self.topic_arn, Subject=_subject(subject), Message=text,
                MessageAttributes={ATTRIBUTE: {"DataType": "String", "StringValue": partner.id}})
        except (ClientError, BotoCoreError) as error:
            logger.warning("endpoint alert to partner %s not sent: %s", partner.id,
                           error_code(error) if isinstance(error, ClientError)
                           else type(error).__name__)
            return False
        return True

    def _key(self, partner_id: str) -> dict[str, Any]:
        return {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": "ALERTS"}}

    def _subscribe(self, partner: Partner) -> None:
        """Subscribe the partner's contact address, once per address."""
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key=self._key(partner.id)).get("Item") or {}
        email = item.get("email", {}).get("S")
        if email == partner.contact_email:
            return
        arn = self._sns.subscribe(
            TopicArn=self.topic_arn, Protocol="email", Endpoint=partner.contact_email,
            Attributes={"FilterPolicy": alert_filter_policy(partner.id)},
            ReturnSubscriptionArn=True)["SubscriptionArn"]
        self._dynamodb.put_item(TableName=self.table_name, Item={
            **self._key(partner.id), "email": {"S": partner.contact_email},
            "subscription_arn": {"S": arn}})
        old = item.get("subscription_arn", {}).get("S")
        if old and old.startswith("arn:"):
            try:
                self._sns.unsubscribe(SubscriptionArn=old)
            except ClientError as error:  # already gone, or never confirmed
                logger.info("old alert subscription not removed: %s", error_code(error))
