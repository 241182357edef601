"""The partner domain: models, validation, filter compiler, registry, tokens, audit, contracts.

No Flask, no Pulumi, no Lambda types: `handlers`, `console` and `infra` build on this package.
"""

from partners.audit import AuditLog, AuditRecord, mask_secrets
from partners.contracts import (
    CLOUDEVENTS_TRANSFORMER,
    SCHEMAS,
    cloudevent_for,
    put_events_entry,
    validate_detail,
)
from partners.credentials import CredentialStore
from partners.exceptions import (
    ContractViolationError,
    IllegalTransitionError,
    InvalidEndpointError,
    InvalidFilterError,
    PartnerConflictError,
    PartnerGatewayError,
    PartnerNotFoundError,
    TokenInvalidError,
    ValidationError,
)
from partners.lifecycle import TRANSITIONS, check_transition
from partners.models import (
    AuthType,
    Condition,
    DeliveryMode,
    EndpointAuth,
    Operator,
    Partner,
    PartnerEnvironment,
    PartnerStatus,
    RequestFilter,
    RetryPolicy,
    RoutingState,
    RoutingStatus,
)
from partners.patterns import compile_event_pattern, pattern_json
from partners.registry import PartnerRegistry
from partners.tokens import IssuedToken, TokenIdentity, TokenRecord, TokenStore
from partners.validation import parse_filter, validate_endpoint_url, validate_environment

__all__ = [
    "AuditLog", "AuditRecord", "AuthType", "CLOUDEVENTS_TRANSFORMER", "Condition",
    "ContractViolationError", "CredentialStore", "DeliveryMode", "EndpointAuth",
    "IllegalTransitionError", "InvalidEndpointError", "InvalidFilterError", "IssuedToken",
    "Operator", "Partner", "PartnerConflictError", "PartnerEnvironment", "PartnerGatewayError",
    "PartnerNotFoundError", "PartnerRegistry", "PartnerStatus", "RequestFilter", "RetryPolicy",
    "RoutingState", "RoutingStatus", "SCHEMAS", "TRANSITIONS", "TokenIdentity", "TokenInvalidError",
    "TokenRecord", "TokenStore", "ValidationError", "check_transition", "cloudevent_for",
    "compile_event_pattern", "mask_secrets", "parse_filter", "pattern_json", "put_events_entry",
    "validate_detail", "validate_endpoint_url", "validate_environment",
]
