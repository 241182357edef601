"""Errors of end-user notifications: contacts, and the two kinds of notification failure.

Permanent failures (bad input) are recorded on the request's timeline and never retried;
temporary ones are raised, so the stream item is retried and finally handed to the
on-failure queue.
"""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError, ValidationError


class ContactNotFoundError(PartnerGatewayError, LookupError):
    """No contact details are registered for a user."""

    def __init__(self, user_id: str):
        super().__init__(f"no contact details for user {user_id}")
        self.user_id = user_id


class InvalidContactError(ValidationError):
    """Contact details that can never become valid by retrying; `field` names what is wrong."""


class EmailInUseError(InvalidContactError):
    """The email address is registered for another user (SNS allows one subscription each)."""

    def __init__(self) -> None:
        super().__init__("this email address is registered for another user", field="email")


class ContactConflictError(PartnerGatewayError):
    """The contact changed while this write was prepared; nothing was written."""

    def __init__(self, user_id: str):
        super().__init__(f"contact details of user {user_id} changed meanwhile; retry")
        self.user_id = user_id


class NotificationError(PartnerGatewayError):
    """Base of failures while sending one notification on one channel."""

    def __init__(self, channel: str, reason: str, *, code: str = ""):
        super().__init__(f"{channel} notification failed: {reason}")
        self.channel = channel
        self.reason = reason
        self.code = code


class PermanentNotificationError(NotificationError):
    """A notification that no retry can deliver (invalid number, opted out at the carrier)."""


class TemporaryNotificationError(NotificationError):
    """A notification that may succeed later (throttling, service errors, timeouts)."""
