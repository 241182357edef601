"""API Gateway's gateway responses: AWS's defaults, overridable per type.

The bodies and headers follow AWS's default gateway responses; `ApiGateway(gateway_responses=
...)` overrides them per type exactly like `AWS::ApiGateway::GatewayResponse`, and
`program_gateway_responses` reads the overrides from the program's own
`x-amazon-apigateway-gateway-responses` (infra/spec.py), so both backends answer alike.
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from werkzeug.wrappers import Response

# `$context.authorizer.<key>`: a value of the authorizer's context ("" when it has none).
_AUTHORIZER_VARIABLE = re.compile(r"\$context\.authorizer\.([A-Za-z0-9_]+)")
_HEADER_PARAMETER = "gatewayresponse.header."

@dataclass(frozen=True)
class GatewayResponse:
    status: int
    message: str | None
    headers: Mapping[str, str] = field(default_factory=dict)
    # A body template with `$context.error.message(String)`, `$context.requestId` and
    # `$context.authorizer.<key>` (the variables we fill), or None for AWS's default
    # `{"message": <message>}`.
    template: str | None = None

    def render(self, request_id: str, context: Mapping[str, str] | None = None) -> Response:
        """The response, `context` being the authorizer's (for `$context.authorizer.*`)."""
        if self.template is None:
            body = json.dumps({"message": self.message})
        else:
            body = self.template.replace("$context.error.messageString",
                                         json.dumps(self.message or ""))
            body = body.replace("$context.error.message", self.message or "")
            body = body.replace("$context.requestId", request_id)
            body = _AUTHORIZER_VARIABLE.sub(
                lambda match: str((context or {}).get(match.group(1), "")), body)
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


# The AWS gateway response type of the stand-in's kinds that are not one themselves.
AWS_RESPONSE_TYPES = {"ACCESS_DENIED_IMPLICIT": "ACCESS_DENIED"}


def program_gateway_responses(declared: Mapping[str, Mapping[str, Any]]
                              ) -> dict[str, GatewayResponse]:
    """The stand-in's responses with a program's `x-amazon-apigateway-gateway-responses`.

    As API Gateway applies them: a type's own entry (its `statusCode`, header parameters
    and `application/json` template), else `DEFAULT_4XX` or `DEFAULT_5XX` by the type's
    status (keeping that status), else AWS's default response.
    """
    responses: dict[str, GatewayResponse] = {}
    for kind, default in DEFAULT_GATEWAY_RESPONSES.items():
        entry = declared.get(AWS_RESPONSE_TYPES.get(kind, kind))
        status = default.status
        if entry is not None and entry.get("statusCode"):
            status = int(entry["statusCode"])
        if entry is None:
            entry = declared.get("DEFAULT_5XX" if default.status >= 500 else "DEFAULT_4XX")
        if entry is None:
            responses[kind] = default
            continue
        headers = {name[len(_HEADER_PARAMETER):]: str(value).strip("'")
                   for name, value in (entry.get("responseParameters") or {}).items()
                   if name.startswith(_HEADER_PARAMETER)}
        template = (entry.get("responseTemplates") or {}).get("application/json")
        responses[kind] = GatewayResponse(status, default.message, headers, template)
    return responses


class GatewayError(Exception):
    """A gateway response of `kind` (a key of `DEFAULT_GATEWAY_RESPONSES`); `context` is the
    authorizer's, for templates that read `$context.authorizer.*`."""

    def __init__(self, kind: str, detail: str = "", *,
                 context: Mapping[str, str] | None = None):
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind = kind
        self.detail = detail
        self.context = dict(context or {})
