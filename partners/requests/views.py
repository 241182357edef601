"""The request views on DynamoDB: write projections (never older over newer) and read them.

Two readers, one set of tables (`requests`, `partner_inbox`, `user_timeline`; items from
`partners.requests.projections`, keys and indexes from `partners.requests.tables`):

- `RequestViews`: what the projector writes and the partner API and the portal serve (seed
  004: GETs read views by name and id). A partner environment reads only its own inbox
  partition (`<partner>#<env>`): its routes, its listings and its documents all come from
  there;
- `RequestHistory`: what the console shows of one partner environment (never writes): an
  environment's recent requests (the `requests` table's `by-environment` index) for the
  filter preview, which lists only those routed to the partner environment (and its own
  test events), counts the others, and leaves other partners' test events out
  (`partners.routing.preview.preview_sample`); the latest
  routings and routings per day (the `partner_inbox` table's `by-routed` index, reading the
  summary of each inbox item).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.constants import SCHEMA_VERSION
from partners.core.exceptions import ValidationError
from partners.core.paging import Page, check_limit, decode_cursor, encode_cursor
from partners.requests.exceptions import RequestNotFoundError, ViewOutdatedError
from partners.requests.projections import Projection, assemble_route_view
from partners.requests.status import LISTABLE_STATUSES
from partners.requests.tables import (
    INBOX_QUEUE_INDEX,
    INBOX_ROUTED_INDEX,
    INBOX_STATUS_INDEX,
    REQUESTS_ENVIRONMENT_INDEX,
    RETIRED_ROUTE_PREFIX,
    inbox_key,
    inbox_partition,
    inbox_status_key,
    request_key,
    routed_day,
)

# A projection item is replaced only by one folded from at least as much of the log.
_NOT_OLDER = "attribute_not_exists(pk) OR last_sequence <= :s"


class RequestViews:
    """Write and read the request projections.

    Parameters
    ----------
    requests_table, inbox_table, timeline_table: the three view tables.
    boto3_session: the AWS session (default: a new one).
    """

    def __init__(self, requests_table: str, inbox_table: str, timeline_table: str, *,
                 boto3_session: boto3.session.Session | None = None,
                 dynamodb_client: Any = None):
        self.requests_table = requests_table
        self.inbox_table = inbox_table
        self.timeline_table = timeline_table
        self._dynamodb = dynamodb_client or client("dynamodb", boto3_session)

    # --- writing ----------------------------------------------------------------------------

    def write(self, projection: Projection) -> None:
        """Put a request's items; an item already written from a later change is left alone.

        Each item's condition uses its own `last_sequence` (the event that last changed it).
        """
        for table, items in ((self.requests_table, projection.requests),
                             (self.inbox_table, projection.inbox)):
            for item in items:
                try:
                    self._dynamodb.put_item(TableName=table, Item=item,
                                            ConditionExpression=_NOT_OLDER,
                                            ExpressionAttributeValues={
                                                ":s": item["last_sequence"]})
                except ClientError as error:
                    if error_code(error) != "ConditionalCheckFailedException":
                        raise
        for item in projection.timeline:  # one immutable entry per log event
            self._dynamodb.put_item(TableName=self.timeline_table, Item=item)

    # --- reading ----------------------------------------------------------------------------

    def _route_parts(self, request_id: str, partner_id: str, environment: str,
                     *attributes: str) -> dict[str, Any]:
        """The JSON attributes of a request's item in the caller's own inbox partition.

        The key is built from the caller's partner environment, so another partner's
        routes are never read: a request not routed here is as absent as an unknown one.
        """
        item = self._dynamodb.get_item(
            TableName=self.inbox_table, Key=inbox_key(request_id, partner_id, environment),
            # With its key, an item that lacks every attribute asked for is still found.
            ProjectionExpression=", ".join(("sk", *attributes)),
        ).get("Item")
        if not item:
            raise RequestNotFoundError(request_id)
        missing = [name for name in attributes if name not in item]
        if missing:
            raise ViewOutdatedError(request_id, missing[0])
        return {name: json.loads(item[name]["S"]) for name in attributes}

    def route_view(self, request_id: str, partner_id: str, environment: str) -> dict[str, Any]:
        """A request as the partner environment it was routed to sees it.

        Raises
        ------
        RequestNotFoundError: no such request, or not routed to this partner environment.
        ViewOutdatedError: the inbox item predates the current layout (rebuild).
        """
        parts = self._route_parts(request_id, partner_id, environment,
                                  "document", "history", "documents")
        return assemble_route_view(parts["document"], parts["history"], parts["documents"])

    def route_documents(self, request_id: str, partner_id: str,
                        environment: str) -> list[dict[str, Any]]:
        """The S3 references of a request's documents, for a partner it was routed to.

        Raises
        ------
        RequestNotFoundError: no such request, or not routed to this partner environment.
        ViewOutdatedError: the inbox item predates the current layout (rebuild).
        """
        documents: list[dict[str, Any]] = self._route_parts(
            request_id, partner_id, environment, "documents")["documents"]
        return documents

    def delete_retired_items(self, request_id: str) -> int:
        """Delete a request's items of the former layout (`ROUTE#` items); return how many.

        Safe while the projector runs: it never writes them.
        """
        request: dict[str, Any] = {
            "TableName": self.requests_table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :r)",
            "ExpressionAttributeValues": {":p": request_key(request_id)["pk"],
                                          ":r": {"S": RETIRED_ROUTE_PREFIX}},
            "ProjectionExpression": "pk, sk",
        }
        deleted = 0
        while True:
            response = self._dynamodb.query(**request)
            for key in response.get("Items", []):
                self._dynamodb.delete_item(TableName=self.requests_table, Key=key)
                deleted += 1
            if "LastEvaluatedKey" not in response:
                return deleted
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def request_view(self, request_id: str) -> dict[str, Any]:
        """A request's whole current state (every route's status).

        Raises
        ------
        RequestNotFoundError
        """
        item = self._dynamodb.get_item(
            TableName=self.requests_table, Key=request_key(request_id),
        ).get("Item")
        if not item:
            raise RequestNotFoundError(request_id)
        return json.loads(item["document"]["S"])

    def list_inbox(self, partner_id: str, environment: str, *, status: str | None = None,
                   cursor: str | None = None, limit: int = 50) -> Page[dict[str, Any]]:
        """A page of the requests routed to a partner environment.

        Without `status`: pending first, then open, then final; oldest first within each.
        With `status` (`pending` or a request status): only those, oldest first.

        Raises
        ------
        ValidationError: a bad status, limit or cursor.
        """
        check_limit(limit)
        partition = inbox_partition(partner_id, environment)
        if status is None:
            request: dict[str, Any] = {
                "IndexName": INBOX_QUEUE_INDEX, "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": partition}},
            }
            key_names: tuple[str, ...] = ("pk", "sk", "queue_key")
        else:
            if status not in LISTABLE_STATUSES:
                raise ValidationError(f"status must be one of {', '.join(LISTABLE_STATUSES)}",
                                      field="status")
            request = {
                "IndexName": INBOX_STATUS_INDEX, "KeyConditionExpression": "status_key = :k",
                "ExpressionAttributeValues": {
                    ":k": {"S": inbox_status_key(partner_id, environment, status)}},
            }
            key_names = ("pk", "sk", "status_key", "routed_key")
        start = decode_cursor(cursor)
        if start is not None:
            # A cursor is only good for the listing it came from: same partition, same index.
            if set(start) != set(key_names) or start.get("pk") != partition or (
                    status is not None
                    and start.get("status_key") != inbox_status_key(partner_id, environment,
                                                                     status)):
                raise ValidationError("cursor is not valid", field="cursor")
            request["ExclusiveStartKey"] = {k: {"S": str(v)} for k, v in start.items()}
        response = self._dynamodb.query(TableName=self.inbox_table, Limit=limit,
                                        ProjectionExpression="document", **request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[json.loads(item["document"]["S"]) for item in response.get("Items", [])],
            cursor=encode_cursor({k: v["S"] for k, v in last.items()}) if last else None,
        )

    def user_timeline(self, user_id: str, *, cursor: str | None = None,
                      limit: int = 50) -> Page[dict[str, Any]]:
        """A page of a user's timeline, oldest first.

        Raises
        ------
        ValidationError: a bad limit or cursor.
        """
        check_limit(limit)
        request: dict[str, Any] = {
            "TableName": self.timeline_table, "KeyConditionExpression": "user_id = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}}, "Limit": limit,
        }
        start = decode_cursor(cursor)
        if start is not None:
            if set(start) != {"user_id", "sk"} or start["user_id"] != user_id:
                raise ValidationError("cursor is not valid", field="cursor")
            request["ExclusiveStartKey"] = {k: {"S": str(v)} for k, v in start.items()}
        response = self._dynamodb.query(**request)
        last = response.get("LastEvaluatedKey")
        return Page(
            items=[json.loads(item["document"]["S"]) for item in response.get("Items", [])],
            cursor=encode_cursor({k: v["S"] for k, v in last.items()}) if last else None,
        )


# --- the console's reads ---------------------------------------------------------------

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
        detail: dict[str, Any] = {
            "environment": self.environment, "request_id": self.request_id,
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
        """Whether the request was routed to any environment of `partner_id`."""
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
    """Reads of the request projections the console shows (never writes).

    Parameters
    ----------
    dynamodb: a DynamoDB client.
    requests_table, inbox_table: the `requests` and `partner_inbox` tables; None (a console
        run without them) reads nothing.
    """

    def __init__(self, dynamodb: Any, *, requests_table: str | None, inbox_table: str | None):
        self._dynamodb = dynamodb
        self.requests_table = requests_table
        self.inbox_table = inbox_table

    def recent_requests(self, environment: str, limit: int = 50) -> list[RequestSummary]:
        """The environment's latest `limit` requests, newest first (any partner's: a caller
        showing them to a partner keeps to what is the partner's own).

        Parameters
        ----------
        environment: the partner environment name the requests were created in.
        limit: at most this many.

        Returns
        -------
        list[RequestSummary]: [] without a `requests` table.
        """
        if not self.requests_table:
            return []
        response = self._dynamodb.query(
            TableName=self.requests_table, IndexName=REQUESTS_ENVIRONMENT_INDEX,
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
            "TableName": self.inbox_table, "IndexName": INBOX_ROUTED_INDEX,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {
                ":p": {"S": inbox_partition(partner_id, environment)}},
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
        """The requests most recently routed to a partner environment, newest first.

        Parameters
        ----------
        partner_id, environment: the partner environment.
        limit: at most this many.

        Returns
        -------
        list[dict]: the inbox summaries (`partners.requests.projections.route_summary`).
        """
        return [json.loads(item["document"]["S"])
                for item in self._routed(partner_id, environment, None, limit, "document")]

    def deliveries_per_day(self, partner_id: str, environment: str, *, today: date,
                           days: int = 14) -> dict[str, int]:
        """Requests routed to a partner environment per UTC day, the last `days` days.

        Parameters
        ----------
        partner_id, environment: the partner environment.
        today: the last day counted.
        days: how many days, `today` included.

        Returns
        -------
        dict[str, int]: `YYYY-MM-DD` -> count, oldest day first, days without routings 0.
        """
        first = today - timedelta(days=days - 1)
        counts = Counter(routed_day(item["routed_key"]["S"])
                         for item in self._routed(partner_id, environment, first.isoformat(),
                                                  None, "routed_key"))
        return {(first + timedelta(days=i)).isoformat():
                counts.get((first + timedelta(days=i)).isoformat(), 0) for i in range(days)}
