"""What the two REST API handlers share: the resolver, their dependencies, who is calling.

`handlers.partner_api` (partners' systems) and `handlers.portal_api` (the user portal) are
two Lambda functions behind one API Gateway REST API. Both answer errors as problem+json
(`handlers.problems`), read the request log and its views, publish on the bus and sign S3
URLs, and learn the caller only from what API Gateway put in `requestContext` (the Lambda
authorizer's context, or the IAM identity). That is set up here, once; each handler module
keeps its own `logger`, `tracer`, `app`, routes and `dependencies`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import partial
from typing import Any, Mapping, Self

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.shared.json_encoder import Encoder
from botocore.config import Config

from handlers.problems import ProblemError, invalid, register_problem_handlers
from partners.core.aws import CLIENT_CONFIG
from partners.core.clock import Clock, utc_now
from partners.core.constants import Env
from partners.core.strict_json import dump_json, parse_json
from partners.requests import RequestLog, RequestNotFoundError, RequestViews

# Presigned URLs are SigV4 (`X-Amz-Expires`), the only signature S3 accepts in new regions.
S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))

REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
# What the authorizer puts in its context for the portal's bearer token
# (`handlers.authorizer.PORTAL_PRINCIPAL`).
PORTAL_PRINCIPAL = "portal"


def rest_resolver(logger: Logger) -> APIGatewayRestResolver:
    """An API Gateway REST resolver whose every error is answered as problem+json.

    Parameters
    ----------
    logger: the handler's logger (unexpected and AWS errors are logged there).

    Returns
    -------
    The resolver, with `handlers.problems.register_problem_handlers` applied; it serves
    strict JSON only (no NaN or Infinity) and parses `json_body` strictly, like
    `handlers.problems.read_json_body`.
    """
    # Powertools' encoder (dataclasses, Decimals) as its default serializer has, but strict.
    app = APIGatewayRestResolver(serializer=partial(dump_json, cls=Encoder),
                                 json_body_deserializer=parse_json)
    register_problem_handlers(app, logger)
    return app


def json_response(body: Any, status: int = 200,
                  headers: Mapping[str, str] | None = None) -> Response:
    """A compact `application/json` response.

    Parameters
    ----------
    body: anything `json.dumps` takes, finite numbers only (strict JSON is served).
    status: the HTTP status.
    headers: extra response headers (`Location`, say).

    Returns
    -------
    The Powertools response.
    """
    return Response(status_code=status, content_type="application/json",
                    body=dump_json(body), headers=dict(headers or {}))


def checked_request_id(request_id: str) -> str:
    """The path's request id.

    Parameters
    ----------
    request_id: the `{request_id}` path parameter.

    Returns
    -------
    The same id.

    Raises
    ------
    RequestNotFoundError: an id no request can have is just not found (nothing to tell apart).
    """
    if not REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id[:64])
    return request_id


def checked_idempotency_key(key: str) -> str:
    """An `Idempotency-Key` header's value.

    Parameters
    ----------
    key: the header's value.

    Returns
    -------
    The same key.

    Raises
    ------
    ProblemError: 422 naming the header when it is not 1-255 visible ASCII characters.
    """
    if not IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key must be 1-255 visible ASCII characters",
                      header="Idempotency-Key")
    return key


# --- who is calling --------------------------------------------------------------------------

@dataclass(frozen=True)
class Caller:
    """The partner environment the authorizer vouched for."""

    partner_id: str
    environment: str
    partner_name: str


def partner_caller(event: Mapping[str, Any]) -> Caller:
    """The partner environment of a proxy event (`requestContext.authorizer`), nothing else.

    Parameters
    ----------
    event: the API Gateway proxy event.

    Returns
    -------
    The caller.

    Raises
    ------
    ProblemError: 401 when the request carries no partner identity (no authorizer ran, or a
        portal credential).
    """
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    partner_id, environment = context.get("partner_id"), context.get("environment")
    if not isinstance(partner_id, str) or not partner_id or not isinstance(environment, str) \
            or not environment:
        raise ProblemError("unauthorized", "a partner API token is required")
    return Caller(partner_id, environment, str(context.get("partner_name") or partner_id))


def require_portal(event: Mapping[str, Any]) -> None:
    """Refuse every caller but the portal (IAM identity, or the portal's bearer token).

    Parameters
    ----------
    event: the API Gateway proxy event.

    Raises
    ------
    ProblemError: 401 without any identity, 403 for another principal (a partner token).
    """
    context = event.get("requestContext") or {}
    if (context.get("identity") or {}).get("userArn"):
        return
    authorizer = context.get("authorizer") or {}
    if authorizer.get("principal") == PORTAL_PRINCIPAL:
        return
    if authorizer:
        raise ProblemError("forbidden", "only the user portal may call the intake API")
    raise ProblemError("unauthorized", "the portal's credentials are required")


# --- dependencies -----------------------------------------------------------------------------

@dataclass(kw_only=True)
class ApiDependencies:
    """What both APIs' routes use; built once per execution environment, replaced in tests.

    A handler that needs more subclasses it and extends `settings`.
    """

    log: RequestLog
    views: RequestViews
    events: Any
    s3: Any
    bus_name: str
    documents_bucket: str
    clock: Clock = utc_now

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None,
                         clock: Clock = utc_now) -> Self:
        """The dependencies on the resources the `PGW_*` environment variables name.

        Parameters
        ----------
        session: the boto3 session for every client (default: a new one).
        clock: the clock of the log and the routes.

        Returns
        -------
        The dependencies.

        Raises
        ------
        KeyError: a required variable is missing (a deployment error).
        botocore.exceptions.NoRegionError: no AWS region is configured.
        """
        session = session or boto3.session.Session()
        dynamodb = session.client("dynamodb", config=CLIENT_CONFIG)
        return cls(**cls.settings(session, dynamodb, clock))

    @classmethod
    def settings(cls, session: boto3.session.Session, dynamodb: Any,
                 clock: Clock) -> dict[str, Any]:
        """The constructor's arguments, read from the environment.

        Parameters
        ----------
        session: the session of the clients besides DynamoDB.
        dynamodb: the one DynamoDB client the stores share.
        clock: the clock of the log and the routes.

        Returns
        -------
        Keyword arguments for the constructor.

        Raises
        ------
        KeyError: a required variable is missing.
        """
        return {
            "log": RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE], dynamodb_client=dynamodb,
                              clock=clock),
            "views": RequestViews(os.environ[Env.REQUESTS_TABLE], os.environ[Env.INBOX_TABLE],
                                  os.environ[Env.TIMELINE_TABLE], dynamodb_client=dynamodb),
            "events": session.client("events", config=CLIENT_CONFIG),
            "s3": session.client("s3", config=S3_CONFIG),
            "bus_name": os.environ[Env.BUS_NAME],
            "documents_bucket": os.environ[Env.DOCUMENTS_BUCKET],
            "clock": clock,
        }
