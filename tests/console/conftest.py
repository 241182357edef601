"""Fixtures of the console tests: `app`, `client`, `auth` (a login is one line), partners.

The stage is provisioned into moto (`stage` fixture); the AWS APIs moto lacks
(TestEventPattern, GetUsage) are answered by the embedded stack's patches, exactly as when
the console runs in the embedded stack. Every POST carries a real CSRF token, read from a
page the way a browser would.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from console.identity import ADMINS
from tests.recorders import RecordedFlush, RecordedTrigger

PASSWORD = "Correct-Horse-42"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                  r'type="hidden" name="csrf_token" value="([^"]+)"')


def public_resolver(hostname: str) -> list[str]:
    """DNS for the tests: every name is public except the ones named `internal`."""
    if "internal" in hostname:
        return ["10.0.0.7"]
    return ["93.184.216.34"]


class ConsoleClient(FlaskClient):
    """A test client that sends the page's CSRF token with every form POST."""

    def csrf_token(self, **kwargs: Any) -> str:
        page = self.get("/auth/signup", **kwargs).get_data(as_text=True)
        match = CSRF.search(page)
        assert match, "no CSRF token on the page"
        return match.group(1) or match.group(2)

    def post(self, *args: Any, csrf: bool = True, **kwargs: Any):  # type: ignore[override]
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)):
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token(
                **({"base_url": kwargs["base_url"]} if "base_url" in kwargs else {})))
            kwargs["data"] = data
        return super().post(*args, **kwargs)


@pytest.fixture
def reconciles() -> RecordedTrigger:
    return RecordedTrigger()


@pytest.fixture
def flushes() -> RecordedFlush:
    return RecordedFlush()


@pytest.fixture
def app(stage, aws, clock, reconciles, flushes):
    from console import create_app
    from infra.local import patches

    patches.apply()
    config = dict(stage.environment_variables())
    config.update({
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SESSION_COOKIE_SECURE": False,
        "BOTO3_SESSION": aws,
        "CLOCK": clock,
        "ENDPOINT_RESOLVER": public_resolver,
        "RECONCILE_TRIGGER": reconciles,
        "AUTHORIZER_FLUSH": flushes,
    })
    app = create_app(config)
    app.test_client_class = ConsoleClient
    return app


@pytest.fixture
def client(app) -> ConsoleClient:
    return app.test_client()


class AuthActions:
    """Users and logins: `auth.login_partner()` is a logged-in partner client in one line."""

    def __init__(self, app, aws, stage):
        self.app = app
        self.cognito = aws.client("cognito-idp")
        self.stage = stage
        self._count = 0

    def create_user(self, email: str, *, admin: bool = False, password: str = PASSWORD) -> str:
        """A confirmed user (the test's shortcut past the emailed code)."""
        user_id = self.cognito.sign_up(ClientId=self.stage.user_pool_client_id, Username=email,
                                       Password=password,
                                       UserAttributes=[{"Name": "email", "Value": email}])[
            "UserSub"]
        self.cognito.admin_confirm_sign_up(UserPoolId=self.stage.user_pool_id, Username=email)
        if admin:
            self.cognito.admin_add_user_to_group(UserPoolId=self.stage.user_pool_id,
                                                 Username=user_id, GroupName=ADMINS)
        return user_id

    def login(self, client: ConsoleClient, email: str, password: str = PASSWORD):
        return client.post("/auth/login", data={"email": email, "password": password})

    def _email(self, kind: str) -> str:
        self._count += 1
        return f"{kind}{self._count}@example.com"

    def login_partner(self, email: str | None = None) -> ConsoleClient:
        client = self.app.test_client()
        email = email or self._email("partner")
        self.create_user(email)
        response = self.login(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.email = email  # type: ignore[attr-defined]
        return client

    def login_admin(self, email: str | None = None) -> ConsoleClient:
        client = self.app.test_client()
        email = email or self._email("admin")
        self.create_user(email, admin=True)
        response = self.login(client, email)
        assert response.status_code == 302, response.get_data(as_text=True)
        client.email = email  # type: ignore[attr-defined]
        return client


@pytest.fixture
def auth(app, aws, stage) -> AuthActions:
    return AuthActions(app, aws, stage)


def create_organisation(client: ConsoleClient, slug: str, name: str | None = None) -> str:
    """Create the logged-in partner's organisation through the console; returns its id."""
    response = client.post("/partners/new", data={
        "display_name": name or slug.replace("-", " ").title(), "slug": slug,
        "contact_email": f"ops@{slug}.example.com"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]


PUSH_SETTINGS = {
    "mode": "push",
    "endpoint_url": "https://hooks.acme.example.com/pgw",
    "auth_type": "API_KEY",
    "header_name": "x-api-key",
    "secret": "s3cr3t-value-never-shown",
    "rate_limit_per_second": "20",
    "maximum_event_age_seconds": "3600",
    "maximum_retry_attempts": "10",
}


@pytest.fixture
def partner_a(auth):
    """A logged-in partner with a draft organisation `acme` (returns client, partner id)."""
    client = auth.login_partner()
    return client, create_organisation(client, "acme")


@pytest.fixture
def partner_b(auth):
    client = auth.login_partner()
    return client, create_organisation(client, "globex")
