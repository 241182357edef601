"""Errors of the console's own boundaries (Cognito, AWS reads); each maps to a form error.

Domain errors come from `partners.exceptions`; these cover what only the console does.
"""

from __future__ import annotations


class ConsoleError(Exception):
    """Base of the console's errors; `field` names the form field to show it on, if any."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class IdentityError(ConsoleError):
    """Cognito refused a sign-up, confirmation, login or password reset; the message says why."""


class AccountLockedError(ConsoleError):
    """Too many failed logins for this account or address; `retry_after` is in seconds."""

    def __init__(self, retry_after: int):
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            f"Too many failed attempts. Try again in {minutes} minute{'s' if minutes > 1 else ''}.")
        self.retry_after = retry_after


class UnavailableError(ConsoleError):
    """A figure the console could not read right now (a missing queue, an AWS API gap)."""
