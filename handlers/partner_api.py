"""The partner REST API (`/v1`), behind the Lambda authorizer: poll, read, post status, documents.

The caller is `event.requestContext.authorizer` (`partner_id`, `environment`,
`partner_name`), put there by `handlers.authorizer`, and nothing else: no header or body can
name another partner. Reads come from the projections, scoped to the caller's environment,
so a request not routed to the caller is a 404 exactly like one that does not exist. Status
posts decide from the request log itself (strongly consistent), append
`request.status_changed` and publish `Request Status Changed`.

The OpenAPI 3.1 document `openapi/partner-api.json` describes every route and problem; it is
served at `GET /v1/openapi.json`, and the body schema of status posts is taken from it. The
delivery log's routes (`/v1/deliveries`) are `handlers.partner_deliveries`, included here.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from handlers.api import (
    ApiDependencies,
    Caller,
    checked_idempotency_key,
    checked_request_id,
    json_response,
    partner_caller,
    rest_resolver,
)
from handlers.partner_deliveries import dependencies as deliveries_dependencies
from handlers.partner_deliveries import router as deliveries_router
from handlers.problems import ProblemError, invalid, read_json_body, schema_errors
from handlers.snapshots import prepare_for_snapshot
from handlers.wiring import Wiring
from partners.core.clock import isoformat, parse_iso
from partners.core.constants import REQUEST_STATUS_CHANGED, SCHEMA_VERSION
from partners.core.contracts import put_events_entry
from partners.requests import (
    RequestLogConflictError,
    StatusChange,
    command_id,
    payload_digest,
)

logger = Logger()
tracer = Tracer()
app = rest_resolver(logger)
# `/v1/deliveries`: the delivery log, its own module and dependencies (handlers.partner_deliveries).
app.include_router(deliveries_router)

OPENAPI_PATH = Path(__file__).parent / "openapi" / "partner-api.json"
OPENAPI_TEXT = OPENAPI_PATH.read_text()
OPENAPI = json.loads(OPENAPI_TEXT)
_OPENAPI_URI = "urn:pgw:partner-api"
STATUS_UPDATE = jsonschema_rs.Draft202012Validator(
    {"$ref": f"{_OPENAPI_URI}#/components/schemas/StatusUpdate"},
    registry=jsonschema_rs.Registry([(_OPENAPI_URI, OPENAPI)]), validate_formats=True)

MAX_BODY_BYTES = 16 * 1024
DOCUMENT_LINK_SECONDS = 300  # presigned GETs live at most 5 minutes
# A posted `occurred_at` may run this far ahead of our clock (partners' clocks drift).
CLOCK_SKEW = timedelta(minutes=5)

# The partner API needs just what both APIs share (`handlers.api.ApiDependencies`).
Dependencies = ApiDependencies
dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)
# SnapStart: built before the snapshot (the delivery routes' too, so a restored environment
# pays for none of them), entropy reseeded after each restore.
prepare_for_snapshot(dependencies, deliveries_dependencies)


def current_caller() -> Caller:
    """The partner environment the authorizer vouched for (`handlers.api.partner_caller`).

    Returns
    -------
    The caller of the request being served.

    Raises
    ------
    ProblemError: 401 when the request carries no partner identity.
    """
    return partner_caller(app.current_event.raw_event)


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


@app.get("/v1/openapi.json")
def openapi_document() -> Response:
    """The partner API's OpenAPI 3.1 document, as stored in the repository.

    Returns
    -------
    200 with the document.
    """
    return Response(status_code=200, content_type="application/json", body=OPENAPI_TEXT)


@app.get("/v1/requests")
def list_requests() -> Response:
    """One page of the caller's inbox (`?status=`, `?cursor=`, `?limit=`).

    Returns
    -------
    200 with `{"items": [...], "next_cursor": ...}`.

    Raises
    ------
    ProblemError: 401 without a partner identity, 422 for a bad or unknown parameter.
    """
    caller = current_caller()
    params = query_parameters("status", "cursor", "limit")
    limit_text = params.get("limit", "50")
    if not re.fullmatch(r"[0-9]{1,4}", limit_text.strip()):
        raise invalid("limit must be an integer from 1 to 100", parameter="limit")
    # A parameter that is present must be valid, even empty (`?status=` is not "any status").
    if params.get("cursor") == "":
        raise invalid("cursor must not be empty", parameter="cursor")
    page = dependencies.get().views.list_inbox(
        caller.partner_id, caller.environment, status=params.get("status"),
        cursor=params.get("cursor"), limit=int(limit_text))
    return json_response({"items": page.items, "next_cursor": page.cursor})


@app.get("/v1/requests/<request_id>")
def get_request(request_id: str) -> Response:
    """One request as the caller's environment sees it.

    Returns
    -------
    200 with the request's view.

    Raises
    ------
    RequestNotFoundError: no such request routed to the caller (404).
    """
    caller = current_caller()
    query_parameters()
    view = dependencies.get().views.route_view(checked_request_id(request_id),
                                               caller.partner_id, caller.environment)
    return json_response(view)


def _status_update(deps: Dependencies, body: dict[str, Any]) -> dict[str, Any]:
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


def _publish(deps: Dependencies, change: StatusChange, caller: Caller,
             update: dict[str, Any]) -> None:
    detail: dict[str, Any] = {
        "environment": change.environment, "request_id": change.request_id,
        "request_type": change.request_type, "occurred_at": change.occurred_at,
        "schema_version": SCHEMA_VERSION, "user_id": change.user_id,
        "partner_id": caller.partner_id, "partner_name": caller.partner_name[:80],
        "status": change.status, "previous_status": change.previous_status,
        **{k: update[k] for k in ("note", "reference") if k in update},
    }
    try:
        response = deps.events.put_events(
            Entries=[put_events_entry(deps.bus_name, REQUEST_STATUS_CHANGED, detail)])
    except Exception:
        # Not a mapping (`handlers.problems` answers the error): the log must say the
        # publication ended, so the partner's retry may publish it at once.
        _record_publication(deps, change, caller, published=False)
        raise
    published = not response.get("FailedEntryCount")
    _record_publication(deps, change, caller, published=published)
    if not published:
        entry = response["Entries"][0]
        # The change is in the log: the partner's retry (same Idempotency-Key) finds it by
        # command id and publishes it again instead of appending it twice.
        logger.warning("PutEvents refused a status change",
                       extra={"request_id": change.request_id, "code": entry.get("ErrorCode")})
        raise ProblemError("service-unavailable", "the status was recorded but not yet "
                           "published; retry with the same Idempotency-Key",
                           headers={"Retry-After": "1"})


def _record_publication(deps: Dependencies, change: StatusChange, caller: Caller, *,
                        published: bool) -> None:
    try:
        deps.log.record_publication(change, partner_id=caller.partner_id,
                                    environment=caller.environment, published=published)
    except (ClientError, BotoCoreError, RequestLogConflictError):
        # The outcome stays unknown: a retry publishes once the post's lease has run out
        # (`partners.requests.log.publication_due`), at least once and not more often.
        logger.warning("the publication of a status change was not recorded",
                       extra={"request_id": change.request_id, "published": published})


@app.post("/v1/requests/<request_id>/status")
def post_status(request_id: str) -> Response:
    """Record the caller's status for a request and publish `Request Status Changed`.

    Returns
    -------
    202 with the recorded change and `Location` (the same answer for a repeated key).

    Raises
    ------
    ProblemError: 400 without `Idempotency-Key`, 422 for a bad key or body, 503 when the
        change was recorded but PutEvents refused it.
    IllegalStatusTransitionError: the status may not follow the current one (409).
    IdempotencyInProgressError: a post with this key is publishing the change now (409).
    """
    caller = current_caller()
    query_parameters()
    request_id = checked_request_id(request_id)
    event = app.current_event
    key = event.headers.get("Idempotency-Key")
    if key is None:
        raise ProblemError("bad-request", "the Idempotency-Key header is required",
                           errors=[{"header": "Idempotency-Key", "detail": "required"}])
    checked_idempotency_key(key)
    deps = dependencies.get()
    update = _status_update(deps, read_json_body(event.raw_event, max_bytes=MAX_BODY_BYTES))
    scope = f"{caller.partner_id}#{caller.environment}#{request_id}#{key}"
    # The log is the idempotency record: a post whose command id it holds is answered from
    # it, and published again only if its publication failed or was abandoned (the log
    # records each publication's outcome; a repeat while another post publishes is a 409).
    change = deps.log.change_status(
        request_id, partner_id=caller.partner_id, environment=caller.environment,
        partner_name=caller.partner_name, status=update["status"],
        command_id=command_id(scope), payload_digest=payload_digest(update),
        note=update.get("note"), reference=update.get("reference"),
        occurred_at=isoformat(parse_iso(update["occurred_at"]))
        if "occurred_at" in update else None)
    if change.publish:
        _publish(deps, change, caller, update)
    status_url = f"/v1/requests/{request_id}"
    result = {"request_id": request_id, "status": change.status,
              "previous_status": change.previous_status, "sequence": change.sequence,
              "occurred_at": change.occurred_at, "status_url": status_url}
    return json_response(result, 202, {"Location": status_url})


@app.get("/v1/requests/<request_id>/documents")
def list_documents(request_id: str) -> Response:
    """Short-lived download links for a request's documents (documents bucket only).

    Returns
    -------
    200 with `{"items": [{document_id, name?, content_type?, size?, url, expires_at}]}`.

    Raises
    ------
    RequestNotFoundError: no such request routed to the caller (404).
    """
    caller = current_caller()
    query_parameters()
    deps = dependencies.get()
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
    return json_response({"items": items})


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Serve one API Gateway proxy event (the partner API's routes)."""
    return app.resolve(event, context)
