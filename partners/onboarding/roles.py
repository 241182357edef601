"""Who may do what in a partner organisation: the roles, the permissions, and the one check.

A console user acts in one organisation with one role there: `owner` (everything, including
members and ownership), `developer` (endpoints, credentials, filters, tokens, test events,
resends and redrives) or `viewer` (reads what a developer sees, changes nothing). Admins
decide on partners (approve, reject, suspend, reinstate) and read; they are no organisation's
member. The use cases call `require(actor, partner_id, permission)` before they change
anything, so every caller (the console, any API) gets the same answer: `RoleRefusedError`
(403, with the reason) and nothing written.

`Actor` is who acts, as the use cases and the audit log see them. `str(actor)` is how the
audit record names them (`user:<email>`, `system:<component>`), as before. A plain string
actor is still accepted by the use cases, as a trusted caller that vouches for itself (the
reconciler, an operator's script, the demo seed, unit tests of other rules): the console and
any API build a member or admin `Actor` from the signed-in user, never a string.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from partners.core.exceptions import PartnerGatewayError, ValidationError


class Role(enum.StrEnum):
    OWNER = "owner"
    DEVELOPER = "developer"
    VIEWER = "viewer"


class Permission(enum.StrEnum):
    """One kind of change (reads need membership only, or an admin)."""

    PROFILE = "edit the organisation's profile"
    SUBMIT = "submit the organisation for approval"
    ENDPOINTS = "change endpoints and delivery settings"
    CREDENTIALS = "change endpoint credentials"
    FILTERS = "change request filters"
    TOKENS = "issue, rotate or revoke API tokens"
    TEST_EVENTS = "send test events"
    DELIVERIES = "resend or redrive deliveries"
    MEMBERS = "invite, change or remove members"
    OWNERSHIP = "transfer ownership"
    DECIDE = "approve, reject, suspend or reinstate partners"


_DEVELOPER = frozenset({Permission.ENDPOINTS, Permission.CREDENTIALS, Permission.FILTERS,
                        Permission.TOKENS, Permission.TEST_EVENTS, Permission.DELIVERIES})
# The whole rule set, as data: a role may do exactly what its row lists.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _DEVELOPER | {Permission.PROFILE, Permission.SUBMIT, Permission.MEMBERS,
                              Permission.OWNERSHIP},
    Role.DEVELOPER: _DEVELOPER,
    Role.VIEWER: frozenset(),
}
ADMIN_PERMISSIONS = frozenset({Permission.DECIDE})

ROLE_HELP = {
    Role.OWNER: "everything, including members and ownership",
    Role.DEVELOPER: "endpoints, credentials, filters, tokens, test events, resends and redrives",
    Role.VIEWER: "reads everything a developer sees, changes nothing",
}


def parse_role(value: object) -> Role:
    """The role named `value`.

    Raises
    ------
    ValidationError: not one of owner, developer, viewer (field `role`).
    """
    try:
        return Role(str(value).strip().lower())
    except ValueError:
        raise ValidationError(f"{str(value)[:40]!r} is not a role: choose owner, developer or "
                              "viewer", field="role") from None


class RoleRefusedError(PartnerGatewayError, PermissionError):
    """The actor's role does not allow the change; nothing was written (HTTP 403)."""

    def __init__(self, actor: str, permission: Permission, reason: str):
        super().__init__(reason)
        self.actor = actor
        self.permission = permission
        self.reason = reason


@dataclass(frozen=True)
class Actor:
    """Who acts: a member of one organisation with their role there, an admin, or a system.

    Build one with `Actor.member`, `Actor.admin` or `Actor.system`. A member actor is bound
    to `partner_id`: it has no rights in any other organisation.
    """

    kind: str  # "member", "admin", "system", "user" (signed in, no role here)
    name: str  # the email (or the component of a system actor)
    user_id: str | None = None
    partner_id: str | None = None
    role: Role | None = None

    @classmethod
    def member(cls, user_id: str, email: str, partner_id: str, role: Role | str) -> Actor:
        return cls("member", email, user_id, partner_id, Role(role))

    @classmethod
    def user(cls, user_id: str, email: str) -> Actor:
        """A signed-in user with no role in the organisation at hand (refused every change)."""
        return cls("user", email, user_id)

    @classmethod
    def admin(cls, user_id: str, email: str) -> Actor:
        return cls("admin", email, user_id)

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls("system", component)

    @property
    def is_admin(self) -> bool:
        return self.kind == "admin"

    def role_in(self, partner_id: str) -> Role | None:
        """The actor's role in `partner_id`, None when they are no member of it."""
        return self.role if self.kind == "member" and self.partner_id == partner_id else None

    def __str__(self) -> str:
        # How the audit log names the actor, as it always has.
        return f"system:{self.name}" if self.kind == "system" else f"user:{self.name}"


def _article(role: Role) -> str:
    return f"an {role.value}" if role.value[0] in "aeiou" else f"a {role.value}"


def allows(actor: Actor | str, partner_id: str, permission: Permission) -> bool:
    """Whether `actor` may make a change of kind `permission` to organisation `partner_id`."""
    if isinstance(actor, str) or actor.kind == "system":
        return True  # a trusted caller (see the module's docstring)
    if actor.is_admin:
        return permission in ADMIN_PERMISSIONS
    role = actor.role_in(partner_id)
    return role is not None and permission in PERMISSIONS[role]


def require(actor: Actor | str, partner_id: str, permission: Permission) -> None:
    """Refuse the change unless `actor` may make it in organisation `partner_id`.

    Call it first in a use case, before anything is written.

    Parameters
    ----------
    actor: who acts (a member `Actor` carries their role in one organisation).
    partner_id: the organisation changed.
    permission: the kind of change.

    Raises
    ------
    RoleRefusedError: the reason in words, e.g. "Your role in this organisation is viewer:
        a viewer cannot resend or redrive deliveries."
    """
    if allows(actor, partner_id, permission):
        return
    assert isinstance(actor, Actor)
    if actor.is_admin:
        reason = f"Admins do not {permission.value}: that is for the organisation's members."
    elif permission is Permission.DECIDE:
        reason = f"Only an admin may {permission.value}."
    else:
        role = actor.role_in(partner_id)
        if role is None:
            reason = f"You are not a member of this organisation, so you cannot {permission.value}."
        else:
            allowed = " or ".join(_article(r) for r, granted in PERMISSIONS.items()
                                  if permission in granted)
            reason = (f"Your role in this organisation is {role.value}: {_article(role)} "
                      f"cannot {permission.value} (ask {allowed}).")
    raise RoleRefusedError(str(actor), permission, reason)
