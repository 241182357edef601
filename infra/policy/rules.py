"""The gateway's security rules as pure checks over resources (type token + properties).

`infra/policy/pack.py` turns each check into a mandatory Pulumi policy; the tests call the
checks, and the policies, directly. Properties use Pulumi's camelCase names. A value that is
unknown during a preview (absent, or not yet a string) is not a violation: the same rule runs
again at `pulumi up` with the resolved value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from infra.cloud.documents import WILDCARD_RESOURCE_ACTIONS
from infra.spec import REQUEST_PATH_TAG
from partners.core.constants import Env

BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:"
                     "BucketServerSideEncryptionConfiguration")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
TABLE = "aws:dynamodb/table:Table"
TOPIC = "aws:sns/topic:Topic"
QUEUE = "aws:sqs/queue:Queue"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MANAGED_POLICY = "aws:iam/policy:Policy"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
API_DESTINATION = "aws:cloudwatch/eventApiDestination:EventApiDestination"
REST_STAGE = "aws:apigateway/stage:Stage"
HTTP_STAGE = "aws:apigatewayv2/stage:Stage"
SCHEDULE = "aws:scheduler/schedule:Schedule"

# Stacks whose endpoints must never be insecure (the stack name is in every URN).
PRODUCTION_STACKS = frozenset({"prod"})


@dataclass(frozen=True)
class Resource:
    """What a rule sees of a resource (Pulumi's PolicyResource carries the same fields)."""

    resource_type: str
    props: Mapping[str, Any]
    urn: str = ""
    name: str = ""
    # URNs of the resources each property's value came from (known even in a preview).
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @property
    def stack(self) -> str:
        """The stack name from the URN (`urn:pulumi:<stack>::<project>::...`)."""
        parts = self.urn.split(":")
        return parts[2] if len(parts) > 2 and self.urn.startswith("urn:pulumi:") else ""


def _known(value: Any) -> bool:
    return value is not None and value != ""


def _json(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return value
    if not isinstance(value, str):
        return None  # unknown during preview
    try:
        return json.loads(value)
    except ValueError:
        return None


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- Resource rules: (resource type, props) -> messages ------------------------------------

def check_public_access_block(resource: Resource) -> list[str]:
    """Every S3 public access block setting on."""
    if resource.resource_type != PUBLIC_ACCESS_BLOCK:
        return []
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    off = [key for key in keys if resource.props.get(key) is not True]
    return [f"S3 public access must be blocked: {', '.join(off)} must be true"] if off else []


def check_bucket_encryption_rule(resource: Resource) -> list[str]:
    """Bucket default encryption is SSE-KMS or SSE-S3."""
    if resource.resource_type != BUCKET_ENCRYPTION:
        return []
    rules = resource.props.get("rules") or []
    algorithms = [(rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
                  for rule in rules]
    if not any(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms):
        return ["S3 default encryption must be aws:kms or AES256"]
    return []


def check_table(resource: Resource) -> list[str]:
    """DynamoDB tables: point-in-time recovery and server-side encryption on."""
    if resource.resource_type != TABLE:
        return []
    messages = []
    if (resource.props.get("pointInTimeRecovery") or {}).get("enabled") is not True:
        messages.append("DynamoDB point-in-time recovery must be enabled")
    if (resource.props.get("serverSideEncryption") or {}).get("enabled") is not True:
        messages.append("DynamoDB server-side encryption (KMS) must be enabled")
    return messages


def check_topic(resource: Resource) -> list[str]:
    """SNS topics encrypted with KMS."""
    if resource.resource_type == TOPIC and not _known(resource.props.get("kmsMasterKeyId")):
        return ["SNS topics must be encrypted with a KMS key (kmsMasterKeyId)"]
    return []


def check_queue(resource: Resource) -> list[str]:
    """SQS queues encrypted (SQS managed SSE or KMS)."""
    if resource.resource_type != QUEUE:
        return []
    props = resource.props
    if props.get("sqsManagedSseEnabled") is True or _known(props.get("kmsMasterKeyId")):
        return []
    return ["SQS queues must be encrypted (sqsManagedSseEnabled or kmsMasterKeyId)"]


def iam_statement_problems(document: Any) -> list[str]:
    """Problems of one IAM identity policy: `Action: "*"` (or `service:*`) anywhere, and
    `Resource: "*"` for any action AWS does authorise on resources."""
    problems = []
    for statement in _listed((document or {}).get("Statement")):
        if statement.get("Effect") != "Allow":
            continue
        actions = [str(a) for a in _listed(statement.get("Action"))]
        if statement.get("NotAction") is not None or statement.get("NotResource") is not None:
            problems.append("NotAction/NotResource grants everything but a list")
        wild = [a for a in actions if a == "*" or a.endswith(":*")]
        if wild:
            problems.append(f"wildcard action {', '.join(wild)}")
        if "*" in [str(r) for r in _listed(statement.get("Resource"))]:
            data_plane = sorted(a for a in actions if a not in WILDCARD_RESOURCE_ACTIONS)
            if data_plane:
                problems.append(f'Resource "*" for {", ".join(data_plane)}')
    return problems


def check_iam_policy(resource: Resource) -> list[str]:
    """Identity policies (inline and managed) without wildcard actions or resources."""
    if resource.resource_type not in (ROLE_POLICY, MANAGED_POLICY):
        return []
    document = _json(resource.props.get("policy"))
    return [f"IAM policy: {problem}" for problem in iam_statement_problems(document)]


def check_log_group(resource: Resource) -> list[str]:
    """Log groups expire their events."""
    if resource.resource_type != LOG_GROUP:
        return []
    retention = resource.props.get("retentionInDays")
    # Numbers arrive as floats from the engine.
    if isinstance(retention, bool) or not isinstance(retention, (int, float)) or retention <= 0:
        return ["CloudWatch log groups must set retentionInDays"]
    return []


def check_event_target(resource: Resource) -> list[str]:
    """Every rule target has a dead-letter queue and a retry policy."""
    if resource.resource_type != EVENT_TARGET:
        return []
    messages = []
    if not _known((resource.props.get("deadLetterConfig") or {}).get("arn")):
        messages.append("EventBridge targets must have a dead-letter queue")
    if not resource.props.get("retryPolicy"):
        messages.append("EventBridge targets must set a retry policy")
    return messages


def check_schedule(resource: Resource) -> list[str]:
    """Scheduler targets have a dead-letter queue."""
    if resource.resource_type != SCHEDULE:
        return []
    target = resource.props.get("target") or {}
    if not _known((target.get("deadLetterConfig") or {}).get("arn")):
        return ["EventBridge Scheduler targets must have a dead-letter queue"]
    return []


def check_api_destination(resource: Resource) -> list[str]:
    """API destinations call https endpoints only."""
    if resource.resource_type != API_DESTINATION:
        return []
    endpoint = resource.props.get("invocationEndpoint")
    if isinstance(endpoint, str) and not endpoint.startswith("https://"):
        return ["API destinations must use https endpoints"]
    return []


def check_insecure_endpoints(resource: Resource) -> list[str]:
    """No function of a production stack allows insecure partner endpoints."""
    if resource.resource_type != FUNCTION or resource.stack not in PRODUCTION_STACKS:
        return []
    variables = ((resource.props.get("environment") or {}).get("variables") or {})
    value = str(variables.get(Env.ALLOW_INSECURE_ENDPOINTS, "")).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return [f"{Env.ALLOW_INSECURE_ENDPOINTS} must not be enabled in stack "
                f"{resource.stack}"]
    return []


def check_request_path_snap_start(resource: Resource) -> list[str]:
    """Request-path functions start from a SnapStart snapshot of a published version.

    SnapStart applies to published versions only: `snapStart` without `publish` snapshots
    nothing (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html).
    """
    if resource.resource_type != FUNCTION:
        return []
    tags = resource.props.get("tags")
    if not isinstance(tags, Mapping) or str(tags.get(REQUEST_PATH_TAG, "")).lower() != "true":
        return []
    snap = resource.props.get("snapStart") or {}
    if snap.get("applyOn") != "PublishedVersions" or resource.props.get("publish") is not True:
        return ["request-path functions must publish versions with SnapStart "
                "(snapStart.applyOn PublishedVersions, publish true)"]
    return []


def check_stage_access_logs(resource: Resource) -> list[str]:
    """API Gateway stages write access logs."""
    if resource.resource_type not in (REST_STAGE, HTTP_STAGE):
        return []
    if not _known((resource.props.get("accessLogSettings") or {}).get("destinationArn")):
        return ["API Gateway stages must write access logs"]
    return []


RESOURCE_RULES: Mapping[str, tuple[str, Callable[[Resource], list[str]]]] = {
    "s3-public-access-blocked": ("Every S3 public access block setting is on",
                                 check_public_access_block),
    "s3-default-encryption": ("S3 default encryption is KMS or AES256",
                              check_bucket_encryption_rule),
    "dynamodb-pitr-and-encryption": ("DynamoDB tables have PITR and SSE",
                                     check_table),
    "sns-kms-encryption": ("SNS topics are KMS-encrypted", check_topic),
    "sqs-encryption": ("SQS queues are encrypted", check_queue),
    "iam-no-wildcards": ('No IAM Action "*" and no data-plane Resource "*"', check_iam_policy),
    "log-retention": ("Log groups set a retention", check_log_group),
    "event-target-dlq": ("EventBridge targets have a DLQ and retry policy",
                         check_event_target),
    "schedule-dlq": ("Scheduler targets have a DLQ", check_schedule),
    "https-api-destinations": ("API destinations use https", check_api_destination),
    "no-insecure-endpoints-in-prod": ("Production stacks never allow insecure endpoints",
                                      check_insecure_endpoints),
    "api-access-logs": ("API Gateway stages write access logs", check_stage_access_logs),
    "request-path-snap-start": ("Request-path functions use SnapStart on published versions",
                                check_request_path_snap_start),
}


# --- Stack rules: relations between resources ----------------------------------------------

def _references(resource: Resource, target: Resource, key: str) -> bool:
    """Whether `resource` points at `target` through its property `key`."""
    if target.urn and target.urn in resource.property_dependencies.get(key, ()):
        return True
    value = resource.props.get(key)
    return _known(value) and value in (target.props.get("id"), target.props.get("bucket"),
                                       target.props.get("name"), target.props.get("arn"))


def _of_type(resources: Iterable[Resource], resource_type: str) -> list[Resource]:
    return [r for r in resources if r.resource_type == resource_type]


def check_buckets_protected(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    """Every bucket has a public access block, default encryption and a TLS-only policy."""
    for bucket in _of_type(resources, BUCKET):
        if not any(_references(r, bucket, "bucket")
                   for r in _of_type(resources, PUBLIC_ACCESS_BLOCK)):
            yield bucket, "bucket has no public access block"
        if not any(_references(r, bucket, "bucket")
                   for r in _of_type(resources, BUCKET_ENCRYPTION)):
            yield bucket, "bucket has no default encryption configuration"
        policies = [r for r in _of_type(resources, BUCKET_POLICY) if _references(r, bucket, "bucket")]
        if not any(denies_insecure_transport(_json(p.props.get("policy"))) for p in policies):
            yield bucket, "bucket policy must deny requests without TLS (aws:SecureTransport)"


def denies_insecure_transport(document: Any) -> bool:
    """Whether a bucket policy denies every action over plain http."""
    for statement in _listed((document or {}).get("Statement")):
        condition = (statement.get("Condition") or {}).get("Bool") or {}
        if (statement.get("Effect") == "Deny" and statement.get("Principal") in ("*", {"AWS": "*"})
                and "s3:*" in _listed(statement.get("Action"))
                and str(condition.get("aws:SecureTransport")).lower() == "false"):
            return True
    return False


def check_functions_wired(resources: Sequence[Resource]) -> Iterator[tuple[Resource, str]]:
    """Every function logs to a group with retention and has an async failure destination."""
    groups = {g.props.get("name"): g for g in _of_type(resources, LOG_GROUP)}
    configs = _of_type(resources, INVOKE_CONFIG)
    for function in _of_type(resources, FUNCTION):
        name = function.props.get("name")
        group_name = ((function.props.get("loggingConfig") or {}).get("logGroup")
                      or f"/aws/lambda/{name}")
        if _known(name) and group_name not in groups:
            yield function, f"function has no log group {group_name} with retention"
        mine = [c for c in configs if _references(c, function, "functionName")]
        if not any(_known(((c.props.get("destinationConfig") or {}).get("onFailure") or {})
                          .get("destination")) for c in mine):
            yield function, "function has no on-failure destination for async invocations"


STACK_RULES: Mapping[str, tuple[str, Callable[[Sequence[Resource]],
                                               Iterator[tuple[Resource, str]]]]] = {
    "s3-buckets-protected": ("Buckets: public access blocked, encrypted, TLS only",
                             check_buckets_protected),
    "lambda-logs-and-failures": ("Functions: log retention and an async failure destination",
                                 check_functions_wired),
}
