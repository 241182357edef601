"""The pure plan: change detection and the writes between desired and observed, as tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import AuthType, DeliveryMode, EndpointAuth, RetryPolicy
from partners.routing.desired import DesiredEnvironment, desired_environment
from partners.routing.names import PENDING_HASH, rule_description
from partners.routing.observed import ObservedEnvironment, ObservedQueue, ObservedUsageKey
from partners.routing.plan import (
    Action,
    ActionKind,
    needs_closer_look,
    plan_changes,
    plan_environment,
)
from partners.routing.quotas import Quotas, Usage
from tests.partners.routing.plan_fixtures import (
    SECRET_ARN,
    SETTINGS,
    VERSIONS,
    desired,
    in_sync,
    poll,
    push,
)


def kinds(d, o) -> list[str]:
    return [a.kind.value for a in plan_environment(d, o)]


PUSH = desired(push())
POLL = desired(poll())
EMPTY = ObservedEnvironment(PUSH.name)


def _drift(o: ObservedEnvironment, **changes) -> ObservedEnvironment:
    return replace(o, **changes)


SYNCED = in_sync(PUSH)
SHALLOW = in_sync(PUSH, detailed=False)


@pytest.mark.parametrize("case, d, o, expected", [
    ("push from nothing", PUSH, EMPTY,
     ["create_connection", "create_destination", "create_queue", "create_rule", "put_targets",
      "stamp_rule"]),
    ("poll from nothing", POLL, ObservedEnvironment(POLL.name),
     ["create_rule", "put_targets", "stamp_rule"]),
    ("in sync (deep)", PUSH, SYNCED, []),
    ("in sync (lists only)", PUSH, SHALLOW, []),
    ("rule deleted behind our back", PUSH, _drift(SYNCED, rule=None, targets=None,
                                                 rule_tags=None),
     ["create_rule", "put_targets", "stamp_rule"]),
    ("rule disabled behind our back", PUSH,
     _drift(SYNCED, rule=replace(SYNCED.rule, state="DISABLED")), ["stamp_rule"]),
    ("pattern edited behind our back", PUSH,
     _drift(SYNCED, rule=replace(SYNCED.rule, pattern='{"source":["x"]}')), ["stamp_rule"]),
    ("delivery target changed behind our back", PUSH,
     _drift(SYNCED, targets=(SYNCED.targets[0] | {"RetryPolicy": {
         "MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}}, SYNCED.targets[1])),
     ["put_targets"]),
    ("foreign target added to our rule", PUSH,
     _drift(SYNCED, targets=SYNCED.targets + ({"Id": "extra", "Arn": "arn:x"},)),
     ["remove_targets"]),
    ("routing target removed", PUSH, _drift(SYNCED, targets=SYNCED.targets[:1]),
     ["put_targets"]),
    ("config-hash tag stale", PUSH, _drift(SYNCED, rule_tags={**SYNCED.rule_tags,
                                                               "config-hash": "old"}),
     ["tag_rule"]),
    ("connection deleted", PUSH, _drift(SYNCED, connection=None),
     ["create_connection", "update_destination"]),
    ("destination deleted", PUSH, _drift(SYNCED, destination=None),
     ["create_destination", "put_targets"]),
    ("destination repointed", PUSH,
     _drift(SYNCED, destination=replace(SYNCED.destination, endpoint="https://evil.example")),
     ["update_destination"]),
    ("queue deleted", PUSH, _drift(SYNCED, queue=None), ["create_queue"]),
    ("crash after create_rule (pending stamp)", PUSH,
     _drift(SHALLOW, rule=replace(SHALLOW.rule, description=rule_description(PENDING_HASH))),
     ["update_connection", "put_targets", "tag_rule", "stamp_rule"]),
    ("crash after create_rule, looked closer", PUSH,
     _drift(SYNCED, rule=replace(SYNCED.rule, description=rule_description(PENDING_HASH)),
            targets=()),
     ["put_targets", "stamp_rule"]),
    ("not wanted any more: full removal", None, SYNCED,
     ["remove_targets", "delete_rule", "delete_destination", "delete_connection",
      "delete_queue"]),
    ("not wanted, DLQ holds messages", None,
     _drift(SYNCED, queue=replace(SYNCED.queue, messages=3)),
     ["remove_targets", "delete_rule", "delete_destination", "delete_connection"]),
    ("not wanted, DLQ depth unknown", None, _drift(SHALLOW, targets=None),
     ["remove_targets", "delete_rule", "delete_destination", "delete_connection"]),
    ("only a full DLQ left", None,
     ObservedEnvironment(PUSH.name, queue=ObservedQueue(PUSH.name, "u", 2)), []),
    ("only an empty DLQ left", None,
     ObservedEnvironment(PUSH.name, queue=ObservedQueue(PUSH.name, "u", 0)), ["delete_queue"]),
    ("push to poll", desired(push(mode=DeliveryMode.POLL)), SYNCED,
     ["put_targets", "remove_targets", "tag_rule", "stamp_rule", "delete_destination",
      "delete_connection", "delete_queue"]),
    ("poll to push", PUSH, in_sync(POLL),
     ["create_connection", "create_destination", "create_queue", "put_targets", "tag_rule",
      "stamp_rule"]),
])
def test_plan_environment(case, d, o, expected):
    assert kinds(d, o) == expected, case


@pytest.mark.parametrize("case, change, expected_shallow, expected_deep", [
    ("filter", {"filter": RequestFilter(request_types=("stock.reserve",))},
     ["update_connection", "put_targets", "tag_rule", "stamp_rule"],
     ["tag_rule", "stamp_rule"]),
    ("endpoint", {"endpoint_url": "https://hooks.acme.example/v2"},
     ["update_connection", "update_destination", "put_targets", "tag_rule", "stamp_rule"],
     ["update_destination", "tag_rule", "stamp_rule"]),
    ("rate limit", {"rate_limit_per_second": 50},
     ["update_connection", "update_destination", "put_targets", "tag_rule", "stamp_rule"],
     ["update_destination", "tag_rule", "stamp_rule"]),
    ("retry policy", {"retry_policy": RetryPolicy(600, 3)},
     ["update_connection", "put_targets", "tag_rule", "stamp_rule"],
     ["put_targets", "tag_rule", "stamp_rule"]),
    ("header name", {"auth": EndpointAuth(type=AuthType.API_KEY, header_name="X-New",
                                          secret_arn=SECRET_ARN)},
     ["update_connection", "put_targets", "tag_rule", "stamp_rule"],
     ["update_connection", "tag_rule", "stamp_rule"]),
])
def test_edits_cost_few_writes(case, change, expected_shallow, expected_deep):
    """An edit changes the hash; looking closer (what the reconciler does) trims the plan."""
    edited = desired(push(**change))
    assert kinds(edited, SHALLOW) == expected_shallow, case
    assert kinds(edited, SYNCED) == expected_deep, case
    assert len(expected_deep) <= 3


def test_secret_rotation_updates_only_the_connection():
    rotated = desired(push(), {SECRET_ARN: "v2"})
    assert kinds(rotated, SYNCED) == ["update_connection", "tag_rule", "stamp_rule"]


@pytest.mark.parametrize("keys, expected", [
    ((), ["create_usage_key"]),
    ((ObservedUsageKey("k1", "VALUE", True, True),), []),
    ((ObservedUsageKey("k1", "VALUE", True, False),), ["attach_usage_key"]),
    ((ObservedUsageKey("k1", "VALUE", False, True),), ["enable_usage_key"]),
    ((ObservedUsageKey("k1", "OTHER", True, True),), ["delete_usage_key", "create_usage_key"]),
    ((ObservedUsageKey("k1", "VALUE", True, False), ObservedUsageKey("k2", "VALUE", True, True)),
     ["delete_usage_key"]),
])
def test_usage_key_plans(keys, expected):
    d = replace(POLL, usage_key_value="VALUE")
    o = replace(in_sync(replace(POLL, usage_key_value="VALUE")), usage_keys=keys)
    assert kinds(d, o) == expected


def test_removal_deletes_usage_keys_last():
    o = replace(in_sync(POLL), usage_keys=(ObservedUsageKey("k1", "V", True, True),))
    assert kinds(None, o)[-1] == "delete_usage_key"


@pytest.mark.parametrize("d, o, deep, expected", [
    (PUSH, SHALLOW, False, False),
    (PUSH, SHALLOW, True, True),
    (PUSH, EMPTY, True, False),  # nothing exists: nothing to read
    (desired(push(rate_limit_per_second=99)), SHALLOW, False, True),
    (None, SHALLOW, False, True),
    (POLL, replace(in_sync(POLL, detailed=False),
                   queue=ObservedQueue(POLL.name, "u", None)), False, True),
])
def test_needs_closer_look(d, o, deep, expected):
    assert needs_closer_look(d, o, deep=deep) is expected


def _named(i: int) -> DesiredEnvironment:
    return desired_environment(f"p{i:011d}", poll(), SETTINGS, VERSIONS)


@pytest.mark.parametrize("rules_used, creating, allowed", [
    (0, 3, 3), (297, 3, 3), (298, 3, 2), (300, 3, 0), (305, 1, 0),
])
def test_rule_quota_refuses_before_exceeding(rules_used, creating, allowed):
    wanted = {d.name: d for d in (_named(i) for i in range(creating))}
    plan = plan_changes(wanted, {}, quotas=Quotas(rules_per_bus=300),
                        usage=Usage(rules=rules_used))
    live = [p for p in plan.environments if p.actions]
    refused = [p for p in plan.environments if p.refusal]
    assert len(live) == allowed and len(refused) == creating - allowed
    assert all("quota exhausted" in p.refusal and "rules on the event bus" in p.refusal
               for p in refused)
    assert all(not p.actions for p in refused)


def test_destination_and_connection_quotas():
    plan = plan_changes({PUSH.name: PUSH}, {}, quotas=Quotas(api_destinations=5),
                        usage=Usage(api_destinations=5))
    assert "API destinations" in plan.environments[0].refusal
    plan = plan_changes({PUSH.name: PUSH}, {}, quotas=Quotas(connections=5),
                        usage=Usage(connections=5))
    assert "connections" in plan.environments[0].refusal


def test_existing_environments_need_no_headroom():
    plan = plan_changes({PUSH.name: PUSH}, {PUSH.name: SYNCED}, quotas=Quotas(rules_per_bus=1),
                        usage=Usage(rules=1, api_destinations=1, connections=1))
    assert plan.environments[0].refusal is None


def test_held_environments_are_left_alone():
    plan = plan_changes({}, {PUSH.name: SYNCED}, held={PUSH.name})
    assert plan.environments == ()


def test_plan_covers_union_sorted():
    other = _named(7)
    plan = plan_changes({other.name: other}, {PUSH.name: SYNCED})
    assert [p.name for p in plan.environments] == sorted([other.name, PUSH.name])
    assert plan.write_count == 3 + 5


@pytest.mark.parametrize("action, text", [
    (Action(ActionKind.STAMP_RULE), "stamp_rule"),
    (Action(ActionKind.PUT_TARGETS, ("delivery", "routing")), "put_targets(delivery,routing)"),
    (Action(ActionKind.DELETE_USAGE_KEY, ("k1",)), "delete_usage_key(k1)"),
])
def test_action_reads_as_its_kind_and_ids(action, text):
    assert str(action) == text
