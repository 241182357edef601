"""API Gateway for tests: REST proxy events, the Lambda authorizer in front, problem bodies.

`Gateway.call` does what API Gateway's REST API does for our routes: run the authorizer
(REQUEST type) on the `Authorization` header, answer 401/403 with the gateway responses of
`handlers.problems.GATEWAY_RESPONSES` when it refuses, otherwise evaluate its policy for the
method ARN and invoke the integration with the authorizer's context in
`requestContext.authorizer`.
"""

from __future__ import annotations

import base64
import fnmatch
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import parse_qsl

from handlers.problems import GATEWAY_RESPONSES

API_ARN = "arn:aws:execute-api:us-east-1:123456789012:api1234567/test"


class LambdaContext:
    function_name = "test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:test-function"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def proxy_event(method: str, path: str, *, headers: Mapping[str, str] | None = None,
                query: Mapping[str, str] | str | None = None, body: Any = None,
                authorizer: Mapping[str, Any] | None = None,
                identity: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A REST API (v1) Lambda proxy event; `body` may be a dict (sent as JSON) or str/bytes."""
    headers = dict(headers or {})
    is_base64 = False
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        headers.setdefault("Content-Type", "application/json")
    elif isinstance(body, bytes):
        body, is_base64 = base64.b64encode(body).decode(), True
    pairs = parse_qsl(query, keep_blank_values=True) if isinstance(query, str) else \
        list((query or {}).items())
    single = {k: v for k, v in pairs} or None
    multi: dict[str, list[str]] = {}
    for k, v in pairs:
        multi.setdefault(k, []).append(v)
    return {
        "resource": path, "path": path, "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {k: [v] for k, v in headers.items()} or None,
        "queryStringParameters": single, "multiValueQueryStringParameters": multi or None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api1234567", "stage": "test",
            "httpMethod": method, "path": f"/test{path}", "resourcePath": path,
            "requestId": str(uuid.uuid4()), "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "pytest", **(identity or {})},
            **({"authorizer": dict(authorizer)} if authorizer is not None else {}),
        },
        "body": body, "isBase64Encoded": is_base64,
    }


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")


def _allowed(policy: Mapping[str, Any], method_arn: str) -> bool:
    verdict = False
    for statement in policy.get("Statement", []):
        resources = statement.get("Resource", [])
        resources = [resources] if isinstance(resources, str) else resources
        if any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            if statement["Effect"] == "Deny":
                return False
            verdict = True
    return verdict


@dataclass
class Gateway:
    """The REST API in front of one integration handler."""

    handler: Callable[[dict[str, Any], Any], dict[str, Any]]
    authorizer: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
    public_paths: tuple[str, ...] = ("/v1/openapi.json",)
    usage_keys: list[str] = field(default_factory=list)

    def call(self, method: str, path: str, *, headers: Mapping[str, str] | None = None,
             query: Mapping[str, str] | str | None = None, body: Any = None) -> HttpResponse:
        context = None
        if self.authorizer is not None and path not in self.public_paths:
            method_arn = f"{API_ARN}/{method}/{path.lstrip('/')}"
            auth_event = {"type": "REQUEST", "methodArn": method_arn,
                          "resource": path, "path": path, "httpMethod": method,
                          "headers": dict(headers or {})}
            try:
                result = self.authorizer(auth_event, LambdaContext())
            except Exception as error:  # noqa: BLE001 - API Gateway: "Unauthorized" -> 401
                assert str(error) == "Unauthorized", error
                return self._gateway_response("UNAUTHORIZED")
            if not _allowed(result["policyDocument"], method_arn):
                return self._gateway_response("ACCESS_DENIED")
            context = {**result.get("context", {}), "principalId": result["principalId"]}
            if result.get("usageIdentifierKey"):
                self.usage_keys.append(result["usageIdentifierKey"])
        event = proxy_event(method, path, headers=headers, query=query, body=body,
                            authorizer=context)
        response = self.handler(event, LambdaContext())
        headers_out = dict(response.get("headers") or {})
        for key, values in (response.get("multiValueHeaders") or {}).items():
            headers_out[key] = ", ".join(values)
        text = response.get("body") or ""
        if response.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return HttpResponse(response["statusCode"], headers_out, text)

    @staticmethod
    def _gateway_response(kind: str) -> HttpResponse:
        body = GATEWAY_RESPONSES[kind]
        return HttpResponse(body["status"], {"Content-Type": "application/problem+json"},
                            json.dumps(body))
