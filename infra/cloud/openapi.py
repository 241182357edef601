"""API Gateway REST definitions (OpenAPI 3.0 with `x-amazon-apigateway-*` extensions).

The partner API's routes come from the repository's OpenAPI document when it exists
(`handlers/openapi/`), else from `PARTNER_ROUTES`; every route is a Lambda proxy integration
of the partner API function, behind the token authorizer and a usage-plan key, with request
validation. API Gateway's own errors (401, 403, 400, 429, 404) are shaped as RFC 9457
problem+json like the handlers' errors. The portal API is IAM-authorised and proxies its
resources to the portal function.

Everything here is pure: the components resolve ARNs first and call these with strings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from infra.cloud.schemas import to_draft4
# API Gateway's own errors as problem+json: one table for the cloud and the embedded stack.
from infra.spec import problem_gateway_responses

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_DIR = REPO_ROOT / "handlers" / "openapi"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

TOKEN_SCHEME = "partnerToken"
USAGE_KEY_SCHEME = "usageKey"
# API Gateway checks the required parameters (path, `Idempotency-Key`) and answers 400
# problem+json. Bodies are validated by the handler against the same schema, because the
# partner API's contract answers body errors with 422 and a JSON pointer per field, which
# API Gateway's validator cannot produce; the models are still published with the API.
# Authorizer decisions are cached per token for a minute, so a busy partner costs one
# authorizer call a minute, not one a request; revoking or rotating a token and suspending a
# partner flush the cache (console/authorizer_cache.py), so those take effect at once.
AUTHORIZER_CACHE_SECONDS = 60
VALIDATOR = "parameters"


@dataclass(frozen=True)
class Route:
    """One operation: method, path, whether it needs a partner token, required parameters."""

    method: str
    path: str
    authorized: bool = True
    headers: tuple[str, ...] = ()
    query: tuple[str, ...] = ()
    body_schema: Mapping[str, Any] | None = None

    @property
    def path_parameters(self) -> tuple[str, ...]:
        return tuple(part[1:-1].rstrip("+") for part in self.path.split("/")
                     if part.startswith("{") and part.endswith("}"))


# The partner API when no OpenAPI document is in the repository (DESIGN.md "Partner API").
PARTNER_ROUTES: tuple[Route, ...] = (
    Route("get", "/v1/requests"),
    Route("get", "/v1/requests/{request_id}"),
    Route("post", "/v1/requests/{request_id}/status", headers=("Idempotency-Key",)),
    Route("get", "/v1/requests/{request_id}/documents"),
    Route("get", "/v1/openapi.json", authorized=False),
)

# The user portal's intake and contacts (handlers/portal_api.py, handlers/portal_contacts.py).
PORTAL_ROUTES: tuple[Route, ...] = (
    Route("post", "/v1/portal/requests"),
    Route("get", "/v1/portal/requests/{request_id}"),
    Route("post", "/v1/portal/requests/{request_id}/documents"),
    Route("get", "/v1/portal/users/{user_id}/contact"),
    Route("put", "/v1/portal/users/{user_id}/contact"),
)

def openapi_document(directory: Path = OPENAPI_DIR) -> dict[str, Any] | None:
    """The repository's OpenAPI document (JSON or YAML), or None when there is none yet."""
    if not directory.is_dir():
        return None
    for candidate in sorted(directory.iterdir()):
        if candidate.suffix == ".json":
            loaded = json.loads(candidate.read_text())
        elif candidate.suffix in (".yaml", ".yml"):
            import yaml  # only when the document is YAML

            loaded = yaml.safe_load(candidate.read_text())
        else:
            continue
        if isinstance(loaded, dict) and "paths" in loaded:
            return loaded
    return None


def routes_from_document(document: Mapping[str, Any]) -> tuple[Route, ...]:
    """The routes of an OpenAPI document: operations, required parameters, JSON bodies."""
    global_security = document.get("security")
    routes = []
    for path, item in sorted(document.get("paths", {}).items()):
        shared = item.get("parameters", [])
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            parameters = [*shared, *operation.get("parameters", [])]
            security = operation.get("security", global_security)
            body = (operation.get("requestBody", {}).get("content", {})
                    .get("application/json", {}).get("schema"))
            routes.append(Route(
                method=method,
                path=path,
                authorized=security != [],
                headers=tuple(p["name"] for p in parameters
                              if p.get("in") == "header" and p.get("required")),
                query=tuple(p["name"] for p in parameters
                            if p.get("in") == "query" and p.get("required")),
                body_schema=body,
            ))
    return tuple(routes)


def partner_routes(directory: Path = OPENAPI_DIR) -> tuple[Route, ...]:
    """The partner API's routes: from the OpenAPI document if present, else `PARTNER_ROUTES`."""
    document = openapi_document(directory)
    return routes_from_document(document) if document else PARTNER_ROUTES


def partner_schemas(directory: Path = OPENAPI_DIR) -> dict[str, Any]:
    """The `components.schemas` of the partner API's document (for `$ref`s in bodies)."""
    document = openapi_document(directory) or {}
    return dict(document.get("components", {}).get("schemas", {}))


def _integration(function_invoke_arn: str) -> dict[str, Any]:
    return {"type": "aws_proxy", "httpMethod": "POST", "uri": function_invoke_arn,
            "passthroughBehavior": "when_no_match", "timeoutInMillis": 29000}


def _parameters(route: Route) -> list[dict[str, Any]]:
    parameters = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in route.path_parameters]
    parameters += [{"name": n, "in": "header", "required": True, "schema": {"type": "string"}}
                   for n in route.headers]
    parameters += [{"name": n, "in": "query", "required": True, "schema": {"type": "string"}}
                   for n in route.query]
    return parameters


def _model_name(route: Route) -> str:
    words = [w.strip("{}") for w in route.path.split("/") if w]
    return "".join(w.title().replace("_", "").replace(".", "") for w in [route.method, *words])


def _resolve_refs(schema: Any, components: Mapping[str, Any]) -> Any:
    """Inline `#/components/schemas/...` references (API Gateway models must be standalone)."""
    if isinstance(schema, list):
        return [_resolve_refs(item, components) for item in schema]
    if not isinstance(schema, dict):
        return schema
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/components/schemas/"):
        return _resolve_refs(components[reference.rsplit("/", 1)[1]], components)
    return {key: _resolve_refs(value, components) for key, value in schema.items()}


def partner_api_body(routes: Iterable[Route], *, title: str, handler_invoke_arn: str,
                     authorizer_invoke_arn: str,
                     components: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The partner REST API: every route -> the partner API function, authorised routes
    behind the REQUEST authorizer and a usage-plan key (API key source AUTHORIZER)."""
    paths: dict[str, Any] = {}
    models: dict[str, Any] = {}
    for route in routes:
        operation: dict[str, Any] = {
            "operationId": _model_name(route),
            "parameters": _parameters(route),
            "responses": {"default": {"description": "See the partner API's OpenAPI document"}},
            "x-amazon-apigateway-integration": _integration(handler_invoke_arn),
        }
        if route.authorized:
            operation["security"] = [{TOKEN_SCHEME: [], USAGE_KEY_SCHEME: []}]
        else:
            operation["security"] = []
        if route.body_schema is not None:
            name = _model_name(route)
            schema = to_draft4(_resolve_refs(dict(route.body_schema), components or {}))
            schema.pop("$schema", None)
            models[name] = schema
            operation["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}
        paths.setdefault(route.path, {})[route.method] = operation
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": paths,
        "components": {
            "schemas": models,
            "securitySchemes": {
                TOKEN_SCHEME: {
                    "type": "apiKey",
                    "name": "Authorization",
                    "in": "header",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {
                        "type": "request",
                        "identitySource": "method.request.header.Authorization",
                        "authorizerUri": authorizer_invoke_arn,
                        "authorizerResultTtlInSeconds": AUTHORIZER_CACHE_SECONDS,
                    },
                },
                # With key source AUTHORIZER the authorizer supplies the usage-plan key; the
                # partner never sends x-api-key (one credential, DESIGN.md "Partner API").
                USAGE_KEY_SCHEME: {"type": "apiKey", "name": "x-api-key", "in": "header"},
            },
        },
        "x-amazon-apigateway-api-key-source": "AUTHORIZER",
        "x-amazon-apigateway-request-validators": {
            VALIDATOR: {"validateRequestBody": False, "validateRequestParameters": True},
            "all": {"validateRequestBody": True, "validateRequestParameters": True}},
        "x-amazon-apigateway-request-validator": VALIDATOR,
        "x-amazon-apigateway-gateway-responses": problem_gateway_responses(),
    }


def portal_api_body(*, title: str, handler_invoke_arn: str,
                    routes: Iterable[Route] = PORTAL_ROUTES) -> dict[str, Any]:
    """The user portal's REST API: every route -> the portal function, IAM-authorised (SigV4)."""
    paths: dict[str, Any] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method] = {
            "operationId": _model_name(route),
            "parameters": _parameters(route),
            "x-amazon-apigateway-auth": {"type": "AWS_IAM"},
            "responses": {"default": {"description": "See the portal function"}},
            "x-amazon-apigateway-integration": _integration(handler_invoke_arn),
        }
    return {
        "openapi": "3.0.1",
        "info": {"title": title, "version": "1.0"},
        "paths": paths,
        "x-amazon-apigateway-request-validators": {
            "parameters": {"validateRequestBody": False, "validateRequestParameters": True}},
        "x-amazon-apigateway-request-validator": "parameters",
        "x-amazon-apigateway-gateway-responses": problem_gateway_responses(),
    }


def integrations(body: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    """(method, path) -> integration URI of every operation of a body (for tests and review)."""
    found = {}
    for path, item in body["paths"].items():
        for method, operation in item.items():
            integration = operation.get("x-amazon-apigateway-integration")
            if integration:
                found[(method, path)] = integration["uri"]
    return found
