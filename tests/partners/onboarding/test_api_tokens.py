"""API token use cases: issue, rotate and revoke, each audited by prefix, never by token."""

from __future__ import annotations

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.api_tokens import issue_api_token, revoke_api_token, rotate_api_token
from partners.onboarding.exceptions import TokenInvalidError, TokenNotFoundError
from partners.onboarding.organisations import create_organisation
from tests.partners.onboarding.conftest import ACTOR, audit_record


@pytest.fixture
def partner(onboarding):
    return create_organisation(onboarding, ACTOR, owner="user-1", display_name="Acme",
                               contact_email="ops@acme.io", slug="acme")


@pytest.fixture
def stranger(onboarding):
    return create_organisation(onboarding, ACTOR, owner="user-2", display_name="Globex",
                               contact_email="ops@globex.io", slug="globex")


def test_issue_audits_the_prefix_not_the_token(onboarding, triggers, partner):
    issued = issue_api_token(onboarding, ACTOR, partner, "test", name="ci")
    assert onboarding.tokens.verify(issued.token).partner_id == partner.id
    record = audit_record(onboarding, partner.id, "token.created")
    assert record.after == {"prefix": issued.record.prefix, "environment": "test", "name": "ci"}
    assert issued.token not in repr(record)
    assert triggers.calls == []  # tokens do not change routing


@pytest.mark.parametrize(("environment", "name", "field"), [
    ("staging", "", "environment"),
    ("test", "x" * 65, "name"),
])
def test_issue_refuses(onboarding, partner, environment, name, field):
    with pytest.raises(ValidationError) as caught:
        issue_api_token(onboarding, ACTOR, partner, environment, name=name)
    assert caught.value.field == field


def test_rotate_keeps_the_old_token_for_the_overlap(onboarding, partner, clock):
    old = issue_api_token(onboarding, ACTOR, partner, "test")
    new = rotate_api_token(onboarding, ACTOR, partner, old.record.prefix, overlap_hours=2)
    assert onboarding.tokens.verify(old.token) and onboarding.tokens.verify(new.token)
    clock.advance(hours=3)
    with pytest.raises(TokenInvalidError):
        onboarding.tokens.verify(old.token)
    record = audit_record(onboarding, partner.id, "token.rotated")
    assert record.before == {"prefix": old.record.prefix}
    assert record.after == {"prefix": new.record.prefix, "overlap_hours": 2}


def test_revoke(onboarding, partner):
    issued = issue_api_token(onboarding, ACTOR, partner, "test")
    revoked = revoke_api_token(onboarding, ACTOR, partner, issued.record.prefix)
    assert revoked.revoked_at
    with pytest.raises(TokenInvalidError):
        onboarding.tokens.verify(issued.token)
    assert audit_record(onboarding, partner.id, "token.revoked").before == {
        "prefix": issued.record.prefix}


def test_another_partners_token_is_not_found(onboarding, partner, stranger):
    theirs = issue_api_token(onboarding, ACTOR, stranger, "test")
    with pytest.raises(TokenNotFoundError):
        revoke_api_token(onboarding, ACTOR, partner, theirs.record.prefix)
    with pytest.raises(TokenNotFoundError):
        rotate_api_token(onboarding, ACTOR, partner, theirs.record.prefix, overlap_hours=1)
    assert onboarding.tokens.verify(theirs.token).partner_id == stranger.id
