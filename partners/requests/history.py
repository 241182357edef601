"""What the request projections say about one partner environment, for the console.

- recent requests of an environment (the `requests` table's `by-environment` index), for the
  filter preview; a partner sees the details only of those routed to it;
- deliveries (routings) per day and the latest ones (the `partner_inbox` table's `by-routed`
  index; an inbox item is the whole route, of which the console reads the summary);
- one request's log, for a test event's outcome.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from partners.core.constants import SCHEMA_VERSION

ENVIRONMENT_INDEX = "by-environment"
ROUTED_INDEX = "by-routed"


@dataclass(frozen=True)
class RequestSummary:
    """A request as the filter preview needs it."""

    request_id: str
    request_type: str
    environment: str
    created_at: str
    attributes: dict[str, Any] = field(default_factory=dict)
    routed_to: frozenset[tuple[str, str]] = frozenset()
    test: bool = False
    user_id: str = ""

    @property
    def detail(self) -> dict[str, Any]:
        """The `Request Created` detail this request carried (without addressing)."""
        detail: dict[str, Any] = {"environment": self.environment, "request_id": self.request_id,
                  "request_type": self.request_type, "occurred_at": self.created_at,
                  "schema_version": SCHEMA_VERSION, "user_id": self.user_id or "unknown",
                  "attributes": self.attributes}
        if self.test:
            detail["test"] = True
        return detail

    @property
    def matching_key(self) -> tuple[str, str, Any]:
        """What a compiled pattern can look at: equal keys, equal verdicts."""
        return (self.environment, self.request_type,
                json.dumps(self.attributes, sort_keys=True, default=str))

    def routed_to_partner(self, partner_id: str) -> bool:
        return any(p == partner_id for p, _ in self.routed_to)


def _summary(document: dict[str, Any]) -> RequestSummary:
    return RequestSummary(
        request_id=str(document.get("request_id", "")),
        request_type=str(document.get("request_type", "")),
        environment=str(document.get("environment", "")),
        created_at=str(document.get("created_at", "")),
        attributes=dict(document.get("attributes") or {}),
        routed_to=frozenset((r.get("partner_id", ""), r.get("environment", ""))
                            for r in document.get("routes") or []),
        test=bool(document.get("test", False)),
        user_id=str(document.get("user_id", "")),
    )


class RequestHistory:
    """Reads of the request projections the console shows (never writes)."""

    def __init__(self, dynamodb: Any, *, requests_table: str | None, inbox_table: str | None):
        self._dynamodb = dynamodb
        self.requests_table = requests_table
        self.inbox_table = inbox_table

    def recent_requests(self, environment: str, limit: int = 50) -> list[RequestSummary]:
        """The environment's latest `limit` requests, newest first."""
        if not self.requests_table:
            return []
        response = self._dynamodb.query(
            TableName=self.requests_table, IndexName=ENVIRONMENT_INDEX,
            KeyConditionExpression="environment = :e",
            ExpressionAttributeValues={":e": {"S": environment}},
            ScanIndexForward=False, Limit=limit,
        )
        return [_summary(json.loads(item["document"]["S"])) for item in response.get("Items", [])
                if "document" in item]

    def _routed(self, partner_id: str, environment: str, since: str | None,
                limit: int | None, projection: str | None = None) -> list[dict[str, Any]]:
        if not self.inbox_table:
            return []
        request: dict[str, Any] = {
            "TableName": self.inbox_table, "IndexName": ROUTED_INDEX,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": f"{partner_id}#{environment}"}},
            "ScanIndexForward": False,
        }
        if projection:
            request["ProjectionExpression"] = projection
        if since:
            request["KeyConditionExpression"] += " AND routed_key >= :since"
            request["ExpressionAttributeValues"][":since"] = {"S": since}
        items: list[dict[str, Any]] = []
        while True:
            if limit:
                request["Limit"] = limit - len(items)
            response = self._dynamodb.query(**request)
            items += response.get("Items", [])
            if "LastEvaluatedKey" not in response or (limit and len(items) >= limit):
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def latest_deliveries(self, partner_id: str, environment: str,
                          limit: int = 20) -> list[dict[str, Any]]:
        """The requests most recently routed to a partner environment (inbox summaries)."""
        return [json.loads(item["document"]["S"])
                for item in self._routed(partner_id, environment, None, limit, "document")]

    def deliveries_per_day(self, partner_id: str, environment: str, *, today: date,
                           days: int = 14) -> dict[str, int]:
        """Requests routed to a partner environment per UTC day, the last `days` days."""
        first = today - timedelta(days=days - 1)
        counts = Counter(item["routed_key"]["S"][:10]
                         for item in self._routed(partner_id, environment, first.isoformat(),
                                                  None, "routed_key"))
        return {(first + timedelta(days=i)).isoformat():
                counts.get((first + timedelta(days=i)).isoformat(), 0) for i in range(days)}
