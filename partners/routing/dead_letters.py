"""A partner environment's failed deliveries: read its DLQ, redrive what the partner picks.

EventBridge dead-letters an undeliverable event to the target's SQS queue with the original
event as the body and `ERROR_CODE` / `ERROR_MESSAGE` message attributes. Redrive is receive +
re-put (addressed to this partner only, so no other partner gets it twice) + delete, which
works on AWS and on moto alike (moto lacks `StartMessageMoveTask`, and a move task could not
re-address the event anyway). The re-put event is a new EventBridge event with the same
detail, so its CloudEvent id (the request id: `partners.core.contracts`) is the one the
partner already got, and partners that de-duplicate on it do not process it twice.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from botocore.exceptions import ClientError

from partners.core.aws import error_code
from partners.core.constants import ADDRESSED_TO, partner_resource_name
from partners.core.contracts import put_events_entry
from partners.core.exceptions import ContractViolationError
from partners.onboarding import Actor, AuditLog, Permission, partner_target, require

logger = logging.getLogger(__name__)

# While the console reads a DLQ, what it received stays hidden from other readers this long;
# it makes every message visible again as soon as it has read them.
READ_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class FailedDelivery:
    """One dead-lettered event, as the partner sees it."""

    message_id: str
    failed_at: str
    error_code: str
    error_message: str
    event_id: str
    request_id: str
    request_type: str
    detail_type: str
    receive_count: int


@dataclass(frozen=True)
class RedriveResult:
    redriven: list[str]
    failed: dict[str, str]  # message id -> why it stayed in the queue


def _attribute(message: dict[str, Any], name: str) -> str:
    value = message.get("MessageAttributes", {}).get(name, {})
    return str(value.get("StringValue", ""))


def _failure(message: dict[str, Any]) -> FailedDelivery:
    try:
        event = json.loads(message.get("Body") or "{}")
    except ValueError:
        event = {}
    if not isinstance(event, dict):
        event = {}
    detail: dict[str, Any] = event["detail"] if isinstance(event.get("detail"), dict) else {}
    sent = message.get("Attributes", {}).get("SentTimestamp")
    failed_at = (datetime.fromtimestamp(int(sent) / 1000, timezone.utc)
                 .strftime("%Y-%m-%dT%H:%M:%SZ") if sent else "")
    return FailedDelivery(
        message_id=message["MessageId"],
        failed_at=failed_at,
        error_code=_attribute(message, "ERROR_CODE") or "unknown",
        error_message=_attribute(message, "ERROR_MESSAGE"),
        event_id=str(event.get("id", "")),
        request_id=str(detail.get("request_id", "")),
        request_type=str(detail.get("request_type", "")),
        detail_type=str(event.get("detail-type", "")),
        receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
    )


class DeadLetters:
    """The DLQ of one partner environment."""

    def __init__(self, sqs: Any, events: Any, *, bus_name: str, resource_prefix: str,
                 partner_id: str, environment: str):
        self._sqs = sqs
        self._events = events
        self.bus_name = bus_name
        self.partner_id = partner_id
        self.environment = environment
        self.queue_name = partner_resource_name(resource_prefix, partner_id, environment)
        self._url: str | None = None

    @property
    def queue_url(self) -> str | None:
        """The queue's URL, or None while the reconciler has not created it."""
        if self._url is None:
            try:
                self._url = self._sqs.get_queue_url(QueueName=self.queue_name)["QueueUrl"]
            except ClientError as error:
                if error_code(error) not in ("AWS.SimpleQueueService.NonExistentQueue",
                                             "QueueDoesNotExist"):
                    raise
        return self._url

    def depth(self) -> int | None:
        """Messages waiting (approximate, as SQS counts); None without a queue."""
        if self.queue_url is None:
            return None
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url,
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def _receive(self, limit: int, visibility: int) -> list[dict[str, Any]]:
        messages: dict[str, dict[str, Any]] = {}
        while len(messages) < limit:
            batch = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=min(10, limit - len(messages)),
                VisibilityTimeout=visibility, WaitTimeSeconds=0,
                AttributeNames=["All"], MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in batch if m["MessageId"] not in messages]
            if not fresh:
                break
            messages.update({m["MessageId"]: m for m in fresh})
        return list(messages.values())

    def _release(self, messages: Iterable[dict[str, Any]]) -> None:
        entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                   for i, m in enumerate(messages)]
        for start in range(0, len(entries), 10):
            self._sqs.change_message_visibility_batch(QueueUrl=self.queue_url,
                                                      Entries=entries[start:start + 10])

    def list(self, limit: int = 50) -> list[FailedDelivery]:
        """Up to `limit` failed deliveries, newest first; the messages stay in the queue."""
        if self.queue_url is None:
            return []
        messages = self._receive(limit, READ_VISIBILITY_SECONDS)
        self._release(messages)
        return sorted((_failure(m) for m in messages), key=lambda f: f.failed_at, reverse=True)

    def redrive(self, message_ids: Iterable[str] | None = None, *,
                limit: int = 100) -> RedriveResult:
        """Re-put the chosen messages' events (all when `message_ids` is None), addressed to
        this partner; delete each one only after the bus accepted it."""
        if self.queue_url is None:
            return RedriveResult([], {})
        wanted = None if message_ids is None else set(message_ids)
        messages = self._receive(limit, READ_VISIBILITY_SECONDS)
        chosen = [m for m in messages if wanted is None or m["MessageId"] in wanted]
        others = [m for m in messages if m not in chosen]
        redriven: list[str] = []
        failed: dict[str, str] = {}
        for message in chosen:
            reason = self._redrive_one(message)
            if reason is None:
                redriven.append(message["MessageId"])
            else:
                failed[message["MessageId"]] = reason
                others.append(message)
        if wanted is not None:
            for missing in wanted - {m["MessageId"] for m in messages}:
                failed[missing] = "no longer in the queue (redriven or expired already)"
        self._release(others)
        return RedriveResult(redriven, failed)

    def _redrive_one(self, message: dict[str, Any]) -> str | None:
        try:
            event = json.loads(message.get("Body") or "")
            detail = dict(event["detail"])
            detail_type = str(event["detail-type"])
        except (ValueError, KeyError, TypeError):
            return "the message is not an EventBridge event"
        detail[ADDRESSED_TO] = self.partner_id
        if detail.get("environment") != self.environment:
            return "the event belongs to another environment"
        try:
            entry = put_events_entry(self.bus_name, detail_type, detail)
        except (ContractViolationError, KeyError) as error:
            return f"the event no longer matches its contract: {error}"
        result = self._events.put_events(Entries=[entry])
        if result.get("FailedEntryCount"):
            failure = result["Entries"][0]
            return f"the bus refused it: {failure.get('ErrorCode')} {failure.get('ErrorMessage')}"
        self._sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        logger.info("redrove %s of %s/%s as %s", message["MessageId"], self.partner_id,
                    self.environment, result["Entries"][0].get("EventId"))
        return None


def redrive_deliveries(dead_letters: DeadLetters, audit: AuditLog, actor: Actor,
                       message_ids: Iterable[str] | None = None) -> RedriveResult:
    """Redrive a partner environment's failed deliveries and audit what happened.

    Parameters
    ----------
    dead_letters: the partner environment's DLQ.
    audit: the audit log.
    actor: who asked for the redrive.
    message_ids: the chosen messages, or None for all.

    Returns
    -------
    The redriven message ids and, for the others, why they stayed in the queue.

    Raises
    ------
    RoleRefusedError: the actor may not redrive this partner's deliveries; nothing moves.
    """
    require(actor, dead_letters.partner_id, Permission.DELIVERIES)
    result = dead_letters.redrive(message_ids)
    audit.record(actor=actor, action="deliveries.redriven",
                 target=partner_target(dead_letters.partner_id), after={
                     "environment": dead_letters.environment, "redriven": len(result.redriven),
                     "failed": len(result.failed)})
    return result
