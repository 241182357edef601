"""Errors of the user-facing side of Flow B: contacts, notifications and archive replay.

Two kinds of notification failure matter to the notifier (STYLE.md, "two kinds of failure"):
permanent ones (bad input: record it on the request's timeline, never retry) and temporary
ones (raise, so the stream item is retried, and finally handed to the on-failure queue).
"""

from __future__ import annotations

from partners.exceptions import PartnerGatewayError, ValidationError


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


class ReplayError(PartnerGatewayError):
    """Base of archive replay failures."""


class InvalidReplayError(ReplayError, ValidationError):
    """A replay request that cannot be started as given (window, rules, name, pattern)."""


class ReplayNotFoundError(ReplayError, LookupError):
    def __init__(self, name: str):
        super().__init__(f"replay {name} not found")
        self.name = name
