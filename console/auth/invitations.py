"""An invitation link: see what it offers, then sign up or log in, and join.

`GET /auth/invitations/<token>` is public: it names the organisation and the role, or says
clearly why the link cannot be used (expired, used, cancelled, replaced, malformed). Joining
is a POST by the signed-in user whose email is the invited one; someone without an account
signs up and confirms first (the links carry the way back here).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from console.auth.forms import LogoutForm
from console.membership import CURRENT_KEY
from console.services import services
from partners.onboarding import (
    InvitationInvalidError,
    PartnerNotFoundError,
    accept_invitation,
    open_invitation,
)

# A link that once worked and no longer does is Gone; one that never did is Not Found.
_STATUS = {"unknown": 404, "wrong_account": 403, "member": 409}


def _refused(token: str, error: InvitationInvalidError):
    return render_template("auth/invitation.html", error=error.message, reason=error.reason,
                           token=token, logout_form=LogoutForm()), _STATUS.get(error.reason, 410)


def invitation(token: str):
    """Show the invitation (GET) or accept it as the signed-in user (POST)."""
    back = url_for("auth.invitation", token=token)
    try:
        invited = open_invitation(services().onboarding, token)
        partner = services().registry.get_partner(invited.partner_id)
    except InvitationInvalidError as error:
        return _refused(token, error)
    except PartnerNotFoundError:
        return _refused(token, InvitationInvalidError("unknown", "This invitation's "
                                                      "organisation no longer exists."))
    form = LogoutForm()
    if request.method == "POST":
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", email=invited.email, next=back))
        if form.validate_on_submit():
            try:
                member = accept_invitation(services().onboarding, token,
                                           user_id=current_user.id, email=current_user.email)
            except InvitationInvalidError as error:
                return _refused(token, error)
            session[CURRENT_KEY] = member.partner_id
            flash(f"Welcome to {partner.display_name}: you joined as {member.role.value}.",
                  "success")
            return redirect(url_for("partner.overview", partner_id=member.partner_id),
                            code=303)
    return render_template("auth/invitation.html", invitation=invited, partner=partner,
                           token=token, form=form, logout_form=LogoutForm(), back=back,
                           error=None)
