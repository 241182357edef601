"""Use cases of a partner environment: its delivery settings, its credential, its filter."""

from __future__ import annotations

from dataclasses import replace

from partners.core.clock import isoformat
from partners.core.exceptions import ValidationError
from partners.onboarding.audit import Actor
from partners.onboarding.filters import RequestFilter
from partners.onboarding.lifecycle import EDITABLE_STATUSES
from partners.onboarding.models import DeliveryMode, Partner, PartnerEnvironment
from partners.onboarding.roles import Permission, require
from partners.onboarding.service import Onboarding, Saved
from partners.onboarding.validation import environment_errors, raise_all, secret_error


def _stored(partner: Partner, name: str) -> PartnerEnvironment:
    """The environment as saved, or its defaults while it is not configured yet."""
    return partner.environments.get(name) or PartnerEnvironment(name=name)


def environment_settings_errors(onboarding: Onboarding, partner: Partner,
                                candidate: PartnerEnvironment, *, secret: str | None = None
                                ) -> tuple[PartnerEnvironment, list[ValidationError]]:
    """Every reason `save_environment` would refuse these settings, without saving anything.

    Parameters
    ----------
    onboarding, partner, candidate, secret: as for `save_environment`.

    Returns
    -------
    The candidate with its endpoint URL normalised, and each refused setting as a
    `ValidationError` naming its field (the form's order); empty when it would save.
    """
    previous = _stored(partner, candidate.name)
    candidate, errors = environment_errors(candidate, allowed_names=onboarding.environments,
                                           allow_insecure=onboarding.allow_insecure,
                                           resolver=onboarding.resolver)
    auth = candidate.auth
    if auth is None:  # validation lets poll mode go without; the console always names a type
        if not any(error.field == "auth_type" for error in errors):
            errors.append(ValidationError("Choose how we authenticate to your endpoint.",
                                          field="auth_type"))
    elif candidate.mode is DeliveryMode.PUSH and secret is None and not auth.secret_arn:
        errors.append(ValidationError(
            "Set the credential: push delivery authenticates every call with it."
            if not previous.auth or previous.auth.type is auth.type else
            "A new authentication type needs a new credential.", field="secret"))
    refused_secret = secret_error(secret)
    if refused_secret is not None:
        errors.append(refused_secret)
    return candidate, errors


def save_environment(onboarding: Onboarding, actor: Actor, partner: Partner,
                     candidate: PartnerEnvironment, *, secret: str | None = None) -> Saved:
    """Save an environment's delivery settings; store a new credential when one is given.

    The credential is write-only: it goes to the credential store and only its ARN and
    "set on" date are saved with the environment. An unchanged auth type keeps the stored
    credential when no new one is given.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation as the caller read it (its version guards the save).
    candidate: the environment's new settings (`auth.secret_arn` as stored, or None).
    secret: a new credential value, or None to keep the stored one.

    Returns
    -------
    The saved partner and whether routing was asked to update.

    Raises
    ------
    ValidationError: the organisation cannot be edited, a setting is refused (the field is
        named; an endpoint's refusal is an `InvalidEndpointError`), push delivery lacks a
        credential, or the credential holds control characters (field `secret`; the message
        never quotes it). `InvalidSettingsError` when several settings are refused: its
        `errors` list each.
    PartnerConflictError: someone saved the organisation since `partner` was read.
    RoleRefusedError: the actor may not change endpoints (or, with `secret`, credentials).
    """
    require(actor, partner.id, Permission.ENDPOINTS)
    if secret is not None:
        require(actor, partner.id, Permission.CREDENTIALS)
    if partner.status not in EDITABLE_STATUSES:
        raise ValidationError("this organisation can no longer be edited")
    previous = _stored(partner, candidate.name)
    candidate, errors = environment_settings_errors(onboarding, partner, candidate,
                                                    secret=secret)
    raise_all(errors)
    auth = candidate.auth
    if secret is not None and auth is not None:  # auth is set: its absence was refused
        stored = onboarding.credentials.put(partner.id, candidate.name, auth.type, secret,
                                            set_on=isoformat(onboarding.clock()))
        candidate = replace(candidate, auth=replace(auth, secret_arn=stored.arn,
                                                    secret_set_on=stored.set_on))
    return onboarding.commit(actor, partner.with_environment(candidate), "environment.updated",
                             before=previous.to_dict(), after=candidate.to_dict())


def clear_endpoint_credential(onboarding: Onboarding, actor: Actor, partner: Partner,
                     environment: str) -> Saved | None:
    """Delete a poll environment's credential (recoverable for the store's recovery window).

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation as the caller read it.
    environment: the environment's name.

    Returns
    -------
    The saved partner and whether routing was asked to update; None when there was no
    credential to clear (nothing written).

    Raises
    ------
    ValidationError: the environment delivers by push, which needs its credential (field
        `secret`).
    PartnerConflictError: someone saved the organisation since `partner` was read (the
        credential is deleted already; setting it again restores it).
    RoleRefusedError: the actor may not change credentials.
    """
    require(actor, partner.id, Permission.CREDENTIALS)
    current = _stored(partner, environment)
    if not current.auth or not current.auth.secret_arn:
        return None
    if current.mode is DeliveryMode.PUSH:
        raise ValidationError("Push delivery needs a credential: replace it, or switch to poll "
                              "delivery before clearing it.", field="secret")
    onboarding.credentials.delete(partner.id, environment)
    updated = replace(current, auth=replace(current.auth, secret_arn=None, secret_set_on=None))
    return onboarding.commit(actor, partner.with_environment(updated),
                             "environment.credential_cleared",
                             before=current.to_dict(), after=updated.to_dict())


def save_filter(onboarding: Onboarding, actor: Actor, partner: Partner, environment: str,
                request_filter: RequestFilter) -> Saved:
    """Replace a configured environment's request filter.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation as the caller read it.
    environment: the environment's name.
    request_filter: the parsed filter.

    Returns
    -------
    The saved partner and whether routing was asked to update.

    Raises
    ------
    ValidationError: the environment is not configured yet (a filter alone must not create
        it: it would get routing).
    PartnerConflictError: someone saved the organisation since `partner` was read.
    RoleRefusedError: the actor may not change filters.
    """
    require(actor, partner.id, Permission.FILTERS)
    current = partner.environments.get(environment)
    if current is None:
        raise ValidationError("Set up delivery for this environment first (Endpoint & "
                              "delivery); the preview works before that.")
    updated = replace(current, filter=request_filter)
    return onboarding.commit(actor, partner.with_environment(updated),
                             "environment.filter_updated",
                             before=current.filter.to_dict(), after=request_filter.to_dict())
