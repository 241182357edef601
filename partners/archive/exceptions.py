"""Errors of archive replay."""

from __future__ import annotations

from partners.core.exceptions import PartnerGatewayError, ValidationError


class ReplayError(PartnerGatewayError):
    """Base of archive replay failures."""


class InvalidReplayError(ReplayError, ValidationError):
    """A replay request that cannot be started as given (window, rules, name, pattern)."""


class ReplayNotFoundError(ReplayError, LookupError):
    def __init__(self, name: str):
        super().__init__(f"replay {name} not found")
        self.name = name
