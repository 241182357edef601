"""Portal contact routes through the gateway: registration, reads, problem+json errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from partners.notifications.contacts import ContactStore
from tests.handlers.conftest import PORTAL_TOKEN, shared_session

PORTAL = {"Authorization": f"Bearer {PORTAL_TOKEN}"}
PATH = "/v1/portal/users/u-1/contact"


@pytest.fixture
def portal(world, stage, clock):
    """The portal API, its contact store on moto and the test's clock."""
    portal_api = world.handlers["portal_api"]
    deps = dataclasses.replace(
        portal_api.dependencies.get(),
        contacts=ContactStore(stage.spec.tables["contacts"].name,
                              stage.topic_arns["notifications"],
                              boto3_session=shared_session(), clock=clock))
    with portal_api.dependencies.override(deps):
        yield world.portal


def filter_policies(stage):
    sns = shared_session().client("sns")
    topic = stage.topic_arns["notifications"]
    return [(s["Endpoint"], json.loads(sns.get_subscription_attributes(
        SubscriptionArn=s["SubscriptionArn"])["Attributes"]["FilterPolicy"]))
        for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]]


def test_register_then_update_then_read(portal, stage, clock):
    body = {"email": "ana@example.com", "phone": "+44 7700 900123", "locale": "en-gb"}
    created = portal.call("PUT", PATH, headers=PORTAL, body=body)
    assert created.status == 201, created.text
    assert created.json() == {
        "user_id": "u-1", "email": "ana@example.com", "phone": "+447700900123",
        "channels": ["email", "sms"], "locale": "en-GB", "opted_out": False,
        "updated_at": "2026-11-23T10:00:00Z", "email_subscription": "confirmed"}
    assert filter_policies(stage) == [("ana@example.com", {"user_id": ["u-1"]})]

    clock.advance(minutes=5)
    updated = portal.call("PUT", PATH, headers=PORTAL,
                          body={"phone": "+447700900123", "opted_out": True})
    assert updated.status == 200
    assert updated.json()["email"] is None and updated.json()["email_subscription"] is None
    assert filter_policies(stage) == []

    read = portal.call("GET", PATH, headers=PORTAL)
    assert read.status == 200 and read.json()["opted_out"] is True
    assert read.json()["updated_at"] == "2026-11-23T10:05:00Z"


def test_unknown_user_is_a_404_problem(portal):
    response = portal.call("GET", "/v1/portal/users/nobody/contact", headers=PORTAL)
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    assert response.json()["type"] == "urn:pgw:problem:not-found"


@pytest.mark.parametrize("path,body,pointer", [
    (PATH, {"phone": "07700 900123"}, "/phone"),
    (PATH, {"email": "not-an-address"}, "/email"),
    (PATH, {"channels": ["sms"]}, "/channels"),
    (PATH, {"locale": "english"}, "/locale"),
    (PATH, {"fax": "+447700900123"}, "/fax"),
    (PATH, {"opted_out": "no"}, "/opted_out"),
    ("/v1/portal/users/bad$id/contact", {}, "/user_id"),
])
def test_invalid_fields_are_422_problems_naming_the_field(portal, path, body, pointer):
    response = portal.call("PUT", path, headers=PORTAL, body=body)
    assert response.status == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:validation-failed"
    assert problem["errors"][0]["pointer"] == pointer


def test_an_email_of_another_user_is_refused(portal, stage):
    assert portal.call("PUT", PATH, headers=PORTAL, body={"email": "ana@example.com"}).status == 201
    response = portal.call("PUT", "/v1/portal/users/u-2/contact", headers=PORTAL,
                           body={"email": "ana@example.com"})
    assert response.status == 422
    assert response.json()["errors"][0]["pointer"] == "/email"
    assert filter_policies(stage) == [("ana@example.com", {"user_id": ["u-1"]})]


@pytest.mark.parametrize("headers,body,status,slug", [
    ({**PORTAL, "Content-Type": "text/plain"}, "email=a", 415, "unsupported-media-type"),
    ({**PORTAL, "Content-Type": "application/json"}, "{not json", 400, "bad-request"),
    ({**PORTAL, "Content-Type": "application/json"}, "[1, 2]", 422, "validation-failed"),
    ({**PORTAL, "Content-Type": "application/json"}, "x" * 5000, 413, "payload-too-large"),
])
def test_malformed_bodies_are_problems(portal, headers, body, status, slug):
    response = portal.call("PUT", PATH, headers=headers, body=body)
    assert response.status == status
    assert response.json()["type"] == f"urn:pgw:problem:{slug}"


def test_only_the_portal_may_call(portal, world):
    assert portal.call("GET", PATH).status == 401
    partner = world.partner("acme")
    token = world.tokens.issue(partner.id, "prod").token
    response = portal.call("PUT", PATH, headers={"Authorization": f"Bearer {token}"},
                           body={"email": "ana@example.com"})
    assert response.status == 403


@pytest.mark.parametrize("text,pointer,detail", [
    ('{"email": "ana@example.com", "opted_out": NaN}', "/opted_out", "NaN is not a JSON number"),
    ('{"channels": [Infinity]}', "/channels/0", "Infinity is not a JSON number"),
    ('{"phone": -1e400}', "/phone", "beyond float range"),
    ('{"email": ' + "[" * 1500 + "]" * 1500 + "}", "/email" + "/0" * 31, "at most 32 levels"),
])
def test_non_finite_numbers_and_deep_nesting_are_422_problems(portal, text, pointer, detail):
    response = portal.call("PUT", PATH, headers={**PORTAL, "Content-Type": "application/json"},
                           body=text)
    assert response.status == 422, response.text[:300]
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:validation-failed"
    assert problem["errors"][0]["pointer"] == pointer
    assert detail in problem["errors"][0]["detail"]
    assert portal.call("GET", PATH, headers=PORTAL).status == 404  # nothing stored
