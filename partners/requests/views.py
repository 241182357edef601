"""The request views on DynamoDB: write projections (never older over newer) and read them.

Reads are what the partner API serves (seed 004: GETs read views by name and id); the
tables are `requests`, `partner_inbox` and `user_timeline` (see `partners.requests.projections`).
A partner environment reads only its own inbox partition (`<partner>#<env>`): its routes,
its listings and its documents all come from there.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.exceptions import ValidationError
from partners.core.paging import Page, check_limit, decode_cursor, encode_cursor
from partners.requests.exceptions import RequestNotFoundError, ViewOutdatedError
from partners.requests.projections import (
    Projection,
    assemble_route_view,
    inbox_key,
    inbox_partition,
    inbox_status_key,
    request_key,
)
from partners.requests.status import LISTABLE_STATUSES

QUEUE_INDEX = "by-queue"
STATUS_INDEX = "by-status"

# A projection item is replaced only by one folded from at least as much of the log.
_NOT_OLDER = "attribute_not_exists(pk) OR last_sequence <= :s"
# Sort-key prefix of the per-route items the `requests` table held before routes moved to
# the inbox: nothing reads them any more; a rebuild deletes them.
RETIRED_ROUTE_PREFIX = "ROUTE#"


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
                "IndexName": QUEUE_INDEX, "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": {":p": {"S": partition}},
            }
            key_names: tuple[str, ...] = ("pk", "sk", "queue_key")
        else:
            if status not in LISTABLE_STATUSES:
                raise ValidationError(f"status must be one of {', '.join(LISTABLE_STATUSES)}",
                                      field="status")
            request = {
                "IndexName": STATUS_INDEX, "KeyConditionExpression": "status_key = :k",
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
