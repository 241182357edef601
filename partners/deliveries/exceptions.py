"""The delivery log's errors: each carries its context (ids, field, reason) as attributes."""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError, ValidationError


class DeliveryError(PartnerGatewayError):
    """Base of the delivery log's errors."""


class MalformedRecordError(DeliveryError, ValueError):
    """An event bus log record the indexer cannot read; it is counted and skipped."""

    def __init__(self, reason: str):
        super().__init__(f"malformed event bus log record: {reason}")
        self.reason = reason


class DeliveryNotFoundError(DeliveryError):
    """No such delivery in the caller's partner environment (another's is not found either)."""

    def __init__(self, delivery_id: str):
        super().__init__(f"delivery {delivery_id} not found")
        self.delivery_id = delivery_id


class InvalidDeliveryQueryError(ValidationError, DeliveryError):
    """A filter, limit or cursor that can never be valid; `field` names the query parameter."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message, field=field)


class DeliveryNotResendableError(DeliveryError):
    """A delivery that cannot be sent again (its CloudEvent was not logged, say)."""

    def __init__(self, delivery_id: str, reason: str):
        super().__init__(f"delivery {delivery_id} cannot be resent: {reason}")
        self.delivery_id = delivery_id
        self.reason = reason


class ResendRateLimitedError(DeliveryError):
    """Too many resends for one partner environment; retry after `retry_after` seconds."""

    def __init__(self, partner_id: str, environment: str, retry_after: int):
        super().__init__(f"too many resends for {partner_id}/{environment}; "
                         f"retry after {retry_after} s")
        self.partner_id = partner_id
        self.environment = environment
        self.retry_after = retry_after


class ResendFailedError(DeliveryError):
    """The bus did not take a resend's event (`code` is PutEvents' error code); retry later."""

    def __init__(self, delivery_id: str, code: str):
        super().__init__(f"the resend of {delivery_id} was not published: {code}")
        self.delivery_id = delivery_id
        self.code = code
