"""The `routing` target of every partner environment's rule: record where a request went.

EventBridge invokes it with the rule's input transformer output
`{"partner_id", "environment", "mode": "push"|"poll", "event": <the whole event>}`, from the
same rule that delivers to the partner, so the record is exactly EventBridge's routing. It
appends `request.routed` (once per partner environment, however often EventBridge retries);
the projector turns that into the partner's inbox entry, which is how poll partners receive
requests. Input that can never be recorded is logged and dropped (retrying cannot fix it); AWS
errors raise, so EventBridge retries and finally dead-letters to the routing DLQ.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.wiring import Wiring
from partners.core.aws import CLIENT_CONFIG
from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED, Env
from partners.core.contracts import validate_detail
from partners.core.exceptions import ValidationError
from partners.requests import RequestLog

logger = Logger()
tracer = Tracer()

PARTNER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
ENVIRONMENT = re.compile(r"^[a-z][a-z0-9]{1,15}$")
MODES = ("push", "poll")


class RoutingInputError(ValidationError):
    """A routing target input that can never be recorded."""


def parse_input(payload: Mapping[str, Any]) -> tuple[str, str, str, dict[str, Any], str]:
    """Check the routing target's input; return (partner, environment, mode, detail, event id).

    Raises
    ------
    RoutingInputError: a missing or malformed field, a detail that breaks the `Request
        Created` schema, or an event that does not belong to this partner environment.
    """
    partner_id, environment, mode = (payload.get(k) for k in ("partner_id", "environment", "mode"))
    if not isinstance(partner_id, str) or not PARTNER_ID.match(partner_id):
        raise RoutingInputError("partner_id is missing or malformed", field="partner_id")
    if not isinstance(environment, str) or not ENVIRONMENT.match(environment):
        raise RoutingInputError("environment is missing or malformed", field="environment")
    if mode not in MODES:
        raise RoutingInputError("mode must be push or poll", field="mode")
    event = payload.get("event")
    if isinstance(event, str):
        try:
            event = json.loads(event)
        except ValueError:
            raise RoutingInputError("event is not JSON", field="event") from None
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise RoutingInputError("event with a detail object is required", field="event")
    if event.get("detail-type") != REQUEST_CREATED:
        raise RoutingInputError(f"only {REQUEST_CREATED} events are routed", field="event")
    detail = event["detail"]
    validate_detail(REQUEST_CREATED, detail)
    if detail["environment"] != environment:
        raise RoutingInputError("the event is for another environment", field="environment")
    if detail.get(ADDRESSED_TO, partner_id) != partner_id:
        raise RoutingInputError("the event is addressed to another partner", field=ADDRESSED_TO)
    return partner_id, environment, mode, detail, str(event.get("id") or "")


class RoutingRecorder:
    """Record routings in the request log."""

    def __init__(self, log: RequestLog):
        self.log = log

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> RoutingRecorder:
        """A recorder on the request log `PGW_REQUEST_EVENTS_TABLE` names.

        Parameters
        ----------
        session: the boto3 session of its client (default: a new one).

        Returns
        -------
        The recorder.

        Raises
        ------
        KeyError: the variable is missing (a deployment error).
        """
        session = session or boto3.session.Session()
        return cls(RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE],
                              dynamodb_client=session.client("dynamodb", config=CLIENT_CONFIG)))

    def record(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Record one routing target invocation.

        Returns
        -------
        `{"recorded": true}` when appended, `{"recorded": false, "duplicate": true}` for a
        repeat, `{"recorded": false, "error": ...}` for input that can never be recorded.
        """
        try:
            partner_id, environment, mode, detail, event_id = parse_input(payload)
        except ValidationError as error:
            logger.error("routing input refused", extra={"reason": error.message,
                                                         "field": error.field})
            return {"recorded": False, "error": error.message}
        appended = self.log.record_routing(detail, partner_id=partner_id,
                                           environment=environment, mode=mode,
                                           event_id=event_id)
        logger.info("routing recorded" if appended else "routing already recorded",
                    extra={"request_id": detail["request_id"], "partner_id": partner_id,
                           "environment": environment, "mode": mode})
        return {"recorded": appended, **({} if appended else {"duplicate": True})}


dependencies: Wiring[RoutingRecorder] = Wiring(RoutingRecorder.from_environment)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Record one routing target invocation (see `RoutingRecorder.record`)."""
    return dependencies.get().record(event)
