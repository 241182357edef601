"""Errors of routing: the reconciler's two kinds of failure, and its settings.

A permanent failure is recorded on the environment's status (the partner reads it); a
temporary one is left to the next run (STYLE.md, "two kinds of failure").
"""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError


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
    """Throttling, a 5xx, a race with another writer: the environment waits for the next run."""


class ReconcilerConfigError(PartnerGatewayError):
    """A missing or malformed reconciler setting (environment variable `name`)."""

    def __init__(self, name: str, problem: str):
        super().__init__(f"{name} {problem}")
        self.name = name


class EventRefusedError(PartnerGatewayError):
    """The bus refused an event we put on it (a test event, a redelivery); `message` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class EndpointNotDisabledError(PartnerGatewayError):
    """A re-enable of an environment whose rule the endpoint guard has not disabled."""

    def __init__(self, partner_id: str, environment: str):
        super().__init__(f"the routing of {partner_id}/{environment} is not disabled")
        self.partner_id = partner_id
        self.environment = environment
