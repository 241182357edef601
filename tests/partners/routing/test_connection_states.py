"""Following the connection's authorisation state: plan, writer, status, wording, as tables.

AWS pages: EventBridge user guide "Connections for HTTP endpoint targets"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html: "ensure
that the connection reaches the AUTHORIZED state before creating the API destination"),
"Connection states" (eb-target-connection-states) and the API reference's `ConnectionState`
(https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Connection.html).
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.onboarding.models import RoutingState
from partners.routing.exceptions import RoutingPermanentError, RoutingTemporaryError
from partners.routing.failures import connection_not_ready
from partners.routing.observed import ObservedConnection, ObservedEnvironment
from partners.routing.plan import (
    ActionKind,
    EnvironmentPlan,
    plan_environment,
    waits_for_connection,
)
from partners.routing.status import applied_status
from partners.routing.wording import connection_refused_reason, connection_waiting_reason
from tests.partners.routing.plan_fixtures import CONNECTION_ARN, PARTNER, desired, in_sync, push
from tests.partners.routing.test_writer import writer_for

NOW = "2026-11-23T10:00:00Z"
PUSH = desired(push())
SYNCED = in_sync(PUSH)
REFUSAL = 'authorization endpoint answered 401: {"error": "invalid_client"}'


def connection_only(state: str, reason: str = "", *, described: bool = True
                    ) -> ObservedEnvironment:
    """A new push environment after its first run: the connection and nothing else."""
    spec = PUSH.connection
    connection = ObservedConnection(
        PUSH.name, CONNECTION_ARN, spec.auth_type.value, state, reason,
        config_hash=spec.config_hash if described else None,
        identity=spec.identity if described else None)
    return ObservedEnvironment(PUSH.name, connection=connection)


@pytest.mark.parametrize("state, waits", [
    ("CREATING", True), ("UPDATING", True), ("AUTHORIZING", True),
    ("DEAUTHORIZED", True), ("DEAUTHORIZING", True),
    ("AUTHORIZED", False), ("ACTIVE", False),
])
def test_a_new_environment_waits_for_its_connection(state, waits):
    """eb-target-connection: no API destination before the connection is AUTHORIZED."""
    observed = connection_only(state)
    assert waits_for_connection(PUSH, observed) is waits
    kinds = [action.kind for action in plan_environment(PUSH, observed)]
    if waits:
        assert kinds == []
    else:
        assert kinds[0] is ActionKind.CREATE_DESTINATION and ActionKind.STAMP_RULE in kinds


def test_a_connection_not_yet_described_is_looked_at_before_waiting():
    """The list page shows no config hash: the plan asks for the closer look first."""
    observed = connection_only("AUTHORIZING", described=False)
    assert not waits_for_connection(PUSH, observed)
    assert plan_environment(PUSH, observed)[0].kind is ActionKind.UPDATE_CONNECTION


def test_changed_credentials_are_written_even_while_deauthorized():
    """A DEAUTHORIZED connection needs new credentials: UpdateConnection re-authorises."""
    observed = connection_only("DEAUTHORIZED", REFUSAL)
    changed = desired(push(), versions={PUSH.connection.secret_arn: "v2"})
    assert not waits_for_connection(changed, observed)
    assert plan_environment(changed, observed)[0].kind is ActionKind.UPDATE_CONNECTION


def test_live_routing_is_kept_while_its_connection_is_not_authorised():
    """eb-target-connection-states: a connection being re-authorised keeps its routing."""
    observed = replace(SYNCED, connection=replace(SYNCED.connection, state="AUTHORIZING"))
    assert not waits_for_connection(PUSH, observed)
    assert plan_environment(PUSH, observed) == ()


@pytest.mark.parametrize("state, reason, expected_state, words", [
    ("CREATING", "", RoutingState.PENDING, "waiting for the connection to be authorised"),
    ("AUTHORIZING", "", RoutingState.PENDING, "(AUTHORIZING)"),
    ("DEAUTHORIZED", REFUSAL, RoutingState.ERROR, 'answered 401: {"error": "invalid_client"}'),
    ("DEAUTHORIZED", "", RoutingState.ERROR, "set them again in the console"),
])
def test_status_of_an_environment_waiting_for_its_connection(state, reason, expected_state,
                                                             words):
    """eb-target-connection-states: AUTHORIZING -> pending; DEAUTHORIZED -> error with the
    token endpoint's answer (StateReason)."""
    observed = connection_only(state, reason)
    plan = EnvironmentPlan(PUSH.name, PUSH, observed, plan_environment(PUSH, observed))
    status = applied_status(PARTNER, "prod", plan, "arn:rule/not-there", None, NOW)
    assert status.state is expected_state and words in status.reason
    assert status.rule_arn is None  # no rule exists yet


def test_status_of_live_routing_whose_connection_was_deauthorized_names_the_answer():
    """eb-target-connection-states: DEAUTHORIZED, with the StateReason of API_Connection."""
    observed = replace(SYNCED, connection=replace(SYNCED.connection, state="DEAUTHORIZED",
                                                  state_reason=REFUSAL))
    plan = EnvironmentPlan(PUSH.name, PUSH, observed, ())
    status = applied_status(PARTNER, "prod", plan, "arn:rule/x", None, NOW)
    assert status.state is RoutingState.ERROR and "invalid_client" in status.reason
    assert status.rule_arn == "arn:rule/x"  # the routing stays


@pytest.mark.parametrize("state, kind", [
    ("CREATING", RoutingTemporaryError), ("UPDATING", RoutingTemporaryError),
    ("AUTHORIZING", RoutingTemporaryError), ("DEAUTHORIZED", RoutingPermanentError),
    ("DEAUTHORIZING", RoutingPermanentError), ("FAILED_CONNECTIVITY", RoutingPermanentError),
])
def test_connection_not_ready_is_temporary_until_refused(state, kind):
    """API_Connection ConnectionState: CREATING/UPDATING/AUTHORIZING pass by themselves;
    DEAUTHORIZED needs new credentials (eb-target-connection-deauthorize)."""
    error = connection_not_ready(state, REFUSAL)
    assert type(error) is kind
    assert (REFUSAL in error.reason) is (kind is RoutingPermanentError)


def test_wording():
    assert connection_waiting_reason("AUTHORIZING") == (
        "waiting for the connection to be authorised (AUTHORIZING); the next run goes on "
        "once it is")
    assert connection_refused_reason("a\n  b" + "x" * 400).startswith(
        "the endpoint's token service refused the credentials (connection deauthorized): a b")
    cut = connection_refused_reason("x" * 1000)  # EventBridge's StateReason: up to 512
    assert "x" * 300 in cut and "x" * 301 not in cut


NEW_PUSH = EnvironmentPlan(PUSH.name, PUSH, ObservedEnvironment(PUSH.name),
                           plan_environment(PUSH, ObservedEnvironment(PUSH.name)))


@pytest.mark.parametrize("created, described, written", [
    # Authorised by the time of the one DescribeConnection: the run goes on (API key, Basic).
    ("CREATING", {"ConnectionState": "AUTHORIZED"}, True),
    ("AUTHORIZED", None, True),
])
def test_writer_goes_on_once_the_new_connection_is_authorised(created, described, written):
    """eb-target-connection: the API destination once the connection is AUTHORIZED."""
    calls: list = []
    answers = {"create_connection": {"ConnectionArn": "arn:connection/new",
                                     "ConnectionState": created}}
    if described:
        answers["describe_connection"] = described
    writer_for(calls, answers=answers).apply(NEW_PUSH)
    operations = [operation for operation, _ in calls]
    assert ("create_api_destination" in operations) is written
    assert operations.count("describe_connection") == (1 if described else 0)


def test_writer_stops_before_the_destination_while_the_connection_is_authorising():
    """eb-target-connection: no API destination while the connection is AUTHORIZING."""
    calls: list = []
    answers = {"create_connection": {"ConnectionArn": "arn:connection/new",
                                     "ConnectionState": "AUTHORIZING"},
               "describe_connection": {"ConnectionState": "AUTHORIZING"}}
    with pytest.raises(RoutingTemporaryError, match="waiting for the connection"):
        writer_for(calls, answers=answers).apply(NEW_PUSH)
    assert [operation for operation, _ in calls][-2:] == ["create_connection",
                                                          "describe_connection"]


def test_writer_reports_a_refusal_without_the_secret():
    """eb-target-connection-states: DEAUTHORIZED's StateReason, never the secret."""
    calls: list = []
    answers = {"create_connection": {"ConnectionArn": "arn:connection/new",
                                     "ConnectionState": "AUTHORIZING"},
               "describe_connection": {"ConnectionState": "DEAUTHORIZED",
                                       "StateReason": "answered 401: bad secret s3cr3t"}}
    with pytest.raises(RoutingPermanentError) as raised:
        writer_for(calls, answers=answers, secret="s3cr3t").apply(NEW_PUSH)
    assert "answered 401" in raised.value.reason and "s3cr3t" not in raised.value.reason
    assert "create_api_destination" not in [operation for operation, _ in calls]
