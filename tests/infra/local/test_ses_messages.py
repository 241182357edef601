"""What SES sent, at the AWS endpoint's `/_aws/ses` (LocalStack's shape,
https://docs.localstack.cloud/aws/services/ses/) and on the sample partner's `/end-users`."""

from __future__ import annotations

import uuid

import boto3
import pytest
import requests
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

from infra.local.__main__ import describe
from infra.local.sample_partner import SamplePartner
from infra.local.servers import ServerThread
from infra.local.ses_messages import SES_PATH
from infra.local.sns_messages import DeveloperEndpoints
from infra.local.stack import EmbeddedStack, Ports, StackOptions


@pytest.fixture(scope="module")
def endpoint():
    server = ServerThread(DeveloperEndpoints(DomainDispatcherApplication(create_backend_app)),
                          request_handler=MotoRequestHandler, name="aws").start()
    yield server.url
    server.stop()


def _ses(endpoint: str, region: str = "us-east-1"):
    return boto3.client("ses", endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="local", aws_secret_access_key="local")


def test_sent_emails_show_at_aws_ses_in_localstacks_shape(endpoint):
    sender = f"sender-{uuid.uuid4().hex[:6]}@example.com"
    to = f"to-{uuid.uuid4().hex[:6]}@example.com"
    ses = _ses(endpoint, "eu-west-1")
    ses.verify_email_identity(EmailAddress=sender)
    message_id = ses.send_email(
        Source=f"Team <{sender}>", Destination={"ToAddresses": [to]},
        Message={"Subject": {"Data": "Join us"}, "Body": {"Text": {"Data": "Link: http://x/y"}}}
    )["MessageId"]
    everything = requests.get(endpoint + SES_PATH, timeout=10).json()["messages"]
    assert {"Id": message_id, "Region": "eu-west-1", "Destination": {"ToAddresses": [to]},
            "Source": f"Team <{sender}>", "Subject": "Join us",
            "Body": {"text_part": "Link: http://x/y", "html_part": None}} in everything
    by_id = requests.get(endpoint + SES_PATH, params={"id": message_id}, timeout=10).json()
    assert [m["Id"] for m in by_id["messages"]] == [message_id]
    by_source = requests.get(endpoint + SES_PATH, params={"email": sender}, timeout=10).json()
    assert [m["Id"] for m in by_source["messages"]] == [message_id]


def test_raw_emails_are_listed_with_their_data(endpoint):
    sender = f"raw-{uuid.uuid4().hex[:6]}@example.com"
    ses = _ses(endpoint)
    ses.verify_email_identity(EmailAddress=sender)
    raw = f"From: {sender}\nTo: a@example.com\nSubject: raw\n\nbody"
    message_id = ses.send_raw_email(Source=sender, Destinations=["a@example.com"],
                                    RawMessage={"Data": raw})["MessageId"]
    [message] = requests.get(endpoint + SES_PATH, params={"id": message_id},
                             timeout=10).json()["messages"]
    assert message["Destination"] == {"ToAddresses": ["a@example.com"]}
    assert message["RawData"] == raw


def test_the_ses_endpoint_refuses_what_it_cannot_answer(endpoint):
    assert requests.post(endpoint + SES_PATH, timeout=10).status_code == 405
    assert requests.get(endpoint + SES_PATH, params={"accountId": "x"},
                        timeout=10).status_code == 400


def test_the_end_users_page_lists_ses_emails_escaped_with_clickable_links(endpoint):
    sender = f"page-{uuid.uuid4().hex[:6]}@example.com"
    ses = _ses(endpoint)
    ses.verify_email_identity(EmailAddress=sender)
    ses.send_email(Source=sender, Destination={"ToAddresses": ["bob@example.com"]},
                   Message={"Subject": {"Data": "<b>Join</b>"},
                            "Body": {"Text": {"Data": "Open http://127.0.0.1:8000/auth/"
                                                      "invitations/p.i.s to join <now>"}}})
    partner = SamplePartner("http://127.0.0.1:9", developer_endpoint=endpoint, workers=0)
    page = partner.app.test_client().get("/end-users").get_data(as_text=True)
    assert "bob@example.com" in page and sender in page
    assert "&lt;b&gt;Join&lt;/b&gt;" in page and "&lt;now&gt;" in page
    assert 'href="http://127.0.0.1:8000/auth/invitations/p.i.s"' in page
    assert endpoint + SES_PATH in page


def test_the_banner_prints_where_ses_emails_are():
    text = describe(EmbeddedStack(Ports(1, 2, 3, 4), StackOptions()))
    assert f"http://127.0.0.1:1{SES_PATH}" in text
