"""Contacts: validation tables, and the filtered email subscription kept in step (moto SNS)."""

from __future__ import annotations

import json

import pytest

from partners.notifications.contact_details import (
    mask_email,
    mask_phone,
    normalize_email,
    normalize_locale,
    normalize_phone,
    parse_contact,
)
from partners.notifications.contacts import ContactStore, filter_policy
from partners.notifications.exceptions import (
    ContactConflictError,
    ContactNotFoundError,
    EmailInUseError,
    InvalidContactError,
)


@pytest.mark.parametrize("raw,expected", [
    ("+14155550123", "+14155550123"),
    ("+49 151 1234 5678", "+4915112345678"),
    ("+44 (20) 7946-0958", "+442079460958"),
    ("+33.6.12.34.56.78", "+33612345678"),
])
def test_normalize_phone_accepts_e164(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize("raw", [
    "14155550123", "+04155550123", "+1 415 555 0123 4567 8", "+1415", "+1415555012a",
    "", 4155550123, None, "++14155550123",
])
def test_normalize_phone_refuses_anything_else(raw):
    with pytest.raises(InvalidContactError) as caught:
        normalize_phone(raw)
    assert caught.value.field == "phone"


@pytest.mark.parametrize("raw,expected", [
    ("ana@example.com", "ana@example.com"),
    ("Ana.Lopez+news@Example.COM", "Ana.Lopez+news@example.com"),
    ("  ana@mail.example.co.uk ", "ana@mail.example.co.uk"),
])
def test_normalize_email(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "ana", "ana@", "@example.com", "ana@example", "ana @example.com", "ana@exa mple.com",
    "ana@-example.com", "a" * 65 + "@example.com", "ana@exa\nmple.com", 42, None,
])
def test_normalize_email_refuses_anything_else(raw):
    with pytest.raises(InvalidContactError) as caught:
        normalize_email(raw)
    assert caught.value.field == "email"


@pytest.mark.parametrize("raw,expected", [
    ("en", "en"), ("EN", "en"), ("en-gb", "en-GB"), ("pt_BR", "pt-BR"), ("es-419", "es-419"),
])
def test_normalize_locale(raw, expected):
    assert normalize_locale(raw) == expected


@pytest.mark.parametrize("raw", ["english", "e", "en-GBR", "", 1, "en-"])
def test_normalize_locale_refuses_anything_else(raw):
    with pytest.raises(InvalidContactError):
        normalize_locale(raw)


@pytest.mark.parametrize("body,channels", [
    ({"email": "a@example.com", "phone": "+14155550123"}, ("email", "sms")),
    ({"email": "a@example.com"}, ("email",)),
    ({"phone": "+14155550123"}, ("sms",)),
    ({}, ()),
    ({"email": "a@example.com", "phone": "+14155550123", "channels": ["sms"]}, ("sms",)),
    ({"email": "a@example.com", "channels": []}, ()),
    ({"email": "a@example.com", "phone": "+14155550123", "channels": ["sms", "email"]},
     ("email", "sms")),
])
def test_parse_contact_default_and_explicit_channels(body, channels):
    assert parse_contact("u-1", body).channels == channels


@pytest.mark.parametrize("user_id,body,field", [
    ("u-1", {"channels": ["sms"]}, "channels"),
    ("u-1", {"phone": "+14155550123", "channels": ["email"]}, "channels"),
    ("u-1", {"channels": ["pigeon"]}, "channels"),
    ("u-1", {"channels": "sms"}, "channels"),
    ("u-1", {"opted_out": "yes"}, "opted_out"),
    ("u-1", {"locale": "klingon"}, "locale"),
    ("u-1", {"fax": "+14155550123"}, "fax"),
    ("u-1", {"phone": "0151 12345678"}, "phone"),
    ("bad id!", {}, "user_id"),
    ("x" * 65, {}, "user_id"),
    ("u-1\n", {}, "user_id"),
    ("u-1", ["not", "an", "object"], None),
])
def test_parse_contact_refuses_bad_input_naming_the_field(user_id, body, field):
    with pytest.raises(InvalidContactError) as caught:
        parse_contact(user_id, body)
    assert caught.value.field == field


def test_masking_keeps_logs_free_of_addresses():
    assert mask_email("ana.lopez@example.com") == "a***@example.com"
    assert mask_phone("+4915112345678") == "+49*******5678"
    assert mask_phone("+0123") == "+0***"
    assert mask_phone(None) == "" and mask_email(None) == ""


# --- store against moto ------------------------------------------------------------------

@pytest.fixture
def store(stage, spec, aws, clock):
    return ContactStore(spec.tables["contacts"].name, stage.topic_arns["notifications"],
                        boto3_session=aws, clock=clock)


def _subscriptions(aws, topic_arn):
    sns = aws.client("sns")
    result = []
    for subscription in sns.list_subscriptions_by_topic(TopicArn=topic_arn)["Subscriptions"]:
        attributes = sns.get_subscription_attributes(
            SubscriptionArn=subscription["SubscriptionArn"])["Attributes"]
        result.append((subscription["Protocol"], subscription["Endpoint"],
                       json.loads(attributes.get("FilterPolicy", "null"))))
    return result


def test_registering_an_email_creates_the_filtered_subscription(store, stage, aws):
    contact = store.put("u-1", {"email": "ana@example.com", "phone": "+14155550123",
                                "locale": "en-GB"})
    topic = stage.topic_arns["notifications"]
    assert _subscriptions(aws, topic) == [("email", "ana@example.com", {"user_id": ["u-1"]})]
    assert contact.subscription_arn.startswith(topic + ":")
    stored = store.get("u-1")
    assert stored == contact
    assert stored.version == 1 and stored.locale == "en-GB"
    assert store.email_confirmed(stored) is True  # moto confirms at once; AWS emails a link
    assert "subscription_arn" not in stored.to_public()


def test_the_filter_policy_lets_only_the_users_messages_through(store, stage, aws):
    """An SQS subscription with the same policy shows what the email endpoint would get."""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    topic = stage.topic_arns["notifications"]
    store.put("u-1", {"email": "ana@example.com"})
    queue_url = sqs.create_queue(QueueName="probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url,
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                  Attributes={"FilterPolicy": filter_policy("u-1"), "RawMessageDelivery": "true"})
    for user in ("u-2", "u-1", "u-3"):
        sns.publish(TopicArn=topic, Message=f"for {user}", Subject="s",
                    MessageAttributes={"user_id": {"DataType": "String", "StringValue": user}})
    bodies = [m["Body"] for m in sqs.receive_message(QueueUrl=queue_url,
                                                     MaxNumberOfMessages=10)["Messages"]]
    assert bodies == ["for u-1"]


def test_changing_the_email_moves_the_subscription(store, stage, aws, clock):
    first = store.put("u-1", {"email": "ana@example.com"})
    clock.advance(minutes=1)
    second = store.put("u-1", {"email": "ana@work.example.org"})
    topic = stage.topic_arns["notifications"]
    assert _subscriptions(aws, topic) == [("email", "ana@work.example.org",
                                           {"user_id": ["u-1"]})]
    assert second.subscription_arn != first.subscription_arn
    assert second.version == 2 and second.updated_at > first.updated_at
    # The old address is free again for someone else.
    store.put("u-2", {"email": "ana@example.com"})


def test_removing_the_email_unsubscribes(store, stage, aws):
    store.put("u-1", {"email": "ana@example.com", "phone": "+14155550123"})
    contact = store.put("u-1", {"phone": "+14155550123"})
    assert _subscriptions(aws, stage.topic_arns["notifications"]) == []
    assert contact.subscription_arn is None and contact.channels == ("sms",)
    assert store.email_confirmed(contact) is None


def test_same_email_again_keeps_the_subscription(store, stage, aws):
    first = store.put("u-1", {"email": "ana@example.com"})
    second = store.put("u-1", {"email": "ana@example.com", "opted_out": True})
    assert second.subscription_arn == first.subscription_arn
    assert second.opted_out and not second.wants("email")
    assert len(_subscriptions(aws, stage.topic_arns["notifications"])) == 1


def test_an_email_belongs_to_one_user(store, stage, aws):
    store.put("u-1", {"email": "ana@example.com"})
    with pytest.raises(EmailInUseError) as caught:
        store.put("u-2", {"email": "ANA@example.com"})
    assert caught.value.field == "email"
    assert store.find("u-2") is None
    assert _subscriptions(aws, stage.topic_arns["notifications"]) == [
        ("email", "ana@example.com", {"user_id": ["u-1"]})]


def test_a_concurrent_write_is_refused_and_leaves_no_subscription(store, stage, aws, spec,
                                                                  monkeypatch):
    store.put("u-1", {"email": "ana@example.com"})
    stale = store.get("u-1")
    other = ContactStore(store.table_name, store.topic_arn, boto3_session=aws)
    other.put("u-1", {"email": "ana@example.com", "locale": "fr"})
    monkeypatch.setattr(store, "find", lambda user_id: stale if user_id == "u-1" else None)
    with pytest.raises(ContactConflictError):
        store.put("u-1", {"email": "bob@example.com"})
    assert store.get("u-1").locale == "fr"
    assert [s[1] for s in _subscriptions(aws, stage.topic_arns["notifications"])] == [
        "ana@example.com"]
    # bob's claim was released with the failed attempt
    store.put("u-9", {"email": "bob@example.com"})


def test_delete_unsubscribes_and_forgets(store, stage, aws):
    store.put("u-1", {"email": "ana@example.com"})
    store.delete("u-1")
    store.delete("u-1")
    assert _subscriptions(aws, stage.topic_arns["notifications"]) == []
    with pytest.raises(ContactNotFoundError):
        store.get("u-1")


def test_get_unknown_user(store):
    with pytest.raises(ContactNotFoundError):
        store.get("nobody")


def test_an_address_sns_refuses_is_not_kept_claimed(store, aws, monkeypatch):
    from botocore.exceptions import ClientError

    def refuse(**_):
        raise ClientError({"Error": {"Code": "InvalidParameter",
                                     "Message": "Invalid parameter: Email address"}}, "Subscribe")

    monkeypatch.setattr(store._sns, "subscribe", refuse)
    with pytest.raises(InvalidContactError) as caught:
        store.put("u-1", {"email": "ana@example.com"})
    assert caught.value.field == "email"
    assert store.find("u-1") is None
    monkeypatch.undo()
    store.put("u-2", {"email": "ana@example.com"})  # free for anyone
