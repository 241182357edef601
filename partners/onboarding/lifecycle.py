"""A partner's lifecycle as an explicit transition table.

    draft -> pending_approval -> approved <-> suspended
    pending_approval -> rejected -> draft
    any -> deleted
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from partners.onboarding.exceptions import IllegalTransitionError
from partners.onboarding.models import PartnerStatus as S

TRANSITIONS: MappingProxyType[S, frozenset[S]] = MappingProxyType({
    S.DRAFT: frozenset({S.PENDING_APPROVAL, S.DELETED}),
    S.PENDING_APPROVAL: frozenset({S.APPROVED, S.REJECTED, S.DELETED}),
    S.APPROVED: frozenset({S.SUSPENDED, S.DELETED}),
    S.SUSPENDED: frozenset({S.APPROVED, S.DELETED}),
    S.REJECTED: frozenset({S.DRAFT, S.DELETED}),
    S.DELETED: frozenset(),
})

# Statuses whose environments get routing from the reconciler.
ROUTED_STATUSES = frozenset({S.APPROVED})
# Statuses in which the partner may still edit its environments before (re)submitting.
EDITABLE_STATUSES = frozenset({S.DRAFT, S.REJECTED, S.APPROVED, S.SUSPENDED, S.PENDING_APPROVAL})
# How a partner gets to `pending_approval` when it submits: from draft in one move; a rejected
# partner goes back to draft first, so a resubmission is two moves the table allows. Every
# other status cannot submit (a pending one is already waiting; the table's other routes to
# pending, through rejected, are an admin's decision, not the partner's).
SUBMISSION_PATHS: Mapping[S, tuple[S, ...]] = MappingProxyType({
    S.DRAFT: (S.PENDING_APPROVAL,),
    S.REJECTED: (S.DRAFT, S.PENDING_APPROVAL),
})


def allowed_transitions(current: S) -> frozenset[S]:
    """Statuses reachable from `current` in one step."""
    return TRANSITIONS[current]


def check_transition(partner_id: str, current: S, target: S) -> None:
    """Raise `IllegalTransitionError` (naming both states) unless `current -> target` is legal.

    Parameters
    ----------
    partner_id: the partner, for the error's context.
    current, target: the statuses of the move.

    Raises
    ------
    IllegalTransitionError: the table has no such move.
    """
    if target not in TRANSITIONS[current]:
        raise IllegalTransitionError(partner_id, current.value, target.value)


def submission_path(partner_id: str, current: S) -> tuple[S, ...]:
    """The statuses a partner in `current` moves through, in order, when it submits.

    Parameters
    ----------
    partner_id: the partner, for the error's context.
    current: its status now.

    Returns
    -------
    The moves, ending with `pending_approval`.

    Raises
    ------
    IllegalTransitionError: a partner in `current` cannot submit.
    """
    try:
        return SUBMISSION_PATHS[current]
    except KeyError:
        raise IllegalTransitionError(partner_id, current.value,
                                     S.PENDING_APPROVAL.value) from None
