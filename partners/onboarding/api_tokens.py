"""Use cases of a partner environment's API tokens: issue, rotate, revoke, each audited.

Tokens do not change routing, so none of these triggers the reconciler. The token itself
never reaches the audit log: records name tokens by their public prefix.
"""

from __future__ import annotations

from datetime import timedelta

from partners.core.exceptions import ValidationError
from partners.onboarding.audit import Actor
from partners.onboarding.exceptions import TokenNotFoundError
from partners.onboarding.models import Partner
from partners.onboarding.service import Onboarding
from partners.onboarding.tokens import IssuedToken, TokenRecord


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
    name: the partner's label for the token (at most 64 characters).

    Returns
    -------
    The token (to show once) and its record.

    Raises
    ------
    ValidationError: an environment this stage does not offer, or a name too long.
    """
    if environment not in onboarding.environments:
        raise ValidationError(f"environment must be one of {', '.join(onboarding.environments)}",
                              field="environment")
    issued = onboarding.tokens.issue(partner.id, environment, name=name)
    onboarding.record(actor, "token.created", partner.id, after={
        "prefix": issued.record.prefix, "environment": environment, "name": issued.record.name})
    return issued


def rotate_api_token(onboarding: Onboarding, actor: Actor, partner: Partner, prefix: str, *,
                     overlap_hours: int) -> IssuedToken:
    """Issue a successor of a token; the old one keeps working for `overlap_hours`.

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation that owns the token.
    prefix: the token's public prefix.
    overlap_hours: how long the old token stays valid (0 to 720).

    Returns
    -------
    The successor (to show once) and its record.

    Raises
    ------
    TokenNotFoundError: no such token of this partner.
    TokenInvalidError: the token is revoked or expired.
    ValidationError: an overlap out of range.
    """
    record = _own_token(onboarding, partner, prefix)
    issued = onboarding.tokens.rotate(record.prefix, overlap=timedelta(hours=overlap_hours))
    onboarding.record(actor, "token.rotated", partner.id, before={"prefix": record.prefix},
                      after={"prefix": issued.record.prefix, "overlap_hours": overlap_hours})
    return issued


def revoke_api_token(onboarding: Onboarding, actor: Actor, partner: Partner,
                     prefix: str) -> TokenRecord:
    """Revoke a token at once (calls with it get 401 from now on).

    Parameters
    ----------
    onboarding: the stores and settings.
    actor: who acts.
    partner: the organisation that owns the token.
    prefix: the token's public prefix.

    Returns
    -------
    The revoked token's record.

    Raises
    ------
    TokenNotFoundError: no such token of this partner.
    """
    record = _own_token(onboarding, partner, prefix)
    revoked = onboarding.tokens.revoke(record.prefix)
    onboarding.record(actor, "token.revoked", partner.id, before={"prefix": record.prefix})
    return revoked
