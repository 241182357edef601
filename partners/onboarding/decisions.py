"""An admin's decisions on a partner: check its endpoints, approve, reject, suspend, reinstate.

Each decision is a lifecycle move: the transition table says which are legal, the registry
writes it against the partner's version, the audit log keeps who decided and why, and the
reconciler is asked to add or remove the partner's routing.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from partners.core.clock import parse_iso
from partners.core.paging import MAX_PAGE_SIZE
from partners.onboarding.audit import Actor, partner_target
from partners.onboarding.endpoint_check import CheckStep, check_endpoint
from partners.onboarding.exceptions import IllegalTransitionError, PartnerNotReadyError
from partners.onboarding.lifecycle import check_transition
from partners.onboarding.models import DeliveryMode, Partner, PartnerStatus
from partners.onboarding.roles import Permission, require
from partners.onboarding.service import Onboarding, Saved

# How long a passing endpoint check stands for the one approval would run: time for an admin
# to check, read and decide, short enough that the endpoint is still the one checked.
CHECK_FRESH_FOR = timedelta(minutes=15)
CHECKED = "partner.endpoint_checked"


def _decide(onboarding: Onboarding, actor: Actor, partner: Partner, target: PartnerStatus,
            action: str, *, reason: str | None = None) -> Saved:
    require(actor, partner.id, Permission.DECIDE)
    updated = onboarding.registry.transition(partner, target, reason=reason)
    return onboarding.conclude(actor, updated, action, reason=reason,
                               before={"status": partner.status.value},
                               after={"status": updated.status.value})


def _allow_at_once(onboarding: Onboarding, saved: Saved) -> Saved:
    # The authorizer may hold a cached Deny ("awaiting approval", "suspended") for its TTL:
    # an approved partner's tokens work from the next call.
    return replace(saved, authorizers_flushed=onboarding.flush_authorizers())


def _passed_recently(onboarding: Onboarding, partner: Partner, environment: str) -> bool:
    """Whether the latest check of `environment` within `CHECK_FRESH_FOR` passed, on the
    settings as they are now (a save since then changed the partner's version)."""
    horizon = onboarding.clock() - CHECK_FRESH_FOR
    records = onboarding.audit.for_target(partner_target(partner.id), limit=MAX_PAGE_SIZE)
    for record in records.items:  # newest first
        if parse_iso(record.at) < horizon:
            return False
        after = record.after if isinstance(record.after, dict) else {}
        if record.action == CHECKED and after.get("environment") == environment:
            return bool(after.get("passed")) and after.get("version") == partner.version
    return False


def _check_failures(onboarding: Onboarding, actor: Actor, partner: Partner) -> list[str]:
    """One sentence per push environment whose endpoint check fails (run now unless one
    passed recently)."""
    failures = []
    for environment in partner.environments.values():
        if environment.mode is not DeliveryMode.PUSH or not environment.endpoint_url:
            continue
        if _passed_recently(onboarding, partner, environment.name):
            continue
        steps = check_partner_endpoint(onboarding, actor, partner, environment.name)
        failed = next((step for step in steps if not step.ok), None)
        if failed is not None:
            failures.append(f"{environment.name}: the endpoint check failed at "
                            f"'{failed.name}' ({failed.detail}).")
    return failures


def approve_partner(onboarding: Onboarding, actor: Actor, partner: Partner,
                    override_reason: str | None = None) -> Saved:
    """Approve a pending partner after checking its endpoints again.

    Its settings are validated again (DNS may have changed since the partner saved), and
    each push environment's endpoint check is run again unless one passed within
    `CHECK_FRESH_FOR` on the settings as they are. A failing check refuses the approval
    unless the admin overrides it with a reason; the `partner.approved` audit record then
    keeps `override_reason` and the failed checks. Nothing overrides refused settings (an
    endpoint resolving to an internal address stays refused).

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: the deciding admin.
    partner: the partner as the admin read it.
    override_reason: why to approve although an endpoint check fails (None: do not).

    Returns
    -------
    The approved partner, whether routing was asked to update and whether the partner API's
    authorizer cache was emptied (a cached "awaiting approval" deny ends at once).

    Raises
    ------
    PartnerNotReadyError: an environment cannot be routed as saved, or its endpoint check
        fails and there is no override reason; `problems` lists each.
    IllegalTransitionError: the partner is not pending approval.
    PartnerConflictError: the partner changed since the admin read it.
    RoleRefusedError: the actor is not an admin.
    """
    require(actor, partner.id, Permission.DECIDE)
    check_transition(partner.id, partner.status, PartnerStatus.APPROVED)
    problems = onboarding.environment_problems(partner)
    if problems:
        raise PartnerNotReadyError(partner.id, problems)
    failures = _check_failures(onboarding, actor, partner)
    override = (override_reason or "").strip()
    if not failures:
        saved = _decide(onboarding, actor, partner, PartnerStatus.APPROVED, "partner.approved")
        return _allow_at_once(onboarding, saved)
    if not override:
        raise PartnerNotReadyError(partner.id, [
            *failures, "Ask the partner to fix it, or approve anyway with an override reason."])
    # The override reason is the admins' note, not a status reason the partner reads.
    updated = onboarding.registry.transition(partner, PartnerStatus.APPROVED)
    saved = onboarding.conclude(actor, updated, "partner.approved", reason=override,
                                before={"status": partner.status.value},
                                after={"status": updated.status.value,
                                       "override_reason": override, "failed_checks": failures})
    return _allow_at_once(onboarding, saved)


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
    The suspended partner, whether routing was asked to update and whether the partner API's
    authorizer cache was emptied (its tokens are refused on their next call).

    Raises
    ------
    IllegalTransitionError: the partner is not approved.
    PartnerConflictError: the partner changed since the admin read it.
    """
    saved = _decide(onboarding, actor, partner, PartnerStatus.SUSPENDED, "partner.suspended",
                    reason=reason)
    # Its tokens are refused from now on: no cached Allow of the authorizer may outlive that.
    return replace(saved, authorizers_flushed=onboarding.flush_authorizers())


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
    saved = _decide(onboarding, actor, partner, PartnerStatus.APPROVED, "partner.reinstated")
    return _allow_at_once(onboarding, saved)


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
    RoleRefusedError: the actor is not an admin.
    """
    require(actor, partner.id, Permission.DECIDE)
    settings = partner.environment(environment)
    secret = None
    if settings.auth and settings.auth.secret_arn:
        secret = onboarding.credentials.value(settings.auth.secret_arn)
    steps = check_endpoint(settings, secret, allow_insecure=onboarding.allow_insecure,
                           resolver=onboarding.resolver)
    # `version`: approval trusts a recent pass only for the settings it checked.
    onboarding.record(actor, CHECKED, partner.id, after={
        "environment": settings.name, "passed": all(s.ok for s in steps),
        "version": partner.version, "steps": [{"name": s.name, "ok": s.ok} for s in steps]})
    return steps
