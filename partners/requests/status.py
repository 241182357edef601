"""A request's status at one partner, as an explicit transition table.

Each partner environment a request was routed to keeps its own status; `None` means routed
and not yet acknowledged (listed as `pending`).

    (pending) -> received | in_progress | accepted | declined | failed
    received  -> in_progress | accepted | declined | failed
    accepted  -> in_progress | fulfilled | failed
    in_progress -> accepted | declined | fulfilled | failed

`in_progress` is "working on it": before a decision (then accepted or declined) or after
acceptance (then fulfilled or failed), so the two may follow each other either way.
    declined, fulfilled, failed: final
"""

from __future__ import annotations

from types import MappingProxyType

from partners.core.contracts import REQUEST_STATUSES
from partners.requests.exceptions import IllegalStatusTransitionError

PENDING = "pending"
RECEIVED, IN_PROGRESS, ACCEPTED, DECLINED, FULFILLED, FAILED = REQUEST_STATUSES
FINAL_STATUSES = frozenset({DECLINED, FULFILLED, FAILED})

STATUS_TRANSITIONS: MappingProxyType[str | None, frozenset[str]] = MappingProxyType({
    None: frozenset({RECEIVED, IN_PROGRESS, ACCEPTED, DECLINED, FAILED}),
    RECEIVED: frozenset({IN_PROGRESS, ACCEPTED, DECLINED, FAILED}),
    ACCEPTED: frozenset({IN_PROGRESS, FULFILLED, FAILED}),
    IN_PROGRESS: frozenset({ACCEPTED, DECLINED, FULFILLED, FAILED}),
    DECLINED: frozenset(),
    FULFILLED: frozenset(),
    FAILED: frozenset(),
})

# Statuses a partner can list by (`GET /v1/requests?status=`): every status and `pending`.
LISTABLE_STATUSES = (PENDING, *REQUEST_STATUSES)


def allowed_statuses(current: str | None) -> frozenset[str]:
    """Statuses a partner may post next when its status is `current` (None: pending)."""
    return STATUS_TRANSITIONS[current]


def check_status_transition(request_id: str, current: str | None, target: str) -> None:
    """Raise unless a partner at `current` may move the request to `target`.

    Parameters
    ----------
    request_id: the request, for the error's context.
    current: the partner's status now (None: routed, not yet acknowledged).
    target: the posted status.

    Raises
    ------
    IllegalStatusTransitionError: the table has no such move (final statuses have none).
    """
    if target not in STATUS_TRANSITIONS[current]:
        raise IllegalStatusTransitionError(request_id, current, target,
                                           sorted(STATUS_TRANSITIONS[current]))


def queue_rank(status: str | None) -> int:
    """Where a request sorts in a partner's inbox: pending 0, open 1, final 2."""
    if status is None:
        return 0
    return 2 if status in FINAL_STATUSES else 1
