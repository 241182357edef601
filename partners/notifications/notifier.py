"""Tell the end user that a request's status changed: one SMS and/or one email per change.

The notifier reads the request log's stream: each `request.status_changed` item (which
carries the request's user and type) is one change to tell the user about. A notification is
a consequence of a recorded change, so a change is never lost between the log and the bus,
and no ledger is needed: the stream hands each log item over once, in order per request, and
the handler (`handlers.notifier`) reports the first item it could not finish, so Lambda
resumes from that item and never re-sends what came before it. For each change the notifier
looks up the user's contact details and preferences, renders the status's texts
(`partners.notifications.templates`) and sends:

- an SMS with SNS `Publish(PhoneNumber=...)`, type `Transactional`, with the stage's sender id;
- an email by publishing to the stage's notification topic with the message attribute
  `user_id`; the user's email subscription carries the matching filter policy
  (`partners.notifications.contacts`), so the message reaches that user's confirmed address only.

Opted-out users and users without contact details get nothing.

Failures come in two kinds: permanent ones (SNS refuses the phone number) are appended to the
request's log as `notification.failed` (the user's timeline shows it) and never retried;
temporary ones (throttling, 5xx, after the SDK's own retries) stop the change at that channel
and raise `TemporaryNotificationError`, so the item is retried. Channels go SMS first, then
email: a retry after the email failed sends the SMS again (at least once per channel: a
repeated text is better than a missing one, and SNS failing for one channel and not the
other is rare).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code
from partners.notifications.contact_details import Contact, mask_email, mask_phone
from partners.notifications.contacts import ContactStore
from partners.notifications.exceptions import (
    PermanentNotificationError,
    TemporaryNotificationError,
)
from partners.notifications.templates import Notification, render_notification
from partners.requests import NOTIFICATION_FAILED, REQUEST_STATUSES, STATUS_CHANGED, LogEvent

logger = logging.getLogger(__name__)

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
    OPTED_OUT = "opted_out"
    NO_CONTACT = "no_contact"
    NO_CHANNEL = "no_channel"
    UNKNOWN_REQUEST = "unknown_request"


@dataclass(frozen=True)
class NotificationResult:
    """What the notifier did with one status change."""

    change_id: str
    outcome: str
    request_id: str = ""
    sent: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"change_id": self.change_id, "outcome": self.outcome,
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


# --- the notifier ------------------------------------------------------------------------

@dataclass
class StatusEvent:
    """The parts of a recorded status change the notifier uses."""

    change_id: str  # `<request_id>#<sequence>`: the log item
    request_id: str
    environment: str
    partner_id: str
    partner_name: str
    status: str
    user_id: str | None = None
    request_type: str | None = None
    note: str | None = None
    reference: str | None = None


def status_change(event: LogEvent) -> StatusEvent:
    """Read a `request.status_changed` log event.

    Raises
    ------
    ValueError: another kind of log event, or one without a known status or a partner.
    """
    if event.type != STATUS_CHANGED:
        raise ValueError(f"not a {STATUS_CHANGED} log event: {event.type!r}")
    data = event.data
    for name in ("status", "partner_id", "environment"):
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"the status change has no {name}")
    if data["status"] not in REQUEST_STATUSES:
        raise ValueError(f"{data['status']!r} is not a request status")
    return StatusEvent(
        change_id=f"{event.request_id}#{event.sequence}", request_id=event.request_id,
        environment=data["environment"], partner_id=data["partner_id"],
        partner_name=data.get("partner_name") or data["partner_id"], status=data["status"],
        user_id=data.get("user_id"), request_type=data.get("request_type"),
        note=data.get("note"), reference=data.get("reference"))


@dataclass
class Notifier:
    """Send the notifications of recorded status changes.

    Parameters
    ----------
    contacts: the contact store.
    request_log: the request log (`partners.requests.log.RequestLog`): failures are appended to
        it, and it names the user and request type when a change does not carry them.
    topic_arn: the stage's notification topic.
    sender_id: the SMS sender id, or None.
    """

    contacts: ContactStore
    request_log: Any
    topic_arn: str
    sender_id: str | None = None
    boto3_session: boto3.session.Session | None = None
    brand: str = "Marketplace"
    _sns: Any = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sender_id = validate_sender_id(self.sender_id)
        self._sns = client("sns", self.boto3_session)

    def notify(self, change: StatusEvent) -> NotificationResult:
        """Notify the user of one recorded status change.

        Parameters
        ----------
        change: the change (`status_change` of a `request.status_changed` log event).

        Returns
        -------
        NotificationResult: what was sent, or why nothing was (opted out, no contact, ...).

        Raises
        ------
        TemporaryNotificationError: a channel failed for a reason a retry may fix; the
            channels after it were not tried.
        """
        base = NotificationResult(change.change_id, "", change.request_id)
        user_id, request_type = change.user_id, change.request_type
        if not user_id or not request_type:  # changes logged before they carried both
            try:
                state = self.request_log.state(change.request_id)
            except LookupError:
                logger.error("status change %s names an unknown request", change.change_id)
                return _with(base, Outcome.UNKNOWN_REQUEST)
            user_id, request_type = user_id or state.user_id, request_type or state.request_type
        contact = self.contacts.find(user_id)
        if contact is None:
            return _with(base, Outcome.NO_CONTACT)
        if contact.opted_out:
            return _with(base, Outcome.OPTED_OUT)
        channels = [c for c in CHANNELS if contact.wants(c)]
        if not channels:
            return _with(base, Outcome.NO_CHANNEL)
        notification = render_notification(
            change.status, request_id=change.request_id, request_type=request_type,
            partner_name=change.partner_name, locale=contact.locale, note=change.note,
            reference=change.reference, brand=self.brand)
        sent, failed = [], []
        for channel in channels:
            try:
                self._send(channel, contact, notification)
            except PermanentNotificationError as error:
                self._record_failure(change, contact, error)
                failed.append(channel)
            else:
                sent.append(channel)
        return NotificationResult(change.change_id, Outcome.SENT, change.request_id,
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

    def _record_failure(self, change: StatusEvent, contact: Contact,
                        error: PermanentNotificationError) -> None:
        destination = mask_phone(contact.phone) if error.channel == "sms" \
            else mask_email(contact.email)
        logger.warning("%s notification of %s failed for good: %s", error.channel,
                       change.request_id, error.code)
        self.request_log.append(change.request_id, NOTIFICATION_FAILED, {
            "channel": error.channel, "code": error.code, "reason": error.reason[:500],
            "destination": destination, "status": change.status, "change_id": change.change_id,
            "user_id": contact.user_id,
        }, environment=change.environment)


def _with(result: NotificationResult, outcome: str) -> NotificationResult:
    return NotificationResult(result.change_id, outcome, result.request_id)
