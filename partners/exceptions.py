"""Errors of the partner domain: a base error and `<Thing><Problem>Error` subclasses.

Each carries its context as attributes, so the API and the console can map it to a response
once (problem+json, a form error) without parsing messages.
"""

from __future__ import annotations


class PartnerGatewayError(Exception):
    """Base of every domain error."""


class ValidationError(PartnerGatewayError, ValueError):
    """Input that can never become valid by retrying; `field` names what is wrong."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidEndpointError(ValidationError):
    """An endpoint URL the gateway refuses to call (scheme, host, port, SSRF)."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"endpoint URL refused: {reason}", field="endpoint_url")
        self.url = url
        self.reason = reason


class InvalidFilterError(ValidationError):
    """A request filter that cannot be compiled into an EventBridge event pattern."""


class ContractViolationError(ValidationError):
    """An event detail that does not match its JSON Schema; `errors` lists (path, message)."""

    def __init__(self, detail_type: str, errors: list[tuple[str, str]]):
        summary = "; ".join(f"{path or '(root)'}: {message}" for path, message in errors[:5])
        super().__init__(f"{detail_type} detail is invalid: {summary}",
                         field=errors[0][0] if errors else None)
        self.detail_type = detail_type
        self.errors = errors


class PartnerNotFoundError(PartnerGatewayError, LookupError):
    def __init__(self, partner_id: str):
        super().__init__(f"partner {partner_id} not found")
        self.partner_id = partner_id


class EnvironmentNotFoundError(PartnerGatewayError, LookupError):
    def __init__(self, partner_id: str, environment: str):
        super().__init__(f"partner {partner_id} has no environment {environment!r}")
        self.partner_id = partner_id
        self.environment = environment


class PartnerConflictError(PartnerGatewayError):
    """A write based on a stale version: someone else saved in between; nothing was written."""

    def __init__(self, partner_id: str, expected_version: int):
        super().__init__(
            f"partner {partner_id} changed since version {expected_version}; reload and retry"
        )
        self.partner_id = partner_id
        self.expected_version = expected_version


class SlugTakenError(ValidationError):
    def __init__(self, slug: str):
        super().__init__(f"the slug {slug!r} is already taken", field="slug")
        self.slug = slug


class IllegalTransitionError(PartnerGatewayError):
    """A lifecycle move the transition table does not allow."""

    def __init__(self, partner_id: str, current: str, target: str):
        super().__init__(f"partner {partner_id} cannot go from {current} to {target}")
        self.partner_id = partner_id
        self.current = current
        self.target = target


class TokenError(PartnerGatewayError):
    """Base of API token errors; messages never contain the token."""


class TokenInvalidError(TokenError):
    """Unknown, malformed, revoked or expired token (one error, so nothing leaks which)."""

    def __init__(self, reason: str = "invalid token"):
        super().__init__(reason)
        self.reason = reason


class TokenNotFoundError(TokenError, LookupError):
    def __init__(self, prefix: str):
        super().__init__(f"token {prefix} not found")
        self.prefix = prefix


class RoutingError(PartnerGatewayError):
    """The reconciler could not make a partner environment's routing what it should be.

    `reason` is what the console shows (`error: <reason>`); it never contains a secret.
    """

    def __init__(self, reason: str, *, code: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.code = code


class RoutingPermanentError(RoutingError):
    """Bad input or an exhausted quota: recorded on the environment's status, not retried."""


class RoutingTemporaryError(RoutingError):
    """Throttling, a 5xx, a race with another writer: retried with backoff, then next run."""


class ReconcilerConfigError(PartnerGatewayError):
    """A missing or malformed reconciler setting (environment variable `name`)."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name} {problem}")
        self.name = name
