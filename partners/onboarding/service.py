"""The onboarding service: what every use case needs, and the one way a change is committed.

A use case (create, save, submit, approve, issue a token...) validates, writes, audits and
triggers the reconciler, once, for the console and any other caller. `Onboarding` holds the
stores and settings they share; `commit` and `conclude` are the write-audit-trigger tail they
all end with, so no caller can forget the audit record or the trigger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from partners.core.clock import Clock, utc_now
from partners.core.constants import DEFAULT_PARTNER_ENVIRONMENTS
from partners.onboarding.audit import Actor, AuditLog, AuditRecord, partner_target
from partners.onboarding.credentials import CredentialStore
from partners.onboarding.invitations import InvitationStore
from partners.onboarding.members import MemberStore
from partners.onboarding.models import Partner
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.tokens import TokenStore
from partners.onboarding.validation import Resolver, environment_problems

# Asks the reconciler to converge one partner; False when the request could not be sent
# (the reconciler's schedule then picks the partner up within minutes).
TriggerReconcile = Callable[[str], bool]
# Empties the partner API's cache of authorizer results (API Gateway's
# FlushStageAuthorizersCache), so a token or partner refused from now on is refused on the
# very next call instead of when a cached Allow expires; False when the flush failed (the
# cached results then expire on their own, within the authorizer's TTL).
FlushAuthorizers = Callable[[], bool]
# Sends one email (to, subject, plain text); False when it could not be sent.
SendMail = Callable[[str, str, str], bool]
# Ends every console session of one user at once (a removed member's).
EndSessions = Callable[[str], None]


def no_authorizer_cache() -> bool:
    """The flush where nothing caches authorizer results (tests, tools): nothing to do."""
    return True


def no_mail(to: str, subject: str, text: str) -> bool:
    """Where no mail is configured: nothing is sent (the owner shares the link)."""
    return False


def no_sessions(user_id: str) -> None:
    """Where no console sessions exist (tools, tests of other rules): nothing to end."""


@dataclass(frozen=True)
class Saved:
    """A committed change: the partner as stored, and whether routing was asked to update.

    `routing_triggered` False means the save stands but routing waits for the reconciler's
    next scheduled run; callers tell the user so.
    """

    partner: Partner
    routing_triggered: bool
    # False: a decision that refuses the partner's tokens (suspend) could not empty the API's
    # authorizer cache, so calls may still pass until the cached results expire.
    authorizers_flushed: bool = True


class Onboarding:
    """The stores, the reconcile trigger and the stage's settings the use cases share.

    Parameters
    ----------
    registry, tokens, credentials, audit: the onboarding stores.
    trigger: asks the reconciler to converge a partner (`partner_id -> sent?`).
    flush_authorizers: empties the partner API's authorizer cache (`() -> flushed?`), called
        after every write that refuses tokens which worked a moment ago (revoke, rotate,
        suspend).
    clock: the time seam (credential "set on" dates).
    environments: the partner environment names this stage offers.
    allow_insecure: the stage accepts http and loopback endpoints (embedded stack only).
    resolver: the DNS seam of the endpoint checks (None: the system's resolver).
    members, invitations: the team stores (default: in the registry's table).
    send_mail: sends an invitation email (`(to, subject, text) -> sent?`).
    end_sessions: ends a user's console sessions at once (a removed member's).
    """

    def __init__(self, registry: PartnerRegistry, tokens: TokenStore,
                 credentials: CredentialStore, audit: AuditLog, trigger: TriggerReconcile, *,
                 clock: Clock = utc_now,
                 flush_authorizers: FlushAuthorizers = no_authorizer_cache,
                 environments: Iterable[str] = DEFAULT_PARTNER_ENVIRONMENTS,
                 allow_insecure: bool = False, resolver: Resolver | None = None,
                 members: MemberStore | None = None,
                 invitations: InvitationStore | None = None,
                 send_mail: SendMail = no_mail, end_sessions: EndSessions = no_sessions):
        self.registry = registry
        self.members = members or MemberStore(registry.table_name, dynamodb=registry.dynamodb)
        self.invitations = invitations or InvitationStore(registry.table_name,
                                                          dynamodb=registry.dynamodb)
        self.send_mail = send_mail
        self.end_sessions = end_sessions
        self.tokens = tokens
        self.credentials = credentials
        self.audit = audit
        self.trigger = trigger
        self.flush_authorizers = flush_authorizers
        self.clock = clock
        self.environments = tuple(environments)
        self.allow_insecure = allow_insecure
        self.resolver = resolver

    def record(self, actor: Actor | str, action: str, partner_id: str, *, reason: str | None = None,
               before: Any = None, after: Any = None) -> AuditRecord:
        """Append an audit record about one partner.

        Parameters
        ----------
        actor: who acted (an `Actor`, recorded as `user:<email>`).
        action: the dotted verb (`partner.submitted`, `token.revoked`).
        partner_id: the partner acted on.
        reason, before, after: as the audit log stores them (secrets masked there).

        Returns
        -------
        The stored record.
        """
        return self.audit.record(actor=actor, action=action, target=partner_target(partner_id),
                                 reason=reason, before=before, after=after)

    def conclude(self, actor: Actor | str, partner: Partner, action: str, *,
                 reason: str | None = None, before: Any = None, after: Any = None) -> Saved:
        """Audit a change already written to the registry, then trigger the reconciler.

        Returns
        -------
        `partner` and whether the trigger was sent.
        """
        self.record(actor, action, partner.id, reason=reason, before=before, after=after)
        return Saved(partner, self.trigger(partner.id))

    def commit(self, actor: Actor | str, updated: Partner, action: str, *, before: Any = None,
               after: Any = None) -> Saved:
        """Save `updated` (based on its version), audit it and trigger the reconciler.

        Returns
        -------
        The partner as saved (one version on) and whether the trigger was sent.

        Raises
        ------
        PartnerConflictError: someone saved since `updated.version`; nothing was written,
            audited or triggered.
        """
        saved = self.registry.save_partner(updated)
        return self.conclude(actor, saved, action, before=before, after=after)

    def environment_problems(self, partner: Partner) -> list[str]:
        """Why each of the partner's environments cannot be routed as saved, with this
        stage's settings (see `validation.environment_problems`)."""
        return environment_problems(partner, allowed_names=self.environments,
                                    allow_insecure=self.allow_insecure, resolver=self.resolver)
