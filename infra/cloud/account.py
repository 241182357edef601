"""AccountSettings: the account-wide settings the stage relies on.

API Gateway writes access logs with one CloudWatch role per account and region, and SNS has
one set of SMS preferences per account. Exactly one stack per account manages them
(`manageAccountSettings` in its stack file); a second stage in the same account sets it
false, or the two stacks would keep overwriting each other.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cloud.documents import assume_role_policy

# AWS's managed policy for exactly this role (log groups and streams of API Gateway).
APIGATEWAY_LOGS_POLICY = ("arn:aws:iam::aws:policy/service-role/"
                          "AmazonAPIGatewayPushToCloudWatchLogs")


@dataclass
class AccountSettingsArgs:
    """The stage prefix (for names), the account, and the SMS spending cap in USD a month."""

    prefix: str
    account_id: pulumi.Input[str]
    sms_monthly_spend_limit: int


class AccountSettings(pulumi.ComponentResource):
    """API Gateway's CloudWatch role and the account's SMS preferences."""

    apigateway_account: aws.apigateway.Account
    sms_preferences: aws.sns.SmsPreferences

    def __init__(self, name: str, args: AccountSettingsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:AccountSettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{name}-apigateway-logs",
            name=f"{args.prefix}-apigateway-logs",
            assume_role_policy=assume_role_policy("apigateway.amazonaws.com"),
            opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-apigateway-logs-policy", role=role.name,
                                     policy_arn=APIGATEWAY_LOGS_POLICY, opts=child)
        self.apigateway_account = aws.apigateway.Account(
            f"{name}-apigateway", cloudwatch_role_arn=role.arn, opts=child)
        self.sms_preferences = aws.sns.SmsPreferences(
            f"{name}-sms", default_sms_type="Transactional",
            monthly_spend_limit=args.sms_monthly_spend_limit, opts=child)
        self.register_outputs({"apigateway_logs_role": role.arn})
