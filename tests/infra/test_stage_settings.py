"""Stack settings a first-time account depends on: the SMS spend limit and Cognito's email.

- SNS refuses a `MonthlySpendLimit` above the account's SMS spending quota, USD 1 for a new
  account: https://docs.aws.amazon.com/sns/latest/dg/sms_spending_limit.html
- Cognito's default sender allows a few dozen emails a day; production pools send through SES
  (`EmailSendingAccount: DEVELOPER`):
  https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from infra.cloud.config import (
    NEW_ACCOUNT_SMS_SPEND_QUOTA,
    CognitoEmail,
    StageConfigError,
    check_stage_config,
)
from tests.infra.cloud_mocks import (
    PROJECT,
    STACKS,
    build_stack,
    stack_config,
    stage_config,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

SMS = "aws:sns/smsPreferences:SmsPreferences"
POOL = "aws:cognito/userPool:UserPool"
IDENTITY = "arn:aws:ses:eu-west-1:111122223333:identity/example.com"


# --- SMS spend limit ---------------------------------------------------------------------------

@pytest.mark.parametrize("stack", STACKS)
def test_committed_stacks_ask_for_no_more_than_a_new_accounts_quota(stack: str) -> None:
    assert NEW_ACCOUNT_SMS_SPEND_QUOTA == 1
    assert stack_config(stack)[f"{PROJECT}:sms"]["monthlySpendLimit"] == \
        NEW_ACCOUNT_SMS_SPEND_QUOTA


def test_the_program_sets_the_stack_setting_and_defaults_to_the_new_account_quota() -> None:
    prod = build_stack("prod")
    (preferences,) = prod.of_type(SMS)
    assert preferences.inputs["monthlySpendLimit"] == 1
    raised = build_stack("dev", overrides={f"{PROJECT}:sms": {"monthlySpendLimit": 20}})
    assert raised.of_type(SMS)[0].inputs["monthlySpendLimit"] == 20
    unset = build_stack("dev", overrides={f"{PROJECT}:sms": {}})
    assert unset.of_type(SMS)[0].inputs["monthlySpendLimit"] == NEW_ACCOUNT_SMS_SPEND_QUOTA


@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
def test_a_spend_limit_that_is_not_a_positive_whole_number_is_refused(value: Any) -> None:
    with pytest.raises(Exception, match="sms.monthlySpendLimit"):
        build_stack("dev", overrides={f"{PROJECT}:sms": {"monthlySpendLimit": value}})


# --- Cognito email through SES ----------------------------------------------------------------

def test_prod_sends_cognito_email_through_the_ses_identity() -> None:
    (pool,) = build_stack("prod").of_type(POOL)
    configured = stack_config("prod")[f"{PROJECT}:cognitoEmail"]
    assert pool.inputs["emailConfiguration"] == {
        "emailSendingAccount": "DEVELOPER",
        "fromEmailAddress": configured["fromAddress"],
        "sourceArn": configured["sesIdentityArn"]}


def test_dev_keeps_cognitos_default_sender() -> None:
    (pool,) = build_stack("dev").of_type(POOL)
    assert "emailConfiguration" not in pool.inputs


def test_prod_without_ses_is_refused_before_anything_is_created() -> None:
    with pytest.raises(Exception, match="cognitoEmail .* required in the prod stage"):
        build_stack("prod", overrides={f"{PROJECT}:cognitoEmail": {}})


@pytest.mark.parametrize("email, key", [
    (CognitoEmail("no-reply@example.com", "arn:aws:sns:eu-west-1:111122223333:identity/x"),
     "sesIdentityArn"),
    (CognitoEmail("no-reply@example.com", "arn:aws:ses:eu-west-1:1111:identity/example.com"),
     "sesIdentityArn"),
    (CognitoEmail("not an address", IDENTITY), "fromAddress must be an email"),
    (CognitoEmail("Gateway <no-reply@elsewhere.com>", IDENTITY), "on the SES identity"),
    (CognitoEmail("", IDENTITY), "fromAddress"),
])
def test_bad_cognito_email_settings_name_the_key(email: CognitoEmail, key: str) -> None:
    with pytest.raises(StageConfigError, match=key):
        check_stage_config(stage_config(cognito_email=email))


@pytest.mark.parametrize("from_address, identity", [
    ("Partner Gateway <no-reply@example.com>", IDENTITY),
    ("no-reply@Example.com", IDENTITY),
    ("ops@example.com", "arn:aws:ses:eu-west-1:111122223333:identity/ops@example.com"),
    ("ops@example.com", "arn:aws-us-gov:ses:us-gov-west-1:111122223333:identity/example.com"),
])
def test_sound_cognito_email_settings_pass(from_address: str, identity: str) -> None:
    config = stage_config(stage="prod", cognito_email=CognitoEmail(from_address, identity))
    assert check_stage_config(config) is config
    assert check_stage_config(replace(config, stage="dev", cognito_email=None))
