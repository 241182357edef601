"""Console: the Flask console as a Lambda function behind an HTTP API.

The session secret comes from a Pulumi secret (`consoleSessionSecret`) into the variable the
console reads (`FLASK_SECRET_KEY`): encrypted in the Pulumi state and at rest in Lambda, never
in the repository. The console writes partners' endpoint credentials but never reads them
back (the reconciler does), and redrives only the partners' own dead-letter queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.apis import ACCESS_LOG_FORMAT, api_gateway_permission
from infra.cloud.documents import StatementInput, statement
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.permissions import table_statements
from infra.spec import StageSpec
from partners.core.constants import Env

SESSION_SECRET_VARIABLE = "FLASK_SECRET_KEY"
COGNITO_ACTIONS = ("cognito-idp:DescribeUserPool", "cognito-idp:AdminGetUser",
                   "cognito-idp:AdminCreateUser", "cognito-idp:AdminAddUserToGroup",
                   "cognito-idp:AdminRemoveUserFromGroup", "cognito-idp:AdminListGroupsForUser",
                   "cognito-idp:AdminDisableUser", "cognito-idp:AdminEnableUser",
                   "cognito-idp:AdminUserGlobalSignOut", "cognito-idp:ListUsers",
                   "cognito-idp:ListUsersInGroup")
SECRET_WRITE_ACTIONS = ("secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
                        "secretsmanager:PutSecretValue", "secretsmanager:RestoreSecret",
                        "secretsmanager:DeleteSecret", "secretsmanager:TagResource")
DLQ_ACTIONS = ("sqs:GetQueueUrl", "sqs:GetQueueAttributes", "sqs:ReceiveMessage",
               "sqs:ChangeMessageVisibility", "sqs:DeleteMessage")


@dataclass
class ConsoleArgs:
    """The console function's settings and everything it reaches."""

    spec: StageSpec
    region: str
    account_id: pulumi.Input[str]
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    session_secret: pulumi.Input[str]
    table_arns: Mapping[str, pulumi.Input[str]]
    bus_arn: pulumi.Input[str]
    user_pool_arn: pulumi.Input[str]
    user_pool_id: pulumi.Input[str]
    user_pool_client_id: pulumi.Input[str]
    reconciler_arn: pulumi.Input[str]
    usage_plan_id: pulumi.Input[str]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    rate_limit: float
    burst_limit: int
    # The partner REST API and its stage: the console empties their authorizer cache when it
    # revokes or rotates a token or suspends a partner (console/authorizer_cache.py).
    partner_api_id: pulumi.Input[str] | None = None
    partner_api_stage: pulumi.Input[str] | None = None


def console_statements(args: ConsoleArgs) -> list[StatementInput]:
    """What the console does: registry, tokens, audit; Cognito users; the reconcile trigger;
    partners' endpoint secrets (write only); partners' DLQs; test events; usage figures; the
    partner API's authorizer cache (flushed on revoke, rotate and suspend)."""
    spec = args.spec
    account = pulumi.Output.from_input(args.account_id)
    secrets = account.apply(lambda a: f"arn:aws:secretsmanager:{args.region}:{a}:secret:"
                                      f"{spec.secret_prefix}*")
    queues = account.apply(lambda a: f"arn:aws:sqs:{args.region}:{a}:"
                                     f"{spec.partner_resource_prefix}*")
    plan = pulumi.Output.from_input(args.usage_plan_id)
    gateway = f"arn:aws:apigateway:{args.region}::"
    usage = [pulumi.Output.concat(gateway, "/usageplans/", plan),
             pulumi.Output.concat(gateway, "/usageplans/", plan, "/*"),
             f"{gateway}/apikeys", f"{gateway}/apikeys/*"]
    return [
        *table_statements("console", args.table_arns),
        statement(list(COGNITO_ACTIONS), args.user_pool_arn, sid="ConsoleUsers"),
        statement("lambda:InvokeFunction", args.reconciler_arn, sid="TriggerReconcile"),
        statement(list(SECRET_WRITE_ACTIONS), secrets, sid="WriteEndpointCredentials"),
        statement(list(DLQ_ACTIONS), queues, sid="RedrivePartnerDeadLetters"),
        statement("events:PutEvents", args.bus_arn, sid="TestEventsAndRedrives"),
        # The admin's endpoint check calls the endpoint with its configured credentials.
        statement("secretsmanager:GetSecretValue", secrets, sid="EndpointCheck"),
        # The filter preview and the quota page; neither action has resource types.
        statement(["events:TestEventPattern", "events:ListRules", "events:ListConnections",
                   "events:ListApiDestinations"], "*", sid="FilterPreviewAndQuotas"),
        statement("apigateway:GET", usage, sid="UsageFigures"),
        # Delivery health charts; metric reads have no resource types (documents.py).
        statement("cloudwatch:GetMetricData", "*", sid="DeliveryHealth"),
        *authorizer_cache_statements(args),
    ]


def authorizer_cache_statements(args: ConsoleArgs) -> list[StatementInput]:
    """FlushStageAuthorizersCache (`DELETE /restapis/{id}/stages/{stage}/cache/authorizers`)
    on the partner API's stage, and nothing else of the API."""
    if args.partner_api_id is None or args.partner_api_stage is None:
        return []
    cache = pulumi.Output.concat(f"arn:aws:apigateway:{args.region}::/restapis/",
                                 args.partner_api_id, "/stages/", args.partner_api_stage,
                                 "/cache/authorizers")
    return [statement("apigateway:DELETE", cache, sid="FlushAuthorizerCache")]


class Console(pulumi.ComponentResource):
    """The console function, its HTTP API ($default route and stage), access logs, limits."""

    function: StageFunction
    api: aws.apigatewayv2.Api

    def __init__(self, name: str, args: ConsoleArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Console", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        spec = args.spec
        environment = {
            **args.environment,
            Env.USER_POOL_ID: args.user_pool_id,
            Env.USER_POOL_CLIENT_ID: args.user_pool_client_id,
            Env.USAGE_PLAN_ID: args.usage_plan_id,
            **({Env.PARTNER_API_ID: args.partner_api_id,
                Env.PARTNER_API_STAGE: args.partner_api_stage}
               if args.partner_api_id is not None and args.partner_api_stage is not None
               else {}),
            SESSION_SECRET_VARIABLE: pulumi.Output.secret(args.session_secret),
        }
        self.function = StageFunction(
            f"{name}-function",
            StageFunctionArgs(
                spec=spec.functions["console"],
                code=args.code,
                layer_arn=args.layer_arn,
                environment=environment,
                statements=console_statements(args),
                account_id=args.account_id,
                failure_destination_arn=args.failure_destination_arn,
                log_retention_days=args.log_retention_days,
            ),
            opts=child)
        api_name = f"{spec.prefix}-console"
        self.api = aws.apigatewayv2.Api(f"{name}-api", name=api_name, protocol_type="HTTP",
                                        opts=child)
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-integration", api_id=self.api.id, integration_type="AWS_PROXY",
            integration_uri=self.function.arn, integration_method="POST",
            payload_format_version="2.0", timeout_milliseconds=29_000, opts=child)
        self.route = aws.apigatewayv2.Route(
            f"{name}-route", api_id=self.api.id, route_key="$default",
            target=pulumi.Output.concat("integrations/", self.integration.id), opts=child)
        self.permission = api_gateway_permission(
            f"{name}-permission", self.function.function.name, self.api.execution_arn, "/*/*",
            child)
        self.access_logs = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", name=f"/aws/apigateway/{api_name}",
            retention_in_days=args.log_retention_days, opts=child)
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage", api_id=self.api.id, name="$default", auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn,
                format=json.dumps(json.loads(ACCESS_LOG_FORMAT) | {
                    "principal": "$context.authorizer.principalId",
                    "method": "$context.httpMethod", "resource": "$context.routeKey"},
                    separators=(",", ":"))),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.rate_limit,
                throttling_burst_limit=args.burst_limit,
                detailed_metrics_enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]))
        self.url = self.stage.invoke_url
        self.register_outputs({"url": self.url})
