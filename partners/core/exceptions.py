"""The base errors of the partner domain: every feature's errors derive from these.

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


class ContractViolationError(ValidationError):
    """An event detail that does not match its JSON Schema; `errors` lists (path, message)."""

    def __init__(self, detail_type: str, errors: list[tuple[str, str]]):
        summary = "; ".join(f"{path or '(root)'}: {message}" for path, message in errors[:5])
        super().__init__(f"{detail_type} detail is invalid: {summary}",
                         field=errors[0][0] if errors else None)
        self.detail_type = detail_type
        self.errors = errors
