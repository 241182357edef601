"""PartnerApi and PortalApi: the two REST APIs of the stage, with stages, logs and limits."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pulumi
import pulumi_aws as aws

from infra.cloud.config import UsageTier
from infra.cloud.function import StageFunction
from infra.cloud.iam import arn_context, role_policy_json
from infra.cloud.openapi import Route, partner_api_body, portal_api_body
from infra.spec import StageSpec

# One JSON line per request; never a header or a body (tokens and personal data stay out).
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.caller",
    "principal": "$context.authorizer.principalId",
    "method": "$context.httpMethod",
    "resource": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationStatus": "$context.integration.status",
    "error": "$context.error.responseType",
}, separators=(",", ":"))


@dataclass
class RestApiStageArgs:
    """What every REST API stage gets: throttling, access-log retention, its stage name."""

    stage_name: str
    rate_limit: float
    burst_limit: int
    log_retention_days: int


def regional_rest_api(resource_name: str, api_name: str, body: pulumi.Input[str],
                      opts: pulumi.ResourceOptions, **extra: Any) -> aws.apigateway.RestApi:
    """A regional REST API imported from an OpenAPI body."""
    return aws.apigateway.RestApi(
        resource_name,
        name=api_name,
        body=body,
        # API Gateway warns about JSON Schema keywords its models ignore (`format`, ...);
        # a real problem in the definition is an error and still fails the import.
        fail_on_warnings=False,
        endpoint_configuration=aws.apigateway.RestApiEndpointConfigurationArgs(types="REGIONAL"),
        opts=opts,
        **extra)


def api_gateway_permission(resource_name: str, function: StageFunction,
                           execution_arn: pulumi.Input[str], path: str,
                           opts: pulumi.ResourceOptions) -> aws.lambda_.Permission:
    """Let API Gateway invoke a function (its live alias, for a request-path function) for
    the calls under `path` of an API."""
    return aws.lambda_.Permission(
        resource_name, action="lambda:InvokeFunction", function=function.function.name,
        qualifier=function.qualifier, principal="apigateway.amazonaws.com",
        source_arn=pulumi.Output.concat(execution_arn, path), opts=opts)


def _body_hash(body: str) -> str:
    return hashlib.sha256(body.encode()).hexdigest()


class _RestApiParts:
    """Deployment, access-logged stage and method settings of a REST API (shared helper)."""

    def __init__(self, owner: pulumi.ComponentResource, name: str, api: aws.apigateway.RestApi,
                 body: pulumi.Output[str], args: RestApiStageArgs, log_name: str,
                 depends_on: Sequence[pulumi.Resource]) -> None:
        child = pulumi.ResourceOptions(parent=owner)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", name=f"/aws/apigateway/{log_name}",
            retention_in_days=args.log_retention_days, opts=child)
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=api.id,
            # A new deployment whenever the definition changes, never a stale stage.
            triggers={"body": body.apply(_body_hash)},
            opts=pulumi.ResourceOptions(parent=owner, depends_on=list(depends_on)))
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=api.id,
            deployment=self.deployment.id,
            stage_name=args.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=aws.apigateway.StageAccessLogSettingsArgs(
                destination_arn=self.log_group.arn, format=ACCESS_LOG_FORMAT),
            opts=child)
        self.method_settings = aws.apigateway.MethodSettings(
            f"{name}-method-settings",
            rest_api=api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=aws.apigateway.MethodSettingsSettingsArgs(
                metrics_enabled=True,
                logging_level="OFF",
                throttling_rate_limit=args.rate_limit,
                throttling_burst_limit=args.burst_limit,
            ),
            opts=child)


@dataclass
class PartnerApiArgs:
    """Routes, the two functions behind them, the usage tiers and the stage's limits."""

    spec: StageSpec
    routes: Sequence[Route]
    handler: StageFunction
    authorizer: StageFunction
    usage_tiers: Sequence[UsageTier]
    default_tier: str
    stage: RestApiStageArgs
    components: Mapping[str, Any] | None = None
    depends_on: Sequence[pulumi.Resource] = ()


class PartnerApi(pulumi.ComponentResource):
    """The partner REST API: token authorizer, request validation, usage plans per tier."""

    api: aws.apigateway.RestApi
    usage_plans: dict[str, aws.apigateway.UsagePlan]

    def __init__(self, name: str, args: PartnerApiArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:PartnerApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        api_name = f"{spec.prefix}-partner-api"
        self.body = pulumi.Output.all(args.handler.invoke_arn, args.authorizer.invoke_arn).apply(
            lambda arns: json.dumps(partner_api_body(
                args.routes, title=api_name, handler_invoke_arn=arns[0],
                authorizer_invoke_arn=arns[1], components=args.components), sort_keys=True))
        self.api = regional_rest_api(f"{name}-api", api_name, self.body, child,
                                     api_key_source="AUTHORIZER")
        self.handler_permission = api_gateway_permission(
            f"{name}-handler-permission", args.handler, self.api.execution_arn, "/*/*",
            child)
        self.authorizer_permission = api_gateway_permission(
            f"{name}-authorizer-permission", args.authorizer, self.api.execution_arn,
            "/authorizers/*", child)
        parts = _RestApiParts(self, name, self.api, self.body, args.stage, api_name,
                              [*args.depends_on, self.handler_permission,
                               self.authorizer_permission])
        self.stage = parts.stage
        self.access_logs = parts.log_group
        self.usage_plans = {}
        for tier in args.usage_tiers:
            # The default tier's plan carries the spec's name: the reconciler attaches every
            # new partner key to it (env PGW_USAGE_PLAN_ID); an admin moves a key to another.
            plan_name = (spec.usage_plan_name if tier.name == args.default_tier
                         else f"{spec.usage_plan_name}-{tier.name}")
            self.usage_plans[tier.name] = aws.apigateway.UsagePlan(
                f"{name}-plan-{tier.name}",
                name=plan_name,
                description=f"Partner usage tier {tier.name}",
                api_stages=[aws.apigateway.UsagePlanApiStageArgs(
                    api_id=self.api.id, stage=self.stage.stage_name)],
                throttle_settings=aws.apigateway.UsagePlanThrottleSettingsArgs(
                    rate_limit=tier.rate_limit, burst_limit=tier.burst_limit),
                quota_settings=aws.apigateway.UsagePlanQuotaSettingsArgs(
                    limit=tier.quota_per_day, period="DAY"),
                opts=child)
        self.default_usage_plan = self.usage_plans[args.default_tier]
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url,
                               "usage_plans": {k: p.id for k, p in self.usage_plans.items()}})


@dataclass
class PortalApiArgs:
    """The portal function and the stage's limits."""

    spec: StageSpec
    handler: StageFunction
    stage: RestApiStageArgs
    depends_on: Sequence[pulumi.Resource] = ()


class PortalApi(pulumi.ComponentResource):
    """The user portal's intake and contacts API, IAM-authorised (SigV4), plus the managed
    policy the portal's own role attaches to be allowed to call it."""

    api: aws.apigateway.RestApi
    invoke_policy: aws.iam.Policy

    def __init__(self, name: str, args: PortalApiArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:PortalApi", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        api_name = f"{args.spec.prefix}-portal-api"
        self.body = args.handler.invoke_arn.apply(lambda arn: json.dumps(
            portal_api_body(title=api_name, handler_invoke_arn=arn), sort_keys=True))
        self.api = regional_rest_api(f"{name}-api", api_name, self.body, child)
        self.permission = api_gateway_permission(
            f"{name}-handler-permission", args.handler, self.api.execution_arn, "/*/*",
            child)
        parts = _RestApiParts(self, name, self.api, self.body, args.stage, api_name,
                              [*args.depends_on, self.permission])
        self.stage = parts.stage
        self.access_logs = parts.log_group
        self.invoke_policy = aws.iam.Policy(
            f"{name}-invoke-policy",
            name=f"{args.spec.prefix}-portal-invoke",
            description="Attach to the user portal's role to call the portal API",
            # infra.roles (portal_invoke): every route under /v1 of this API's stage.
            policy=role_policy_json("portal_invoke",
                                    arn_context(args.spec, {"portal_api": self.api.id})),
            opts=child)
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url, "invoke_policy_arn": self.invoke_policy.arn})
