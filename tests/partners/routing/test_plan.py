"""The pure half of the reconciler: desired state, change detection and plans, as tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    RetryPolicy,
)
from partners.routing.exceptions import RoutingPermanentError
from partners.routing.plan import (
    DESTINATION_ARN,
    PENDING_HASH,
    DesiredEnvironment,
    Headroom,
    ObservedConnection,
    ObservedDestination,
    ObservedEnvironment,
    ObservedQueue,
    ObservedRule,
    ObservedUsageKey,
    Quotas,
    RoutingSettings,
    TargetSpec,
    Usage,
    description_hash,
    desired_environment,
    needs_closer_look,
    parse_resource_name,
    plan_changes,
    plan_environment,
    routing_template,
    rule_description,
)

PREFIX = "pgw-test-pt-"
PARTNER = "p0123456789a"
SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pgw/test/partners/x-AbCdEf"
RECORDER = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-routing-recorder"
SETTINGS = RoutingSettings(prefix=PREFIX, routing_recorder_arn=RECORDER,
                           queue_arn_prefix="arn:aws:sqs:us-east-1:123456789012:")
VERSIONS = {SECRET_ARN: "v1"}
CONNECTION_ARN = "arn:aws:events:us-east-1:123456789012:connection/x/1"
DESTINATION_ARN_OBSERVED = "arn:aws:events:us-east-1:123456789012:api-destination/x/1"


def push(**changes) -> PartnerEnvironment:
    env = PartnerEnvironment(
        name="prod", mode=DeliveryMode.PUSH, endpoint_url="https://hooks.acme.example/in",
        auth=EndpointAuth(type=AuthType.API_KEY, header_name="X-Key", secret_arn=SECRET_ARN),
        rate_limit_per_second=10, filter=RequestFilter(request_types=("stock.check",)))
    return replace(env, **changes)


def poll(**changes) -> PartnerEnvironment:
    return replace(PartnerEnvironment(name="prod", mode=DeliveryMode.POLL), **changes)


def desired(env: PartnerEnvironment, versions=VERSIONS, settings=SETTINGS) -> DesiredEnvironment:
    return desired_environment(PARTNER, env, settings, versions)


def in_sync(d: DesiredEnvironment, *, detailed: bool = True) -> ObservedEnvironment:
    """What AWS shows after `d` was applied completely (with or without the deeper reads)."""
    rule = ObservedRule(d.name, f"arn:rule/{d.name}", d.pattern, "ENABLED",
                        rule_description(d.config_hash))
    connection = destination = queue = None
    if d.connection:
        connection = ObservedConnection(
            d.name, CONNECTION_ARN, d.connection.auth_type.value, "AUTHORIZED",
            config_hash=d.connection.config_hash if detailed else None,
            identity=d.connection.identity if detailed else None)
    if d.destination:
        destination = ObservedDestination(d.name, DESTINATION_ARN_OBSERVED, d.destination.endpoint,
                                          CONNECTION_ARN, "POST", d.destination.rate_limit_per_second)
    if d.dead_letter_queue:
        queue = ObservedQueue(d.name, f"https://sqs/{d.name}", 0 if detailed else None)
    targets = tags = None
    if detailed:
        targets = tuple(t.to_aws(DESTINATION_ARN_OBSERVED) for t in d.targets)
        tags = {**d.tags(), "config-hash": d.config_hash}
    return ObservedEnvironment(d.name, rule, connection, destination, queue, (),
                               targets=targets, rule_tags=tags)


def kinds(d, o) -> list[str]:
    return [a.kind.value for a in plan_environment(d, o)]


# --- names and descriptions --------------------------------------------------------------


@pytest.mark.parametrize("name, expected", [
    (f"{PREFIX}p0123456789a-prod", ("p0123456789a", "prod")),
    (f"{PREFIX}p0123456789a-test2", ("p0123456789a", "test2")),
    ("pgw-prod-pt-p0123456789a-prod", None),  # another stage's prefix
    ("orders-to-warehouse", None),
    (f"{PREFIX}nodash", None),
    (f"{PREFIX}a-b-c", None),
    (f"{PREFIX}-prod", None),
])
def test_parse_resource_name(name, expected):
    assert parse_resource_name(PREFIX, name) == expected


@pytest.mark.parametrize("description, expected", [
    (rule_description("abc123"), "abc123"),
    (rule_description(PENDING_HASH), PENDING_HASH),
    ("managed-by=partner-event-gateway", None),
    ("hand made rule", None),
    (None, None),
    ("config-hash=", None),
])
def test_description_hash(description, expected):
    assert description_hash(description) == expected


# --- desired state -----------------------------------------------------------------------


def test_push_environment_has_delivery_and_routing_targets():
    d = desired(push())
    assert d.name == f"{PREFIX}{PARTNER}-prod"
    assert [t.id for t in d.targets] == ["delivery", "routing"]
    delivery, routing = d.targets
    assert delivery.arn == DESTINATION_ARN and delivery.retry == (86_400, 185)
    assert delivery.dead_letter_arn == f"arn:aws:sqs:us-east-1:123456789012:{d.name}"
    assert routing.arn == RECORDER
    assert routing.input_template == (
        '{"partner_id":"p0123456789a","environment":"prod","mode":"push",'
        '"event":<aws.events.event.json>}')
    assert d.dead_letter_queue and d.connection and d.destination
    assert d.destination.endpoint == "https://hooks.acme.example/in"
    assert '"addressed_to"' in d.pattern and '"stock.check"' in d.pattern


def test_poll_environment_has_only_the_routing_target():
    d = desired(poll())
    assert [t.id for t in d.targets] == ["routing"]
    assert '"mode":"poll"' in d.targets[0].input_template
    assert d.connection is None and d.destination is None and not d.dead_letter_queue


def test_routing_template_is_json_around_the_event():
    import json

    text = routing_template("p1", "test", DeliveryMode.POLL).replace("<aws.events.event.json>", "{}")
    assert json.loads(text) == {"partner_id": "p1", "environment": "test", "mode": "poll",
                                "event": {}}


@pytest.mark.parametrize("env, versions, reason", [
    (push(endpoint_url=None), VERSIONS, "push mode needs an endpoint URL"),
    (push(auth=None), VERSIONS, "push mode needs endpoint credentials"),
    (push(auth=EndpointAuth(type=AuthType.API_KEY, header_name="X")), VERSIONS,
     "push mode needs endpoint credentials"),
    (push(auth=EndpointAuth(type=AuthType.BASIC, secret_arn=SECRET_ARN)), VERSIONS,
     "BASIC credentials need username"),
    (push(auth=EndpointAuth(type=AuthType.OAUTH_CLIENT_CREDENTIALS, secret_arn=SECRET_ARN,
                            client_id="c")), VERSIONS,
     "OAUTH_CLIENT_CREDENTIALS credentials need token_url"),
    (push(), {}, "missing from Secrets Manager"),
    (push(filter=RequestFilter(request_types=tuple(f"type.{i:03d}" for i in range(50)),
                               conditions=())) , VERSIONS, None),
])
def test_desired_state_refusals(env, versions, reason):
    if reason is None:
        desired(env, versions)  # a long but valid filter compiles
        return
    with pytest.raises(RoutingPermanentError) as caught:
        desired(env, versions)
    assert reason in caught.value.reason


def test_invalid_filter_is_a_permanent_error():
    from partners.onboarding.filters import Condition, Operator

    many = RequestFilter(conditions=tuple(
        Condition(f"attribute_{i}", Operator.ANY_OF, tuple(f"value-{i}-{j}" for j in range(20)))
        for i in range(10)))
    with pytest.raises(RoutingPermanentError, match="invalid filter"):
        desired(push(filter=many))


@pytest.mark.parametrize("change", [
    {"endpoint_url": "https://hooks.acme.example/other"},
    {"rate_limit_per_second": 11},
    {"retry_policy": RetryPolicy(3600, 5)},
    {"filter": RequestFilter(request_types=("stock.reserve",))},
    {"auth": EndpointAuth(type=AuthType.API_KEY, header_name="X-Other", secret_arn=SECRET_ARN)},
    {"mode": DeliveryMode.POLL},
])
def test_config_hash_covers_every_setting(change):
    assert desired(push(**change)).config_hash != desired(push()).config_hash


def test_config_hash_covers_the_secret_version_not_a_value():
    before, after = desired(push()), desired(push(), {SECRET_ARN: "v2"})
    assert before.config_hash != after.config_hash
    assert before.connection.config_hash != after.connection.config_hash
    assert desired(push()).config_hash == before.config_hash  # stable


def test_connection_auth_parameters_by_type():
    api_key = desired(push()).connection
    assert api_key.auth_parameters("k") == {
        "ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": "k"}}
    basic = desired(push(auth=EndpointAuth(type=AuthType.BASIC, username="u",
                                           secret_arn=SECRET_ARN))).connection
    assert basic.auth_parameters("p") == {"BasicAuthParameters": {"Username": "u",
                                                                 "Password": "p"}}
    oauth = desired(push(auth=EndpointAuth(type=AuthType.OAUTH_CLIENT_CREDENTIALS,
                                           token_url="https://id.acme.example/token",
                                           client_id="cid", scope="events",
                                           secret_arn=SECRET_ARN))).connection
    parameters = oauth.auth_parameters("cs")["OAuthParameters"]
    assert parameters["ClientParameters"] == {"ClientID": "cid", "ClientSecret": "cs"}
    assert parameters["AuthorizationEndpoint"] == "https://id.acme.example/token"
    body = {p["Key"]: p["Value"] for p in parameters["OAuthHttpParameters"]["BodyParameters"]}
    assert body == {"grant_type": "client_credentials", "scope": "events"}


def test_target_round_trips_through_aws_form():
    for target in desired(push()).targets:
        assert TargetSpec.from_aws(target.to_aws(DESTINATION_ARN_OBSERVED),
                                   DESTINATION_ARN_OBSERVED) == target


# --- plans -------------------------------------------------------------------------------

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


def test_headroom_report():
    headroom = Headroom(Quotas(rules_per_bus=300), Usage(rules=290, api_destinations=3,
                                                         connections=3001))
    assert headroom.to_dict() == {
        "rules_per_bus": {"used": 290, "quota": 300, "left": 10},
        "api_destinations": {"used": 3, "quota": 3000, "left": 2997},
        "connections": {"used": 3001, "quota": 3000, "left": 0},
    }
