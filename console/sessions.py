"""Server-side console sessions: every sign-in is a record that sign-out, a password reset or
a removal ends, whatever cookies were saved.

The signed session cookie carries a random session id; the record lives in the
`console_sessions` table (shared by every console instance), keyed by a hash of that id, so
the table never holds a usable credential. Flask-Login's user loader checks it on every
request (`SessionStore.valid`) with one consistent `BatchGetItem`:

- `session#<sha256(id)>`: the user, the user's generation at sign-in, and `expires_at`, an
  absolute end (sign-in + `lifetime`) that renewing the cookie never moves; DynamoDB's TTL
  removes the record later, and `valid` refuses it from that second on (TTL deletes lazily).
- `user#<sub>`: a `generation` counter. `revoke_user` adds one to it, which invalidates every
  session started before (password reset, removal); no index or scan needed, and no
  clock comparison that two events in the same second could get wrong.

Flask-Session's DynamoDB backend was considered: it keeps the whole session server-side, but
has no per-user revocation and no absolute lifetime, renews the record's expiry on every
request, and creates the table or its TTL at start-up (the console's role may not).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import boto3

from partners.core.aws import client
from partners.core.clock import Clock, utc_now

SESSION_PREFIX = "session#"
USER_PREFIX = "user#"


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


class SessionStore:
    """Start, check, end and revoke console sessions in the sessions table."""

    # An absolute cap on a sign-in, however often the cookie is renewed.
    lifetime = timedelta(hours=12)

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now, lifetime: timedelta | int | None = None):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock
        if lifetime is not None:
            # Seconds, like Flask's PERMANENT_SESSION_LIFETIME, when set from a variable.
            self.lifetime = (lifetime if isinstance(lifetime, timedelta)
                             else timedelta(seconds=int(lifetime)))

    @staticmethod
    def _session_key(session_id: str) -> dict[str, Any]:
        digest = hashlib.sha256(session_id.encode()).hexdigest()
        return {"pk": {"S": SESSION_PREFIX + digest}}

    @staticmethod
    def _user_key(user_id: str) -> dict[str, Any]:
        return {"pk": {"S": USER_PREFIX + user_id}}

    def _generation(self, user_id: str) -> int:
        item = self._dynamodb.get_item(TableName=self.table_name, Key=self._user_key(user_id),
                                       ConsistentRead=True).get("Item") or {}
        return int(item.get("generation", {}).get("N", "0"))

    def start(self, user_id: str) -> str:
        """Record a new sign-in of `user_id`; returns the session id for the cookie."""
        session_id = secrets.token_urlsafe(32)
        now = self._clock()
        self._dynamodb.put_item(
            TableName=self.table_name,
            Item={**self._session_key(session_id), "kind": {"S": "session"},
                  "user_id": {"S": user_id},
                  "generation": {"N": str(self._generation(user_id))},
                  "created_at": {"N": str(_epoch(now))},
                  "expires_at": {"N": str(_epoch(now + self.lifetime))}},
            ConditionExpression="attribute_not_exists(pk)")
        return session_id

    def valid(self, session_id: str | None, user_id: str) -> bool:
        """Whether `session_id` is a live session of `user_id`: recorded, not ended, not past
        its absolute end, not revoked."""
        if not session_id or not isinstance(session_id, str) or len(session_id) > 128:
            return False
        session_key, user_key = self._session_key(session_id), self._user_key(user_id)
        response = self._dynamodb.batch_get_item(RequestItems={self.table_name: {
            "Keys": [session_key, user_key], "ConsistentRead": True}})
        if response.get("UnprocessedKeys"):
            # Throttled by DynamoDB: unknown is not valid (the user signs in again).
            return False
        items = {item["pk"]["S"]: item for item in response["Responses"].get(self.table_name, [])}
        record = items.get(session_key["pk"]["S"])
        if record is None or record.get("user_id", {}).get("S") != user_id:
            return False
        if int(record["expires_at"]["N"]) <= _epoch(self._clock()):
            return False
        current = int(items.get(user_key["pk"]["S"], {}).get("generation", {}).get("N", "0"))
        return int(record.get("generation", {}).get("N", "0")) == current

    def end(self, session_id: str | None) -> None:
        """Sign-out: delete the record (a saved cookie then opens nothing)."""
        if session_id and isinstance(session_id, str) and len(session_id) <= 128:
            self._dynamodb.delete_item(TableName=self.table_name,
                                       Key=self._session_key(session_id))

    def revoke_user(self, user_id: str) -> None:
        """End every session of `user_id` started so far (password reset, removal).

        The counter item has no expiry: were it to expire, sessions started after the
        revocation would carry a generation the missing item no longer matches.
        """
        self._dynamodb.update_item(
            TableName=self.table_name, Key=self._user_key(user_id),
            UpdateExpression="ADD generation :one SET kind = :kind",
            ExpressionAttributeValues={":one": {"N": "1"}, ":kind": {"S": "user"}})
