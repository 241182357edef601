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

from infra.cloud.iam import StageRole, arn_context
from infra.spec import StageSpec


@dataclass
class AccountSettingsArgs:
    """The stage (for names) and the SMS spending cap in USD a month."""

    spec: StageSpec
    sms_monthly_spend_limit: int


class AccountSettings(pulumi.ComponentResource):
    """API Gateway's CloudWatch role and the account's SMS preferences."""

    apigateway_account: aws.apigateway.Account
    sms_preferences: aws.sns.SmsPreferences

    def __init__(self, name: str, args: AccountSettingsArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:AccountSettings", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # infra.roles (apigateway_logs): AWS's managed policy for exactly this role (log
        # groups and streams of API Gateway), trusted by API Gateway for this account only.
        role = StageRole(f"{name}-apigateway-logs", "apigateway_logs", args.spec,
                         arn_context(args.spec), child).role
        self.apigateway_account = aws.apigateway.Account(
            f"{name}-apigateway", cloudwatch_role_arn=role.arn, opts=child)
        self.sms_preferences = aws.sns.SmsPreferences(
            f"{name}-sms", default_sms_type="Transactional",
            monthly_spend_limit=args.sms_monthly_spend_limit, opts=child)
        self.register_outputs({"apigateway_logs_role": role.arn})
