"""Run every preflight check for one stack and print the findings.

Read-only: every call is a Get, List, Describe or Head. The caller needs, besides
`sts:GetCallerIdentity`: `servicequotas:ListServiceQuotas`,
`servicequotas:ListAWSDefaultServiceQuotas`, `events:ListRules`,
`events:ListApiDestinations`, `events:ListConnections`, `apigateway:GET`,
`sns:GetSMSSandboxAccountStatus`, `sns:GetSMSAttributes`, `sms-voice:DescribeSpendLimits`,
`ses:GetAccount`, `ses:GetEmailIdentity`, `lambda:GetLayerVersion`, `s3:ListAllMyBuckets`
and `s3:ListBucket` (HeadBucket); a check it may not make becomes a WARN that says how to check
by hand.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Sequence

import boto3

from infra.cloud.preflight.messaging import ses_for_cognito, sms_sandbox, sms_spend
from infra.cloud.preflight.quotas import quota_checks
from infra.cloud.preflight.resources import bucket_names, powertools_layer
from infra.cloud.preflight.results import (
    AWS_FAILURES,
    Check,
    Clients,
    exit_status,
    failed,
    passed,
    report,
)
from infra.cloud.preflight.settings import (
    PreflightSettings,
    PreflightSettingsError,
    load_settings,
)
from infra.spec import stage_spec
from partners.core.aws import CLIENT_CONFIG


def session_clients(session: boto3.session.Session, default_region: str) -> Clients:
    """Clients of `session`, in `default_region` unless a check asks for another."""
    factory: Any = session  # typed loosely, as partners.core.aws.client: one overload a service

    def clients(service: str, region: str | None = None) -> Any:
        return factory.client(service, region_name=region or default_region,
                              config=CLIENT_CONFIG)
    return clients


def run_checks(settings: PreflightSettings, clients: Clients) -> list[Check]:
    """Every check, in the order an operator fixes things: who, quotas, messaging, names."""
    try:
        identity = clients("sts").get_caller_identity()
    except AWS_FAILURES as error:
        return [failed("AWS credentials", f"no caller identity ({type(error).__name__})",
                       "configure credentials for the stage's account (AWS_PROFILE or "
                       "aws configure)")]
    account = str(identity["Account"])
    spec = stage_spec(settings.stage, settings.partner_environments, account_id=account,
                      region=settings.region)
    checks = [passed("AWS account",
                     f"{account} in {settings.region} as {identity.get('Arn', '?')}")]
    checks += quota_checks(clients, stack=settings.stack, bus_name=spec.bus_name,
                           rules_setting=settings.rules_per_bus,
                           destinations_setting=settings.api_destinations,
                           connections_setting=settings.connections,
                           usage_tiers=settings.usage_tiers)
    checks += [sms_sandbox(clients, settings), sms_spend(clients, settings)]
    checks += ses_for_cognito(clients, settings)
    checks.append(powertools_layer(clients, settings.powertools_layer_arn, settings.region))
    checks += bucket_names(clients, spec.buckets.values())
    return checks


def main(argv: Sequence[str] | None = None, *,
         session: boto3.session.Session | None = None) -> int:
    """`python -m infra.cloud.preflight --stack dev [--stage dev] [--region eu-west-1]`."""
    parser = argparse.ArgumentParser(
        prog="python -m infra.cloud.preflight",
        description="Read-only checks of an AWS account before the first `pulumi up` of a stage")
    parser.add_argument("--stack", default="dev", help="Pulumi stack (Pulumi.<stack>.yaml)")
    parser.add_argument("--stage", help="stage name (default: the stack's)")
    parser.add_argument("--region", help="region (default: the stack's aws:region)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.stack, stage=args.stage, region=args.region)
    except PreflightSettingsError as error:
        print(f"FAIL  settings: {error}", file=sys.stderr)
        return 2
    checks = run_checks(settings, session_clients(session or boto3.session.Session(),
                                                  settings.region))
    print(f"preflight of stack {settings.stack} (stage {settings.stage}, {settings.region})")
    print(report(checks))
    return exit_status(checks)
