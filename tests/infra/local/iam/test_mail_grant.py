"""The console's invitation emails under the embedded stack's IAM check: `ses:SendEmail` is
decided on the sender's SES identity with `ses:FromAddress` (the address without its display
name), from the statements `infra.roles` resolves for a stage that has a sender.

https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

import pytest

from infra.local.iam.authoriser import authorise_request, request_context
from infra.local.iam.operations import Call, NoLookups
from infra.local.iam.principals import Principal
from infra.roles import ArnContext, MailSender, resolve
from infra.spec import stage_spec

ACCOUNT = "123456789012"
SPEC = stage_spec("local", account_id=ACCOUNT, region="us-east-1")
SENDER = MailSender("invitations@example.com",
                    f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/invitations@example.com")
MESSAGE = {"Subject": {"Data": "Join"}, "Body": {"Text": {"Data": "link"}}}


def console(mail: MailSender | None) -> Principal:
    context = ArnContext("aws", "us-east-1", ACCOUNT, SPEC, mail=mail)
    return Principal("pgw-local-console", "pgw-local-console-fn", ACCOUNT,
                     lambda: resolve("console", context))


def send(who: Principal, source: str):
    return authorise_request(who, service="ses", operation="SendEmail", protocol="query",
                             params={"Source": source, "Destination": {
                                 "ToAddresses": ["new@example.com"]}, "Message": MESSAGE},
                             region="us-east-1", account=ACCOUNT)


@pytest.mark.parametrize("source", ["invitations@example.com",
                                    "Partner Event Gateway <invitations@example.com>"])
def test_the_console_sends_as_the_stages_sender(source: str) -> None:
    assert send(console(SENDER), source) is None


def test_the_from_address_condition_key_is_the_bare_address() -> None:
    call = Call("ses", "SendEmail", {"Source": "Team <invitations@example.com>"}, "us-east-1",
                ACCOUNT, "aws", "POST", "/", NoLookups())
    assert request_context(console(SENDER), call)["ses:FromAddress"] == "invitations@example.com"


def test_another_sender_on_the_same_domain_is_refused() -> None:
    """Granted on the address identity: another address has another identity ARN."""
    refused = send(console(SENDER), "someone@example.com")
    assert refused is not None and "ses:SendEmail" in refused.message


def test_the_from_address_condition_refuses_another_address_on_the_identity() -> None:
    """Where the granted identity is the one the call is authorised on, the condition still
    keeps the console to its own address (a domain identity covers every address of the
    domain on AWS)."""
    domain = MailSender("invitations@example.com",
                        f"arn:aws:ses:us-east-1:{ACCOUNT}:identity/someone@example.com")
    refused = send(console(domain), "someone@example.com")
    assert refused is not None and "ses:SendEmail" in refused.message


def test_without_a_sender_the_console_may_send_nothing() -> None:
    refused = send(console(None), "invitations@example.com")
    assert refused is not None and "ses:SendEmail" in refused.message
