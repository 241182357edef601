"""The team screens: the members page, invitations through the console (send, accept,
expiry, reuse, bad input), removal ending sessions, the organisation switcher, last active,
and the admins' read-only view."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from console.membership import ACTIVITY_EVERY
from tests.console.conftest import PASSWORD, create_organisation

LINK = re.compile(r'id="invite-link" value="([^"]+)"')


class Outbox:
    """Stands in for SES: keeps what the console would have mailed."""

    def __init__(self):
        self.sent: list[tuple[str, str, str]] = []

    def __call__(self, to, subject, text):
        self.sent.append((to, subject, text))
        return True

    def link_to(self, email: str) -> str:
        [text] = [t for to, _, t in self.sent if to == email][-1:]
        return re.search(r"(http\S+/auth/invitations/\S+)", text).group(1)


@pytest.fixture
def outbox(app):
    mail = Outbox()
    services = app.extensions["pgw"]
    services.send_mail = mail
    services.onboarding.send_mail = mail
    return mail


def _text(response) -> str:
    return response.get_data(as_text=True)


def invite(client, partner_id, email, role="viewer"):
    return client.post(f"/partners/{partner_id}/members/invitations",
                       data={"email": email, "role": role})


def accept(app, auth, link: str, email: str):
    """Sign up as `email` (confirmed), log in, open the link and join; returns the client."""
    auth.create_user(email)
    client = app.test_client()
    path = link.split("localhost", 1)[-1]
    assert client.get(path).status_code == 200
    response = auth.login(client, email)
    assert response.status_code == 302
    response = client.post(path, data={})
    assert response.status_code == 303, _text(response)
    client.email = email
    return client


def test_the_owner_invites_and_the_invitee_joins_with_the_role(app, auth, partner_a, outbox):
    owner, partner_id = partner_a
    page = _text(owner.get(f"/partners/{partner_id}/members"))
    assert owner.email in page and "owner" in page and "Invite someone" in page
    response = invite(owner, partner_id, "viewer@acme.example")
    assert response.status_code == 303
    page = _text(owner.get(f"/partners/{partner_id}/members"))
    assert "Invitation sent to viewer@acme.example" in page
    shown = LINK.search(page).group(1)
    assert shown == outbox.link_to("viewer@acme.example")
    assert LINK.search(_text(owner.get(f"/partners/{partner_id}/members"))) is None  # once
    anonymous = app.test_client()
    offer = _text(anonymous.get(shown.split("localhost", 1)[-1]))
    assert "Join Acme" in offer and "viewer" in offer and "Create an account" in offer
    viewer = accept(app, auth, shown, "viewer@acme.example")
    members = app.extensions["pgw"].onboarding.members.for_partner(partner_id)
    assert [(m.email, m.role.value) for m in members] == [(owner.email, "owner"),
                                                          ("viewer@acme.example", "viewer")]
    # The viewer reads everything and changes nothing: a 403 that says why.
    assert viewer.get(f"/partners/{partner_id}").status_code == 200
    refused = viewer.post(f"/partners/{partner_id}/profile",
                          data={"display_name": "Viewer was here",
                                "contact_email": "v@acme.example"})
    assert refused.status_code == 403
    assert "a viewer cannot edit the organisation" in _text(refused)
    assert app.extensions["pgw"].registry.get_partner(partner_id).display_name == "Acme"
    # The link was spent.
    again = app.test_client().get(shown.split("localhost", 1)[-1])
    assert again.status_code == 410 and "used already" in _text(again)


@pytest.mark.parametrize("email, role, message", [
    ("not-an-email", "viewer", "Enter a valid email address"),
    ("x@acme.example", "superuser", "is not a role"),
])
def test_bad_invitations_are_form_errors_and_store_nothing(app, partner_a, outbox, email, role,
                                                           message):
    owner, partner_id = partner_a
    response = invite(owner, partner_id, email, role)
    assert response.status_code == 422 and message in _text(response)
    assert app.extensions["pgw"].onboarding.invitations.for_partner(partner_id) == []
    assert outbox.sent == []


def test_inviting_a_member_is_a_form_error(app, partner_a, outbox):
    owner, partner_id = partner_a
    response = invite(owner, partner_id, owner.email)
    assert response.status_code == 422 and "already a member" in _text(response)
    assert outbox.sent == []


def test_an_expired_link_gives_a_clear_page_and_resend_renews_it(app, auth, partner_a, outbox,
                                                                 clock):
    owner, partner_id = partner_a
    invite(owner, partner_id, "late@acme.example")
    old = outbox.link_to("late@acme.example").split("localhost", 1)[-1]
    clock.advance(days=7, seconds=1)
    page = app.test_client().get(old)
    assert page.status_code == 410 and "has expired" in _text(page)
    auth.login(owner, owner.email)  # a week later: the owner's sign-in ended long ago
    [invitation] = app.extensions["pgw"].onboarding.invitations.for_partner(partner_id)
    owner.post(f"/partners/{partner_id}/members/invitations/{invitation.id}/resend")
    new = outbox.link_to("late@acme.example").split("localhost", 1)[-1]
    assert new != old
    replaced = app.test_client().get(old)
    assert replaced.status_code == 410 and "replaced by a newer one" in _text(replaced)
    accept(app, auth, new, "late@acme.example")


def test_a_cancelled_or_malformed_link_gives_a_clear_page(app, partner_a, outbox):
    owner, partner_id = partner_a
    invite(owner, partner_id, "x@acme.example")
    link = outbox.link_to("x@acme.example").split("localhost", 1)[-1]
    [invitation] = app.extensions["pgw"].onboarding.invitations.for_partner(partner_id)
    owner.post(f"/partners/{partner_id}/members/invitations/{invitation.id}/cancel")
    page = app.test_client().get(link)
    assert page.status_code == 410 and "cancelled" in _text(page)
    bad = app.test_client().get("/auth/invitations/garbage")
    assert bad.status_code == 404 and "not valid" in _text(bad)


def test_another_account_cannot_accept(app, auth, partner_a, outbox):
    owner, partner_id = partner_a
    invite(owner, partner_id, "x@acme.example")
    link = outbox.link_to("x@acme.example").split("localhost", 1)[-1]
    other = auth.login_partner("other@acme.example")
    assert "You are logged in as other@acme.example" in _text(other.get(link))
    refused = other.post(link, data={})
    assert refused.status_code == 403 and "for x@acme.example" in _text(refused)
    assert app.extensions["pgw"].onboarding.members.get(partner_id, "x") is None
    assert len(app.extensions["pgw"].onboarding.members.for_partner(partner_id)) == 1


def test_signing_up_from_an_invitation_comes_back_to_it(app, partner_a, outbox):
    owner, partner_id = partner_a
    invite(owner, partner_id, "new@acme.example", "developer")
    link = outbox.link_to("new@acme.example").split("localhost", 1)[-1]
    client = app.test_client()
    signup = _text(client.get(link)).split('id="invitation-signup" href="')[1].split('"')[0]
    signup = signup.replace("&amp;", "&")
    assert 'value="new@acme.example"' in _text(client.get(signup))
    response = client.post(signup, data={"email": "new@acme.example", "password": PASSWORD,
                                         "confirm": PASSWORD})
    assert response.status_code == 302 and "next=" in response.headers["Location"]
    assert f"next={link}" in response.headers["Location"]


def test_removal_ends_the_members_sessions_at_once(app, auth, partner_a, outbox):
    owner, partner_id = partner_a
    invite(owner, partner_id, "dev@acme.example", "developer")
    developer = accept(app, auth, outbox.link_to("dev@acme.example"), "dev@acme.example")
    assert developer.get(f"/partners/{partner_id}").status_code == 200
    [_, member] = app.extensions["pgw"].onboarding.members.for_partner(partner_id)
    response = owner.post(f"/partners/{partner_id}/members/{member.user_id}/remove")
    assert response.status_code == 303
    after = developer.get(f"/partners/{partner_id}")
    assert after.status_code == 302 and "/auth/login" in after.headers["Location"]
    records = app.extensions["pgw"].audit.for_target(f"partner:{partner_id}").items
    assert any(r.action == "member.removed" and r.actor == f"user:{owner.email}"
               for r in records)


def test_the_last_owner_cannot_leave_or_be_demoted(app, partner_a):
    owner, partner_id = partner_a
    [me] = app.extensions["pgw"].onboarding.members.for_partner(partner_id)
    page = _text(owner.post(f"/partners/{partner_id}/members/{me.user_id}/role",
                            data={"role": "viewer"}, follow_redirects=True))
    assert "needs an owner" in page
    page = _text(owner.post(f"/partners/{partner_id}/members/leave", follow_redirects=True))
    assert "needs an owner" in page
    [still] = app.extensions["pgw"].onboarding.members.for_partner(partner_id)
    assert still.role.value == "owner"


def test_a_member_of_two_organisations_switches_between_them(app, auth, partner_a, partner_b,
                                                             outbox):
    owner_a, a_id = partner_a
    owner_b, b_id = partner_b
    invite(owner_b, b_id, owner_a.email, "developer")
    link = outbox.link_to(owner_a.email).split("localhost", 1)[-1]
    assert owner_a.post(link, data={}).status_code == 303
    assert owner_a.get("/partners/").headers["Location"].endswith(f"/partners/{b_id}")
    page = _text(owner_a.get(f"/partners/{a_id}"))
    assert 'id="org-switcher"' in page and "Globex" in page and "Acme" in page
    assert owner_a.get("/partners/").headers["Location"].endswith(f"/partners/{a_id}")
    # A developer in B: may not invite there, while an owner in A.
    refused = invite(owner_a, b_id, "x@globex.example")
    assert refused.status_code == 403 and "a developer cannot invite" in _text(refused)


def test_last_active_is_written_at_most_every_few_minutes(app, partner_a, clock):
    owner, partner_id = partner_a
    members = app.extensions["pgw"].onboarding.members
    owner.get(f"/partners/{partner_id}")
    first = members.for_partner(partner_id)[0].last_active_at
    clock.advance(minutes=1)
    owner.get(f"/partners/{partner_id}")
    assert members.for_partner(partner_id)[0].last_active_at == first
    clock.advance(seconds=ACTIVITY_EVERY.total_seconds())
    owner.get(f"/partners/{partner_id}")
    assert members.for_partner(partner_id)[0].last_active_at != first
    assert timedelta(minutes=5) == ACTIVITY_EVERY


def test_transfer_of_ownership(app, auth, partner_a, outbox):
    owner, partner_id = partner_a
    invite(owner, partner_id, "next@acme.example", "viewer")
    accept(app, auth, outbox.link_to("next@acme.example"), "next@acme.example")
    members = app.extensions["pgw"].onboarding.members
    successor = next(m for m in members.for_partner(partner_id) if m.email == "next@acme.example")
    owner.post(f"/partners/{partner_id}/members/{successor.user_id}/transfer")
    roles = {m.email: m.role.value for m in members.for_partner(partner_id)}
    assert roles == {owner.email: "developer", "next@acme.example": "owner"}


def test_admins_see_an_organisations_members_read_only(app, auth, partner_a):
    _, partner_id = partner_a
    admin = auth.login_admin()
    page = _text(admin.get(f"/admin/partners/{partner_id}"))
    assert 'id="admin-members"' in page and "owner" in page
    assert "/members/" not in page.split('id="admin-members"')[1].split("</section>")[0]


def test_an_organisation_from_before_teams_opens_for_its_founder(app, auth):
    """Created before teams (a founder, no member records): `/partners/` still finds it, and
    its founder becomes its owner on the first visit."""
    services = app.extensions["pgw"]
    client = auth.login_partner("founder@old.example")
    user_id = services.identity.current(
        auth.cognito.admin_get_user(UserPoolId=auth.stage.user_pool_id,
                                    Username="founder@old.example")["Username"]).user_id
    legacy = services.registry.create_partner(display_name="Old Co", slug="old-co",
                                              contact_email="ops@old.example", owner=user_id)
    for member in services.onboarding.members.for_partner(legacy.id):
        services.onboarding.members.remove(member, other_owner=None)
    assert client.get("/partners/").headers["Location"].endswith(f"/partners/{legacy.id}")
    assert client.get(f"/partners/{legacy.id}").status_code == 200
    [owner] = services.onboarding.members.for_partner(legacy.id)
    assert (owner.email, owner.role.value) == ("founder@old.example", "owner")
