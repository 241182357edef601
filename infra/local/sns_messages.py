"""What SNS would have sent to end users, at the AWS endpoint's developer endpoints.

moto sends no SMS and no email. It keeps the SMS a Publish to a phone number produced, and
the `moto_sns` patch keeps what each email subscription would have received; these read them
and answer in LocalStack's developer-endpoint shape, on the AWS endpoint (`make run`'s
`http://127.0.0.1:4566`), so a test or a script written against LocalStack reads them too:

    GET /_aws/sns/sms-messages    {"sms_messages": {"<phone>": [{"PhoneNumber", "Message",
                                   "MessageId", ...}]}, "region": "us-east-1"}
    GET /_aws/sns/email-messages  {"email_messages": {"<address>": [{"EmailAddress",
                                   "Subject", "Message", "MessageId", "TopicArn",
                                   "SubscriptionArn", "MessageAttributes", ...}]}, "region": ...}

Query parameters as LocalStack's: `accountId`, `region`, and `phoneNumber` (SMS) or
`emailAddress` (emails) to pick one recipient. LocalStack names the SMS endpoint; it has no
email one (it sends SNS emails through SES, listed at `/_aws/ses`), so the email endpoint's
name and shape follow the SMS one's. The same middleware answers `/_aws/ses` (what SES sent:
the console's invitations, `infra.local.ses_messages`).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from moto.sns.models import sns_backends

from infra.local.patches.moto_sns import email_messages as recorded_emails
from infra.local.ses_messages import SES_PATH, ses_messages

SMS_PATH = "/_aws/sns/sms-messages"
EMAIL_PATH = "/_aws/sns/email-messages"
DEFAULT_ACCOUNT = "123456789012"  # moto's account (LocalStack's is 000000000000)
DEFAULT_REGION = "us-east-1"


def _backend(account: str, region: str) -> Any:
    return sns_backends[account][region]


def _grouped(messages: Iterable[dict[str, Any]], key: str,
             only: str | None) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {} if only is None else {only: []}
    for message in messages:
        if only is None or message[key] == only:
            grouped.setdefault(message[key], []).append(message)
    return grouped


def sms_messages(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION,
                 phone_number: str | None = None) -> dict[str, Any]:
    """The SMS a Publish to a phone number (or an `sms` subscription) produced, per number."""
    backend = _backend(account, region)
    messages = ({"PhoneNumber": phone, "MessageId": message_id, "Message": text}
                for message_id, (phone, text) in list(backend.sms_messages.items()))
    return {"sms_messages": _grouped(messages, "PhoneNumber", phone_number), "region": region}


def email_messages(account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION,
                   email_address: str | None = None) -> dict[str, Any]:
    """The emails topic publishes produced for `email`/`email-json` subscriptions, per address."""
    messages = recorded_emails(_backend(account, region))
    return {"email_messages": _grouped(messages, "EmailAddress", email_address),
            "region": region}


class DeveloperEndpoints:
    """WSGI middleware: answers the developer endpoints, hands every other request to `app`."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path not in (SMS_PATH, EMAIL_PATH, SES_PATH):
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "GET":
            return _answer(start_response, 405, {"error": "only GET is supported"},
                           [("Allow", "GET")])
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        account = query.get("accountId", DEFAULT_ACCOUNT)
        region = query.get("region", DEFAULT_REGION)
        if not account.isdigit() or len(account) != 12:
            return _answer(start_response, 400, {"error": "accountId must be 12 digits"})
        if path == SES_PATH:
            body = ses_messages(account, message_id=query.get("id"), email=query.get("email"))
        elif path == SMS_PATH:
            body = sms_messages(account, region, query.get("phoneNumber"))
        else:
            body = email_messages(account, region, query.get("emailAddress"))
        return _answer(start_response, 200, body)


def _answer(start_response: Callable[..., Any], status: int, body: dict[str, Any],
            headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    data = json.dumps(body).encode()
    reasons = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}
    start_response(f"{status} {reasons[status]}",
                   [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
                   + (headers or []))
    return [data]
