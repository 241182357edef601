"""Desired and observed routing of partner environments, and the pure plan between them.

A partner environment's routing is a handful of AWS resources, all named
`partner_resource_name(prefix, partner_id, environment)`:

- push mode: an EventBridge connection (the endpoint's auth), an API destination (endpoint,
  POST, rate limit), a standard SQS dead-letter queue, a rule on the stage's bus and its two
  targets, `delivery` (the API destination) and `routing` (the routing recorder);
- poll mode: the rule and its `routing` target only (the routing recorder writes the inbox);
- both: an API Gateway usage-plan key when the stage has a usage plan.

`plan_changes(desired, observed)` compares the two and returns the smallest ordered list of
writes per environment. It is pure: no AWS, no clock, so it is tested with tables.

Change detection is cheap by design. The rule's description carries the config hash of what
was last applied completely (`managed-by=... config-hash=<hash>`), and `ListRules` pages show
descriptions, so a resync learns from a few list pages that nothing changed. The hash is
written last (the rule's "stamp"): a run that dies half-way leaves an old or `pending` stamp,
and the next run looks closer at that environment and finishes the job.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Iterable, Mapping

from partners.core.constants import MANAGED_BY_VALUE, Tags, partner_resource_name, usage_key_value
from partners.core.contracts import CLOUDEVENTS_TRANSFORMER
from partners.onboarding import AuthType, DeliveryMode, InvalidFilterError, PartnerEnvironment
from partners.routing.exceptions import RoutingPermanentError
from partners.routing.patterns import compile_event_pattern, pattern_json

RULE_ENABLED = "ENABLED"
HTTP_METHOD = "POST"
PENDING_HASH = "pending"
MAX_NAME_LENGTH = 64  # rules, connections, API destinations (SQS allows 80)
MANAGED_MARKER = f"{Tags.MANAGED_BY}={MANAGED_BY_VALUE}"
# Stands for "this environment's API destination" in a target until apply knows its ARN
# (AWS puts a random suffix in it).
DESTINATION_ARN = "@destination"


class TargetId:
    DELIVERY = "delivery"
    ROUTING = "routing"


KNOWN_TARGET_IDS = (TargetId.DELIVERY, TargetId.ROUTING)


def rule_description(config_hash: str) -> str:
    """The rule description that marks it as ours and records the applied config hash."""
    return f"{MANAGED_MARKER} {Tags.CONFIG_HASH}={config_hash}"


def description_hash(description: str | None) -> str | None:
    """The config hash recorded in a description made by `rule_description`, or None."""
    for word in (description or "").split():
        key, _, value = word.partition("=")
        if key == Tags.CONFIG_HASH and value:
            return value
    return None


def short_hash(data: Any) -> str:
    """A 16-hex-digit SHA-256 of the canonical JSON of `data`."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_resource_name(prefix: str, name: str) -> tuple[str, str] | None:
    """`(partner_id, environment)` of a name made by `partner_resource_name`, else None.

    Partner ids and environment names never contain `-`, so the split is unambiguous.
    """
    if not name.startswith(prefix):
        return None
    partner_id, dash, environment = name[len(prefix):].rpartition("-")
    if not dash or not partner_id or not environment or "-" in partner_id:
        return None
    return partner_id, environment


# --- desired state -----------------------------------------------------------------------


@dataclass(frozen=True)
class ConnectionSpec:
    """A connection's non-secret settings and the version (never the value) of its secret."""

    auth_type: AuthType
    secret_arn: str
    secret_version: str
    header_name: str | None = None
    username: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None

    @property
    def config_hash(self) -> str:
        return short_hash(asdict(self))

    @property
    def identity(self) -> tuple[str, ...]:
        """The public settings that `DescribeConnection` shows back (no secret)."""
        if self.auth_type is AuthType.API_KEY:
            return (self.auth_type.value, self.header_name or "")
        if self.auth_type is AuthType.BASIC:
            return (self.auth_type.value, self.username or "")
        return (self.auth_type.value, self.client_id or "", self.token_url or "")

    def auth_parameters(self, secret_value: str) -> dict[str, Any]:
        """`AuthParameters` for CreateConnection / UpdateConnection, with the secret value."""
        if self.auth_type is AuthType.API_KEY:
            return {"ApiKeyAuthParameters": {"ApiKeyName": self.header_name,
                                             "ApiKeyValue": secret_value}}
        if self.auth_type is AuthType.BASIC:
            return {"BasicAuthParameters": {"Username": self.username, "Password": secret_value}}
        body = [{"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]
        if self.scope:
            body.append({"Key": "scope", "Value": self.scope, "IsValueSecret": False})
        return {"OAuthParameters": {
            "ClientParameters": {"ClientID": self.client_id, "ClientSecret": secret_value},
            "AuthorizationEndpoint": self.token_url,
            "HttpMethod": HTTP_METHOD,
            "OAuthHttpParameters": {"BodyParameters": body},
        }}


def connection_identity(described: Mapping[str, Any]) -> tuple[str, ...]:
    """`ConnectionSpec.identity` of a `DescribeConnection` answer."""
    auth_type = str(described.get("AuthorizationType", ""))
    parameters = described.get("AuthParameters") or {}
    if auth_type == AuthType.API_KEY.value:
        return (auth_type, (parameters.get("ApiKeyAuthParameters") or {}).get("ApiKeyName", ""))
    if auth_type == AuthType.BASIC.value:
        return (auth_type, (parameters.get("BasicAuthParameters") or {}).get("Username", ""))
    oauth = parameters.get("OAuthParameters") or {}
    return (auth_type, (oauth.get("ClientParameters") or {}).get("ClientID", ""),
            oauth.get("AuthorizationEndpoint", ""))


@dataclass(frozen=True)
class DestinationSpec:
    endpoint: str
    rate_limit_per_second: int
    method: str = HTTP_METHOD


@dataclass(frozen=True)
class TargetSpec:
    """One rule target in a comparable form (`arn` may be `DESTINATION_ARN`)."""

    id: str
    arn: str
    input_template: str
    input_paths: tuple[tuple[str, str], ...] = ()
    retry: tuple[int, int] | None = None  # (maximum event age seconds, maximum attempts)
    dead_letter_arn: str | None = None
    role_arn: str | None = None

    def to_aws(self, destination_arn: str | None) -> dict[str, Any]:
        """The `PutTargets` entry, with the API destination's ARN filled in."""
        arn = destination_arn if self.arn == DESTINATION_ARN else self.arn
        target: dict[str, Any] = {
            "Id": self.id,
            "Arn": arn,
            "InputTransformer": {"InputPathsMap": dict(self.input_paths),
                                 "InputTemplate": self.input_template},
        }
        if self.retry is not None:
            target["RetryPolicy"] = {"MaximumEventAgeInSeconds": self.retry[0],
                                     "MaximumRetryAttempts": self.retry[1]}
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        if self.role_arn:
            target["RoleArn"] = self.role_arn
        return target

    @classmethod
    def from_aws(cls, target: Mapping[str, Any], destination_arn: str | None) -> TargetSpec:
        """Read a `ListTargetsByRule` entry back into the comparable form."""
        transformer = target.get("InputTransformer") or {}
        retry = target.get("RetryPolicy")
        arn = str(target.get("Arn", ""))
        return cls(
            id=str(target.get("Id", "")),
            arn=DESTINATION_ARN if destination_arn and arn == destination_arn else arn,
            input_template=str(transformer.get("InputTemplate", "")),
            input_paths=tuple(sorted((transformer.get("InputPathsMap") or {}).items())),
            retry=(int(retry["MaximumEventAgeInSeconds"]), int(retry["MaximumRetryAttempts"]))
            if retry else None,
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
            role_arn=target.get("RoleArn"),
        )


@dataclass(frozen=True)
class DesiredEnvironment:
    """Everything one partner environment's routing should be, without any secret value."""

    name: str
    partner_id: str
    environment: str
    mode: DeliveryMode
    pattern: str  # canonical JSON (`partners.routing.patterns.pattern_json`)
    targets: tuple[TargetSpec, ...]
    connection: ConnectionSpec | None = None
    destination: DestinationSpec | None = None
    dead_letter_queue: bool = False
    usage_key_value: str | None = None

    @property
    def config_hash(self) -> str:
        """Covers every setting, including the secret's version id (never its value)."""
        return short_hash(asdict(self))

    def tags(self) -> dict[str, str]:
        return {Tags.MANAGED_BY: MANAGED_BY_VALUE, Tags.PARTNER_ID: self.partner_id,
                Tags.ENVIRONMENT: self.environment}


# --- observed state ----------------------------------------------------------------------


@dataclass(frozen=True)
class ObservedRule:
    name: str
    arn: str
    pattern: str | None  # canonical JSON
    state: str
    description: str | None = None


@dataclass(frozen=True)
class ObservedConnection:
    name: str
    arn: str
    auth_type: str
    state: str = ""
    # Known only after DescribeConnection (a deeper read):
    config_hash: str | None = None
    identity: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ObservedDestination:
    name: str
    arn: str
    endpoint: str
    connection_arn: str
    method: str = HTTP_METHOD
    rate_limit_per_second: int | None = None  # None: the list page did not show it


@dataclass(frozen=True)
class ObservedQueue:
    name: str
    url: str
    messages: int | None = None  # None: not counted (GetQueueAttributes is a deeper read)


@dataclass(frozen=True)
class ObservedUsageKey:
    id: str
    value: str
    enabled: bool
    in_plan: bool


@dataclass(frozen=True)
class ObservedEnvironment:
    """What exists for one resource name; `None` fields are absent (or not read, see below)."""

    name: str
    rule: ObservedRule | None = None
    connection: ObservedConnection | None = None
    destination: ObservedDestination | None = None
    queue: ObservedQueue | None = None
    usage_keys: tuple[ObservedUsageKey, ...] = ()
    # Deeper reads, None until made: the rule's targets (raw ListTargetsByRule entries) and tags.
    targets: tuple[Mapping[str, Any], ...] | None = field(default=None, compare=False)
    rule_tags: Mapping[str, str] | None = field(default=None, compare=False)

    @property
    def exists(self) -> bool:
        return bool(self.rule or self.connection or self.destination or self.queue
                    or self.usage_keys)


# --- the plan ----------------------------------------------------------------------------


class ActionKind(enum.StrEnum):
    CREATE_USAGE_KEY = "create_usage_key"
    ATTACH_USAGE_KEY = "attach_usage_key"
    ENABLE_USAGE_KEY = "enable_usage_key"
    CREATE_CONNECTION = "create_connection"
    UPDATE_CONNECTION = "update_connection"
    CREATE_DESTINATION = "create_destination"
    UPDATE_DESTINATION = "update_destination"
    CREATE_QUEUE = "create_queue"
    CREATE_RULE = "create_rule"  # a new rule, stamped `pending` until its targets are in
    PUT_TARGETS = "put_targets"
    REMOVE_TARGETS = "remove_targets"
    TAG_RULE = "tag_rule"
    STAMP_RULE = "stamp_rule"  # PutRule with the pattern and the final config hash
    DELETE_RULE = "delete_rule"
    DELETE_DESTINATION = "delete_destination"
    DELETE_CONNECTION = "delete_connection"
    DELETE_QUEUE = "delete_queue"
    DELETE_USAGE_KEY = "delete_usage_key"


@dataclass(frozen=True)
class Action:
    """One AWS write; `ids` names targets or usage keys where the kind needs them."""

    kind: ActionKind
    ids: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind.value}({','.join(self.ids)})" if self.ids else self.kind.value


@dataclass(frozen=True)
class Quotas:
    """Limits the reconciler must stay under (AWS defaults; all adjustable by AWS)."""

    rules_per_bus: int = 300
    api_destinations: int = 3000
    connections: int = 3000


@dataclass(frozen=True)
class Usage:
    """How much of each quota is in use (every rule on the bus, not only ours)."""

    rules: int = 0
    api_destinations: int = 0
    connections: int = 0


@dataclass(frozen=True)
class Headroom:
    """Quota use and what is left, for the admin console."""

    quotas: Quotas
    usage: Usage

    def to_dict(self) -> dict[str, dict[str, int]]:
        rows = {"rules_per_bus": (self.usage.rules, self.quotas.rules_per_bus),
                "api_destinations": (self.usage.api_destinations, self.quotas.api_destinations),
                "connections": (self.usage.connections, self.quotas.connections)}
        return {name: {"used": used, "quota": quota, "left": max(quota - used, 0)}
                for name, (used, quota) in rows.items()}


@dataclass(frozen=True)
class EnvironmentPlan:
    """The writes for one resource name, in the order they must run."""

    name: str
    desired: DesiredEnvironment | None
    observed: ObservedEnvironment
    actions: tuple[Action, ...] = ()
    refusal: str | None = None  # set when a quota would be exceeded: nothing is written

    @property
    def kinds(self) -> tuple[ActionKind, ...]:
        return tuple(action.kind for action in self.actions)


@dataclass(frozen=True)
class Plan:
    environments: tuple[EnvironmentPlan, ...]

    @property
    def write_count(self) -> int:
        return sum(len(p.actions) for p in self.environments)

    def changed(self) -> tuple[EnvironmentPlan, ...]:
        return tuple(p for p in self.environments if p.actions or p.refusal)


def _usage_key_actions(desired: DesiredEnvironment | None,
                       keys: tuple[ObservedUsageKey, ...]) -> tuple[list[Action], list[Action]]:
    """(writes before the routing, deletions after it) for the environment's usage key."""
    value = desired.usage_key_value if desired else None
    if value is None:
        return [], [Action(ActionKind.DELETE_USAGE_KEY, (k.id,)) for k in keys]
    matching = [k for k in keys if k.value == value]
    # Keep one key with the right value (prefer one already in the plan); delete the rest,
    # e.g. a duplicate left by a run that died between creating and attaching.
    keep = next((k for k in matching if k.in_plan), matching[0] if matching else None)
    deletions = [Action(ActionKind.DELETE_USAGE_KEY, (k.id,)) for k in keys if k is not keep]
    if keep is None:
        return deletions + [Action(ActionKind.CREATE_USAGE_KEY)], []
    writes: list[Action] = list(deletions)
    if not keep.enabled:
        writes.append(Action(ActionKind.ENABLE_USAGE_KEY, (keep.id,)))
    if not keep.in_plan:
        writes.append(Action(ActionKind.ATTACH_USAGE_KEY, (keep.id,)))
    return writes, []


def _connection_differs(spec: ConnectionSpec, observed: ObservedConnection,
                        stamped: bool) -> bool:
    if observed.auth_type != spec.auth_type.value:
        return True
    if observed.config_hash is None:  # not described: trust the rule's stamp
        return not stamped
    return observed.config_hash != spec.config_hash or observed.identity != spec.identity


def _destination_differs(spec: DestinationSpec, observed: ObservedDestination,
                         connection_arn: str | None) -> bool:
    return (observed.endpoint != spec.endpoint or observed.method != spec.method
            or observed.connection_arn != connection_arn
            or (observed.rate_limit_per_second is not None
                and observed.rate_limit_per_second != spec.rate_limit_per_second))


def _target_actions(desired: DesiredEnvironment, observed: ObservedEnvironment,
                    *, trust_targets: bool, new_destination: bool) -> list[Action]:
    wanted = {t.id: t for t in desired.targets}
    if observed.rule is None or (observed.targets is None and not trust_targets):
        # Unknown targets on a stale rule: put all we want, drop the ids we may have left.
        stale = [i for i in KNOWN_TARGET_IDS if i not in wanted] if observed.rule else []
        actions = [Action(ActionKind.PUT_TARGETS, tuple(sorted(wanted)))]
        return actions + ([Action(ActionKind.REMOVE_TARGETS, tuple(stale))] if stale else [])
    if observed.targets is None:
        return [Action(ActionKind.PUT_TARGETS, (TargetId.DELIVERY,))] if new_destination else []
    destination_arn = observed.destination.arn if observed.destination else None
    have = {}
    for raw in observed.targets:
        target = TargetSpec.from_aws(raw, None if new_destination else destination_arn)
        have[target.id] = target
    put = sorted(i for i, target in wanted.items() if have.get(i) != target)
    remove = sorted(i for i in have if i not in wanted)
    actions = [Action(ActionKind.PUT_TARGETS, tuple(put))] if put else []
    return actions + ([Action(ActionKind.REMOVE_TARGETS, tuple(remove))] if remove else [])


def _queue_deletion(observed: ObservedEnvironment) -> list[Action]:
    """Delete an unwanted dead-letter queue only once it is known to be empty."""
    if observed.queue is not None and observed.queue.messages == 0:
        return [Action(ActionKind.DELETE_QUEUE)]
    return []


def _plan_removal(observed: ObservedEnvironment) -> list[Action]:
    key_writes, key_deletions = _usage_key_actions(None, observed.usage_keys)
    actions = key_writes
    if observed.rule is not None:
        ids = (tuple(sorted(str(t.get("Id")) for t in observed.targets))
               if observed.targets is not None else KNOWN_TARGET_IDS)
        if ids:
            actions.append(Action(ActionKind.REMOVE_TARGETS, ids))
        actions.append(Action(ActionKind.DELETE_RULE))
    if observed.destination is not None:
        actions.append(Action(ActionKind.DELETE_DESTINATION))
    if observed.connection is not None:
        actions.append(Action(ActionKind.DELETE_CONNECTION))
    return actions + _queue_deletion(observed) + key_deletions


def plan_environment(desired: DesiredEnvironment | None,
                     observed: ObservedEnvironment) -> tuple[Action, ...]:
    """The writes that turn `observed` into `desired` (None: remove everything but a full DLQ).

    Creation runs connection -> destination -> queue -> rule -> targets -> stamp; removal runs
    the other way. Deeper reads (targets, connection details, queue depth) that were not made
    are treated conservatively: what the rule's stamp cannot vouch for is written again.

    Parameters
    ----------
    desired: the environment's desired routing, or None when it should have none.
    observed: what exists under its name (with the deeper reads where they were made).

    Returns
    -------
    The actions in the order they must run; empty when nothing needs writing.
    """
    if desired is None:
        return tuple(_plan_removal(observed))
    config_hash = desired.config_hash
    rule = observed.rule
    rule_matches = (rule is not None and rule.pattern == desired.pattern
                    and rule.state == RULE_ENABLED)
    stamped = rule is not None and description_hash(rule.description) == config_hash

    actions, trailing = _usage_key_actions(desired, observed.usage_keys)
    new_connection = False
    if desired.connection is not None:
        if observed.connection is None:
            actions.append(Action(ActionKind.CREATE_CONNECTION))
            new_connection = True
        elif _connection_differs(desired.connection, observed.connection, stamped):
            actions.append(Action(ActionKind.UPDATE_CONNECTION))
    new_destination = False
    if desired.destination is not None:
        if observed.destination is None:
            actions.append(Action(ActionKind.CREATE_DESTINATION))
            new_destination = True
        elif new_connection or _destination_differs(
                desired.destination, observed.destination,
                observed.connection.arn if observed.connection else None):
            actions.append(Action(ActionKind.UPDATE_DESTINATION))
    if desired.dead_letter_queue and observed.queue is None:
        actions.append(Action(ActionKind.CREATE_QUEUE))

    if rule is None:
        actions.append(Action(ActionKind.CREATE_RULE))
    targets = _target_actions(desired, observed, trust_targets=stamped,
                              new_destination=new_destination)
    actions += targets
    if rule is None:
        actions.append(Action(ActionKind.STAMP_RULE))
    else:
        tags = observed.rule_tags
        if tags is not None:
            stale_tags = any(tags.get(k) != v for k, v in desired.tags().items()) or \
                tags.get(Tags.CONFIG_HASH) != config_hash
        else:
            stale_tags = not stamped
        if stale_tags:
            actions.append(Action(ActionKind.TAG_RULE))
        if not (rule_matches and stamped):
            actions.append(Action(ActionKind.STAMP_RULE))

    # What push mode needed and poll mode does not goes after the rule stops using it.
    if desired.destination is None and observed.destination is not None:
        actions.append(Action(ActionKind.DELETE_DESTINATION))
    if desired.connection is None and observed.connection is not None:
        actions.append(Action(ActionKind.DELETE_CONNECTION))
    if not desired.dead_letter_queue:
        actions += _queue_deletion(observed)
    return tuple(actions + trailing)


def needs_closer_look(desired: DesiredEnvironment | None, observed: ObservedEnvironment,
                      *, deep: bool) -> bool:
    """Whether to make the deeper reads for this environment before planning it.

    Always in a deep resync; otherwise only where the list pages already show a difference,
    or an unwanted dead-letter queue may have become empty.

    Parameters
    ----------
    desired: the environment's desired routing, or None.
    observed: what the list pages show under its name.
    deep: whether this is a deep resync.

    Returns
    -------
    True when `EventBridgeState.look_closer` should read this environment.
    """
    if not observed.exists:
        return False
    if deep or plan_environment(desired, observed):
        return True
    unwanted_queue = desired is None or not desired.dead_letter_queue
    return observed.queue is not None and unwanted_queue and observed.queue.messages is None


def _demand(plan: EnvironmentPlan) -> Usage:
    kinds = plan.kinds
    return Usage(rules=int(ActionKind.CREATE_RULE in kinds),
                 api_destinations=int(ActionKind.CREATE_DESTINATION in kinds),
                 connections=int(ActionKind.CREATE_CONNECTION in kinds))


def _refusal(usage: Usage, demand: Usage, quotas: Quotas) -> str | None:
    checks = [
        ("rules on the event bus", usage.rules, demand.rules, quotas.rules_per_bus),
        ("API destinations in the account", usage.api_destinations, demand.api_destinations,
         quotas.api_destinations),
        ("connections in the account", usage.connections, demand.connections,
         quotas.connections),
    ]
    for what, used, wanted, quota in checks:
        if wanted and used + wanted > quota:
            return (f"quota exhausted: {used} of {quota} {what} are in use; raise the quota "
                    "or move partners to another bus before this environment can go live")
    return None


def plan_changes(
    desired: Mapping[str, DesiredEnvironment],
    observed: Mapping[str, ObservedEnvironment],
    *,
    held: Iterable[str] = (),
    quotas: Quotas | None = None,
    usage: Usage | None = None,
) -> Plan:
    """Plan every environment in `desired` or `observed`, by resource name.

    Parameters
    ----------
    desired: what should exist, by resource name.
    observed: what exists, by resource name (deeper reads included where made).
    held: names to leave exactly as they are (their desired state could not be built).
    quotas, usage: with both, environments whose new resources would exceed a quota are
        refused (no writes, a reason) instead of failing half-way; removals in the same run
        do not count as freed, so the check errs on the safe side.

    Returns
    -------
    A `Plan` with one `EnvironmentPlan` per name, sorted by name.
    """
    skip = set(held)
    used = usage or Usage()
    plans = []
    for name in sorted((set(desired) | set(observed)) - skip):
        seen = observed.get(name) or ObservedEnvironment(name)
        plan = EnvironmentPlan(name, desired.get(name), seen,
                               plan_environment(desired.get(name), seen))
        if quotas is not None and usage is not None:
            demand = _demand(plan)
            reason = _refusal(used, demand, quotas)
            if reason:
                plan = replace(plan, actions=(), refusal=reason)
            else:
                used = Usage(used.rules + demand.rules,
                             used.api_destinations + demand.api_destinations,
                             used.connections + demand.connections)
        plans.append(plan)
    return Plan(tuple(plans))


# --- building the desired state ----------------------------------------------------------


@dataclass(frozen=True)
class RoutingSettings:
    """Stage-wide inputs of every partner environment's desired routing.

    `dead_letter_arn` spells a partner DLQ's ARN from its name (the reconciler knows the
    account and Region from the bus ARN).
    """

    prefix: str
    routing_recorder_arn: str
    queue_arn_prefix: str  # "arn:aws:sqs:<region>:<account>:"
    delivery_role_arn: str | None = None
    routing_dlq_arn: str | None = None
    usage_plan: bool = False

    def dead_letter_arn(self, name: str) -> str:
        return self.queue_arn_prefix + name


def routing_template(partner_id: str, environment: str, mode: DeliveryMode) -> str:
    """The routing recorder's input: constants, then the whole event (a predefined variable).

    `aws.events.event.json` is the full event; `aws.events.event` would drop its `detail`
    (AWS documentation, eb-transform-target-input, "Predefined variables").
    """
    constants = json.dumps({"partner_id": partner_id, "environment": environment,
                            "mode": mode.value}, separators=(",", ":"))
    return constants[:-1] + ',"event":<aws.events.event.json>}'


def _connection_spec(partner_id: str, env: PartnerEnvironment,
                     secret_versions: Mapping[str, str]) -> ConnectionSpec:
    auth = env.auth
    if auth is None or not auth.secret_arn:
        raise RoutingPermanentError("push mode needs endpoint credentials; set them in the console")
    required = {AuthType.API_KEY: ("header_name",), AuthType.BASIC: ("username",),
                AuthType.OAUTH_CLIENT_CREDENTIALS: ("token_url", "client_id")}[auth.type]
    missing = [name for name in required if not getattr(auth, name)]
    if missing:
        raise RoutingPermanentError(f"{auth.type.value} credentials need {', '.join(missing)}")
    version = secret_versions.get(auth.secret_arn)
    if not version:
        raise RoutingPermanentError("the endpoint credentials are missing from Secrets Manager; "
                                    "set them again in the console")
    return ConnectionSpec(auth_type=auth.type, secret_arn=auth.secret_arn,
                          secret_version=version, header_name=auth.header_name,
                          username=auth.username, token_url=auth.token_url,
                          client_id=auth.client_id, scope=auth.scope)


def desired_environment(partner_id: str, env: PartnerEnvironment, settings: RoutingSettings,
                        secret_versions: Mapping[str, str]) -> DesiredEnvironment:
    """What an approved partner's enabled environment should have, by its mode.

    Parameters
    ----------
    partner_id: the partner.
    env: its environment (approved partner, enabled environment).
    settings: the stage-wide inputs (prefix, routing recorder, ARNs).
    secret_versions: current version id by secret ARN (`CredentialStore.current_versions`).

    Returns
    -------
    The `DesiredEnvironment`; its config hash covers every setting and the secret's version.

    Raises
    ------
    RoutingPermanentError: for what no retry can fix: a filter EventBridge would refuse, a
        push environment without endpoint or credentials, a name over 64 characters.
    """
    name = partner_resource_name(settings.prefix, partner_id, env.name)
    if len(name) > MAX_NAME_LENGTH:
        raise RoutingPermanentError(f"resource name {name!r} is over {MAX_NAME_LENGTH} characters")
    try:
        pattern = pattern_json(compile_event_pattern(env.filter, env.name, partner_id=partner_id))
    except InvalidFilterError as error:
        raise RoutingPermanentError(f"invalid filter: {error.message}", code="InvalidFilter") \
            from None
    routing = TargetSpec(
        id=TargetId.ROUTING,
        arn=settings.routing_recorder_arn,
        input_template=routing_template(partner_id, env.name, env.mode),
        dead_letter_arn=settings.routing_dlq_arn,
    )
    usage_key = (usage_key_value(settings.prefix, partner_id, env.name)
                 if settings.usage_plan else None)
    if env.mode is DeliveryMode.POLL:
        return DesiredEnvironment(name, partner_id, env.name, env.mode, pattern, (routing,),
                                  usage_key_value=usage_key)
    if not env.endpoint_url:
        raise RoutingPermanentError("push mode needs an endpoint URL")
    delivery = TargetSpec(
        id=TargetId.DELIVERY,
        arn=DESTINATION_ARN,
        input_template=CLOUDEVENTS_TRANSFORMER.template,
        input_paths=tuple(sorted(CLOUDEVENTS_TRANSFORMER.paths.items())),
        retry=(env.retry_policy.maximum_event_age_seconds,
               env.retry_policy.maximum_retry_attempts),
        dead_letter_arn=settings.dead_letter_arn(name),
        role_arn=settings.delivery_role_arn,
    )
    return DesiredEnvironment(
        name, partner_id, env.name, env.mode, pattern, (delivery, routing),
        connection=_connection_spec(partner_id, env, secret_versions),
        destination=DestinationSpec(env.endpoint_url, env.rate_limit_per_second),
        dead_letter_queue=True,
        usage_key_value=usage_key,
    )
