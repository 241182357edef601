"""The Lambda authorizer: tokens to policies, contexts and usage-plan keys."""

from __future__ import annotations

import pytest

from partners.core.constants import usage_key_value
from partners.onboarding.models import PartnerStatus
from tests.handlers.conftest import PORTAL_TOKEN
from tests.handlers.gateway import LambdaContext


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


ARN = "arn:aws:execute-api:us-east-1:123456789012:api1234567/test/GET/v1/requests"


@pytest.mark.parametrize("event,token", [
    ({"type": "TOKEN", "authorizationToken": "Bearer abc"}, "abc"),
    ({"type": "TOKEN", "authorizationToken": "bearer  abc "}, "abc"),
    ({"type": "TOKEN", "authorizationToken": "Basic abc"}, None),
    ({"type": "TOKEN", "authorizationToken": ""}, None),
    ({"type": "REQUEST", "headers": {"authorization": "Bearer xyz"}}, "xyz"),
    ({"type": "REQUEST", "headers": {"Authorization": "Bearer"}}, None),
    ({"type": "REQUEST", "headers": None}, None),
])
def test_bearer_token(world, event, token):
    assert world.handlers["authorizer"].bearer_token(event) == token


def authorize(handlers, header, kind="REQUEST", arn=ARN):
    if kind == "TOKEN":
        event = {"type": "TOKEN", "authorizationToken": header, "methodArn": arn}
    else:
        event = {"type": "REQUEST", "methodArn": arn, "headers": {"Authorization": header}}
    return handlers["authorizer"].lambda_handler(event, LambdaContext())


@pytest.mark.parametrize("kind", ["TOKEN", "REQUEST"])
def test_an_approved_partners_token_is_allowed_with_context_and_usage_key(world, kind):
    partner = world.partner("acme")
    token = world.token(partner.id, "test")
    result = authorize(world.handlers, f"Bearer {token}", kind)
    assert result["principalId"] == partner.id
    assert result["context"] == {"partner_id": partner.id, "environment": "test",
                                 "token_prefix": token[:17], "partner_name": "Partner acme"}
    assert result["usageIdentifierKey"] == usage_key_value("pgw-test-pt-", partner.id, "test")
    [statement] = result["policyDocument"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert "arn:aws:execute-api:us-east-1:123456789012:api1234567/test/POST/v1/requests/*/status" \
        in statement["Resource"]
    assert not any("portal" in r for r in statement["Resource"])


@pytest.mark.parametrize("header", ["", "Bearer ", "Token abc", "Bearer pgw_prod_short",
                                    "Bearer pgw_prod_" + "x" * 32, "Bearer not-the-portal"])
def test_bad_tokens_raise_unauthorized(world, header):
    with pytest.raises(world.handlers["authorizer"].Unauthorized, match="^Unauthorized$"):
        authorize(world.handlers, header)


def test_revoked_and_expired_tokens_raise_unauthorized(world):
    from datetime import timedelta

    partner = world.partner("acme")
    revoked = world.token(partner.id, "prod")
    world.tokens.revoke(world.tokens.verify(revoked).prefix)
    with pytest.raises(world.handlers["authorizer"].Unauthorized):
        authorize(world.handlers, f"Bearer {revoked}")
    old = world.token(partner.id, "prod")
    world.tokens.rotate(world.tokens.verify(old).prefix, overlap=timedelta(minutes=5))
    authorize(world.handlers, f"Bearer {old}")
    world.clock.advance(minutes=6)
    with pytest.raises(world.handlers["authorizer"].Unauthorized):
        authorize(world.handlers, f"Bearer {old}")


@pytest.mark.parametrize("status, reason", [
    (PartnerStatus.SUSPENDED, "partner is suspended"),
    (PartnerStatus.PENDING_APPROVAL, "partner is awaiting approval"),
])
def test_partners_that_are_not_approved_are_denied(world, status, reason):
    partner = world.partner("acme", status=status)
    token = world.token(partner.id, "prod")
    result = authorize(world.handlers, f"Bearer {token}")
    assert [s["Effect"] for s in result["policyDocument"]["Statement"]] == ["Deny"]
    assert "usageIdentifierKey" not in result
    # The ACCESS_DENIED gateway response reads the reason from the context.
    assert result["context"]["deny_reason"] == reason
    assert token not in repr(result)


def test_a_token_of_a_removed_environment_is_denied(world):
    partner = world.partner("acme", environments=("prod",))
    token = world.token(partner.id, "dev")
    result = authorize(world.handlers, f"Bearer {token}")
    assert [s["Effect"] for s in result["policyDocument"]["Statement"]] == ["Deny"]
    assert result["context"]["deny_reason"] == "environment dev is not configured"


@pytest.mark.parametrize("status", list(PartnerStatus))
def test_every_deny_reason_fits_in_a_json_string(world, status):
    """The gateway response template puts the reason between quotes, unescaped."""
    from partners.onboarding.models import Partner

    partner = Partner(id="p1", slug="p", display_name="P", contact_email="a@b.co",
                      status=status)
    reason = world.handlers["authorizer"].deny_reason(partner, "prod")
    if status is PartnerStatus.APPROVED:
        assert reason == "environment prod is not configured"
    else:
        assert reason and not set(reason) & {'"', "\\", "\n"}


def test_the_portal_token_allows_the_portal_routes_only(world):
    result = authorize(world.handlers, f"Bearer {PORTAL_TOKEN}")
    assert result["principalId"] == "portal" and result["context"] == {"principal": "portal"}
    resources = result["policyDocument"]["Statement"][0]["Resource"]
    assert all("/v1/portal/" in r for r in resources)


def test_without_a_configured_hash_there_is_no_portal_token(world, monkeypatch):
    authorizer = world.handlers["authorizer"].dependencies.get()
    monkeypatch.setattr(authorizer, "portal_token_hash", None)
    with pytest.raises(world.handlers["authorizer"].Unauthorized):
        authorize(world.handlers, f"Bearer {PORTAL_TOKEN}")
