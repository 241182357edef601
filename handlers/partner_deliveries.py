"""The partner API's delivery log routes (`/v1/deliveries`), included by `handlers.partner_api`.

What EventBridge did with each event for the caller's partner environment, from the bus's own
logs (`partners.deliveries`): list with filters, read one with the CloudEvent as sent, send
one again (same CloudEvent id, to this environment only). The caller is the authorizer's
context, exactly as for the other partner routes (`handlers.api.partner_caller`): a delivery
of another environment is a 404 like one that does not exist, and a cursor made for another
environment is refused. Errors are mapped to problems once: the delivery log's own here, on
the router (so only the API that includes it imports that concept), the rest in
`handlers.problems`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from handlers.api import Caller, json_response, partner_caller
from handlers.problems import invalid, problem
from handlers.wiring import Wiring
from partners.core.aws import CLIENT_CONFIG
from partners.core.clock import Clock, utc_now
from partners.core.constants import Env
from partners.deliveries import (
    DEFAULT_TTL_DAYS,
    DeliveryNotFoundError,
    DeliveryNotResendableError,
    DeliveryQueries,
    DeliveryStore,
    InvalidDeliveryQueryError,
    ResendFailedError,
    ResendRateLimitedError,
    parse_outcome,
    parse_time,
)

if TYPE_CHECKING:
    from partners.deliveries import Resender

logger = Logger(child=True)
router = APIGatewayRouter()


@router.exception_handler(DeliveryNotFoundError)
def handle_delivery_not_found(error: DeliveryNotFoundError) -> Response:
    return problem("not-found", f"delivery {error.delivery_id} not found")


@router.exception_handler(InvalidDeliveryQueryError)
def handle_delivery_query(error: InvalidDeliveryQueryError) -> Response:
    # Every delivery query error is about one query parameter (filters, limit, cursor).
    return problem("validation-failed", error.message,
                   errors=[{"detail": error.message, "parameter": error.field or ""}])


@router.exception_handler(DeliveryNotResendableError)
def handle_not_resendable(error: DeliveryNotResendableError) -> Response:
    return problem("not-resendable", str(error))


@router.exception_handler(ResendRateLimitedError)
def handle_resend_rate(error: ResendRateLimitedError) -> Response:
    return problem("rate-limited", "too many resends for this environment; retry later",
                   headers={"Retry-After": str(error.retry_after)})


@router.exception_handler(ResendFailedError)
def handle_resend_failed(error: ResendFailedError) -> Response:
    logger.warning("PutEvents refused a resend", extra={"delivery_id": error.delivery_id,
                                                         "code": error.code})
    return problem("service-unavailable", "the resend was not sent; retry later",
                   headers={"Retry-After": "5"})

LIST_PARAMETERS = ("outcome", "request_type", "request_id", "since", "until", "limit",
                   "cursor")
LIMIT = re.compile(r"^[0-9]{1,4}$")
DEFAULT_LIMIT = 50


@dataclass(kw_only=True)
class Dependencies:
    """What the delivery routes use; built once per execution environment, replaced in tests."""

    queries: DeliveryQueries
    resender: Resender

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None,
                         clock: Clock = utc_now) -> Dependencies:
        """The delivery log `PGW_DELIVERIES_TABLE` names and the bus `PGW_BUS_NAME` names.

        Parameters
        ----------
        session: the boto3 session of the clients (default: a new one).
        clock: the clock of the resend rate windows.

        Returns
        -------
        The dependencies.

        Raises
        ------
        KeyError: a required variable is missing (a deployment error).
        """
        # Resends need the onboarding concept (roles, the audit log): imported when these
        # dependencies are built (the delivery routes' first use, or before a SnapStart
        # snapshot), not at every partner API cold start (issue 13).
        from partners.deliveries import Resender
        from partners.onboarding import AuditLog

        session = session or boto3.session.Session()
        store = DeliveryStore(
            os.environ[Env.DELIVERIES_TABLE], prefix=os.environ.get(Env.RESOURCE_PREFIX, ""),
            ttl_days=int(os.environ.get(Env.DELIVERIES_TTL_DAYS) or DEFAULT_TTL_DAYS),
            dynamodb_client=session.client("dynamodb", config=CLIENT_CONFIG), clock=clock)
        return cls(queries=DeliveryQueries(store),
                   resender=Resender(session.client("events", config=CLIENT_CONFIG), store,
                                     bus_name=os.environ[Env.BUS_NAME], clock=clock,
                                     audit=AuditLog(os.environ[Env.AUDIT_TABLE],
                                                    boto3_session=session)))


dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)


def api_actor(caller: Caller) -> str:
    """How the audit log names a partner API caller: its token's partner environment."""
    return f"api:{caller.partner_id}/{caller.environment}"


def current_caller() -> Caller:
    """The partner environment the authorizer vouched for (401 without one)."""
    return partner_caller(router.current_event.raw_event)


def query_parameters(*allowed: str) -> dict[str, str]:
    """The query string; an unknown or empty parameter is a 422 naming it."""
    params = router.current_event.query_string_parameters or {}
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise invalid(f"unknown query parameter {unknown[0]!r}", parameter=unknown[0])
    for name in sorted(params):
        # Present means meant: `?outcome=` is not "any outcome".
        if params[name] == "":
            raise invalid(f"{name} must not be empty", parameter=name)
    return params


@router.get("/v1/deliveries")
def list_deliveries() -> Response:
    """One page of the caller's deliveries, newest first.

    Returns
    -------
    200 with `{"items": [...], "next_cursor": ...}`.

    Raises
    ------
    ProblemError: 401 without a partner identity, 422 for an unknown parameter or a bad limit.
    InvalidDeliveryQueryError: an unknown outcome, a bad date, a cursor of another
        environment (422).
    """
    caller = current_caller()
    params = query_parameters(*LIST_PARAMETERS)
    limit_text = params.get("limit", str(DEFAULT_LIMIT))
    if not LIMIT.match(limit_text) or not 1 <= int(limit_text) <= 100:
        raise invalid("limit must be an integer from 1 to 100", parameter="limit")
    page = dependencies.get().queries.list(
        caller.partner_id, caller.environment,
        outcome=parse_outcome(params["outcome"]) if "outcome" in params else None,
        request_type=params.get("request_type"), request_id=params.get("request_id"),
        since=parse_time(params["since"], "since") if "since" in params else None,
        until=parse_time(params["until"], "until") if "until" in params else None,
        limit=int(limit_text), cursor=params.get("cursor"))
    return json_response({"items": [d.to_json() for d in page.items],
                          "next_cursor": page.next_cursor})


@router.get("/v1/deliveries/<delivery_id>")
def get_delivery(delivery_id: str) -> Response:
    """One delivery of the caller's environment, with the CloudEvent as sent (`payload`).

    Raises
    ------
    DeliveryNotFoundError: no such delivery in the caller's environment (404).
    """
    caller = current_caller()
    query_parameters()
    delivery = dependencies.get().queries.get(caller.partner_id, caller.environment,
                                              delivery_id)
    return json_response(delivery.to_json(with_payload=True))


@router.post("/v1/deliveries/<delivery_id>/resend")
def resend_delivery(delivery_id: str) -> Response:
    """Send a delivery again, to the caller's environment only, with the same CloudEvent id.

    Returns
    -------
    202 with `{"delivery_id", "cloudevent_id", "event_id"}` and `Location` (the delivery).

    Raises
    ------
    DeliveryNotFoundError: no such delivery in the caller's environment (404).
    DeliveryNotResendableError: its CloudEvent was not logged (409).
    ResendRateLimitedError: too many resends for this environment just now (429).
    """
    caller = current_caller()
    query_parameters()
    deps = dependencies.get()
    delivery = deps.queries.get(caller.partner_id, caller.environment, delivery_id)
    # Audited with the API token's partner environment as the actor (tokens are per
    # environment, not per person).
    event_id = deps.resender.resend(caller.partner_id, caller.environment, delivery.id,
                                    actor=api_actor(caller))
    location = f"/v1/deliveries/{delivery.id}"
    body: dict[str, Any] = {"delivery_id": delivery.id, "cloudevent_id": delivery.cloudevent_id,
                            "event_id": event_id}
    return json_response(body, 202, {"Location": location})
