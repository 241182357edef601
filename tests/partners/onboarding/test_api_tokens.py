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


def test_issue_audits_the_prefix_not_the_token(onboarding, triggers, flushes, partner):
    issued = issue_api_token(onboarding, ACTOR, partner, "test", name="ci")
    assert onboarding.tokens.verify(issued.token).partner_id == partner.id
    record = audit_record(onboarding, partner.id, "token.created")
    assert record.after == {"prefix": issued.record.prefix, "environment": "test", "name": "ci"}
    assert issued.token not in repr(record)
    assert triggers.calls == []  # tokens do not change routing
    assert flushes.calls == 0  # a new token refuses nothing that worked before


@pytest.mark.parametrize(("environment", "name", "field"), [
    ("staging", "", "environment"),
    ("test", "x" * 65, "name"),
    ("test", "", "name"),
    ("test", "  ", "name"),
])
def test_issue_refuses(onboarding, partner, environment, name, field):
    with pytest.raises(ValidationError) as caught:
        issue_api_token(onboarding, ACTOR, partner, environment, name=name)
    assert caught.value.field == field
    assert onboarding.tokens.list_tokens(partner.id) == []


def test_issue_keeps_the_name_without_its_spaces(onboarding, partner):
    assert issue_api_token(onboarding, ACTOR, partner, "test", name=" ci ").record.name == "ci"


def test_rotate_keeps_the_old_token_for_the_overlap(onboarding, partner, clock, flushes):
    old = issue_api_token(onboarding, ACTOR, partner, "test", name="ci")
    new = rotate_api_token(onboarding, ACTOR, partner, old.record.prefix, overlap_hours=2)
    assert onboarding.tokens.verify(old.token) and onboarding.tokens.verify(new.token)
    clock.advance(hours=3)
    with pytest.raises(TokenInvalidError):
        onboarding.tokens.verify(old.token)
    record = audit_record(onboarding, partner.id, "token.rotated")
    assert record.before == {"prefix": old.record.prefix}
    assert record.after == {"prefix": new.record.prefix, "overlap_hours": 2}
    assert flushes.calls == 1 and new.authorizers_flushed


@pytest.mark.parametrize("succeed", [True, False])
def test_rotate_without_overlap_flushes_the_authorizer_cache(onboarding, partner, flushes,
                                                             succeed):
    flushes.succeed = succeed
    old = issue_api_token(onboarding, ACTOR, partner, "test", name="ci")
    rotated = rotate_api_token(onboarding, ACTOR, partner, old.record.prefix, overlap_hours=0)
    with pytest.raises(TokenInvalidError):
        onboarding.tokens.verify(old.token)
    assert flushes.calls == 1 and rotated.authorizers_flushed is succeed


@pytest.mark.parametrize("succeed", [True, False])
def test_revoke(onboarding, partner, flushes, succeed):
    flushes.succeed = succeed
    issued = issue_api_token(onboarding, ACTOR, partner, "test", name="ci")
    revoked = revoke_api_token(onboarding, ACTOR, partner, issued.record.prefix)
    assert revoked.record.revoked_at
    # The write stands either way; the caller learns whether the cache was emptied.
    assert flushes.calls == 1 and revoked.authorizers_flushed is succeed
    with pytest.raises(TokenInvalidError):
        onboarding.tokens.verify(issued.token)
    assert audit_record(onboarding, partner.id, "token.revoked").before == {
        "prefix": issued.record.prefix}


def test_another_partners_token_is_not_found(onboarding, partner, stranger, flushes):
    theirs = issue_api_token(onboarding, ACTOR, stranger, "test", name="ci")
    with pytest.raises(TokenNotFoundError):
        revoke_api_token(onboarding, ACTOR, partner, theirs.record.prefix)
    with pytest.raises(TokenNotFoundError):
        rotate_api_token(onboarding, ACTOR, partner, theirs.record.prefix, overlap_hours=1)
    assert onboarding.tokens.verify(theirs.token).partner_id == stranger.id
    assert flushes.calls == 0
