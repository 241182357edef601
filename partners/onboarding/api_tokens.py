"""Use cases of a partner environment's API tokens: issue, rotate, revoke, each audited.

Tokens do not change routing, so none of these triggers the reconciler. The token itself
never reaches the audit log: records name tokens by their public prefix. Rotating and
revoking empty the partner API's authorizer cache after the write, so a token refused from
now on is refused on the next call, not when API Gateway's cached Allow expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from partners.core.exceptions import ValidationError
from partners.onboarding.audit import Actor
from partners.onboarding.exceptions import TokenNotFoundError
from partners.onboarding.models import Partner
from partners.onboarding.roles import Permission, require
from partners.onboarding.service import Onboarding
from partners.onboarding.tokens import IssuedToken, TokenRecord


@dataclass(frozen=True)
class Rotated:
    """A rotation: the successor (shown once), and whether the API's authorizer cache was
    emptied (False: the old token may pass a little longer than its overlap, up to the
    cache's TTL)."""

    issued: IssuedToken
    authorizers_flushed: bool

    @property
    def token(self) -> str:
        return self.issued.token

    @property
    def record(self) -> TokenRecord:
        return self.issued.record


@dataclass(frozen=True)
class Revoked:
    """A revocation: the revoked record, and whether the API's authorizer cache was emptied
    (False: calls with the token may pass until the cached result expires)."""

    record: TokenRecord
    authorizers_flushed: bool


def _own_token(onboarding: Onboarding, partner: Partner, prefix: str) -> TokenRecord:
    """The partner's token at `prefix`; another partner's looks exactly like a missing one."""
    record = onboarding.tokens.get(prefix)
    if record.partner_id != partner.id:
        raise TokenNotFoundError(prefix)
    return record


def issue_api_token(onboarding: Onboarding, actor: Actor, partner: Partner, environment: str, *,
                name: str = "") -> IssuedToken:
    """Issue a token for one of the partner's environments.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation.
    environment: an environment name this stage offers.
    name: the partner's label for the token (required, at most 64 characters).

    Returns
    -------
    The token (to show once) and its record.

    Raises
    ------
    ValidationError: an environment this stage does not offer, or a name missing or too long.
    RoleRefusedError: the actor may not manage tokens.
    """
    require(actor, partner.id, Permission.TOKENS)
    if environment not in onboarding.environments:
        raise ValidationError(f"environment must be one of {', '.join(onboarding.environments)}",
                              field="environment")
    name = name.strip()
    if not name:
        # A nameless token cannot be told apart from its siblings when one must be revoked.
        raise ValidationError("a name is required: say what uses this token", field="name")
    issued = onboarding.tokens.issue(partner.id, environment, name=name)
    onboarding.record(actor, "token.created", partner.id, after={
        "prefix": issued.record.prefix, "environment": environment, "name": issued.record.name})
    return issued


def rotate_api_token(onboarding: Onboarding, actor: Actor, partner: Partner, prefix: str, *,
                     overlap_hours: int) -> Rotated:
    """Issue a successor of a token; the old one keeps working for `overlap_hours`.

    The authorizer cache is emptied after the write, so with an overlap of 0 the old token
    is refused on its next call.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation that owns the token.
    prefix: the token's public prefix.
    overlap_hours: how long the old token stays valid (0 to 720).

    Returns
    -------
    The successor (to show once) and whether the authorizer cache was emptied.

    Raises
    ------
    TokenNotFoundError: no such token of this partner.
    TokenInvalidError: the token is revoked or expired.
    ValidationError: an overlap out of range.
    RoleRefusedError: the actor may not manage tokens.
    """
    require(actor, partner.id, Permission.TOKENS)
    record = _own_token(onboarding, partner, prefix)
    issued = onboarding.tokens.rotate(record.prefix, overlap=timedelta(hours=overlap_hours))
    onboarding.record(actor, "token.rotated", partner.id, before={"prefix": record.prefix},
                      after={"prefix": issued.record.prefix, "overlap_hours": overlap_hours})
    return Rotated(issued, onboarding.flush_authorizers())


def revoke_api_token(onboarding: Onboarding, actor: Actor, partner: Partner,
                     prefix: str) -> Revoked:
    """Revoke a token at once (calls with it get 401 from now on).

    The authorizer cache is emptied after the write, so no cached Allow outlives the token.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation that owns the token.
    prefix: the token's public prefix.

    Returns
    -------
    The revoked token's record and whether the authorizer cache was emptied.

    Raises
    ------
    TokenNotFoundError: no such token of this partner.
    RoleRefusedError: the actor may not manage tokens.
    """
    require(actor, partner.id, Permission.TOKENS)
    record = _own_token(onboarding, partner, prefix)
    revoked = onboarding.tokens.revoke(record.prefix)
    onboarding.record(actor, "token.revoked", partner.id, before={"prefix": record.prefix})
    return Revoked(revoked, onboarding.flush_authorizers())
