"""HTTP problems (RFC 9457 `application/problem+json`) for the partner and portal APIs.

Every error a client can get has one stable `type` URI (`urn:pgw:problem:<slug>`), listed in
`PROBLEM_TYPES` and in the OpenAPI document. Domain errors are mapped to problems once, in
`register_problem_handlers`; routes never catch them. The bodies API Gateway itself answers
with (authorizer refusals, throttling, oversized bodies) are in `GATEWAY_RESPONSES`, so the
cloud stack and the embedded stack configure the same ones.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any, Mapping

import jsonschema_rs
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import error_code
from partners.core.exceptions import (
    ContractViolationError,
    PartnerGatewayError,
    ValidationError,
)
from partners.core.strict_json import (
    MalformedJsonError,
    UnsafeJsonError,
    dump_json,
    parse_json,
)
from partners.requests import (
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    IllegalStatusTransitionError,
    RequestExistsError,
    RequestLogConflictError,
    RequestNotFoundError,
    ViewOutdatedError,
)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:pgw:problem:"

# slug -> (HTTP status, title). Titles never change for a type (RFC 9457, section 3.1.3).
PROBLEM_TYPES: dict[str, tuple[int, str]] = {
    "bad-request": (400, "The request is malformed"),
    "unauthorized": (401, "A valid API token is required"),
    "forbidden": (403, "This credential may not use this resource"),
    "not-found": (404, "Not found"),
    "status-conflict": (409, "This status change is not allowed now"),
    "request-in-progress": (409, "A request with this Idempotency-Key is in progress"),
    "conflict": (409, "The resource changed concurrently"),
    "payload-too-large": (413, "The request body is too large"),
    "unsupported-media-type": (415, "The request body must be application/json"),
    "validation-failed": (422, "The request is not valid"),
    "idempotency-key-reused": (422, "The Idempotency-Key was used with another request"),
    "not-resendable": (409, "This delivery cannot be sent again"),
    "rate-limited": (429, "Too many requests"),
    "internal-error": (500, "Internal error"),
    "service-unavailable": (503, "The service is temporarily unavailable"),
}

THROTTLING_CODES = frozenset({
    "ThrottlingException", "ProvisionedThroughputExceededException", "RequestLimitExceeded",
    "TooManyRequestsException", "Throttling", "SlowDown",
})

def problem_body(slug: str, detail: str | None = None, **extensions: Any) -> dict[str, Any]:
    """The problem document for `slug` (a key of `PROBLEM_TYPES`)."""
    status, title = PROBLEM_TYPES[slug]
    body: dict[str, Any] = {"type": f"{TYPE_PREFIX}{slug}", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extensions)
    return body


def problem(slug: str, detail: str | None = None, *, headers: Mapping[str, str] | None = None,
            **extensions: Any) -> Response:
    """A Powertools response carrying the problem `slug`."""
    body = problem_body(slug, detail, **extensions)
    return Response(status_code=body["status"], content_type=PROBLEM_CONTENT_TYPE,
                    body=dump_json(body), headers=dict(headers or {}))


# What API Gateway answers before the Lambda runs (gateway response type -> problem). The
# authorizer raising "Unauthorized" gives UNAUTHORIZED; a Deny policy gives ACCESS_DENIED.
GATEWAY_RESPONSES: dict[str, dict[str, Any]] = {
    "UNAUTHORIZED": problem_body("unauthorized", "missing, unknown, expired or revoked API token"),
    "ACCESS_DENIED": problem_body("forbidden", "this credential may not call this resource"),
    "THROTTLED": problem_body("rate-limited", "rate limit exceeded; retry later"),
    "QUOTA_EXCEEDED": problem_body("rate-limited", "usage quota exceeded"),
    "REQUEST_TOO_LARGE": problem_body("payload-too-large"),
    "MISSING_AUTHENTICATION_TOKEN": problem_body("not-found"),
}


class ProblemError(Exception):
    """An HTTP-level error found by a handler (bad body, missing header): one problem."""

    def __init__(self, slug: str, detail: str | None = None, **extensions: Any):
        super().__init__(detail or slug)
        self.slug = slug
        self.detail = detail
        self.extensions = extensions


def invalid(detail: str, *, pointer: str | None = None, parameter: str | None = None,
            header: str | None = None) -> ProblemError:
    """A 422 naming exactly one field: a body `pointer`, a query `parameter` or a `header`."""
    where = ({"pointer": pointer} if pointer is not None else
             {"parameter": parameter} if parameter is not None else {"header": header})
    return ProblemError("validation-failed", detail, errors=[{"detail": detail, **where}])


def json_pointer(path: str | list[Any] | tuple[Any, ...]) -> str:
    """A JSON Pointer for a dotted path or a list of path parts (`a.b` -> `/a/b`)."""
    parts = path.split(".") if isinstance(path, str) else [str(p) for p in path]
    return "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts if p != "")


def schema_errors(validator: Any, instance: Any) -> list[dict[str, str]]:
    """Every JSON Schema error of `instance` as `{pointer, detail}`, sorted by pointer.

    A missing required property and an unexpected one are pointed at themselves, not at
    the object that holds them.
    """
    errors = []
    for error in validator.iter_errors(instance):
        path, kind = list(error.instance_path), error.kind
        if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
            errors.append({"pointer": json_pointer([*path, kind.property]),
                           "detail": f"{kind.property!r} is a required property"})
        elif isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
            errors.extend({"pointer": json_pointer([*path, name]),
                           "detail": f"{name!r} is not allowed here"}
                          for name in sorted(kind.unexpected))
        else:
            errors.append({"pointer": json_pointer(path), "detail": error.message})
    return sorted(errors, key=lambda e: e["pointer"])[:20]


def read_json_body(event: Mapping[str, Any], *, max_bytes: int) -> dict[str, Any]:
    """The JSON object in an API Gateway proxy event's body.

    The body is parsed strictly (`partners.core.strict_json.parse_json`), never with
    Powertools' `json_body` (plain `json.loads`).

    Raises
    ------
    ProblemError: 415 (not `application/json`), 413 (over `max_bytes`), 422 (JSON but not
        an object).
    MalformedJsonError: not JSON (400, mapped in `register_problem_handlers`).
    UnsafeJsonError: NaN, an infinity, a number beyond float range or too deep a nesting
        (422 with the value's pointer).
    """
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    media_type = (headers.get("content-type") or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise ProblemError("unsupported-media-type",
                           f"Content-Type must be application/json, not {media_type or 'absent'}")
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(raw) > max_bytes * 4 // 3 + 4:
            raise ProblemError("payload-too-large", f"the body may be at most {max_bytes} bytes")
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise ProblemError("bad-request", "the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise ProblemError("payload-too-large", f"the body may be at most {max_bytes} bytes",
                           max_bytes=max_bytes)
    body = parse_json(data)
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object", pointer="")
    return body


def register_problem_handlers(app: APIGatewayRestResolver, log: Logger) -> None:
    """Map every error a route can raise to its problem, once for the whole app.

    The delivery log's errors are mapped by its router (`handlers.partner_deliveries`), so
    an API without those routes does not import that concept at cold start.
    """

    @app.not_found
    def not_found(_error: Exception) -> Response:
        return problem("not-found", "no such resource")

    @app.exception_handler(ProblemError)
    def handle_problem(error: ProblemError) -> Response:
        return problem(error.slug, error.detail, **error.extensions)

    @app.exception_handler(RequestNotFoundError)
    def handle_not_found(error: RequestNotFoundError) -> Response:
        return problem("not-found", f"request {error.request_id} not found")

    @app.exception_handler(IllegalStatusTransitionError)
    def handle_transition(error: IllegalStatusTransitionError) -> Response:
        return problem("status-conflict", str(error), current_status=error.current or "pending",
                       allowed_statuses=error.allowed)

    @app.exception_handler(IdempotencyInProgressError)
    def handle_in_progress(error: IdempotencyInProgressError) -> Response:
        return problem("request-in-progress", str(error), headers={"Retry-After": "1"})

    @app.exception_handler(IdempotencyKeyReusedError)
    def handle_reused(error: IdempotencyKeyReusedError) -> Response:
        return problem("idempotency-key-reused", str(error),
                       errors=[{"header": "Idempotency-Key", "detail": str(error)}])

    @app.exception_handler([RequestLogConflictError, RequestExistsError])
    def handle_conflict(error: Exception) -> Response:
        return problem("conflict", str(error), headers={"Retry-After": "1"})

    @app.exception_handler(ContractViolationError)
    def handle_contract(error: ContractViolationError) -> Response:
        return problem("validation-failed", "the request does not satisfy its schema",
                       errors=[{"pointer": json_pointer(path), "detail": message}
                               for path, message in error.errors[:20]])

    @app.exception_handler(MalformedJsonError)
    def handle_malformed_json(_error: MalformedJsonError) -> Response:
        return problem("bad-request", "the body is not valid JSON")

    @app.exception_handler(UnsafeJsonError)
    def handle_unsafe_json(error: UnsafeJsonError) -> Response:
        # NaN, Infinity, 1e400 or 5,000 brackets: JSON that strict parsers refuse, or that
        # would recurse out of stack; named by its pointer like any invalid field.
        return problem("validation-failed", error.message,
                       errors=[{"pointer": error.pointer or "", "detail": error.message}])

    @app.exception_handler(ValidationError)
    def handle_validation(error: ValidationError) -> Response:
        field = error.field or ""
        where = ({"parameter": field} if field in ("cursor", "limit", "status") else
                 {"pointer": json_pointer(field)})
        return problem("validation-failed", error.message,
                       errors=[{"detail": error.message, **where}])

    @app.exception_handler(PermissionError)
    def handle_refused(error: PermissionError) -> Response:
        # A domain refusal (`partners.onboarding.RoleRefusedError`: a member's role does
        # not allow the change; nothing was written) says why in its message. Mapped by its
        # bases, so that no API imports the onboarding concept for it; any other
        # PermissionError is a bug of ours.
        if isinstance(error, PartnerGatewayError):
            return problem("forbidden", str(error))
        return handle_bug(error)

    @app.exception_handler(ViewOutdatedError)
    def handle_outdated_view(error: ViewOutdatedError) -> Response:
        # An operator's step is missing (the views were not rebuilt after an upgrade): the
        # log is intact, so the caller may retry once the rebuild has run.
        log.error("view outdated", extra={"request_id": error.request_id,
                                          "attribute": error.attribute})
        return problem("service-unavailable", "this request's view is being rebuilt; retry "
                       "later", headers={"Retry-After": "60"})

    @app.exception_handler(ClientError)
    def handle_aws(error: ClientError) -> Response:
        if error_code(error) in THROTTLING_CODES:
            log.warning("AWS throttled the request", extra={"code": error_code(error)})
            return problem("rate-limited", "the gateway is busy; retry later",
                           headers={"Retry-After": "1"})
        log.exception("AWS call failed", extra={"code": error_code(error)})
        return problem("service-unavailable", "a dependency failed; retry later",
                       headers={"Retry-After": "5"})

    @app.exception_handler(BotoCoreError)
    def handle_botocore(error: BotoCoreError) -> Response:
        log.exception("AWS call failed")
        return problem("service-unavailable", "a dependency failed; retry later",
                       headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    def handle_bug(error: Exception) -> Response:
        # A bug, not an input: log it with its trace, answer without one.
        log.exception("unhandled error")
        return problem("internal-error", "an unexpected error occurred")
