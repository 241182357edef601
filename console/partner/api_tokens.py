"""An environment's API tokens: list, issue (shown once), rotate with an overlap, revoke.

Issue and rotate answer with a redirect (post/redirect/get), so reloading the page never
issues another token: the new token rides in the session to the one GET that shows it, and
is dropped from the session by that GET. Revoking needs its confirmation box ticked.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, session
from flask_login import current_user

from console.helpers import (
    AUTHORIZER_FLUSH_FAILED,
    environment_or_404,
    form_error,
    own_partner_or_404,
)
from console.partner.forms import RevokeForm, RotateForm, TokenForm
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

# The session key of a token issued by the last POST, until the tokens page shows it once.
ISSUED_KEY = "pgw_issued_token"


def _tokens_page(partner: Partner, env: PartnerEnvironment, *,
                 issued: dict[str, Any] | None = None, status: int = 200,
                 form: TokenForm | None = None):
    now = services().clock()
    records = services().tokens.list_tokens(partner.id, env.name)
    rows = [(record, record.state(now)) for record in records]
    return env_page("partner/tokens.html", partner, env, "tokens", status=status,
                    form=form or TokenForm(formdata=None), rotate_form=RotateForm(formdata=None),
                    revoke_form=RevokeForm(formdata=None), rows=rows, issued=issued)


def _token_or_404(partner: Partner, env: PartnerEnvironment, prefix: str) -> TokenRecord:
    try:
        record = services().tokens.get(prefix)
    except TokenNotFoundError:
        abort(404)
    if record.partner_id != partner.id or record.environment != env.name:
        abort(404)
    return record


def _show_once(partner: Partner, env: PartnerEnvironment, issued: IssuedToken):
    """Redirect to the tokens page, which shows `issued` once (post/redirect/get)."""
    session[ISSUED_KEY] = {"partner_id": partner.id, "environment": env.name,
                           "token": issued.token, "prefix": issued.record.prefix}
    return redirect(env_url("tokens", partner, env.name), code=303)


def _take_issued(partner: Partner, env: PartnerEnvironment) -> dict[str, Any] | None:
    """The token the last POST issued for this environment, removed from the session: a
    reload, or any other page, never shows it again."""
    held = session.pop(ISSUED_KEY, None)
    if not isinstance(held, dict) or held.get("partner_id") != partner.id \
            or held.get("environment") != env.name:
        return None
    return {"token": held.get("token", ""), "prefix": held.get("prefix", "")}


def tokens(partner_id: str, environment: str):
    """The environment's API tokens (and, once, the token just issued)."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return _tokens_page(partner, env, issued=_take_issued(partner, env))


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
    return _show_once(partner, env, issued)


def rotate_token(partner_id: str, environment: str, prefix: str):
    """Issue a successor; the old token keeps working for the chosen overlap."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    form = RotateForm()
    if not form.validate_on_submit():
        flash("Choose when the old token stops working.", "error")
        return redirect(env_url("tokens", partner, env.name), code=303)
    try:
        rotated = rotate_api_token(services().onboarding, current_user.actor, partner,
                                   record.prefix, overlap_hours=int(form.overlap_hours.data))
    except (ValidationError, TokenError) as error:
        flash(f"Not rotated: {error}", "error")
        return redirect(env_url("tokens", partner, env.name), code=303)
    if not rotated.authorizers_flushed:
        flash(AUTHORIZER_FLUSH_FAILED, "warning")
    return _show_once(partner, env, rotated.issued)


def revoke_token(partner_id: str, environment: str, prefix: str):
    """Revoke a token at once, once its confirmation box is ticked."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    form = RevokeForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(f"Token {record.prefix}… is not revoked: tick the box to confirm.", "error")
        return redirect(env_url("tokens", partner, env.name), code=303)
    revoked = revoke_api_token(services().onboarding, current_user.actor, partner, record.prefix)
    if revoked.authorizers_flushed:
        flash(f"Token {record.prefix}… is revoked: calls with it now get 401.", "success")
    else:
        flash(f"Token {record.prefix}… is revoked.", "success")
        flash(AUTHORIZER_FLUSH_FAILED, "warning")
    return redirect(env_url("tokens", partner, env.name), code=303)
