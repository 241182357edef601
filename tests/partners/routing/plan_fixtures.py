"""Shared values of the pure routing tests: partner environments, their desired state, and
what AWS shows once that state is applied."""

from __future__ import annotations

from dataclasses import replace

from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import AuthType, DeliveryMode, EndpointAuth, PartnerEnvironment
from partners.routing.desired import DesiredEnvironment, RoutingSettings, desired_environment
from partners.routing.names import rule_description
from partners.routing.observed import (
    ObservedConnection,
    ObservedDestination,
    ObservedEnvironment,
    ObservedQueue,
    ObservedRule,
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
        destination = ObservedDestination(d.name, DESTINATION_ARN_OBSERVED,
                                          d.destination.endpoint, CONNECTION_ARN, "POST",
                                          d.destination.rate_limit_per_second)
    if d.dead_letter_queue:
        queue = ObservedQueue(d.name, f"https://sqs/{d.name}", 0 if detailed else None)
    targets = tags = None
    if detailed:
        targets = tuple(t.to_aws(DESTINATION_ARN_OBSERVED) for t in d.targets)
        tags = {**d.tags(), "config-hash": d.config_hash}
    return ObservedEnvironment(d.name, rule, connection, destination, queue, (),
                               targets=targets, rule_tags=tags)
