"""The stage's functions and subscriptions in moto, as the Pulumi program creates them on AWS.

`provision_stage` creates the stage's data resources; this module adds what connects them,
with the names and shapes of `infra/cloud` so the local runtime can run them:

- one Lambda function per `FunctionSpec` (moto stores it; the runtime runs its handler
  in-process), every one with the stage's environment variables;
- the stream mappings of `spec.stream_subscriptions`: the request log's stream -> the
  projector and the notifier (`infra/cloud/functions.py`);
- `{prefix}-reconcile-all`: the reconciler's full run on a schedule (`infra/cloud/
  reconciler.py` uses EventBridge Scheduler; the local runtime fires scheduled rules, so the
  same schedule and input are a rule on the default bus here);
- the role EventBridge assumes for partner deliveries (`PGW_DELIVERY_ROLE_ARN`).

The portal callback rule needs a portal webhook, which the embedded stack does not have.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any, Mapping

import boto3
from botocore.exceptions import ClientError

from infra.local.provision import ProvisionedStage
from infra.spec import StageSpec, StreamSubscriptionSpec
from partners.core.aws import client, error_code
from partners.core.constants import Env

ACCOUNT_ID = "123456789012"
PYTHON_RUNTIME = "python3.12"
RECONCILE_SCHEDULE = "rate(5 minutes)"
SCHEDULED_INPUT = {"source": "schedule"}

_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                   "Principal": {"Service": ["lambda.amazonaws.com", "events.amazonaws.com"]}}],
}


def function_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"


def _role(iam: Any, name: str) -> str:
    try:
        return str(iam.create_role(RoleName=name,
                                   AssumeRolePolicyDocument=json.dumps(_TRUST))["Role"]["Arn"])
    except ClientError as error:
        if error_code(error) != "EntityAlreadyExists":
            raise
        return str(iam.get_role(RoleName=name)["Role"]["Arn"])


def _code_archive() -> bytes:
    # moto keeps the archive but never runs it (the runtime imports the handler instead);
    # the archive still names the package, as the real one would.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handlers/__init__.py", "")
    return buffer.getvalue()


def wiring_environment(spec: StageSpec, stage: ProvisionedStage, region: str) -> dict[str, str]:
    """The variables that name the wiring (function ARNs, queues, roles)."""
    return {
        Env.ROUTING_RECORDER_ARN: function_arn(region, spec.function_name("routing_recorder")),
        Env.ROUTING_DLQ_ARN: stage.queue_arns.get("routing_dlq", ""),
        Env.DELIVERY_ROLE_ARN: f"arn:aws:iam::{ACCOUNT_ID}:role/{spec.prefix}-partner-delivery",
    }


def wire_stage(spec: StageSpec, stage: ProvisionedStage, environment: Mapping[str, str], *,
               session: boto3.session.Session | None = None, region: str = "us-east-1") -> None:
    """Create the stage's functions, stream mappings and reconcile schedule.

    `environment` is what every function gets (the stage's variables, ARNs included).
    Idempotent: what exists is updated to the same settings or left alone.
    """
    iam = client("iam", session)
    lambda_role = _role(iam, f"{spec.prefix}-functions")
    _role(iam, f"{spec.prefix}-partner-delivery")
    lambdas = client("lambda", session)
    archive = _code_archive()
    variables = {k: v for k, v in environment.items() if v}
    for function in spec.functions.values():
        settings = dict(Role=lambda_role, Handler=function.handler, Runtime=PYTHON_RUNTIME,
                        Timeout=function.timeout_seconds, MemorySize=function.memory_mb,
                        Environment={"Variables": variables})
        try:
            lambdas.create_function(FunctionName=function.name, Code={"ZipFile": archive},
                                    **settings)
        except ClientError as error:
            if error_code(error) != "ResourceConflictException":
                raise
            lambdas.update_function_configuration(FunctionName=function.name, **settings)
    for subscription in spec.stream_subscriptions:
        _subscribe(lambdas, spec, stage, subscription)
    events = client("events", session)
    schedule = f"{spec.prefix}-reconcile-all"
    events.put_rule(Name=schedule, ScheduleExpression=RECONCILE_SCHEDULE,
                    Description="Full reconcile of every partner (repairs drift and half-done runs)")
    events.put_targets(Rule=schedule, Targets=[{
        "Id": "reconciler", "Arn": function_arn(region, spec.function_name("reconciler")),
        "Input": json.dumps(SCHEDULED_INPUT),
        "RetryPolicy": {"MaximumEventAgeInSeconds": 300, "MaximumRetryAttempts": 0},
        "DeadLetterConfig": {"Arn": stage.queue_arns["async_failures"]}}])


def _subscribe(lambdas: Any, spec: StageSpec, stage: ProvisionedStage,
               subscription: StreamSubscriptionSpec) -> None:
    """One stream mapping of `spec.stream_subscriptions`, unless the function has it already."""
    function = spec.function_name(subscription.function)
    stream_arn = stage.stream_arns.get(subscription.table)
    mappings = lambdas.list_event_source_mappings(FunctionName=function)["EventSourceMappings"]
    if not stream_arn or any(m.get("EventSourceArn") == stream_arn for m in mappings):
        return
    settings: dict[str, Any] = dict(
        EventSourceArn=stream_arn, FunctionName=function,
        StartingPosition=subscription.starting_position, BatchSize=subscription.batch_size,
        MaximumBatchingWindowInSeconds=subscription.batching_window_seconds,
        MaximumRetryAttempts=subscription.retries,
        MaximumRecordAgeInSeconds=subscription.max_record_age_seconds,
        BisectBatchOnFunctionError=subscription.bisect_on_error,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        DestinationConfig={"OnFailure": {
            "Destination": stage.queue_arns[subscription.on_failure]}})
    if subscription.filter_json:
        settings["FilterCriteria"] = {"Filters": [{"Pattern": subscription.filter_json}]}
    lambdas.create_event_source_mapping(**settings)
