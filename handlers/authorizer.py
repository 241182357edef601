"""The REST API's Lambda authorizer (REQUEST or TOKEN type): bearer token -> who is calling.

Two kinds of caller:

- a partner system, `Authorization: Bearer pgw_<env>_...`: the token must verify
  (`TokenStore.verify`: known, not revoked, not expired) and its partner must be approved and
  still have that environment. The policy allows the partner routes only; the context carries
  `partner_id`, `environment`, `token_prefix`, `partner_name` (the API handler reads the caller
  from there and nowhere else), and `usageIdentifierKey` is the environment's usage-plan key,
  so one credential gives both identity and throttling/quotas.
- the user portal, where its routes are not IAM-authorised (the embedded stack): a bearer
  token whose SHA-256 equals `PGW_PORTAL_TOKEN_HASH`. The policy allows the portal routes only
  and the context says `principal: portal`. Where the variable is unset (AWS, with IAM on the
  portal routes) no portal token exists.

Refusals: a bad or missing token raises `Unauthorized` (API Gateway answers 401); a good
token of a partner that may not call (suspended, not approved, environment removed) gets a
Deny policy (403) whose context says why in `deny_reason` ("partner is suspended"): API
Gateway's ACCESS_DENIED gateway response puts `$context.authorizer.deny_reason` into its
problem+json body (infra/spec.py `GATEWAY_PROBLEMS`), so the partner reads the reason. The
reason goes to the log too, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    HttpVerb,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.snapshots import prepare_for_snapshot
from handlers.wiring import Wiring
from partners.core.clock import Clock, utc_now
from partners.core.constants import Env, usage_key_value
from partners.onboarding import (
    Partner,
    PartnerNotFoundError,
    PartnerRegistry,
    PartnerStatus,
    TokenInvalidError,
    TokenStore,
)

logger = Logger()

# The principal of the portal's token; `handlers.api.require_portal` accepts exactly this.
PORTAL_PRINCIPAL = "portal"
# Every route a partner token may call. API Gateway caches a policy per token for all
# routes, so the policy names all of them, not just the one being called.
PARTNER_ROUTES = (
    (HttpVerb.GET, "/v1/openapi.json"),
    (HttpVerb.GET, "/v1/requests"),
    (HttpVerb.GET, "/v1/requests/*"),
    (HttpVerb.POST, "/v1/requests/*/status"),
    # The delivery log (handlers/partner_deliveries.py).
    (HttpVerb.GET, "/v1/deliveries"),
    (HttpVerb.GET, "/v1/deliveries/*"),
    (HttpVerb.POST, "/v1/deliveries/*/resend"),
)
PORTAL_ROUTES = (
    (HttpVerb.POST, "/v1/portal/requests"),
    (HttpVerb.POST, "/v1/portal/requests/*/documents"),
    (HttpVerb.GET, "/v1/portal/requests/*"),
    # End users' contact details (handlers/portal_contacts.py).
    (HttpVerb.PUT, "/v1/portal/users/*/contact"),
    (HttpVerb.GET, "/v1/portal/users/*/contact"),
)


# The context key of a Deny's reason; the ACCESS_DENIED gateway response reads it.
DENY_REASON = "deny_reason"
# Why a verified token of a partner in each status may not call: what the partner reads.
# Plain words without quotes or backslashes: the gateway response inserts them into JSON.
DENY_REASONS = {
    PartnerStatus.DRAFT: "partner is not yet submitted for approval",
    PartnerStatus.PENDING_APPROVAL: "partner is awaiting approval",
    PartnerStatus.SUSPENDED: "partner is suspended",
    PartnerStatus.REJECTED: "partner was rejected",
    PartnerStatus.DELETED: "partner is deleted",
}


def deny_reason(partner: Partner | None, environment: str) -> str | None:
    """Why a verified token of `partner` for `environment` may not call, or None if it may."""
    if partner is None:
        return DENY_REASONS[PartnerStatus.DELETED]
    if partner.status is not PartnerStatus.APPROVED:
        return DENY_REASONS.get(partner.status, f"partner is {partner.status.value}")
    settings = partner.environments.get(environment)
    if settings is None:
        return f"environment {environment} is not configured"
    if not settings.enabled:
        return f"environment {environment} is disabled"
    return None


class Unauthorized(Exception):
    """Raised with the message API Gateway turns into a 401 (`Unauthorized`, exactly)."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def bearer_token(event: Mapping[str, Any]) -> str | None:
    """The bearer token of a TOKEN or REQUEST authorizer event, or None."""
    if event.get("type") == "TOKEN":
        value = event.get("authorizationToken") or ""
    else:
        headers = event.get("headers") or {}
        value = next((v for k, v in headers.items() if k.lower() == "authorization"), "") or ""
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Authorizer:
    """Decide who a request's bearer token speaks for.

    Parameters
    ----------
    tokens: verifies partner API tokens.
    registry: reads the token's partner (its status and environments).
    resource_prefix: the stage's partner resource prefix (for usage-plan key values).
    portal_token_hash: SHA-256 hex of the portal token, or None where there is none.
    """

    def __init__(self, tokens: TokenStore, registry: PartnerRegistry, *, resource_prefix: str,
                 portal_token_hash: str | None = None):
        self.tokens = tokens
        self.registry = registry
        self.resource_prefix = resource_prefix
        self.portal_token_hash = (portal_token_hash or "").strip().lower() or None

    def authorize(self, event: Mapping[str, Any]) -> dict[str, Any]:
        """The authorizer response (policy, context, usage key) for an authorizer event.

        Raises
        ------
        Unauthorized: no bearer token, or one that is malformed, unknown, revoked or expired.
        """
        method_arn = event.get("methodArn") or ""
        token = bearer_token(event)
        if token is None:
            logger.info("refused: no bearer token")
            raise Unauthorized()
        if not token.startswith("pgw_"):
            return self._portal(token, method_arn)
        try:
            identity = self.tokens.verify(token)
        except TokenInvalidError as error:
            logger.info("refused: token", extra={"reason": error.reason})
            raise Unauthorized() from None
        context = {"partner_id": identity.partner_id, "environment": identity.environment,
                   "token_prefix": identity.prefix}
        try:
            partner = self.registry.get_partner(identity.partner_id)
        except PartnerNotFoundError:
            partner = None
        reason = deny_reason(partner, identity.environment)
        if partner is None or reason is not None:  # (a missing partner has a reason too)
            logger.info("denied: partner may not call", extra={
                **context, "partner_status": partner.status.value if partner else "missing",
                "reason": reason})
            response = APIGatewayAuthorizerResponse.from_route_arn(
                method_arn, principal_id=identity.partner_id,
                context={**context, "denied": "partner_not_approved", DENY_REASON: reason})
            response.deny_all_routes()
            return response.asdict()
        response = APIGatewayAuthorizerResponse.from_route_arn(
            method_arn, principal_id=identity.partner_id,
            context={**context, "partner_name": partner.display_name},
            usage_identifier_key=usage_key_value(self.resource_prefix, identity.partner_id,
                                                 identity.environment),
        )
        for verb, route in PARTNER_ROUTES:
            response.allow_route(verb.value, route)
        logger.info("allowed", extra=context)
        return response.asdict()

    def _portal(self, token: str, method_arn: str) -> dict[str, Any]:
        digest = hashlib.sha256(token.encode()).hexdigest()
        if self.portal_token_hash is None or not hmac.compare_digest(digest,
                                                                     self.portal_token_hash):
            logger.info("refused: not a partner token and not the portal's")
            raise Unauthorized()
        response = APIGatewayAuthorizerResponse.from_route_arn(
            method_arn, principal_id=PORTAL_PRINCIPAL, context={"principal": PORTAL_PRINCIPAL})
        for verb, route in PORTAL_ROUTES:
            response.allow_route(verb.value, route)
        return response.asdict()


def from_environment(session: boto3.session.Session | None = None,
                     clock: Clock = utc_now) -> Authorizer:
    """An `Authorizer` on the resources named by the `PGW_*` environment variables.

    Parameters
    ----------
    session: the boto3 session of its clients (default: a new one).
    clock: the clock token expiry is checked against.

    Returns
    -------
    The authorizer.

    Raises
    ------
    KeyError: a required variable is missing (a deployment error).
    """
    session = session or boto3.session.Session()
    tokens = TokenStore(os.environ[Env.TOKENS_TABLE], boto3_session=session, clock=clock)
    registry = PartnerRegistry(os.environ[Env.PARTNERS_TABLE], boto3_session=session)
    return Authorizer(tokens, registry, resource_prefix=os.environ[Env.RESOURCE_PREFIX],
                      portal_token_hash=os.environ.get(Env.PORTAL_TOKEN_HASH))


dependencies: Wiring[Authorizer] = Wiring(from_environment)
# SnapStart: built before the snapshot, entropy reseeded after each restore.
prepare_for_snapshot(dependencies)


# Not wrapped by `tracer.capture_lambda_handler`: refusing (raising `Unauthorized`) is this
# function's normal path, and the tracer would log every refusal as an error with a trace.
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Answer one authorizer event (see `Authorizer.authorize`)."""
    return dependencies.get().authorize(event)
