"""Per-environment API tokens: issued once, stored as a hash, found by prefix.

A token reads `pgw_<environment>_<32 base62 characters>` (190 random bits). Its first
`pgw_<environment>_<8 characters>` are the public prefix: the table's key, shown in the
console and in logs so a partner can tell tokens apart. Only the SHA-256 of the whole token
is stored; a token with this much entropy needs no slow hash, and comparing digests with
`hmac.compare_digest` keeps verification constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, parse_iso, utc_now
from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import TokenInvalidError, TokenNotFoundError

TOKEN_PREFIX = "pgw"
RANDOM_LENGTH = 32
PUBLIC_LENGTH = 8
_ALPHABET = string.ascii_letters + string.digits
TOKEN_PATTERN = re.compile(rf"^{TOKEN_PREFIX}_([a-z][a-z0-9]{{1,15}})_([A-Za-z0-9]{{{RANDOM_LENGTH}}})$")
PARTNER_INDEX = "by-partner"


@dataclass(frozen=True)
class TokenRecord:
    """What is stored about a token: everything but the token."""

    prefix: str
    partner_id: str
    environment: str
    name: str
    created_at: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None
    replaced_by: str | None = None

    def state(self, now: datetime) -> str:
        """`active`, `expiring` (rotated, still in its overlap window), `expired` or `revoked`."""
        if self.revoked_at:
            return "revoked"
        if self.expires_at:
            return "expired" if parse_iso(self.expires_at) <= now else "expiring"
        return "active"


@dataclass(frozen=True)
class IssuedToken:
    """A new token: `token` is shown to the partner once and never again."""

    token: str
    record: TokenRecord


@dataclass(frozen=True)
class TokenIdentity:
    """Who a verified token speaks for."""

    partner_id: str
    environment: str
    prefix: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_prefix(token: str) -> str | None:
    """The public prefix of a well-formed token, or None."""
    match = TOKEN_PATTERN.match(token)
    if not match:
        return None
    return f"{TOKEN_PREFIX}_{match.group(1)}_{match.group(2)[:PUBLIC_LENGTH]}"


def _record(item: dict[str, Any]) -> TokenRecord:
    def text(name: str) -> str | None:
        return item[name]["S"] if name in item else None

    return TokenRecord(
        prefix=item["prefix"]["S"], partner_id=item["partner_id"]["S"],
        environment=item["environment"]["S"], name=text("name") or "",
        created_at=item["created_at"]["S"], expires_at=text("expires_at"),
        revoked_at=text("revoked_at"), last_used_at=text("last_used_at"),
        replaced_by=text("replaced_by"),
    )


class TokenStore:
    """Issue, verify, rotate and revoke API tokens."""

    default_overlap = timedelta(hours=24)
    # `last_used_at` is written at most this often per token, so verification of a busy
    # token costs one read, not one read and one write.
    last_used_resolution = timedelta(minutes=1)
    # Revoked and expired records stay visible this long, then DynamoDB's TTL removes them.
    retention = timedelta(days=90)

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock

    def issue(self, partner_id: str, environment: str, *, name: str = "") -> IssuedToken:
        """Create a token for one partner environment.

        Returns
        -------
        The token (to show once) and its stored record.
        """
        if len(name) > 64:
            raise ValidationError("token name must be at most 64 characters", field="name")
        while True:
            random_part = "".join(secrets.choice(_ALPHABET) for _ in range(RANDOM_LENGTH))
            token = f"{TOKEN_PREFIX}_{environment}_{random_part}"
            prefix = token_prefix(token)
            if prefix is None:
                raise ValidationError(f"environment {environment!r} cannot name a token",
                                      field="environment")
            record = TokenRecord(prefix=prefix, partner_id=partner_id, environment=environment,
                                 name=name, created_at=isoformat(self._clock()))
            item = {
                "prefix": {"S": prefix}, "partner_id": {"S": partner_id},
                "environment": {"S": environment}, "name": {"S": name},
                "created_at": {"S": record.created_at}, "hash": {"S": token_hash(token)},
            }
            try:
                self._dynamodb.put_item(TableName=self.table_name, Item=item,
                                        ConditionExpression="attribute_not_exists(prefix)")
            except ClientError as error:
                if error_code(error) == "ConditionalCheckFailedException":
                    continue  # a prefix collision (1 in 62^8): draw again
                raise
            return IssuedToken(token=token, record=record)

    def verify(self, token: str) -> TokenIdentity:
        """Resolve a token to its partner environment.

        Raises
        ------
        TokenInvalidError: malformed, unknown, revoked or expired (the reason says which,
            for logs; callers answer every case with the same 401).
        """
        prefix = token_prefix(token) if isinstance(token, str) else None
        if prefix is None:
            raise TokenInvalidError("malformed token")
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key={"prefix": {"S": prefix}}).get("Item")
        # Compare against a dummy digest when the prefix is unknown, so timing does not
        # tell an attacker which prefixes exist.
        stored = item["hash"]["S"] if item else token_hash("")
        if not hmac.compare_digest(stored, token_hash(token)) or not item:
            raise TokenInvalidError("unknown token")
        record = _record(item)
        now = self._clock()
        state = record.state(now)
        if state in ("revoked", "expired"):
            raise TokenInvalidError(f"{state} token")
        self._touch(record, now)
        return TokenIdentity(record.partner_id, record.environment, record.prefix)

    def _touch(self, record: TokenRecord, now: datetime) -> None:
        if record.last_used_at and now - parse_iso(record.last_used_at) < self.last_used_resolution:
            return
        self._dynamodb.update_item(
            TableName=self.table_name, Key={"prefix": {"S": record.prefix}},
            UpdateExpression="SET last_used_at = :now",
            ConditionExpression="attribute_exists(prefix)",
            ExpressionAttributeValues={":now": {"S": isoformat(now)}},
        )

    def get(self, prefix: str) -> TokenRecord:
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key={"prefix": {"S": prefix}},
                                       ConsistentRead=True).get("Item")
        if not item:
            raise TokenNotFoundError(prefix)
        return _record(item)

    def rotate(self, prefix: str, *, overlap: timedelta | None = None) -> IssuedToken:
        """Issue a successor of the token at `prefix`; the old one stays valid for `overlap`.

        Raises
        ------
        TokenNotFoundError, TokenInvalidError: the old token is unknown, revoked or expired.
        ValidationError: a negative or over-30-day overlap.
        """
        overlap = self.default_overlap if overlap is None else overlap
        if not timedelta(0) <= overlap <= timedelta(days=30):
            raise ValidationError("overlap must be from 0 to 30 days", field="overlap")
        old = self.get(prefix)
        now = self._clock()
        if old.state(now) in ("revoked", "expired"):
            raise TokenInvalidError(f"cannot rotate a {old.state(now)} token")
        new = self.issue(old.partner_id, old.environment, name=old.name)
        expires = now + overlap
        self._dynamodb.update_item(
            TableName=self.table_name, Key={"prefix": {"S": prefix}},
            UpdateExpression="SET expires_at = :e, replaced_by = :n, purge_at = :p",
            ExpressionAttributeValues={":e": {"S": isoformat(expires)},
                                       ":n": {"S": new.record.prefix},
                                       ":p": {"N": str(int((expires + self.retention).timestamp()))}},
        )
        return new

    def revoke(self, prefix: str) -> TokenRecord:
        """Revoke at once (idempotent).

        Raises
        ------
        TokenNotFoundError
        """
        now = self._clock()
        try:
            attributes = self._dynamodb.update_item(
                TableName=self.table_name, Key={"prefix": {"S": prefix}},
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now), purge_at = :p",
                ConditionExpression="attribute_exists(prefix)",
                ExpressionAttributeValues={":now": {"S": isoformat(now)},
                                           ":p": {"N": str(int((now + self.retention).timestamp()))}},
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                raise TokenNotFoundError(prefix) from None
            raise
        return _record(attributes)

    def list_tokens(self, partner_id: str, environment: str | None = None) -> list[TokenRecord]:
        """A partner's tokens (of one environment), newest first."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "IndexName": PARTNER_INDEX,
            "KeyConditionExpression": "partner_id = :p",
            "ExpressionAttributeValues": {":p": {"S": partner_id}},
        }
        if environment:
            request["KeyConditionExpression"] += " AND begins_with(prefix, :e)"
            request["ExpressionAttributeValues"][":e"] = {"S": f"{TOKEN_PREFIX}_{environment}_"}
        records: list[TokenRecord] = []
        while True:
            response = self._dynamodb.query(**request)
            records += [_record(i) for i in response.get("Items", [])]
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return sorted(records, key=lambda r: r.created_at, reverse=True)
