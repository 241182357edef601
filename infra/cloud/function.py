"""StageFunction: one Lambda function with its own role, log group and failure destination.

Every function of the stage is built here, so every one gets the same guarantees: a role
trusted only by Lambda in this account, a policy written for what the function does (its
role's statements in `infra.roles`), a log group with retention created before the function
(so Lambda never creates one without it), JSON logs, active tracing, the Powertools layer,
and an on-failure destination for asynchronous invocations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.iam import StageRole
from infra.roles import ArnContext
from infra.spec import REQUEST_PATH_TAG, FunctionSpec, StageSpec

RUNTIME = "python3.12"
ARCHITECTURE = "x86_64"
METRICS_NAMESPACE = "PartnerEventGateway"
# Asynchronous invocations (EventBridge, Scheduler, the console's reconcile trigger): two
# retries, then the event goes to the stage's async-failures queue, never silently dropped.
ASYNC_RETRIES = 2
ASYNC_MAX_EVENT_AGE_SECONDS = 6 * 3600
# Request-path functions (`FunctionSpec.snap_start`) are invoked through this alias of their
# latest published version: SnapStart snapshots published versions only, never $LATEST
# (https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html).
LIVE_ALIAS = "live"


@dataclass
class StageFunctionArgs:
    """The function spec, code, layer, environment, where its role's statements resolve
    (`infra.roles`, the role named as the function) and log retention."""

    spec: FunctionSpec
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    stage: StageSpec
    context: pulumi.Output[ArnContext]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    reserved_concurrency: int | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


class StageFunction(pulumi.ComponentResource):
    """A Lambda function, its role and inline policy, log group and async failure handling."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    policy: aws.iam.RolePolicy
    # The published version's alias callers invoke (request-path functions only).
    alias: aws.lambda_.Alias | None

    def __init__(self, name: str, args: StageFunctionArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:StageFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=f"/aws/lambda/{spec.name}",
            retention_in_days=args.log_retention_days, opts=child)
        # The role and its statements are `infra.roles`' (the same the embedded stack
        # authorises the function's calls against): its own log group, X-Ray, its failure
        # destination, and what the function does.
        stage_role = StageRole(name, spec.logical, args.stage, args.context, child)
        self.role = stage_role.role
        assert stage_role.policy is not None
        self.policy = stage_role.policy
        environment: dict[str, Any] = {
            "POWERTOOLS_SERVICE_NAME": spec.logical,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **args.environment,
        }
        self.function = aws.lambda_.Function(
            f"{name}-function",
            name=spec.name,
            role=self.role.arn,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=spec.handler,
            code=args.code,
            layers=[args.layer_arn],
            timeout=spec.timeout_seconds,
            memory_size=spec.memory_mb,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=environment),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="JSON", log_group=self.log_group.name),
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            # Each deployment publishes a version; Lambda initialises it once and restores
            # new execution environments from that snapshot (handlers/snapshots.py holds the
            # runtime hooks).
            publish=spec.snap_start,
            snap_start=(aws.lambda_.FunctionSnapStartArgs(apply_on="PublishedVersions")
                        if spec.snap_start else None),
            tags={**args.tags, **({REQUEST_PATH_TAG: "true"} if spec.snap_start else {})},
            # The policy first: a function that starts before its permissions fails its
            # first invocations with AccessDenied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.log_group, self.policy]),
        )
        self.async_config = aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=self.function.name,
            maximum_retry_attempts=ASYNC_RETRIES,
            maximum_event_age_in_seconds=ASYNC_MAX_EVENT_AGE_SECONDS,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=args.failure_destination_arn)),
            opts=child)
        self.alias = aws.lambda_.Alias(
            f"{name}-alias", name=LIVE_ALIAS, function_name=self.function.name,
            function_version=self.function.version, opts=child) if spec.snap_start else None
        self.register_outputs({"name": self.function.name, "arn": self.function.arn})

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.function.arn

    @property
    def entry_arn(self) -> pulumi.Output[str]:
        """What callers invoke: the live alias of a request-path function, else the function."""
        return self.alias.arn if self.alias else self.function.arn

    @property
    def invoke_arn(self) -> pulumi.Output[str]:
        """The API Gateway integration URI of `entry_arn`."""
        return self.alias.invoke_arn if self.alias else self.function.invoke_arn

    @property
    def qualifier(self) -> pulumi.Output[str] | None:
        """The alias name a resource policy statement must name, or None (unqualified)."""
        return self.alias.name if self.alias else None

    @property
    def name_output(self) -> pulumi.Output[str]:
        return self.function.name

