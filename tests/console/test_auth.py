"""Sign up, confirm, log in (throttled), log out, reset the password; session re-checks."""

from __future__ import annotations

import pytest

from tests.console.conftest import PASSWORD


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


def test_signup_twice_says_the_account_exists(client, auth):
    auth.create_user("taken@example.com")
    response = client.post("/auth/signup", data={"email": "taken@example.com",
                                                 "password": PASSWORD, "confirm": PASSWORD})
    assert "already exists" in response.get_data(as_text=True)


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
    assert "Too many failed attempts" in response.get_data(as_text=True)
    clock.advance(minutes=16)
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


def test_forgot_for_an_unknown_email_says_the_same(client):
    response = client.post("/auth/forgot", data={"email": "nobody@example.com"})
    assert response.status_code == 302


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
