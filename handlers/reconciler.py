"""The reconciler's Lambda entry point: one partner, or a full resync on a schedule.

Events:

- `{"partner_id": "p..."}`: the console's asynchronous invoke after a save, an approval or a
  suspension; reconciles that partner (add `"resync": "deep"` to also read its targets).
- a scheduled event (EventBridge Scheduler's input, e.g. `{"source": "schedule"}`, or a
  scheduled rule's `{"source": "aws.events", ...}`), `{"resync": "full"}` or any event without
  `partner_id`: reconciles every partner from list pages (drift repair, half-done runs).
- `{"resync": "deep"}`: a full resync that also reads every rule's targets and tags and every
  connection's details, for drift that list pages do not show (run it hourly, say).

The handler never branches on who asked beyond choosing one partner or all. It logs counts
and states, never endpoints or credentials. Bad input is logged and answered with
`{"ok": false, "error": ...}` (an async invoke has no caller to read it, and a retry would not
help); AWS failures while reading state raise, so Lambda's async retries and failure
destination take over.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.wiring import Wiring
from partners.core.aws import client
from partners.core.constants import Env
from partners.core.exceptions import ValidationError
from partners.deliveries import DeliveryQueries, DeliveryStore
from partners.onboarding import AuditLog, CredentialStore, PartnerRegistry, RoutingState
from partners.routing import (
    AlertMailer,
    EndpointGuard,
    EndpointHealthStore,
    HealthPolicy,
    Reconciler,
    ReconcilerConfigError,
    ReconcilerSettings,
)

logger = Logger()
tracer = Tracer()

PARTNER_ID_PATTERN = re.compile(r"^[a-z0-9]{1,40}$")
RESYNC_MODES = ("full", "deep")


@dataclass(frozen=True)
class ReconcileRequest:
    """What one invocation asks for: one partner (or all) and how deep to look."""

    partner_id: str | None
    deep: bool


def parse_request(event: Any) -> ReconcileRequest:
    """Read an invocation event.

    Parameters
    ----------
    event: the Lambda event (see the module docstring for the shapes).

    Returns
    -------
    A `ReconcileRequest`.

    Raises
    ------
    ValidationError: not a JSON object, a malformed `partner_id`, an unknown `resync`.
    """
    if not isinstance(event, Mapping):
        raise ValidationError("the event must be a JSON object")
    resync = event.get("resync", "full")
    if resync not in RESYNC_MODES:
        raise ValidationError(f"resync must be one of {', '.join(RESYNC_MODES)}", field="resync")
    partner_id = event.get("partner_id")
    if partner_id is not None and (not isinstance(partner_id, str)
                                   or not PARTNER_ID_PATTERN.match(partner_id)):
        raise ValidationError("partner_id must be 1-40 lower-case letters or digits",
                              field="partner_id")
    return ReconcileRequest(partner_id=partner_id, deep=resync == "deep")


def from_environment(session: boto3.session.Session | None = None) -> Reconciler:
    """A `Reconciler` on the resources named by the `PGW_*` environment variables.

    Parameters
    ----------
    session: the boto3 session of its clients (default: a new one).

    Returns
    -------
    The reconciler.

    Raises
    ------
    ReconcilerConfigError: a required variable is missing or malformed.
    """
    session = session or boto3.session.Session()
    settings = ReconcilerSettings.from_environment(os.environ)
    for name in (Env.PARTNERS_TABLE, Env.SECRET_PREFIX):
        if not os.environ.get(name):
            raise ReconcilerConfigError(name, "is not set")
    registry = PartnerRegistry(os.environ[Env.PARTNERS_TABLE], boto3_session=session)
    credentials = CredentialStore(os.environ[Env.SECRET_PREFIX], boto3_session=session)
    return Reconciler(registry, credentials, settings, boto3_session=session,
                      endpoint_guard=endpoint_guard(os.environ, session))


def endpoint_guard(environ: Mapping[str, str],
                   session: boto3.session.Session | None = None) -> EndpointGuard | None:
    """The guard that pauses failing endpoints, on the stage's delivery log, audit log and
    notification topic; None on a stage without a delivery log (nothing to judge by).

    Raises
    ------
    ReconcilerConfigError: an endpoint health setting is malformed.
    """
    deliveries, audit = environ.get(Env.DELIVERIES_TABLE), environ.get(Env.AUDIT_TABLE)
    if not deliveries or not audit:
        return None
    partners = environ[Env.PARTNERS_TABLE]
    # One DynamoDB client for the guard's three stores (each client costs its own setup).
    dynamodb = client("dynamodb", session)
    store = DeliveryStore(deliveries, prefix=environ.get(Env.RESOURCE_PREFIX, ""),
                          dynamodb_client=dynamodb)
    topic = environ.get(Env.NOTIFICATIONS_TOPIC_ARN)
    mailer = (AlertMailer(topic, partners, dynamodb_client=dynamodb, boto3_session=session)
              if topic else None)
    return EndpointGuard(EndpointHealthStore(partners, dynamodb_client=dynamodb),
                         DeliveryQueries(store).list, AuditLog(audit, boto3_session=session),
                         mailer, policy=HealthPolicy.from_environment(environ))


dependencies: Wiring[Reconciler] = Wiring(from_environment)


def handle(event: Any, target: Reconciler,
           time_left: Callable[[], float] | None = None) -> dict[str, Any]:
    """Run the reconciler for one event; return (and log) a summary without secrets.

    Parameters
    ----------
    event: the invocation event (see the module docstring).
    target: the reconciler.
    time_left: seconds left of the invocation; the run defers what would not fit.

    Returns
    -------
    `{"ok": true, "scope": ..., "writes": n, "states": {...}, "headroom": {...}, ...}`, or
    `{"ok": false, "error": ...}` for an event that can never be handled.
    """
    try:
        request = parse_request(event)
    except ValidationError as error:
        logger.error("reconcile request refused", extra={"reason": error.message,
                                                         "field": error.field})
        return {"ok": False, "error": error.message}
    if request.partner_id is not None:
        logger.append_keys(partner_id=request.partner_id)
        report = target.reconcile(request.partner_id, deep=request.deep, time_left=time_left)
    else:
        report = target.reconcile_all(deep=request.deep, time_left=time_left)
    summary = report.summary()
    # Errors, and pending outcomes of writes that were tried (temporary failures); a pending
    # status without actions is a partner waiting for approval, not a failure.
    failed = [{"environment": o.name, "state": o.status.state.value, "reason": o.status.reason}
              for o in report.outcomes
              if o.status.state is RoutingState.ERROR
              or (o.status.state is RoutingState.PENDING and o.actions)]
    logger.info("reconcile finished", extra={**summary, "failed": failed[:20]})
    return {"ok": True, **summary}


def _time_left(context: Any) -> Callable[[], float] | None:
    """Seconds left of the invocation, from the Lambda context (None: no such clock)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining() / 1000) if callable(remaining) else None


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Reconcile what the event asks for, stopping in time (see `handle`)."""
    return handle(event, dependencies.get(), _time_left(context))

