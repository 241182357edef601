"""The signed-in user's memberships as the console sees them: the organisation in hand, its
role there, the current organisation (kept in the session) and the switcher's list.

`enter(partner)` is what every partner screen does once it has loaded the organisation
named in its URL: look up the user's role there (one `GetItem`; a role change or removal
takes effect on the next request), keep the actor for the use cases (`current_user.actor`),
make it the session's current organisation, and note the member's activity at most once per
`ACTIVITY_EVERY` per session.
"""

from __future__ import annotations

from datetime import timedelta

from flask import g, session
from flask_login import current_user

from console.services import services
from console.users import ACTOR_KEY
from partners.core.clock import isoformat, parse_iso
from partners.onboarding import (
    ROLE_HELP,
    Actor,
    Partner,
    PartnerNotFoundError,
    PartnerStatus,
    Permission,
    actor_in,
    allows,
    record_activity,
)

CURRENT_KEY = "pgw_org"
ACTIVITY_KEY = "pgw_active"
# "Last active" is for people, not an access log: one write per few minutes is plenty.
ACTIVITY_EVERY = timedelta(minutes=5)


def enter(partner: Partner) -> Actor | None:
    """The user's actor in `partner` (also kept for this request), None when they are no
    member of it."""
    actor = actor_in(services().onboarding, partner.id, current_user.id, current_user.email)
    if actor.role is None:
        return None
    setattr(g, ACTOR_KEY, actor)
    g.pgw_partner = partner
    session[CURRENT_KEY] = partner.id
    _note_activity(partner.id)
    return actor


def _note_activity(partner_id: str) -> None:
    now = services().clock()
    seen = session.get(ACTIVITY_KEY)
    seen = seen if isinstance(seen, dict) else {}
    last = seen.get(partner_id)
    try:
        recent = last is not None and now - parse_iso(last) < ACTIVITY_EVERY
    except (TypeError, ValueError):
        recent = False
    if recent:
        return
    record_activity(services().onboarding, partner_id, current_user.id)
    seen[partner_id] = isoformat(now)
    session[ACTIVITY_KEY] = dict(list(seen.items())[-20:])


def organisations() -> list[Partner]:
    """The organisations the signed-in user belongs to (not deleted), by name."""
    found = []
    for partner_id in services().onboarding.members.organisations_of(current_user.id):
        try:
            partner = services().registry.get_partner(partner_id)
        except PartnerNotFoundError:
            continue
        if partner.status is not PartnerStatus.DELETED:
            found.append(partner)
    return sorted(found, key=lambda p: p.display_name.lower())


def current_organisation() -> str | None:
    """The id of the organisation the user last worked in (the session's)."""
    value = session.get(CURRENT_KEY)
    return value if isinstance(value, str) else None


def template_context() -> dict:
    """What every template may use: `role` and `can(permission)` in the organisation in hand
    (cosmetic: the use cases refuse what a role may not do), the switcher's organisations."""
    actor = g.get(ACTOR_KEY)
    partner = g.get("pgw_partner")

    def can(permission: Permission | str) -> bool:
        return (actor is not None and partner is not None
                and allows(actor, partner.id, Permission[permission]
                           if isinstance(permission, str) else permission))

    def switcher() -> list[Partner]:
        if not getattr(current_user, "is_authenticated", False) or not current_user.is_partner:
            return []
        if "pgw_organisations" not in g:
            g.pgw_organisations = organisations()
        return g.pgw_organisations

    return {"role": actor.role if actor is not None else None, "can": can,
            "role_help": ROLE_HELP, "my_organisations": switcher,
            "current_organisation": partner}
