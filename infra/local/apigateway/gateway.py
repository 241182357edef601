"""The API Gateway stand-in: a WSGI app that turns HTTP requests into Lambda proxy events.

https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Protocol

from werkzeug.wrappers import Request, Response

from infra.local.apigateway.policies import (
    AuthorizerResult,
    as_list,
    evaluate_policy,
    explicitly_denied,
    flatten_context,
)
from infra.local.apigateway.responses import (
    DEFAULT_GATEWAY_RESPONSES,
    GatewayError,
    GatewayResponse,
)
from infra.local.apigateway.routes import (
    ACCOUNT_ID,
    REGION,
    Authorizer,
    IamAuth,
    Route,
    match_route,
)

# The package's name, as the gateway's log lines always carried (`infra.local.apigateway`).
logger = logging.getLogger(__package__)

MAX_PAYLOAD_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota (10 MB)

# `invoke(function, event)` runs a Lambda function in-process and returns what it returned.
Invoke = Callable[[str, dict[str, Any]], Any]


class UsageRecorder(Protocol):
    """What the runtime's usage recorder offers the gateway (GetUsage reads it)."""

    def record(self, key_value: str) -> None: ...


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
            return self.gateway_responses[error.kind].render(request_id, error.context)

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
            # The gateway response may read the authorizer's context (a Deny's reason).
            raise GatewayError("ACCESS_DENIED" if explicitly_denied(result.policy, method_arn)
                               else "ACCESS_DENIED_IMPLICIT", context=result.context)
        return result

    def flush_authorizer_cache(self) -> None:
        """Forget every cached authorizer result (FlushStageAuthorizersCache on the stage):
        the next call with any token runs the authorizer again."""
        with self._cache_lock:
            self._cache.clear()

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
                                context=flatten_context(answer.get("context")),
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
            for value in as_list(values):
                response.headers.add(str(name), str(value))
        if "Content-Type" not in response.headers:
            response.headers["Content-Type"] = "application/json"
        return response
