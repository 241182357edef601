"""Use cases of an organisation's team: invite, resend, cancel, accept, change a role, remove,
leave, transfer ownership; each checks the actor's role first and is audited with its actor.

Rules, besides the roles' table (`partners.onboarding.roles`): an organisation always keeps
an owner (the last one can neither leave, be removed nor be demoted); an invitation names an
email that is not a member's yet and has no other open invitation; only the invited email's
account can accept it. A removed member's console sessions end at once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from partners.core.clock import isoformat
from partners.core.exceptions import ValidationError
from partners.onboarding.exceptions import (
    InvitationInvalidError,
    InvitationNotFoundError,
    MemberNotFoundError,
    PartnerNotFoundError,
)
from partners.onboarding.invitations import (
    Invitation,
    InvitationChangedError,
    InvitationStatus,
    link_token,
    parse_token,
    secret_matches,
)
from partners.onboarding.members import Member, MembershipChangedError
from partners.onboarding.models import Partner
from partners.onboarding.roles import Actor, Permission, Role, parse_role, require
from partners.onboarding.service import Onboarding
from partners.onboarding.validation import EMAIL_PATTERN

# An invitation link's absolute URL, from its token (the console knows its own address).
LinkFor = Callable[[str], str]
CHANGED = ("Someone changed the team a moment ago; nothing was saved. Check the list and "
           "try again.")
LAST_OWNER = "An organisation needs an owner: make someone else an owner first."


@dataclass(frozen=True)
class Invited:
    """An invitation sent: the stored invitation, its link (shown once), whether it was
    mailed (False: share the link yourself)."""

    invitation: Invitation
    link: str
    mailed: bool


def actor_in(onboarding: Onboarding, partner_id: str, user_id: str, email: str) -> Actor:
    """The signed-in user as an actor of `partner_id`: a member with their stored role, or a
    user with no role there (refused every change)."""
    member = onboarding.members.get(partner_id, user_id) or _adopt_founder(
        onboarding, partner_id, user_id, email)
    if member is None:
        return Actor.user(user_id, email)
    return Actor.member(user_id, email, partner_id, member.role)


def _adopt_founder(onboarding: Onboarding, partner_id: str, user_id: str,
                   email: str) -> Member | None:
    """An organisation created before teams has its founder in its document and no member
    records: the founder becomes its owner on their first visit (once: afterwards the
    organisation always has an owner record, so a removed founder is never adopted again)."""
    try:
        partner = onboarding.registry.get_partner(partner_id)
    except PartnerNotFoundError:
        return None
    if user_id not in partner.members or onboarding.members.for_partner(partner_id):
        return None
    member = Member(partner_id=partner_id, user_id=user_id, email=email.strip().lower(),
                    role=Role.OWNER, joined_at=partner.created_at or isoformat(onboarding.clock()))
    try:
        onboarding.members.add(member)
    except MembershipChangedError:
        return onboarding.members.get(partner_id, user_id)  # adopted in another request
    onboarding.record(Actor.system("teams"), "member.adopted", partner_id,
                      after=member.to_dict())
    return member


def record_activity(onboarding: Onboarding, partner_id: str, user_id: str) -> None:
    """Note that the member was active now (the console calls it at most every few minutes
    per session, so it costs one write per member per few minutes)."""
    onboarding.members.touch(partner_id, user_id, isoformat(onboarding.clock()))


def _email(value: str) -> str:
    email = (value or "").strip().lower()
    if len(email) > 254 or not EMAIL_PATTERN.match(email):
        raise ValidationError("Enter a valid email address, like name@example.com.",
                              field="email")
    return email


def _member(onboarding: Onboarding, partner: Partner, user_id: str) -> Member:
    member = onboarding.members.get(partner.id, user_id)
    if member is None:
        raise MemberNotFoundError(partner.id, user_id)
    return member


def _other_owner(members: list[Member], leaving: Member) -> Member | None:
    """Another owner who must still be one when `leaving` stops being one (None when
    `leaving` is no owner); raises when there is none."""
    if leaving.role is not Role.OWNER:
        return None
    others = [m for m in members if m.role is Role.OWNER and m.user_id != leaving.user_id]
    if not others:
        raise ValidationError(LAST_OWNER, field="role")
    return others[0]


def _mail(onboarding: Onboarding, partner: Partner, invitation: Invitation, link: str,
          actor: Actor | str) -> bool:
    inviter = actor.name if isinstance(actor, Actor) else str(actor)
    text = (f"{inviter} invites you to join {partner.display_name} on the Partner Event "
            f"Gateway as {invitation.role.value}.\n\nAccept the invitation (the link works "
            f"once, until {invitation.expires_at}):\n{link}\n\nSign up or log in with this "
            f"email address ({invitation.email}). If you did not expect this, ignore it.\n")
    return onboarding.send_mail(invitation.email,
                                f"Join {partner.display_name} on the Partner Event Gateway",
                                text)


def invite_member(onboarding: Onboarding, actor: Actor | str, partner: Partner, *, email: str,
                  role: str, link_for: LinkFor) -> Invited:
    """Invite `email` to the organisation with `role`; email them a link valid 7 days.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who invites (an owner).
    partner: the organisation.
    email: the invitee's address.
    role: `owner`, `developer` or `viewer`.
    link_for: the absolute URL of an invitation link's token.

    Returns
    -------
    The stored invitation, its link (to show once) and whether it was mailed.

    Raises
    ------
    RoleRefusedError: the actor may not manage members.
    ValidationError: a bad email or role, a member's email, or an email with an open
        invitation (field `email` or `role`); nothing stored or sent.
    """
    require(actor, partner.id, Permission.MEMBERS)
    email, role_ = _email(email), parse_role(role)
    if any(m.email == email for m in onboarding.members.for_partner(partner.id)):
        raise ValidationError(f"{email} is already a member of this organisation.",
                              field="email")
    now = onboarding.clock()
    if any(i.email == email and i.open(now) for i in onboarding.invitations.for_partner(partner.id)):
        raise ValidationError(f"{email} has an open invitation already: resend or cancel it "
                              "in the list below.", field="email")
    invitation, secret = onboarding.invitations.new(partner.id, email, role_, str(actor), now)
    onboarding.invitations.put(invitation)
    link = link_for(link_token(invitation, secret))
    mailed = _mail(onboarding, partner, invitation, link, actor)
    onboarding.record(actor, "member.invited", partner.id,
                      after={**invitation.to_dict(), "mailed": mailed})
    return Invited(invitation, link, mailed)


def _invitation(onboarding: Onboarding, partner: Partner, invitation_id: str) -> Invitation:
    invitation = onboarding.invitations.get(partner.id, invitation_id)
    if invitation is None:
        raise InvitationNotFoundError(partner.id, invitation_id)
    return invitation


def resend_invitation(onboarding: Onboarding, actor: Actor | str, partner: Partner,
                      invitation_id: str, *, link_for: LinkFor) -> Invited:
    """Mail a pending invitation again with a new link, valid 7 days from now; the earlier
    link stops working.

    Raises
    ------
    RoleRefusedError: the actor may not manage members.
    InvitationNotFoundError: no such invitation of this organisation.
    ValidationError: it was accepted or cancelled already.
    """
    require(actor, partner.id, Permission.MEMBERS)
    invitation = _invitation(onboarding, partner, invitation_id)
    if invitation.status is not InvitationStatus.PENDING:
        raise ValidationError(f"This invitation was {invitation.status.value}: invite "
                              f"{invitation.email} again instead.")
    try:
        renewed, secret = onboarding.invitations.renew(invitation, onboarding.clock())
    except InvitationChangedError:
        raise ValidationError(CHANGED) from None
    link = link_for(link_token(renewed, secret))
    mailed = _mail(onboarding, partner, renewed, link, actor)
    onboarding.record(actor, "member.invitation_resent", partner.id,
                      after={**renewed.to_dict(), "mailed": mailed})
    return Invited(renewed, link, mailed)


def cancel_invitation(onboarding: Onboarding, actor: Actor | str, partner: Partner,
                      invitation_id: str) -> Invitation:
    """Cancel a pending invitation; its link then says so.

    Raises
    ------
    RoleRefusedError: the actor may not manage members.
    InvitationNotFoundError: no such invitation of this organisation.
    ValidationError: it was accepted or cancelled already.
    """
    require(actor, partner.id, Permission.MEMBERS)
    invitation = _invitation(onboarding, partner, invitation_id)
    try:
        onboarding.invitations.cancel(invitation)
    except InvitationChangedError:
        raise ValidationError(f"This invitation was {invitation.status.value} already."
                              if invitation.status is not InvitationStatus.PENDING
                              else CHANGED) from None
    onboarding.record(actor, "member.invitation_cancelled", partner.id,
                      before=invitation.to_dict())
    return replace(invitation, status=InvitationStatus.CANCELLED)


_REFUSED = {
    "unknown": "This invitation link is not valid. Check that you copied all of it, or ask "
               "the organisation's owner for a new invitation.",
    "replaced": "This invitation link was replaced by a newer one: use the latest email, or "
                "ask the organisation's owner to resend it.",
    "expired": "This invitation has expired (links work for 7 days). Ask the organisation's "
               "owner to resend it.",
    "accepted": "This invitation has been used already: each link works once. Log in to "
                "reach the organisation, or ask its owner for a new invitation.",
    "cancelled": "This invitation was cancelled by the organisation's owner.",
}


def open_invitation(onboarding: Onboarding, token: str) -> Invitation:
    """The invitation a link's token opens, while it can still be accepted.

    Raises
    ------
    InvitationInvalidError: malformed or unknown token, a replaced link, expired, used or
        cancelled (`reason` says which; the message says what to do).
    """
    parts = parse_token(token)
    if parts is None:
        raise InvitationInvalidError("unknown", _REFUSED["unknown"])
    invitation = onboarding.invitations.get(parts[0], parts[1])
    if invitation is None:
        raise InvitationInvalidError("unknown", _REFUSED["unknown"])
    if invitation.status is not InvitationStatus.PENDING:
        raise InvitationInvalidError(invitation.status.value, _REFUSED[invitation.status.value])
    if not secret_matches(invitation, parts[2]):
        raise InvitationInvalidError("replaced", _REFUSED["replaced"])
    if invitation.expired(onboarding.clock()):
        raise InvitationInvalidError("expired", _REFUSED["expired"])
    return invitation


def accept_invitation(onboarding: Onboarding, token: str, *, user_id: str,
                      email: str) -> Member:
    """Join the organisation with the invitation's role; the link is spent by the same
    write, so it works once.

    Parameters
    ----------
    onboarding: the stores and settings.
    token: the link's token.
    user_id, email: the signed-in user accepting it (their email must be the invited one).

    Returns
    -------
    The new membership.

    Raises
    ------
    InvitationInvalidError: the link cannot be accepted (see `open_invitation`), it was
        sent to another email (`wrong_account`), or the user is a member already
        (`member`); nothing written.
    """
    invitation = open_invitation(onboarding, token)
    if email.strip().lower() != invitation.email:
        raise InvitationInvalidError("wrong_account", (
            f"This invitation is for {invitation.email}, and you are logged in as {email}. "
            "Log out, then open the link again and sign up or log in with the invited email."))
    now = onboarding.clock()
    member = Member(partner_id=invitation.partner_id, user_id=user_id, email=invitation.email,
                    role=invitation.role, joined_at=isoformat(now),
                    invited_by=invitation.invited_by)
    if onboarding.members.get(invitation.partner_id, user_id) is not None:
        raise InvitationInvalidError("member", "You are a member of this organisation "
                                     "already; the invitation was left unused.")
    try:
        onboarding.members.add(member, extra=[
            onboarding.invitations.spend_item(invitation, user_id, now)])
    except MembershipChangedError:
        # Spent, cancelled or replaced a moment ago, or joined in another tab: say which.
        open_invitation(onboarding, token)
        raise InvitationInvalidError("member", "You are a member of this organisation "
                                     "already; the invitation was left unused.") from None
    onboarding.record(Actor.member(user_id, email, invitation.partner_id, invitation.role),
                      "member.joined", invitation.partner_id,
                      after={**member.to_dict(), "invitation": invitation.id,
                             "invited_by": invitation.invited_by})
    return member


def change_role(onboarding: Onboarding, actor: Actor | str, partner: Partner, user_id: str,
                role: str) -> Member:
    """Give a member another role (the last owner cannot be demoted).

    Raises
    ------
    RoleRefusedError: the actor may not manage members.
    MemberNotFoundError: no such member.
    ValidationError: an unknown role, the last owner, or a change lost to another.
    """
    require(actor, partner.id, Permission.MEMBERS)
    new_role = parse_role(role)
    member = _member(onboarding, partner, user_id)
    if new_role is member.role:
        return member
    other = (_other_owner(onboarding.members.for_partner(partner.id), member)
             if new_role is not Role.OWNER else None)
    try:
        onboarding.members.change_role(member, new_role, other_owner=other)
    except MembershipChangedError:
        raise ValidationError(CHANGED) from None
    onboarding.record(actor, "member.role_changed", partner.id,
                      before=member.to_dict(), after={**member.to_dict(), "role": new_role})
    return replace(member, role=new_role)


def remove_member(onboarding: Onboarding, actor: Actor | str, partner: Partner,
                  user_id: str) -> Member:
    """Remove a member; their console sessions end at once (the last owner cannot go).

    Raises
    ------
    RoleRefusedError: the actor may not manage members.
    MemberNotFoundError: no such member.
    ValidationError: the last owner, or a change lost to another.
    """
    require(actor, partner.id, Permission.MEMBERS)
    member = _member(onboarding, partner, user_id)
    _leave(onboarding, partner, member)
    onboarding.end_sessions(member.user_id)
    onboarding.record(actor, "member.removed", partner.id, before=member.to_dict())
    return member


def leave_organisation(onboarding: Onboarding, actor: Actor, partner: Partner) -> Member:
    """The acting member leaves the organisation (the last owner cannot).

    Raises
    ------
    MemberNotFoundError: the actor is no member of it.
    ValidationError: the last owner, or a change lost to another.
    """
    if not isinstance(actor, Actor) or actor.user_id is None:
        raise MemberNotFoundError(partner.id, str(actor))
    member = _member(onboarding, partner, actor.user_id)
    _leave(onboarding, partner, member)
    onboarding.record(actor, "member.left", partner.id, before=member.to_dict())
    return member


def _leave(onboarding: Onboarding, partner: Partner, member: Member) -> None:
    other = _other_owner(onboarding.members.for_partner(partner.id), member)
    try:
        onboarding.members.remove(member, other_owner=other)
    except MembershipChangedError:
        raise ValidationError(CHANGED) from None


def transfer_ownership(onboarding: Onboarding, actor: Actor, partner: Partner,
                       user_id: str) -> Member:
    """Make another member the owner; the acting owner becomes a developer.

    Raises
    ------
    RoleRefusedError: the actor is not an owner.
    MemberNotFoundError: no such member.
    ValidationError: the actor names themselves, or a change lost to another.
    """
    require(actor, partner.id, Permission.OWNERSHIP)
    if not isinstance(actor, Actor) or actor.user_id is None:
        raise ValidationError("Only a member who is an owner can hand ownership on.")
    if user_id == actor.user_id:
        raise ValidationError("You are an owner already: choose another member.",
                              field="user_id")
    successor = _member(onboarding, partner, user_id)
    owner = _member(onboarding, partner, actor.user_id)
    try:
        onboarding.members.transfer(owner, successor, demote_to=Role.DEVELOPER)
    except MembershipChangedError:
        raise ValidationError(CHANGED) from None
    onboarding.record(actor, "member.ownership_transferred", partner.id,
                      before={"owner": owner.email, "successor_role": successor.role},
                      after={"owner": successor.email, "previous_owner_role": Role.DEVELOPER})
    return replace(successor, role=Role.OWNER)
