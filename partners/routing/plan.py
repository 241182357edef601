"""The pure plan: the smallest ordered list of writes that turns observed routing into desired.

`plan_changes(desired, observed)` compares the two (`partners.routing.desired`,
`partners.routing.observed`) and returns the writes per environment. It is pure: no AWS, no
clock, so it is tested with tables. What the rule's config-hash stamp vouches for is not read
again (`partners.routing.names`); what it cannot vouch for is written again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from partners.core.constants import Tags
from partners.routing.desired import ConnectionSpec, DesiredEnvironment, DestinationSpec, TargetSpec
from partners.routing.names import KNOWN_TARGET_IDS, TargetId, description_hash
from partners.routing.observed import (
    ObservedConnection,
    ObservedDestination,
    ObservedEnvironment,
    ObservedUsageKey,
)
from partners.routing.quotas import Quotas, Usage, quota_refusal

# Connection states an API destination can be used through (API_Connection, ConnectionState;
# ACTIVE: connections to private APIs). "" is a state nobody reported (a fake, or an old
# moto): taken as usable, as the list page of an unpatched moto says AUTHORIZED.
USABLE_CONNECTION_STATES = frozenset({"AUTHORIZED", "ACTIVE", ""})


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


def connection_usable(connection: ObservedConnection) -> bool:
    """Whether EventBridge has authorised the connection (calls through it can succeed).

    Parameters
    ----------
    connection: the observed connection.

    Returns
    -------
    True for AUTHORIZED (or ACTIVE); False while it is being created, updated or
    authorised, and once it is DEAUTHORIZED.
    """
    return connection.state in USABLE_CONNECTION_STATES


def waits_for_connection(desired: DesiredEnvironment | None,
                         observed: ObservedEnvironment) -> bool:
    """Whether the environment's routing waits for its connection to be authorised.

    The EventBridge user guide says to "ensure that the connection reaches the AUTHORIZED
    state before creating the API destination" (eb-target-connection): so while a connection
    that needs no rewrite is not authorised, an environment without its API destination gets
    no destination, queue, rule or targets; the next run goes on once it is AUTHORIZED.
    An environment whose destination exists keeps its routing (its status says why
    deliveries fail).

    Parameters
    ----------
    desired: the environment's desired routing, or None.
    observed: what exists under its name (the connection described, or not).

    Returns
    -------
    True when nothing but the usage key may be written for now.
    """
    if desired is None or desired.connection is None or observed.connection is None:
        return False
    if observed.destination is not None or connection_usable(observed.connection):
        return False
    stamped = observed.rule is not None and \
        description_hash(observed.rule.description) == desired.config_hash
    return not _connection_differs(desired.connection, observed.connection, stamped)


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
    the other way. Nothing after the connection is written while an unchanged connection is
    not yet authorised (`waits_for_connection`); a connection written in this run is checked
    by the writer before the destination. Deeper reads (targets, connection details, queue depth) that were not made
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
                    and rule.state == desired.rule_state)
    stamped = rule is not None and description_hash(rule.description) == config_hash

    actions, trailing = _usage_key_actions(desired, observed.usage_keys)
    if waits_for_connection(desired, observed):
        return tuple(actions + trailing)
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
            reason = quota_refusal(used, demand, quotas)
            if reason:
                plan = replace(plan, actions=(), refusal=reason)
            else:
                used = used + demand
        plans.append(plan)
    return Plan(tuple(plans))
