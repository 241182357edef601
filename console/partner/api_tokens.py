"""An environment's API tokens: list, issue (shown once), rotate with an overlap, revoke."""

from __future__ import annotations

from flask import abort, flash, redirect
from flask_login import current_user

from console.helpers import environment_or_404, form_error, own_partner_or_404
from console.partner.forms import ActionForm, RotateForm, TokenForm
from console.partner.pages import env_page, env_url
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    IssuedToken,
    Partner,
    PartnerEnvironment,
    TokenError,
    TokenNotFoundError,
    TokenRecord,
    issue_api_token,
    revoke_api_token,
    rotate_api_token,
)


def _tokens_page(partner: Partner, env: PartnerEnvironment, *,
                 issued: IssuedToken | None = None, status: int = 200,
                 form: TokenForm | None = None):
    now = services().clock()
    records = services().tokens.list_tokens(partner.id, env.name)
    rows = [(record, record.state(now)) for record in records]
    return env_page("partner/tokens.html", partner, env, "tokens", status=status,
                    form=form or TokenForm(formdata=None), rotate_form=RotateForm(formdata=None),
                    action_form=ActionForm(formdata=None), rows=rows, issued=issued)


def _token_or_404(partner: Partner, env: PartnerEnvironment, prefix: str) -> TokenRecord:
    try:
        record = services().tokens.get(prefix)
    except TokenNotFoundError:
        abort(404)
    if record.partner_id != partner.id or record.environment != env.name:
        abort(404)
    return record


def tokens(partner_id: str, environment: str):
    """The environment's API tokens."""
    partner = own_partner_or_404(partner_id)
    return _tokens_page(partner, environment_or_404(partner, environment))


def create_token(partner_id: str, environment: str):
    """Issue a token and show it once."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(partner, env, form=form, status=422)
    try:
        issued = issue_api_token(services().onboarding, current_user.actor, partner, env.name,
                                 name=form.name.data or "")
    except ValidationError as error:
        form_error(form, error)
        return _tokens_page(partner, env, form=form, status=422)
    return _tokens_page(partner, env, issued=issued)


def rotate_token(partner_id: str, environment: str, prefix: str):
    """Issue a successor; the old token keeps working for the chosen overlap."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    form = RotateForm()
    if not form.validate_on_submit():
        flash("Choose when the old token stops working.", "error")
        return redirect(env_url("tokens", partner, env.name))
    try:
        issued = rotate_api_token(services().onboarding, current_user.actor, partner,
                                  record.prefix, overlap_hours=int(form.overlap_hours.data))
    except (ValidationError, TokenError) as error:
        flash(f"Not rotated: {error}", "error")
        return redirect(env_url("tokens", partner, env.name))
    return _tokens_page(partner, env, issued=issued)


def revoke_token(partner_id: str, environment: str, prefix: str):
    """Revoke a token at once."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    if not ActionForm().validate_on_submit():
        abort(400)
    revoke_api_token(services().onboarding, current_user.actor, partner, record.prefix)
    flash(f"Token {record.prefix}… is revoked: calls with it now get 401.", "success")
    return redirect(env_url("tokens", partner, env.name))
