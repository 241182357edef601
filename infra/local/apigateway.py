"""API Gateway (REST) for the embedded stack: HTTP in, Lambda proxy events out.

moto stores REST APIs but does not run them, so this WSGI app plays API Gateway in front of
the handler functions, with the behaviours the product relies on:

- a resource tree (`/v1/requests/{id}/status`, `/v1/portal/{proxy+}`, ...) matched the way
  API Gateway matches it: literal segments before `{param}`, `{proxy+}` greedy; an unknown
  path or method answers 403 `Missing Authentication Token`, as API Gateway does;
- a Lambda authorizer (REQUEST or TOKEN) on the partner routes, called before the handler,
  its policy evaluated against the method ARN (401 `Unauthorized`, 403 explicit deny,
  500 on a malformed answer), its context flattened to strings into
  `requestContext.authorizer`, results cached only when a TTL is configured (default 0:
  a revoked token is refused on the very next call);
- usage recorded against the authorizer's `usageIdentifierKey` (API key source AUTHORIZER);
- REST-format (payload 1.0) Lambda proxy events and responses; a handler that raises or
  answers a malformed response gives 502 `Internal server error`.

Gateway error bodies follow AWS's default gateway responses; `gateway_responses` overrides
them per type exactly like `AWS::ApiGateway::GatewayResponse`.

AWS documentation followed:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import hmac
import json
import logging
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Protocol

from werkzeug.wrappers import Request, Response

logger = logging.getLogger(__name__)

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota (10 MB)

# `invoke(function, event)` runs a Lambda function in-process and returns what it returned.
Invoke = Callable[[str, dict[str, Any]], Any]


class UsageRecorder(Protocol):
    """What the runtime's usage recorder offers the gateway (GetUsage reads it)."""

    def record(self, key_value: str) -> None: ...


# --- gateway responses (AWS defaults) ------------------------------------------------------

@dataclass(frozen=True)
class GatewayResponse:
    status: int
    message: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    # A body template with `$context.error.message` (the only variable we fill), or None for
    # AWS's default `{"message": <message>}`.
    template: str | None = None

    def render(self, request_id: str) -> Response:
        if self.template is None:
            body = json.dumps({"message": self.message})
        else:
            body = self.template.replace("$context.error.messageString",
                                         json.dumps(self.message or ""))
            body = body.replace("$context.error.message", self.message or "")
            body = body.replace("$context.requestId", request_id)
        headers = {"Content-Type": "application/json", **self.headers}
        response = Response(body, status=self.status, headers=headers)
        response.headers["x-amzn-RequestId"] = request_id
        response.headers["x-amzn-ErrorType"] = _ERROR_TYPES.get(self.status, "")
        return response


DEFAULT_GATEWAY_RESPONSES: dict[str, GatewayResponse] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(403, "Missing Authentication Token"),
    "UNAUTHORIZED": GatewayResponse(401, "Unauthorized"),
    "ACCESS_DENIED": GatewayResponse(
        403, "User is not authorized to access this resource with an explicit deny"),
    # The same gateway response type on AWS (ACCESS_DENIED), with the implicit-deny message.
    "ACCESS_DENIED_IMPLICIT": GatewayResponse(
        403, "User is not authorized to access this resource"),
    "AUTHORIZER_CONFIGURATION_ERROR": GatewayResponse(500, None),
    "AUTHORIZER_FAILURE": GatewayResponse(500, None),
    "INVALID_SIGNATURE": GatewayResponse(
        403, "The request signature we calculated does not match the signature you provided."),
    "THROTTLED": GatewayResponse(429, "Too Many Requests"),
    "QUOTA_EXCEEDED": GatewayResponse(429, "Limit Exceeded"),
    "REQUEST_TOO_LARGE": GatewayResponse(413, "Request Too Long"),
    "INTEGRATION_FAILURE": GatewayResponse(502, "Internal server error"),
}

_ERROR_TYPES = {401: "UnauthorizedException", 403: "AccessDeniedException",
                429: "TooManyRequestsException", 413: "RequestTooLongException",
                500: "AuthorizerConfigurationException", 502: "InternalServerErrorException"}


class GatewayError(Exception):
    """A gateway response of `kind` (a key of `DEFAULT_GATEWAY_RESPONSES`)."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail


# --- resources and routes ------------------------------------------------------------------

@dataclass(frozen=True)
class Authorizer:
    """A Lambda authorizer: `REQUEST` (identity source: headers) or `TOKEN` (one header)."""

    function: str
    type: str = "REQUEST"
    identity_headers: tuple[str, ...] = ("Authorization",)
    ttl_seconds: int = 0

    def __post_init__(self) -> None:
        if self.type not in ("REQUEST", "TOKEN"):
            raise ValueError(f"authorizer type must be REQUEST or TOKEN, not {self.type!r}")
        if self.type == "TOKEN" and len(self.identity_headers) != 1:
            raise ValueError("a TOKEN authorizer reads exactly one header")


@dataclass(frozen=True)
class IamAuth:
    """Stands in for `AWS_IAM` authorisation: the caller presents the stack's portal token.

    On AWS the portal signs its calls with SigV4 and API Gateway checks the signature before
    the handler runs; locally a bearer token plays the signed identity, checked here, so the
    portal handler sees the same request context either way.
    """

    token: str
    caller_arn: str = f"arn:aws:iam::{ACCOUNT_ID}:role/portal"


@dataclass(frozen=True)
class Route:
    """One method on one resource (`ANY` matches every method)."""

    method: str
    resource: str
    function: str
    auth: Authorizer | IamAuth | None = None

    def __post_init__(self) -> None:
        if not self.resource.startswith("/"):
            raise ValueError(f"resource {self.resource!r} must start with /")

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(s for s in self.resource.split("/") if s)


_PARAM = re.compile(r"^\{([A-Za-z0-9_]+)(\+?)\}$")


def _specificity(route: Route) -> tuple:
    # Literal segments beat `{param}`, which beats `{proxy+}`; then longer resources first.
    ranks = []
    for segment in route.segments:
        match = _PARAM.match(segment)
        ranks.append(0 if not match else (2 if match.group(2) else 1))
    return tuple(ranks) + (9,) * (64 - len(ranks)), route.method == "ANY"


def match_route(routes: Iterable[Route], method: str, path: str
                ) -> tuple[Route, dict[str, str]] | None:
    """The route API Gateway would pick for `method path`, and its path parameters."""
    parts = [p for p in path.split("/") if p]
    best: tuple[tuple, Route, dict[str, str]] | None = None
    for route in routes:
        if route.method not in ("ANY", method):
            continue
        parameters = _match_segments(route.segments, parts)
        if parameters is None:
            continue
        rank = _specificity(route)
        if best is None or rank < best[0]:
            best = (rank, route, parameters)
    return (best[1], best[2]) if best else None


def _match_segments(segments: tuple[str, ...], parts: list[str]) -> dict[str, str] | None:
    parameters: dict[str, str] = {}
    for index, segment in enumerate(segments):
        match = _PARAM.match(segment)
        if match and match.group(2):  # greedy proxy: the rest of the path, at least one part
            if index >= len(parts):
                return None
            parameters[match.group(1)] = "/".join(parts[index:])
            return parameters
        if index >= len(parts):
            return None
        if match:
            parameters[match.group(1)] = parts[index]
        elif segment != parts[index]:
            return None
    return parameters if len(segments) == len(parts) else None


# --- policies ------------------------------------------------------------------------------

def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def evaluate_policy(policy: Any, method_arn: str) -> bool:
    """Whether an authorizer's policy document allows `execute-api:Invoke` on `method_arn`.

    An explicit Deny wins; otherwise an Allow must match (IAM evaluation, `*` and `?`
    wildcards in actions and resources).

    Raises
    ------
    GatewayError: AUTHORIZER_CONFIGURATION_ERROR for a document that is not a policy.
    """
    if not isinstance(policy, Mapping) or not isinstance(policy.get("Statement"), (list, dict)):
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "policyDocument has no Statement")
    allowed = False
    for statement in _as_list(policy["Statement"]):
        if not isinstance(statement, Mapping) or statement.get("Effect") not in ("Allow", "Deny"):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "malformed policy statement")
        actions = [str(a) for a in _as_list(statement.get("Action", []))]
        resources = [str(r) for r in _as_list(statement.get("Resource", []))]
        if not any(fnmatch.fnmatchcase("execute-api:Invoke", a) or a == "*" for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(method_arn, r) for r in resources):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _explicitly_denied(policy: Mapping[str, Any], method_arn: str) -> bool:
    deny_only = {"Statement": [st for st in _as_list(policy["Statement"])
                               if st.get("Effect") == "Deny"]
                 + [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    return not evaluate_policy(deny_only, method_arn)


def _flatten_context(context: Any) -> dict[str, str]:
    """The authorizer context as API Gateway passes it on: top-level scalars, as strings."""
    if context is None:
        return {}
    if not isinstance(context, Mapping):
        raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "context is not an object")
    flat: dict[str, str] = {}
    for key, value in context.items():
        if isinstance(value, bool):
            flat[str(key)] = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            flat[str(key)] = str(value)
        elif value is None:
            continue
        else:
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR",
                               f"context value {key!r} is not a string, number or boolean")
    return flat


@dataclass(frozen=True)
class AuthorizerResult:
    principal_id: str
    policy: Mapping[str, Any]
    context: dict[str, str]
    usage_key: str | None


# --- the gateway ---------------------------------------------------------------------------

class ApiGateway:
    """A WSGI app that turns HTTP requests into REST proxy events for Lambda functions.

    Parameters
    ----------
    routes: the resource tree.
    invoke: runs a Lambda function (by name) in-process, returns its result.
    usage: where authorised calls are counted against the usage-plan key (optional).
    stage: the API stage name (`requestContext.stage`, the method ARN).
    gateway_responses: overrides of AWS's default gateway responses, by type.
    clock: seconds since the epoch (the authorizer cache and request times).
    """

    def __init__(self, routes: Iterable[Route], invoke: Invoke, *,
                 usage: UsageRecorder | None = None, stage: str = "local",
                 api_id: str = "localapi01", gateway_responses: Mapping[str, GatewayResponse] | None = None,
                 clock: Callable[[], float] = time.time):
        self.routes = tuple(routes)
        self.invoke = invoke
        self.usage = usage
        self.stage = stage
        self.api_id = api_id
        self.gateway_responses = {**DEFAULT_GATEWAY_RESPONSES, **(gateway_responses or {})}
        self._clock = clock
        self._cache: dict[tuple[str, tuple[str, ...]], tuple[float, AuthorizerResult]] = {}
        self._cache_lock = threading.Lock()
        self._count_lock = threading.Lock()
        # Requests API Gateway would bill (every request that reached a method), by function.
        self.request_counts: dict[str, int] = {}

    # WSGI entry point
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def method_arn(self, method: str, path: str) -> str:
        return (f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{self.api_id}/{self.stage}/"
                f"{method}{path}")

    def handle(self, request: Request) -> Response:
        """Answer one HTTP request as API Gateway would."""
        request_id = str(uuid.uuid4())
        try:
            return self._handle(request, request_id)
        except GatewayError as error:
            if error.detail:
                logger.warning("gateway response %s: %s", error.kind, error.detail)
            return self.gateway_responses[error.kind].render(request_id)

    def _handle(self, request: Request, request_id: str) -> Response:
        method = request.method.upper()
        path = request.path
        matched = match_route(self.routes, method, path)
        if matched is None:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        route, path_parameters = matched
        if request.content_length and request.content_length > MAX_PAYLOAD_BYTES:
            raise GatewayError("REQUEST_TOO_LARGE")
        raw_body = request.get_data(cache=True)
        if len(raw_body) > MAX_PAYLOAD_BYTES:
            raise GatewayError("REQUEST_TOO_LARGE")
        event = self._proxy_event(request, route, path_parameters, raw_body, request_id)
        if isinstance(route.auth, Authorizer):
            result = self._authorize(route.auth, event, method, path)
            event["requestContext"]["authorizer"] = {
                **result.context, "principalId": result.principal_id, "integrationLatency": 0}
            if result.usage_key:
                event["requestContext"]["identity"]["apiKey"] = result.usage_key
                if self.usage is not None:
                    self.usage.record(result.usage_key)
        elif isinstance(route.auth, IamAuth):
            self._check_iam(route.auth, request, event)
        with self._count_lock:
            self.request_counts[route.function] = self.request_counts.get(route.function, 0) + 1
        try:
            result = self.invoke(route.function, event)
        except Exception:  # a function error: API Gateway answers 502 and logs the cause
            logger.exception("function %s failed", route.function)
            raise GatewayError("INTEGRATION_FAILURE") from None
        response = self._http_response(result, route.function)
        response.headers["x-amzn-RequestId"] = request_id
        return response

    # --- events ----------------------------------------------------------------------------

    def _proxy_event(self, request: Request, route: Route, path_parameters: dict[str, str],
                     raw_body: bytes, request_id: str) -> dict[str, Any]:
        multi_headers: dict[str, list[str]] = {}
        for name, value in request.headers.items():
            multi_headers.setdefault(name, []).append(value)
        multi_query: dict[str, list[str]] = {}
        for name, value in request.args.items(multi=True):
            multi_query.setdefault(name, []).append(value)
        body: str | None
        encoded = False
        if not raw_body:
            body = None
        else:
            try:
                body = raw_body.decode("utf-8")
            except UnicodeDecodeError:
                body, encoded = base64.b64encode(raw_body).decode("ascii"), True
        now = self._clock()
        moment = datetime.fromtimestamp(now, timezone.utc)
        return {
            "resource": route.resource,
            "path": request.path,
            "httpMethod": request.method.upper(),
            "headers": {k: v[-1] for k, v in multi_headers.items()} or None,
            "multiValueHeaders": multi_headers or None,
            "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": path_parameters or None,
            "stageVariables": None,
            "body": body,
            "isBase64Encoded": encoded,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": self.api_id,
                "resourceId": route.resource.strip("/").replace("/", "-")[:10] or "root",
                "resourcePath": route.resource,
                "httpMethod": request.method.upper(),
                "extendedRequestId": request_id,
                "requestId": request_id,
                "requestTime": moment.strftime("%d/%b/%Y:%H:%M:%S +0000"),
                "requestTimeEpoch": int(now * 1000),
                "path": f"/{self.stage}{request.path}",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "stage": self.stage,
                "domainName": request.host,
                "domainPrefix": request.host.split(".")[0],
                "identity": {
                    "sourceIp": request.remote_addr or "127.0.0.1",
                    "userAgent": request.headers.get("User-Agent"),
                    "apiKey": None, "apiKeyId": None, "accessKey": None, "accountId": None,
                    "caller": None, "user": None, "userArn": None,
                    "cognitoIdentityId": None, "cognitoIdentityPoolId": None,
                    "cognitoAuthenticationType": None, "cognitoAuthenticationProvider": None,
                    "principalOrgId": None,
                },
            },
        }

    # --- authorisation ---------------------------------------------------------------------

    def _authorize(self, authorizer: Authorizer, event: dict[str, Any], method: str,
                   path: str) -> AuthorizerResult:
        headers = {k.lower(): v for k, v in (event["headers"] or {}).items()}
        identity = tuple(headers.get(h.lower(), "") for h in authorizer.identity_headers)
        if not all(identity):
            # API Gateway answers 401 without calling the authorizer when an identity
            # source is missing or empty.
            raise GatewayError("UNAUTHORIZED")
        method_arn = self.method_arn(method, path)
        cache_key = (authorizer.function, identity)
        result = self._cached(cache_key, authorizer.ttl_seconds)
        if result is None:
            result = self._call_authorizer(authorizer, event, identity, method_arn)
            if authorizer.ttl_seconds > 0:
                with self._cache_lock:
                    self._cache[cache_key] = (self._clock() + authorizer.ttl_seconds, result)
        # A cached policy is evaluated against each new method ARN, as on AWS.
        if not evaluate_policy(result.policy, method_arn):
            logger.info("authorizer policy of %s does not allow %s", result.principal_id,
                        method_arn)
            raise GatewayError("ACCESS_DENIED" if _explicitly_denied(result.policy, method_arn)
                               else "ACCESS_DENIED_IMPLICIT")
        return result

    def _cached(self, key: tuple[str, tuple[str, ...]], ttl: int) -> AuthorizerResult | None:
        if ttl <= 0:
            return None
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry and entry[0] > self._clock():
                return entry[1]
            self._cache.pop(key, None)
        return None

    def _call_authorizer(self, authorizer: Authorizer, event: dict[str, Any],
                         identity: tuple[str, ...], method_arn: str) -> AuthorizerResult:
        if authorizer.type == "TOKEN":
            authorizer_event: dict[str, Any] = {
                "type": "TOKEN", "authorizationToken": identity[0], "methodArn": method_arn}
        else:
            authorizer_event = {
                "type": "REQUEST", "methodArn": method_arn,
                **{k: event[k] for k in ("resource", "path", "httpMethod", "headers",
                                         "multiValueHeaders", "queryStringParameters",
                                         "multiValueQueryStringParameters", "pathParameters",
                                         "stageVariables")},
                "requestContext": {k: v for k, v in event["requestContext"].items()
                                   if k != "authorizer"},
            }
        with self._count_lock:
            key = f"{authorizer.function} (authorizer)"
            self.request_counts[key] = self.request_counts.get(key, 0) + 1
        try:
            answer = self.invoke(authorizer.function, authorizer_event)
        except Exception as error:
            # The authorizer raising "Unauthorized" is how a Lambda authorizer asks for 401;
            # any other failure is an authorizer failure (500) on AWS.
            # (The runtime's FunctionError carries the handler's message as `error_message`.)
            if getattr(error, "error_message", str(error)) == "Unauthorized":
                raise GatewayError("UNAUTHORIZED") from None
            logger.exception("authorizer %s failed", authorizer.function)
            raise GatewayError("AUTHORIZER_FAILURE") from None
        if not isinstance(answer, Mapping) or "policyDocument" not in answer \
                or not answer.get("principalId"):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR",
                               "authorizer answer lacks principalId or policyDocument")
        usage_key = answer.get("usageIdentifierKey")
        if usage_key is not None and not isinstance(usage_key, str):
            raise GatewayError("AUTHORIZER_CONFIGURATION_ERROR", "usageIdentifierKey not a string")
        return AuthorizerResult(principal_id=str(answer["principalId"]),
                                policy=answer["policyDocument"],
                                context=_flatten_context(answer.get("context")),
                                usage_key=usage_key)

    def _check_iam(self, auth: IamAuth, request: Request, event: dict[str, Any]) -> None:
        header = request.headers.get("Authorization", "")
        if not header:
            raise GatewayError("MISSING_AUTHENTICATION_TOKEN")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), auth.token.encode()):
            raise GatewayError("INVALID_SIGNATURE")
        identity = event["requestContext"]["identity"]
        identity.update({"accountId": ACCOUNT_ID, "caller": auth.caller_arn.rsplit("/", 1)[-1],
                         "user": auth.caller_arn.rsplit("/", 1)[-1], "userArn": auth.caller_arn})

    # --- responses -------------------------------------------------------------------------

    def _http_response(self, result: Any, function: str) -> Response:
        if not isinstance(result, Mapping) or not isinstance(result.get("statusCode"), int) \
                or not 100 <= result["statusCode"] <= 599:
            logger.error("function %s answered a malformed proxy response", function)
            raise GatewayError("INTEGRATION_FAILURE")
        body = result.get("body")
        if body is None:
            payload = b""
        elif not isinstance(body, str):
            logger.error("function %s answered a non-string body", function)
            raise GatewayError("INTEGRATION_FAILURE")
        elif result.get("isBase64Encoded"):
            try:
                payload = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError):
                raise GatewayError("INTEGRATION_FAILURE", "body is not base64") from None
        else:
            payload = body.encode("utf-8")
        response = Response(payload, status=result["statusCode"])
        response.headers.pop("Content-Type", None)
        for name, value in (result.get("headers") or {}).items():
            response.headers[str(name)] = str(value)
        for name, values in (result.get("multiValueHeaders") or {}).items():
            if str(name) in response.headers and values:
                del response.headers[str(name)]
            for value in _as_list(values):
                response.headers.add(str(name), str(value))
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response


def partner_api_routes(function_names: Mapping[str, str], *, portal_token: str | None = None,
                       authorizer_type: str = "REQUEST", authorizer_ttl_seconds: int = 0
                       ) -> list[Route]:
    """The gateway's `/v1` resource tree: partner API (Lambda authorizer) and portal.

    `function_names` maps the spec's logical names (`partner_api`, `portal_api`,
    `authorizer`) to function names. The partner resources mirror the OpenAPI document's
    paths; unknown paths below `/v1` reach the partner function (after authorisation), which
    answers them with its own problem+json 404. The portal routes are IAM-authorised on AWS;
    with `portal_token` the gateway checks that token in IAM's place, without it they use the
    Lambda authorizer, which accepts the portal's bearer token (`PGW_PORTAL_TOKEN_HASH`).
    """
    authorizer = Authorizer(function_names["authorizer"], type=authorizer_type,
                            ttl_seconds=authorizer_ttl_seconds)
    partner, portal = function_names["partner_api"], function_names["portal_api"]
    portal_auth: Authorizer | IamAuth = IamAuth(portal_token) if portal_token else authorizer
    return [
        Route("GET", "/v1/openapi.json", partner),
        Route("GET", "/v1/requests", partner, authorizer),
        Route("GET", "/v1/requests/{id}", partner, authorizer),
        Route("POST", "/v1/requests/{id}/status", partner, authorizer),
        Route("GET", "/v1/requests/{id}/documents", partner, authorizer),
        Route("ANY", "/v1/{proxy+}", partner, authorizer),
        Route("ANY", "/v1/portal/{proxy+}", portal, portal_auth),
    ]
