"""The authorisation matrix, derived from the URL map so a new route cannot be forgotten.

- anonymous: every page but the public ones sends to the login;
- a partner: every admin route is 403; every route of another organisation is 404 (exactly
  like a missing one), GET and POST alike, and B's settings stay unchanged;
- an admin who is not a partner: partner routes are 403;
- every POST without a CSRF token is 400 and changes nothing.
"""

from __future__ import annotations

import pytest

from console import create_app
from partners.onboarding import Actor, Member, Permission, Role, allows

PUBLIC = {"static", "index", "health", "auth.signup", "auth.confirm", "auth.login",
          "auth.logout", "auth.forgot", "auth.reset", "auth.invitation"}


def _routes():
    """(endpoint, rule, methods) of every console route, from a throwaway app's URL map."""
    from infra.spec import stage_spec

    variables = stage_spec("test").environment_variables()
    variables.update({"PGW_USER_POOL_ID": "x", "PGW_USER_POOL_CLIENT_ID": "y",
                      "SECRET_KEY": "k"})
    app = create_app(variables)
    return [(rule.endpoint, rule.rule, sorted(rule.methods - {"HEAD", "OPTIONS"}))
            for rule in app.url_map.iter_rules()]


ROUTES = _routes()
PARTNER_ROUTES = [(e, r, m) for e, r, m in ROUTES if e.startswith("partner.")
                  and "<partner_id>" in r]
ADMIN_ROUTES = [(e, r, m) for e, r, m in ROUTES if e.startswith("admin.")]
PROTECTED = [(e, r, m) for e, r, m in ROUTES if e not in PUBLIC]


def _url(rule: str, partner_id: str, prefix: str = "pgw_test_aaaaaaaa") -> str:
    return (rule.replace("<partner_id>", partner_id).replace("<environment>", "test")
            .replace("<prefix>", prefix)
            .replace("<request_id>", f"test-{partner_id}-abcdefghij")
            .replace("<user_id>", "u-nobody").replace("<invitation_id>", "iaaaaaaaaaaaaaaa")
            .replace("<token>", "p1.i1.x").replace("<delivery_id>", "dlv_" + "0" * 24))


def test_the_matrix_covers_every_route():
    covered = {e for e, _, _ in PROTECTED} | PUBLIC
    assert covered == {e for e, _, _ in ROUTES}
    assert len(PARTNER_ROUTES) >= 15 and len(ADMIN_ROUTES) >= 9


def test_anonymous_is_sent_to_login(client):
    token = client.csrf_token()
    wrong = []
    for endpoint, rule, methods in PROTECTED:
        for method in methods:
            response = client.open(_url(rule, "p00000000000"), method=method,
                                   data={"csrf_token": token} if method == "POST" else None)
            if response.status_code != 302 or "/auth/login" not in response.headers["Location"]:
                wrong.append((method, rule, response.status_code))
    assert wrong == []


@pytest.fixture
def b_partner(app, partner_b):
    """Partner B with a token and settings, to check that A cannot touch them."""
    client, partner_id = partner_b
    page = client.post(f"/partners/{partner_id}/environments/test/tokens",
                       data={"name": "b"}, follow_redirects=True).get_data(as_text=True)
    token = page.split('id="issued-token" value="')[1].split('"')[0]
    return partner_id, token[:17]


HIJACK = {"display_name": "Hijacked", "contact_email": "x@evil.example", "mode": "poll",
          "auth_type": "API_KEY", "rate_limit_per_second": "1",
          "maximum_event_age_seconds": "60", "maximum_retry_attempts": "0",
          "request_types": "*", "everything": "y", "overlap_hours": "0",
          "request_type": "x.y", "attributes": "{}", "name": "n", "reason": "because",
          "confirm": "y",
          "environment": "test"}


def test_partner_a_never_reaches_partner_b(app, partner_a, b_partner):
    client, _ = partner_a
    b_id, b_prefix = b_partner
    before = app.extensions["pgw"].registry.get_partner(b_id)
    tokens_before = app.extensions["pgw"].tokens.list_tokens(b_id)
    wrong = []
    for endpoint, rule, methods in PARTNER_ROUTES:
        for method in methods:
            url = _url(rule, b_id, b_prefix)
            response = client.post(url, data=HIJACK) if method == "POST" else client.get(url)
            if response.status_code != 404:
                wrong.append((method, rule, response.status_code))
    assert wrong == []
    assert app.extensions["pgw"].registry.get_partner(b_id).to_dict() == before.to_dict()
    assert app.extensions["pgw"].tokens.list_tokens(b_id) == tokens_before
    assert app.config["RECONCILE_TRIGGER"].calls.count(b_id) == 0


def test_partners_cannot_use_admin_routes(app, partner_a, b_partner):
    client, _ = partner_a
    b_id, _ = b_partner
    before = app.extensions["pgw"].registry.get_partner(b_id)
    wrong = []
    for endpoint, rule, methods in ADMIN_ROUTES:
        for method in methods:
            url = _url(rule, b_id)
            response = client.post(url, data=HIJACK) if method == "POST" else client.get(url)
            if response.status_code != 403:
                wrong.append((method, rule, response.status_code))
    assert wrong == []
    assert app.extensions["pgw"].registry.get_partner(b_id).to_dict() == before.to_dict()


def test_admins_who_are_not_partners_cannot_use_partner_routes(auth, b_partner):
    admin = auth.login_admin()
    b_id, b_prefix = b_partner
    wrong = []
    for endpoint, rule, methods in PARTNER_ROUTES:
        for method in methods:
            url = _url(rule, b_id, b_prefix)
            response = admin.post(url, data=HIJACK) if method == "POST" else admin.get(url)
            if response.status_code != 403:
                wrong.append((method, rule, response.status_code))
    assert wrong == []


POSTS = [(e, r, m) for e, r, m in ROUTES if "POST" in m]


def test_every_post_needs_the_csrf_token(app, auth, partner_a):
    client, partner_id = partner_a
    admin = auth.login_admin()
    anonymous = app.test_client()
    before = app.extensions["pgw"].registry.get_partner(partner_id)
    wrong = []
    for endpoint, rule, methods in POSTS:
        user = admin if endpoint.startswith("admin.") else (
            anonymous if endpoint.startswith("auth.") else client)
        response = user.post(_url(rule, partner_id), csrf=False,
                             data={**HIJACK, "email": "a@b.co", "password": "x"})
        if response.status_code != 400 or "The form expired" not in response.get_data(
                as_text=True):
            wrong.append((rule, response.status_code))
    assert wrong == []
    assert app.extensions["pgw"].registry.get_partner(partner_id).to_dict() == before.to_dict()


# --- roles inside an organisation: owner / developer / viewer ---------------------------------
# The permission each partner POST needs (None: any member, for themselves). Every partner
# POST route must be listed, so a new one cannot skip the role check.
P = Permission
ROLE_PERMISSIONS = {
    "partner.profile": P.PROFILE, "partner.submit": P.SUBMIT,
    "partner.settings": P.ENDPOINTS, "partner.clear_credential": P.CREDENTIALS,
    "partner.request_filter": P.FILTERS, "partner.create_token": P.TOKENS,
    "partner.rotate_token": P.TOKENS, "partner.revoke_token": P.TOKENS,
    "partner.send_test_event": P.TEST_EVENTS, "partner.redrive": P.DELIVERIES,
    "partner.resend": P.DELIVERIES, "partner.reenable": P.ENDPOINTS,
    "partner.invite": P.MEMBERS, "partner.resend_invite": P.MEMBERS,
    "partner.cancel_invite": P.MEMBERS, "partner.set_role": P.MEMBERS,
    "partner.remove": P.MEMBERS, "partner.transfer": P.OWNERSHIP, "partner.leave": None,
}
PARTNER_POSTS = sorted({e for e, _, m in PARTNER_ROUTES if "POST" in m})


def test_every_partner_post_has_a_permission():
    from console.partner import ROLE_NEEDED

    assert sorted(ROLE_PERMISSIONS) == PARTNER_POSTS
    assert {f"partner.{e}": p for e, p in ROLE_NEEDED.items()} == ROLE_PERMISSIONS


def _snapshot(app, partner_id):
    services = app.extensions["pgw"]
    return (services.registry.get_partner(partner_id).to_dict(),
            services.tokens.list_tokens(partner_id),
            services.onboarding.members.for_partner(partner_id),
            services.onboarding.invitations.for_partner(partner_id),
            len(services.audit.for_target(f"partner:{partner_id}", limit=100).items))


@pytest.fixture
def team(app, auth, partner_a):
    """Organisation A with a token, and a developer and a viewer besides its owner."""
    owner, partner_id = partner_a
    page = owner.post(f"/partners/{partner_id}/environments/test/tokens",
                      data={"name": "a"}, follow_redirects=True).get_data(as_text=True)
    prefix = page.split('id="issued-token" value="')[1].split('"')[0][:17]
    clients = {"owner": owner}
    for role in ("developer", "viewer"):
        email = f"{role}@acme.example"
        user_id = auth.create_user(email)
        app.extensions["pgw"].onboarding.members.add(Member(
            partner_id=partner_id, user_id=user_id, email=email, role=Role(role),
            joined_at="2026-11-23T10:00:00Z"))
        clients[role] = app.test_client()
        assert auth.login(clients[role], email).status_code == 302
    return partner_id, prefix, clients


def test_each_role_may_read_everything_and_change_only_what_its_role_allows(app, team):
    """Every partner route x owner / developer / viewer (other organisations and admins:
    the tests above). A refused change is a 403 that says why, and changes nothing."""
    partner_id, prefix, clients = team
    wrong = []
    reads: dict[str, int] = {}
    for role in ("viewer", "developer", "owner"):
        client = clients[role]
        actor = Actor.member("u", "e", partner_id, Role(role))
        for endpoint, rule, methods in PARTNER_ROUTES:
            url = _url(rule, partner_id, prefix)
            for method in methods:
                if method == "GET":
                    status = client.get(url).status_code
                    # A role never changes what a member may read.
                    if status in (403, 500) or reads.setdefault(url, status) != status:
                        wrong.append((role, method, rule, status))
                    continue
                if endpoint == "partner.leave":
                    continue  # leaving is for oneself: test_members
                before = _snapshot(app, partner_id)
                response = client.post(url, data=HIJACK)
                allowed = allows(actor, partner_id, ROLE_PERMISSIONS[endpoint])
                if not allowed and (response.status_code != 403
                                    or "Nothing was changed" not in response.get_data(
                                        as_text=True)
                                    or _snapshot(app, partner_id) != before):
                    wrong.append((role, method, rule, response.status_code))
                if allowed and response.status_code in (403, 500):
                    wrong.append((role, method, rule, response.status_code))
    assert wrong == [], wrong
