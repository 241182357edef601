"""Desired state: what a partner environment's routing should be, as tables."""

from __future__ import annotations

import json

import pytest

from partners.onboarding.filters import Condition, Operator, RequestFilter
from partners.onboarding.models import AuthType, DeliveryMode, EndpointAuth, RetryPolicy
from partners.routing.desired import TargetSpec, connection_identity, routing_template
from partners.routing.exceptions import RoutingPermanentError
from partners.routing.names import DESTINATION_ARN
from tests.partners.routing.plan_fixtures import (
    DESTINATION_ARN_OBSERVED,
    PARTNER,
    PREFIX,
    RECORDER,
    SECRET_ARN,
    VERSIONS,
    desired,
    poll,
    push,
)


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
    template = routing_template("p1", "test", DeliveryMode.POLL)
    text = template.replace("<aws.events.event.json>", "{}")
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


@pytest.mark.parametrize("auth", [
    EndpointAuth(type=AuthType.API_KEY, header_name="X-Key", secret_arn=SECRET_ARN),
    EndpointAuth(type=AuthType.BASIC, username="u", secret_arn=SECRET_ARN),
    EndpointAuth(type=AuthType.OAUTH_CLIENT_CREDENTIALS, token_url="https://id.example/token",
                 client_id="cid", secret_arn=SECRET_ARN),
])
def test_connection_identity_reads_back_what_was_written(auth):
    """`DescribeConnection` shows the request's public half: the same identity comes back."""
    spec = desired(push(auth=auth)).connection
    described = {"AuthorizationType": spec.auth_type.value,
                 "AuthParameters": spec.auth_parameters("never-shown")}
    assert connection_identity(described) == spec.identity
