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

import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Callable

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from jsonschema import Draft202012Validator

from handlers.portal_contacts import router as contacts_router
from handlers.problems import (
    ProblemError,
    invalid,
    read_json_body,
    register_problem_handlers,
    schema_errors,
)
from partners.core.aws import CLIENT_CONFIG
from partners.core.clock import Clock, isoformat, new_id, utc_now
from partners.core.constants import REQUEST_CREATED, SCHEMA_VERSION, Env
from partners.core.contracts import put_events_entry
from partners.requests import IdempotentCommands, RequestLog, RequestNotFoundError, RequestViews

# Presigned URLs are SigV4 (`X-Amz-Expires`), the only signature S3 accepts in new regions.
S3_CONFIG = CLIENT_CONFIG.merge(Config(signature_version="s3v4"))

logger = Logger()
tracer = Tracer()
app = APIGatewayRestResolver()

PORTAL_PRINCIPAL = "portal"
MAX_BODY_BYTES = 64 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
UPLOAD_SECONDS = 900
REQUEST_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")

_DOCUMENT = {
    "type": "object", "additionalProperties": False, "required": ["content_type"],
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "content_type": {"type": "string", "pattern": r"^[\w.+-]+/[\w.+-]+$", "maxLength": 255},
        "size": {"type": "integer", "minimum": 0, "maximum": MAX_DOCUMENT_BYTES},
    },
}
NEW_REQUEST = Draft202012Validator({
    "type": "object", "additionalProperties": False,
    "required": ["environment", "request_type", "user_id", "attributes"],
    "properties": {
        "environment": {"type": "string"}, "request_type": {"type": "string"},
        "user_id": {"type": "string"}, "attributes": {"type": "object"},
        "documents": {"type": "array", "maxItems": 20, "items": _DOCUMENT},
        "test": {"type": "boolean"},
    },
})
NEW_DOCUMENT = Draft202012Validator(_DOCUMENT)


@dataclass
class Dependencies:
    """What the routes use; built once per process from the environment, replaced in tests."""

    log: RequestLog
    views: RequestViews
    commands: IdempotentCommands
    events: Any
    s3: Any
    bus_name: str
    documents_bucket: str
    environments: tuple[str, ...]
    clock: Clock = utc_now
    new_request_id: Callable[[], str] = lambda: new_id("r", 19)
    new_document_id: Callable[[], str] = lambda: new_id("d", 15)

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
            commands=IdempotentCommands(os.environ[Env.IDEMPOTENCY_TABLE], name="portal",
                                        dynamodb_client=dynamodb),
            events=session.client("events", config=CLIENT_CONFIG),
            s3=session.client("s3", config=S3_CONFIG),
            bus_name=os.environ[Env.BUS_NAME],
            documents_bucket=os.environ[Env.DOCUMENTS_BUCKET],
            environments=tuple(e for e in os.environ.get(Env.PARTNER_ENVIRONMENTS,
                                                         "prod,test,dev").split(",") if e),
            clock=clock,
        )


deps = Dependencies.from_environment()
register_problem_handlers(app, logger)
app.include_router(contacts_router)  # PUT/GET /v1/portal/users/{user_id}/contact (issue 5)


def require_portal() -> None:
    """Refuse every caller but the portal (IAM identity, or the portal's bearer token).

    Raises
    ------
    ProblemError: 401 without any identity, 403 for another principal (a partner token).
    """
    context = app.current_event.raw_event.get("requestContext") or {}
    if (context.get("identity") or {}).get("userArn"):
        return
    authorizer = context.get("authorizer") or {}
    if authorizer.get("principal") == PORTAL_PRINCIPAL:
        return
    if authorizer:
        raise ProblemError("forbidden", "only the user portal may call the intake API")
    raise ProblemError("unauthorized", "the portal's credentials are required")


def _validate(validator: Draft202012Validator, body: dict[str, Any]) -> None:
    errors = schema_errors(validator, body)
    if errors:
        raise ProblemError("validation-failed", "the request is not valid", errors=errors)


def _document(request_id: str, declared: dict[str, Any]) -> dict[str, Any]:
    document_id = deps.new_document_id()
    return {"document_id": document_id, "bucket": deps.documents_bucket,
            "key": f"requests/{request_id}/{document_id}",
            **{k: declared[k] for k in ("name", "content_type", "size") if k in declared}}


def _upload(document: dict[str, Any]) -> dict[str, Any]:
    url = deps.s3.generate_presigned_url(
        "put_object", Params={"Bucket": document["bucket"], "Key": document["key"],
                              "ContentType": document["content_type"]},
        ExpiresIn=UPLOAD_SECONDS)
    return {"document_id": document["document_id"], "method": "PUT", "url": url,
            "headers": {"Content-Type": document["content_type"]},
            "expires_at": isoformat(deps.clock() + timedelta(seconds=UPLOAD_SECONDS))}


def _idempotent(name: str, body: dict[str, Any],
                action: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    key = app.current_event.headers.get("Idempotency-Key")
    if key is None:
        return action()
    if not IDEMPOTENCY_KEY.match(key):
        raise invalid("Idempotency-Key must be 1-255 visible ASCII characters",
                      header="Idempotency-Key")
    deps.commands.use_lambda_context(app.lambda_context)
    return deps.commands.run(f"{PORTAL_PRINCIPAL}#{name}#{key}", body, action)


@app.post("/v1/portal/requests")
def create_request() -> Response:
    require_portal()
    body = read_json_body(app.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
    _validate(NEW_REQUEST, body)
    if body["environment"] not in deps.environments:
        raise invalid(f"environment must be one of {', '.join(deps.environments)}",
                      pointer="/environment")

    def create() -> dict[str, Any]:
        request_id = deps.new_request_id()
        documents = [_document(request_id, d) for d in body.get("documents", [])]
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
                "uploads": [_upload(d) for d in documents]}

    result = _idempotent("create", body, create)
    return Response(status_code=202, content_type="application/json",
                    body=json.dumps(result, separators=(",", ":")),
                    headers={"Location": result["status_url"]})


@app.post("/v1/portal/requests/<request_id>/documents")
def add_document(request_id: str) -> Response:
    require_portal()
    if not REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id[:64])
    body = read_json_body(app.current_event.raw_event, max_bytes=MAX_BODY_BYTES)
    _validate(NEW_DOCUMENT, body)

    def add() -> dict[str, Any]:
        document = _document(request_id, body)
        deps.log.add_document(request_id, document)
        return _upload(document)

    result = _idempotent(f"document#{request_id}", body, add)
    return Response(status_code=201, content_type="application/json",
                    body=json.dumps(result, separators=(",", ":")))


@app.get("/v1/portal/requests/<request_id>")
def get_request(request_id: str) -> Response:
    require_portal()
    if not REQUEST_ID.match(request_id):
        raise RequestNotFoundError(request_id[:64])
    view = deps.views.request_view(request_id)
    return Response(status_code=200, content_type="application/json",
                    body=json.dumps(view, separators=(",", ":")))


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
