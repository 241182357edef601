"""The roles' table and the one check every use case makes: pure, as tables."""

from __future__ import annotations

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.roles import (
    Actor,
    Permission,
    Role,
    RoleRefusedError,
    allows,
    parse_role,
    require,
)

P = Permission
OWNER = Actor.member("u1", "owner@acme.example", "p1", Role.OWNER)
DEVELOPER = Actor.member("u2", "dev@acme.example", "p1", Role.DEVELOPER)
VIEWER = Actor.member("u3", "viewer@acme.example", "p1", Role.VIEWER)
STRANGER = Actor.member("u4", "owner@globex.example", "p2", Role.OWNER)
SIGNED_IN = Actor.user("u5", "someone@example.com")
ADMIN = Actor.admin("a1", "admin@gateway.example")

DEVELOPER_RIGHTS = {P.ENDPOINTS, P.CREDENTIALS, P.FILTERS, P.TOKENS, P.TEST_EVENTS,
                    P.DELIVERIES}
OWNER_RIGHTS = DEVELOPER_RIGHTS | {P.PROFILE, P.SUBMIT, P.MEMBERS, P.OWNERSHIP}


@pytest.mark.parametrize("actor, granted", [
    (OWNER, OWNER_RIGHTS),
    (DEVELOPER, DEVELOPER_RIGHTS),
    (VIEWER, set()),
    (STRANGER, set()),  # an owner elsewhere has no rights in p1
    (SIGNED_IN, set()),
    (ADMIN, {P.DECIDE}),
    (Actor.system("reconciler"), set(Permission)),
    ("user:script@acme.example", set(Permission)),  # a trusted caller's plain string
])
def test_each_actor_may_do_exactly_its_rows_permissions(actor, granted):
    assert {p for p in Permission if allows(actor, "p1", p)} == granted


@pytest.mark.parametrize("actor, permission, reason", [
    (VIEWER, P.TOKENS, "Your role in this organisation is viewer: a viewer cannot issue, "
                       "rotate or revoke API tokens (ask an owner or a developer)."),
    (DEVELOPER, P.MEMBERS, "Your role in this organisation is developer: a developer cannot "
                           "invite, change or remove members (ask an owner)."),
    (STRANGER, P.ENDPOINTS, "You are not a member of this organisation, so you cannot change "
                            "endpoints and delivery settings."),
    (ADMIN, P.ENDPOINTS, "Admins do not change endpoints and delivery settings: that is for "
                         "the organisation's members."),
    (OWNER, P.DECIDE, "Only an admin may approve, reject, suspend or reinstate partners."),
])
def test_a_refusal_says_why_in_words(actor, permission, reason):
    with pytest.raises(RoleRefusedError) as refused:
        require(actor, "p1", permission)
    assert refused.value.reason == reason
    assert refused.value.permission is permission


def test_the_audit_log_names_actors_as_before():
    assert str(OWNER) == "user:owner@acme.example"
    assert str(ADMIN) == "user:admin@gateway.example"
    assert str(Actor.system("reconciler")) == "system:reconciler"


@pytest.mark.parametrize("text, role", [("owner", Role.OWNER), (" Developer ", Role.DEVELOPER),
                                        ("viewer", Role.VIEWER)])
def test_roles_parse(text, role):
    assert parse_role(text) is role


@pytest.mark.parametrize("text", ["admin", "", "superuser", "owner; drop"])
def test_an_unknown_role_is_a_form_error(text):
    with pytest.raises(ValidationError) as error:
        parse_role(text)
    assert error.value.field == "role" and "choose owner, developer or viewer" in str(error.value)
