"""The team screen (`/partners/<id>/members`): members with role, joined and last active;
invitations (owners invite, resend, cancel); role changes, removal, ownership transfer,
leaving. Each view reads a form, calls one use case of `partners.onboarding`, renders; the
use case checks the role (a refusal is a 403 page with the reason)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from console.helpers import form_error, own_partner_or_404
from console.partner.forms import ActionForm
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    ROLE_HELP,
    Invited,
    InvitationStatus,
    Partner,
    Permission,
    Role,
    allows,
    cancel_invitation,
    change_role,
    invite_member,
    leave_organisation,
    remove_member,
    resend_invitation,
    transfer_ownership,
)

LINK_KEY = "pgw_invite_link"
ROLE_CHOICES = [SelectChoice(role.value) for role in Role]
ROLE_HINT = " · ".join(f"{role.value}: {ROLE_HELP[role]}" for role in Role)


class InviteForm(FlaskForm):
    # The address and the role are checked by the use case (one wording for every caller).
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)],
                       filters=[lambda v: v.strip().lower() if v else v])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.VIEWER.value,
                       validate_choice=False, description=ROLE_HINT)


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=[SelectChoice(r.value) for r in Role],
                       validate_choice=False)


def _link_for(token: str) -> str:
    return url_for("auth.invitation", token=token, _external=True)


def _page(partner: Partner, *, form: InviteForm | None = None, status: int = 200):
    actor = current_user.actor
    invitations = []
    if allows(actor, partner.id, Permission.MEMBERS):
        invitations = [i for i in services().onboarding.invitations.for_partner(partner.id)
                       if i.status is InvitationStatus.PENDING]
    held = session.pop(LINK_KEY, None)
    link = held.get("link") if isinstance(held, dict) and held.get("partner") == partner.id \
        else None
    return render_template(
        "partner/members.html", partner=partner,
        members=services().onboarding.members.for_partner(partner.id), invitations=invitations,
        now=services().clock(), invite_form=form or InviteForm(formdata=None),
        action_form=ActionForm(), role_form=RoleForm(formdata=None), roles=list(Role),
        me=current_user.id, link=link), status


def _back(partner: Partner):
    return redirect(url_for("partner.members", partner_id=partner.id), code=303)


def _sent(partner: Partner, invited: Invited, verb: str):
    """Say what happened and show the link once (post/redirect/get)."""
    email = invited.invitation.email
    if invited.mailed:
        flash(f"Invitation {verb} to {email}. The link works once, for 7 days.", "success")
    else:
        done = "created" if verb == "sent" else "renewed"
        flash(f"Invitation {done} for {email}, but no email could be sent from this stage: "
              "copy the link below and send it yourself.", "warning")
    session[LINK_KEY] = {"partner": partner.id, "link": invited.link}
    return _back(partner)


def members(partner_id: str):
    """The organisation's members and, for owners, its pending invitations."""
    return _page(own_partner_or_404(partner_id))


def invite(partner_id: str):
    """Invite someone by email with a role."""
    partner = own_partner_or_404(partner_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _page(partner, form=form, status=422)
    try:
        invited = invite_member(services().onboarding, current_user.actor, partner,
                                email=form.email.data, role=form.role.data or "",
                                link_for=_link_for)
    except ValidationError as error:
        form_error(form, error)
        return _page(partner, form=form, status=422)
    return _sent(partner, invited, "sent")


def _action(partner: Partner) -> None:
    if not ActionForm().validate_on_submit():
        abort(400)


def resend_invite(partner_id: str, invitation_id: str):
    """Mail a pending invitation again with a new link (the old one stops working)."""
    partner = own_partner_or_404(partner_id)
    _action(partner)
    try:
        invited = resend_invitation(services().onboarding, current_user.actor, partner,
                                    invitation_id, link_for=_link_for)
    except ValidationError as error:
        flash(error.message, "error")
        return _back(partner)
    return _sent(partner, invited, "resent")


def cancel_invite(partner_id: str, invitation_id: str):
    """Cancel a pending invitation."""
    partner = own_partner_or_404(partner_id)
    _action(partner)
    try:
        cancelled = cancel_invitation(services().onboarding, current_user.actor, partner,
                                      invitation_id)
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(f"The invitation to {cancelled.email} is cancelled; its link no longer works.",
              "success")
    return _back(partner)


def set_role(partner_id: str, user_id: str):
    """Give a member another role."""
    partner = own_partner_or_404(partner_id)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        member = change_role(services().onboarding, current_user.actor, partner, user_id,
                             form.role.data or "")
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(f"{member.email} is now {member.role.value}.", "success")
    return _back(partner)


def remove(partner_id: str, user_id: str):
    """Remove a member; their console sessions end at once."""
    partner = own_partner_or_404(partner_id)
    _action(partner)
    if user_id == current_user.id:
        return leave(partner_id)
    try:
        member = remove_member(services().onboarding, current_user.actor, partner, user_id)
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(f"{member.email} is removed from {partner.display_name} and signed out.",
              "success")
    return _back(partner)


def transfer(partner_id: str, user_id: str):
    """Make another member the owner; you become a developer."""
    partner = own_partner_or_404(partner_id)
    _action(partner)
    try:
        member = transfer_ownership(services().onboarding, current_user.actor, partner,
                                    user_id)
    except ValidationError as error:
        flash(error.message, "error")
    else:
        flash(f"{member.email} is now an owner; you are a developer.", "success")
    return _back(partner)


def leave(partner_id: str):
    """Leave the organisation (the last owner cannot)."""
    partner = own_partner_or_404(partner_id)
    _action(partner)
    try:
        leave_organisation(services().onboarding, current_user.actor, partner)
    except ValidationError as error:
        flash(error.message, "error")
        return _back(partner)
    flash(f"You left {partner.display_name}.", "success")
    return redirect(url_for("partner.home"), code=303)
