"""The one list of resources and names that both backends read.

The Pulumi program (`infra/cloud`) and the embedded stack (`infra/local`) build exactly what
this module describes, and the Lambda handlers find every resource through the environment
variables named here. Nothing else in the repository spells a resource name.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from infra.bucket_names import bucket_name, bucket_namespace
from infra.gateway_problems import GATEWAY_PROBLEMS, problem_gateway_responses  # noqa: F401
from partners.core.constants import Env, endpoint_secret_name, partner_resource_name
from partners.deliveries import DEFAULT_TTL_DAYS, LISTED_ATTRIBUTES as DELIVERIES_LISTED
from partners.deliveries import ENVIRONMENT_INDEX as DELIVERIES_ENVIRONMENT_INDEX
from partners.deliveries import HOUR_INDEX as DELIVERIES_HOUR_INDEX
from partners.requests import (
    INBOX_QUEUE_INDEX,
    INBOX_ROUTED_INDEX,
    INBOX_STATUS_INDEX,
    REQUESTS_ENVIRONMENT_INDEX,
    STATUS_CHANGED,
)

PROJECT = "pgw"
STAGE_PATTERN = re.compile(r"^[a-z][a-z0-9]{1,11}$")
# Where the embedded stack and the tests run: moto's default account and region. The Pulumi
# program passes the deploying account (`aws.get_caller_identity`) and the stack's region.
EMBEDDED_ACCOUNT_ID = "123456789012"
EMBEDDED_REGION = "us-east-1"
DEFAULT_PARTNER_ENVIRONMENTS = ("prod", "test", "dev")

# The data lake feed: a catch-all rule -> Firehose -> S3, one folder per detail type, then by
# day (Hive-style keys, so Athena and Glue partition on both without crawling).
CATCH_ALL_PATTERN = {"source": [{"prefix": ""}]}
DATALAKE_DETAIL_TYPE_QUERY = (
    '{detail_type: (."detail-type" | ascii_downcase | gsub("[^a-z0-9]+"; "-"))}')
DATALAKE_PREFIX = ("events/detail_type=!{partitionKeyFromQuery:detail_type}/"
                   "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")
DATALAKE_ERROR_PREFIX = ("errors/!{firehose:error-output-type}/"
                         "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/")

KeyType = Literal["S", "N", "B"]
StreamView = Literal["NEW_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY", "OLD_IMAGE"]


@dataclass(frozen=True)
class Attribute:
    name: str
    type: KeyType = "S"


@dataclass(frozen=True)
class Index:
    """A global secondary index: projection ALL, or the keys plus `include` when given."""

    name: str
    hash_key: Attribute
    range_key: Attribute | None = None
    include: tuple[str, ...] = ()

    @property
    def projection_type(self) -> str:
        return "INCLUDE" if self.include else "ALL"


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: on-demand, encrypted, point-in-time recovery everywhere."""

    logical: str
    name: str
    env_var: str
    hash_key: Attribute
    range_key: Attribute | None = None
    indexes: tuple[Index, ...] = ()
    stream: StreamView | None = None
    ttl_attribute: str | None = None

    @property
    def attributes(self) -> tuple[Attribute, ...]:
        """Every attribute that a key or an index names, once each."""
        seen: dict[str, Attribute] = {}
        keys = [self.hash_key, self.range_key]
        for index in self.indexes:
            keys += [index.hash_key, index.range_key]
        for attribute in keys:
            if attribute is not None:
                seen.setdefault(attribute.name, attribute)
        return tuple(seen.values())


@dataclass(frozen=True)
class BucketSpec:
    logical: str
    name: str  # unique per account, region and stage (infra/bucket_names.py)
    env_var: str
    expire_after_days: int | None = None
    namespace: str = "account-regional"  # the S3 bucket namespace the name was made for


@dataclass(frozen=True)
class QueueSpec:
    """A standard SQS queue (a dead-letter queue unless said otherwise)."""

    logical: str
    name: str
    retention_seconds: int = 14 * 24 * 3600


@dataclass(frozen=True)
class TopicSpec:
    logical: str
    name: str
    env_var: str


# Tagged on request-path functions (`FunctionSpec.snap_start`): the policy pack requires
# SnapStart on published versions for each.
REQUEST_PATH_TAG = "pgw:request-path"


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its handler and the resources it is allowed to reach."""

    logical: str
    name: str
    handler: str
    tables: tuple[str, ...] = ()
    timeout_seconds: int = 10
    memory_mb: int = 512
    # On the request path (an API answers while it runs): Lambda SnapStart restores it from a
    # snapshot of its initialised environment, invoked through a published version's alias.
    snap_start: bool = False


@dataclass(frozen=True)
class StreamSubscriptionSpec:
    """A function fed by a table's DynamoDB stream (a Lambda event source mapping).

    The function answers with a partial batch response (`ReportBatchItemFailures`): Lambda
    resumes from the first failed record, and after `retries` tries (or records older than
    `max_record_age_seconds`) hands the batch's description to the `on_failure` queue.
    `filter` is the mapping's filter pattern (records it rejects cost no invocation).
    `batching_window_seconds` lets records gather into fuller batches (fewer invocations;
    a request's changes that fall in one batch are projected with one write per item).
    """

    function: str
    table: str
    starting_position: str
    on_failure: str
    batch_size: int = 100
    retries: int = 10
    bisect_on_error: bool = False
    max_record_age_seconds: int = -1
    batching_window_seconds: int = 0
    filter: dict[str, Any] | None = None

    @property
    def filter_json(self) -> str | None:
        return json.dumps(self.filter, separators=(",", ":")) if self.filter else None


@dataclass(frozen=True)
class DeliveryLogSpec:
    """The delivery log's source: the bus's own logs, vended to CloudWatch Logs, whose
    subscription filter hands partner-delivery records to the indexer function.

    `level` TRACE and `include_detail` FULL: only TRACE logs INVOCATION_START (with
    `target_input`, the CloudEvent as sent) and INVOCATION_ATTEMPT_SUCCESS, and without FULL
    there is no `target_input` (AWS documentation: eb-event-bus-logs, eb-event-logs-schema).
    `filter_pattern` (CloudWatch Logs JSON filter syntax) keeps only records about API
    destination targets: the routing recorder's, the data lake's and the receipts cost
    ingestion but no indexer invocation. Both backends read these values.
    """

    bus_name: str
    log_group: str
    delivery_source: str
    delivery_destination: str
    filter_name: str
    function: str = "delivery_indexer"
    level: str = "TRACE"
    include_detail: str = "FULL"
    log_type: str = "TRACE_LOGS"
    # The raw records' retention in the embedded stack; cloud stacks use `logRetentionDays`.
    retention_days: int = 14
    filter_pattern: str = '{ $.details.target_arn = "*:api-destination/*" }'


@dataclass(frozen=True)
class UserPoolSpec:
    """The Cognito user pool of the console: partners and admins sign in here."""

    name: str
    client_name: str
    groups: tuple[str, ...] = ("admins", "partners")
    password_minimum_length: int = 12


@dataclass(frozen=True)
class StageSpec:
    """Every name and shape of one stage (one deployment of the whole gateway)."""

    stage: str
    partner_environments: tuple[str, ...] = DEFAULT_PARTNER_ENVIRONMENTS
    tables: dict[str, TableSpec] = field(default_factory=dict)
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    queues: dict[str, QueueSpec] = field(default_factory=dict)
    topics: dict[str, TopicSpec] = field(default_factory=dict)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    stream_subscriptions: tuple[StreamSubscriptionSpec, ...] = ()
    user_pool: UserPoolSpec | None = None
    # How many days the delivery log keeps a delivery (the stack setting `deliveriesTtlDays`).
    deliveries_ttl_days: int = DEFAULT_TTL_DAYS

    @property
    def usage_plan_name(self) -> str:
        return f"{self.prefix}-partners"

    @property
    def prefix(self) -> str:
        """Prefix of every resource name in the stage, and of nothing outside it."""
        return f"{PROJECT}-{self.stage}"

    @property
    def bus_name(self) -> str:
        return f"{self.prefix}-marketplace"

    @property
    def archive_name(self) -> str:
        return f"{self.prefix}-marketplace-archive"

    @property
    def delivery_log(self) -> DeliveryLogSpec:
        """The bus's logs -> log group -> indexer (infra/cloud/delivery_log.py, provision)."""
        return DeliveryLogSpec(
            bus_name=self.bus_name,
            log_group=f"/aws/vendedlogs/events/event-bus/{self.bus_name}",
            delivery_source=f"{self.bus_name}-logs",
            delivery_destination=f"{self.bus_name}-logs-cwl",
            filter_name=f"{self.prefix}-delivery-indexer")

    @property
    def datalake_stream_name(self) -> str:
        """The Firehose delivery stream that writes every bus event to the data lake bucket."""
        return f"{self.prefix}-datalake"

    @property
    def datalake_rule_name(self) -> str:
        """The catch-all rule on the bus whose target is the data lake stream."""
        return f"{self.prefix}-datalake"

    @property
    def partner_resource_prefix(self) -> str:
        """Prefix of the rules, connections, destinations and DLQs the reconciler owns."""
        return f"{self.prefix}-pt-"

    @property
    def secret_prefix(self) -> str:
        """Secrets Manager name prefix of the partners' endpoint credentials."""
        return f"{PROJECT}/{self.stage}/partners/"

    @property
    def console_session_secret_name(self) -> str:
        """The Secrets Manager secret holding the console's Flask session key (read by the
        console at cold start; outside `secret_prefix`, which the console may write)."""
        return f"{PROJECT}/{self.stage}/console/session-key"

    def partner_resource_name(self, partner_id: str, environment: str) -> str:
        """Name of a partner environment's rule, connection, destination and DLQ."""
        return partner_resource_name(self.partner_resource_prefix, partner_id, environment)

    def endpoint_secret_name(self, partner_id: str, environment: str) -> str:
        return endpoint_secret_name(self.secret_prefix, partner_id, environment)

    def function_name(self, logical: str) -> str:
        return self.functions[logical].name

    def environment_variables(self) -> dict[str, str]:
        """The variables every function of the stage gets (ARNs are added by the backend)."""
        variables = {
            Env.STAGE: self.stage,
            Env.BUS_NAME: self.bus_name,
            Env.ARCHIVE_NAME: self.archive_name,
            Env.RESOURCE_PREFIX: self.partner_resource_prefix,
            Env.SECRET_PREFIX: self.secret_prefix,
            Env.PARTNER_ENVIRONMENTS: ",".join(self.partner_environments),
            Env.RECONCILER_FUNCTION: self.functions["reconciler"].name,
            Env.DELIVERIES_TTL_DAYS: str(self.deliveries_ttl_days),
        }
        variables.update({t.env_var: t.name for t in self.tables.values()})
        variables.update({b.env_var: b.name for b in self.buckets.values()})
        return variables


def _tables(prefix: str) -> dict[str, TableSpec]:
    s, n = Attribute, lambda name: Attribute(name, "N")
    tables = [
        # Partner organisations (one item each, environments nested) and the reconciler's
        # routing status per environment (separate items, so a status write never races a
        # console save on the partner's version).
        TableSpec(
            "partners",
            f"{prefix}-partners",
            Env.PARTNERS_TABLE,
            s("pk"),
            s("sk"),
            indexes=(Index("by-status", s("status"), s("created_at")),),
        ),
        # API tokens by their public prefix; the hash, never the token.
        TableSpec(
            "tokens",
            f"{prefix}-tokens",
            Env.TOKENS_TABLE,
            s("prefix"),
            indexes=(Index("by-partner", s("partner_id"), s("prefix")),),
            ttl_attribute="purge_at",
        ),
        # Append-only audit records, by target; a day index for the admin's log view.
        TableSpec(
            "audit",
            f"{prefix}-audit",
            Env.AUDIT_TABLE,
            s("target"),
            s("sk"),
            indexes=(Index("by-day", s("day"), s("sk")),),
        ),
        # The request lifecycle: an append-only log (request id + sequence).
        TableSpec(
            "request_events",
            f"{prefix}-request-events",
            Env.REQUEST_EVENTS_TABLE,
            s("request_id"),
            n("sequence"),
            stream="NEW_IMAGE",
        ),
        # Projections built from the log's stream.
        TableSpec(
            "requests",
            f"{prefix}-requests",
            Env.REQUESTS_TABLE,
            s("pk"),
            s("sk"),
            # One `REQUEST` item per request (routes live in `partner_inbox`); the
            # console's filter preview reads an environment's latest requests here.
            indexes=(Index(REQUESTS_ENVIRONMENT_INDEX, s("environment"), s("created_at")),),
        ),
        # pk `<partner>#<env>`, sk request id: the request as that partner environment
        # sees it; `by-queue` lists pending first, `by-status` one status
        # (partners/requests/tables.py).
        TableSpec(
            "partner_inbox",
            f"{prefix}-partner-inbox",
            Env.INBOX_TABLE,
            s("pk"),
            s("sk"),
            # Listings read only the summary: the indexes copy `document`, not the history
            # and document references every write would otherwise copy three times.
            indexes=(Index(INBOX_QUEUE_INDEX, s("pk"), s("queue_key"), include=("document",)),
                     Index(INBOX_STATUS_INDEX, s("status_key"), s("routed_key"),
                           include=("document",)),
                     # The console's deliveries per day and recent deliveries.
                     Index(INBOX_ROUTED_INDEX, s("pk"), s("routed_key"), include=("document",))),
        ),
        TableSpec(
            "user_timeline",
            f"{prefix}-user-timeline",
            Env.TIMELINE_TABLE,
            s("user_id"),
            s("sk"),
        ),
        # Idempotency records (status posts, notifications), expired by TTL.
        TableSpec(
            "idempotency",
            f"{prefix}-idempotency",
            Env.IDEMPOTENCY_TABLE,
            s("id"),
            ttl_attribute="expiration",
        ),
        TableSpec(
            "contacts",
            f"{prefix}-contacts",
            Env.CONTACTS_TABLE,
            s("user_id"),
        ),
        # The console's server-side sign-ins and login attempt counters, one table with item
        # kinds by key prefix (console/sessions.py, console/throttle.py); expired by TTL.
        TableSpec(
            "console_sessions",
            f"{prefix}-console-sessions",
            Env.CONSOLE_SESSIONS_TABLE,
            s("pk"),
            ttl_attribute="expires_at",
        ),
        # The delivery log (item kinds: partners/deliveries/store.py); listings leave out the
        # CloudEvent body, read by id only.
        TableSpec("deliveries", f"{prefix}-deliveries", Env.DELIVERIES_TABLE, s("pk"), s("sk"),
                  indexes=(Index(DELIVERIES_ENVIRONMENT_INDEX, s("env_key"), s("created_key"),
                                 include=DELIVERIES_LISTED),
                           Index(DELIVERIES_HOUR_INDEX, s("hour"), s("env_key"))),
                  ttl_attribute="expires_at"),
    ]
    return {t.logical: t for t in tables}


def _functions(prefix: str) -> dict[str, FunctionSpec]:
    functions = [
        FunctionSpec("partner_api", f"{prefix}-partner-api", "handlers.partner_api.lambda_handler",
                     tables=("partner_inbox", "request_events", "deliveries", "audit"),
                     snap_start=True),
        FunctionSpec("authorizer", f"{prefix}-authorizer", "handlers.authorizer.lambda_handler",
                     tables=("tokens", "partners"), snap_start=True),
        FunctionSpec("portal_api", f"{prefix}-portal-api", "handlers.portal_api.lambda_handler",
                     tables=("request_events", "requests", "user_timeline", "contacts",
                             "idempotency"), snap_start=True),
        FunctionSpec("routing_recorder", f"{prefix}-routing-recorder",
                     "handlers.routing_recorder.lambda_handler", tables=("request_events",)),
        # The projector folds each changed request's whole log (request_events) into views.
        FunctionSpec("projector", f"{prefix}-projector", "handlers.projector.lambda_handler",
                     tables=("requests", "partner_inbox", "user_timeline", "request_events"),
                     timeout_seconds=60),
        FunctionSpec("notifier", f"{prefix}-notifier", "handlers.notifier.lambda_handler",
                     tables=("contacts", "request_events")),
        # Folds the bus's log records (a CloudWatch Logs subscription) into the delivery log.
        FunctionSpec("delivery_indexer", f"{prefix}-delivery-indexer",
                     "handlers.delivery_indexer.lambda_handler", tables=("deliveries",),
                     timeout_seconds=60),
        FunctionSpec("reconciler", f"{prefix}-reconciler", "handlers.reconciler.lambda_handler",
                     tables=("partners", "deliveries", "audit"), timeout_seconds=300, memory_mb=1024),
        FunctionSpec("console", f"{prefix}-console", "handlers.console.lambda_handler",
                     tables=("partners", "tokens", "audit", "requests", "partner_inbox",
                             "request_events", "console_sessions", "deliveries"),
                     timeout_seconds=29, snap_start=True),
    ]
    return {f.logical: f for f in functions}

def _stream_subscriptions() -> tuple[StreamSubscriptionSpec, ...]:
    return (
        # Every log item, from the start: the views are a function of the whole log. On a
        # poison record the batch is halved to find it.
        StreamSubscriptionSpec("projector", "request_events", "TRIM_HORIZON",
                               on_failure="async_failures", bisect_on_error=True,
                               batching_window_seconds=1),
        # Status changes only, from now on (a new stage does not text anyone about the
        # past); a notification older than six hours is no longer news.
        StreamSubscriptionSpec("notifier", "request_events", "LATEST",
                               on_failure="notifier_dlq", retries=20,
                               max_record_age_seconds=6 * 3600, batching_window_seconds=1,
                               filter={"eventName": ["INSERT"],
                                       "dynamodb": {"NewImage": {"type": {
                                           "S": [STATUS_CHANGED]}}}}),
    )


def stage_spec(
    stage: str, partner_environments: tuple[str, ...] | list[str] = DEFAULT_PARTNER_ENVIRONMENTS,
    *, account_id: str = EMBEDDED_ACCOUNT_ID, region: str = EMBEDDED_REGION,
    deliveries_ttl_days: int = DEFAULT_TTL_DAYS,
) -> StageSpec:
    """Describe every resource of `stage` (`local`, `dev`, `staging`, `prod`, ...) in the
    account and region it is deployed to (bucket names hold both: `bucket_name`)."""
    if not STAGE_PATTERN.match(stage):
        raise ValueError(f"stage {stage!r} must be 2-12 lowercase letters or digits")
    if deliveries_ttl_days < 1:
        raise ValueError("deliveries_ttl_days must be at least 1")
    prefix = f"{PROJECT}-{stage}"
    namespace = bucket_namespace(region)
    buckets = [
        BucketSpec("documents", bucket_name(prefix, "documents", account_id, region),
                   Env.DOCUMENTS_BUCKET, expire_after_days=365, namespace=namespace),
        BucketSpec("datalake", bucket_name(prefix, "datalake", account_id, region),
                   Env.DATALAKE_BUCKET, namespace=namespace),
    ]
    queues = [
        QueueSpec("notifier_dlq", f"{prefix}-notifier-dlq"),
        QueueSpec("routing_dlq", f"{prefix}-routing-recorder-dlq"),
        QueueSpec("portal_callback_dlq", f"{prefix}-portal-callback-dlq"),
        QueueSpec("async_failures", f"{prefix}-async-failures"),
    ]
    topics = [TopicSpec("notifications", f"{prefix}-notifications", Env.NOTIFICATIONS_TOPIC_ARN)]
    return StageSpec(
        stage=stage,
        partner_environments=tuple(partner_environments),
        tables=_tables(prefix),
        buckets={b.logical: b for b in buckets},
        queues={q.logical: q for q in queues},
        topics={t.logical: t for t in topics},
        functions=_functions(prefix),
        stream_subscriptions=_stream_subscriptions(),
        user_pool=UserPoolSpec(f"{prefix}-users", f"{prefix}-console"),
        deliveries_ttl_days=deliveries_ttl_days,
    )
