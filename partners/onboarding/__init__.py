"""Onboarding: organisations, environments, validation, lifecycle, registry, credentials,
API tokens, audit and the endpoint check, and the use cases that change them (create, save,
submit, approve, reject, suspend, reinstate, issue/rotate/revoke a token): validate + write +
audit + trigger the reconciler, once, for the console and any other caller.

What other packages import from this concept; its modules are its own.
"""

from partners.onboarding.api_tokens import (
    Revoked,
    Rotated,
    issue_api_token,
    revoke_api_token,
    rotate_api_token,
)
from partners.onboarding.audit import Actor, AuditLog, AuditRecord, partner_target
from partners.onboarding.credentials import CredentialStore
from partners.onboarding.decisions import (
    approve_partner,
    check_partner_endpoint,
    reinstate_partner,
    reject_partner,
    suspend_partner,
)
from partners.onboarding.endpoint_check import CheckStep, check_endpoint
from partners.onboarding.environments import (
    clear_endpoint_credential,
    environment_settings_errors,
    save_environment,
    save_filter,
)
from partners.onboarding.exceptions import (
    EnvironmentNotFoundError,
    IllegalTransitionError,
    InvalidFilterError,
    InvalidSettingsError,
    PartnerConflictError,
    PartnerNotFoundError,
    PartnerNotReadyError,
    TokenError,
    TokenInvalidError,
    TokenNotFoundError,
)
from partners.onboarding.filters import (
    ALL_REQUEST_TYPES,
    MAX_CONDITIONS,
    Condition,
    Operator,
    RequestFilter,
    parse_filter,
)
from partners.onboarding.lifecycle import EDITABLE_STATUSES, ROUTED_STATUSES, SUBMISSION_PATHS
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
from partners.onboarding.organisations import (
    create_organisation,
    submit_for_approval,
    update_profile,
)
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.service import FlushAuthorizers, Onboarding, Saved, TriggerReconcile
from partners.onboarding.tokens import IssuedToken, TokenRecord, TokenStore
from partners.onboarding.validation import (
    EMAIL_PATTERN,
    EVENT_AGE_RANGE,
    HEADER_NAME_PATTERN,
    RATE_LIMIT_RANGE,
    RETRY_ATTEMPTS_RANGE,
    SLUG_PATTERN,
    environment_problems,
    validate_display_name,
    validate_email,
    validate_environment,
    validate_environment_name,
)

__all__ = [
    "ALL_REQUEST_TYPES",
    "MAX_CONDITIONS",
    "Actor",
    "AuditLog",
    "AuditRecord",
    "AuthType",
    "CheckStep",
    "Condition",
    "CredentialStore",
    "DeliveryMode",
    "EDITABLE_STATUSES",
    "EMAIL_PATTERN",
    "EVENT_AGE_RANGE",
    "EndpointAuth",
    "EnvironmentNotFoundError",
    "HEADER_NAME_PATTERN",
    "IllegalTransitionError",
    "InvalidFilterError",
    "InvalidSettingsError",
    "FlushAuthorizers",
    "IssuedToken",
    "Onboarding",
    "Operator",
    "Partner",
    "PartnerConflictError",
    "PartnerEnvironment",
    "PartnerNotFoundError",
    "PartnerNotReadyError",
    "PartnerRegistry",
    "PartnerStatus",
    "RATE_LIMIT_RANGE",
    "RETRY_ATTEMPTS_RANGE",
    "ROUTED_STATUSES",
    "RequestFilter",
    "RetryPolicy",
    "Revoked",
    "Rotated",
    "RoutingState",
    "RoutingStatus",
    "SLUG_PATTERN",
    "SUBMISSION_PATHS",
    "Saved",
    "TokenError",
    "TokenInvalidError",
    "TokenNotFoundError",
    "TokenRecord",
    "TokenStore",
    "TriggerReconcile",
    "approve_partner",
    "check_endpoint",
    "check_partner_endpoint",
    "clear_endpoint_credential",
    "create_organisation",
    "environment_problems",
    "environment_settings_errors",
    "issue_api_token",
    "parse_filter",
    "partner_target",
    "reinstate_partner",
    "reject_partner",
    "revoke_api_token",
    "rotate_api_token",
    "save_environment",
    "save_filter",
    "submit_for_approval",
    "suspend_partner",
    "update_profile",
    "validate_display_name",
    "validate_email",
    "validate_environment",
    "validate_environment_name",
]
