"""The local API Gateway: resource matching, proxy events, the Lambda authorizer, responses.

Each behaviour follows an AWS documentation page:
- proxy event and response format:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
- authorizer input and output, context stringified:
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
  https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
- default gateway responses (401, 403, 429, 502, ...):
  https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from werkzeug.test import Client

from infra.local.apigateway import (
    ApiGateway,
    Authorizer,
    GatewayError,
    GatewayResponse,
    IamAuth,
    Route,
    evaluate_policy,
    match_route,
    partner_api_routes,
    program_gateway_responses,
)
from infra.spec import problem_gateway_responses

PORTAL_TOKEN = "portal-secret-token-0123456789"
GOOD = "Bearer pgw_test_good"


class Functions:
    """Lambda functions for the gateway to call: record events, answer set responses."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.answers: dict[str, Any] = {}

    def invoke(self, name: str, event: dict[str, Any]) -> Any:
        self.events.setdefault(name, []).append(event)
        answer = self.answers.get(name)
        if callable(answer):
            return answer(event)
        if answer is not None:
            return answer
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
                "body": json.dumps({"function": name})}


def allow_policy(event: dict[str, Any], effect: str = "Allow", resource: str | None = None):
    return {"Version": "2012-10-17", "Statement": [{
        "Action": "execute-api:Invoke", "Effect": effect,
        "Resource": resource or event["methodArn"]}]}


def authorizer(event: dict[str, Any]) -> dict[str, Any]:
    token = (event.get("headers") or {}).get("Authorization") or event.get("authorizationToken")
    if token != GOOD:
        raise Exception("Unauthorized")
    return {"principalId": "p123:test", "policyDocument": allow_policy(event),
            "context": {"partner_id": "p123", "environment": "test", "rate": 10,
                        "trusted": True},
            "usageIdentifierKey": "pgw-test-pt-p123-test-usage-key"}


class Usage:
    def __init__(self) -> None:
        self.keys: list[str] = []

    def record(self, key_value: str) -> None:
        self.keys.append(key_value)


NAMES = {"partner_api": "partner-fn", "portal_api": "portal-fn", "authorizer": "auth-fn"}


@pytest.fixture
def functions() -> Functions:
    f = Functions()
    f.answers["auth-fn"] = authorizer
    return f


@pytest.fixture
def usage() -> Usage:
    return Usage()


@pytest.fixture
def gateway(functions, usage) -> ApiGateway:
    return ApiGateway(partner_api_routes(NAMES, portal_token=PORTAL_TOKEN), functions.invoke,
                      usage=usage)


@pytest.fixture
def client(gateway) -> Client:
    return Client(gateway)


ROUTES = partner_api_routes(NAMES, portal_token=PORTAL_TOKEN)


@pytest.mark.parametrize("method, path, resource, parameters", [
    ("GET", "/v1/requests", "/v1/requests", {}),
    ("GET", "/v1/requests/r-1", "/v1/requests/{id}", {"id": "r-1"}),
    ("POST", "/v1/requests/r-1/status", "/v1/requests/{id}/status", {"id": "r-1"}),
    ("GET", "/v1/requests/r-1/documents", "/v1/requests/{id}/documents", {"id": "r-1"}),
    ("GET", "/v1/openapi.json", "/v1/openapi.json", {}),
    # A literal beats the greedy proxy; a method without its own route falls to the proxy.
    ("DELETE", "/v1/requests/r-1", "/v1/{proxy+}", {"proxy": "requests/r-1"}),
    ("POST", "/v1/portal/requests", "/v1/portal/{proxy+}", {"proxy": "requests"}),
    ("PUT", "/v1/portal/users/u1/contact", "/v1/portal/{proxy+}",
     {"proxy": "users/u1/contact"}),
    ("GET", "/v1/unknown/deep/path", "/v1/{proxy+}", {"proxy": "unknown/deep/path"}),
])
def test_routes_match_as_api_gateway_resources(method, path, resource, parameters):
    route, found = match_route(ROUTES, method, path)
    assert route.resource == resource
    assert found == parameters


@pytest.mark.parametrize("method, path", [("GET", "/"), ("GET", "/v1"), ("GET", "/v2/requests")])
def test_paths_outside_the_tree_match_nothing(method, path):
    assert match_route(ROUTES, method, path) is None


def test_unknown_path_answers_missing_authentication_token(client, functions):
    response = client.get("/nothing/here")
    assert response.status_code == 403
    assert response.json == {"message": "Missing Authentication Token"}
    assert functions.events == {}


def test_proxy_event_has_the_rest_payload_format(client, functions):
    response = client.post("/v1/requests/r-42/status?x=1&x=2&y=3",
                           data=json.dumps({"status": "received"}),
                           headers={"Authorization": GOOD, "Idempotency-Key": "k1",
                                    "Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json == {"function": "partner-fn"}
    assert response.headers["x-amzn-RequestId"]
    event = functions.events["partner-fn"][0]
    assert event["resource"] == "/v1/requests/{id}/status"
    assert event["path"] == "/v1/requests/r-42/status"
    assert event["httpMethod"] == "POST"
    assert event["headers"]["Idempotency-Key"] == "k1"
    assert event["multiValueHeaders"]["Idempotency-Key"] == ["k1"]
    assert event["queryStringParameters"] == {"x": "2", "y": "3"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"], "y": ["3"]}
    assert event["pathParameters"] == {"id": "r-42"}
    assert json.loads(event["body"]) == {"status": "received"}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "local"
    assert context["path"] == "/local/v1/requests/r-42/status"
    assert context["resourcePath"] == "/v1/requests/{id}/status"
    assert context["identity"]["apiKey"] == "pgw-test-pt-p123-test-usage-key"
    # Context values arrive as strings, with the principal id beside them.
    assert context["authorizer"]["partner_id"] == "p123"
    assert context["authorizer"]["rate"] == "10"
    assert context["authorizer"]["trusted"] == "true"
    assert context["authorizer"]["principalId"] == "p123:test"


def test_empty_parts_are_null_and_binary_bodies_base64(client, functions):
    client.get("/v1/requests", headers={"Authorization": GOOD})
    event = functions.events["partner-fn"][0]
    assert event["body"] is None
    assert event["queryStringParameters"] is None
    assert event["pathParameters"] is None
    client.post("/v1/requests/r/status", data=b"\xff\xfe\x00", headers={"Authorization": GOOD})
    event = functions.events["partner-fn"][1]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe\x00"


@pytest.mark.parametrize("authorizer_type", ["REQUEST", "TOKEN"])
def test_authorizer_event_shapes(functions, authorizer_type):
    routes = partner_api_routes(NAMES, portal_token=PORTAL_TOKEN, authorizer_type=authorizer_type)
    client = Client(ApiGateway(routes, functions.invoke))
    assert client.get("/v1/requests/r-1", headers={"Authorization": GOOD}).status_code == 200
    event = functions.events["auth-fn"][0]
    assert event["type"] == authorizer_type
    assert event["methodArn"].endswith("/local/GET/v1/requests/r-1")
    if authorizer_type == "TOKEN":
        assert event["authorizationToken"] == GOOD
    else:
        assert event["headers"]["Authorization"] == GOOD
        assert event["pathParameters"] == {"id": "r-1"}
        assert "authorizer" not in event["requestContext"]


def test_missing_token_is_401_without_calling_the_authorizer(client, functions):
    response = client.get("/v1/requests")
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert "auth-fn" not in functions.events and "partner-fn" not in functions.events


def test_authorizer_unauthorized_is_401_and_the_handler_never_runs(client, functions, usage):
    response = client.get("/v1/requests", headers={"Authorization": "Bearer pgw_test_bad"})
    assert response.status_code == 401
    assert response.json == {"message": "Unauthorized"}
    assert "partner-fn" not in functions.events
    assert usage.keys == []


def test_explicit_deny_is_403(client, functions):
    functions.answers["auth-fn"] = lambda e: {"principalId": "x",
                                              "policyDocument": allow_policy(e, "Deny")}
    response = client.get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 403
    assert response.json == {
        "message": "User is not authorized to access this resource with an explicit deny"}
    assert "partner-fn" not in functions.events


@pytest.mark.parametrize("answer", [
    {"policyDocument": {"Statement": []}},  # no principal
    {"principalId": "x"},  # no policy
    {"principalId": "x", "policyDocument": {"Statement": [{"Effect": "Maybe"}]}},
    {"principalId": "x", "policyDocument": {"Statement": [{"Effect": "Allow", "Action": "*",
                                                           "Resource": "*"}]},
     "context": {"nested": {"no": "objects"}}},
    "not an object",
])
def test_malformed_authorizer_answers_are_500(client, functions, answer):
    functions.answers["auth-fn"] = answer
    response = client.get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 500
    assert response.json == {"message": None}
    assert "partner-fn" not in functions.events


def test_authorizer_crash_is_500(client, functions):
    def crash(event):
        raise RuntimeError("table missing")
    functions.answers["auth-fn"] = crash
    assert client.get("/v1/requests", headers={"Authorization": GOOD}).status_code == 500


def test_usage_is_recorded_per_authorised_call(client, usage):
    for _ in range(3):
        client.get("/v1/requests", headers={"Authorization": GOOD})
    assert usage.keys == ["pgw-test-pt-p123-test-usage-key"] * 3


def test_no_cache_by_default_a_revoked_token_fails_at_once(client, functions):
    assert client.get("/v1/requests", headers={"Authorization": GOOD}).status_code == 200
    functions.answers["auth-fn"] = lambda e: (_ for _ in ()).throw(Exception("Unauthorized"))
    assert client.get("/v1/requests", headers={"Authorization": GOOD}).status_code == 401


def test_cached_policy_is_evaluated_against_each_method_arn(functions):
    now = [1000.0]
    calls = []

    def narrow(event):  # allows only the method it was asked about
        calls.append(event["methodArn"])
        return {"principalId": "p", "policyDocument": allow_policy(event)}
    functions.answers["auth-fn"] = narrow
    routes = partner_api_routes(NAMES, portal_token=PORTAL_TOKEN, authorizer_ttl_seconds=300)
    client = Client(ApiGateway(routes, functions.invoke, clock=lambda: now[0]))
    headers = {"Authorization": GOOD}
    assert client.get("/v1/requests/a", headers=headers).status_code == 200
    assert client.get("/v1/requests/a", headers=headers).status_code == 200
    assert len(calls) == 1  # second call served from the cache
    # The cached policy names /v1/requests/a only: another resource is denied, as on AWS.
    denied = client.get("/v1/requests/b", headers=headers)
    assert denied.status_code == 403
    assert denied.json == {"message": "User is not authorized to access this resource"}
    now[0] += 301
    assert client.get("/v1/requests/b", headers=headers).status_code == 200
    assert len(calls) == 2


@pytest.mark.parametrize("resource, allowed", [
    ("arn:aws:execute-api:us-east-1:123456789012:localapi01/local/GET/v1/requests", True),
    ("arn:aws:execute-api:us-east-1:123456789012:localapi01/local/*/v1/*", True),
    ("arn:aws:execute-api:us-east-1:123456789012:localapi01/*", True),
    ("arn:aws:execute-api:us-east-1:123456789012:localapi01/local/POST/v1/requests", False),
    ("arn:aws:execute-api:us-east-1:123456789012:otherapi/local/GET/v1/requests", False),
])
def test_policy_resources_with_wildcards(resource, allowed):
    arn = "arn:aws:execute-api:us-east-1:123456789012:localapi01/local/GET/v1/requests"
    policy = {"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
                             "Resource": resource}]}
    assert evaluate_policy(policy, arn) is allowed


def test_deny_wins_over_allow():
    arn = "arn:aws:execute-api:us-east-1:123456789012:a/local/GET/v1/requests"
    policy = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"},
                            {"Effect": "Deny", "Action": "execute-api:*", "Resource": arn}]}
    assert evaluate_policy(policy, arn) is False
    with pytest.raises(GatewayError):
        evaluate_policy({"Version": "2012-10-17"}, arn)


def test_openapi_document_needs_no_token(client, functions):
    assert client.get("/v1/openapi.json").status_code == 200
    assert "auth-fn" not in functions.events


@pytest.mark.parametrize("header, status, message", [
    (None, 403, "Missing Authentication Token"),
    ("Bearer wrong-token", 403,
     "The request signature we calculated does not match the signature you provided."),
    (f"Basic {PORTAL_TOKEN}", 403,
     "The request signature we calculated does not match the signature you provided."),
])
def test_portal_routes_need_the_portal_identity(client, functions, header, status, message):
    headers = {"Authorization": header} if header else {}
    response = client.post("/v1/portal/requests", json={}, headers=headers)
    assert (response.status_code, response.json) == (status, {"message": message})
    assert "portal-fn" not in functions.events


def test_portal_identity_reaches_the_handler(client, functions):
    response = client.post("/v1/portal/requests", json={"a": 1},
                           headers={"Authorization": f"Bearer {PORTAL_TOKEN}"})
    assert response.status_code == 200
    identity = functions.events["portal-fn"][0]["requestContext"]["identity"]
    assert identity["userArn"].endswith(":role/portal")
    assert "auth-fn" not in functions.events


def test_response_headers_body_and_base64(client, functions):
    functions.answers["partner-fn"] = {
        "statusCode": 202, "headers": {"Content-Type": "application/problem+json"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b'{"ok":true}').decode(), "isBase64Encoded": True}
    response = client.get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 202
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers.getlist("Set-Cookie") == ["a=1", "b=2"]
    assert response.data == b'{"ok":true}'


@pytest.mark.parametrize("answer", [
    None, {"body": "x"}, {"statusCode": "200"}, {"statusCode": 99},
    {"statusCode": 200, "body": {"not": "a string"}},
    {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    lambda event: 1 / 0,
])
def test_function_errors_and_malformed_responses_are_502(client, functions, answer):
    functions.answers["partner-fn"] = answer if answer is not None else (lambda e: None)
    response = client.get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 502
    assert response.json == {"message": "Internal server error"}


def test_gateway_responses_can_be_overridden(functions):
    problem = GatewayResponse(
        401, "Unauthorized", {"Content-Type": "application/problem+json"},
        template='{"type":"about:blank","title":"Unauthorized","status":401,'
                 '"detail":$context.error.messageString}')
    gateway = ApiGateway(ROUTES, functions.invoke, gateway_responses={"UNAUTHORIZED": problem})
    response = Client(gateway).get("/v1/requests")
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == "Unauthorized"


def _cached_gateway(functions, now):
    routes = partner_api_routes(NAMES, portal_token=PORTAL_TOKEN, authorizer_ttl_seconds=60)
    return ApiGateway(routes, functions.invoke, clock=lambda: now[0])


def test_a_flush_empties_the_authorizer_cache(functions):
    """FlushStageAuthorizersCache: a revoked token is refused on its next call, not when
    the cached Allow expires."""
    now = [1000.0]
    gateway = _cached_gateway(functions, now)
    client = Client(gateway)
    headers = {"Authorization": GOOD}
    assert client.get("/v1/requests", headers=headers).status_code == 200
    functions.answers["auth-fn"] = lambda e: (_ for _ in ()).throw(Exception("Unauthorized"))
    now[0] += 1
    assert client.get("/v1/requests", headers=headers).status_code == 200  # cached, as on AWS
    gateway.flush_authorizer_cache()
    assert client.get("/v1/requests", headers=headers).status_code == 401


def _program_gateway(functions) -> Client:
    return Client(ApiGateway(ROUTES, functions.invoke,
                             gateway_responses=program_gateway_responses(
                                 problem_gateway_responses())))


def test_a_deny_answers_problem_json_with_the_authorizers_reason(functions):
    functions.answers["auth-fn"] = lambda e: {
        "principalId": "p1", "policyDocument": allow_policy(e, "Deny"),
        "context": {"partner_id": "p1", "deny_reason": "partner is suspended"}}
    response = _program_gateway(functions).get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 403
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = response.json
    assert problem["status"] == 403 and problem["reason"] == "partner is suspended"
    assert problem["type"] == "about:blank" and problem["title"]
    assert problem["detail"] == \
        "User is not authorized to access this resource with an explicit deny"
    assert problem["instance"] == response.headers["x-amzn-RequestId"]


def test_a_deny_without_a_reason_has_an_empty_one(functions):
    functions.answers["auth-fn"] = lambda e: {"principalId": "p1",
                                              "policyDocument": allow_policy(e, "Deny")}
    response = _program_gateway(functions).get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 403 and response.json["reason"] == ""


@pytest.mark.parametrize("path, headers, status", [
    ("/v1/requests", {}, 401),
    ("/elsewhere", {}, 404),  # the program answers MISSING_AUTHENTICATION_TOKEN with 404
])
def test_the_programs_gateway_responses_apply(functions, path, headers, status):
    response = _program_gateway(functions).get(path, headers=headers)
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["status"] == status


def test_types_without_their_own_response_fall_back_to_the_program_defaults(functions):
    functions.answers["partner-fn"] = {"statusCode": "not a number"}
    response = _program_gateway(functions).get("/v1/requests", headers={"Authorization": GOOD})
    assert response.status_code == 502  # INTEGRATION_FAILURE keeps its status under DEFAULT_5XX
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["title"] == "The gateway failed to serve the request"


def test_request_counts_are_kept_per_function(gateway, client):
    client.get("/v1/requests", headers={"Authorization": GOOD})
    client.get("/v1/openapi.json")
    assert gateway.request_counts == {"partner-fn": 2, "auth-fn (authorizer)": 1}


@pytest.mark.parametrize("kwargs", [{"type": "COGNITO"}, {"type": "TOKEN",
                                                          "identity_headers": ("A", "B")}])
def test_bad_authorizer_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        Authorizer("fn", **kwargs)


def test_routes_need_absolute_resources():
    with pytest.raises(ValueError):
        Route("GET", "v1/x", "fn")
    assert IamAuth("t").caller_arn.startswith("arn:aws:iam::")


def test_without_a_portal_token_the_authorizer_checks_the_portal(functions):
    routes = partner_api_routes(NAMES)
    client = Client(ApiGateway(routes, functions.invoke))
    assert client.post("/v1/portal/requests", json={}).status_code == 401
    response = client.post("/v1/portal/requests", json={}, headers={"Authorization": GOOD})
    assert response.status_code == 200
    event = functions.events["portal-fn"][0]
    assert event["requestContext"]["authorizer"]["principalId"] == "p123:test"
    assert functions.events["auth-fn"][0]["path"] == "/v1/portal/requests"
