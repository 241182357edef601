"""Lookups, guards and form helpers shared by the blueprints: one place aborts with 403 or 404.

Nothing here writes: the views call the domain's use cases for that.
"""

from __future__ import annotations

from functools import wraps
from typing import Any, Callable

from flask import abort, flash, g
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from console.membership import enter
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    Partner,
    PartnerEnvironment,
    PartnerNotFoundError,
    PartnerStatus,
    Saved,
)


def admin_required(view: Callable) -> Callable:
    """Logged in and in the `admins` group, else 403."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def partner_required(view: Callable) -> Callable:
    """Logged in and in the `partners` group, else 403."""

    @wraps(view)
    @login_required
    def wrapped(*args: Any, **kwargs: Any):
        if not current_user.is_partner:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def get_partner_or_404(partner_id: str, *, member: str | None = None) -> Partner:
    """The partner `partner_id`; 404 when it does not exist, is deleted, or `member` (a
    user id) does not belong to it. A stranger's partner looks exactly like a missing one."""
    try:
        partner = services().registry.get_partner(partner_id)
    except PartnerNotFoundError:
        abort(404)
    if partner.status is PartnerStatus.DELETED:
        abort(404)
    if member is not None and services().onboarding.members.get(partner.id, member) is None:
        abort(404)
    return partner


def own_partner_or_404(partner_id: str) -> Partner:
    """An organisation the current user is a member of, addressed by id (their role there is
    then `current_user.actor`'s); another organisation answers 404, like a missing one."""
    loaded = g.get("pgw_partner")
    if loaded is not None and loaded.id == partner_id:
        return loaded  # the role check before the form loaded it already in this request
    partner = get_partner_or_404(partner_id)
    if enter(partner) is None:
        abort(404)
    return partner


def environment_or_404(partner: Partner, name: str) -> PartnerEnvironment:
    """The partner's environment `name` (its defaults when not configured yet); 404 for a
    name the stage does not offer."""
    if name not in services().environments:
        abort(404)
    return partner.environments.get(name) or PartnerEnvironment(name=name)


# Said when a revoke, rotate or suspend could not empty the partner API's authorizer cache.
AUTHORIZER_FLUSH_FAILED = ("The partner API's token cache could not be emptied: calls with the "
                           "refused tokens may still pass for up to a minute.")


def flash_if_routing_waits(saved: Saved) -> None:
    """Say so when a saved change could not trigger the reconciler (routing then updates at
    its next scheduled run) or, for a suspension, could not empty the partner API's
    authorizer cache; the save stands either way."""
    if not saved.routing_triggered:
        flash("Saved. Routing will update at the reconciler's next scheduled run (the "
              "immediate trigger could not be sent).", "warning")
    if not saved.authorizers_flushed:
        flash(AUTHORIZER_FLUSH_FAILED, "warning")


def form_error(form: FlaskForm, error: ValidationError | Exception, *,
               fields: dict[str, str | None] | None = None,
               default: str | None = None) -> None:
    """Show `error` on the form field it names (mapped through `fields`), else on the form."""
    name = getattr(error, "field", None)
    name = (fields or {}).get(name, name) if name else default
    message = getattr(error, "message", None) or str(error)
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = list(field.errors) + [message]
    else:
        form.form_errors.append(message)
