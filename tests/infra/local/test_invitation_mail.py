"""Invitation emails in the embedded stack: the console sends them through (moto's) SES from
the stack's sender, and the developer reads them at LocalStack's `/_aws/ses` and on the
sample partner's `/end-users` page.

AWS and LocalStack documentation followed:
https://docs.aws.amazon.com/ses/latest/APIReference/API_SendEmail.html
https://docs.aws.amazon.com/ses/latest/dg/control-user-access.html (`ses:FromAddress`)
https://docs.localstack.cloud/aws/services/ses/ (`GET /_aws/ses`)
"""

from __future__ import annotations

import html
import json
import re
import uuid
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError

from infra.local import iam
from infra.local.servers import free_port
from infra.local.wiring import ACCOUNT_ID
from infra.local.stack import MAIL_SENDER, EmbeddedStack, Ports, StackOptions
from infra.roles import ArnContext, resolve
from partners.core.constants import Env

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')
LINK = re.compile(r'id="invite-link" value="([^"]+)"')
SENDER_ADDRESS = "invitations@example.com"


@pytest.fixture(scope="module")
def stack():
    stack = EmbeddedStack(
        Ports(aws=free_port(), console=free_port(), api=free_port(), sample_partner=free_port()),
        StackOptions(console=True, demo=True, demo_file=None, status_delay=0.01,
                     authorizer_ttl_seconds=0, retry_time_scale=0.01)).start()
    yield stack
    stack.stop()


def _csrf(http: requests.Session, url: str) -> str:
    match = CSRF.search(http.get(url, timeout=30).text)
    assert match, f"no CSRF token on {url}"
    return match.group(1) or match.group(2)


def _owner(stack: EmbeddedStack) -> tuple[requests.Session, dict[str, Any]]:
    """The demo's push partner (Acme Logistics) and its owner, logged in to the console."""
    assert stack.demo is not None
    acme = next(p for p in stack.demo["partners"] if p["slug"] == "acme-logistics")
    http = requests.Session()
    login = f"{stack.console_url}/auth/login"
    answer = http.post(login, timeout=30, data={**acme["login"], "csrf_token": _csrf(http, login)})
    assert answer.status_code == 200 and "/auth/login" not in answer.url
    return http, acme


def _invite(stack: EmbeddedStack, email: str) -> str:
    """Invite `email` as a viewer through the console's members page; the link it shows."""
    http, acme = _owner(stack)
    page = f"{stack.console_url}/partners/{acme['id']}/members"
    answer = http.post(f"{page}/invitations", timeout=60, data={
        "email": email, "role": "viewer", "csrf_token": _csrf(http, page)})
    assert answer.status_code == 200, answer.text[-2000:]
    assert f"Invitation sent to {email}" in html.unescape(answer.text)
    match = LINK.search(answer.text)
    assert match, "the link is shown once"
    return html.unescape(match.group(1))


def test_an_invitation_is_emailed_with_its_link_and_listed_for_the_developer(stack):
    invitee = f"colleague-{uuid.uuid4().hex[:8]}@example.com"
    link = _invite(stack, invitee)
    assert "/auth/invitations/" in link

    sent = requests.get(stack.ses_messages_url, timeout=10).json()["messages"]
    [mail] = [m for m in sent if m["Destination"]["ToAddresses"] == [invitee]]
    assert mail["Source"] == MAIL_SENDER
    assert mail["Subject"] == "Join Acme Logistics on the Partner Event Gateway"
    assert link in mail["Body"]["text_part"]
    # LocalStack's filters: by message id, by source address.
    one = requests.get(stack.ses_messages_url, params={"id": mail["Id"]}, timeout=10).json()
    assert one["messages"] == [mail]
    mine = requests.get(stack.ses_messages_url, params={"email": SENDER_ADDRESS},
                        timeout=10).json()["messages"]
    assert mail in mine
    nobody = requests.get(stack.ses_messages_url, params={"email": "x@example.org"},
                          timeout=10).json()
    assert nobody == {"messages": []}

    page = requests.get(stack.end_users_url, timeout=10).text
    assert invitee in page and "Join Acme Logistics on the Partner Event Gateway" in page
    assert f'href="{html.escape(link)}"' in page  # the accept link, clickable
    assert stack.ses_messages_url in page


def test_the_console_may_send_only_as_the_stacks_sender(stack):
    """The console's role holds `ses:SendEmail` on the sender's identity, from its address
    alone: the same call from another verified address is refused as AWS refuses it."""
    console = iam.PRINCIPALS.by_function(stack.spec.function_name("console"))
    assert console is not None
    grant = [s for s in console.statements if s.get("Sid") == "InvitationMail"]
    assert grant and grant[0]["Condition"] == {
        "StringEquals": {"ses:FromAddress": SENDER_ADDRESS}}
    other = "someone-else@example.com"
    stack.session().client("ses").verify_email_identity(EmailAddress=other)
    with iam.acting_as(stack.spec.function_name("console")):
        ses = boto3.session.Session().client("ses")
    message = {"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}}
    ses.send_email(Source=MAIL_SENDER, Destination={"ToAddresses": ["a@example.com"]},
                   Message=message)
    with pytest.raises(ClientError) as refused:
        ses.send_email(Source=other, Destination={"ToAddresses": ["a@example.com"]},
                       Message=message)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert "ses:SendEmail" in refused.value.response["Error"]["Message"]


def test_without_the_grant_the_console_cannot_send(stack):
    """The same stack's console with the statements a stage without a sender resolves (no
    `ArnContext.mail`): its SendEmail is refused, so the grant is what allows it."""
    function = stack.spec.function_name("console")
    fixed = iam.PRINCIPALS.by_function(function)
    assert fixed is not None
    context = ArnContext(partition="aws", region="us-east-1", account=fixed.account,
                         spec=stack.spec)
    statements = json.loads(json.dumps(resolve("console", context)))
    assert not [s for s in statements if s.get("Sid") == "InvitationMail"]
    iam.PRINCIPALS.register(iam.Principal(function, fixed.role, fixed.account,
                                          lambda: statements))
    try:
        with iam.acting_as(function):
            ses = boto3.session.Session().client("ses")
        with pytest.raises(ClientError) as refused:
            ses.send_email(Source=MAIL_SENDER, Destination={"ToAddresses": ["a@example.com"]},
                           Message={"Subject": {"Data": "s"}, "Body": {"Text": {"Data": "b"}}})
        assert refused.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        iam.PRINCIPALS.register(fixed)


def test_the_console_is_given_the_sender(stack):
    assert stack.environment()[Env.MAIL_SENDER] == MAIL_SENDER
    assert stack.mail_sender is not None and stack.mail_sender.address == SENDER_ADDRESS
    assert stack.mail_sender.identity_arn == (
        f"arn:aws:ses:us-east-1:{ACCOUNT_ID}:identity/{SENDER_ADDRESS}")
