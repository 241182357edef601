"""Console: the Flask console as a Lambda function behind an HTTP API.

The session key comes from a Pulumi secret (`consoleSessionSecret`) into a Secrets Manager
secret (infra/cloud/session_key.py) the console reads at cold start; its environment holds
only that secret's ARN (`PGW_CONSOLE_SESSION_SECRET`), never the key. Where the stage has a
`cognitoEmail` sender, the console emails invitations from it through SES
(`PGW_MAIL_SENDER`, and `ses:SendEmail` from that address alone); elsewhere the variable is
absent and the owner shares the link the console shows. Its statements
(`infra.roles.control`) let it write partners' endpoint credentials (read back only for the
admin's endpoint check; the reconciler reads them) and redrive only the partners' own
dead-letter queues.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Mapping

import pulumi
import pulumi_aws as aws

from infra.cloud.apis import ACCESS_LOG_FORMAT, api_gateway_permission
from infra.cloud.config import CognitoEmail
from infra.cloud.function import StageFunction, StageFunctionArgs
from infra.cloud.iam import arn_context
from infra.roles import MailSender
from infra.spec import StageSpec
from partners.core.constants import Env

SESSION_SECRET_VARIABLE = Env.CONSOLE_SESSION_SECRET


@dataclass
class ConsoleArgs:
    """The console function's settings and the deploy-time ids its statements name
    (`infra.roles.control`: the user pool, the usage plan, the partner API)."""

    spec: StageSpec
    code: pulumi.Archive
    layer_arn: str
    environment: Mapping[str, pulumi.Input[str]]
    session_secret: pulumi.Input[str]  # ARN of the session key's secret (not the key)
    user_pool_id: pulumi.Input[str]
    user_pool_client_id: pulumi.Input[str]
    usage_plan_id: pulumi.Input[str]
    failure_destination_arn: pulumi.Input[str]
    log_retention_days: int
    rate_limit: float
    burst_limit: int
    # The partner REST API and its stage: the console empties their authorizer cache when it
    # revokes or rotates a token or suspends a partner (console/authorizer_cache.py).
    partner_api_id: pulumi.Input[str] | None = None
    partner_api_stage: pulumi.Input[str] | None = None
    # The stage's SES sender (`cognitoEmail`): invitations are emailed from it. None: no email.
    mail: CognitoEmail | None = None


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
            SESSION_SECRET_VARIABLE: args.session_secret,
            **({Env.MAIL_SENDER: args.mail.from_address} if args.mail is not None else {}),
        }
        mail = (MailSender(args.mail.address, args.mail.ses_identity_arn)
                if args.mail is not None else None)
        ids: dict[str, pulumi.Input[str]] = {"user_pool": args.user_pool_id,
                                             "usage_plan": args.usage_plan_id}
        if args.partner_api_id is not None:
            ids["partner_api"] = args.partner_api_id
        self.function = StageFunction(
            f"{name}-function",
            StageFunctionArgs(
                spec=spec.functions["console"],
                code=args.code,
                layer_arn=args.layer_arn,
                environment=environment,
                stage=spec,
                context=arn_context(spec, ids, mail=mail),
                failure_destination_arn=args.failure_destination_arn,
                log_retention_days=args.log_retention_days,
            ),
            opts=child)
        api_name = f"{spec.prefix}-console"
        self.api = aws.apigatewayv2.Api(f"{name}-api", name=api_name, protocol_type="HTTP",
                                        opts=child)
        self.integration = aws.apigatewayv2.Integration(
            f"{name}-integration", api_id=self.api.id, integration_type="AWS_PROXY",
            integration_uri=self.function.entry_arn, integration_method="POST",
            payload_format_version="2.0", timeout_milliseconds=29_000, opts=child)
        self.route = aws.apigatewayv2.Route(
            f"{name}-route", api_id=self.api.id, route_key="$default",
            target=pulumi.Output.concat("integrations/", self.integration.id), opts=child)
        self.permission = api_gateway_permission(
            f"{name}-permission", self.function, self.api.execution_arn, "/*/*",
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
