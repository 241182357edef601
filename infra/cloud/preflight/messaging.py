"""SMS and email the stage depends on: the SNS SMS sandbox and spending quota, and SES for
Cognito's email.

- https://docs.aws.amazon.com/sns/latest/api/API_GetSMSSandboxAccountStatus.html
- https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox.html
- https://docs.aws.amazon.com/sns/latest/api/API_GetSMSAttributes.html
- https://docs.aws.amazon.com/sns/latest/dg/sms_spending_limit.html (a new account: USD 1)
- https://docs.aws.amazon.com/pinpoint/latest/apireference_smsvoicev2/API_DescribeSpendLimits.html
  (`MaxLimit` of `TEXT_MESSAGE_MONTHLY_SPEND_LIMIT`: the account's SMS spending quota;
  https://docs.aws.amazon.com/sms-voice/latest/userguide/spend-limit.html)
- https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetAccount.html
- https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_GetEmailIdentity.html
"""

from __future__ import annotations

from infra.cloud.config import NEW_ACCOUNT_SMS_SPEND_QUOTA
from infra.cloud.preflight.results import (
    AWS_FAILURES,
    Check,
    Clients,
    failed,
    passed,
    unchecked,
    warned,
)
from infra.cloud.preflight.settings import PreflightSettings
from partners.core.aws import error_code

FAILURES = AWS_FAILURES
SMS_SANDBOX = "https://docs.aws.amazon.com/sns/latest/dg/sns-sms-sandbox-moving-to-production.html"
SMS_QUOTA = "https://docs.aws.amazon.com/sns/latest/dg/sms_spending_limit.html"
SES_PRODUCTION = "https://docs.aws.amazon.com/ses/latest/dg/request-production-access.html"
SES_VERIFY = "https://docs.aws.amazon.com/ses/latest/dg/creating-identities.html"


def sms_sandbox(clients: Clients, settings: PreflightSettings) -> Check:
    """In the SMS sandbox SNS texts only verified numbers (at most 10): a WARN, a FAIL for
    the production stage, whose end users must get their texts."""
    what = "SNS SMS sandbox"
    try:
        in_sandbox = bool(clients("sns").get_sms_sandbox_account_status()["IsInSandbox"])
    except FAILURES as error:
        return unchecked(what, error, "aws sns get-sms-sandbox-account-status")
    if not in_sandbox:
        return passed(what, "out of the sandbox: SMS reach any number")
    fix = (f"request SMS production access ({SMS_SANDBOX}); until then verify test numbers: "
           "aws sns create-sms-sandbox-phone-number --phone-number +<number>")
    found = "in the sandbox: SMS reach only verified numbers (at most 10)"
    return failed(what, found, fix) if settings.production else warned(what, found, fix)


def sms_spend(clients: Clients, settings: PreflightSettings) -> Check:
    """The stack's `sms.monthlySpendLimit` against the account's SMS spending quota (SNS
    refuses a higher MonthlySpendLimit)."""
    limit = settings.sms_monthly_spend_limit
    what = f"SMS spend limit (sms.monthlySpendLimit: USD {limit})"
    try:
        current = clients("sns").get_sms_attributes(attributes=["MonthlySpendLimit"]).get(
            "attributes", {}).get("MonthlySpendLimit")
    except FAILURES:
        current = None
    now = f"; the account's MonthlySpendLimit is USD {current}" if current else ""
    try:
        limits = clients("pinpoint-sms-voice-v2").describe_spend_limits()["SpendLimits"]
        quota = next(int(item["MaxLimit"]) for item in limits
                     if item["Name"] == "TEXT_MESSAGE_MONTHLY_SPEND_LIMIT")
    except (StopIteration, *FAILURES) as error:
        reason = error_code(error) or type(error).__name__
        if limit <= NEW_ACCOUNT_SMS_SPEND_QUOTA:
            return passed(what, f"within a new account's quota (USD "
                                f"{NEW_ACCOUNT_SMS_SPEND_QUOTA}){now}")
        return warned(what, f"the account's quota could not be read ({reason}); a new "
                            f"account's is USD {NEW_ACCOUNT_SMS_SPEND_QUOTA}{now}",
                      f"confirm the quota increase was granted ({SMS_QUOTA}), or set "
                      f"sms.monthlySpendLimit to {NEW_ACCOUNT_SMS_SPEND_QUOTA}")
    if limit > quota:
        return failed(what, f"above the account's SMS spending quota of USD {quota}{now}",
                      f"set sms.monthlySpendLimit to {quota} in Pulumi.{settings.stack}.yaml, "
                      f"or request a spending quota increase ({SMS_QUOTA})")
    return passed(what, f"within the account's quota of USD {quota}{now}")


def ses_for_cognito(clients: Clients, settings: PreflightSettings) -> list[Check]:
    """The SES identity Cognito sends as is verified, and the account may send to anyone."""
    email = settings.cognito_email
    what = "Cognito email"
    if email is None:
        if settings.production:
            return [failed(what, "no cognitoEmail: Cognito's default sender allows a few dozen "
                                 "emails a day", "set cognitoEmail (fromAddress, "
                                 "sesIdentityArn) in Pulumi.prod.yaml")]
        return [passed(what, "Cognito's default sender (a few dozen emails a day)")]
    region = email.ses_identity_arn.split(":")[3]
    ses = clients("sesv2", region)
    checks = []
    try:
        account = ses.get_account()
    except FAILURES as error:
        checks.append(unchecked(f"SES account in {region}", error,
                                f"aws sesv2 get-account --region {region}"))
    else:
        if not account.get("SendingEnabled", True):
            checks.append(failed(f"SES account in {region}", "sending is disabled",
                                 "aws sesv2 put-account-sending-attributes --sending-enabled"))
        elif not account.get("ProductionAccessEnabled"):
            found = "in the SES sandbox: mail reaches only verified addresses"
            fix = f"request SES production access ({SES_PRODUCTION})"
            checks.append(failed(f"SES account in {region}", found, fix) if settings.production
                          else warned(f"SES account in {region}", found, fix))
        else:
            checks.append(passed(f"SES account in {region}", "production access, sending "
                                                             "enabled"))
    identity = email.identity
    try:
        found = ses.get_email_identity(EmailIdentity=identity)
    except FAILURES as error:
        if error_code(error) == "NotFoundException":
            checks.append(failed(f"SES identity {identity}", f"does not exist in {region}",
                                 f"create and verify it ({SES_VERIFY}): aws sesv2 "
                                 f"create-email-identity --email-identity {identity} "
                                 f"--region {region}"))
        else:
            checks.append(unchecked(f"SES identity {identity}", error,
                                    f"aws sesv2 get-email-identity --email-identity "
                                    f"{identity} --region {region}"))
        return checks
    if found.get("VerifiedForSendingStatus"):
        checks.append(passed(f"SES identity {identity}", "verified for sending"))
    else:
        checks.append(failed(f"SES identity {identity}", "not verified for sending "
                             f"(status {found.get('VerificationStatus', 'unknown')})",
                             f"finish its verification ({SES_VERIFY})"))
    return checks
