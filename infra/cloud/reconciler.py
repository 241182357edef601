"""Reconciler: the function that turns partner settings into EventBridge resources, its
schedule, and the role EventBridge uses to call partner API destinations.

Its permissions reach only what it owns: rules on the stage's bus, connections, API
destinations and queues whose names start with the stage's partner prefix, the partners'
endpoint secrets (`pgw/<stage>/partners/*`), the usage-plan keys of the stage's default
plan, and `iam:PassRole` for the delivery role alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.documents import Statement, StatementInput, assume_role_policy, render, statement
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.permissions import table_statements
from infra.spec import StageSpec
from partners.core.constants import Env

# The schedule's full run: no `partner_id` means every partner (the console's trigger names
# one partner). A missed run is not retried: the next one comes within minutes.
SCHEDULED_INPUT = {"source": "schedule"}
# The deep run also reads every rule's targets and tags and every connection's details, for
# drift that list pages do not show (handlers/reconciler.py).
DEEP_SCHEDULED_INPUT = {"source": "schedule", "resync": "deep"}

RULE_ACTIONS = ("events:PutRule", "events:DeleteRule", "events:DescribeRule",
                "events:EnableRule", "events:DisableRule", "events:PutTargets",
                "events:RemoveTargets", "events:ListTargetsByRule", "events:TagResource",
                "events:UntagResource", "events:ListTagsForResource")
CONNECTION_ACTIONS = ("events:CreateConnection", "events:UpdateConnection",
                      "events:DeleteConnection", "events:DescribeConnection",
                      "events:DeauthorizeConnection")
DESTINATION_ACTIONS = ("events:CreateApiDestination", "events:UpdateApiDestination",
                       "events:DeleteApiDestination", "events:DescribeApiDestination")
QUEUE_ACTIONS = ("sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes",
                 "sqs:SetQueueAttributes", "sqs:GetQueueUrl", "sqs:TagQueue",
                 "sqs:ListQueueTags")
# EventBridge keeps a connection's credentials in a secret named `events!connection/<name>/..`
# that it creates with the caller's permissions.
CONNECTION_SECRET_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:UpdateSecret",
                             "secretsmanager:DescribeSecret", "secretsmanager:DeleteSecret",
                             "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue")
USAGE_KEY_ACTIONS = ("apigateway:GET", "apigateway:POST", "apigateway:PATCH",
                     "apigateway:DELETE")


@dataclass(frozen=True)
class ReconcilerScope:
    """The ARNs (with wildcards) of everything the reconciler may manage."""

    rules: str
    connections: str
    destinations: str
    queues: str
    endpoint_secrets: str
    connection_secrets: str
    api_keys: tuple[str, ...]
    tags: str


def reconciler_scope(spec: StageSpec, region: str, account_id: str,
                     usage_plan_id: str) -> ReconcilerScope:
    """The prefixed resources of `spec`'s partners in one account and region."""
    prefix = spec.partner_resource_prefix
    events = f"arn:aws:events:{region}:{account_id}"
    gateway = f"arn:aws:apigateway:{region}::"
    return ReconcilerScope(
        rules=f"{events}:rule/{spec.bus_name}/{prefix}*",
        connections=f"{events}:connection/{prefix}*",
        destinations=f"{events}:api-destination/{prefix}*",
        queues=f"arn:aws:sqs:{region}:{account_id}:{prefix}*",
        endpoint_secrets=f"arn:aws:secretsmanager:{region}:{account_id}:secret:"
                         f"{spec.secret_prefix}*",
        connection_secrets=f"arn:aws:secretsmanager:{region}:{account_id}:secret:"
                           f"events!connection/{prefix}*",
        api_keys=(f"{gateway}/apikeys", f"{gateway}/apikeys/*",
                  f"{gateway}/usageplans/{usage_plan_id}/keys",
                  f"{gateway}/usageplans/{usage_plan_id}/keys/*"),
        tags=f"{gateway}/tags/*",
    )


def scope_statements(scope: ReconcilerScope) -> list[Statement]:
    """The reconciler's EventBridge, SQS, Secrets Manager and usage-key statements."""
    return [
        statement(list(RULE_ACTIONS), scope.rules, sid="PartnerRules"),
        statement(list(CONNECTION_ACTIONS), scope.connections, sid="PartnerConnections"),
        statement(list(DESTINATION_ACTIONS), scope.destinations, sid="PartnerDestinations"),
        # List actions have no resource types in EventBridge and SQS (documents.py).
        statement(["events:ListRules", "events:ListConnections", "events:ListApiDestinations",
                   "sqs:ListQueues"], "*", sid="FindOwnedResources"),
        statement(list(QUEUE_ACTIONS), scope.queues, sid="PartnerDeadLetterQueues"),
        statement(["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                  scope.endpoint_secrets, sid="ReadEndpointCredentials"),
        # Credential versions go into the config hash; ListSecrets has no resource types.
        statement("secretsmanager:ListSecrets", "*", sid="FindEndpointCredentials"),
        statement(list(CONNECTION_SECRET_ACTIONS), scope.connection_secrets,
                  sid="ConnectionSecrets"),
        statement(list(USAGE_KEY_ACTIONS), list(scope.api_keys), sid="UsagePlanKeys"),
        # Usage keys are created with their ownership tags (tag-on-create).
        statement(["apigateway:PUT", "apigateway:DELETE"], scope.tags, sid="UsageKeyTags"),
    ]


@dataclass
class ReconcilerArgs:
    """The stage, where it runs, the function's settings and what it wires partners to."""

    spec: StageSpec
    region: str
    account_id: pulumi.Input[str]
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    table_arns: Mapping[str, pulumi.Input[str]]
    bus_arn: pulumi.Input[str]
    routing_recorder_arn: pulumi.Input[str]
    routing_dlq_arn: pulumi.Input[str]
    usage_plan_id: pulumi.Input[str]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    schedule_expression: str = "rate(5 minutes)"
    deep_schedule_expression: str = "rate(1 hour)"


class Reconciler(pulumi.ComponentResource):
    """The reconciler function, its schedule and the partner delivery role."""

    delivery_role: aws.iam.Role
    function: StageFunction
    schedule: aws.scheduler.Schedule

    def __init__(self, name: str, args: ReconcilerArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Reconciler", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        scope = pulumi.Output.all(args.account_id, args.usage_plan_id).apply(
            lambda values: reconciler_scope(spec, args.region, values[0], values[1]))

        # EventBridge assumes this role to call partners' API destinations, and only those.
        self.delivery_role = aws.iam.Role(
            f"{name}-delivery-role", name=f"{spec.prefix}-partner-delivery",
            assume_role_policy=assume_role_policy("events.amazonaws.com",
                                                  source_account=args.account_id),
            opts=child)
        aws.iam.RolePolicy(
            f"{name}-delivery-policy", role=self.delivery_role.id,
            policy=render([statement("events:InvokeApiDestination",
                                     scope.apply(lambda s: s.destinations),
                                     sid="DeliverToPartners")]),
            opts=child)

        statements: list[StatementInput] = [*table_statements("reconciler", args.table_arns)]
        # The prefixed EventBridge, SQS, secret and usage-key statements (ARNs need the
        # account id and the usage plan id, hence one Output holding the list).
        statements.append(scope.apply(scope_statements))
        statements.append(statement(
            "iam:PassRole", self.delivery_role.arn, sid="PassDeliveryRole",
            condition={"StringEquals": {"iam:PassedToService": "events.amazonaws.com"}}))
        # It announces `Partner Environment Changed` when an environment's routing changes.
        statements.append(statement("events:PutEvents", args.bus_arn, sid="PartnerEvents"))
        environment = {
            **args.environment,
            Env.ROUTING_RECORDER_ARN: args.routing_recorder_arn,
            Env.ROUTING_DLQ_ARN: args.routing_dlq_arn,
            Env.DELIVERY_ROLE_ARN: self.delivery_role.arn,
            Env.USAGE_PLAN_ID: args.usage_plan_id,
        }
        self.function = StageFunction(
            f"{name}-function",
            StageFunctionArgs(
                spec=spec.functions["reconciler"],
                code=args.code,
                layer_arn=args.layer_arn,
                environment=environment,
                statements=statements,
                account_id=args.account_id,
                failure_destination_arn=args.failure_destination_arn,
                log_retention_days=args.log_retention_days,
            ),
            opts=child)

        scheduler_role = aws.iam.Role(
            f"{name}-scheduler-role",
            assume_role_policy=assume_role_policy("scheduler.amazonaws.com",
                                                  source_account=args.account_id),
            opts=child)
        aws.iam.RolePolicy(
            f"{name}-scheduler-policy", role=scheduler_role.id,
            policy=render([
                statement("lambda:InvokeFunction", self.function.arn, sid="RunReconciler"),
                statement("sqs:SendMessage", args.failure_destination_arn, sid="MissedRuns"),
            ]),
            opts=child)

        def schedule(key: str, expression: str, payload: dict[str, str],
                     description: str) -> aws.scheduler.Schedule:
            return aws.scheduler.Schedule(
                f"{name}-{key}", name=f"{spec.prefix}-{key}", description=description,
                schedule_expression=expression,
                flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
                target=aws.scheduler.ScheduleTargetArgs(
                    arn=self.function.arn,
                    role_arn=scheduler_role.arn,
                    input=json.dumps(payload),
                    retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                        maximum_retry_attempts=0, maximum_event_age_in_seconds=300),
                    dead_letter_config=aws.scheduler.ScheduleTargetDeadLetterConfigArgs(
                        arn=args.failure_destination_arn),
                ),
                opts=child)

        self.schedule = schedule(
            "reconcile-all", args.schedule_expression, SCHEDULED_INPUT,
            "Full reconcile of every partner (repairs drift and half-done runs)")
        self.deep_schedule = schedule(
            "reconcile-deep", args.deep_schedule_expression, DEEP_SCHEDULED_INPUT,
            "Deep reconcile: also reads targets, tags and connection details")
        self.register_outputs({"function": self.function.arn,
                               "delivery_role": self.delivery_role.arn})

