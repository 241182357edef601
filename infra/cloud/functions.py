"""Functions: the stage's data-plane Lambda functions (the reconciler and the console have
components of their own), their stream mappings (`spec.stream_subscriptions`: the request
log's stream -> projector and notifier), and the environment they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.config import Quotas
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.iam import arn_context
from infra.spec import StageSpec
from partners.core.constants import Env

# The functions this component builds; `Reconciler` and `Console` build the other two.
DATA_PLANE_FUNCTIONS = ("partner_api", "authorizer", "portal_api", "routing_recorder",
                        "projector", "notifier", "delivery_indexer")


def common_environment(spec: StageSpec, *, allow_insecure_endpoints: bool, quotas: Quotas,
                       topic_arns: Mapping[str, pulumi.Input[str]],
                       sms_sender_id: str | None = None) -> dict[str, pulumi.Input[str]]:
    """The variables every function of the stage gets: the spec's names plus ARNs and settings."""
    variables: dict[str, pulumi.Input[str]] = dict(spec.environment_variables())
    variables[Env.ALLOW_INSECURE_ENDPOINTS] = "true" if allow_insecure_endpoints else "false"
    variables[Env.RULE_QUOTA] = str(quotas.rules_per_bus)
    variables[Env.DESTINATION_QUOTA] = str(quotas.api_destinations)
    variables[Env.CONNECTION_QUOTA] = str(quotas.connections)
    for topic in spec.topics.values():
        variables[topic.env_var] = topic_arns[topic.logical]
    if sms_sender_id:
        variables[Env.SMS_SENDER_ID] = sms_sender_id
    return variables


@dataclass
class FunctionsArgs:
    """The functions' code and settings, and what their stream mappings and roles name.

    Their statements are `infra.roles`' (resolved for the provider's partition, region and
    account); the topics key's id is the one deploy-time id they name (the notifier's).
    """

    spec: StageSpec
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    request_events_stream_arn: pulumi.Input[str]
    topics_key_id: pulumi.Input[str]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    queue_arns: Mapping[str, pulumi.Input[str]]

    def stream_arn(self, table: str) -> pulumi.Input[str]:
        """The stream of a table that feeds a function (only the request log has one)."""
        if table != "request_events":
            raise ValueError(f"table {table!r} has no stream a function reads")
        return self.request_events_stream_arn


class Functions(pulumi.ComponentResource):
    """One `StageFunction` per data-plane entry of `spec.functions`, each with its own role."""

    functions: dict[str, StageFunction]

    def __init__(self, name: str, args: FunctionsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Functions", name, None, opts)
        self.functions = {}
        context = arn_context(args.spec, {"topics_key": args.topics_key_id})
        for logical in DATA_PLANE_FUNCTIONS:
            spec = args.spec.functions[logical]
            self.functions[logical] = StageFunction(
                f"{name}-{logical.replace('_', '-')}",
                StageFunctionArgs(
                    spec=spec,
                    code=args.code,
                    layer_arn=args.layer_arn,
                    environment=args.environment,
                    stage=args.spec,
                    context=context,
                    failure_destination_arn=args.failure_destination_arn,
                    log_retention_days=args.log_retention_days,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.stream_mappings = {}
        for subscription in args.spec.stream_subscriptions:
            function = self.functions[subscription.function]
            filter_criteria = None
            if subscription.filter_json:
                filter_criteria = aws.lambda_.EventSourceMappingFilterCriteriaArgs(filters=[
                    aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(
                        pattern=subscription.filter_json)])
            self.stream_mappings[subscription.function] = aws.lambda_.EventSourceMapping(
                f"{name}-{subscription.function}-stream",
                event_source_arn=args.stream_arn(subscription.table),
                function_name=function.function.arn,
                starting_position=subscription.starting_position,
                batch_size=subscription.batch_size,
                maximum_batching_window_in_seconds=subscription.batching_window_seconds,
                maximum_retry_attempts=subscription.retries,
                maximum_record_age_in_seconds=subscription.max_record_age_seconds,
                bisect_batch_on_function_error=subscription.bisect_on_error,
                function_response_types=["ReportBatchItemFailures"],
                filter_criteria=filter_criteria,
                destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                    on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                        destination_arn=args.queue_arns[subscription.on_failure])),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[function.policy]),
            )
        self.register_outputs({k: f.function.arn for k, f in self.functions.items()})

    def __getitem__(self, logical: str) -> StageFunction:
        return self.functions[logical]

