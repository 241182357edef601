"""Errors of the request lifecycle: a base error and `<Thing><Problem>Error` subclasses.

The partner and portal APIs map each to one problem type (`handlers/problems.py`).
"""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError


class RequestError(PartnerGatewayError):
    """Base of the request lifecycle's errors."""


class RequestNotFoundError(RequestError, LookupError):
    """No such request, or none routed to the caller: the two are one error, so nothing leaks."""

    def __init__(self, request_id: str):
        super().__init__(f"request {request_id} not found")
        self.request_id = request_id


class IllegalStatusTransitionError(RequestError):
    """A status a partner may not post from its current status."""

    def __init__(self, request_id: str, current: str | None, target: str,
                 allowed: list[str]):
        super().__init__(
            f"request {request_id} cannot go from {current or 'pending'} to {target}"
        )
        self.request_id = request_id
        self.current = current
        self.target = target
        self.allowed = allowed


class RequestLogConflictError(RequestError):
    """Someone appended to the request's log since `expected_sequence`; nothing was written."""

    def __init__(self, request_id: str, expected_sequence: int):
        super().__init__(f"request {request_id} changed after sequence {expected_sequence}")
        self.request_id = request_id
        self.expected_sequence = expected_sequence


class RequestExistsError(RequestError):
    """A `request.created` for a request id that already has a log."""

    def __init__(self, request_id: str):
        super().__init__(f"request {request_id} already exists")
        self.request_id = request_id


class IdempotencyKeyReusedError(RequestError):
    """An `Idempotency-Key` already used with another body."""

    def __init__(self, key: str):
        super().__init__("this Idempotency-Key was used with a different request body")
        self.key = key


class IdempotencyInProgressError(RequestError):
    """The first request with this `Idempotency-Key` is still being processed."""

    def __init__(self, key: str):
        super().__init__("a request with this Idempotency-Key is still in progress; retry later")
        self.key = key


class ViewOutdatedError(RequestError):
    """A view item written in a former layout lacks what a read needs (rebuild the views)."""

    def __init__(self, request_id: str, attribute: str):
        super().__init__(f"the view of request {request_id} has no {attribute!r}: rebuild the "
                         "projections (python -m handlers.rebuild_projections)")
        self.request_id = request_id
        self.attribute = attribute
