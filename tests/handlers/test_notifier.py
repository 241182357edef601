"""The notifier against moto SNS: SMS and email per recorded status change, opt-out, bad
numbers, and the stream handler's partial batch responses."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from botocore.exceptions import ClientError
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from partners.notifications.contacts import ContactStore
from partners.notifications.exceptions import TemporaryNotificationError
from partners.notifications.notifier import Notifier, Outcome, classify_error, status_change
from partners.notifications.templates import gsm7_length, is_gsm7
from partners.requests.log import RequestLog
from partners.requests.events import LogEvent
from partners.requests.projections import fold

REGION = "us-east-1"
PHONE = "+14155550123"


@dataclass
class Context:
    function_name: str = "pgw-test-notifier"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-notifier"
    aws_request_id: str = "req-1"


def logged(sequence=3, status="accepted", request_id="r-42", type="request.status_changed",
           **data):
    """A `request.status_changed` log event as the partner API appends it."""
    return LogEvent(request_id, sequence, type, {
        "partner_id": "p-acme", "environment": "prod", "partner_name": "Acme Bank",
        "status": status, "previous_status": None, "occurred_at": "2026-11-23T10:00:00Z",
        "command_id": f"c{sequence}", "user_id": "u-1", "request_type": "mortgage.application",
        **data}, "2026-11-23T10:00:01Z", "p-acme", "prod")


def change(**kwargs):
    return status_change(logged(**kwargs))


def stream_record(event: LogEvent, name="INSERT"):
    """The stream record of a log item, as Lambda hands it over."""
    image = {"request_id": {"S": event.request_id}, "sequence": {"N": str(event.sequence)},
             "type": {"S": event.type}, "recorded_at": {"S": event.recorded_at},
             "data": {"S": json.dumps(event.data)}}
    return {"eventName": name, "eventSource": "aws:dynamodb",
            "dynamodb": {"Keys": {k: image[k] for k in ("request_id", "sequence")},
                         "NewImage": image, "SequenceNumber": f"{event.sequence:021d}"}}


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
    return Notifier(contacts=contacts, request_log=request_log,
                    topic_arn=stage.topic_arns["notifications"], sender_id="Marketplace",
                    boto3_session=aws)


def sms_messages(sns_backend):
    return list(sns_backend.sms_messages.values())


def test_sms_and_email_are_sent_with_number_text_and_attributes(
        notifier, contacts, sns_backend, topic, published):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    result = notifier.notify(change())
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
    notifier.notify(change())
    got = {user: sqs.receive_message(QueueUrl=url).get("Messages", [])
           for user, url in queues.items()}
    assert len(got["u-1"]) == 1 and got["u-2"] == []
    assert "Acme Bank" in json.loads(got["u-1"][0]["Body"])["Message"]


@pytest.mark.parametrize("body", [
    {"email": "ana@example.com", "phone": PHONE, "opted_out": True},
    {"email": "ana@example.com", "phone": PHONE, "channels": []},
])
def test_opted_out_users_get_nothing(notifier, contacts, sns_backend, topic, body):
    contacts.put("u-1", body)
    result = notifier.notify(change())
    assert result.outcome in (Outcome.OPTED_OUT, Outcome.NO_CHANNEL)
    assert sms_messages(sns_backend) == [] and topic.sent_notifications == []


def test_a_user_without_contact_details_gets_nothing(notifier, sns_backend, topic):
    assert notifier.notify(change()).outcome == Outcome.NO_CONTACT
    assert sms_messages(sns_backend) == [] and topic.sent_notifications == []


def test_channels_are_honoured(notifier, contacts, sns_backend, topic):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE, "channels": ["email"]})
    assert notifier.notify(change()).sent == ("email",)
    assert sms_messages(sns_backend) == [] and len(topic.sent_notifications) == 1


def test_an_invalid_number_is_recorded_on_the_timeline_and_not_retried(
        notifier, contacts, stage, aws, sns_backend, topic, request_log):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    # A number SNS refuses (stored before validation was as strict, or gone bad since).
    aws.client("dynamodb").update_item(
        TableName=stage.spec.tables["contacts"].name, Key={"user_id": {"S": "u-1"}},
        UpdateExpression="SET phone = :p", ExpressionAttributeValues={":p": {"S": "+0123"}})
    result = notifier.notify(change())
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



def test_a_temporary_failure_raises_and_stops_at_that_channel(
        notifier, contacts, published, sns_backend, topic):
    contacts.put("u-1", {"email": "ana@example.com", "phone": PHONE})
    published.throttle_topic_publishes = 1
    with pytest.raises(TemporaryNotificationError) as caught:
        notifier.notify(change())
    assert caught.value.channel == "email" and caught.value.code == "Throttling"
    assert len(sms_messages(sns_backend)) == 1 and topic.sent_notifications == []
    # The retry sends the change whole: at least once per channel.
    assert notifier.notify(change()).sent == ("sms", "email")
    assert len(sms_messages(sns_backend)) == 2 and len(topic.sent_notifications) == 1


def test_the_user_and_type_come_from_the_request_log_when_the_change_lacks_them(
        notifier, contacts, sns_backend, topic):
    contacts.put("u-1", {"phone": PHONE, "email": "ana@example.com"})
    earlier = logged()
    del earlier.data["user_id"], earlier.data["request_type"]
    assert notifier.notify(status_change(earlier)).sent == ("sms", "email")
    assert topic.sent_notifications[0][2] == "Acme Bank accepted your mortgage application request"
    unknown = logged(request_id="r-unknown")
    del unknown.data["user_id"]
    assert notifier.notify(status_change(unknown)).outcome == Outcome.UNKNOWN_REQUEST


@pytest.mark.parametrize("event", [
    logged(type="request.routed"),
    logged(status="teleported"),
    logged(partner_id=""),
])
def test_malformed_changes_are_refused(event):
    with pytest.raises(ValueError):
        status_change(event)


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
    Notifier(contacts=contacts, request_log=request_log, topic_arn="t",
             sender_id=sender_id, boto3_session=aws)


@pytest.mark.parametrize("sender_id", ["12345", "Marketplace1", "Acme Bank", "Acmé"])
def test_sender_id_refused(sender_id, aws, contacts, request_log):
    with pytest.raises(ValueError):
        Notifier(contacts=contacts, request_log=request_log, topic_arn="t",
                 sender_id=sender_id, boto3_session=aws)


# --- the Lambda handler ------------------------------------------------------------------

@pytest.fixture
def handler(stage, monkeypatch):
    import handlers.notifier as module

    for name, value in stage.environment_variables().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("PGW_SMS_SENDER_ID", "Marketplace")
    # Nothing built: the first invocation builds from the environment just set.
    with module.dependencies.override():
        yield module


def test_handler_notifies_status_changes_and_skips_other_items(
        handler, stage, aws, sns_backend, topic, request_log):
    ContactStore(stage.spec.tables["contacts"].name, stage.topic_arns["notifications"],
                 boto3_session=aws).put("u-1", {"email": "ana@example.com", "phone": PHONE})
    batch = {"Records": [
        stream_record(logged(2, type="request.routed")),
        stream_record(logged(3, status="received")),
        stream_record(logged(4, status="teleported")),  # malformed: skipped, not retried
        stream_record(logged(5, status="accepted"), name="MODIFY"),
        stream_record(logged(6, status="accepted")),
    ]}
    assert handler.lambda_handler(batch, Context()) == {"batchItemFailures": []}
    texts = [text for _, text in sms_messages(sns_backend)]
    assert len(texts) == 2 and "received" in texts[0] and "accepted" in texts[1]
    assert len(topic.sent_notifications) == 2


def test_handler_reports_the_first_unfinished_change_and_the_retry_resumes_there(
        handler, stage, aws, topic, request_log, published):
    ContactStore(stage.spec.tables["contacts"].name, stage.topic_arns["notifications"],
                 boto3_session=aws).put("u-1", {"email": "ana@example.com"})
    records = [stream_record(logged(n, status=s))
               for n, s in ((3, "received"), (4, "in_progress"), (5, "accepted"))]
    publishes = []

    def throttle_the_second(params, **_):
        publishes.append(params["body"].get("Subject"))
        if len(publishes) == 2:
            raise ClientError({"Error": {"Code": "Throttling", "Message": "slow"}}, "Publish")

    handler.dependencies.get()._sns.meta.events.register("before-call.sns.Publish",
                                                         throttle_the_second)

    def subjects():
        return [notification[2] for notification in topic.sent_notifications]

    answer = handler.lambda_handler({"Records": records}, Context())
    # Reported at the first unfinished change; the third was not tried.
    assert answer == {"batchItemFailures": [
        {"itemIdentifier": records[1]["dynamodb"]["SequenceNumber"]}]}
    assert subjects() == ["Acme Bank has received your mortgage application request"]
    # Lambda retries from the reported record: nothing before it is sent again.
    assert handler.lambda_handler({"Records": records[1:]}, Context()) == \
        {"batchItemFailures": []}
    assert subjects() == ["Acme Bank has received your mortgage application request",
                          "Acme Bank is working on your mortgage application request",
                          "Acme Bank accepted your mortgage application request"]


def test_handler_refuses_a_bad_sender_id(handler, monkeypatch):
    monkeypatch.setenv("PGW_SMS_SENDER_ID", "not valid!")
    with pytest.raises(ValueError):
        handler.lambda_handler({"Records": [stream_record(logged())]}, Context())
