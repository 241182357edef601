"""Identity: the Cognito user pool of the console, its groups and the console's app client."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.cloud.config import CognitoEmail
from infra.spec import UserPoolSpec

# The console signs users in server-side (USER_PASSWORD_AUTH) or with SRP; no hosted UI.
CONSOLE_AUTH_FLOWS = ("ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
                      "ALLOW_REFRESH_TOKEN_AUTH")
GROUP_DESCRIPTIONS = {
    "admins": "Approve, reject and suspend partners; read the audit log",
    "partners": "Manage their own organisation's environments, endpoints and tokens",
}


@dataclass
class IdentityArgs:
    """The user pool spec, whether the pool is protected from deletion, and how it sends email
    (None: Cognito's default sender, a few dozen emails a day; else SES as `DEVELOPER`)."""

    user_pool: UserPoolSpec
    protect_data: bool = False
    email: CognitoEmail | None = None


def email_configuration(email: CognitoEmail | None
                        ) -> aws.cognito.UserPoolEmailConfigurationArgs | None:
    """Cognito sends through the stage's verified SES identity (`EmailSendingAccount:
    DEVELOPER`), or, without one, with its own default sender.
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html"""
    if email is None:
        return None
    return aws.cognito.UserPoolEmailConfigurationArgs(
        email_sending_account="DEVELOPER", from_email_address=email.from_address,
        source_arn=email.ses_identity_arn)


class Identity(pulumi.ComponentResource):
    """User pool (email sign-in, strong passwords, MFA optional), groups, console client."""

    user_pool: aws.cognito.UserPool
    groups: dict[str, aws.cognito.UserGroup]
    console_client: aws.cognito.UserPoolClient

    def __init__(self, name: str, args: IdentityArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("pgw:cloud:Identity", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        pool = args.user_pool
        self.user_pool = aws.cognito.UserPool(
            f"{name}-users",
            name=pool.name,
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=pool.password_minimum_length,
                require_lowercase=True,
                require_uppercase=True,
                require_numbers=True,
                require_symbols=True,
                temporary_password_validity_days=3,
            ),
            mfa_configuration="OPTIONAL",
            software_token_mfa_configuration=aws.cognito.
            UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(
                recovery_mechanisms=[aws.cognito.
                                     UserPoolAccountRecoverySettingRecoveryMechanismArgs(
                                         name="verified_email", priority=1)]),
            email_configuration=email_configuration(args.email),
            deletion_protection="ACTIVE" if args.protect_data else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data),
        )
        self.groups = {
            group: aws.cognito.UserGroup(
                f"{name}-group-{group}",
                name=group,
                user_pool_id=self.user_pool.id,
                description=GROUP_DESCRIPTIONS.get(group, group),
                opts=child,
            )
            for group in pool.groups
        }
        self.console_client = aws.cognito.UserPoolClient(
            f"{name}-console-client",
            name=pool.client_name,
            user_pool_id=self.user_pool.id,
            explicit_auth_flows=list(CONSOLE_AUTH_FLOWS),
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=60,
            id_token_validity=60,
            refresh_token_validity=12,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="hours"),
            opts=child,
        )
        self.register_outputs({"user_pool_id": self.user_pool.id,
                               "console_client_id": self.console_client.id})
