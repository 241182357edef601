"""Intake from the user portal: create requests, upload their documents, read their state.

- `POST /v1/portal/requests` `{environment, request_type, user_id, attributes, documents?,
  test?}` assigns `request_id` and `occurred_at`, validates the `Request Created` detail,
  appends `request.created` to the request log and puts `Request Created` on the bus. Each
  declared document gets an S3 key and a presigned PUT URL in the 202 body; the event carries
  only the S3 references (claim check), never content.
- `POST /v1/portal/requests/{id}/documents` `{name?, content_type, size?}` adds a document
  later (`request.document_added`) and returns its presigned PUT URL.
- `GET /v1/portal/requests/{id}` answers the request's current state: every partner it was
  routed to and each one's status.

Who may call: on AWS these routes are IAM-authorised (`requestContext.identity.userArn` is
set by API Gateway); where they are not (the embedded stack), the Lambda authorizer accepts
the portal's bearer token (`PGW_PORTAL_TOKEN_HASH`) and sets `principal: portal`. Anything
else, a partner token included, is refused with 403. `Idempotency-Key` is optional here: with
it, a retried creation answers the first response and creates nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import boto3
import jsonschema_rs
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.api import (
    PORTAL_PRINCIPAL,
    ApiDependencies,
    checked_idempotency_key,
    checked_request_id,
    json_response,
    require_portal,
    rest_resolver,
)
from handlers.portal_contacts import contact_router
from handlers.problems import ProblemError, invalid, read_json_body, schema_errors
from handlers.snapshots import prepare_for_snapshot
from handlers.wiring import Wiring
from partners.core.clock import Clock, isoformat, new_id
from partners.core.constants import REQUEST_CREATED, SCHEMA_VERSION, Env
from partners.core.contracts import put_events_entry
from partners.notifications import ContactStore
from partners.requests import IdempotentCommands

logger = Logger()
tracer = Tracer()
app = rest_resolver(logger)

MAX_BODY_BYTES = 64 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
UPLOAD_SECONDS = 900

_DOCUMENT = {
    "type": "object", "additionalProperties": False, "required": ["content_type"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "content_type": {"type": "string", "pattern": r"^[\w.+-]+/[\w.+-]+$", "maxLength": 255},
        "size": {"type": "integer", "minimum": 0, "maximum": MAX_DOCUMENT_BYTES},
    },
}
NEW_REQUEST = jsonschema_rs.Draft202012Validator({
    "type": "object", "additionalProperties": False,
    "required": ["environment", "request_type", "user_id", "attributes"],
    "properties": {
        "environment": {"type": "string"}, "request_type": {"type": "string"},
        "user_id": {"type": "string"}, "attributes": {"type": "object"},
        "documents": {"type": "array", "maxItems": 20, "items": _DOCUMENT},
        "test": {"type": "boolean"},
    },
})
NEW_DOCUMENT = jsonschema_rs.Draft202012Validator(_DOCUMENT)


@dataclass(kw_only=True)
class Dependencies(ApiDependencies):
    """What the portal's routes use besides what both APIs share: idempotency records, the
    contact store, the partner environments, and id factories (seams for tests)."""

    commands: IdempotentCommands
    contacts: ContactStore
    environments: tuple[str, ...]
    new_request_id: Callable[[], str] = lambda: new_id("r", 19)
    new_document_id: Callable[[], str] = lambda: new_id("d", 15)

    @classmethod
    def settings(cls, session: boto3.session.Session, dynamodb: Any,
                 clock: Clock) -> dict[str, Any]:
        """`ApiDependencies.settings`, and the portal's own from the environment.

        Raises
        ------
        KeyError: a required variable is missing (a deployment error).
        """
        return {
            **super().settings(session, dynamodb, clock),
            "commands": IdempotentCommands(os.environ[Env.IDEMPOTENCY_TABLE], name="portal",
                                           dynamodb_client=dynamodb),
            "contacts": ContactStore(os.environ[Env.CONTACTS_TABLE],
                                     os.environ[Env.NOTIFICATIONS_TOPIC_ARN],
                                     boto3_session=session, dynamodb_client=dynamodb,
                                     clock=clock),
            "environments": tuple(e for e in os.environ.get(Env.PARTNER_ENVIRONMENTS,
                                                            "prod,test,dev").split(",") if e),
        }


dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)
# SnapStart: built before the snapshot, entropy reseeded after each restore.
prepare_for_snapshot(dependencies)
# PUT/GET /v1/portal/users/{user_id}/contact (issue 5), on this environment's contact store.
app.include_router(contact_router(lambda: dependencies.get().contacts))


def _validate(validator: jsonschema_rs.Draft202012Validator, body: dict[str, Any]) -> None:
    errors = schema_errors(validator, body)
    if errors:
        raise ProblemError("validation-failed", "the request is not valid", errors=errors)


def _document(deps: Dependencies, request_id: str, declared: dict[str, Any]) -> dict[str, Any]:
    document_id = deps.new_document_id()
    return {"document_id": document_id, "bucket": deps.documents_bucket,
            "key": f"requests/{request_id}/{document_id}",
            **{k: declared[k] for k in ("name", "content_type", "size") if k in declared}}


def _upload(deps: Dependencies, document: dict[str, Any]) -> dict[str, Any]:
    url = deps.s3.generate_presigned_url(
        "put_object", Params={"Bucket": document["bucket"], "Key": document["key"],
                              "ContentType": document["content_type"]},
        ExpiresIn=UPLOAD_SECONDS)
    return {"document_id": document["document_id"], "method": "PUT", "url": url,
            "headers": {"Content-Type": document["content_type"]},
            "expires_at": isoformat(deps.clock() + timedelta(seconds=UPLOAD_SECONDS))}


def _idempotent(deps: Dependencies, name: str, body: dict[str, Any],
                action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    key = app.current_event.headers.get("Idempotency-Key")
    if key is None:
        return action()
    checked_idempotency_key(key)
    deps.commands.use_lambda_context(app.lambda_context)
    return deps.commands.run(f"{PORTAL_PRINCIPAL}#{name}#{key}", body, action)


@app.post("/v1/portal/requests")
def create_request() -> Response:
    """Create a request: log `request.created`, put `Request Created`, hand out upload URLs.

    Returns
    -------
    202 with `{request_id, occurred_at, status_url, uploads}` and `Location`.

    Raises
    ------
    ProblemError: 401/403 for any caller but the portal, 4xx for a bad body.
    RuntimeError: PutEvents refused the event (500; an `Idempotency-Key` retry is safe).
    """
    require_portal(app.current_event.raw_event)
    body = read_json_body(app.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
    _validate(NEW_REQUEST, body)
    deps = dependencies.get()
    if body["environment"] not in deps.environments:
        raise invalid(f"environment must be one of {', '.join(deps.environments)}",
                      pointer="/environment")

    def create() -> dict[str, Any]:
        request_id = deps.new_request_id()
        documents = [_document(deps, request_id, d) for d in body.get("documents", [])]
        detail: dict[str, Any] = {
            "environment": body["environment"], "request_id": request_id,
            "request_type": body["request_type"], "occurred_at": isoformat(deps.clock()),
            "schema_version": SCHEMA_VERSION, "user_id": body["user_id"],
            "attributes": body["attributes"],
        }
        if documents:
            detail["documents"] = documents
        if "test" in body:
            detail["test"] = body["test"]
        entry = put_events_entry(deps.bus_name, REQUEST_CREATED, detail)  # validates first
        deps.log.create(detail)
        response = deps.events.put_events(Entries=[entry])
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents failed: {response['Entries'][0].get('ErrorCode')}")
        return {"request_id": request_id, "occurred_at": detail["occurred_at"],
                "status_url": f"/v1/portal/requests/{request_id}",
                "uploads": [_upload(deps, d) for d in documents]}

    result = _idempotent(deps, "create", body, create)
    return json_response(result, 202, {"Location": result["status_url"]})


@app.post("/v1/portal/requests/<request_id>/documents")
def add_document(request_id: str) -> Response:
    """Add a document to a request (`request.document_added`) and hand out its upload URL.

    Returns
    -------
    201 with the upload (`document_id`, `method`, `url`, `headers`, `expires_at`).

    Raises
    ------
    ProblemError: 401/403 for any caller but the portal, 4xx for a bad body.
    RequestNotFoundError: no such request (404).
    """
    require_portal(app.current_event.raw_event)
    checked_request_id(request_id)
    body = read_json_body(app.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
    _validate(NEW_DOCUMENT, body)
    deps = dependencies.get()

    def add() -> dict[str, Any]:
        document = _document(deps, request_id, body)
        deps.log.add_document(request_id, document)
        return _upload(deps, document)

    return json_response(_idempotent(deps, f"document#{request_id}", body, add), 201)


@app.get("/v1/portal/requests/<request_id>")
def get_request(request_id: str) -> Response:
    """A request's current state: every partner it was routed to and each one's status.

    Returns
    -------
    200 with the request's view.

    Raises
    ------
    ProblemError: 401/403 for any caller but the portal.
    RequestNotFoundError: no such request (404).
    """
    require_portal(app.current_event.raw_event)
    view = dependencies.get().views.request_view(checked_request_id(request_id))
    return json_response(view)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Serve one API Gateway proxy event (the portal's routes)."""
    return app.resolve(event, context)
