"""The contact store: end users' contact details, and their email subscriptions kept in step.

One item per user in the `contacts` table. Registering an email subscribes it to the stage's
notification topic with the filter policy `{"user_id": ["<user id>"]}`, so an email published
to the topic with the message attribute `user_id` reaches that user only; SNS emails the
address a confirmation link first (nothing is delivered until the user confirms). Changing
the email subscribes the new address and unsubscribes the old one; removing it unsubscribes.

SNS keeps one subscription per (topic, protocol, endpoint), so an email address can belong
to one user only. The store claims each address with a second item (`email#<sha256>`, put
with a condition) before it subscribes, and refuses an address another user holds instead of
silently sharing, or later cancelling, that user's subscription.

Opting out or leaving `email` out of `channels` keeps the subscription (the notifier sends
nothing then), so opting back in needs no second confirmation. What a registration may say
is `partners.notifications.contact_details`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, utc_now
from partners.notifications.contact_details import Contact, parse_contact, validate_user_id
from partners.notifications.exceptions import (
    ContactConflictError,
    ContactNotFoundError,
    EmailInUseError,
    InvalidContactError,
)

_EMAIL_CLAIM_PREFIX = "email#"


def filter_policy(user_id: str) -> str:
    """The subscription filter policy that lets only `user_id`'s messages through."""
    return json.dumps({"user_id": [user_id]}, separators=(",", ":"))


def _claim_key(email: str) -> str:
    # Emails compare case-insensitively in practice; the claim is on the folded address.
    return _EMAIL_CLAIM_PREFIX + hashlib.sha256(email.casefold().encode()).hexdigest()


# --- Store -------------------------------------------------------------------------------

def _item(contact: Contact) -> dict[str, Any]:
    item: dict[str, Any] = {
        "user_id": {"S": contact.user_id},
        "channels": {"L": [{"S": c} for c in contact.channels]},
        "locale": {"S": contact.locale},
        "opted_out": {"BOOL": contact.opted_out},
        "version": {"N": str(contact.version)},
        "updated_at": {"S": contact.updated_at},
    }
    for name in ("email", "phone", "subscription_arn"):
        value = getattr(contact, name)
        if value:
            item[name] = {"S": value}
    return item


def _contact(item: Mapping[str, Any]) -> Contact:
    return Contact(
        user_id=item["user_id"]["S"],
        email=item.get("email", {}).get("S"),
        phone=item.get("phone", {}).get("S"),
        channels=tuple(c["S"] for c in item.get("channels", {}).get("L", [])),
        locale=item.get("locale", {}).get("S", "en"),
        opted_out=item.get("opted_out", {}).get("BOOL", False),
        subscription_arn=item.get("subscription_arn", {}).get("S"),
        version=int(item.get("version", {}).get("N", "0")),
        updated_at=item.get("updated_at", {}).get("S", ""),
    )


@dataclass
class ContactStore:
    """Read and register contacts; keeps the topic's email subscriptions in step.

    Parameters
    ----------
    table_name: the stage's `contacts` table (env `PGW_CONTACTS_TABLE`).
    topic_arn: the stage's notification topic (env `PGW_NOTIFICATIONS_TOPIC_ARN`).
    dynamodb_client: a DynamoDB client to share (default: a new one from `boto3_session`).
    """

    table_name: str
    topic_arn: str
    boto3_session: boto3.session.Session | None = None
    clock: Clock = utc_now
    dynamodb_client: Any = field(default=None, repr=False)
    _dynamodb: Any = field(init=False, repr=False)
    _sns: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._dynamodb = self.dynamodb_client or client("dynamodb", self.boto3_session)
        self._sns = client("sns", self.boto3_session)

    def get(self, user_id: str) -> Contact:
        """The user's contact.

        Raises
        ------
        InvalidContactError: malformed user id.
        ContactNotFoundError: none registered.
        """
        validate_user_id(user_id)
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key={"user_id": {"S": user_id}},
                                       ConsistentRead=True).get("Item")
        if not item:
            raise ContactNotFoundError(user_id)
        return _contact(item)

    def find(self, user_id: str) -> Contact | None:
        """The user's contact, or None."""
        try:
            return self.get(user_id)
        except ContactNotFoundError:
            return None

    def email_confirmed(self, contact: Contact) -> bool | None:
        """Whether the user confirmed the email subscription (None: no email registered)."""
        if not contact.subscription_arn:
            return None
        try:
            attributes = self._sns.get_subscription_attributes(
                SubscriptionArn=contact.subscription_arn)["Attributes"]
        except ClientError as error:
            if error_code(error) in ("NotFound", "InvalidParameter"):
                return False  # expired unconfirmed (SNS deletes those after 3 days)
            raise
        return str(attributes.get("PendingConfirmation", "false")).lower() != "true"

    def put(self, user_id: str, body: Any) -> Contact:
        """Register or replace a user's contact details (the portal's `PUT`).

        Parameters
        ----------
        user_id: the portal's user id.
        body: the request body (see `parse_contact`).

        Returns
        -------
        Contact: as stored, with the new version.

        Raises
        ------
        InvalidContactError: a field is invalid (`field` names it).
        EmailInUseError: the address belongs to another user.
        ContactConflictError: a concurrent write for the same user won; nothing changed.
        """
        desired = parse_contact(user_id, body)
        current = self.find(user_id)
        old_email = current.email if current else None
        email_changed = (old_email or "").casefold() != (desired.email or "").casefold()
        subscription_arn = current.subscription_arn if current and not email_changed else None
        claimed = False
        if desired.email and (email_changed or not subscription_arn):
            claimed = self._claim(desired.email, user_id)
            try:
                subscription_arn = self._subscribe(desired.email, user_id)
            except Exception:
                if email_changed:  # the address is not this user's after all: free it
                    self._release(desired.email, user_id)
                raise
        contact = replace(desired, subscription_arn=subscription_arn,
                          version=(current.version if current else 0) + 1,
                          updated_at=isoformat(self.clock()))
        try:
            self._dynamodb.put_item(TableName=self.table_name, Item=_item(contact),
                                    **self._version_condition(current))
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            # Undo what this attempt added; the winner's subscription and claim stay.
            if email_changed and subscription_arn:
                self._unsubscribe(subscription_arn)
            if claimed and desired.email:
                self._release(desired.email, user_id)
            raise ContactConflictError(user_id) from error
        if current and email_changed and old_email:
            self._unsubscribe(current.subscription_arn)
            self._release(old_email, user_id)
        return contact

    def delete(self, user_id: str) -> None:
        """Forget a user's contact details and cancel the email subscription (idempotent)."""
        current = self.find(user_id)
        if current is None:
            return
        if current.email:
            self._unsubscribe(current.subscription_arn)
            self._release(current.email, user_id)
        self._dynamodb.delete_item(TableName=self.table_name, Key={"user_id": {"S": user_id}})

    # --- helpers ---

    @staticmethod
    def _version_condition(current: Contact | None) -> dict[str, Any]:
        if current is None:
            return {"ConditionExpression": "attribute_not_exists(user_id)"}
        return {"ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": {"N": str(current.version)}}}

    def _claim(self, email: str, user_id: str) -> bool:
        """Claim `email` for `user_id`; True when this call created the claim."""
        try:
            self._dynamodb.put_item(
                TableName=self.table_name,
                Item={"user_id": {"S": _claim_key(email)}, "owner": {"S": user_id}},
                ConditionExpression="attribute_not_exists(user_id) OR #owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": user_id}},
            )
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise EmailInUseError() from error
            raise
        return True

    def _release(self, email: str, user_id: str) -> None:
        try:
            self._dynamodb.delete_item(
                TableName=self.table_name, Key={"user_id": {"S": _claim_key(email)}},
                ConditionExpression="#owner = :owner",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": user_id}},
            )
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise

    def _subscribe(self, email: str, user_id: str) -> str:
        try:
            return self._sns.subscribe(
                TopicArn=self.topic_arn, Protocol="email", Endpoint=email,
                Attributes={"FilterPolicy": filter_policy(user_id),
                            "FilterPolicyScope": "MessageAttributes"},
                ReturnSubscriptionArn=True,
            )["SubscriptionArn"]
        except ClientError as error:
            if error_code(error) == "InvalidParameter":
                # SNS refuses an address it cannot mail, or one subscribed with another
                # filter policy (registered before the claim existed).
                raise InvalidContactError("SNS refused this email address", field="email") \
                    from error
            raise

    def _unsubscribe(self, subscription_arn: str | None) -> None:
        if not subscription_arn or not subscription_arn.startswith("arn:"):
            return
        try:
            self._sns.unsubscribe(SubscriptionArn=subscription_arn)
        except ClientError as error:
            # Already gone: unconfirmed subscriptions expire after three days.
            if error_code(error) not in ("NotFound", "InvalidParameter"):
                raise

