"""Names defined once: environment variables, tag keys, event sources and detail types.

`infra/spec.py` builds every concrete resource name from these; the handlers and the console
only ever read names from the environment variables listed in `Env`.
"""

from __future__ import annotations


class Env:
    """Environment-variable names every runtime reads (Lambda, console, embedded stack)."""

    STAGE = "PGW_STAGE"
    BUS_NAME = "PGW_BUS_NAME"
    RESOURCE_PREFIX = "PGW_RESOURCE_PREFIX"
    PARTNER_ENVIRONMENTS = "PGW_PARTNER_ENVIRONMENTS"
    ALLOW_INSECURE_ENDPOINTS = "PGW_ALLOW_INSECURE_ENDPOINTS"
    SECRET_PREFIX = "PGW_SECRET_PREFIX"
    PARTNERS_TABLE = "PGW_PARTNERS_TABLE"
    TOKENS_TABLE = "PGW_TOKENS_TABLE"
    AUDIT_TABLE = "PGW_AUDIT_TABLE"
    REQUEST_EVENTS_TABLE = "PGW_REQUEST_EVENTS_TABLE"
    REQUESTS_TABLE = "PGW_REQUESTS_TABLE"
    INBOX_TABLE = "PGW_INBOX_TABLE"
    TIMELINE_TABLE = "PGW_TIMELINE_TABLE"
    IDEMPOTENCY_TABLE = "PGW_IDEMPOTENCY_TABLE"
    CONTACTS_TABLE = "PGW_CONTACTS_TABLE"
    # The console's sign-in records (sessions) and login attempt counters, shared by every
    # console instance.
    CONSOLE_SESSIONS_TABLE = "PGW_CONSOLE_SESSIONS_TABLE"
    DOCUMENTS_BUCKET = "PGW_DOCUMENTS_BUCKET"
    DATALAKE_BUCKET = "PGW_DATALAKE_BUCKET"
    NOTIFICATIONS_TOPIC_ARN = "PGW_NOTIFICATIONS_TOPIC_ARN"
    ROUTING_RECORDER_ARN = "PGW_ROUTING_RECORDER_ARN"
    RULE_QUOTA = "PGW_RULE_QUOTA"
    DESTINATION_QUOTA = "PGW_DESTINATION_QUOTA"
    CONNECTION_QUOTA = "PGW_CONNECTION_QUOTA"
    RECONCILER_FUNCTION = "PGW_RECONCILER_FUNCTION"
    USAGE_PLAN_ID = "PGW_USAGE_PLAN_ID"
    # The partner REST API and its stage, whose cache of authorizer results the console
    # empties (FlushStageAuthorizersCache) when it revokes or rotates a token or suspends a
    # partner; unset: nothing is flushed and the console says calls may pass a while longer.
    PARTNER_API_ID = "PGW_PARTNER_API_ID"
    PARTNER_API_STAGE = "PGW_PARTNER_API_STAGE"
    USER_POOL_ID = "PGW_USER_POOL_ID"
    USER_POOL_CLIENT_ID = "PGW_USER_POOL_CLIENT_ID"
    # The role EventBridge assumes to call partner API destinations (the reconciler passes it
    # as the delivery target's RoleArn), and the DLQ of every partner rule's `routing` target.
    DELIVERY_ROLE_ARN = "PGW_DELIVERY_ROLE_ARN"
    ROUTING_DLQ_ARN = "PGW_ROUTING_DLQ_ARN"
    # SHA-256 (hex) of the user portal's bearer token, for stages whose portal routes are not
    # IAM-authorised (the embedded stack); unset on AWS, where portal tokens are refused.
    PORTAL_TOKEN_HASH = "PGW_PORTAL_TOKEN_HASH"
    # The SMS sender id (1-11 letters/digits, one letter at least) of user notifications, from
    # the stage's config; unset: the carrier's default (some countries require a registered id).
    SMS_SENDER_ID = "PGW_SMS_SENDER_ID"
    # The bus's archive, for the operators' replay command (`python -m handlers.replay_cli`).
    ARCHIVE_NAME = "PGW_ARCHIVE_NAME"
    # The verified SES identity (an address) the console sends invitations from; unset: no
    # email is sent and the inviting owner shares the link the console shows once.
    MAIL_SENDER = "PGW_MAIL_SENDER"
    # The Secrets Manager secret (name or ARN) holding the console's Flask session key, read
    # once per execution environment (console/secret_key.py); the key itself is never in
    # an environment variable.
    CONSOLE_SESSION_SECRET = "PGW_CONSOLE_SESSION_SECRET"
    # Endpoint health (partners/routing/endpoint_health.py): the reconciler disables the rule
    # of an environment whose deliveries have all failed for this many seconds (default 24 h)
    # and at least this many deliveries (default 20); failure alerts at most once per
    # environment per this many seconds (default 1 h).
    ENDPOINT_FAILING_SECONDS = "PGW_ENDPOINT_FAILING_SECONDS"
    ENDPOINT_FAILING_DELIVERIES = "PGW_ENDPOINT_FAILING_DELIVERIES"
    ENDPOINT_ALERT_SECONDS = "PGW_ENDPOINT_ALERT_SECONDS"
    # The delivery log (partners/deliveries): its table and how many days a delivery is kept
    # (the stack setting `deliveriesTtlDays`, 30 by default).
    DELIVERIES_TABLE = "PGW_DELIVERIES_TABLE"
    DELIVERIES_TTL_DAYS = "PGW_DELIVERIES_TTL_DAYS"


class Tags:
    """Tag keys on the EventBridge resources the reconciler owns."""

    MANAGED_BY = "managed-by"
    PARTNER_ID = "partner-id"
    ENVIRONMENT = "environment"
    CONFIG_HASH = "config-hash"


MANAGED_BY_VALUE = "partner-event-gateway"

# Event sources and detail types on the bus (DESIGN.md, "Contracts").
SOURCE_REQUESTS = "marketplace.requests"
SOURCE_PARTNERS = "marketplace.partners"
REQUEST_CREATED = "Request Created"
REQUEST_STATUS_CHANGED = "Request Status Changed"
PARTNER_APPROVED = "Partner Approved"
PARTNER_SUSPENDED = "Partner Suspended"
PARTNER_ENVIRONMENT_CHANGED = "Partner Environment Changed"
SCHEMA_VERSION = "1"

# The detail field that addresses an event to one partner only (test events, redeliveries).
ADDRESSED_TO = "addressed_to"

DEFAULT_PARTNER_ENVIRONMENTS = ("prod", "test", "dev")


def partner_resource_name(prefix: str, partner_id: str, environment: str) -> str:
    """Name of a partner environment's rule, connection, API destination and DLQ.

    EventBridge allows 64 characters of `[.\\-_A-Za-z0-9]` for all three; partner ids are
    12 characters and environment names at most 16, so a stage prefix of up to 30 fits.
    """
    return f"{prefix}{partner_id}-{environment}"


def parse_partner_resource_name(prefix: str, name: str) -> tuple[str, str] | None:
    """`(partner_id, environment)` of a name made by `partner_resource_name`, or None.

    The inverse lives here, next to the name, because two concepts read names back: routing
    (what the reconciler owns) and deliveries (whose rule an event bus log record names).
    Partner ids and environment names never contain `-`, so the split is unambiguous.
    """
    if not name.startswith(prefix):
        return None
    partner_id, dash, environment = name[len(prefix):].rpartition("-")
    if not dash or not partner_id or not environment or "-" in partner_id:
        return None
    return partner_id, environment


def endpoint_secret_name(prefix: str, partner_id: str, environment: str) -> str:
    """Secrets Manager name of a partner environment's endpoint credentials."""
    return f"{prefix}{partner_id}/{environment}/endpoint-auth"


def usage_key_value(prefix: str, partner_id: str, environment: str) -> str:
    """Value of a partner environment's API Gateway usage-plan key.

    With API key source `AUTHORIZER` the key is an identifier for usage plans (throttling,
    quotas, usage figures), never a credential: the authorizer returns it after checking the
    partner's bearer token, so a partner holds one credential. Deriving it from the names
    lets the reconciler (which creates it) and the authorizer (which returns it) agree
    without storing it anywhere. API key values must be 20-128 characters.
    """
    return f"{partner_resource_name(prefix, partner_id, environment)}-usage-key"
