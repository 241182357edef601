"""Observed state: the routing resources the reconciler owns, as `ObservedEnvironment`s by
resource name, and `EventBridgeState`, which reads them.

Two depths. `read` uses list calls only (pages of up to 100 rules, connections, destinations;
1,000 queues; 500 usage-plan keys), which show enough to detect change: rule patterns, states
and descriptions (with the config hash), destination settings, what exists. `look_closer`
adds the per-resource reads (targets, rule tags, connection details, queue depth) for the few
environments that need them, or for all in a deep resync.

Ownership: a resource is ours when its name starts with the stage's partner-resource prefix
and parses as `<prefix><partner id>-<environment>`; rules and queues are tagged as well.
Nothing else on the bus or in the account is ever returned here, so nothing else is changed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator, Mapping

from partners.routing.desired import connection_identity
from partners.routing.names import HTTP_METHOD, description_hash, parse_resource_name
from partners.routing.patterns import pattern_json
from partners.routing.quotas import Usage

QUEUE_DEPTH_ATTRIBUTES = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                          "ApproximateNumberOfMessagesDelayed"]


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
    state: str = ""  # ConnectionState: AUTHORIZED, or CREATING, AUTHORIZING, DEAUTHORIZED, ...
    state_reason: str = ""  # StateReason: e.g. what a refusing OAuth token endpoint answered
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


def _canonical_pattern(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return pattern_json(json.loads(text))
    except ValueError:
        return text


def _pages(call: Callable[..., dict[str, Any]], items_key: str, token_in: str,
           token_out: str, **request: Any) -> Iterator[Any]:
    """Every item of a paginated list call (each service spells its tokens differently)."""
    while True:
        response = call(**request)
        yield from response.get(items_key, [])
        token = response.get(token_out)
        if not token:
            return
        request[token_in] = token


@dataclass(frozen=True)
class ArnContext:
    """Partition, Region and account of the stage, to spell ARNs without asking AWS."""

    partition: str
    region: str
    account: str
    bus_name: str

    def rule_arn(self, name: str) -> str:
        return (f"arn:{self.partition}:events:{self.region}:{self.account}:"
                f"rule/{self.bus_name}/{name}")

    def queue_arn(self, name: str) -> str:
        return f"arn:{self.partition}:sqs:{self.region}:{self.account}:{name}"


@dataclass
class ObservedState:
    """Owned resources by name and, for a full read, the quota usage they were counted in."""

    environments: dict[str, ObservedEnvironment]
    usage: Usage | None = None


class EventBridgeState:
    """List and inspect the partner routing resources of one stage."""

    def __init__(self, *, events: Any, sqs: Any, apigateway: Any | None, bus_name: str,
                 prefix: str, usage_plan_id: str | None = None):
        self._events = events
        self._sqs = sqs
        self._apigateway = apigateway
        self.bus_name = bus_name
        self.prefix = prefix
        self.usage_plan_id = usage_plan_id

    def arn_context(self, sts: Any) -> ArnContext:
        """Partition, Region and account (`GetCallerIdentity` needs no permission)."""
        account = sts.get_caller_identity()["Account"]
        meta = self._events.meta
        return ArnContext(meta.partition, meta.region_name, account, self.bus_name)

    # --- list reads -----------------------------------------------------------------------

    def read(self, partner_id: str | None = None) -> ObservedState:
        """Owned resources from list pages; with no `partner_id` also the quota usage.

        A full read lists every rule on the bus and every connection and destination in the
        account (foreign ones count against the same quotas), then keeps only ours.

        Parameters
        ----------
        partner_id: read only this partner's resources (name prefix); None: all of them.

        Returns
        -------
        An `ObservedState`; `usage` is set for a full read only.
        """
        name_prefix = self.prefix + (f"{partner_id}-" if partner_id else "")
        rule_request: dict[str, Any] = {"EventBusName": self.bus_name, "Limit": 100}
        listing_request: dict[str, Any] = {"Limit": 100}
        if partner_id:
            rule_request["NamePrefix"] = name_prefix
            listing_request["NamePrefix"] = name_prefix
        rules = list(_pages(self._events.list_rules, "Rules", "NextToken", "NextToken",
                            **rule_request))
        connections = list(_pages(self._events.list_connections, "Connections", "NextToken",
                                  "NextToken", **listing_request))
        destinations = list(_pages(self._events.list_api_destinations, "ApiDestinations",
                                   "NextToken", "NextToken", **listing_request))
        found: dict[str, dict[str, Any]] = {}

        def owned(name: str) -> dict[str, Any] | None:
            if not name.startswith(name_prefix) or parse_resource_name(self.prefix, name) is None:
                return None
            return found.setdefault(name, {"name": name})

        for rule in rules:
            if (slot := owned(rule["Name"])) is not None:
                slot["rule"] = ObservedRule(rule["Name"], rule["Arn"],
                                            _canonical_pattern(rule.get("EventPattern")),
                                            rule.get("State", ""), rule.get("Description"))
        for connection in connections:
            if (slot := owned(connection["Name"])) is not None:
                slot["connection"] = ObservedConnection(
                    connection["Name"], connection["ConnectionArn"],
                    connection.get("AuthorizationType", ""), connection.get("ConnectionState", ""),
                    connection.get("StateReason", "") or "")
        for destination in destinations:
            if (slot := owned(destination["Name"])) is not None:
                rate = destination.get("InvocationRateLimitPerSecond")
                slot["destination"] = ObservedDestination(
                    destination["Name"], destination["ApiDestinationArn"],
                    destination.get("InvocationEndpoint", ""), destination.get("ConnectionArn", ""),
                    destination.get("HttpMethod", ""), int(rate) if rate is not None else None)
        for url in _pages(self._sqs.list_queues, "QueueUrls", "NextToken", "NextToken",
                          QueueNamePrefix=name_prefix, MaxResults=1000):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            if (slot := owned(name)) is not None:
                slot["queue"] = ObservedQueue(name, url)
        for name, keys in self._usage_keys(name_prefix).items():
            if (slot := owned(name)) is not None:
                slot["usage_keys"] = tuple(keys)
        environments = {name: ObservedEnvironment(**fields) for name, fields in found.items()}
        usage = None
        if partner_id is None:
            usage = Usage(rules=len(rules), api_destinations=len(destinations),
                          connections=len(connections))
        return ObservedState(environments, usage)

    def usage(self) -> Usage:
        """Quota usage: every rule on the bus, every destination and connection in the account."""
        return Usage(
            rules=sum(1 for _ in _pages(self._events.list_rules, "Rules", "NextToken",
                                        "NextToken", EventBusName=self.bus_name, Limit=100)),
            api_destinations=sum(1 for _ in _pages(self._events.list_api_destinations,
                                                   "ApiDestinations", "NextToken", "NextToken",
                                                   Limit=100)),
            connections=sum(1 for _ in _pages(self._events.list_connections, "Connections",
                                              "NextToken", "NextToken", Limit=100)),
        )

    def _usage_keys(self, name_prefix: str) -> dict[str, list[ObservedUsageKey]]:
        if not self.usage_plan_id or self._apigateway is None:
            return {}
        in_plan = {key["id"] for key in _pages(
            self._apigateway.get_usage_plan_keys, "items", "position", "position",
            usagePlanId=self.usage_plan_id, nameQuery=name_prefix, limit=500)}
        keys: dict[str, list[ObservedUsageKey]] = {}
        for key in _pages(self._apigateway.get_api_keys, "items", "position", "position",
                          nameQuery=name_prefix, includeValues=True, limit=500):
            name = key.get("name", "")
            if name.startswith(name_prefix):
                keys.setdefault(name, []).append(ObservedUsageKey(
                    key["id"], key.get("value", ""), bool(key.get("enabled")),
                    key["id"] in in_plan))
        return keys

    # --- deeper reads ---------------------------------------------------------------------

    def look_closer(self, observed: ObservedEnvironment, *,
                    queue_depth: bool = True) -> ObservedEnvironment:
        """Add targets, rule tags, connection details and (optionally) queue depth.

        Parameters
        ----------
        observed: one environment as `read` found it.
        queue_depth: also count its dead-letter queue's messages (for deciding a deletion).

        Returns
        -------
        A copy of `observed` with the deeper fields filled in.
        """
        changes: dict[str, Any] = {}
        if observed.rule is not None:
            changes["targets"] = tuple(_pages(
                self._events.list_targets_by_rule, "Targets", "NextToken", "NextToken",
                Rule=observed.rule.name, EventBusName=self.bus_name))
            tags = self._events.list_tags_for_resource(ResourceARN=observed.rule.arn)
            changes["rule_tags"] = {t["Key"]: t["Value"] for t in tags.get("Tags", [])}
        if observed.connection is not None:
            described = self._events.describe_connection(Name=observed.connection.name)
            changes["connection"] = replace(
                observed.connection,
                state=described.get("ConnectionState", observed.connection.state),
                state_reason=described.get("StateReason", "") or "",
                config_hash=description_hash(described.get("Description")) or "",
                identity=connection_identity(described),
            )
        destination = observed.destination
        if destination is not None and destination.rate_limit_per_second is None:
            # AWS's list pages show the rate limit; where one does not (moto 5.2), ask.
            described = self._events.describe_api_destination(Name=destination.name)
            rate = described.get("InvocationRateLimitPerSecond")
            changes["destination"] = replace(destination, rate_limit_per_second=int(rate)
                                             if rate is not None else None)
        if observed.queue is not None and queue_depth:
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=observed.queue.url, AttributeNames=QUEUE_DEPTH_ATTRIBUTES)["Attributes"]
            changes["queue"] = replace(observed.queue, messages=sum(
                int(attributes.get(name, 0)) for name in QUEUE_DEPTH_ATTRIBUTES))
        return replace(observed, **changes)
