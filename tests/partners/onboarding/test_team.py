"""Team use cases: invitations (expiry, reuse, cancel, resend), roles, removal, ownership,
and the role check in every use case that changes an organisation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding import (
    Actor,
    InvitationInvalidError,
    PartnerEnvironment,
    Role,
    RoleRefusedError,
    accept_invitation,
    cancel_invitation,
    change_role,
    clear_endpoint_credential,
    create_organisation,
    invite_member,
    issue_api_token,
    leave_organisation,
    parse_filter,
    remove_member,
    resend_invitation,
    save_environment,
    save_filter,
    submit_for_approval,
    transfer_ownership,
    update_profile,
)
from partners.onboarding.invitations import hash_secret
from tests.partners.onboarding.conftest import audit_actions, audit_record


class Outbox:
    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def __call__(self, to, subject, text):
        self.sent.append((to, subject, text))
        return True


class Sessions:
    def __init__(self):
        self.ended: list[str] = []

    def __call__(self, user_id):
        self.ended.append(user_id)


@pytest.fixture
def outbox(onboarding):
    onboarding.send_mail = Outbox()
    return onboarding.send_mail


@pytest.fixture
def sessions(onboarding):
    onboarding.end_sessions = Sessions()
    return onboarding.end_sessions


def link_for(token: str) -> str:
    return f"https://console.example/invitations/{token}"


def token_of(link: str) -> str:
    return link.rsplit("/", 1)[-1]


@pytest.fixture
def acme(onboarding):
    return create_organisation(onboarding, "user:owner@acme.example", owner="u-owner",
                               owner_email="owner@acme.example", display_name="Acme",
                               contact_email="ops@acme.example", slug="acme")


@pytest.fixture
def owner(acme):
    return Actor.member("u-owner", "owner@acme.example", acme.id, Role.OWNER)


def join(onboarding, acme, owner, email, role, user_id):
    invited = invite_member(onboarding, owner, acme, email=email, role=role, link_for=link_for)
    return accept_invitation(onboarding, token_of(invited.link), user_id=user_id, email=email)


def test_the_founder_is_the_first_owner(onboarding, acme):
    [member] = onboarding.members.for_partner(acme.id)
    assert (member.user_id, member.email, member.role) == ("u-owner", "owner@acme.example",
                                                           Role.OWNER)
    assert onboarding.members.organisations_of("u-owner") == [acme.id]


def test_an_invitation_is_mailed_accepted_once_and_audited(onboarding, acme, owner, outbox):
    invited = invite_member(onboarding, owner, acme, email=" Dev@Acme.Example ",
                            role="developer", link_for=link_for)
    assert invited.mailed and invited.invitation.email == "dev@acme.example"
    [(to, subject, text)] = outbox.sent
    assert to == "dev@acme.example" and "Acme" in subject and invited.link in text
    secret = token_of(invited.link).rsplit(".", 1)[1]
    stored = onboarding.invitations.get(acme.id, invited.invitation.id)
    assert stored.token_hash == hash_secret(secret) and secret not in str(stored.__dict__)
    member = accept_invitation(onboarding, token_of(invited.link), user_id="u-dev",
                               email="dev@acme.example")
    assert member.role is Role.DEVELOPER
    assert onboarding.members.get(acme.id, "u-dev").role is Role.DEVELOPER
    assert onboarding.members.organisations_of("u-dev") == [acme.id]
    with pytest.raises(InvitationInvalidError) as reused:
        accept_invitation(onboarding, token_of(invited.link), user_id="u-other",
                          email="dev@acme.example")
    assert reused.value.reason == "accepted" and "works once" in reused.value.message
    assert audit_record(onboarding, acme.id, "member.joined").actor == "user:dev@acme.example"
    assert audit_record(onboarding, acme.id, "member.invited").actor == "user:owner@acme.example"
    assert secret not in str(audit_record(onboarding, acme.id, "member.invited"))


def test_an_invitation_expires_after_seven_days(onboarding, acme, owner, clock):
    invited = invite_member(onboarding, owner, acme, email="late@acme.example", role="viewer",
                            link_for=link_for)
    clock.advance(days=7)
    with pytest.raises(InvitationInvalidError) as expired:
        accept_invitation(onboarding, token_of(invited.link), user_id="u-late",
                          email="late@acme.example")
    assert expired.value.reason == "expired" and "7 days" in expired.value.message
    assert onboarding.members.get(acme.id, "u-late") is None
    # Resending gives a new link for seven more days; the old one is dead.
    resent = resend_invitation(onboarding, owner, acme, invited.invitation.id,
                               link_for=link_for)
    with pytest.raises(InvitationInvalidError) as replaced:
        accept_invitation(onboarding, token_of(invited.link), user_id="u-late",
                          email="late@acme.example")
    assert replaced.value.reason == "replaced"
    accept_invitation(onboarding, token_of(resent.link), user_id="u-late",
                      email="late@acme.example")


@pytest.mark.parametrize("token", ["", "nonsense", "p123.i123.abc",
                                   "pxxxxxxxxxxx.iaaaaaaaaaaaaaaa." + "A" * 43])
def test_a_malformed_or_unknown_link_is_refused(onboarding, token):
    with pytest.raises(InvitationInvalidError) as refused:
        accept_invitation(onboarding, token, user_id="u", email="a@b.example")
    assert refused.value.reason == "unknown"


def test_a_cancelled_invitation_cannot_be_accepted(onboarding, acme, owner):
    invited = invite_member(onboarding, owner, acme, email="x@acme.example", role="viewer",
                            link_for=link_for)
    cancel_invitation(onboarding, owner, acme, invited.invitation.id)
    with pytest.raises(InvitationInvalidError) as refused:
        accept_invitation(onboarding, token_of(invited.link), user_id="u-x",
                          email="x@acme.example")
    assert refused.value.reason == "cancelled"
    with pytest.raises(ValidationError, match="cancelled already"):
        cancel_invitation(onboarding, owner, acme, invited.invitation.id)


def test_only_the_invited_email_can_accept(onboarding, acme, owner):
    invited = invite_member(onboarding, owner, acme, email="x@acme.example", role="viewer",
                            link_for=link_for)
    with pytest.raises(InvitationInvalidError) as refused:
        accept_invitation(onboarding, token_of(invited.link), user_id="u-y",
                          email="y@acme.example")
    assert refused.value.reason == "wrong_account"
    assert onboarding.invitations.get(acme.id, invited.invitation.id).status == "pending"


@pytest.mark.parametrize("email, role, field", [
    ("not-an-email", "viewer", "email"),
    ("owner@acme.example", "viewer", "email"),  # a member already
    ("x@acme.example", "admin", "role"),
])
def test_bad_invitations_store_and_send_nothing(onboarding, acme, owner, outbox, email, role,
                                                field):
    with pytest.raises(ValidationError) as refused:
        invite_member(onboarding, owner, acme, email=email, role=role, link_for=link_for)
    assert refused.value.field == field
    assert onboarding.invitations.for_partner(acme.id) == [] and outbox.sent == []


def test_an_open_invitation_is_not_sent_twice(onboarding, acme, owner):
    invite_member(onboarding, owner, acme, email="x@acme.example", role="viewer",
                  link_for=link_for)
    with pytest.raises(ValidationError, match="open invitation already"):
        invite_member(onboarding, owner, acme, email="x@acme.example", role="developer",
                      link_for=link_for)
    assert len(onboarding.invitations.for_partner(acme.id)) == 1


def test_removal_ends_the_members_sessions_at_once(onboarding, acme, owner, sessions):
    join(onboarding, acme, owner, "dev@acme.example", "developer", "u-dev")
    remove_member(onboarding, owner, acme, "u-dev")
    assert sessions.ended == ["u-dev"]
    assert onboarding.members.get(acme.id, "u-dev") is None
    assert onboarding.members.organisations_of("u-dev") == []
    assert audit_record(onboarding, acme.id, "member.removed").before["email"] == \
        "dev@acme.example"


def test_the_last_owner_cannot_leave_be_removed_or_be_demoted(onboarding, acme, owner,
                                                              sessions):
    for attempt in (lambda: change_role(onboarding, owner, acme, "u-owner", "developer"),
                    lambda: remove_member(onboarding, owner, acme, "u-owner"),
                    lambda: leave_organisation(onboarding, owner, acme)):
        with pytest.raises(ValidationError, match="needs an owner"):
            attempt()
    assert onboarding.members.get(acme.id, "u-owner").role is Role.OWNER
    assert sessions.ended == []


def test_with_a_second_owner_the_first_may_step_down(onboarding, acme, owner):
    join(onboarding, acme, owner, "two@acme.example", "owner", "u-two")
    change_role(onboarding, owner, acme, "u-owner", "viewer")
    assert onboarding.members.get(acme.id, "u-owner").role is Role.VIEWER
    assert "member.role_changed" in audit_actions(onboarding, acme.id)


def test_transfer_makes_the_successor_owner_and_the_owner_a_developer(onboarding, acme, owner):
    join(onboarding, acme, owner, "dev@acme.example", "viewer", "u-dev")
    transfer_ownership(onboarding, owner, acme, "u-dev")
    assert onboarding.members.get(acme.id, "u-dev").role is Role.OWNER
    assert onboarding.members.get(acme.id, "u-owner").role is Role.DEVELOPER


def test_a_demotion_read_before_a_concurrent_one_loses(onboarding, acme, owner):
    """Two owners demoting each other at once: the transaction's condition on the other
    owner keeps one owner (DynamoDB TransactWriteItems conditions,
    https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html)."""
    join(onboarding, acme, owner, "two@acme.example", "owner", "u-two")
    me, two = onboarding.members.get(acme.id, "u-owner"), onboarding.members.get(acme.id,
                                                                                  "u-two")
    onboarding.members.change_role(two, Role.VIEWER, other_owner=me)
    from partners.onboarding.members import MembershipChangedError
    with pytest.raises(MembershipChangedError):
        onboarding.members.change_role(me, Role.VIEWER, other_owner=two)
    assert onboarding.members.get(acme.id, "u-owner").role is Role.OWNER


PUSH = PartnerEnvironment.from_dict({
    "name": "test", "mode": "push", "endpoint_url": "https://hooks.acme.example/pgw",
    "auth": {"type": "API_KEY", "header_name": "x-api-key"}})


@pytest.mark.parametrize("role, allowed", [
    ("viewer", set()),
    ("developer", {"environment", "filter", "token", "credential"}),
    ("owner", {"environment", "filter", "token", "credential", "profile", "submit", "invite"}),
])
def test_every_change_checks_the_role_and_a_refusal_writes_nothing(onboarding, acme, owner,
                                                                   role, allowed):
    configured = save_environment(onboarding, owner, acme, PUSH, secret="s3cr3t").partner
    user = Actor.member(f"u-{role}", f"{role}@acme.example", acme.id, role)
    changes = {
        "environment": lambda p: save_environment(onboarding, user, p,
                                                  replace(PUSH, rate_limit_per_second=3)),
        "credential": lambda p: save_environment(onboarding, user, p, PUSH, secret="n3w"),
        "filter": lambda p: save_filter(onboarding, user, p, "test", parse_filter({})),
        "token": lambda p: issue_api_token(onboarding, user, p, "test", name="ci"),
        "profile": lambda p: update_profile(onboarding, user, p, display_name="Acme 2",
                                            contact_email="ops@acme.example"),
        "invite": lambda p: invite_member(onboarding, user, p, email="n@acme.example",
                                          role="viewer", link_for=link_for),
        "submit": lambda p: submit_for_approval(onboarding, user, p),
        "clear": lambda p: clear_endpoint_credential(onboarding, user, p, "test"),
    }
    refused = set()
    for name, change in changes.items():
        current = onboarding.registry.get_partner(acme.id)
        before = audit_actions(onboarding, acme.id)
        try:
            change(current)
        except RoleRefusedError as error:
            refused.add(name)
            assert onboarding.registry.get_partner(acme.id) == current
            assert audit_actions(onboarding, acme.id) == before
            assert role in error.reason
        except ValidationError:
            pass  # allowed, refused for another reason (clearing a push credential)
    assert set(changes) - refused == allowed | ({"clear"} if role != "viewer" else set())
    assert configured.version < onboarding.registry.get_partner(acme.id).version or not allowed


def test_a_member_of_another_organisation_changes_nothing_here(onboarding, acme):
    globex = create_organisation(onboarding, "user:o@globex.example", owner="u-g",
                                 display_name="Globex", contact_email="o@globex.example",
                                 slug="globex")
    theirs = Actor.member("u-g", "o@globex.example", globex.id, Role.OWNER)
    with pytest.raises(RoleRefusedError, match="not a member"):
        update_profile(onboarding, theirs, acme, display_name="Owned",
                       contact_email="x@globex.example")
    with pytest.raises(RoleRefusedError):
        remove_member(onboarding, theirs, acme, "u-owner")


def test_an_organisation_from_before_teams_adopts_its_founder_as_owner_once(onboarding):
    from partners.onboarding import actor_in

    legacy = onboarding.registry.create_partner(display_name="Old Co", slug="old-co",
                                                contact_email="ops@old.example", owner="u-old")
    for member in onboarding.members.for_partner(legacy.id):  # as before teams: no records
        onboarding.members.remove(member, other_owner=None)
    assert actor_in(onboarding, legacy.id, "u-stranger", "s@x.example").role is None
    actor = actor_in(onboarding, legacy.id, "u-old", "Founder@Old.example")
    assert actor.role is Role.OWNER
    [member] = onboarding.members.for_partner(legacy.id)
    assert (member.user_id, member.email) == ("u-old", "founder@old.example")
    assert "member.adopted" in audit_actions(onboarding, legacy.id)
    # Once the organisation has members, a founder who was removed is not adopted again.
    join(onboarding, legacy, actor, "two@old.example", "owner", "u-two")
    remove_member(onboarding, actor, legacy, "u-old")
    assert actor_in(onboarding, legacy.id, "u-old", "founder@old.example").role is None
