"""Onboarding: organisations, environments, validation, lifecycle, registry, credentials,
API tokens, audit and the endpoint check.

What other packages import from this concept; its modules are its own.
"""

from partners.onboarding.audit import AuditLog
from partners.onboarding.credentials import CredentialStore
from partners.onboarding.endpoint_check import check_endpoint
from partners.onboarding.exceptions import (
    IllegalTransitionError,
    InvalidFilterError,
    PartnerConflictError,
    PartnerNotFoundError,
    TokenError,
    TokenInvalidError,
    TokenNotFoundError,
)
from partners.onboarding.filters import (
    ALL_REQUEST_TYPES,
    Condition,
    Operator,
    RequestFilter,
    parse_filter,
)
from partners.onboarding.lifecycle import EDITABLE_STATUSES, ROUTED_STATUSES
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    Partner,
    PartnerEnvironment,
    PartnerStatus,
    RetryPolicy,
    RoutingState,
    RoutingStatus,
)
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.tokens import TokenStore
from partners.onboarding.validation import (
    EMAIL_PATTERN,
    EVENT_AGE_RANGE,
    HEADER_NAME_PATTERN,
    RATE_LIMIT_RANGE,
    RETRY_ATTEMPTS_RANGE,
    SLUG_PATTERN,
    validate_display_name,
    validate_email,
    validate_environment,
    validate_environment_name,
)

__all__ = [
    "ALL_REQUEST_TYPES",
    "AuditLog",
    "AuthType",
    "Condition",
    "CredentialStore",
    "DeliveryMode",
    "EDITABLE_STATUSES",
    "EMAIL_PATTERN",
    "EVENT_AGE_RANGE",
    "EndpointAuth",
    "HEADER_NAME_PATTERN",
    "IllegalTransitionError",
    "InvalidFilterError",
    "Operator",
    "Partner",
    "PartnerConflictError",
    "PartnerEnvironment",
    "PartnerNotFoundError",
    "PartnerRegistry",
    "PartnerStatus",
    "RATE_LIMIT_RANGE",
    "RETRY_ATTEMPTS_RANGE",
    "ROUTED_STATUSES",
    "RequestFilter",
    "RetryPolicy",
    "RoutingState",
    "RoutingStatus",
    "SLUG_PATTERN",
    "TokenError",
    "TokenInvalidError",
    "TokenNotFoundError",
    "TokenStore",
    "check_endpoint",
    "parse_filter",
    "validate_display_name",
    "validate_email",
    "validate_environment",
    "validate_environment_name",
]
