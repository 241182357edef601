"""Preflight checks whose AWS operations moto lacks, against botocore's Stubber.

Each stubbed answer is shaped as its API reference page says:
- GetSMSSandboxAccountStatus: https://docs.aws.amazon.com/sns/latest/api/API_GetSMSSandboxAccountStatus.html
- GetSMSAttributes: https://docs.aws.amazon.com/sns/latest/api/API_GetSMSAttributes.html
- DescribeSpendLimits: https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_DescribeSpendLimits.html
- SES GetAccount: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetAccount.html
- SES GetEmailIdentity: https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetEmailIdentity.html
- GetLayerVersionByArn: https://docs.aws.amazon.com/lambda/latest/api/API_GetLayerVersionByArn.html
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from infra.cloud.config import CognitoEmail
from infra.cloud.preflight import Status, exit_status, report, settings_from_config
from infra.cloud.preflight.messaging import ses_for_cognito, sms_sandbox, sms_spend
from infra.cloud.preflight.resources import powertools_layer
from tests.infra.cloud_mocks import stack_config

REGION = "eu-west-1"
LAYER = ("arn:aws:lambda:eu-west-1:017000801446:layer:"
         "AWSLambdaPowertoolsPythonV3-python312-x86_64:27")
IDENTITY = "arn:aws:ses:eu-west-1:111122223333:identity/example.com"


def stubbed(service: str, *calls: tuple[str, dict[str, Any], dict[str, Any] | None],
            errors: tuple[tuple[str, str, int], ...] = ()) -> Any:
    client = boto3.client(service, region_name=REGION, aws_access_key_id="x",
                          aws_secret_access_key="y")
    stubber = Stubber(client)
    for method, response, params in calls:
        stubber.add_response(method, response, params)
    for method, code, status in errors:
        stubber.add_client_error(method, service_error_code=code, http_status_code=status)
    stubber.activate()
    return client


def only(**clients: Any):
    """A client factory that knows exactly `clients` (by service, `-` as `_`)."""
    def factory(service: str, region: str | None = None) -> Any:
        return clients[service.replace("-", "_")]
    return factory


def settings(stack: str = "dev", **changes: Any):
    return replace(settings_from_config(stack, stack_config(stack)), **changes)


# --- SMS sandbox ---------------------------------------------------------------------------

@pytest.mark.parametrize("stack, in_sandbox, status", [
    ("dev", True, Status.WARN), ("prod", True, Status.FAIL), ("prod", False, Status.PASS)])
def test_the_sms_sandbox_warns_and_blocks_prod(stack, in_sandbox, status):
    sns = stubbed("sns", ("get_sms_sandbox_account_status", {"IsInSandbox": in_sandbox}, {}))
    check = sms_sandbox(only(sns=sns), settings(stack))
    assert check.status is status
    if in_sandbox:
        assert "at most 10" in check.found and "create-sms-sandbox-phone-number" in check.fix


def test_an_unreadable_sandbox_status_is_a_warning_with_the_command():
    sns = stubbed("sns", errors=(("get_sms_sandbox_account_status", "AuthorizationError",
                                  403),))
    check = sms_sandbox(only(sns=sns), settings("prod"))
    assert check.status is Status.WARN and "AuthorizationError" in check.found
    assert "aws sns get-sms-sandbox-account-status" in check.fix


# --- SMS spend -----------------------------------------------------------------------------

def _spend(limit: int, max_limit: int | None, current: str = "1") -> Any:
    sns = stubbed("sns", ("get_sms_attributes", {"attributes": {"MonthlySpendLimit": current}},
                          {"attributes": ["MonthlySpendLimit"]}))
    if max_limit is None:
        sms = stubbed("pinpoint-sms-voice-v2",
                      errors=(("describe_spend_limits", "AccessDeniedException", 403),))
    else:
        sms = stubbed("pinpoint-sms-voice-v2", ("describe_spend_limits", {"SpendLimits": [
            {"Name": "VOICE_MESSAGE_MONTHLY_SPEND_LIMIT", "EnforcedLimit": 1,
             "MaxLimit": 1000, "Overridden": False},
            {"Name": "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT", "EnforcedLimit": 1,
             "MaxLimit": max_limit, "Overridden": False}]}, {}))
    return sms_spend(only(sns=sns, pinpoint_sms_voice_v2=sms),
                     settings(sms_monthly_spend_limit=limit))


def test_a_limit_above_the_accounts_quota_fails_with_both_numbers():
    check = _spend(100, 1)
    assert check.status is Status.FAIL
    assert "USD 100" in check.what and "quota of USD 1" in check.found
    assert "MonthlySpendLimit is USD 1" in check.found
    assert "set sms.monthlySpendLimit to 1" in check.fix and "sms_spending_limit" in check.fix


def test_a_limit_within_a_raised_quota_passes():
    check = _spend(100, 500, current="50")
    assert check.status is Status.PASS and "quota of USD 500" in check.found


@pytest.mark.parametrize("limit, status", [(1, Status.PASS), (20, Status.WARN)])
def test_an_unreadable_quota_judges_by_a_new_accounts(limit, status):
    check = _spend(limit, None)
    assert check.status is status
    if status is Status.WARN:
        assert "AccessDeniedException" in check.found and "USD 1" in check.found


# --- SES for Cognito -----------------------------------------------------------------------

def _ses(*, production_access: bool = True, verified: bool | None = True) -> Any:
    calls: list[Any] = [("get_account", {"ProductionAccessEnabled": production_access,
                                         "SendingEnabled": True,
                                         "DedicatedIpAutoWarmupEnabled": False}, {})]
    errors: tuple[tuple[str, str, int], ...] = ()
    if verified is None:
        errors = (("get_email_identity", "NotFoundException", 404),)
    else:
        calls.append(("get_email_identity", {
            "IdentityType": "DOMAIN", "VerifiedForSendingStatus": verified,
            "VerificationStatus": "SUCCESS" if verified else "PENDING"},
            {"EmailIdentity": "example.com"}))
    return stubbed("sesv2", *calls, errors=errors)


def test_prod_with_a_verified_identity_and_production_access_passes():
    checks = ses_for_cognito(only(sesv2=_ses()), settings("prod"))
    assert [c.status for c in checks] == [Status.PASS, Status.PASS]


def test_prod_in_the_ses_sandbox_fails():
    checks = ses_for_cognito(only(sesv2=_ses(production_access=False)), settings("prod"))
    assert checks[0].status is Status.FAIL and "production access" in checks[0].fix


@pytest.mark.parametrize("verified, words", [(False, "not verified"),
                                             (None, "does not exist")])
def test_an_unverified_or_missing_identity_fails(verified, words):
    checks = ses_for_cognito(only(sesv2=_ses(verified=verified)), settings("prod"))
    assert checks[-1].status is Status.FAIL and words in checks[-1].found
    assert exit_status(checks) == 1


def test_dev_without_ses_uses_cognitos_sender_and_prod_without_it_fails():
    assert ses_for_cognito(only(), settings("dev"))[0].status is Status.PASS
    (check,) = ses_for_cognito(only(), settings("prod", cognito_email=None))
    assert check.status is Status.FAIL and "cognitoEmail" in check.fix


def test_ses_is_asked_in_the_identitys_region():
    asked = []

    def factory(service: str, region: str | None = None) -> Any:
        asked.append((service, region))
        return _ses()
    ses_for_cognito(factory, settings("dev", cognito_email=CognitoEmail(
        "no-reply@example.com", IDENTITY.replace("eu-west-1", "us-east-1"))))
    assert asked == [("sesv2", "us-east-1")]


# --- Powertools layer ----------------------------------------------------------------------

def test_a_layer_in_the_region_passes():
    lam = stubbed("lambda", ("get_layer_version_by_arn", {
        "LayerVersionArn": LAYER, "Version": 27, "CompatibleRuntimes": ["python3.12"]},
        {"Arn": LAYER}))
    check = powertools_layer(only(**{"lambda": lam}), LAYER, REGION)
    assert check.status is Status.PASS and "version 27 (python3.12)" in check.found


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "AccessDeniedException"])
def test_a_layer_this_account_cannot_use_fails(code):
    lam = stubbed("lambda", errors=(("get_layer_version_by_arn", code, 404),))
    check = powertools_layer(only(**{"lambda": lam}), LAYER, REGION)
    assert check.status is Status.FAIL and "powertoolsLayerArn" in check.fix


def test_a_layer_of_another_region_fails_without_asking():
    check = powertools_layer(only(), LAYER, "us-east-1")
    assert check.status is Status.FAIL and "not in us-east-1" in check.found


def test_the_report_counts_and_lines():
    lam = stubbed("lambda", errors=(("get_layer_version_by_arn", "ResourceNotFoundException",
                                     404),))
    checks = [powertools_layer(only(**{"lambda": lam}), LAYER, REGION)]
    text = report(checks)
    assert text.splitlines()[0].startswith("FAIL  Powertools layer: ")
    assert text.splitlines()[1].startswith("      -> set powertoolsLayerArn")
    assert text.endswith("preflight: 0 PASS, 0 WARN, 1 FAIL")
