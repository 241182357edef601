"""API Gateway's gateway responses: AWS's defaults, overridable per type.

The bodies and headers follow AWS's default gateway responses; `ApiGateway(gateway_responses=
...)` overrides them per type exactly like `AWS::ApiGateway::GatewayResponse`.
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Mapping

from werkzeug.wrappers import Response

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
