"""An admin's decisions on a partner: check its endpoints, approve, reject, suspend, reinstate.

Each decision is a lifecycle move: the transition table says which are legal, the registry
writes it against the partner's version, the audit log keeps who decided and why, and the
reconciler is asked to add or remove the partner's routing.
"""

from __future__ import annotations

from partners.onboarding.audit import Actor
from partners.onboarding.endpoint_check import CheckStep, check_endpoint
from partners.onboarding.exceptions import IllegalTransitionError, PartnerNotReadyError
from partners.onboarding.models import Partner, PartnerStatus
from partners.onboarding.service import Onboarding, Saved


def _decide(onboarding: Onboarding, actor: Actor, partner: Partner, target: PartnerStatus,
            action: str, *, reason: str | None = None) -> Saved:
    updated = onboarding.registry.transition(partner, target, reason=reason)
    return onboarding.conclude(actor, updated, action, reason=reason,
                               before={"status": partner.status.value},
                               after={"status": updated.status.value})


def approve_partner(onboarding: Onboarding, actor: Actor, partner: Partner) -> Saved:
    """Approve a pending partner after checking its endpoints again.

    The check is repeated at approval because DNS may have changed since the partner saved.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the deciding admin.
    partner: the partner as the admin read it.

    Returns
    -------
    The approved partner and whether routing was asked to update.

    Raises
    ------
    PartnerNotReadyError: an environment cannot be routed as saved; `problems` lists each.
    IllegalTransitionError: the partner is not pending approval.
    PartnerConflictError: the partner changed since the admin read it.
    """
    problems = onboarding.environment_problems(partner)
    if problems:
        raise PartnerNotReadyError(partner.id, problems)
    return _decide(onboarding, actor, partner, PartnerStatus.APPROVED, "partner.approved")


def reject_partner(onboarding: Onboarding, actor: Actor, partner: Partner, reason: str) -> Saved:
    """Reject a pending partner with a reason the partner reads.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the deciding admin.
    partner: the partner as the admin read it.
    reason: why, shown to the partner.

    Returns
    -------
    The rejected partner and whether routing was asked to update.

    Raises
    ------
    IllegalTransitionError: the partner is not pending approval.
    PartnerConflictError: the partner changed since the admin read it.
    """
    return _decide(onboarding, actor, partner, PartnerStatus.REJECTED, "partner.rejected",
                   reason=reason)


def suspend_partner(onboarding: Onboarding, actor: Actor, partner: Partner, reason: str) -> Saved:
    """Suspend an approved partner with a reason; the reconciler removes its routing.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the deciding admin.
    partner: the partner as the admin read it.
    reason: why, shown to the partner.

    Returns
    -------
    The suspended partner and whether routing was asked to update.

    Raises
    ------
    IllegalTransitionError: the partner is not approved.
    PartnerConflictError: the partner changed since the admin read it.
    """
    return _decide(onboarding, actor, partner, PartnerStatus.SUSPENDED, "partner.suspended",
                   reason=reason)


def reinstate_partner(onboarding: Onboarding, actor: Actor, partner: Partner) -> Saved:
    """Approve a suspended partner again; the reconciler restores its routing.

    Only a suspended partner is reinstated: approving a pending one is `approve_partner`,
    which checks its endpoints first.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the deciding admin.
    partner: the partner as the admin read it.

    Returns
    -------
    The approved partner and whether routing was asked to update.

    Raises
    ------
    IllegalTransitionError: the partner is not suspended.
    PartnerConflictError: the partner changed since the admin read it.
    """
    if partner.status is not PartnerStatus.SUSPENDED:
        raise IllegalTransitionError(partner.id, partner.status.value,
                                     PartnerStatus.APPROVED.value)
    return _decide(onboarding, actor, partner, PartnerStatus.APPROVED, "partner.reinstated")


def check_partner_endpoint(onboarding: Onboarding, actor: Actor, partner: Partner,
                           environment: str) -> list[CheckStep]:
    """Run the endpoint check on one push environment with its stored credential; audit it.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the admin who runs the check.
    partner: the partner.
    environment: the name of one of its configured environments.

    Returns
    -------
    Each step of the check, in order, up to the first that failed.

    Raises
    ------
    EnvironmentNotFoundError: the partner has no such environment.
    """
    settings = partner.environment(environment)
    secret = None
    if settings.auth and settings.auth.secret_arn:
        secret = onboarding.credentials.value(settings.auth.secret_arn)
    steps = check_endpoint(settings, secret, allow_insecure=onboarding.allow_insecure,
                           resolver=onboarding.resolver)
    onboarding.record(actor, "partner.endpoint_checked", partner.id, after={
        "environment": settings.name, "passed": all(s.ok for s in steps),
        "steps": [{"name": s.name, "ok": s.ok} for s in steps]})
    return steps
