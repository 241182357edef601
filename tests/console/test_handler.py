"""The console behind API Gateway: `handlers/console.py` through apig-wsgi."""

from __future__ import annotations

import json

import pytest


def _event(path: str, *, method: str = "GET", headers: dict | None = None,
           source_ip: str = "198.51.100.7", body: str | None = None) -> dict:
    headers = {"Host": "console.example.com", "X-Forwarded-Proto": "https", **(headers or {})}
    return {
        "resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None, "pathParameters": {"proxy": path[1:]},
        "stageVariables": None, "body": body, "isBase64Encoded": False,
        "requestContext": {"identity": {"sourceIp": source_ip}, "stage": "prod",
                           "path": path, "httpMethod": method},
    }


@pytest.fixture
def handler(monkeypatch, stage, aws):
    for name, value in stage.environment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLASK_SECRET_KEY", "handler-test-key")
    import handlers.console

    with handlers.console.dependencies.override(handlers.console.build_console()):
        yield handlers.console


def test_serves_pages_with_security_headers_over_https(handler):
    response = handler.lambda_handler(_event("/auth/login"), None)
    assert response["statusCode"] == 200
    headers = {k: v[-1] for k, v in response["multiValueHeaders"].items()}
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "Log in" in response["body"]


def test_unknown_path_is_a_404_page(handler):
    response = handler.lambda_handler(_event("/nope"), None)
    assert response["statusCode"] == 404 and "Not found" in response["body"]


def test_health(handler):
    response = handler.lambda_handler(_event("/healthz"), None)
    assert json.loads(response["body"]) == {"status": "ok"}


def test_throttling_uses_the_source_ip_not_x_forwarded_for(handler):
    app = handler.dependencies.get().app
    with app.test_request_context(environ_overrides={
            "apig_wsgi.request_context": {"identity": {"sourceIp": "203.0.113.5"}},
            "REMOTE_ADDR": "10.9.9.9"}):
        from console.security import client_address

        assert client_address() == "203.0.113.5"
    with app.test_request_context(environ_overrides={
            "apig_wsgi.request_context": {"http": {"sourceIp": "203.0.113.6"}}}):
        assert client_address() == "203.0.113.6"
    with app.test_request_context(environ_overrides={"REMOTE_ADDR": "192.0.2.1"}):
        assert client_address() == "192.0.2.1"
