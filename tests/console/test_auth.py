"""Sign up, confirm, log in (throttled), log out, reset the password; session re-checks."""

from __future__ import annotations

import re
import sys
import threading
from datetime import timedelta

import pytest

from console.exceptions import IdentityError
from console.users import SESSION_KEY
from partners.core.constants import Env
from tests.console.conftest import CSRF, PASSWORD


def test_signup_then_confirm_then_login_joins_partners(client, aws, stage):
    response = client.post("/auth/signup", data={"email": "New@Example.com",
                                                 "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/confirm?email=new@example.com")
    # Not confirmed yet: the login says so and does not count as a failure.
    response = client.post("/auth/login", data={"email": "new@example.com", "password": PASSWORD})
    assert "Confirm your email first" in response.get_data(as_text=True)
    response = client.post("/auth/confirm", data={"email": "new@example.com", "code": "123456"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    response = client.post("/auth/login", data={"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 302
    cognito = aws.client("cognito-idp")
    user = cognito.admin_get_user(UserPoolId=stage.user_pool_id, Username="new@example.com")
    groups = cognito.admin_list_groups_for_user(UserPoolId=stage.user_pool_id,
                                                Username=user["Username"])["Groups"]
    assert [g["GroupName"] for g in groups] == ["partners"]
    assert client.get("/partners/").headers["Location"].endswith("/partners/new")


@pytest.mark.parametrize("password, confirm, message", [
    ("short1A", "short1A", "at least 12 characters"),
    ("alllowercase123", "alllowercase123", "an upper-case letter"),
    ("NoDigitsInThisOne", "NoDigitsInThisOne", "a digit"),
    (PASSWORD, PASSWORD + "x", "The passwords differ."),
])
def test_signup_enforces_the_pool_policy(client, password, confirm, message):
    response = client.post("/auth/signup", data={"email": "p@example.com", "password": password,
                                                 "confirm": confirm})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_signup_shows_the_policy(client):
    assert "at least 12 characters" in client.get("/auth/signup").get_data(as_text=True)


@pytest.mark.parametrize("email", ["not-an-email", "", "a@b", "x" * 300 + "@example.com"])
def test_signup_rejects_bad_emails(client, email):
    response = client.post("/auth/signup", data={"email": email, "password": PASSWORD,
                                                 "confirm": PASSWORD})
    assert response.status_code == 200 and "error" in response.get_data(as_text=True)


def _answer(app, path: str, email: str, **fields: str) -> tuple[int, str, str]:
    """What a fresh browser sees after posting `email` to `path`: status, where it is sent
    (with the email taken out) and the page it lands on."""
    client = app.test_client()
    response = client.post(path, data={"email": email, **fields})
    location = response.headers.get("Location", "").replace(email, "EMAIL")
    page = client.get(response.headers["Location"]).get_data(as_text=True) \
        if response.status_code == 302 else response.get_data(as_text=True)
    return response.status_code, location, CSRF.sub("CSRF", page.replace(email, "EMAIL"))


def test_signup_for_an_existing_email_answers_like_a_new_one(app, auth):
    """Issue 14 item 20: sign-up does not tell whether an account exists."""
    auth.create_user("taken@example.com")
    taken = _answer(app, "/auth/signup", "taken@example.com",
                    password="Other-Horse-99", confirm="Other-Horse-99")
    new = _answer(app, "/auth/signup", "fresh@example.com", password=PASSWORD, confirm=PASSWORD)
    assert taken == new
    assert taken[0] == 302 and "already exists" not in taken[2]
    # The existing account is untouched: its own password still works.
    assert auth.login(app.test_client(), "taken@example.com").status_code == 302


def test_confirm_rejects_a_malformed_code(client):
    response = client.post("/auth/confirm", data={"email": "x@example.com", "code": "<script>"})
    assert response.status_code == 200
    assert "letters and digits" in response.get_data(as_text=True)


def test_login_with_a_wrong_password_is_a_form_error(client, auth):
    auth.create_user("w@example.com")
    response = client.post("/auth/login", data={"email": "w@example.com", "password": "nope"})
    assert response.status_code == 200
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_unknown_user_gets_the_same_answer(client):
    response = client.post("/auth/login", data={"email": "ghost@example.com", "password": "x"})
    assert "Wrong email or password." in response.get_data(as_text=True)


def test_login_is_throttled_per_account(client, auth, clock):
    auth.create_user("t@example.com")
    for _ in range(5):
        client.post("/auth/login", data={"email": "t@example.com", "password": "wrong"})
    response = client.post("/auth/login", data={"email": "t@example.com", "password": PASSWORD})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many failed attempts" in page
    minutes = int(re.search(r"Try again in (\d+) minutes", page).group(1))
    clock.advance(minutes=minutes - 1)
    response = client.post("/auth/login", data={"email": "t@example.com", "password": PASSWORD})
    assert response.status_code == 429
    clock.advance(minutes=1)  # the page's promise is kept
    response = client.post("/auth/login", data={"email": "t@example.com", "password": PASSWORD})
    assert response.status_code == 302


def test_login_is_throttled_per_address(app, client, auth):
    auth.create_user("victim@example.com")
    for i in range(20):
        client.post("/auth/login", data={"email": f"spray{i}@example.com", "password": "x"})
    response = client.post("/auth/login", data={"email": "victim@example.com",
                                                "password": PASSWORD})
    assert response.status_code == 429
    other = app.test_client()
    response = other.post("/auth/login", data={"email": "victim@example.com",
                                               "password": PASSWORD},
                          environ_base={"REMOTE_ADDR": "192.0.2.9"})
    assert response.status_code == 302


def test_login_follows_only_safe_next(app, auth):
    auth.create_user("n@example.com")
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "n@example.com", "password": PASSWORD,
                                                "next": "/partners/new"})
    assert response.headers["Location"] == "/partners/new"
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "n@example.com", "password": PASSWORD,
                                                "next": "https://evil.example.com/"})
    assert response.headers["Location"] == "/"


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/partners/new")
    assert response.status_code == 302
    assert "/auth/login?next=%2Fpartners%2Fnew" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/partners/new"' in page


def test_logged_in_user_visiting_login_goes_home(auth):
    client = auth.login_partner()
    assert client.get("/auth/login").status_code == 302


def test_logout_needs_post_with_csrf(auth):
    client = auth.login_partner()
    assert client.post("/auth/logout", csrf=False).status_code == 400
    assert client.get("/partners/").status_code == 302  # still logged in
    assert client.get("/partners/").headers["Location"].endswith("/partners/new")
    assert client.post("/auth/logout").headers["Location"].endswith("/auth/login")
    assert "/auth/login" in client.get("/partners/").headers["Location"]


def test_forgot_and_reset_password(client, auth):
    auth.create_user("r@example.com")
    response = client.post("/auth/forgot", data={"email": "r@example.com"})
    assert response.status_code == 302 and "/auth/reset" in response.headers["Location"]
    new_password = "Another-Horse-77"
    response = client.post("/auth/reset", data={"email": "r@example.com", "code": "123456",
                                                "password": new_password,
                                                "confirm": new_password})
    assert response.status_code == 302
    assert auth.login(client, "r@example.com", new_password).status_code == 302


def test_forgot_for_an_unknown_email_says_the_same(app, auth):
    auth.create_user("known@example.com")
    known = _answer(app, "/auth/forgot", "known@example.com")
    unknown = _answer(app, "/auth/forgot", "nobody@example.com")
    assert known == unknown and known[0] == 302


def test_reset_with_a_wrong_code_is_a_form_error(client, auth):
    auth.create_user("c@example.com")
    client.post("/auth/forgot", data={"email": "c@example.com"})
    response = client.post("/auth/reset", data={
        "email": "c@example.com", "code": "moto-confirmation-code:000000",
        "password": "Another-Horse-77", "confirm": "Another-Horse-77"})
    assert response.status_code == 200
    assert "code" in response.get_data(as_text=True).lower()


def test_reset_enforces_the_policy(client):
    response = client.post("/auth/reset", data={"email": "c@example.com", "code": "1",
                                                "password": "weak", "confirm": "weak"})
    assert "at least 12 characters" in response.get_data(as_text=True)


def test_disabled_user_is_logged_out_at_the_next_recheck(auth, aws, stage, clock):
    client = auth.login_partner("gone@example.com")
    assert client.get("/partners/").status_code == 302
    aws.client("cognito-idp").admin_disable_user(UserPoolId=stage.user_pool_id,
                                                 Username="gone@example.com")
    assert "/auth/login" not in client.get("/partners/").headers["Location"]  # not yet
    clock.advance(minutes=6)
    assert "/auth/login" in client.get("/partners/").headers["Location"]


def test_group_changes_apply_at_the_recheck(auth, aws, stage, clock):
    client = auth.login_partner("promoted@example.com")
    assert client.get("/admin/").status_code == 403
    user = aws.client("cognito-idp").admin_get_user(UserPoolId=stage.user_pool_id,
                                                    Username="promoted@example.com")
    aws.client("cognito-idp").admin_add_user_to_group(
        UserPoolId=stage.user_pool_id, Username=user["Username"], GroupName="admins")
    clock.advance(minutes=6)
    assert client.get("/admin/").status_code == 200


def test_create_admin_command(app, aws, stage):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "boss@example.com", "--password",
                                 "Admin-Password-1"])
    assert result.exit_code == 0, result.output
    client = app.test_client()
    response = client.post("/auth/login", data={"email": "boss@example.com",
                                                "password": "Admin-Password-1"})
    assert response.headers["Location"] == "/"
    assert client.get("/").headers["Location"].endswith("/admin/")


# --- server-side sessions (issue 14 item 5) ---------------------------------------------------

COOKIE = "pgw_session"


def _replay(app, saved: str):
    """A browser holding a copy of a session cookie saved earlier."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, saved)
    return thief


def test_a_cookie_saved_before_sign_out_is_refused_after_it(app, partner_a):
    client, partner_id = partner_a
    saved = client.get_cookie(COOKIE).value
    assert _replay(app, saved).get("/partners/").status_code == 302  # works before sign-out
    assert "/auth/login" not in _replay(app, saved).get("/partners/").headers["Location"]
    client.post("/auth/logout")
    thief = _replay(app, saved)
    assert "/auth/login" in thief.get("/partners/").headers["Location"]
    response = _replay(app, saved).post(
        f"/partners/{partner_id}/environments/test/tokens", data={"name": "stolen"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    assert app.extensions["pgw"].tokens.list_tokens(partner_id, "test") == []


def test_a_session_ends_at_its_absolute_lifetime_however_often_renewed(app, auth, clock):
    client = auth.login_partner()
    for _ in range(5):  # busy all day: every response renews the cookie
        clock.advance(hours=2, minutes=20)
        assert "/auth/login" not in client.get("/partners/").headers["Location"]
    clock.advance(minutes=20)  # 12 h after the sign-in
    assert "/auth/login" in client.get("/partners/").headers["Location"]
    assert app.config["SESSION_ABSOLUTE_LIFETIME"] == timedelta(hours=12)  # the setting
    assert auth.login(client, client.email).status_code == 302  # a new sign-in starts afresh
    assert "/auth/login" not in client.get("/partners/").headers["Location"]


def test_password_reset_revokes_every_session_of_the_user(app, auth):
    laptop = auth.login_partner("reset@example.com")
    phone = app.test_client()
    assert auth.login(phone, "reset@example.com").status_code == 302
    other = auth.login_partner()  # someone else's session is not touched
    helper = app.test_client()
    helper.post("/auth/forgot", data={"email": "reset@example.com"})
    new_password = "Another-Horse-77"
    response = helper.post("/auth/reset", data={"email": "reset@example.com", "code": "123456",
                                                "password": new_password,
                                                "confirm": new_password})
    assert response.status_code == 302
    for client in (laptop, phone):
        assert "/auth/login" in client.get("/partners/").headers["Location"]
    assert "/auth/login" not in other.get("/partners/").headers["Location"]
    fresh = app.test_client()
    assert auth.login(fresh, "reset@example.com", new_password).status_code == 302
    assert "/auth/login" not in fresh.get("/partners/").headers["Location"]


def test_the_sessions_table_holds_no_session_id(app, auth, aws):
    client = auth.login_partner()
    cookie = app.session_interface.get_signing_serializer(app).loads(
        client.get_cookie(COOKIE).value)
    sid, user_id = cookie[SESSION_KEY]["sid"], cookie[SESSION_KEY]["id"]
    assert app.extensions["pgw"].sessions.valid(sid, user_id)
    items = aws.client("dynamodb").scan(TableName=app.config[Env.CONSOLE_SESSIONS_TABLE])["Items"]
    assert items and sid not in str(items)


# --- login throttling across instances (issue 14 item 7) --------------------------------------

class BlockingIdentity:
    """Cognito as a stub that holds every password check until the test lets go, so every
    concurrent attempt is in flight at once; counts the checks that reached it."""

    def __init__(self) -> None:
        self.calls = 0
        self.finished = 0
        self.changed = threading.Condition()
        self.release = threading.Event()

    def authenticate(self, email: str, password: str):
        with self.changed:
            self.calls += 1
            self.changed.notify_all()
        self.release.wait(timeout=60)
        raise IdentityError("Wrong email or password.")

    def done(self) -> None:
        with self.changed:
            self.finished += 1
            self.changed.notify_all()


def test_concurrent_wrong_passwords_reach_cognito_at_most_five_times(app, monkeypatch):
    stub = BlockingIdentity()
    monkeypatch.setattr(app.extensions["pgw"].identity, "authenticate", stub.authenticate)
    statuses: list[int] = []

    def guess(i: int) -> None:
        client = app.test_client()
        try:
            response = client.post("/auth/login", data={"email": "target@example.com",
                                                         "password": f"guess-{i}"},
                                   environ_base={"REMOTE_ADDR": f"192.0.2.{i + 1}"})
            statuses.append(response.status_code)
        finally:
            stub.done()

    # The race under test is check-then-call across the slow Cognito call; DynamoDB applies
    # one conditional update atomically, which moto in-process does not promise between
    # threads: a long switch interval keeps each moto call whole, as the service does.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1.0)
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    try:
        for thread in threads:
            thread.start()
        with stub.changed:
            # Every attempt is either waiting in Cognito or already answered.
            assert stub.changed.wait_for(lambda: stub.calls + stub.finished >= 12, timeout=60)
    finally:
        stub.release.set()
        for thread in threads:
            thread.join(timeout=60)
        sys.setswitchinterval(interval)
    assert stub.calls <= 5
    assert sorted(statuses) == [200] * stub.calls + [429] * (12 - stub.calls)
