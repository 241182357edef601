"""What SNS would have sent to end users: the AWS endpoint's developer endpoints (LocalStack's
shape) and the sample partner's page that lists them."""

from __future__ import annotations

import json
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
from infra.local.sns_messages import EMAIL_PATH, SMS_PATH, DeveloperEndpoints
from infra.local.stack import EmbeddedStack, Ports, StackOptions


@pytest.fixture(scope="module")
def endpoint():
    server = ServerThread(DeveloperEndpoints(DomainDispatcherApplication(create_backend_app)),
                          request_handler=MotoRequestHandler, name="aws").start()
    yield server.url
    server.stop()


@pytest.fixture
def sns(endpoint):
    return boto3.client("sns", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="local", aws_secret_access_key="local")


def _phone() -> str:
    return "+1415555" + str(uuid.uuid4().int)[:4]


def test_a_publish_to_a_phone_number_shows_at_sms_messages(endpoint, sns):
    phone = _phone()
    message_id = sns.publish(PhoneNumber=phone,
                             Message="Your request r-1 is fulfilled")["MessageId"]
    everything = requests.get(endpoint + SMS_PATH, timeout=10).json()
    assert everything["region"] == "us-east-1"
    assert everything["sms_messages"][phone] == [
        {"PhoneNumber": phone, "MessageId": message_id,
         "Message": "Your request r-1 is fulfilled"}]
    one = requests.get(endpoint + SMS_PATH, params={"phoneNumber": phone}, timeout=10).json()
    assert list(one["sms_messages"]) == [phone]
    nobody = requests.get(endpoint + SMS_PATH, params={"phoneNumber": "+10000000000"},
                          timeout=10).json()
    assert nobody["sms_messages"] == {"+10000000000": []}


def test_an_email_subscription_shows_what_it_would_have_received(endpoint, sns):
    topic = sns.create_topic(Name=f"notify-{uuid.uuid4().hex[:8]}")["TopicArn"]
    ann, bob = f"ann-{uuid.uuid4().hex[:6]}@example.com", f"bob-{uuid.uuid4().hex[:6]}@example.com"
    for address, user in ((ann, "ann"), (bob, "bob")):
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint=address,
                      Attributes={"FilterPolicy": json.dumps({"user_id": [user]})})
    attributes = {"user_id": {"DataType": "String", "StringValue": "ann"}}
    message_id = sns.publish(TopicArn=topic, Subject="Request r-1: fulfilled",
                             Message="Hello Ann, r-1 is fulfilled.",
                             MessageAttributes=attributes)["MessageId"]
    sns.publish(TopicArn=topic, MessageStructure="json",
                Message=json.dumps({"default": "fallback", "email": "Email text for Ann"}),
                MessageAttributes=attributes)
    emails = requests.get(endpoint + EMAIL_PATH, timeout=10).json()["email_messages"]
    assert bob not in emails
    first, second = emails[ann]
    assert first["MessageId"] == message_id and first["Subject"] == "Request r-1: fulfilled"
    assert first["Message"] == "Hello Ann, r-1 is fulfilled."
    assert first["TopicArn"] == topic and first["SubscriptionArn"].startswith(topic)
    assert first["MessageAttributes"]["user_id"]["Value"] == "ann"
    assert second["Message"] == "Email text for Ann"
    only_bob = requests.get(endpoint + EMAIL_PATH, params={"emailAddress": bob},
                            timeout=10).json()
    assert only_bob["email_messages"] == {bob: []}


def test_the_developer_endpoints_refuse_what_they_cannot_answer(endpoint):
    assert requests.delete(endpoint + SMS_PATH, timeout=10).status_code == 405
    assert requests.get(endpoint + EMAIL_PATH, params={"accountId": "x"},
                        timeout=10).status_code == 400


def test_the_end_users_page_lists_sms_and_emails_escaped(endpoint, sns):
    phone = _phone()
    sns.publish(PhoneNumber=phone, Message="<b>status</b> changed")
    partner = SamplePartner("http://127.0.0.1:9", developer_endpoint=endpoint, workers=0)
    page = partner.app.test_client().get("/end-users").get_data(as_text=True)
    assert phone in page and "&lt;b&gt;status&lt;/b&gt; changed" in page
    assert endpoint + SMS_PATH in page and endpoint + EMAIL_PATH in page
    assert "/end-users" in partner.app.test_client().get("/").get_data(as_text=True)
    offline = SamplePartner("http://127.0.0.1:9", workers=0).app.test_client()
    assert "nothing to show" in offline.get("/end-users").get_data(as_text=True)


def test_the_banner_prints_where_end_users_messages_are():
    stack = EmbeddedStack(Ports(1, 2, 3, 4), StackOptions())
    text = describe(stack)
    assert "http://127.0.0.1:4/end-users" in text
    assert f"http://127.0.0.1:1{SMS_PATH}" in text and f"http://127.0.0.1:1{EMAIL_PATH}" in text
