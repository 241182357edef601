"""Portal intake: create requests, documents by presigned PUT, the state read; who may call."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlparse

import pytest

from handlers.api import json_response
from tests.handlers.conftest import PORTAL_TOKEN, shared_session


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


AUTH = {"Authorization": f"Bearer {PORTAL_TOKEN}"}
BODY = {"environment": "prod", "request_type": "stock.check", "user_id": "u1",
        "attributes": {"sku": "A-1"}}


def tap(world):
    stage = world.stage
    sqs, events = shared_session().client("sqs"), shared_session().client("events")
    queue = sqs.create_queue(QueueName="created-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="created-tap", EventBusName=stage.spec.bus_name,
                    EventPattern=json.dumps({"detail-type": ["Request Created"]}))
    events.put_targets(Rule="created-tap", EventBusName=stage.spec.bus_name,
                       Targets=[{"Id": "q", "Arn": arn}])
    return lambda: [json.loads(m["Body"]) for m in sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])]


def test_create_appends_created_and_puts_request_created(world):
    stage = world.stage
    received = tap(world)
    body = {**BODY, "documents": [{"name": "a.pdf", "content_type": "application/pdf",
                                   "size": 12}]}
    response = world.portal.call("POST", "/v1/portal/requests", headers=AUTH, body=body)
    assert response.status == 202, response.text
    result = response.json()
    request_id = result["request_id"]
    assert result["occurred_at"] == "2026-11-23T10:00:00Z"
    assert response.headers["Location"] == result["status_url"] == f"/v1/portal/requests/{request_id}"
    [upload] = result["uploads"]
    assert upload["method"] == "PUT" and upload["headers"] == {"Content-Type": "application/pdf"}
    assert int(parse_qs(urlparse(upload["url"]).query)["X-Amz-Expires"][0]) == 900
    [event] = received()
    detail = event["detail"]
    assert event["detail-type"] == "Request Created" and detail["environment"] == "prod"
    assert detail["request_id"] == request_id
    [document] = detail["documents"]
    assert document["key"] == f"requests/{request_id}/{upload['document_id']}"
    assert document["bucket"] == stage.spec.buckets["documents"].name
    log = world.handlers["portal_api"].dependencies.get().log
    assert [e.type for e in log.events(request_id)] == ["request.created"]


def test_uploads_land_in_the_documents_bucket(world):
    import requests  # noqa: F401 - only to prove the URL is a plain HTTP PUT target

    body = {**BODY, "documents": [{"content_type": "text/plain"}]}
    upload = world.portal.call("POST", "/v1/portal/requests", headers=AUTH, body=body).json()[
        "uploads"][0]
    assert urlparse(upload["url"]).path.endswith(upload["document_id"])


def test_an_idempotency_key_makes_creation_safe_to_retry(world):
    headers = {**AUTH, "Idempotency-Key": "create-1"}
    first = world.portal.call("POST", "/v1/portal/requests", headers=headers, body=BODY)
    again = world.portal.call("POST", "/v1/portal/requests", headers=headers, body=BODY)
    assert first.status == again.status == 202 and first.json() == again.json()
    other = world.portal.call("POST", "/v1/portal/requests", headers=headers,
                              body={**BODY, "user_id": "u2"})
    assert other.status == 422


@pytest.mark.parametrize("change,pointer", [
    ({"environment": "staging"}, "/environment"),
    ({"request_type": "Bad Type"}, "/request_type"),
    ({"user_id": ""}, "/user_id"),
    ({"attributes": {"bad key": 1}}, "/attributes"),
    ({"attributes": {"nested": {"a": 1}}}, "/attributes/nested"),
    ({"documents": [{"content_type": "pdf"}]}, "/documents/0/content_type"),
    ({"documents": [{"content_type": "a/b", "size": -1}]}, "/documents/0/size"),
    ({"surprise": True}, "/surprise"),
])
def test_invalid_requests_are_422_with_pointers(world, change, pointer):
    response = world.portal.call("POST", "/v1/portal/requests", headers=AUTH,
                                 body={**BODY, **change})
    assert response.status == 422, response.text
    assert pointer in [e["pointer"] for e in response.json()["errors"]]


def test_missing_fields_are_named(world):
    response = world.portal.call("POST", "/v1/portal/requests", headers=AUTH, body={})
    pointers = [e["pointer"] for e in response.json()["errors"]]
    assert {"/environment", "/request_type", "/user_id", "/attributes"} <= set(pointers)


def test_add_a_document_later(world):
    request_id = world.create_request()
    response = world.portal.call("POST", f"/v1/portal/requests/{request_id}/documents",
                                 headers=AUTH, body={"name": "late.png",
                                                     "content_type": "image/png"})
    assert response.status == 201, response.text
    log = world.handlers["portal_api"].dependencies.get().log
    assert log.events(request_id)[-1].type == "request.document_added"
    missing = world.portal.call("POST", "/v1/portal/requests/r-nope/documents", headers=AUTH,
                                body={"content_type": "image/png"})
    assert missing.status == 404


def test_read_the_request_with_every_partners_status(world):
    pa, pb = world.partner("alpha"), world.partner("beta")
    request_id = world.create_request()
    world.route(request_id, pa.id)
    world.route(request_id, pb.id, mode="push")
    world.post_status(request_id, world.token(pa.id, "prod"), {"status": "accepted"})
    world.pump.pump()
    response = world.portal.call("GET", f"/v1/portal/requests/{request_id}", headers=AUTH)
    assert response.status == 200
    routes = {r["partner_id"]: r["status"] for r in response.json()["routes"]}
    assert routes == {pa.id: "accepted", pb.id: "pending"}


def test_partner_tokens_and_anonymous_callers_are_refused(world):
    partner = world.partner("acme")
    token = world.token(partner.id, "prod")
    response = world.portal.call("POST", "/v1/portal/requests",
                                 headers={"Authorization": f"Bearer {token}"}, body=BODY)
    assert response.status == 403
    assert world.portal.call("POST", "/v1/portal/requests", body=BODY).status == 401


def test_iam_callers_need_no_token(world):
    from tests.handlers.gateway import LambdaContext, proxy_event

    event = proxy_event("POST", "/v1/portal/requests", body=BODY,
                        identity={"userArn": "arn:aws:iam::123456789012:role/portal"})
    response = world.handlers["portal_api"].lambda_handler(event, LambdaContext())
    assert response["statusCode"] == 202
    bare = proxy_event("POST", "/v1/portal/requests", body=BODY)
    assert world.handlers["portal_api"].lambda_handler(bare, LambdaContext())["statusCode"] == 401


# --- strict JSON (issue 14): NaN, Infinity, huge numbers, deep nesting -------------------------

@pytest.mark.parametrize("value,pointer,detail", [
    ("NaN", "/attributes/qty", "NaN is not a JSON number"),
    ("Infinity", "/attributes/qty", "Infinity is not a JSON number"),
    ("-Infinity", "/attributes/qty", "-Infinity is not a JSON number"),
    ("1e400", "/attributes/qty", "beyond float range"),
    ("-1e999", "/attributes/qty", "beyond float range"),
    ("1" + "0" * 400, "/attributes/qty", "beyond float range"),
    ("[" * 5000 + "]" * 5000, "/attributes/qty" + "/0" * 30, "at most 32 levels"),
    ('{"a":' * 5000 + "1" + "}" * 5000, "/attributes/qty" + "/a" * 30, "at most 32 levels"),
])
def test_non_finite_numbers_and_deep_nesting_are_refused_and_nothing_is_created(
        world, value, pointer, detail, monkeypatch):
    deps = world.handlers["portal_api"].dependencies.get()
    put: list = []
    bus = type("Bus", (), {"put_events": lambda _, **entry: put.append(entry)})
    monkeypatch.setattr(deps, "events", bus())
    text = json.dumps(BODY)[:-2] + ', "qty": ' + value + "}}"
    response = world.portal.call("POST", "/v1/portal/requests", body=text,
                                 headers={**AUTH, "Content-Type": "application/json"})
    assert response.status == 422, response.text[:300]
    assert response.content_type == "application/problem+json"
    assert response.json()["errors"][0]["pointer"] == pointer
    assert detail in response.json()["errors"][0]["detail"]
    assert put == []  # nothing on the bus


def test_a_document_with_an_infinite_size_is_refused(world):
    request_id = world.create_request()
    response = world.portal.call("POST", f"/v1/portal/requests/{request_id}/documents",
                                 body='{"content_type": "image/png", "size": Infinity}',
                                 headers={**AUTH, "Content-Type": "application/json"})
    assert response.status == 422
    assert response.json()["errors"][0] == {"pointer": "/size",
                                            "detail": "Infinity is not a JSON number"}


def test_what_the_apis_serve_is_strict_json(world):
    with pytest.raises(ValueError):
        json_response({"qty": float("nan")})
    # Large finite numbers are JSON like any other.
    created = world.create_request(attributes={"qty": 1e308, "big": 10 ** 300})
    world.pump.pump()
    response = world.portal.call("GET", f"/v1/portal/requests/{created}", headers=AUTH)
    assert response.status == 200
    json.loads(response.text, parse_constant=lambda name: pytest.fail(name))
