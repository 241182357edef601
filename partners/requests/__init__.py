"""Requests: the request log (events, append, status rules, idempotency), projections and
the views the APIs and the console read.

What other packages import from this concept; its modules are its own.
"""

from partners.requests.exceptions import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    IllegalStatusTransitionError,
    RequestExistsError,
    RequestLogConflictError,
    RequestNotFoundError,
    ViewOutdatedError,
)
from partners.requests.history import RequestHistory, RequestSummary
from partners.requests.idempotency import IdempotentCommands, command_id, payload_digest
from partners.requests.log import (
    NOTIFICATION_FAILED,
    STATUS_CHANGED,
    RequestLog,
    StatusChange,
    event_from_item,
)
from partners.requests.projections import LogEvent, fold, project, rebuild
from partners.requests.status import REQUEST_STATUSES
from partners.requests.views import RequestViews

__all__ = [
    "IdempotencyInProgressError",
    "IdempotencyKeyReusedError",
    "IdempotentCommands",
    "IllegalStatusTransitionError",
    "LogEvent",
    "NOTIFICATION_FAILED",
    "REQUEST_STATUSES",
    "RequestExistsError",
    "RequestHistory",
    "RequestLog",
    "RequestLogConflictError",
    "RequestNotFoundError",
    "RequestSummary",
    "RequestViews",
    "STATUS_CHANGED",
    "StatusChange",
    "ViewOutdatedError",
    "command_id",
    "event_from_item",
    "fold",
    "payload_digest",
    "project",
    "rebuild",
]
