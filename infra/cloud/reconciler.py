"""Reconciler: the function that turns partner settings into EventBridge resources, its
schedule, and the role EventBridge uses to call partner API destinations.

Its permissions (`infra.roles.control`) reach only what it owns: rules on the stage's bus,
connections, API destinations and queues whose names start with the stage's partner prefix,
the partners' endpoint secrets (`pgw/<stage>/partners/*`), the usage-plan keys of the
stage's default plan, and `iam:PassRole` for the delivery role alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.iam import StageRole, arn_context
from infra.spec import StageSpec
from partners.core.constants import Env

# The schedule's full run: no `partner_id` means every partner (the console's trigger names
# one partner). A missed run is not retried: the next one comes within minutes.
SCHEDULED_INPUT = {"source": "schedule"}
# The deep run also reads every rule's targets and tags and every connection's details, for
# drift that list pages do not show (handlers/reconciler.py).
DEEP_SCHEDULED_INPUT = {"source": "schedule", "resync": "deep"}


@dataclass
class ReconcilerArgs:
    """The stage, where it runs, the function's settings and what it wires partners to."""

    spec: StageSpec
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    routing_recorder_arn: pulumi.Input[str]
    routing_dlq_arn: pulumi.Input[str]
    usage_plan_id: pulumi.Input[str]
    # The stage's topics key (its endpoint alerts publish to the encrypted topic).
    topics_key_id: pulumi.Input[str]
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
        # Statements: infra.roles (reconciler, partner_delivery, reconcile_scheduler); they
        # name the usage plan and the topics key, ids AWS assigns at deploy time.
        context = arn_context(spec, {"usage_plan": args.usage_plan_id,
                                     "topics_key": args.topics_key_id})

        # EventBridge assumes this role to call partners' API destinations, and only those.
        self.delivery = StageRole(f"{name}-delivery", "partner_delivery", spec, context, child)
        self.delivery_role = self.delivery.role
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
                stage=spec,
                context=context,
                failure_destination_arn=args.failure_destination_arn,
                log_retention_days=args.log_retention_days,
            ),
            opts=child)

        scheduler = StageRole(f"{name}-scheduler", "reconcile_scheduler", spec, context, child)
        scheduler_role = scheduler.role

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

