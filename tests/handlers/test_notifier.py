"""The notifier against moto SNS: SMS and email sent once per event, opt-out, bad numbers."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from partners.contacts import ContactStore
from partners.notification_errors import (
    NotificationInProgressError,
    TemporaryNotificationError,
)
from partners.notifier import NotificationLedger, Notifier, Outcome, classify_error
from partners.notifications import gsm7_length, is_gsm7
from partners.projections import fold
from partners.requests import RequestLog

REGION = "us-east-1"
PHONE = "+14155550123"


@dataclass
class Context:
    function_name: str = "pgw-test-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-notifier"
    aws_request_id: str = "req-1"


def status_event(event_id="evt-1", status="accepted", request_id="r-42", **detail):
    return {
        "version": "0", "id": event_id, "detail-type": "Request Status Changed",
        "source": "marketplace.requests", "account": DEFAULT_ACCOUNT_ID,
        "time": "2026-11-23T10:00:00Z", "region": REGION, "resources": [],
        "detail": {"environment": "prod", "request_id": request_id,
                   "request_type": "mortgage.application", "occurred_at": "2026-11-23T10:00:00Z",
                   "schema_version": "1", "user_id": "u-1", "partner_id": "p-acme",
                   "partner_name": "Acme Bank", "status": status, **detail},
    }


@pytest.fixture
def sns_backend(stage):
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION]


@pytest.fixture
def topic(stage, sns_backend):
    return sns_backend.topics[stage.topic_arns["notifications"]]


@pytest.fixture
def request_log(stage, aws, clock):
    log = RequestLog(stage.spec.tables["request_events"].name, boto3_session=aws, clock=clock)
    log.create({"environment": "prod", "request_id": "r-42",
                "request_type": "mortgage.application", "occurred_at": "2026-11-23T09:00:00Z",
                "schema_version": "1", "user_id": "u-1", "attributes": {}})
    return log


@pytest.fixture
def contacts(stage, aws, clock):
    return ContactStore(stage.spec.tables["contacts"].name, stage.topic_arns["notifications"],
                        boto3_session=aws, clock=clock)


class PublishRecorder(list):
    """Every SNS Publish call's parameters as sent on the wire; can throttle the next few."""

    def __init__(self):
        super().__init__()
        self.throttle_topic_publishes = 0

    def __call__(self, params, **_):
        body = params["body"]
        if "TopicArn" in body and self.throttle_topic_publishes:
            self.throttle_topic_publishes -= 1
            raise ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}},
                              "Publish")
        self.append(body)


@pytest.fixture
def published(aws):
    recorder = PublishRecorder()
    # Registered before any client is made: clients copy the session's hooks when created.
    aws.events.register("before-call.sns.Publish", recorder)
    return recorder


@pytest.fixture
def notifier(stage, aws, clock, contacts, request_log, published):
    return Notifier(contacts=contacts,
                    ledger=NotificationLedger(stage.spec.tables["idempotency"].name,
                                              boto3_session=aws, clock=clock),
                    request_log=request_log, topic_arn=stage.topic_arns["notifications"],
                    sender_id="Marketplace", boto3_session=aws)


def sms_messages(sns_backend):
    return list(sns_backend.sms_messages.values())


def test_sms_and_email_are_sent_with_number_text_and_attributes(
        notifier, contacts, sns_backend, topic, published):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    result = notifier.notify(status_event())
    assert result.outcome == Outcome.SENT and result.sent == ("sms", "email")

    [(number, text)] = sms_messages(sns_backend)
    assert number == PHONE
    assert "Acme Bank" in text and "r-42" in text and "accepted" in text
    assert is_gsm7(text) and gsm7_length(text) <= 160
    sms_call = next(c for c in published if "PhoneNumber" in c)
    assert sms_call["MessageAttributes.entry.1.Name"] == "AWS.SNS.SMS.SMSType"
    assert sms_call["MessageAttributes.entry.1.Value.StringValue"] == "Transactional"
    assert sms_call["MessageAttributes.entry.2.Name"] == "AWS.SNS.SMS.SenderID"
    assert sms_call["MessageAttributes.entry.2.Value.StringValue"] == "Marketplace"

    [(_, body, subject, attributes, _)] = topic.sent_notifications
    assert attributes == {"user_id": {"Type": "String", "Value": "u-1"}}
    assert subject == "Acme Bank accepted your mortgage application request"
    assert "r-42" in body and "Acme Bank" in body


def test_email_reaches_only_the_users_filtered_subscription(notifier, contacts, aws, stage):
    sqs, sns = aws.client("sqs"), aws.client("sns")
    contacts.put("u-1", {"email": "ana@example.com"})
    queues = {}
    for user in ("u-1", "u-2"):
        url = sqs.create_queue(QueueName=f"inbox-{user}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        sns.subscribe(TopicArn=stage.topic_arns["notifications"], Protocol="sqs",
                      Endpoint=arn["Attributes"]["QueueArn"],
                      Attributes={"FilterPolicy": json.dumps({"user_id": [user]})})
        queues[user] = url
    notifier.notify(status_event())
    got = {user: sqs.receive_message(QueueUrl=url).get("Messages", [])
           for user, url in queues.items()}
    assert len(got["u-1"]) == 1 and got["u-2"] == []
    assert "Acme Bank" in json.loads(got["u-1"][0]["Body"])["Message"]


def test_a_duplicate_delivery_sends_nothing_more(notifier, contacts, sns_backend, topic):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    assert notifier.notify(status_event()).outcome == Outcome.SENT
    assert notifier.notify(status_event()).outcome == Outcome.DUPLICATE
    assert len(sms_messages(sns_backend)) == 1
    assert len(topic.sent_notifications) == 1
    # Another status event for the same request is another notification.
    assert notifier.notify(status_event("evt-2", status="fulfilled")).outcome == Outcome.SENT
    assert len(sms_messages(sns_backend)) == 2


def test_a_replayed_event_is_not_notified_again(notifier, contacts, sns_backend, topic):
    """An archive replay carries the same detail, whatever its event id."""
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    notifier.notify(status_event("evt-1"))
    replayed = {**status_event("evt-replayed-77"), "replay-name": "fix-notifier"}
    assert notifier.notify(replayed).outcome == Outcome.DUPLICATE
    assert len(sms_messages(sns_backend)) == 1 and len(topic.sent_notifications) == 1
    # A replay of an event that never got through is sent.
    missed = {**status_event("evt-replayed-78", status="declined"), "replay-name": "fix-notifier"}
    assert notifier.notify(missed).sent == ("sms", "email")


def test_a_delivery_while_another_is_in_flight_is_retried_later(notifier, stage, aws, clock):
    ledger = notifier.ledger
    assert ledger.claim("evt-1") is not None
    with pytest.raises(NotificationInProgressError):
        ledger.claim("evt-1")
    # The holder died: once its lease is over, the event can be taken again.
    clock.advance(minutes=3)
    assert ledger.claim("evt-1") is not None
    ledger.complete("evt-1")
    assert ledger.claim("evt-1") is None


@pytest.mark.parametrize("body", [
    {"email": "ana@example.com", "phone": PHONE, "opted_out": True},
    {"email": "ana@example.com", "phone": PHONE, "channels": []},
])
def test_opted_out_users_get_nothing(notifier, contacts, sns_backend, topic, body):
    contacts.put("u-1", body)
    result = notifier.notify(status_event())
    assert result.outcome in (Outcome.OPTED_OUT, Outcome.NO_CHANNEL)
    assert sms_messages(sns_backend) == [] and topic.sent_notifications == []


def test_a_user_without_contact_details_gets_nothing(notifier, sns_backend, topic):
    assert notifier.notify(status_event()).outcome == Outcome.NO_CONTACT
    assert sms_messages(sns_backend) == [] and topic.sent_notifications == []


def test_channels_are_honoured(notifier, contacts, sns_backend, topic):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE, "channels": ["email"]})
    assert notifier.notify(status_event()).sent == ("email",)
    assert sms_messages(sns_backend) == [] and len(topic.sent_notifications) == 1


def test_an_invalid_number_is_recorded_on_the_timeline_and_not_retried(
        notifier, contacts, stage, aws, sns_backend, topic, request_log):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    # A number SNS refuses (stored before validation was as strict, or gone bad since).
    aws.client("dynamodb").update_item(
        TableName=stage.spec.tables["contacts"].name, Key={"user_id": {"S": "u-1"}},
        UpdateExpression="SET phone = :p", ExpressionAttributeValues={":p": {"S": "+0123"}})
    result = notifier.notify(status_event())
    assert result.outcome == Outcome.SENT
    assert result.failed == ("sms",) and result.sent == ("email",)
    assert sms_messages(sns_backend) == [] and len(topic.sent_notifications) == 1

    failures = [e for e in request_log.events("r-42") if e.type == "notification.failed"]
    assert len(failures) == 1
    assert failures[0].data["channel"] == "sms"
    assert failures[0].data["code"] == "InvalidParameter"
    assert failures[0].data["destination"] == "+0***"
    timeline = fold(request_log.events("r-42")).timeline
    assert timeline[-1]["type"] == "notification.failed" and timeline[-1]["channel"] == "sms"

    # A redelivery neither retries the number nor records the failure again.
    assert notifier.notify(status_event()).outcome == Outcome.DUPLICATE
    assert len([e for e in request_log.events("r-42")
                if e.type == "notification.failed"]) == 1


def test_a_temporary_failure_raises_and_the_retry_sends_only_what_is_missing(
        notifier, contacts, published, sns_backend, topic):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    published.throttle_topic_publishes = 1
    with pytest.raises(TemporaryNotificationError) as caught:
        notifier.notify(status_event())
    assert caught.value.channel == "email" and caught.value.code == "Throttling"
    assert len(sms_messages(sns_backend)) == 1 and topic.sent_notifications == []

    result = notifier.notify(status_event())
    assert result.outcome == Outcome.SENT and result.sent == ("email",)
    assert len(sms_messages(sns_backend)) == 1 and len(topic.sent_notifications) == 1
    assert notifier.notify(status_event()).outcome == Outcome.DUPLICATE


def test_the_user_comes_from_the_request_log_when_the_event_has_none(
        notifier, contacts, sns_backend):
    contacts.put("u-1", {"phone": PHONE})
    event = status_event()
    del event["detail"]["user_id"]
    assert notifier.notify(event).sent == ("sms",)
    unknown = status_event("evt-10", request_id="r-unknown")
    del unknown["detail"]["user_id"]
    assert notifier.notify(unknown).outcome == Outcome.UNKNOWN_REQUEST


@pytest.mark.parametrize("event", [
    {"id": "e", "detail-type": "Request Created", "detail": {}},
    {"id": "", "detail-type": "Request Status Changed", "detail": {}},
    status_event(status="teleported"),
])
def test_invalid_events_are_dropped_not_retried(notifier, event, sns_backend):
    assert notifier.notify(event).outcome == Outcome.INVALID_EVENT
    assert sms_messages(sns_backend) == []


@pytest.mark.parametrize("code,kind", [
    ("InvalidParameter", "Permanent"), ("InvalidParameterValue", "Permanent"),
    ("EndpointDisabled", "Permanent"), ("Throttling", "Temporary"),
    ("InternalError", "Temporary"), ("KMSThrottling", "Temporary"),
])
def test_classify_error(code, kind):
    error = ClientError({"Error": {"Code": code, "Message": "m"}}, "Publish")
    assert type(classify_error("sms", error)).__name__ == f"{kind}NotificationError"


@pytest.mark.parametrize("sender_id", ["", None, "Acme", "MARKET2026", "A1"])
def test_sender_id_accepted(sender_id, stage, aws, contacts, request_log):
    Notifier(contacts=contacts, ledger=None, request_log=request_log, topic_arn="t",
             sender_id=sender_id, boto3_session=aws)


@pytest.mark.parametrize("sender_id", ["12345", "Marketplace1", "Acme Bank", "Acmé"])
def test_sender_id_refused(sender_id, aws, contacts, request_log):
    with pytest.raises(ValueError):
        Notifier(contacts=contacts, ledger=None, request_log=request_log, topic_arn="t",
                 sender_id=sender_id, boto3_session=aws)


# --- the Lambda handler ------------------------------------------------------------------

@pytest.fixture
def handler(stage, monkeypatch):
    import handlers.notifier as module

    for name, value in stage.environment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGW_SMS_SENDER_ID", "Marketplace")
    module.reset()
    yield module
    module.reset()


def test_handler_notifies_once_and_raises_only_for_temporary_failures(
        handler, stage, aws, sns_backend, topic, request_log):
    ContactStore(stage.spec.tables["contacts"].name, stage.topic_arns["notifications"],
                 boto3_session=aws).put("u-1", {"email": "ana@example.com", "phone": PHONE})
    first = handler.lambda_handler(status_event(), Context())
    second = handler.lambda_handler(status_event(), Context())
    assert first["outcome"] == "sent" and first["sent"] == ["sms", "email"]
    assert second["outcome"] == "duplicate"
    assert [number for number, _ in sms_messages(sns_backend)] == [PHONE]
    assert len(topic.sent_notifications) == 1


def test_handler_refuses_a_bad_sender_id(handler, monkeypatch):
    monkeypatch.setenv("PGW_SMS_SENDER_ID", "not valid!")
    with pytest.raises(ValueError):
        handler.lambda_handler(status_event(), Context())
