"""The reconciler against moto: converge, minimal writes, ownership, drift, credentials, quotas."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import pytest
from botocore.exceptions import ClientError

from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import DeliveryMode, PartnerStatus, RoutingState
from partners.routing.exceptions import ReconcilerConfigError
from partners.routing.names import description_hash
from partners.routing.quotas import Quotas
from partners.routing.reconciler import Reconciler, ReconcilerSettings
from tests.partners.routing.reconciler_fixtures import (  # noqa: F401 (fixture)
    ROUTING_RECORDER_ARN,
    poll_env,
    push_env,
    world,
)


def owned(world, kind: str) -> list[str]:
    prefix = world.settings.resource_prefix
    events, sqs = world.client("events"), world.client("sqs")
    if kind == "rules":
        names = [r["Name"] for r in events.list_rules(EventBusName=world.settings.bus_name,
                                                      Limit=100)["Rules"]]
    elif kind == "connections":
        names = [c["Name"] for c in events.list_connections(Limit=100)["Connections"]]
    elif kind == "destinations":
        names = [d["Name"] for d in events.list_api_destinations(Limit=100)["ApiDestinations"]]
    else:
        names = [u.rsplit("/", 1)[-1] for u in sqs.list_queues(
            QueueNamePrefix=prefix).get("QueueUrls", [])]
    return sorted(n for n in names if n.startswith(prefix))


def targets(world, rule: str) -> dict[str, dict]:
    listed = world.client("events").list_targets_by_rule(Rule=rule,
                                                         EventBusName=world.settings.bus_name)
    return {t["Id"]: t for t in listed["Targets"]}


def name(world, partner, env: str) -> str:
    return f"{world.settings.resource_prefix}{partner.id}-{env}"


# --- converge ----------------------------------------------------------------------------


def test_converges_from_empty(world):
    partner = world.partner("acme", push_env("prod", types=("stock.check",)), poll_env("test"))
    report = world.reconciler().reconcile_all()
    prod, test = name(world, partner, "prod"), name(world, partner, "test")
    assert owned(world, "rules") == [prod, test]
    assert owned(world, "connections") == [prod]
    assert owned(world, "destinations") == [prod]
    assert owned(world, "queues") == [prod]

    events = world.client("events")
    rule = events.describe_rule(Name=prod, EventBusName=world.settings.bus_name)
    pattern = json.loads(rule["EventPattern"])
    assert pattern["detail"]["request_type"] == ["stock.check"]
    assert pattern["detail"]["environment"] == ["prod"]
    assert pattern["detail"]["addressed_to"] == [{"exists": False}, partner.id]
    assert rule["State"] == "ENABLED"
    assert description_hash(rule["Description"]) == \
        world.registry.routing_statuses(partner.id)["prod"].config_hash
    tags = {t["Key"]: t["Value"] for t in events.list_tags_for_resource(
        ResourceARN=rule["Arn"])["Tags"]}
    assert tags["managed-by"] == "partner-event-gateway" and tags["partner-id"] == partner.id
    assert tags["environment"] == "prod" and tags["config-hash"] == description_hash(
        rule["Description"])

    destination = events.describe_api_destination(Name=prod)
    assert destination["InvocationEndpoint"] == "https://hooks.acme.example/events"
    assert destination["HttpMethod"] == "POST" and destination["InvocationRateLimitPerSecond"] == 10
    connection = events.describe_connection(Name=prod)
    assert connection["ConnectionArn"] == destination["ConnectionArn"]
    assert connection["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"] == "X-Api-Key"

    prod_targets = targets(world, prod)
    assert set(prod_targets) == {"delivery", "routing"}
    delivery = prod_targets["delivery"]
    assert delivery["Arn"] == destination["ApiDestinationArn"]
    assert delivery["RetryPolicy"] == {"MaximumRetryAttempts": 185,
                                       "MaximumEventAgeInSeconds": 86400}
    assert delivery["DeadLetterConfig"]["Arn"].endswith(f":{prod}")
    assert '"specversion":"1.0"' in delivery["InputTransformer"]["InputTemplate"]
    routing = prod_targets["routing"]
    assert routing["Arn"] == ROUTING_RECORDER_ARN
    assert '"mode":"push"' in routing["InputTransformer"]["InputTemplate"]
    test_targets = targets(world, test)
    assert set(test_targets) == {"routing"}
    assert '"mode":"poll"' in test_targets["routing"]["InputTransformer"]["InputTemplate"]

    queue_url = world.client("sqs").get_queue_url(QueueName=prod)["QueueUrl"]
    attributes = world.client("sqs").get_queue_attributes(QueueUrl=queue_url,
                                                          AttributeNames=["All"])["Attributes"]
    policy = json.loads(attributes["Policy"])["Statement"][0]
    assert policy["Principal"] == {"Service": "events.amazonaws.com"}
    assert policy["Condition"]["ArnEquals"]["aws:SourceArn"] == rule["Arn"]

    statuses = world.registry.routing_statuses(partner.id)
    assert {e: s.state for e, s in statuses.items()} == {"prod": RoutingState.LIVE,
                                                        "test": RoutingState.LIVE}
    assert statuses["prod"].rule_arn == rule["Arn"]
    assert report.by_state() == {"live": 2}
    assert report.headroom.to_dict()["rules_per_bus"]["quota"] == 300


def test_unchanged_partner_costs_zero_writes(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    world.log.clear()
    report = reconciler.reconcile_all()
    assert world.log.writes == []
    assert report.looked_closer == 0 and report.status_writes == 0
    assert set(world.log.reads) <= {"Scan", "ListRules", "ListConnections",
                                    "ListApiDestinations", "ListQueues", "ListSecrets"}
    world.log.clear()
    reconciler.reconcile(partner.id)
    assert world.log.writes == []
    world.log.clear()
    deep = reconciler.reconcile_all(deep=True)
    assert world.log.writes == [] and deep.looked_closer == 2
    assert "ListTargetsByRule" in world.log.reads


@pytest.mark.parametrize("change, expected", [
    (lambda e: replace(e, endpoint_url="https://hooks.acme.example/v2"),
     ["UpdateApiDestination", "TagResource", "PutRule", "PutItem"]),
    (lambda e: replace(e, filter=RequestFilter(request_types=("stock.reserve",))),
     ["TagResource", "PutRule", "PutItem"]),
    (lambda e: replace(e, rate_limit_per_second=42),
     ["UpdateApiDestination", "TagResource", "PutRule", "PutItem"]),
])
def test_edit_costs_minimal_writes(world, change, expected):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    world.update(partner.id, lambda p: p.with_environment(change(p.environment("prod"))))
    world.log.clear()
    reconciler.reconcile(partner.id)
    assert world.log.writes == expected
    world.log.clear()
    reconciler.reconcile_all(deep=True)
    assert world.log.writes == []


def test_secret_change_updates_the_connection(world, caplog):
    caplog.set_level(logging.DEBUG, logger="partners")
    partner = world.partner("acme", push_env("prod"), secret="first-secret-value")
    reconciler = world.reconciler()
    reconciler.reconcile(partner.id)
    prod = name(world, partner, "prod")
    events = world.client("events")
    before = events.describe_connection(Name=prod)
    world.credentials.put(partner.id, "prod", partner.environment("prod").auth.type,
                          "second-secret-value", set_on="2026-11-23T11:00:00Z")
    world.log.clear()
    reconciler.reconcile(partner.id)
    assert world.log.writes == ["UpdateConnection", "TagResource", "PutRule", "PutItem"]
    after = events.describe_connection(Name=prod)
    assert description_hash(after["Description"]) != description_hash(before["Description"])
    # DescribeConnection never shows the value, and moto 5.2 does not rewrite the connection's
    # own secret on UpdateConnection, so read what moto's backend holds for the connection.
    from moto.events.models import events_backends

    backend = events_backends["123456789012"]["us-east-1"]
    held = backend.connections[prod].auth_parameters["ApiKeyAuthParameters"]
    assert held["ApiKeyValue"] == "second-secret-value"
    # The value never reaches logs or the registry.
    assert "second-secret-value" not in caplog.text and "first-secret-value" not in caplog.text
    table = world.client("dynamodb").scan(TableName=world.stage.spec.tables["partners"].name)
    assert "secret-value" not in json.dumps(table["Items"])


def test_routing_changes_are_announced_on_the_bus(world):
    announced = []

    def capture(params, **_):
        announced.extend((e["DetailType"], json.loads(e["Detail"])) for e in params["Entries"])

    world.aws.events.register("before-parameter-build.events.PutEvents", capture)
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    assert sorted((t, d["environment"], d["reason"]) for t, d in announced) == [
        ("Partner Environment Changed", "prod", "routing live"),
        ("Partner Environment Changed", "test", "routing live")]
    assert all(d["partner_id"] == partner.id and d["actor"] == "system:reconciler"
               for _, d in announced)
    announced.clear()
    reconciler.reconcile_all()
    world.update(partner.id, lambda p: p.with_environment(
        replace(p.environment("prod"), endpoint_url="https://hooks.acme.example/v9")))
    reconciler.reconcile(partner.id)
    assert announced == []  # still live: an edit is not a routing change
    world.registry.transition(world.registry.get_partner(partner.id), PartnerStatus.SUSPENDED)
    reconciler.reconcile(partner.id)
    assert [d["reason"] for _, d in announced] == ["routing removed: partner suspended"] * 2


# --- ownership ---------------------------------------------------------------------------


def test_foreign_resources_are_untouched(world):
    events, sqs = world.client("events"), world.client("sqs")
    bus = world.settings.bus_name
    foreign_rule = events.put_rule(Name="orders-to-warehouse", EventBusName=bus,
                                   EventPattern='{"source":["orders"]}')
    events.put_targets(Rule="orders-to-warehouse", EventBusName=bus,
                       Targets=[{"Id": "w", "Arn": "arn:aws:sqs:us-east-1:123456789012:w"}])
    # Another stage's partner rule on the same bus: same shape, different prefix.
    events.put_rule(Name="pgw-prod-pt-p0123456789a-prod", EventBusName=bus,
                    EventPattern='{"source":["x"]}', Description="config-hash=abc")
    connection = events.create_connection(
        Name="crm-webhook", AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    events.create_api_destination(Name="crm-webhook", ConnectionArn=connection["ConnectionArn"],
                                  InvocationEndpoint="https://crm.example/hook", HttpMethod="PUT")
    sqs.create_queue(QueueName="pgw-test-pt-notes")  # our prefix, not a partner resource name

    def snapshot():
        return (
            sorted((r["Name"], r.get("EventPattern"), r.get("Description"), r.get("State"))
                   for r in events.list_rules(EventBusName=bus)["Rules"]
                   if not r["Name"].startswith(world.settings.resource_prefix)),
            targets(world, "orders-to-warehouse"),
            events.describe_connection(Name="crm-webhook")["AuthorizationType"],
            events.describe_api_destination(Name="crm-webhook")["InvocationEndpoint"],
            sorted(sqs.list_queues()["QueueUrls"]),
        )

    before = snapshot()
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    after_create = snapshot()
    assert after_create[:4] == before[:4]
    world.update(partner.id, lambda p: world.registry.transition(p, PartnerStatus.SUSPENDED)
                 and world.registry.get_partner(p.id))
    reconciler.reconcile_all(deep=True)
    reconciler.reconcile_all()
    assert snapshot()[:4] == before[:4]
    assert events.describe_rule(Name="orders-to-warehouse", EventBusName=bus)["Arn"] == \
        foreign_rule["RuleArn"]
    assert any(u.endswith("/pgw-test-pt-notes") for u in snapshot()[4])
    assert owned(world, "rules") == []


# --- drift -------------------------------------------------------------------------------


def test_deleted_rule_is_restored_by_the_next_run(world):
    partner = world.partner("acme", push_env("prod"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    prod = name(world, partner, "prod")
    events = world.client("events")
    events.remove_targets(Rule=prod, EventBusName=world.settings.bus_name,
                          Ids=["delivery", "routing"])
    events.delete_rule(Name=prod, EventBusName=world.settings.bus_name)
    world.log.clear()
    reconciler.reconcile_all()
    assert world.log.writes == ["PutRule", "PutTargets", "PutRule"]
    assert set(targets(world, prod)) == {"delivery", "routing"}


def test_changed_target_is_restored_by_a_deep_run(world):
    partner = world.partner("acme", push_env("prod"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    prod = name(world, partner, "prod")
    events = world.client("events")
    delivery = targets(world, prod)["delivery"]
    events.put_targets(Rule=prod, EventBusName=world.settings.bus_name, Targets=[
        {**delivery, "RetryPolicy": {"MaximumRetryAttempts": 0, "MaximumEventAgeInSeconds": 60}}])
    world.log.clear()
    reconciler.reconcile_all()  # list pages cannot see a target
    assert world.log.writes == []
    reconciler.reconcile_all(deep=True)
    assert world.log.writes == ["PutTargets"]
    assert targets(world, prod)["delivery"]["RetryPolicy"]["MaximumRetryAttempts"] == 185


def test_disabled_rule_and_moved_destination_are_restored(world):
    partner = world.partner("acme", push_env("prod"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    prod = name(world, partner, "prod")
    events = world.client("events")
    events.disable_rule(Name=prod, EventBusName=world.settings.bus_name)
    events.update_api_destination(Name=prod, InvocationEndpoint="https://attacker.example/")
    world.log.clear()
    reconciler.reconcile_all()
    assert sorted(world.log.writes) == ["PutRule", "UpdateApiDestination"]
    assert events.describe_rule(Name=prod, EventBusName=world.settings.bus_name)["State"] == \
        "ENABLED"
    assert events.describe_api_destination(Name=prod)["InvocationEndpoint"] == \
        "https://hooks.acme.example/events"


# --- losing routing ----------------------------------------------------------------------


def test_suspended_partner_loses_routing_and_dlq_waits_until_empty(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    prod = name(world, partner, "prod")
    sqs = world.client("sqs")
    queue_url = sqs.get_queue_url(QueueName=prod)["QueueUrl"]
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"failed":"delivery"}')
    world.registry.transition(world.registry.get_partner(partner.id), PartnerStatus.SUSPENDED)
    world.log.clear()
    reconciler.reconcile(partner.id)
    assert owned(world, "rules") == [] and owned(world, "connections") == []
    assert owned(world, "destinations") == [] and owned(world, "queues") == [prod]
    # Removal runs in reverse dependency order.
    writes = [w for w in world.log.writes if w != "PutItem"]
    assert writes.index("RemoveTargets") < writes.index("DeleteRule") < \
        writes.index("DeleteApiDestination") < writes.index("DeleteConnection")
    statuses = world.registry.routing_statuses(partner.id)
    assert statuses["prod"].state is RoutingState.REMOVED
    assert statuses["prod"].reason == \
        "partner suspended; dead-letter queue kept until its 1 messages are handled"
    assert statuses["test"].reason == "partner suspended"
    world.log.clear()
    reconciler.reconcile_all()
    assert world.log.writes == [] and "GetQueueAttributes" in world.log.reads
    for message in sqs.receive_message(QueueUrl=queue_url).get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    reconciler.reconcile_all()
    assert owned(world, "queues") == []
    assert world.registry.routing_statuses(partner.id)["prod"].reason == "partner suspended"


def test_disabled_environment_and_push_to_poll(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    world.update(partner.id, lambda p: p.with_environment(
        replace(p.environment("test"), enabled=False)).with_environment(
        replace(p.environment("prod"), mode=DeliveryMode.POLL)))
    reconciler.reconcile(partner.id)
    prod = name(world, partner, "prod")
    assert owned(world, "rules") == [prod]
    assert set(targets(world, prod)) == {"routing"}
    assert owned(world, "connections") == [] and owned(world, "destinations") == []
    assert owned(world, "queues") == []  # it was empty
    statuses = world.registry.routing_statuses(partner.id)
    assert statuses["prod"].state is RoutingState.LIVE
    assert (statuses["test"].state, statuses["test"].reason) == (RoutingState.REMOVED,
                                                                 "environment disabled")


def test_deleted_environment_and_unknown_partner_are_cleaned_up(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    world.update(partner.id, lambda p: replace(p, environments={"prod": p.environment("prod")}))
    reconciler.reconcile(partner.id)
    assert owned(world, "rules") == [name(world, partner, "prod")]
    assert set(world.registry.routing_statuses(partner.id)) == {"prod"}
    # Resources of a partner id the registry does not know are orphans: removed.
    events = world.client("events")
    orphan = f"{world.settings.resource_prefix}pzzzzzzzzzzz-prod"
    events.put_rule(Name=orphan, EventBusName=world.settings.bus_name,
                    EventPattern='{"source":["x"]}')
    reconciler.reconcile("pzzzzzzzzzzz")
    assert orphan not in owned(world, "rules")


def test_pending_partner_gets_a_pending_status(world):
    partner = world.partner("acme", poll_env("test"), status=PartnerStatus.PENDING_APPROVAL)
    world.reconciler().reconcile(partner.id)
    status = world.registry.routing_statuses(partner.id)["test"]
    assert (status.state, status.label) == (RoutingState.PENDING, "pending")
    assert status.reason == "waiting for approval"
    assert owned(world, "rules") == []


def test_a_run_out_of_time_leaves_the_rest_for_the_next(world):
    first = world.partner("acme", poll_env("test"))
    second = world.partner("bolt", poll_env("test"))
    reconciler = world.reconciler()
    clock = iter([100.0, 5.0])
    report = reconciler.reconcile_all(time_left=lambda: next(clock, 5.0))
    assert report.deferred == 1 and report.summary()["deferred"] == 1
    statuses = [world.registry.routing_statuses(p.id) for p in (first, second)]
    assert sorted(len(s) for s in statuses) == [0, 1]  # the deferred one has no status yet
    report = reconciler.reconcile_all(time_left=lambda: 100.0)
    assert report.deferred == 0
    assert all(world.registry.routing_statuses(p.id)["test"].state is RoutingState.LIVE
               for p in (first, second))


# --- failures and quotas -----------------------------------------------------------------


def _failing(world, operation: str, code: str, times: int = 10**6, status: int = 400):
    """Make `operation` fail with `code` for its next `times` calls (a botocore hook)."""
    state = {"left": times}

    def hook(model, **_):
        if model.name == operation and state["left"] > 0:
            state["left"] -= 1
            raise ClientError({"Error": {"Code": code, "Message": f"{code} injected"},
                               "ResponseMetadata": {"HTTPStatusCode": status}}, operation)

    world.aws.events.register("before-call", hook)
    return hook


def test_permanent_failure_is_recorded_without_retry(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    _failing(world, "CreateApiDestination", "ValidationException")
    world.reconciler().reconcile_all()
    statuses = world.registry.routing_statuses(partner.id)
    assert statuses["prod"].state is RoutingState.ERROR
    assert statuses["prod"].label == \
        "error: ValidationException: ValidationException injected"
    assert statuses["test"].state is RoutingState.LIVE  # one bad environment stops no other
    assert world.log.calls.count("CreateApiDestination") == 1


def test_refused_connection_never_echoes_the_secret(world):
    partner = world.partner("acme", push_env("prod"), secret="do-not-echo-me")

    def refuse(model, **_):
        if model.name == "CreateConnection":
            raise ClientError({"Error": {
                "Code": "ValidationException",
                "Message": "1 validation error detected: Value 'do-not-echo-me' at "
                           "'authParameters.apiKeyAuthParameters.apiKeyValue' failed to "
                           "satisfy constraint: do-not-echo-me is too short"}}, model.name)

    world.aws.events.register("before-call", refuse)
    world.reconciler().reconcile(partner.id)
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert status.state is RoutingState.ERROR
    assert "do-not-echo-me" not in status.reason
    assert status.reason.startswith("ValidationException: 1 validation error detected: "
                                    "Value (hidden) at 'authParameters")


def test_temporary_failure_leaves_the_environment_to_the_next_run(world):
    partner = world.partner("acme", push_env("prod"), poll_env("test"))
    _failing(world, "PutTargets", "ThrottlingException", times=1)
    reconciler = world.reconciler()
    report = reconciler.reconcile_all()
    statuses = world.registry.routing_statuses(partner.id)
    # Throttled once: prod stops for this run, pending (not an error), and is not retried;
    # test, planned after it, goes live.
    assert world.log.calls.count("PutTargets") == 2
    throttled = statuses["prod"]
    assert throttled.state is RoutingState.PENDING and statuses["test"].state is \
        RoutingState.LIVE
    assert throttled.reason == ("AWS was unavailable (ThrottlingException: ThrottlingException "
                                "injected); the next run retries")
    assert report.by_state() == {"live": 1, "pending": 1}
    world.log.clear()
    report = reconciler.reconcile_all()  # the next run goes on from what exists
    assert report.by_state() == {"live": 2}
    assert "CreateConnection" not in world.log.writes
    assert {s.state for s in world.registry.routing_statuses(partner.id).values()} == {
        RoutingState.LIVE}


def test_lasting_temporary_failure_leaves_the_environment_pending(world):
    partner = world.partner("acme", push_env("prod"))
    hook = _failing(world, "PutRule", "InternalException", status=500)
    reconciler = world.reconciler()
    for run in (1, 2):
        reconciler.reconcile_all()
        status = world.registry.routing_statuses(partner.id)["prod"]
        assert status.state is RoutingState.PENDING and "the next run retries" in status.reason
        assert world.log.calls.count("PutRule") == run  # one call a run, no retry loop
    world.aws.events.unregister("before-call", hook)
    world.reconciler().reconcile_all()  # clients copy the session's hooks when made
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.LIVE


def test_deauthorized_connection_is_an_error_until_new_credentials(world):
    partner = world.partner("acme", push_env("prod"))
    reconciler = world.reconciler()
    reconciler.reconcile(partner.id)

    def deauthorize(parsed, **_):  # moto 5.2 has no DeauthorizeConnection
        for connection in parsed.get("Connections", []):
            connection["ConnectionState"] = "DEAUTHORIZED"

    world.aws.events.register("after-call.events.ListConnections", deauthorize)
    reconciler = world.reconciler()  # a client made after the hook
    reconciler.reconcile(partner.id)
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert status.state is RoutingState.ERROR and "deauthorized" in status.reason
    assert status.rule_arn  # the routing itself stays
    world.credentials.put(partner.id, "prod", prod_auth_type(world, partner), "fresh-secret",
                          set_on="2026-11-23T12:00:00Z")
    reconciler.reconcile(partner.id)  # new credentials: the connection is updated
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.LIVE


def test_race_with_another_writer_is_left_to_the_next_run(world):
    partner = world.partner("acme", push_env("prod"))
    _failing(world, "CreateConnection", "ResourceAlreadyExistsException", times=1)
    reconciler = world.reconciler()
    reconciler.reconcile(partner.id)
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert status.state is RoutingState.PENDING and "another writer" in status.reason
    assert world.log.calls.count("CreateConnection") == 1  # no retry loop
    reconciler.reconcile(partner.id)
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.LIVE


def test_invalid_settings_are_recorded_and_existing_routing_kept(world):
    partner = world.partner("acme", push_env("prod"))
    reconciler = world.reconciler()
    reconciler.reconcile_all()
    world.update(partner.id, lambda p: p.with_environment(
        replace(p.environment("prod"), endpoint_url=None)))
    world.log.clear()
    reconciler.reconcile_all()
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert status.label == "error: push mode needs an endpoint URL"
    # The status and its announcement only; the routing is left as it was.
    assert world.log.writes == ["PutEvents", "PutItem"]
    assert owned(world, "rules") == [name(world, partner, "prod")]


def test_rule_quota_refusal_is_recorded(world):
    events = world.client("events")
    for i in range(3):
        events.put_rule(Name=f"ops-{i}", EventBusName=world.settings.bus_name,
                        EventPattern='{"source":["ops"]}')
    first = world.partner("acme", poll_env("test"))
    second = world.partner("bolt", poll_env("test"))
    reconciler = world.reconciler(quotas=Quotas(rules_per_bus=4))
    report = reconciler.reconcile_all()
    states = {p.id: world.registry.routing_statuses(p.id)["test"] for p in (first, second)}
    assert sorted(s.state.value for s in states.values()) == ["error", "live"]
    refused = next(s for s in states.values() if s.state is RoutingState.ERROR)
    assert refused.reason.startswith("quota exhausted: 4 of 4 rules on the event bus")
    # The report shows the headroom the run planned with; `headroom()` reads it afresh.
    assert report.headroom.to_dict()["rules_per_bus"] == {"used": 3, "quota": 4, "left": 1}
    assert reconciler.headroom().to_dict()["rules_per_bus"] == {"used": 4, "quota": 4, "left": 0}


def test_usage_key_follows_the_environment(world):
    apigateway = world.client("apigateway")
    plan_id = apigateway.create_usage_plan(name="pgw-test-partners")["id"]
    partner = world.partner("acme", poll_env("test"))
    reconciler = world.reconciler(usage_plan_id=plan_id)
    reconciler.reconcile_all()
    keys = apigateway.get_usage_plan_keys(usagePlanId=plan_id)["items"]
    from partners.core.constants import usage_key_value

    assert [(k["name"], k["value"]) for k in keys] == [(
        name(world, partner, "test"),
        usage_key_value(world.settings.resource_prefix, partner.id, "test"))]
    world.log.clear()
    reconciler.reconcile_all()
    assert world.log.writes == []
    world.registry.transition(world.registry.get_partner(partner.id), PartnerStatus.SUSPENDED)
    reconciler.reconcile_all()
    assert apigateway.get_api_keys()["items"] == []


# --- crash safety ------------------------------------------------------------------------


class Crash(Exception):
    """A process dying mid-run (not an AWS error: nothing may catch it)."""


def _assert_converged(world, partners) -> None:
    """Exactly the desired resources exist, once each, and a deep run has nothing to write."""
    prefix = world.settings.resource_prefix
    want_rules, want_push = set(), set()
    for partner in partners:
        current = world.registry.get_partner(partner.id)
        for env in current.environments.values():
            if current.status is PartnerStatus.APPROVED and env.enabled:
                want_rules.add(f"{prefix}{partner.id}-{env.name}")
                if env.mode is DeliveryMode.PUSH:
                    want_push.add(f"{prefix}{partner.id}-{env.name}")
    ids = {p.id for p in partners}

    def mine(names):
        return sorted(n for n in names if n[len(prefix):].rsplit("-", 1)[0] in ids)

    assert mine(owned(world, "rules")) == sorted(want_rules)
    assert mine(owned(world, "connections")) == sorted(want_push)
    assert mine(owned(world, "destinations")) == sorted(want_push)
    assert mine(owned(world, "queues")) == sorted(want_push)
    for rule in want_rules:
        assert set(targets(world, rule)) == ({"delivery", "routing"} if rule in want_push
                                             else {"routing"})
    world.log.clear()
    world.reconciler().reconcile_all(deep=True)
    assert world.log.writes == []
    for partner in partners:
        for status in world.registry.routing_statuses(partner.id).values():
            assert status.state is not RoutingState.PENDING or status.reason.startswith(
                ("waiting", "not yet"))


def _writes_of(world, run) -> int:
    world.log.clear()
    run()
    return len(world.log.writes)


SCENARIOS = ["create", "edit", "suspend"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_crash_after_every_write_converges(world, scenario):
    """For every k: die after the k-th write of a plan, run again, converge, no orphans."""
    from partners.onboarding.registry import PartnerRegistry

    def prepare(slug):
        partner = world.partner(slug, push_env("prod"), poll_env("test"))
        if scenario == "create":
            return partner
        world.reconciler().reconcile(partner.id)
        if scenario == "edit":
            def change(p):
                prod = replace(p.environment("prod"), endpoint_url="https://hooks.bolt.example/2",
                               mode=DeliveryMode.PUSH, rate_limit_per_second=20)
                test = replace(p.environment("test"), mode=DeliveryMode.PUSH,
                               endpoint_url="https://hooks.bolt.example/t",
                               auth=prod.auth)
                return p.with_environment(prod).with_environment(test)
            world.update(partner.id, change)
            world.credentials.put(partner.id, "prod", prod_auth_type(world, partner), "rotated",
                                  set_on="2026-11-23T12:00:00Z")
        else:
            world.registry.transition(world.registry.get_partner(partner.id),
                                      PartnerStatus.SUSPENDED)
        return partner

    probe = prepare("probe")
    total = _writes_of(world, lambda: world.reconciler().reconcile(probe.id))
    assert total >= 3
    partners = [probe]
    for k in range(1, total + 1):
        partner = prepare(f"crash-{k}")
        partners.append(partner)
        seen = {"writes": 0}

        def crash(model, **_):
            if model.name.startswith(("Put", "Create", "Update", "Delete", "Remove", "Tag")):
                seen["writes"] += 1
                if seen["writes"] == k:
                    raise Crash(f"died after write {k - 1}")

        world.aws.events.register("before-call", crash)
        registry = PartnerRegistry(world.registry.table_name, boto3_session=world.aws,
                                   clock=world.clock)
        doomed = Reconciler(registry, world.credentials, world.settings,
                            boto3_session=world.aws, clock=world.clock)
        with pytest.raises(Crash):
            doomed.reconcile(partner.id)
        world.aws.events.unregister("before-call", crash)
        world.reconciler().reconcile(partner.id)
    _assert_converged(world, partners)


def prod_auth_type(world, partner):
    return world.registry.get_partner(partner.id).environment("prod").auth.type


# --- settings ----------------------------------------------------------------------------


def test_settings_from_environment():
    environ = {"PGW_BUS_NAME": "bus", "PGW_RESOURCE_PREFIX": "pgw-x-pt-",
               "PGW_ROUTING_RECORDER_ARN": ROUTING_RECORDER_ARN, "PGW_RULE_QUOTA": "2000",
               "PGW_USAGE_PLAN_ID": "abc"}
    settings = ReconcilerSettings.from_environment(environ)
    assert settings.quotas == Quotas(rules_per_bus=2000)
    assert settings.usage_plan_id == "abc" and settings.delivery_role_arn is None
    with pytest.raises(ReconcilerConfigError, match="PGW_ROUTING_RECORDER_ARN is not set"):
        ReconcilerSettings.from_environment({**environ, "PGW_ROUTING_RECORDER_ARN": ""})
    with pytest.raises(ReconcilerConfigError, match="PGW_RULE_QUOTA must be a whole number"):
        ReconcilerSettings.from_environment({**environ, "PGW_RULE_QUOTA": "lots"})


# --- the registry and credential reads the reconciler relies on --------------------------


def test_secret_versions_by_partner_prefix(world):
    from partners.onboarding.models import AuthType

    first = world.credentials.put("p1", "prod", AuthType.BASIC, "a", set_on="x")
    second = world.credentials.put("p12", "prod", AuthType.BASIC, "b", set_on="x")
    versions = world.credentials.current_versions()
    assert set(versions) == {first.arn, second.arn}
    assert set(world.credentials.current_versions("p1")) == {first.arn}  # not p12's
    before = versions[first.arn]
    world.credentials.put("p1", "prod", AuthType.BASIC, "c", set_on="y")
    assert world.credentials.current_versions("p1")[first.arn] != before
    assert world.credentials.current_versions("p1")[first.arn] == \
        world.credentials.version(first.arn)


def test_scan_returns_partners_and_routing_statuses(world):
    partner = world.partner("acme", poll_env("test"))
    world.partner("bolt", poll_env("test"), status=PartnerStatus.DRAFT)
    world.reconciler().reconcile_all()
    partners, statuses = world.registry.scan_partners_and_routing()
    assert sorted(p.slug for p in partners) == ["acme", "bolt"]
    assert sorted((s.environment, s.state.value) for s in statuses) == [
        ("test", "live"), ("test", "pending")]
    assert any(s.partner_id == partner.id and s.rule_arn for s in statuses)
