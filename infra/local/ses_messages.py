"""What SES sent (the console's invitation emails), at LocalStack's developer endpoint.

moto sends no email: its SES backend keeps each message it accepted (`sent_messages`). This
reads them and answers as LocalStack's `/_aws/ses` does, on the AWS endpoint (`make run`'s
`http://127.0.0.1:4566`), so a test or a script written against LocalStack reads them too
(https://docs.localstack.cloud/aws/services/ses/):

    GET /_aws/ses   {"messages": [{"Id", "Region", "Destination": {"ToAddresses": [..]},
                     "Source", "Subject", "Body": {"text_part", "html_part"}}]}

Query parameters as LocalStack's: `id` (one message) and `email` (messages from that source
address); `accountId` as the SNS endpoints take it. moto keeps one body per message (the HTML
part when there was one, else the text part) and no send time, so `Body.html_part` is null
and there is no `Timestamp`; a raw message has `RawData`, a templated one `Template` and
`TemplateData`, as LocalStack lists them.
"""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

SES_PATH = "/_aws/ses"


def _destination(destinations: Any) -> dict[str, list[str]]:
    if isinstance(destinations, dict):  # SendEmail, SendTemplatedEmail
        return {key: list(value) for key, value in destinations.items()}
    # SendRawEmail: moto lists the `Destinations` and the message's own To/Cc/Bcc, once each.
    return {"ToAddresses": list(dict.fromkeys(destinations or []))}


def _message(region: str, message: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {"Id": message.id, "Region": region,
                              "Destination": _destination(message.destinations),
                              "Source": message.source}
    if hasattr(message, "body"):
        answer.update(Subject=message.subject,
                      Body={"text_part": message.body, "html_part": None})
    elif hasattr(message, "raw_data"):
        answer["RawData"] = message.raw_data
    elif hasattr(message, "template"):
        answer.update(Template=message.template, TemplateData=message.template_data)
    return answer


def _from(source: str, email: str) -> bool:
    return email.lower() in (source.lower(), parseaddr(source)[1].lower())


def ses_messages(account: str = DEFAULT_ACCOUNT_ID, *, message_id: str | None = None,
                 email: str | None = None) -> dict[str, Any]:
    """Every message SES accepted in `account` (every region), oldest first; `message_id`
    picks one, `email` those from one source address."""
    messages = [_message(region, message)
                for region, backend in list(ses_backends[account].items())
                for message in list(backend.sent_messages)
                if getattr(message, "id", None) is not None]
    if message_id is not None:
        messages = [m for m in messages if m["Id"] == message_id]
    if email is not None:
        messages = [m for m in messages if _from(m["Source"], email)]
    return {"messages": messages}
