"""The writer: one method per action kind, the request each builds, and where it stops."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from partners.routing.exceptions import RoutingPermanentError, RoutingTemporaryError
from partners.routing.names import PENDING_HASH, description_hash, rule_description
from partners.routing.observed import ArnContext, ObservedEnvironment
from partners.routing.plan import Action, ActionKind, EnvironmentPlan, plan_environment
from partners.routing.writer import RoutingWriter
from tests.partners.routing.plan_fixtures import (
    CONNECTION_ARN,
    SECRET_ARN,
    desired,
    in_sync,
    poll,
    push,
)

ARNS = ArnContext("aws", "us-east-1", "123456789012", "marketplace")
RESPONSES: dict[str, dict[str, Any]] = {
    "create_api_key": {"id": "k9"},
    "create_connection": {"ConnectionArn": "arn:connection/new"},
    "update_connection": {"ConnectionArn": CONNECTION_ARN},
    "create_api_destination": {"ApiDestinationArn": "arn:destination/new"},
    "update_api_destination": {"ApiDestinationArn": "arn:destination/updated"},
    "put_rule": {"RuleArn": "arn:rule/new"},
    "put_targets": {"FailedEntryCount": 0, "FailedEntries": []},
    "remove_targets": {"FailedEntryCount": 0, "FailedEntries": []},
}


@dataclass
class FakeAws:
    """Any client: records each call `(operation, request)`, answers from `RESPONSES`."""

    calls: list[tuple[str, dict[str, Any]]]
    failures: dict[str, Exception] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __getattr__(self, operation: str):
        def call(**request: Any) -> dict[str, Any]:
            self.calls.append((operation, request))
            if operation in self.failures:
                raise self.failures[operation]
            return dict({**RESPONSES, **self.answers}.get(operation, {}))
        return call


class FakeCredentials:
    def __init__(self, secret: str | Exception = "s3cr3t"):
        self.secret = secret

    def value(self, arn: str) -> str:
        assert arn == SECRET_ARN
        if isinstance(self.secret, Exception):
            raise self.secret
        return self.secret


def writer_for(calls, *, failures=None, answers=None, apigateway=True,
               secret="s3cr3t") -> RoutingWriter:
    aws = FakeAws(calls, failures or {}, answers or {})
    return RoutingWriter(events=aws, sqs=aws, apigateway=aws if apigateway else None,
                         credentials=FakeCredentials(secret), bus_name="marketplace",
                         usage_plan_id="plan1", arns=lambda: ARNS)


def aws_error(code: str, status: int = 400, message: str = "injected") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


PUSH = desired(push())
SYNCED = in_sync(PUSH)
KEYED = replace(desired(poll()), usage_key_value="VALUE")


def one(kind: ActionKind, *ids: str, d=PUSH, o=SYNCED) -> EnvironmentPlan:
    return EnvironmentPlan(PUSH.name, d, o, (Action(kind, ids),))


@pytest.mark.parametrize("plan, operations", [
    (one(ActionKind.CREATE_USAGE_KEY, d=KEYED), ["create_api_key", "create_usage_plan_key"]),
    (one(ActionKind.ATTACH_USAGE_KEY, "k1", d=KEYED), ["create_usage_plan_key"]),
    (one(ActionKind.ENABLE_USAGE_KEY, "k1", d=KEYED), ["update_api_key"]),
    (one(ActionKind.CREATE_CONNECTION), ["create_connection"]),
    (one(ActionKind.UPDATE_CONNECTION), ["update_connection"]),
    (one(ActionKind.CREATE_DESTINATION), ["create_api_destination"]),
    (one(ActionKind.UPDATE_DESTINATION), ["update_api_destination"]),
    (one(ActionKind.CREATE_QUEUE), ["create_queue"]),
    (one(ActionKind.CREATE_RULE), ["put_rule"]),
    (one(ActionKind.PUT_TARGETS, "delivery", "routing"), ["put_targets"]),
    (one(ActionKind.REMOVE_TARGETS, "delivery"), ["remove_targets"]),
    (one(ActionKind.TAG_RULE), ["tag_resource"]),
    (one(ActionKind.STAMP_RULE), ["put_rule"]),
    (one(ActionKind.DELETE_RULE, d=None), ["delete_rule"]),
    (one(ActionKind.DELETE_DESTINATION, d=None), ["delete_api_destination"]),
    (one(ActionKind.DELETE_CONNECTION, d=None), ["delete_connection"]),
    (one(ActionKind.DELETE_QUEUE, d=None), ["delete_queue"]),
    (one(ActionKind.DELETE_USAGE_KEY, "k1", d=None), ["delete_api_key"]),
], ids=lambda value: str(value.actions[0]) if isinstance(value, EnvironmentPlan) else "")
def test_each_kind_makes_its_request(plan, operations):
    calls: list = []
    writer_for(calls).apply(plan)
    assert [operation for operation, _ in calls] == operations


def test_every_kind_has_a_method():
    writer = writer_for([])
    assert set(writer.writes) == set(ActionKind)
    assert all(method.__name__ == kind.value for kind, method in writer.writes.items())


def test_push_from_nothing_threads_the_arns_through():
    calls: list = []
    plan = EnvironmentPlan(PUSH.name, PUSH, ObservedEnvironment(PUSH.name),
                           plan_environment(PUSH, ObservedEnvironment(PUSH.name)))
    written = writer_for(calls).apply(plan)
    requests = {operation: request for operation, request in calls}
    assert requests["create_connection"]["AuthParameters"] == {
        "ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": "s3cr3t"}}
    assert requests["create_api_destination"]["ConnectionArn"] == "arn:connection/new"
    delivery = next(t for t in requests["put_targets"]["Targets"] if t["Id"] == "delivery")
    assert delivery["Arn"] == "arn:destination/new"
    rules = [request for operation, request in calls if operation == "put_rule"]
    # Created pending and tagged, stamped with the config hash once its targets are in.
    assert description_hash(rules[0]["Description"]) == PENDING_HASH and "Tags" in rules[0]
    assert rules[1]["Description"] == rule_description(PUSH.config_hash)
    assert written.rule_arn == "arn:rule/new" and written.destination_arn == \
        "arn:destination/new"
    queue = requests["create_queue"]
    assert queue["QueueName"] == PUSH.name and '"aws:SourceArn"' in queue["Attributes"]["Policy"]


def test_a_failure_stops_the_environment_at_that_write():
    calls: list = []
    plan = EnvironmentPlan(PUSH.name, PUSH, ObservedEnvironment(PUSH.name),
                           plan_environment(PUSH, ObservedEnvironment(PUSH.name)))
    writer = writer_for(calls, failures={"put_targets": aws_error("ThrottlingException")})
    with pytest.raises(RoutingTemporaryError, match="the next run retries"):
        writer.apply(plan)
    operations = [operation for operation, _ in calls]
    assert operations[-1] == "put_targets" and operations.count("put_targets") == 1
    assert operations.count("put_rule") == 1  # created pending, never stamped


@pytest.mark.parametrize("failure, kind", [
    (aws_error("ResourceNotFoundException"), None),  # already gone: a removal's success
    (aws_error("ValidationException"), RoutingPermanentError),
    (aws_error("InternalException", 500), RoutingTemporaryError),
])
def test_removals_take_gone_as_done(failure, kind):
    calls: list = []
    plan = EnvironmentPlan(PUSH.name, None, SYNCED,
                           (Action(ActionKind.DELETE_RULE), Action(ActionKind.DELETE_QUEUE)))
    writer = writer_for(calls, failures={"delete_rule": failure})
    if kind is None:
        writer.apply(plan)
        assert [operation for operation, _ in calls] == ["delete_rule", "delete_queue"]
    else:
        with pytest.raises(kind):
            writer.apply(plan)


def test_failed_target_entries_are_an_error():
    refused = {"FailedEntryCount": 1, "FailedEntries": [
        {"TargetId": "delivery", "ErrorCode": "ValidationException", "ErrorMessage": "bad"}]}
    writer = writer_for([], answers={"put_targets": refused})
    with pytest.raises(RoutingPermanentError, match="ValidationException: bad"):
        writer.apply(one(ActionKind.PUT_TARGETS, "delivery"))


def test_a_refused_connection_never_echoes_the_secret():
    message = ("1 validation error detected: Value 'do-not-echo-me' at 'authParameters' "
               "failed: do-not-echo-me is too short")
    writer = writer_for([], secret="do-not-echo-me",
                        failures={"create_connection": aws_error("ValidationException",
                                                                 message=message)})
    with pytest.raises(RoutingPermanentError) as caught:
        writer.apply(one(ActionKind.CREATE_CONNECTION))
    assert "do-not-echo-me" not in caught.value.reason
    assert caught.value.reason.startswith("ValidationException: 1 validation error detected: "
                                          "Value (hidden) at 'authParameters'")


@pytest.mark.parametrize("secret, kind, code", [
    (KeyError("gone"), RoutingPermanentError, "SecretUnreadable"),
    (aws_error("AccessDeniedException"), RoutingPermanentError, "SecretUnreadable"),
    (aws_error("ThrottlingException"), RoutingTemporaryError, "ThrottlingException"),
])
def test_unreadable_credentials(secret, kind, code):
    with pytest.raises(kind) as caught:
        writer_for([], secret=secret).apply(one(ActionKind.UPDATE_CONNECTION))
    assert caught.value.code == code


def test_usage_key_writes_need_a_usage_plan():
    with pytest.raises(RoutingPermanentError, match="no usage plan"):
        writer_for([], apigateway=False).apply(one(ActionKind.CREATE_USAGE_KEY, d=KEYED))
