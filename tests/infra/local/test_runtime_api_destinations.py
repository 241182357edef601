"""EventBridge's HTTP call to an API destination, against a real loopback endpoint."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from infra.local.runtime.api_destinations import (
    ApiDestinationCaller,
    CallResult,
    Destination,
    fill_path_parameters,
    parse_retry_after,
)
from tests.infra.local.runtime_support import Received, Reply, endpoint  # noqa: F401


def destination(url: str, kind: str = "API_KEY", **auth) -> Destination:
    parameters = {
        "API_KEY": {"ApiKeyAuthParameters": {"ApiKeyName": "x-partner-key",
                                             "ApiKeyValue": "s3cret"}},
        "BASIC": {"BasicAuthParameters": {"Username": "user", "Password": "pa:ss"}},
        "OAUTH_CLIENT_CREDENTIALS": {"OAuthParameters": {
            "AuthorizationEndpoint": f"{url}/token", "HttpMethod": "POST",
            "ClientParameters": {"ClientID": "client", "ClientSecret": "shh"},
            "OAuthHttpParameters": {"BodyParameters": [
                {"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]},
        }},
    }[kind]
    parameters.update(auth)
    return Destination(arn="arn:aws:events:us-east-1:123456789012:api-destination/d/1",
                       endpoint=f"{url}/hook", http_method="POST",
                       connection_arn="arn:aws:events:us-east-1:123456789012:connection/c/1",
                       authorization_type=kind, auth_parameters=parameters)


def test_call_carries_eventbridge_headers_body_and_api_key(endpoint):
    """AWS documentation "API destinations" (eb-api-destinations): EventBridge's User-Agent,
    Content-Type, Range and Connection headers; "Connections" (eb-target-connection-auth):
    the API key goes in the header the connection names."""
    result = ApiDestinationCaller().call(destination(endpoint.url), '{"a": "b"}')
    assert result == CallResult(200)
    request = endpoint.received[0]
    assert request.method == "POST" and request.path == "/hook"
    assert request.body == b'{"a": "b"}'
    assert request.headers["user-agent"] == "Amazon/EventBridge/ApiDestinations"
    assert request.headers["content-type"] == "application/json; charset=utf-8"
    assert request.headers["range"] == "bytes=0-1048575"
    assert request.headers["connection"] == "close"
    assert request.headers["x-partner-key"] == "s3cret"


def test_basic_auth(endpoint):
    """eb-target-connection-auth: Basic authorization with the connection's user and password."""
    ApiDestinationCaller().call(destination(endpoint.url, "BASIC"), "{}")
    expected = "Basic " + base64.b64encode(b"user:pa:ss").decode()
    assert endpoint.received[0].headers["authorization"] == expected


def test_invocation_and_target_http_parameters(endpoint):
    """eb-target-connection-auth "InvocationHttpParameters" and the target's HttpParameters
    (headers, query strings, path parameter values for `*`)."""
    target = destination(endpoint.url, InvocationHttpParameters={
        "HeaderParameters": [{"Key": "x-conn", "Value": "1", "IsValueSecret": False}],
        "QueryStringParameters": [{"Key": "q1", "Value": "a", "IsValueSecret": False}]})
    target = Destination(**{**target.__dict__, "endpoint": f"{endpoint.url}/p/*/x"})
    ApiDestinationCaller().call(target, "{}", {"HeaderParameters": {"x-target": "2"},
                                               "QueryStringParameters": {"q2": "b"},
                                               "PathParameterValues": ["id-1"]})
    request = endpoint.received[0]
    assert request.path == "/p/id-1/x?q1=a&q2=b"
    assert request.headers["x-conn"] == "1" and request.headers["x-target"] == "2"


def _oauth(token_answers):
    answers = iter(token_answers)

    def reply(request: Received) -> Reply:
        if request.path.startswith("/token"):
            return next(answers)
        token = request.headers.get("authorization", "")
        return Reply(200 if token == "Bearer fresh" else 401)
    return reply


def test_oauth_token_is_fetched_once_cached_and_refreshed_on_401(endpoint):
    """eb-target-connection-auth: OAuth client credentials: EventBridge gets a token from the
    authorization endpoint (client id/secret, the OAuth HTTP parameters), keeps it, and
    refreshes it when the endpoint answers 401."""
    answers = [Reply(200, json.dumps({"access_token": "stale", "expires_in": 3600}).encode()),
               Reply(200, json.dumps({"access_token": "fresh", "expires_in": 3600}).encode())]
    endpoint.default = None
    endpoint.script.extend([_oauth(answers)] * 10)
    caller = ApiDestinationCaller()
    target = destination(endpoint.url, "OAUTH_CLIENT_CREDENTIALS")
    assert caller.call(target, "{}").status == 200  # stale -> 401 -> new token -> 200
    assert caller.call(target, "{}").status == 200  # cached fresh token
    paths = [r.path for r in endpoint.received]
    assert paths == ["/token", "/hook", "/token", "/hook", "/hook"]
    token_request = endpoint.received[0]
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(
        b"client:shh").decode()
    assert token_request.body == b"grant_type=client_credentials"


def test_oauth_token_endpoint_failure_is_a_failed_call(endpoint):
    endpoint.default = Reply(503)
    result = ApiDestinationCaller().call(destination(endpoint.url, "OAUTH_CLIENT_CREDENTIALS"), "{}")
    assert result.status == 503 and result.error_code == "CONNECTION_AUTH_FAILURE"
    assert result.retryable


@pytest.mark.parametrize("status, succeeded, retryable", [
    (200, True, False), (202, True, False), (302, False, False), (400, False, False),
    (401, False, False), (404, False, False), (409, False, False), (429, False, True),
    (500, False, True), (502, False, True), (503, False, True),
])
def test_which_answers_are_retried(endpoint, status, succeeded, retryable):
    """eb-api-destinations, "Retries": 429 and 5xx are retried; 1xx-3xx and other 4xx not."""
    endpoint.default = Reply(status)
    result = ApiDestinationCaller().call(destination(endpoint.url), "{}")
    assert (result.status, result.succeeded) == (status, succeeded)
    assert result.retryable is retryable


def test_a_timed_out_call_is_retryable(endpoint):
    """eb-api-destinations: a call times out after 5 s (here shortened) and is retried."""
    endpoint.default = Reply(200, delay=0.5)
    result = ApiDestinationCaller(timeout=0.1).call(destination(endpoint.url), "{}")
    assert result.status is None and result.error_code == "TIMEOUT" and result.retryable


def test_an_unreachable_endpoint_is_retryable():
    result = ApiDestinationCaller(timeout=0.5).call(destination("http://127.0.0.1:9"), "{}")
    assert result.status is None and result.retryable


def test_retry_after_is_read_from_429(endpoint):
    endpoint.default = Reply(429, headers={"Retry-After": "7"})
    assert ApiDestinationCaller().call(destination(endpoint.url), "{}").retry_after == 7.0


@pytest.mark.parametrize("header, expected", [
    ("12", 12.0), ("0", 0.0), ("soon", None), (None, None),
])
def test_parse_retry_after_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_parse_retry_after_http_date():
    now = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    header = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(header, now=now.timestamp()) == pytest.approx(30.0)


@pytest.mark.parametrize("endpoint_url, values, expected", [
    ("https://x/a/*/b/*", ["1", "2"], "https://x/a/1/b/2"),
    ("https://x/a", ["1"], "https://x/a"),
    ("https://x/*", None, "https://x/*"),
])
def test_path_parameters(endpoint_url, values, expected):
    assert fill_path_parameters(endpoint_url, values) == expected
