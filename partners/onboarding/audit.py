"""The append-only audit log: who did what to which target, with before/after (secrets masked).

Records are put with `attribute_not_exists`, never updated or deleted by the gateway. Keys:
`target` + `sk` (`<time>#<id>`), and the `by-day` index (`day` + `sk`) for the admin's view.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, timezone
from typing import Any, Mapping

import boto3

from partners.core.aws import client
from partners.core.clock import Clock, isoformat, new_id, utc_now
from partners.core.paging import Page, check_limit, decode_cursor, encode_cursor
from partners.onboarding.roles import Actor

MASK = "********"
# Any key that names a secret: its value is replaced by MASK at every depth.
SECRET_KEY_PATTERN = re.compile(
    r"(secret|password|passwd|token|api_key_value|credential|authorization)", re.IGNORECASE
)
# Keys that merely point at a secret and may be shown.
_SAFE_KEYS = {"secret_arn", "secret_set_on", "token_url"}
DAY_INDEX = "by-day"


def partner_target(partner_id: str) -> str:
    """The audit target that names one partner: `partner:<id>`."""
    return f"partner:{partner_id}"


def mask_secrets(value: Any) -> Any:
    """A copy of `value` with every secret-named key's value replaced by `********`."""
    if isinstance(value, Mapping):
        return {
            key: (MASK if SECRET_KEY_PATTERN.search(str(key)) and key not in _SAFE_KEYS
                  and item is not None and not isinstance(item, (Mapping, list, tuple))
                  else mask_secrets(item))
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [mask_secrets(item) for item in value]
    return value


@dataclass(frozen=True)
class AuditRecord:
    id: str
    at: str
    actor: str
    action: str
    target: str
    reason: str | None = None
    before: Any = None
    after: Any = None


def _record(item: dict[str, Any]) -> AuditRecord:
    data = json.loads(item["document"]["S"])
    return AuditRecord(**data)


class AuditLog:
    """Append and read audit records."""

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock

    def record(self, *, actor: Actor | str, action: str, target: str, reason: str | None = None,
               before: Any = None, after: Any = None) -> AuditRecord:
        """Append one record; `before` and `after` are masked before they are stored.

        Parameters
        ----------
        actor: who acted; stored as `str(actor)` (`user:<email>`, `system:reconciler`).
        action: a dotted verb (`partner.approved`, `environment.updated`, `token.revoked`).
        target: what was acted on (`partner:<id>`).
        """
        moment = self._clock()
        actor = str(actor)
        record = AuditRecord(
            id=new_id("a", 12), at=isoformat(moment), actor=actor, action=action, target=target,
            reason=reason, before=mask_secrets(before), after=mask_secrets(after),
        )
        sort_key = f"{moment.astimezone(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')}#{record.id}"
        self._dynamodb.put_item(
            TableName=self.table_name,
            Item={
                "target": {"S": target},
                "sk": {"S": sort_key},
                "day": {"S": record.at[:10]},
                "actor": {"S": actor},
                "action": {"S": action},
                "document": {"S": json.dumps(record.__dict__, separators=(",", ":"),
                                             default=str)},
            },
            ConditionExpression="attribute_not_exists(target)",
        )
        return record

    def for_target(self, target: str, *, limit: int = 50,
                   cursor: str | None = None) -> Page[AuditRecord]:
        """Records about `target`, newest first."""
        return self._query({"KeyConditionExpression": "target = :t",
                            "ExpressionAttributeValues": {":t": {"S": target}}}, limit, cursor)

    def for_day(self, day: date | str, *, actor: str | None = None, action: str | None = None,
                limit: int = 50, cursor: str | None = None) -> Page[AuditRecord]:
        """Records of one UTC day, newest first, optionally only one actor's or action's."""
        values: dict[str, Any] = {":d": {"S": str(day)}}
        filters = []
        if actor:
            filters.append("actor = :actor")
            values[":actor"] = {"S": actor}
        if action:
            filters.append("begins_with(#action, :action)")
            values[":action"] = {"S": action}
        request: dict[str, Any] = {"IndexName": DAY_INDEX, "KeyConditionExpression": "#day = :d",
                                   "ExpressionAttributeValues": values,
                                   "ExpressionAttributeNames": {"#day": "day"}}
        if filters:
            request["FilterExpression"] = " AND ".join(filters)
            if action:
                request["ExpressionAttributeNames"]["#action"] = "action"
        return self._query(request, limit, cursor)

    def _query(self, request: dict[str, Any], limit: int, cursor: str | None) -> Page[AuditRecord]:
        check_limit(limit)
        start = decode_cursor(cursor)
        request = {"TableName": self.table_name, "ScanIndexForward": False, "Limit": limit,
                   **request}
        if start:
            request["ExclusiveStartKey"] = {k: {"S": v} for k, v in start.items()}
        response = self._dynamodb.query(**request)
        last = response.get("LastEvaluatedKey")
        return Page(items=[_record(i) for i in response.get("Items", [])],
                    cursor=encode_cursor({k: v["S"] for k, v in last.items()}) if last else None)
