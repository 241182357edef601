"""Flask-Login's view of a Cognito user, kept in the signed session cookie.

The session holds the user's id, email, groups, when Cognito was last asked about them, and
the id of the server-side session record (`console.sessions`). Every request checks that
record, so sign-out, a password reset or a removal ends the session at once, and no session
outlives its absolute lifetime; every `IDENTITY_RECHECK` the console asks Cognito again, so a
disabled user or a removed group takes effect within minutes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, g, session
from flask_login import LoginManager, UserMixin

from console.identity import ADMINS, PARTNERS, Identity
from console.services import services
from partners.core.clock import isoformat, parse_iso
from partners.onboarding import Actor

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Log in to continue."
login_manager.login_message_category = "info"
# "basic": a changed address or browser marks the session non-fresh; "strong" would log
# out mobile users whose address changes mid-session.
login_manager.session_protection = "basic"

SESSION_KEY = "pgw_user"
# Where a request keeps the actor of the organisation it loaded (console.helpers).
ACTOR_KEY = "pgw_actor"


@dataclass(frozen=True)
class ConsoleUser(UserMixin):
    """A logged-in console user."""

    id: str
    email: str
    groups: frozenset[str]

    @property
    def is_admin(self) -> bool:
        return ADMINS in self.groups

    @property
    def is_partner(self) -> bool:
        return PARTNERS in self.groups

    @property
    def actor(self) -> Actor:
        """Who acts, for the use cases: the member (with their role) of the organisation
        this request loaded (`own_partner_or_404`), else an admin, else a user with no role.
        `str(actor)` is how the audit log names them (`user:<email>`)."""
        loaded = g.get(ACTOR_KEY)
        if loaded is not None and loaded.user_id == self.id:
            return loaded
        if self.is_admin:
            return Actor.admin(self.id, self.email)
        return Actor.user(self.id, self.email)


def remember(identity: Identity, now: datetime, session_id: str) -> ConsoleUser:
    """Keep `identity` in the cookie, with the id of its server-side session record."""
    session[SESSION_KEY] = {"id": identity.user_id, "email": identity.email,
                            "groups": sorted(identity.groups), "checked_at": isoformat(now),
                            "sid": session_id}
    return ConsoleUser(identity.user_id, identity.email, identity.groups)


def session_id() -> str | None:
    """The server-side session id the cookie carries, if any."""
    stored = session.get(SESSION_KEY)
    return stored.get("sid") if isinstance(stored, dict) else None


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    stored = session.get(SESSION_KEY)
    if not stored or stored.get("id") != user_id:
        return None
    if not services().sessions.valid(stored.get("sid"), user_id):
        # Signed out, revoked or past its absolute end: the cookie opens nothing.
        session.pop(SESSION_KEY, None)
        return None
    now = services().clock()
    checked = parse_iso(stored.get("checked_at", "1970-01-01T00:00:00Z"))
    if now - checked >= current_app.config["IDENTITY_RECHECK"]:
        current = services().identity.current(user_id)
        if current is None:
            session.pop(SESSION_KEY, None)
            return None
        return remember(current, now, stored["sid"])
    return ConsoleUser(stored["id"], stored["email"], frozenset(stored.get("groups", ())))
