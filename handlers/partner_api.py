"""The partner REST API (`/v1`), behind the Lambda authorizer: poll, read, post status, documents.

The caller is `event.requestContext.authorizer` (`partner_id`, `environment`,
`partner_name`), put there by `handlers.authorizer`, and nothing else: no header or body can
name another partner. Reads come from the projections, scoped to the caller's environment,
so a request not routed to the caller is a 404 exactly like one that does not exist. Status
posts decide from the request log itself (strongly consistent), append
`request.status_changed` and publish `Request Status Changed`.

The OpenAPI 3.1 document `openapi/partner-api.json` describes every route and problem; it is
served at `GET /v1/openapi.json`, and the body schema of status posts is taken from it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from handlers.problems import (
    ProblemError,
    invalid,
    read_json_body,
    register_problem_handlers,
    schema_errors,
)
from partners.core.aws import CLIENT_CONFIG
from partners.core.clock import Clock, isoformat, parse_iso, utc_now
from partners.core.constants import REQUEST_STATUS_CHANGED, SCHEMA_VERSION, Env
from partners.core.contracts import put_events_entry
from partners.requests import (
    RequestLog,
    RequestNotFoundError,
    RequestViews,
    StatusChange,
    command_id,
    payload_digest,
)

# Presigned URLs are SigV4 (`X-Amz-Expires`), the only signature S3 accepts in new regions.
S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()

OPENAPI_PATH = Path(__file__).parent / "openapi" / "partner-api.json"
OPENAPI_TEXT = OPENAPI_PATH.read_text()
OPENAPI = json.loads(OPENAPI_TEXT)
_OPENAPI_URI = "urn:pgw:partner-api"
_REGISTRY = Registry().with_resource(
    _OPENAPI_URI, Resource.from_contents(OPENAPI, default_specification=DRAFT202012))
STATUS_UPDATE = Draft202012Validator(
    {"$ref": f"{_OPENAPI_URI}#/components/schemas/StatusUpdate"}, registry=_REGISTRY,
    format_checker=FormatChecker())

REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
MAX_BODY_BYTES = 16 * 1024
DOCUMENT_LINK_SECONDS = 300  # presigned GETs live at most 5 minutes
# A posted `occurred_at` may run this far ahead of our clock (partners' clocks drift).
CLOCK_SKEW = timedelta(minutes=5)


@dataclass
class Dependencies:
    """What the routes use; built once per process from the environment, replaced in tests."""

    log: RequestLog
    views: RequestViews
    events: Any
    s3: Any
    bus_name: str
    documents_bucket: str
    clock: Clock = utc_now

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None,
                         clock: Clock = utc_now) -> Dependencies:
        session = session or boto3.session.Session()
        dynamodb = session.client("dynamodb", config=CLIENT_CONFIG)
        return cls(
            log=RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE], dynamodb_client=dynamodb,
                           clock=clock),
            views=RequestViews(os.environ[Env.REQUESTS_TABLE], os.environ[Env.INBOX_TABLE],
                               os.environ[Env.TIMELINE_TABLE], dynamodb_client=dynamodb),
            events=session.client("events", config=CLIENT_CONFIG),
            s3=session.client("s3", config=S3_CONFIG),
            bus_name=os.environ[Env.BUS_NAME],
            documents_bucket=os.environ[Env.DOCUMENTS_BUCKET],
            clock=clock,
        )


deps = Dependencies.from_environment()
register_problem_handlers(app, logger)


@dataclass(frozen=True)
class Caller:
    partner_id: str
    environment: str
    partner_name: str


def current_caller() -> Caller:
    """The partner environment the authorizer vouched for.

    Raises
    ------
    ProblemError: 401 when the request carries no partner identity (no authorizer ran, or a
        portal credential).
    """
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    partner_id, environment = context.get("partner_id"), context.get("environment")
    if not isinstance(partner_id, str) or not partner_id or not isinstance(environment, str) \
            or not environment:
        raise ProblemError("unauthorized", "a partner API token is required")
    return Caller(partner_id, environment, str(context.get("partner_name") or partner_id))


def checked_request_id(request_id: str) -> str:
    """The path's request id; an impossible one is just not found (nothing to tell apart)."""
    if not REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id[:64])
    return request_id


def query_parameters(*allowed: str) -> dict[str, str]:
    """The query string, refusing parameters the route does not know (a typo is an error,
    not a silently ignored filter).

    Raises
    ------
    ProblemError: 422 naming the first unknown parameter.
    """
    params = app.current_event.query_string_parameters or {}
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise invalid(f"unknown query parameter {unknown[0]!r}", parameter=unknown[0])
    return params


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status_code=status, content_type="application/json",
                    body=json.dumps(body, separators=(",", ":")), headers=headers or {})


@app.get("/v1/openapi.json")
def openapi_document() -> Response:
    return Response(status_code=200, content_type="application/json", body=OPENAPI_TEXT)


@app.get("/v1/requests")
def list_requests() -> Response:
    caller = current_caller()
    params = query_parameters("status", "cursor", "limit")
    limit_text = params.get("limit", "50")
    if not re.fullmatch(r"[0-9]{1,4}", limit_text.strip()):
        raise invalid("limit must be an integer from 1 to 100", parameter="limit")
    # A parameter that is present must be valid, even empty (`?status=` is not "any status").
    if params.get("cursor") == "":
        raise invalid("cursor must not be empty", parameter="cursor")
    page = deps.views.list_inbox(caller.partner_id, caller.environment,
                                 status=params.get("status"), cursor=params.get("cursor"),
                                 limit=int(limit_text))
    return _json({"items": page.items, "next_cursor": page.cursor})


@app.get("/v1/requests/<request_id>")
def get_request(request_id: str) -> Response:
    caller = current_caller()
    query_parameters()
    view = deps.views.route_view(checked_request_id(request_id), caller.partner_id,
                                 caller.environment)
    return _json(view)


def _status_update(body: dict[str, Any]) -> dict[str, Any]:
    errors = schema_errors(STATUS_UPDATE, body)
    if "occurred_at" in body and not errors:
        try:
            moment = parse_iso(body["occurred_at"])
        except ValueError:
            errors.append({"pointer": "/occurred_at", "detail": "not an RFC 3339 date-time"})
        else:
            if moment > deps.clock() + CLOCK_SKEW:
                errors.append({"pointer": "/occurred_at", "detail": "occurred_at is in the future"})
    if errors:
        raise ProblemError("validation-failed", "the status update is not valid",
                           errors=sorted(errors, key=lambda e: e["pointer"]))
    return body


def _publish(change: StatusChange, caller: Caller, update: dict[str, Any]) -> None:
    detail: dict[str, Any] = {
        "environment": change.environment, "request_id": change.request_id,
        "request_type": change.request_type, "occurred_at": change.occurred_at,
        "schema_version": SCHEMA_VERSION, "user_id": change.user_id,
        "partner_id": caller.partner_id, "partner_name": caller.partner_name[:80],
        "status": change.status, "previous_status": change.previous_status,
        **{k: update[k] for k in ("note", "reference") if k in update},
    }
    response = deps.events.put_events(
        Entries=[put_events_entry(deps.bus_name, REQUEST_STATUS_CHANGED, detail)])
    if response.get("FailedEntryCount"):
        entry = response["Entries"][0]
        # The change is in the log: the partner's retry (same Idempotency-Key) finds it by
        # command id and publishes it again instead of appending it twice.
        logger.warning("PutEvents refused a status change",
                       extra={"request_id": change.request_id, "code": entry.get("ErrorCode")})
        raise ProblemError("service-unavailable", "the status was recorded but not yet "
                           "published; retry with the same Idempotency-Key",
                           headers={"Retry-After": "1"})


@app.post("/v1/requests/<request_id>/status")
def post_status(request_id: str) -> Response:
    caller = current_caller()
    query_parameters()
    request_id = checked_request_id(request_id)
    event = app.current_event
    key = event.headers.get("Idempotency-Key")
    if key is None:
        raise ProblemError("bad-request", "the Idempotency-Key header is required",
                           errors=[{"header": "Idempotency-Key", "detail": "required"}])
    if not IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key must be 1-255 visible ASCII characters",
                      header="Idempotency-Key")
    update = _status_update(read_json_body(event.raw_event, max_bytes=MAX_BODY_BYTES))
    scope = f"{caller.partner_id}#{caller.environment}#{request_id}#{key}"
    # The log is the idempotency record: a post whose command id it holds is answered from
    # it, and published again (at least once on the bus; consumers see duplicates anyway).
    change = deps.log.change_status(
        request_id, partner_id=caller.partner_id, environment=caller.environment,
        partner_name=caller.partner_name, status=update["status"],
        command_id=command_id(scope), payload_digest=payload_digest(update),
        note=update.get("note"), reference=update.get("reference"),
        occurred_at=isoformat(parse_iso(update["occurred_at"]))
        if "occurred_at" in update else None)
    _publish(change, caller, update)
    result = {"request_id": request_id, "status": change.status,
              "previous_status": change.previous_status, "sequence": change.sequence,
              "occurred_at": change.occurred_at, "status_url": f"/v1/requests/{request_id}"}
    return _json(result, 202, {"Location": result["status_url"]})


@app.get("/v1/requests/<request_id>/documents")
def list_documents(request_id: str) -> Response:
    caller = current_caller()
    query_parameters()
    documents = deps.views.route_documents(checked_request_id(request_id), caller.partner_id,
                                           caller.environment)
    expires_at = isoformat(deps.clock() + timedelta(seconds=DOCUMENT_LINK_SECONDS))
    items = []
    for document in documents:
        if document.get("bucket") != deps.documents_bucket:
            # A claim check into another bucket was not made by the portal: never sign it.
            logger.warning("document outside the documents bucket skipped",
                           extra={"request_id": request_id,
                                  "document_id": document.get("document_id")})
            continue
        url = deps.s3.generate_presigned_url(
            "get_object", Params={"Bucket": document["bucket"], "Key": document["key"]},
            ExpiresIn=DOCUMENT_LINK_SECONDS)
        link: dict[str, Any] = {k: document[k] for k in ("document_id", "name", "content_type",
                                                        "size") if k in document}
        items.append({**link, "url": url, "expires_at": expires_at})
    return _json({"items": items})


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
