"""API Gateway's own errors (401, 403, 404, 413, 429, 5xx) as problem+json: one declaration.

Both backends apply exactly these: the Pulumi program as the REST APIs'
`x-amazon-apigateway-gateway-responses` (infra/cloud/openapi.py), the embedded stack's API
Gateway stand-in through `infra.local.apigateway.program_gateway_responses`.
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from __future__ import annotations

import json
from typing import Any

# --- API Gateway's own errors, as problem+json -----------------------------------------------
# Gateway response type -> (status, title, extra members). Both backends apply exactly these:
# the Pulumi program as the REST APIs' `x-amazon-apigateway-gateway-responses`, the embedded
# stack's API Gateway stand-in through `infra.local.apigateway.program_gateway_responses`.
# Extra members are `$context` templates: an authorizer's Deny says why in its context
# (`deny_reason`, handlers/authorizer.py), and ACCESS_DENIED passes it on as `reason`.
GATEWAY_PROBLEMS: dict[str, tuple[int | None, str, dict[str, str]]] = {
    "UNAUTHORIZED": (401, "A valid partner API token is required", {}),
    "ACCESS_DENIED": (403, "This token may not perform this request",
                      {"reason": "$context.authorizer.deny_reason"}),
    "MISSING_AUTHENTICATION_TOKEN": (404, "No such route", {}),
    "BAD_REQUEST_BODY": (400, "The request body is invalid", {}),
    "BAD_REQUEST_PARAMETERS": (400, "A required parameter is missing or invalid", {}),
    "THROTTLED": (429, "Too many requests; retry later", {}),
    "QUOTA_EXCEEDED": (429, "The usage quota is exhausted for today", {}),
    "REQUEST_TOO_LARGE": (413, "The request body is too large", {}),
    "DEFAULT_4XX": (None, "The request was refused", {}),
    "DEFAULT_5XX": (None, "The gateway failed to serve the request", {}),
}


def problem_gateway_responses() -> dict[str, Any]:
    """`x-amazon-apigateway-gateway-responses` rendering API Gateway's errors as problem+json."""
    responses: dict[str, Any] = {}
    for kind, (status, title, extra) in GATEWAY_PROBLEMS.items():
        body: dict[str, Any] = {"type": "about:blank", "title": title}
        if status is not None:
            body["status"] = status
        body.update(extra)
        # `$context.error.messageString` is already a quoted JSON string; `$util` is not
        # available in gateway responses, so nothing unescaped (validationErrorString holds
        # quotes) goes in. `$context.requestId` lets a partner quote the request to support.
        template = json.dumps(body)[:-1] + (
            ',"detail":$context.error.messageString,"instance":"$context.requestId"}')
        response: dict[str, Any] = {
            "responseParameters": {
                "gatewayresponse.header.Content-Type": "'application/problem+json'"},
            "responseTemplates": {"application/json": template},
        }
        if status is not None:
            response["statusCode"] = str(status)
        responses[kind] = response
    return responses
