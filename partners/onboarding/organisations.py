"""Use cases of a partner organisation: create it, edit its profile, submit it for approval."""

from __future__ import annotations

from dataclasses import replace

from partners.onboarding.audit import Actor
from partners.onboarding.exceptions import PartnerNotReadyError
from partners.onboarding.lifecycle import submission_path
from partners.onboarding.models import Partner
from partners.onboarding.roles import Permission, require
from partners.onboarding.service import Onboarding, Saved
from partners.onboarding.validation import validate_display_name, validate_email

NO_ENVIRONMENT = "Configure at least one environment before you submit."


def create_organisation(onboarding: Onboarding, actor: Actor, *, owner: str, display_name: str,
                        contact_email: str, slug: str, owner_email: str | None = None) -> Partner:
    """Create a draft organisation with `owner` as its first member (an owner), and audit it.

    A draft has no routing, so the reconciler is not triggered.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    owner: the user id that becomes the first member.
    owner_email: how the members page names them (default: the contact email).
    display_name, contact_email, slug: the organisation's identity.

    Returns
    -------
    The new draft partner.

    Raises
    ------
    ValidationError: a bad name, email or slug (`SlugTakenError` for a taken slug), or an
        owner who already belongs to an organisation (field `owner`).
    """
    partner = onboarding.registry.create_partner(
        display_name=display_name, contact_email=contact_email, slug=slug, owner=owner,
        owner_email=owner_email)
    onboarding.record(actor, "partner.created", partner.id, after=partner.to_dict())
    return partner


def update_profile(onboarding: Onboarding, actor: Actor, partner: Partner, *, display_name: str,
                   contact_email: str) -> Saved:
    """Change the organisation's display name and contact email.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation as the caller read it (its version guards the save).
    display_name, contact_email: the new values.

    Returns
    -------
    The saved partner and whether routing was asked to update.

    Raises
    ------
    ValidationError: a bad name or email (the field is named).
    PartnerConflictError: someone saved the organisation since `partner` was read.
    RoleRefusedError: the actor is not an owner of the organisation.
    """
    require(actor, partner.id, Permission.PROFILE)
    updated = replace(partner, display_name=validate_display_name(display_name),
                      contact_email=validate_email(contact_email))
    return onboarding.commit(
        actor, updated, "partner.profile_updated",
        before={"display_name": partner.display_name, "contact_email": partner.contact_email},
        after={"display_name": updated.display_name, "contact_email": updated.contact_email})


def submit_for_approval(onboarding: Onboarding, actor: Actor, partner: Partner) -> Saved:
    """Submit a draft (or rejected) organisation for an admin's approval.

    The lifecycle says which statuses may submit and through which moves; the environments
    must be routable as saved.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation as the caller read it.

    Returns
    -------
    The pending partner and whether routing was asked to update.

    Raises
    ------
    IllegalTransitionError: the organisation's status cannot submit.
    PartnerNotReadyError: no environment yet, or environments that cannot be routed;
        `problems` lists each.
    PartnerConflictError: someone saved the organisation since `partner` was read.
    RoleRefusedError: the actor is not an owner of the organisation.
    """
    require(actor, partner.id, Permission.SUBMIT)
    path = submission_path(partner.id, partner.status)
    problems = (onboarding.environment_problems(partner) if partner.environments
                else [NO_ENVIRONMENT])
    if problems:
        raise PartnerNotReadyError(partner.id, problems)
    current = partner
    for status in path:
        current = onboarding.registry.transition(current, status)
    return onboarding.conclude(actor, current, "partner.submitted",
                               before={"status": partner.status.value},
                               after={"status": current.status.value})
