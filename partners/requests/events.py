"""The request log's events: the record, its types, and its `request_events` item.

Everything that reads or writes the log speaks in `LogEvent`s: the log appends them
(`partners.requests.log`), the projections fold them (`partners.requests.projections`), the
notifier reads status changes from the table's stream. An event type is a string in the
item; the constants here are its only spelling.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Mapping

CREATED = "request.created"
ROUTED = "request.routed"
STATUS_CHANGED = "request.status_changed"
DOCUMENT_ADDED = "request.document_added"
# Appended by the notifier when SNS refuses a user's phone number or email for good.
NOTIFICATION_FAILED = "notification.failed"
# Whether a status change reached the bus: `outcome` claimed | published | failed, for the
# change's `command_id` (`partners.requests.log.RequestLog.change_status`). Bookkeeping of
# the partner API, not of the request: the views and the timeline do not show it.
STATUS_PUBLICATION = "request.status_publication"
EVENT_TYPES = (CREATED, ROUTED, STATUS_CHANGED, DOCUMENT_ADDED, NOTIFICATION_FAILED,
               STATUS_PUBLICATION)


@dataclass(frozen=True)
class LogEvent:
    """One item of the request log."""

    request_id: str
    sequence: int
    type: str
    data: dict[str, Any]
    recorded_at: str
    partner_id: str | None = None
    environment: str | None = None


def event_item(event: LogEvent) -> dict[str, Any]:
    """The `request_events` item of an event (DynamoDB attribute-value form).

    `data` is stored as compact JSON with sorted keys, so an event is one string whichever
    order its writer built the mapping in.

    Parameters
    ----------
    event: the event (its `data` must be JSON-serialisable).

    Returns
    -------
    dict: the item; `partner_id` and `environment` only when the event has them.
    """
    item = {
        "request_id": {"S": event.request_id},
        "sequence": {"N": str(event.sequence)},
        "type": {"S": event.type},
        "recorded_at": {"S": event.recorded_at},
        "data": {"S": json.dumps(event.data, separators=(",", ":"), sort_keys=True)},
    }
    if event.partner_id:
        item["partner_id"] = {"S": event.partner_id}
    if event.environment:
        item["environment"] = {"S": event.environment}
    return item


def event_from_item(item: Mapping[str, Any]) -> LogEvent:
    """Read a `request_events` item (DynamoDB attribute-value form, as in a stream image).

    Parameters
    ----------
    item: the item, e.g. a stream record's `NewImage`.

    Returns
    -------
    LogEvent: the event.

    Raises
    ------
    KeyError: the item lacks a key attribute, the type, the time or the data.
    """
    return LogEvent(
        request_id=item["request_id"]["S"],
        sequence=int(item["sequence"]["N"]),
        type=item["type"]["S"],
        data=json.loads(item["data"]["S"]),
        recorded_at=item["recorded_at"]["S"],
        partner_id=item.get("partner_id", {}).get("S"),
        environment=item.get("environment", {}).get("S"),
    )
