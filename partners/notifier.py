"""Tell the end user that a request's status changed: one SMS and/or one email per event.

The notifier receives `Request Status Changed` events from a rule on the bus. For each event
it looks up the user's contact details and preferences, renders the status's texts
(`partners.notifications`) and sends:

- an SMS with SNS `Publish(PhoneNumber=...)`, type `Transactional`, with the stage's sender id;
- an email by publishing to the stage's notification topic with the message attribute
  `user_id`; the user's email subscription carries the matching filter policy
  (`partners.contacts`), so the message reaches that user's confirmed address only.

Exactly once per status event, even when EventBridge delivers it twice: a ledger item in the
`idempotency` table is claimed with a conditional write before anything is sent, and records
each channel as it is done, so a retry after a partial failure sends only what is missing.
The ledger is keyed by the event's identity, a digest of its `detail` (request, partner,
environment, status, time, ...): a duplicate delivery shares it with the first (as it shares
the event id), and so does an archive replay of the event, whose event id EventBridge does
not promise to keep; so replaying a window to the notifier sends only what was never sent.
Opted-out users and users without contact details get nothing.

Failures come in two kinds: permanent ones (SNS refuses the phone number) are appended to the
request's log as `notification.failed` (the user's timeline shows it) and never retried;
temporary ones (throttling, 5xx) raise `TemporaryNotificationError`, so the invocation fails
and is retried, and then dead-lettered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Mapping

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.aws import client, error_code
from partners.clock import Clock, utc_now
from partners.constants import REQUEST_STATUS_CHANGED
from partners.contacts import Contact, ContactStore, mask_email, mask_phone
from partners.contracts import validate_detail
from partners.exceptions import ContractViolationError
from partners.notification_errors import (
    NotificationInProgressError,
    PermanentNotificationError,
    TemporaryNotificationError,
)
from partners.notifications import Notification, render_notification

logger = logging.getLogger(__name__)

NOTIFICATION_FAILED = "notification.failed"
SMS_TYPE = "Transactional"
SENDER_ID_PATTERN = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
# SNS error codes that no retry can fix: the number or the message is refused as such.
PERMANENT_ERROR_CODES = frozenset({
    "InvalidParameter", "InvalidParameterValue", "ParameterValueInvalid", "EndpointDisabled",
    "OptedOut", "ValidationException",
})
CHANNELS = ("sms", "email")


class Outcome:
    """What the notifier did with an event (`NotificationResult.outcome`)."""

    SENT = "sent"
    DUPLICATE = "duplicate"
    OPTED_OUT = "opted_out"
    NO_CONTACT = "no_contact"
    NO_CHANNEL = "no_channel"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_REQUEST = "unknown_request"


@dataclass(frozen=True)
class NotificationResult:
    """What the notifier did with one event."""

    event_id: str
    outcome: str
    request_id: str = ""
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "outcome": self.outcome,
                "request_id": self.request_id, "sent": list(self.sent),
                "failed": list(self.failed)}


def validate_sender_id(sender_id: str | None) -> str | None:
    """Check an SMS sender id: 1-11 letters and digits with at least one letter (or None).

    Raises
    ------
    ValueError: anything else (a configuration error: the handler refuses to start).
    """
    if sender_id in (None, ""):
        return None
    if not SENDER_ID_PATTERN.match(sender_id):
        raise ValueError(f"SMS sender id {sender_id!r} must be 1-11 letters or digits, "
                         "one letter at least")
    return sender_id


def classify_error(channel: str, error: Exception) -> Exception:
    """Map an SNS failure to a permanent or temporary notification error."""
    code = error_code(error)
    if code in PERMANENT_ERROR_CODES:
        message = str(getattr(error, "response", {}).get("Error", {}).get("Message", "")) or code
        return PermanentNotificationError(channel, message, code=code)
    return TemporaryNotificationError(channel, str(error) or type(error).__name__,
                                      code=code or type(error).__name__)


# --- the ledger --------------------------------------------------------------------------

@dataclass(frozen=True)
class LedgerEntry:
    """The notification record of one status event: which channels are done (sent or failed)."""

    key: str
    done: frozenset[str] = frozenset()


class NotificationLedger:
    """Per-event idempotency records in the `idempotency` table (key `id`, TTL `expiration`).

    `claim` takes the event for this invocation (a conditional update: no record, a released
    one, or an in-progress one whose holder died); `mark` records a finished channel;
    `complete` closes the event; `release` hands it back for a retry, keeping `done`.
    """

    key_prefix = "notification#"
    # EventBridge retries for up to 24 hours; remember events a day longer than that.
    remember = timedelta(hours=48)
    # An invocation that holds a claim longer than this has died (the Lambda timeout is less).
    lease = timedelta(minutes=2)

    def __init__(self, table_name: str, *, boto3_session: boto3.session.Session | None = None,
                 clock: Clock = utc_now):
        self.table_name = table_name
        self._dynamodb = client("dynamodb", boto3_session)
        self._clock = clock

    def _key(self, key: str) -> dict[str, Any]:
        return {"id": {"S": self.key_prefix + key}}

    def claim(self, key: str) -> LedgerEntry | None:
        """Take the status event `key` (`status_key`) for this invocation.

        Returns
        -------
        The entry (channels already done by earlier attempts), or None when the event is
        completely notified (a duplicate delivery).

        Raises
        ------
        NotificationInProgressError: another invocation holds it right now.
        """
        now = self._clock()
        try:
            item = self._dynamodb.update_item(
                TableName=self.table_name, Key=self._key(key),
                UpdateExpression="SET #status = :progress, lease_until = :lease, "
                                 "expiration = :expiration",
                ConditionExpression="attribute_not_exists(id) OR #status = :released "
                                    "OR (#status = :progress AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":progress": {"S": "INPROGRESS"}, ":released": {"S": "RELEASED"},
                    ":lease": {"N": str(int((now + self.lease).timestamp()))},
                    ":now": {"N": str(int(now.timestamp()))},
                    ":expiration": {"N": str(int((now + self.remember).timestamp()))},
                },
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            current = self._dynamodb.get_item(TableName=self.table_name, Key=self._key(key),
                                              ConsistentRead=True).get("Item", {})
            if current.get("status", {}).get("S") == "COMPLETED":
                return None
            raise NotificationInProgressError(key) from error
        return LedgerEntry(key, frozenset(item.get("done", {}).get("SS", [])))

    def mark(self, key: str, channel: str) -> None:
        """Record that `channel` is done for `key` (sent, or failed for good)."""
        self._dynamodb.update_item(
            TableName=self.table_name, Key=self._key(key),
            UpdateExpression="ADD done :channel",
            ExpressionAttributeValues={":channel": {"SS": [channel]}},
        )

    def complete(self, key: str, channel: str | None = None) -> None:
        """Close `key`: every later delivery is a duplicate.

        Parameters
        ----------
        key: the status event.
        channel: a channel just done, recorded with the same write (saves a `mark`).
        """
        if channel is None:
            self._set_status(key, "COMPLETED")
            return
        self._dynamodb.update_item(
            TableName=self.table_name, Key=self._key(key),
            UpdateExpression="SET #status = :status REMOVE lease_until ADD done :channel",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": "COMPLETED"},
                                       ":channel": {"SS": [channel]}},
        )

    def release(self, key: str) -> None:
        """Hand `key` back after a temporary failure, so the retry may claim it."""
        self._set_status(key, "RELEASED")

    def _set_status(self, key: str, status: str) -> None:
        self._dynamodb.update_item(
            TableName=self.table_name, Key=self._key(key),
            UpdateExpression="SET #status = :status REMOVE lease_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": {"S": status}},
        )


# --- the notifier ------------------------------------------------------------------------

@dataclass
class StatusEvent:
    """The parts of a `Request Status Changed` event the notifier uses."""

    event_id: str
    request_id: str
    environment: str
    request_type: str
    partner_id: str
    partner_name: str
    status: str
    user_id: str | None
    note: str | None = None
    reference: str | None = None
    replay_name: str | None = None
    key: str = ""


def status_key(detail: Mapping[str, Any]) -> str:
    """The identity of a status event: a digest of its detail (canonical JSON)."""
    canonical = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:40]


def parse_status_event(event: Mapping[str, Any]) -> StatusEvent:
    """Read an EventBridge `Request Status Changed` event.

    Raises
    ------
    ContractViolationError: the detail does not match the event's schema.
    ValueError: not a `Request Status Changed` event, or no event id.
    """
    if event.get("detail-type") != REQUEST_STATUS_CHANGED:
        raise ValueError(f"not a {REQUEST_STATUS_CHANGED} event: {event.get('detail-type')!r}")
    if not event.get("id"):
        raise ValueError("the event has no id")
    detail = event.get("detail") or {}
    validate_detail(REQUEST_STATUS_CHANGED, detail)
    return StatusEvent(
        event_id=str(event["id"]), request_id=detail["request_id"],
        environment=detail["environment"], request_type=detail["request_type"],
        partner_id=detail["partner_id"],
        partner_name=detail.get("partner_name") or detail["partner_id"],
        status=detail["status"], user_id=detail.get("user_id"), note=detail.get("note"),
        reference=detail.get("reference"), replay_name=event.get("replay-name"),
        key=status_key(detail),
    )


@dataclass
class Notifier:
    """Send the notifications of status events.

    Parameters
    ----------
    contacts: the contact store.
    ledger: the per-event idempotency ledger.
    request_log: the request log (`partners.requests.RequestLog`): failures are appended to
        it, and it names the user when an event does not.
    topic_arn: the stage's notification topic.
    sender_id: the SMS sender id, or None.
    """

    contacts: ContactStore
    ledger: NotificationLedger
    request_log: Any
    topic_arn: str
    sender_id: str | None = None
    boto3_session: boto3.session.Session | None = None
    brand: str = "Marketplace"
    _sns: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sender_id = validate_sender_id(self.sender_id)
        self._sns = client("sns", self.boto3_session)

    def notify(self, event: Mapping[str, Any]) -> NotificationResult:
        """Notify the user of one `Request Status Changed` event, at most once per channel.

        Parameters
        ----------
        event: the EventBridge event as the rule delivers it.

        Returns
        -------
        NotificationResult: what was sent, or why nothing was (duplicate, opted out, ...).

        Raises
        ------
        TemporaryNotificationError: a channel failed for a reason a retry may fix; channels
            that succeeded are not sent again on the retry.
        NotificationInProgressError: another invocation is notifying this event right now.
        """
        event_id = str(event.get("id", ""))
        try:
            status_event = parse_status_event(event)
        except (ContractViolationError, ValueError) as error:
            # A malformed event is never going to become valid: say so and drop it.
            logger.error("dropping an invalid status event %s: %s", event_id, error)
            return NotificationResult(event_id, Outcome.INVALID_EVENT)
        base = NotificationResult(event_id, "", status_event.request_id)
        user_id = status_event.user_id
        if not user_id:
            try:
                user_id = self.request_log.state(status_event.request_id).user_id
            except LookupError:
                logger.error("status event %s names an unknown request", event_id)
                return _with(base, Outcome.UNKNOWN_REQUEST)
        contact = self.contacts.find(user_id)
        if contact is None:
            return _with(base, Outcome.NO_CONTACT)
        if contact.opted_out:
            return _with(base, Outcome.OPTED_OUT)
        channels = [c for c in CHANNELS if contact.wants(c)]
        if not channels:
            return _with(base, Outcome.NO_CHANNEL)

        key = status_event.key
        entry = self.ledger.claim(key)
        if entry is None:
            return _with(base, Outcome.DUPLICATE)
        notification = render_notification(
            status_event.status, request_id=status_event.request_id,
            request_type=status_event.request_type, partner_name=status_event.partner_name,
            locale=contact.locale, note=status_event.note, reference=status_event.reference,
            brand=self.brand)
        sent, failed, temporary = [], [], []
        last_done: str | None = None
        for channel in channels:
            if channel in entry.done:
                continue
            try:
                self._send(channel, contact, notification)
            except PermanentNotificationError as error:
                self._record_failure(status_event, contact, error)
                failed.append(channel)
            except TemporaryNotificationError as error:
                temporary.append(error)
                continue
            else:
                sent.append(channel)
            if channel == channels[-1] and not temporary:
                last_done = channel  # recorded by `complete`, in the same write
            else:
                self.ledger.mark(key, channel)
        if temporary:
            self.ledger.release(key)
            raise temporary[0]
        self.ledger.complete(key, last_done)
        return NotificationResult(event_id, Outcome.SENT, status_event.request_id,
                                  tuple(sent), tuple(failed))

    def _send(self, channel: str, contact: Contact, notification: Notification) -> None:
        try:
            if channel == "sms":
                self._send_sms(contact, notification)
            else:
                self._send_email(contact, notification)
        except (ClientError, BotoCoreError) as error:
            raise classify_error(channel, error) from error

    def _send_sms(self, contact: Contact, notification: Notification) -> None:
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": SMS_TYPE}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String",
                                                  "StringValue": self.sender_id}
        self._sns.publish(PhoneNumber=contact.phone, Message=notification.sms,
                          MessageAttributes=attributes)
        logger.info("SMS sent to %s", mask_phone(contact.phone))

    def _send_email(self, contact: Contact, notification: Notification) -> None:
        self._sns.publish(
            TopicArn=self.topic_arn, Subject=notification.subject, Message=notification.body,
            MessageAttributes={"user_id": {"DataType": "String",
                                           "StringValue": contact.user_id}},
        )
        logger.info("email published for %s (%s)", contact.user_id, mask_email(contact.email))

    def _record_failure(self, event: StatusEvent, contact: Contact,
                        error: PermanentNotificationError) -> None:
        destination = mask_phone(contact.phone) if error.channel == "sms" \
            else mask_email(contact.email)
        logger.warning("%s notification of %s failed for good: %s", error.channel,
                       event.request_id, error.code)
        self.request_log.append(event.request_id, NOTIFICATION_FAILED, {
            "channel": error.channel, "code": error.code, "reason": error.reason[:500],
            "destination": destination, "status": event.status, "event_id": event.event_id,
            "user_id": contact.user_id,
        }, environment=event.environment)


def _with(result: NotificationResult, outcome: str) -> NotificationResult:
    return NotificationResult(result.event_id, outcome, result.request_id)
