"""The factory, settings, security headers and error pages."""

from __future__ import annotations

import pytest

from console import create_app
from console.config import allow_insecure, partner_environments, settings_from_environment
from console.security import safe_next
from partners.core.constants import Env


def test_create_app_refuses_missing_settings():
    with pytest.raises(RuntimeError, match="PGW_PARTNERS_TABLE"):
        create_app({"SECRET_KEY": "x"})


def test_instance_settings_come_from_env_variables(monkeypatch, stage):
    for name, value in stage.environment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLASK_SECRET_KEY", "from-env")
    monkeypatch.setenv("FLASK_SESSION_COOKIE_SECURE", "false")
    app = create_app()
    assert app.config[Env.PARTNERS_TABLE] == stage.spec.tables["partners"].name
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_cookie_defaults_are_secure(app):
    config = create_app.__globals__["DefaultConfig"]
    assert config.SESSION_COOKIE_SECURE and config.SESSION_COOKIE_HTTPONLY
    assert config.SESSION_COOKIE_SAMESITE == "Lax"


@pytest.mark.parametrize("value, expected", [
    ("true", True), ("1", True), ("yes", True), ("false", False), ("", False), (None, False),
    (True, True)])
def test_allow_insecure_reads_the_setting(value, expected):
    assert allow_insecure({Env.ALLOW_INSECURE_ENDPOINTS: value}) is expected


def test_partner_environments_default_and_custom():
    assert partner_environments({}) == ("prod", "test", "dev")
    assert partner_environments({Env.PARTNER_ENVIRONMENTS: "live, sandbox"}) == ("live",
                                                                                 "sandbox")
    assert settings_from_environment({})[Env.PARTNER_ENVIRONMENTS] == "prod,test,dev"


@pytest.mark.parametrize("target, expected", [
    ("/partners/p1", "/partners/p1"),
    ("/admin/?x=1", "/admin/?x=1"),
    ("https://evil.example.com/", "/"),
    ("//evil.example.com/", "/"),
    ("/\\evil.example.com", "/"),
    ("javascript:alert(1)", "/"),
    ("partners", "/"),
    ("", "/"),
    (None, "/"),
    ("/ok\r\nSet-Cookie: x", "/"),
])
def test_safe_next(target, expected):
    assert safe_next(target, "/") == expected


def test_security_headers_on_every_page(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers  # plain http in tests
    assert response.headers["Cache-Control"] == "no-store"


def test_https_post_from_another_site_is_refused(client, auth):
    auth.create_user("x@example.com")
    response = client.post("/auth/login", data={"email": "x@example.com",
                                                "password": "Correct-Horse-42"},
                           base_url="https://console.example.com",
                           headers={"Referer": "https://evil.example.net/"})
    assert response.status_code == 400


def test_hsts_under_https(client):
    response = client.get("/auth/login", base_url="https://console.example.com")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_inline_script_or_style_in_pages(app, client):
    page = client.get("/auth/signup").get_data(as_text=True)
    assert "<script>" not in page and "<script src=" in page
    assert "style=" not in page and "onclick" not in page


def test_session_cookie_flags(app, auth):
    app.config["SESSION_COOKIE_SECURE"] = True
    client = app.test_client()
    auth.create_user("cookie@example.com")
    # Under https Flask-WTF also wants a same-origin Referer (the Referrer-Policy
    # `same-origin` lets browsers send it).
    response = client.post("/auth/login", data={"email": "cookie@example.com",
                                                "password": "Correct-Horse-42"},
                           base_url="https://console.example.com",
                           headers={"Referer": "https://console.example.com/auth/login"})
    assert response.status_code == 302
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("pgw_session=")]
    assert cookie and "Secure" in cookie[-1] and "HttpOnly" in cookie[-1]
    assert "SameSite=Lax" in cookie[-1]


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_wrong_method_is_405_not_500(client):
    assert client.get("/auth/logout").status_code == 405


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_index_redirects_by_role(client, auth):
    assert client.get("/").headers["Location"].endswith("/auth/login")
    partner = auth.login_partner()
    assert partner.get("/").headers["Location"].endswith("/partners/")
    admin = auth.login_admin()
    assert admin.get("/").headers["Location"].endswith("/admin/")
