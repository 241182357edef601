"""EventBridge event bus log records, read exactly in AWS's schema.

Each record is one step EventBridge took with one event ("Amazon EventBridge event bus log
schema", https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-logs-schema.html):
top-level `resource_arn`, `request_id` (the PutEvents request, not a marketplace request),
`event_id`, `invocation_id`, `message_timestamp_ms`, `message_type`, `log_level`, `details`
and, when the step failed, `error` (`error_message`, `aws_service`, and if available
`http_status_code` and `request_id`).

What `details` holds depends on the message type (same page):
- RULE_MATCH: `rule_arn`, `target_arns`, `invocation_ids`;
- INVOCATION_START, INVOCATION_ATTEMPT_START, INVOCATION_THROTTLE_START: `rule_arn`,
  `role_arn`, `target_arn`, `attempt_count`, `target_input`, `target_properties`;
- INVOCATION_ATTEMPT_SUCCESS / _RETRYABLE_FAILURE / _PERMANENT_FAILURE / _THROTTLE: `rule_arn`,
  `role_arn`, `target_arn`, `attempt_type`, `attempt_count`, `invocation_status`,
  `target_duration_ms`, `target_response_body`;
- INVOCATION_SUCCESS, INVOCATION_FAILURE, INVOCATION_DLQ: `rule_arn`, `role_arn`, `target_arn`,
  `target_input`, `target_properties`, `total_attempts`, `final_invocation_status`, the
  ingestion latencies, `target_duration_ms`, `target_response_body`.
`target_input` (the transformed input: the CloudEvent as sent) is there only with the bus's
`IncludeDetail` FULL ("Configuring logs for event buses",
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html), and every
step is logged only at level TRACE.

`parse_record` keeps what the delivery log needs and refuses (`MalformedRecordError`) what it
cannot read; the indexer counts those and goes on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any, Mapping

from partners.deliveries.exceptions import MalformedRecordError

MAX_ERROR_CHARS = 500  # what a partner sees of an error message


class MessageType(StrEnum):
    """The steps of the schema page's `message_type` that the delivery log reads or skips."""

    EVENT_RECEIPT = "EVENT_RECEIPT"
    EVENT_INGEST_SUCCESS = "EVENT_INGEST_SUCCESS"
    EVENT_INGEST_FAILURE = "EVENT_INGEST_FAILURE"
    RULE_MATCH_START = "RULE_MATCH_START"
    RULE_MATCH = "RULE_MATCH"
    NO_STANDARD_RULES_MATCHED = "NO_STANDARD_RULES_MATCHED"
    INVOCATION_START = "INVOCATION_START"
    INVOCATION_THROTTLE_START = "INVOCATION_THROTTLE_START"
    INVOCATION_ATTEMPT_START = "INVOCATION_ATTEMPT_START"
    INVOCATION_ATTEMPT_SUCCESS = "INVOCATION_ATTEMPT_SUCCESS"
    INVOCATION_ATTEMPT_RETRYABLE_FAILURE = "INVOCATION_ATTEMPT_RETRYABLE_FAILURE"
    INVOCATION_ATTEMPT_PERMANENT_FAILURE = "INVOCATION_ATTEMPT_PERMANENT_FAILURE"
    INVOCATION_ATTEMPT_THROTTLE = "INVOCATION_ATTEMPT_THROTTLE"
    INVOCATION_DLQ = "INVOCATION_DLQ"
    INVOCATION_SUCCESS = "INVOCATION_SUCCESS"
    INVOCATION_FAILURE = "INVOCATION_FAILURE"


# One attempt's result each (the schema's attempt-detail group).
ATTEMPT_RESULTS = frozenset({
    MessageType.INVOCATION_ATTEMPT_SUCCESS, MessageType.INVOCATION_ATTEMPT_RETRYABLE_FAILURE,
    MessageType.INVOCATION_ATTEMPT_PERMANENT_FAILURE, MessageType.INVOCATION_ATTEMPT_THROTTLE})
# How an invocation ended (the schema's final-detail group).
TERMINALS = frozenset({MessageType.INVOCATION_SUCCESS, MessageType.INVOCATION_FAILURE,
                       MessageType.INVOCATION_DLQ})
# Records about one target invocation: they name `rule_arn` and `target_arn`.
INVOCATION_TYPES = ATTEMPT_RESULTS | TERMINALS | {
    MessageType.INVOCATION_START, MessageType.INVOCATION_THROTTLE_START,
    MessageType.INVOCATION_ATTEMPT_START}
LOG_LEVELS = frozenset({"TRACE", "INFO", "ERROR"})


@dataclass(frozen=True)
class BusLogRecord:
    """One event bus log record, reduced to what the delivery log reads.

    `rule_arn`, `target_arn` and `attempt_count` are None for records that have none
    (EVENT_RECEIPT, RULE_MATCH); `target_input` is the raw string AWS logged (FULL detail).
    """

    resource_arn: str
    event_id: str
    invocation_id: str | None
    timestamp_ms: int
    message_type: MessageType
    log_level: str
    rule_arn: str | None = None
    target_arn: str | None = None
    attempt_count: int | None = None
    duration_ms: int | None = None
    invocation_status: str | None = None
    target_input: str | None = None
    http_status: int | None = None
    error_message: str | None = None

    @property
    def at(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, timezone.utc)

    @property
    def is_invocation(self) -> bool:
        return self.message_type in INVOCATION_TYPES


def _text(value: Any, name: str, *, required: bool = True) -> str | None:
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value:
        raise MalformedRecordError(f"{name} must be a non-empty string")
    return value


def _integer(value: Any, name: str) -> int | None:
    """An int, or a string of digits (the schema's sample quotes `message_timestamp_ms`)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedRecordError(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    raise MalformedRecordError(f"{name} must be an integer")


def http_status_of(value: Any) -> int | None:
    """An HTTP status (100-599), or None for what is not one."""
    try:
        status = _integer(value, "status")
    except MalformedRecordError:
        return None
    return status if status is not None and 100 <= status <= 599 else None


def parse_record(message: str | Mapping[str, Any]) -> BusLogRecord:
    """Read one event bus log record (a CloudWatch Logs event's `message`, or its JSON).

    Parameters
    ----------
    message: the record as JSON text, or already parsed.

    Returns
    -------
    The record.

    Raises
    ------
    MalformedRecordError: not JSON, not an object, an unknown `message_type`, or a field of
        the wrong type (the indexer counts and skips it).
    """
    if isinstance(message, (str, bytes)):
        try:
            data = json.loads(message)
        except ValueError:
            raise MalformedRecordError("not JSON") from None
    else:
        data = message
    if not isinstance(data, Mapping):
        raise MalformedRecordError("not a JSON object")
    try:
        message_type = MessageType(str(data.get("message_type")))
    except ValueError:
        raise MalformedRecordError(f"unknown message_type {str(data.get('message_type'))[:60]!r}"
                                   ) from None
    details = data.get("details") or {}
    error = data.get("error") or {}
    if not isinstance(details, Mapping) or not isinstance(error, Mapping):
        raise MalformedRecordError("details and error must be objects")
    timestamp = _integer(data.get("message_timestamp_ms"), "message_timestamp_ms")
    if timestamp is None or timestamp < 0:
        raise MalformedRecordError("message_timestamp_ms is required")
    level = str(data.get("log_level") or "")
    if level not in LOG_LEVELS:
        raise MalformedRecordError(f"unknown log_level {level[:20]!r}")
    invocation = message_type in INVOCATION_TYPES
    target_input = details.get("target_input")
    if target_input is not None and not isinstance(target_input, str):
        raise MalformedRecordError("details.target_input must be a string")
    error_message = error.get("error_message")
    return BusLogRecord(
        resource_arn=_text(data.get("resource_arn"), "resource_arn") or "",
        event_id=_text(data.get("event_id"), "event_id") or "",
        invocation_id=_text(data.get("invocation_id"), "invocation_id", required=invocation),
        timestamp_ms=timestamp,
        message_type=message_type,
        log_level=level,
        rule_arn=_text(details.get("rule_arn"), "details.rule_arn", required=invocation),
        target_arn=_text(details.get("target_arn"), "details.target_arn", required=invocation),
        attempt_count=_integer(details.get("attempt_count"), "details.attempt_count"),
        duration_ms=_integer(details.get("target_duration_ms"), "details.target_duration_ms"),
        invocation_status=str(details["invocation_status"])[:40]
        if details.get("invocation_status") is not None else None,
        target_input=target_input,
        http_status=http_status_of(error.get("http_status_code")),
        error_message=str(error_message)[:MAX_ERROR_CHARS] if error_message else None,
    )


def arn_resource_name(arn: str | None, resource_type: str) -> str | None:
    """The name in an EventBridge ARN of `resource_type` (`rule`, `api-destination`).

    Rules on a custom bus are `rule/<bus>/<name>`, on the default bus `rule/<name>`; API
    destinations are `api-destination/<name>/<uuid>`
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html).

    Returns
    -------
    The name, or None for an ARN of another type.
    """
    if not arn or not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[2] != "events":
        return None
    kind, _, rest = parts[5].partition("/")
    if kind != resource_type or not rest:
        return None
    segments = rest.split("/")
    if resource_type == "rule":
        return segments[-1] or None
    return segments[0] or None
