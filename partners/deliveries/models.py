"""A delivery: one CloudEvent for one partner environment, with every attempt EventBridge made.

A delivery is identified by (partner environment, CloudEvent id), not by EventBridge event id:
a resend or a redrive is a new event on the bus carrying the same CloudEvent id, and its
attempts belong to the same delivery (`resent` counts them).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import StrEnum
from typing import Any

from partners.core.clock import isoformat

DELIVERY_ID_PREFIX = "dlv_"


class Outcome(StrEnum):
    """Where a delivery stands: the outcome of its latest send."""

    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"


class AttemptOutcome(StrEnum):
    """One attempt's result, from its INVOCATION_ATTEMPT_* record."""

    SUCCESS = "success"
    RETRYABLE_FAILURE = "retryable_failure"
    PERMANENT_FAILURE = "permanent_failure"
    THROTTLED = "throttled"


@dataclass(frozen=True)
class Attempt:
    """One call of the partner's endpoint (or one throttled try)."""

    at: datetime
    outcome: AttemptOutcome
    http_status: int | None = None
    error: str | None = None
    duration_ms: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"at": iso_ms(self.at), "outcome": self.outcome.value,
                "http_status": self.http_status, "error": self.error,
                "duration_ms": self.duration_ms}


@dataclass(frozen=True)
class Fact:
    """What one log record says about a delivery, reduced for folding and storage.

    `key` names the record's step (event, invocation, type, attempt): a record delivered twice
    is the same fact, so folding it again changes nothing.
    """

    key: str
    event_id: str
    message_type: str
    timestamp_ms: int
    attempt_count: int | None = None
    http_status: int | None = None
    error: str | None = None
    duration_ms: int | None = None

    def to_item(self) -> list[Any]:
        return [self.event_id, self.message_type, self.timestamp_ms, self.attempt_count,
                self.http_status, self.error, self.duration_ms]

    @classmethod
    def from_item(cls, key: str, item: list[Any]) -> Fact:
        event_id, message_type, timestamp_ms, attempt_count, status, error, duration = item
        return cls(key, event_id, message_type, timestamp_ms, attempt_count, status, error,
                   duration)


@dataclass(frozen=True)
class Delivery:
    """One CloudEvent for one partner environment and everything EventBridge did with it."""

    id: str
    partner_id: str
    environment: str
    cloudevent_id: str
    request_id: str | None
    request_type: str | None
    created_at: datetime
    outcome: Outcome
    resent: int = 0
    attempts: tuple[Attempt, ...] = ()
    payload: dict[str, Any] | None = None
    event_ids: tuple[str, ...] = field(default=())

    def to_json(self, *, with_payload: bool = False) -> dict[str, Any]:
        """The partner API's (and the console's) view of the delivery.

        Parameters
        ----------
        with_payload: add `payload`, the CloudEvent as sent (None when it was not logged).

        Returns
        -------
        `id`, `cloudevent_id`, `request_id`, `request_type`, `created_at`, `outcome`,
        `resent`, `attempts` (oldest first) and, when asked, `payload`.
        """
        body: dict[str, Any] = {
            "id": self.id, "cloudevent_id": self.cloudevent_id, "request_id": self.request_id,
            "request_type": self.request_type, "created_at": iso_ms(self.created_at),
            "outcome": self.outcome.value, "resent": self.resent,
            "attempts": [attempt.to_json() for attempt in self.attempts],
        }
        if with_payload:
            body["payload"] = self.payload
        return body


def delivery_id(partner_id: str, environment: str, cloudevent_id: str) -> str:
    """The stable id of the delivery of `cloudevent_id` to one partner environment.

    Parameters
    ----------
    partner_id, environment: the partner environment.
    cloudevent_id: the CloudEvent `id` the partner receives (kept by resends and redrives).

    Returns
    -------
    `dlv_` and 24 hex digits of a SHA-256 over the three: the same inputs always give the
    same id, so an indexer that sees a record twice updates one delivery.
    """
    digest = hashlib.sha256(f"{partner_id}\x1f{environment}\x1f{cloudevent_id}".encode())
    return DELIVERY_ID_PREFIX + digest.hexdigest()[:24]


def iso_ms(moment: datetime) -> str:
    """UTC ISO 8601 with milliseconds when there are any (`2026-11-23T10:00:00.250Z`)."""
    moment = moment.astimezone(timezone.utc)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return isoformat(moment)


def from_ms(timestamp_ms: int) -> datetime:
    return datetime.fromtimestamp(timestamp_ms / 1000, timezone.utc)
