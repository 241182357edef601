"""Requests: the request log (events, append, status rules, idempotency), projections and
the views the APIs and the console read.

What other packages import from this concept; its modules are its own. `IdempotentCommands`
(Powertools' idempotency utility) is imported on first use (`partners.core.surface`): only the
portal's commands need it, and the other handlers' cold starts should not pay for it.
"""

from typing import TYPE_CHECKING

from partners.core.surface import lazy_exports

from partners.requests.events import (
    CREATED,
    DOCUMENT_ADDED,
    EVENT_TYPES,
    NOTIFICATION_FAILED,
    ROUTED,
    STATUS_CHANGED,
    STATUS_PUBLICATION,
    LogEvent,
    event_from_item,
)
from partners.requests.exceptions import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    IllegalStatusTransitionError,
    RequestExistsError,
    RequestLogConflictError,
    RequestNotFoundError,
    ViewOutdatedError,
)
from partners.requests.commands import command_id, payload_digest
from partners.requests.log import RequestLog, StatusChange
from partners.requests.projections import fold, project, rebuild
from partners.requests.status import REQUEST_STATUSES
from partners.requests.tables import (
    INBOX_QUEUE_INDEX,
    INBOX_ROUTED_INDEX,
    INBOX_STATUS_INDEX,
    REQUESTS_ENVIRONMENT_INDEX,
)
from partners.requests.views import RequestHistory, RequestSummary, RequestViews

__all__ = [
    "CREATED",
    "DOCUMENT_ADDED",
    "EVENT_TYPES",
    "INBOX_QUEUE_INDEX",
    "INBOX_ROUTED_INDEX",
    "INBOX_STATUS_INDEX",
    "IdempotencyInProgressError",
    "IdempotencyKeyReusedError",
    "IdempotentCommands",
    "IllegalStatusTransitionError",
    "LogEvent",
    "NOTIFICATION_FAILED",
    "REQUESTS_ENVIRONMENT_INDEX",
    "REQUEST_STATUSES",
    "ROUTED",
    "RequestExistsError",
    "RequestHistory",
    "RequestLog",
    "RequestLogConflictError",
    "RequestNotFoundError",
    "RequestSummary",
    "RequestViews",
    "STATUS_CHANGED",
    "STATUS_PUBLICATION",
    "StatusChange",
    "ViewOutdatedError",
    "command_id",
    "event_from_item",
    "fold",
    "payload_digest",
    "project",
    "rebuild",
]

if TYPE_CHECKING:
    from partners.requests.idempotency import IdempotentCommands

__getattr__ = lazy_exports(__name__, {"IdempotentCommands": "idempotency"})
