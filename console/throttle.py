"""Login throttling per account and per client address, counted before Cognito is asked.

Cognito has its own protections; this one answers sooner and without revealing whether an
account exists (an unknown account is throttled exactly like a known one). Every attempt is
counted first, atomically, in the `console_sessions` table that every console instance
shares: one `UpdateItem` that ADDs one on the condition that the allowance is not used up, so
twelve concurrent guesses for one account still get only `per_account` answers from Cognito.

The window slides the way well-known rate limiters approximate it: counters per fixed window
(`login#<kind>#<sha256(key)>#<window number>`, expired by TTL), and an attempt is allowed
when `current + 1 + previous * (share of the previous window still inside the sliding one)`
fits the limit, so a burst at a window's edge gets no second allowance. Keys are hashed: the
table holds neither emails nor addresses.
"""

from __future__ import annotations

import hashlib
import math
from datetime import timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from console.exceptions import AccountLockedError
from partners.core.aws import client, error_code
from partners.core.clock import Clock, utc_now

PREFIX = "login#"


class LoginThrottle:
    """Count login attempts; refuse more than `per_account` / `per_address` within `window`."""

    window = timedelta(minutes=15)
    per_account = 5
    per_address = 20

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock

    @staticmethod
    def _counters(account: str, address: str) -> dict[str, str]:
        """The hashed counter name of the account and of the address."""
        def hashed(kind: str, value: str) -> str:
            return f"{PREFIX}{kind}#{hashlib.sha256(value.encode()).hexdigest()}"
        return {"account": hashed("account", account.strip().lower()),
                "address": hashed("address", address)}

    def _position(self) -> tuple[int, float, float]:
        """(current window number, seconds into it, window length in seconds)."""
        length = self.window.total_seconds()
        now = self._clock().timestamp()
        number = math.floor(now / length)
        return number, now - number * length, length

    @staticmethod
    def _key(counter: str, number: int) -> dict[str, Any]:
        return {"pk": {"S": f"{counter}#{number}"}}

    def _previous_counts(self, counters: list[str], number: int) -> dict[str, int]:
        keys = [self._key(counter, number - 1) for counter in counters]
        response = self._dynamodb.batch_get_item(RequestItems={self.table_name: {
            "Keys": keys, "ConsistentRead": True}})
        found = {item["pk"]["S"]: int(item.get("attempts", {}).get("N", "0"))
                 for item in response["Responses"].get(self.table_name, [])}
        return {counter: found.get(self._key(counter, number - 1)["pk"]["S"], 0)
                for counter in counters}

    @staticmethod
    def _retry_after(current: int, previous: int, limit: int, elapsed: float,
                     length: float) -> int:
        """Seconds until one more attempt fits: `current + 1 + previous * weight <= limit`,
        with weight = 1 - t / length at t seconds into a window."""
        if current >= limit:
            # Not in this window: in the next one, this window's count is the previous.
            return max(1, math.ceil(length - elapsed + length * (1 - (limit - 1) / current)))
        if previous <= 0:
            return max(1, math.ceil(length - elapsed))
        return max(1, math.ceil(length * (1 - (limit - 1 - current) / previous) - elapsed))

    def attempt(self, account: str, address: str) -> None:
        """Count one login attempt before the password is checked.

        Raises
        ------
        AccountLockedError: the account or the address has used its allowance; nothing
            was counted for the refused key.
        """
        number, elapsed, length = self._position()
        counters = self._counters(account, address)
        previous = self._previous_counts(list(counters.values()), number)
        weight = 1 - elapsed / length
        expires = (number + 2) * length  # the next window still reads this one
        for kind, limit in (("account", self.per_account), ("address", self.per_address)):
            counter = counters[kind]
            # The most attempts this window may already hold for one more to fit.
            most = round(limit - 1 - previous[counter] * weight, 6)
            if most < 0:
                raise AccountLockedError(self._retry_after(0, previous[counter], limit,
                                                           elapsed, length))
            try:
                self._dynamodb.update_item(
                    TableName=self.table_name, Key=self._key(counter, number),
                    UpdateExpression="ADD attempts :one SET expires_at = :expires",
                    ConditionExpression="attribute_not_exists(attempts) OR attempts <= :most",
                    ExpressionAttributeValues={":one": {"N": "1"},
                                               ":most": {"N": f"{most:.6f}"},
                                               ":expires": {"N": str(int(expires))}},
                    ReturnValuesOnConditionCheckFailure="ALL_OLD")
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                answer: Any = error.response  # the counter as it was (ALL_OLD)
                item = answer.get("Item") or {}
                current = int(item.get("attempts", {}).get("N", str(limit)))
                raise AccountLockedError(self._retry_after(
                    current, previous[counter], limit, elapsed, length)) from None

    def succeeded(self, account: str, address: str) -> None:
        """Forget the account's attempts (the address keeps its count: one good password
        must not reset a spray across many accounts)."""
        number, _, _ = self._position()
        counter = self._counters(account, address)["account"]
        for window in (number, number - 1):
            self._dynamodb.delete_item(TableName=self.table_name,
                                       Key=self._key(counter, window))
