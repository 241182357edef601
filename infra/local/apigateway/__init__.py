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
  a revoked token is refused on the very next call), the cache emptied by
  `flush_authorizer_cache` (what FlushStageAuthorizersCache does on AWS);
- usage recorded against the authorizer's `usageIdentifierKey` (API key source AUTHORIZER);
- REST-format (payload 1.0) Lambda proxy events and responses; a handler that raises or
  answers a malformed response gives 502 `Internal server error`.

Gateway error bodies follow AWS's default gateway responses; `gateway_responses` overrides
them per type exactly like `AWS::ApiGateway::GatewayResponse` (the embedded stack passes the
program's own, `program_gateway_responses(problem_gateway_responses())`).

AWS documentation followed:
https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-input.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
"""

from infra.local.apigateway.gateway import MAX_PAYLOAD_BYTES, ApiGateway, Invoke, UsageRecorder
from infra.local.apigateway.policies import AuthorizerResult, evaluate_policy
from infra.local.apigateway.responses import (
    DEFAULT_GATEWAY_RESPONSES,
    GatewayError,
    GatewayResponse,
    program_gateway_responses,
)
from infra.local.apigateway.routes import (
    ACCOUNT_ID,
    REGION,
    Authorizer,
    IamAuth,
    Route,
    match_route,
    partner_api_routes,
)

__all__ = [
    "ACCOUNT_ID",
    "DEFAULT_GATEWAY_RESPONSES",
    "MAX_PAYLOAD_BYTES",
    "REGION",
    "ApiGateway",
    "Authorizer",
    "AuthorizerResult",
    "GatewayError",
    "GatewayResponse",
    "IamAuth",
    "Invoke",
    "Route",
    "UsageRecorder",
    "evaluate_policy",
    "match_route",
    "partner_api_routes",
    "program_gateway_responses",
]
