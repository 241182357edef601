"""The delivery log's pipeline in the Pulumi program: bus LogConfig, vended delivery to a log
group, subscription filter to the indexer (AWS documentation: eb-event-bus-logs,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-bus-logs.html;
AWS-logs-and-resource-policy,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/AWS-logs-and-resource-policy.html;
SubscriptionFilters,
https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html)."""

from __future__ import annotations

import json

import pytest

from infra.cloud.delivery_log import delivery_resource_policy
from infra.spec import StageSpec, stage_spec
from tests.infra.cloud_mocks import STACKS, StackResources, build_stack


@pytest.fixture(scope="module", params=STACKS)
def stack(request) -> StackResources:
    return build_stack(request.param)


@pytest.fixture(scope="module")
def spec(stack: StackResources) -> StageSpec:
    bus = stack.one("aws:cloudwatch/eventBus:EventBus", "bus-bus")
    return stage_spec(bus.inputs["name"].split("-")[1])


def test_the_bus_logs_every_step_with_its_detail(stack: StackResources) -> None:
    bus = stack.one("aws:cloudwatch/eventBus:EventBus", "bus-bus")
    assert bus.inputs["logConfig"] == {"level": "TRACE", "includeDetail": "FULL"}


def test_the_bus_logs_are_delivered_to_the_log_group(stack: StackResources,
                                                     spec: StageSpec) -> None:
    log = spec.delivery_log
    bus = stack.one("aws:cloudwatch/eventBus:EventBus", "bus-bus")
    [source] = stack.of_type("aws:cloudwatch/logDeliverySource:LogDeliverySource")
    assert (source.inputs["logType"], source.inputs["resourceArn"]) == ("TRACE_LOGS",
                                                                        bus.state["arn"])
    [group] = [g for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")
               if g.inputs["name"] == log.log_group]
    [destination] = stack.of_type("aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
    assert destination.inputs["deliveryDestinationConfiguration"] == {
        "destinationResourceArn": group.state["arn"]}
    [delivery] = stack.of_type("aws:cloudwatch/logDelivery:LogDelivery")
    assert delivery.inputs["deliverySourceName"] == log.delivery_source
    assert delivery.inputs["deliveryDestinationArn"] == destination.state["arn"]
    [policy] = stack.of_type("aws:cloudwatch/logResourcePolicy:LogResourcePolicy")
    statement = json.loads(policy.inputs["policyDocument"])["Statement"][0]
    assert statement["Principal"] == {"Service": "delivery.logs.amazonaws.com"}
    assert statement["Resource"].endswith(f":log-group:{log.log_group}:log-stream:*")


def test_the_subscription_feeds_the_indexer_only(stack: StackResources, spec: StageSpec) -> None:
    log = spec.delivery_log
    [subscription] = stack.of_type("aws:cloudwatch/logSubscriptionFilter:LogSubscriptionFilter")
    indexer = stack.one("aws:lambda/function:Function", "functions-delivery-indexer-function")
    assert subscription.inputs["destinationArn"] == indexer.state["arn"]
    assert subscription.inputs["filterPattern"] == log.filter_pattern
    assert subscription.inputs["logGroup"] == log.log_group
    [permission] = [p for p in stack.of_type("aws:lambda/permission:Permission")
                    if p.inputs["principal"] == "logs.amazonaws.com"]
    assert permission.inputs["function"] == indexer.state["name"]
    assert permission.inputs["sourceArn"].endswith(f":log-group:{log.log_group}:*")


def test_the_resource_policy_is_for_this_account_only() -> None:
    document = json.loads(delivery_resource_policy(stage_spec("dev").delivery_log, "111122223333",
                                                   "eu-west-1", "aws-cn"))
    condition = document["Statement"][0]["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": "111122223333"}
    assert condition["ArnLike"]["aws:SourceArn"] == "arn:aws-cn:logs:eu-west-1:111122223333:*"
