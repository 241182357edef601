"""Invitations to join a partner organisation: single-use links valid for seven days.

An invitation is an item `PARTNER#<partner>` / `INVITE#<id>` in the partners table: the
invitee's email, the role offered, who invited, when it expires, its status (`pending`,
`accepted`, `cancelled`) and a SHA-256 hash of the link's secret. The secret itself is never
stored: the link (`<partner>.<id>.<secret>`) is mailed once (and shown once to the owner who
sent it); resending makes a new secret, so an earlier link stops working. A link is checked
with a constant-time comparison of hashes, and it is spent by the same conditional write that
adds the member (`pending`, the hash, not expired), so it cannot be used twice, even at once.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import isoformat, new_id, parse_iso
from partners.onboarding.roles import Role

INVITE_PREFIX = "INVITE#"
VALID_FOR = timedelta(days=7)
# <partner id>.<invitation id>.<secret>: the secret is 32 random bytes, base64url.
TOKEN_PATTERN = re.compile(r"^([a-z0-9][a-z0-9_-]{0,39})\.(i[a-z0-9]{15})\.([A-Za-z0-9_-]{43})$")


class InvitationStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Invitation:
    """An invitation as stored (without its secret)."""

    partner_id: str
    id: str
    email: str
    role: Role
    invited_by: str
    created_at: str
    expires_at: str
    status: InvitationStatus = InvitationStatus.PENDING
    token_hash: str = ""
    accepted_by: str | None = None

    def expired(self, now: datetime) -> bool:
        return now >= parse_iso(self.expires_at)

    def open(self, now: datetime) -> bool:
        """Pending and not expired: the link can still be accepted."""
        return self.status is InvitationStatus.PENDING and not self.expired(now)

    def to_dict(self) -> dict[str, Any]:
        """What the audit log keeps (no hash, no secret)."""
        return {"invitation": self.id, "email": self.email, "role": self.role.value,
                "expires_at": self.expires_at}


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def link_token(invitation: Invitation, secret: str) -> str:
    return f"{invitation.partner_id}.{invitation.id}.{secret}"


def parse_token(token: str) -> tuple[str, str, str] | None:
    """(partner id, invitation id, secret) of a link's token, None when malformed."""
    match = TOKEN_PATTERN.match(token or "") if isinstance(token, str) else None
    return (match.group(1), match.group(2), match.group(3)) if match else None


def secret_matches(invitation: Invitation, secret: str) -> bool:
    """Whether `secret` is the invitation's current one (constant time)."""
    return bool(invitation.token_hash) and hmac.compare_digest(
        invitation.token_hash, hash_secret(secret))


def _key(partner_id: str, invitation_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": INVITE_PREFIX + invitation_id}}


def _invitation(item: dict[str, Any]) -> Invitation:
    return Invitation(partner_id=item["partner_id"]["S"], id=item["invitation_id"]["S"],
                      email=item["email"]["S"], role=Role(item["role"]["S"]),
                      invited_by=item["invited_by"]["S"], created_at=item["created_at"]["S"],
                      expires_at=item["expires_at"]["S"],
                      status=InvitationStatus(item["status"]["S"]),
                      token_hash=item.get("token_hash", {}).get("S", ""),
                      accepted_by=item.get("accepted_by", {}).get("S"))


class InvitationChangedError(Exception):
    """The invitation is no longer what was read (accepted, cancelled, resent); nothing was
    written. Internal: the use cases turn it into a domain error."""


class InvitationStore:
    """Store, read, resend, cancel and spend invitations in the partners table."""

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 dynamodb: Any = None):
        self.table_name = table_name
        self._dynamodb = dynamodb or client("dynamodb", boto3_session)

    def new(self, partner_id: str, email: str, role: Role, invited_by: str,
            now: datetime) -> tuple[Invitation, str]:
        """A new pending invitation (not stored yet) and its secret."""
        secret = new_secret()
        return Invitation(partner_id=partner_id, id=new_id("i", 15), email=email, role=role,
                          invited_by=invited_by, created_at=isoformat(now),
                          expires_at=isoformat(now + VALID_FOR),
                          token_hash=hash_secret(secret)), secret

    def put(self, invitation: Invitation) -> None:
        self._dynamodb.put_item(TableName=self.table_name, Item={
            **_key(invitation.partner_id, invitation.id), "kind": {"S": "invitation"},
            "partner_id": {"S": invitation.partner_id},
            "invitation_id": {"S": invitation.id}, "email": {"S": invitation.email},
            "role": {"S": invitation.role.value}, "invited_by": {"S": invitation.invited_by},
            "created_at": {"S": invitation.created_at},
            "expires_at": {"S": invitation.expires_at},
            "status": {"S": invitation.status.value},
            "token_hash": {"S": invitation.token_hash}},
            ConditionExpression="attribute_not_exists(pk)")

    def get(self, partner_id: str, invitation_id: str) -> Invitation | None:
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key=_key(partner_id, invitation_id),
                                       ConsistentRead=True).get("Item")
        return _invitation(item) if item else None

    def for_partner(self, partner_id: str) -> list[Invitation]:
        """Every invitation of the organisation, newest first."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :invite)",
            "ExpressionAttributeValues": {":pk": {"S": f"PARTNER#{partner_id}"},
                                          ":invite": {"S": INVITE_PREFIX}}}
        found: list[Invitation] = []
        while True:
            response = self._dynamodb.query(**request)
            found.extend(_invitation(item) for item in response.get("Items", []))
            if not response.get("LastEvaluatedKey"):
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(found, key=lambda i: i.created_at, reverse=True)

    def _update(self, invitation: Invitation, expression: str,
                values: dict[str, Any]) -> None:
        try:
            self._dynamodb.update_item(
                TableName=self.table_name, Key=_key(invitation.partner_id, invitation.id),
                UpdateExpression=expression,
                ConditionExpression="#status = :pending AND token_hash = :hash",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":pending": {"S": InvitationStatus.PENDING},
                                           ":hash": {"S": invitation.token_hash}, **values})
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise InvitationChangedError(invitation.id) from None
            raise

    def renew(self, invitation: Invitation, now: datetime) -> tuple[Invitation, str]:
        """A new secret and seven more days for a pending invitation (earlier links die).

        Raises
        ------
        InvitationChangedError: it was accepted, cancelled or renewed since it was read.
        """
        secret = new_secret()
        renewed = Invitation(**{**invitation.__dict__, "token_hash": hash_secret(secret),
                                "expires_at": isoformat(now + VALID_FOR)})
        self._update(invitation, "SET token_hash = :new, expires_at = :expires",
                     {":new": {"S": renewed.token_hash},
                      ":expires": {"S": renewed.expires_at}})
        return renewed, secret

    def cancel(self, invitation: Invitation) -> None:
        """Cancel a pending invitation (its link then shows that it was cancelled).

        Raises
        ------
        InvitationChangedError: it was accepted, cancelled or renewed since it was read.
        """
        self._update(invitation, "SET #status = :cancelled",
                     {":cancelled": {"S": InvitationStatus.CANCELLED}})

    def spend_item(self, invitation: Invitation, user_id: str, now: datetime) -> dict[str, Any]:
        """The transaction item that marks the invitation accepted by `user_id`, only while
        it is pending, unexpired and has the hash that was checked."""
        return {"Update": {
            "TableName": self.table_name, "Key": _key(invitation.partner_id, invitation.id),
            "UpdateExpression": "SET #status = :accepted, accepted_by = :user",
            "ConditionExpression": "#status = :pending AND token_hash = :hash AND "
                                   "expires_at > :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":accepted": {"S": InvitationStatus.ACCEPTED}, ":user": {"S": user_id},
                ":pending": {"S": InvitationStatus.PENDING},
                ":hash": {"S": invitation.token_hash}, ":now": {"S": isoformat(now)}}}}
