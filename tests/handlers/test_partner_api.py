"""The partner API, route by route, through the authorizer as API Gateway runs it."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlparse

import pytest

from partners.onboarding.models import PartnerStatus
from tests.handlers.conftest import shared_session
from tests.handlers.gateway import LambdaContext


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


PROBLEM = "application/problem+json"


@pytest.fixture
def setup(world):
    pa = world.partner("acme")
    token = world.token(pa.id, "prod")
    request_id = world.create_request()
    assert world.route(request_id, pa.id) == {"recorded": True}
    return world, pa, token, request_id


def test_openapi_document_is_served_without_a_token(world):
    response = world.api.call("GET", "/v1/openapi.json")
    assert response.status == 200
    assert response.json()["openapi"] == "3.1.0"


def test_list_requests_routed_to_the_callers_environment(setup):
    world, pa, token, request_id = setup
    response = world.get("/v1/requests", token)
    assert response.status == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert [(i["request_id"], i["status"]) for i in body["items"]] == [(request_id, "pending")]
    assert body["items"][0]["attributes"] == {"sku": "A-1", "qty": 2}
    assert world.get("/v1/requests", token, query={"status": "accepted"}).json()["items"] == []


def test_list_pages_with_a_cursor(setup):
    world, pa, token, first = setup
    others = [world.create_request() for _ in range(4)]
    for request_id in others:
        world.clock.advance(seconds=1)
        world.route(request_id, pa.id)
    seen, cursor = [], None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        body = world.get("/v1/requests", token, query=query).json()
        seen += [i["request_id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted([first, *others]) and len(seen) == 5


@pytest.mark.parametrize("query,where", [
    ({"limit": "0"}, "limit"), ({"limit": "101"}, "limit"), ({"limit": "ten"}, "limit"),
    ({"status": "done"}, "status"), ({"cursor": "%%%"}, "cursor"),
])
def test_list_refuses_bad_parameters_with_422(setup, query, where):
    world, _, token, _ = setup
    response = world.get("/v1/requests", token, query=query)
    assert response.status == 422 and response.content_type == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:validation-failed"
    assert problem["errors"][0]["parameter"] == where


def test_get_request(setup):
    world, _, token, request_id = setup
    response = world.get(f"/v1/requests/{request_id}", token)
    assert response.status == 200
    body = response.json()
    assert body["request_id"] == request_id and body["status"] == "pending"
    assert body["history"] == [] and body["documents"] == []


@pytest.mark.parametrize("path", ["/v1/requests/nope", "/v1/requests/bad%20id!",
                                  "/v1/requests/nope/documents", "/v1/requests/a/b/c"])
def test_unknown_is_404_problem(setup, path):
    world, _, token, _ = setup
    response = world.get(path, token)
    assert response.status == 404 and response.content_type == PROBLEM
    assert response.json()["type"] == "urn:pgw:problem:not-found"


def test_post_status_appends_publishes_and_projects(setup):
    world, pa, token, request_id = setup
    stage = world.stage
    sqs = shared_session().client("sqs")
    events = shared_session().client("events")
    queue = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="tap", EventBusName=stage.spec.bus_name,
                    EventPattern=json.dumps({"detail-type": ["Request Status Changed"]}))
    events.put_targets(Rule="tap", EventBusName=stage.spec.bus_name,
                       Targets=[{"Id": "q", "Arn": arn}])
    response = world.post_status(request_id, token, {"status": "accepted", "note": "on it",
                                                     "reference": "PO-1"})
    assert response.status == 202, response.text
    body = response.json()
    assert body["status"] == "accepted" and body["previous_status"] is None
    assert body["sequence"] == 3 and response.headers["Location"] == f"/v1/requests/{request_id}"
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    detail = json.loads(messages[0]["Body"])["detail"]
    assert detail["partner_id"] == pa.id and detail["partner_name"] == "Partner acme"
    assert detail["user_id"] == "u1" and detail["status"] == "accepted"
    assert detail["previous_status"] is None and detail["note"] == "on it"
    world.pump.pump()
    view = world.get(f"/v1/requests/{request_id}", token).json()
    assert view["status"] == "accepted" and view["history"][0]["reference"] == "PO-1"
    listed = world.get("/v1/requests", token, query={"status": "accepted"}).json()["items"]
    assert [i["request_id"] for i in listed] == [request_id]


def test_same_key_same_body_answers_the_same_and_appends_once(setup):
    world, _, token, request_id = setup
    first = world.post_status(request_id, token, {"status": "received"}, key="abc")
    again = world.post_status(request_id, token, {"status": "received"}, key="abc")
    assert first.status == again.status == 202 and first.json() == again.json()
    log = world.handlers["partner_api"].dependencies.get().log
    assert [e.type for e in log.events(request_id)].count("request.status_changed") == 1


def test_a_refused_publish_is_503_and_the_retry_publishes_without_appending_again(setup):
    world, _, token, request_id = setup
    deps = world.handlers["partner_api"].dependencies.get()
    real_events = deps.events
    published: list[dict] = []

    class RefusingBus:
        def put_events(self, Entries):
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]}

    class RecordingBus:
        def put_events(self, Entries):
            published.extend(Entries)
            return real_events.put_events(Entries=Entries)

    deps.events = RefusingBus()
    try:
        refused = world.post_status(request_id, token, {"status": "received"}, key="pub")
        assert refused.status == 503 and refused.headers["Retry-After"] == "1"
        assert refused.json()["type"] == "urn:pgw:problem:service-unavailable"
        deps.events = RecordingBus()
        retried = world.post_status(request_id, token, {"status": "received"}, key="pub")
    finally:
        deps.events = real_events
    assert retried.status == 202 and retried.json()["status"] == "received"
    assert [json.loads(e["Detail"])["status"] for e in published] == ["received"]
    changes = [e for e in deps.log.events(request_id) if e.type == "request.status_changed"]
    assert len(changes) == 1 and retried.json()["sequence"] == changes[0].sequence


def test_same_key_other_body_is_422(setup):
    world, _, token, request_id = setup
    world.post_status(request_id, token, {"status": "received"}, key="abc")
    response = world.post_status(request_id, token, {"status": "accepted"}, key="abc")
    assert response.status == 422
    assert response.json()["type"] == "urn:pgw:problem:idempotency-key-reused"


def test_illegal_transition_is_409_with_the_allowed_moves(setup):
    world, _, token, request_id = setup
    assert world.post_status(request_id, token, {"status": "declined"}, key="a").status == 202
    response = world.post_status(request_id, token, {"status": "accepted"}, key="b")
    assert response.status == 409 and response.content_type == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:status-conflict"
    assert problem["current_status"] == "declined" and problem["allowed_statuses"] == []


def test_a_fulfilment_path_through_the_table(setup):
    world, _, token, request_id = setup
    for i, status in enumerate(["received", "accepted", "in_progress", "fulfilled"]):
        response = world.post_status(request_id, token, {"status": status}, key=f"k{i}")
        assert response.status == 202, response.text


@pytest.mark.parametrize("body,pointer", [
    ({}, "/status"),
    ({"status": "done"}, "/status"),
    ({"status": "accepted", "note": "x" * 1001}, "/note"),
    ({"status": "accepted", "reference": 5}, "/reference"),
    ({"status": "accepted", "occurred_at": "yesterday"}, "/occurred_at"),
    ({"status": "accepted", "occurred_at": "2030-01-01T00:00:00Z"}, "/occurred_at"),
    ({"status": "accepted", "extra": 1}, "/extra"),
    ([1, 2], ""),
])
def test_invalid_status_bodies_are_422_with_field_pointers(setup, body, pointer):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, body)
    assert response.status == 422, response.text
    assert response.json()["errors"][0]["pointer"] == pointer


def test_missing_idempotency_key_is_400(setup):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, {"status": "accepted"}, key=None)
    assert response.status == 400 and response.json()["errors"][0]["header"] == "Idempotency-Key"


def test_malformed_idempotency_key_is_422(setup):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, {"status": "accepted"}, key="a b")
    assert response.status == 422 and response.json()["errors"][0]["header"] == "Idempotency-Key"


def test_wrong_media_type_is_415(setup):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, '{"status":"accepted"}',
                                 headers={"Content-Type": "text/plain"})
    assert response.status == 415 and response.content_type == PROBLEM


def test_oversized_body_is_413(setup):
    world, _, token, request_id = setup
    body = json.dumps({"status": "accepted", "note": "x" * 20000})
    response = world.post_status(request_id, token, body,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 413
    assert response.json()["type"] == "urn:pgw:problem:payload-too-large"


def test_malformed_json_is_400(setup):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, "{nope",
                                 headers={"Content-Type": "application/json"})
    assert response.status == 400 and response.json()["type"] == "urn:pgw:problem:bad-request"


def test_posting_for_an_unrouted_request_is_404(setup):
    world, _, token, _ = setup
    other = world.create_request()
    response = world.post_status(other, token, {"status": "accepted"})
    assert response.status == 404


def test_documents_are_presigned_gets_of_at_most_five_minutes(world):
    pa = world.partner("docs")
    token = world.token(pa.id, "prod")
    request_id = world.create_request(documents=[{"name": "spec.pdf",
                                                  "content_type": "application/pdf", "size": 3}])
    world.route(request_id, pa.id)
    response = world.get(f"/v1/requests/{request_id}/documents", token)
    assert response.status == 200, response.text
    [link] = response.json()["items"]
    assert link["name"] == "spec.pdf" and link["content_type"] == "application/pdf"
    query = parse_qs(urlparse(link["url"]).query)
    assert int(query["X-Amz-Expires"][0]) <= 300
    assert f"requests/{request_id}/" in urlparse(link["url"]).path
    assert link["expires_at"] == "2026-11-23T10:05:00Z"


@pytest.mark.parametrize("header", [None, "Bearer", "Basic abc", "Bearer pgw_prod_nope",
                                    "Bearer pgw_prod_" + "A" * 32])
def test_missing_or_bad_tokens_are_401(setup, header):
    world, _, _, _ = setup
    headers = {"Authorization": header} if header else {}
    response = world.api.call("GET", "/v1/requests", headers=headers)
    assert response.status == 401 and response.content_type == PROBLEM


def test_revoked_and_expired_tokens_are_401(setup):
    world, pa, token, _ = setup
    world.tokens.revoke(world.tokens.verify(token).prefix)
    assert world.get("/v1/requests", token).status == 401
    rotated_from = world.token(pa.id, "prod")
    world.tokens.rotate(world.tokens.verify(rotated_from).prefix, overlap=__import__("datetime").timedelta(hours=1))
    assert world.get("/v1/requests", rotated_from).status == 200
    world.clock.advance(hours=2)
    assert world.get("/v1/requests", rotated_from).status == 401


def test_a_suspended_partner_is_refused_with_403(setup):
    world, pa, token, _ = setup
    world.registry.transition(world.registry.get_partner(pa.id), PartnerStatus.SUSPENDED)
    response = world.get("/v1/requests", token)
    assert response.status == 403 and response.content_type == PROBLEM


def test_the_usage_plan_key_comes_from_the_authorizer(setup):
    world, pa, token, _ = setup
    world.get("/v1/requests", token)
    from partners.core.constants import usage_key_value

    assert world.api.usage_keys[-1] == usage_key_value("pgw-test-pt-", pa.id, "prod")


def test_without_authorizer_context_the_api_answers_401(world):
    from tests.handlers.gateway import Gateway

    bare = Gateway(world.handlers["partner_api"].lambda_handler)
    response = bare.call("GET", "/v1/requests")
    assert response.status == 401 and response.json()["type"] == "urn:pgw:problem:unauthorized"


def test_documents_outside_the_documents_bucket_are_never_signed(world):
    pa = world.partner("claims")
    token = world.token(pa.id, "prod")
    detail = {"environment": "prod", "request_id": "r-foreign-doc", "request_type": "stock.check",
              "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
              "attributes": {}, "documents": [
                  {"document_id": "d1", "bucket": "someone-elses-bucket", "key": "secret"}]}
    result = world.handlers["routing_recorder"].lambda_handler(
        {"partner_id": pa.id, "environment": "prod", "mode": "poll",
         "event": {"id": "e1", "detail-type": "Request Created", "detail": detail}},
        LambdaContext())
    assert result == {"recorded": True}
    world.pump.pump()
    response = world.get("/v1/requests/r-foreign-doc/documents", token)
    assert response.status == 200 and response.json() == {"items": []}


def test_a_view_of_a_former_layout_is_a_503_to_retry_after_the_rebuild(setup, aws, stage):
    world, pa, token, request_id = setup
    world.pump.pump()
    aws.client("dynamodb").update_item(
        TableName=stage.spec.tables["partner_inbox"].name,
        Key={"pk": {"S": f"{pa.id}#prod"}, "sk": {"S": request_id}},
        UpdateExpression="REMOVE history, documents")
    response = world.get(f"/v1/requests/{request_id}", token)
    assert response.status == 503 and response.headers["Retry-After"] == "60"
    assert response.json()["type"] == "urn:pgw:problem:service-unavailable"
    assert request_id not in response.json()["detail"]


# --- strict JSON (issue 14): NaN, Infinity, huge numbers, deep nesting -------------------------

def _deep(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


@pytest.mark.parametrize("text,pointer,detail", [
    ('{"status": "accepted", "note": NaN}', "/note", "NaN is not a JSON number"),
    ('{"status": Infinity}', "/status", "Infinity is not a JSON number"),
    ('{"status": "accepted", "reference": -Infinity}', "/reference",
     "-Infinity is not a JSON number"),
    ('{"status": "accepted", "note": 1e400}', "/note", "beyond float range"),
    ('{"status": "accepted", "note": ' + "9" * 400 + "}", "/note", "beyond float range"),
    ('{"status": "accepted", "note": ' + _deep(5000) + "}", "/note" + "/0" * 31,
     "at most 32 levels"),
    ('{"status": "accepted", "note": ' + "{\"a\":" * 2000 + "1" + "}" * 2000 + "}",
     "/note" + "/a" * 31, "at most 32 levels"),
    (_deep(5000), "/0" * 32, "at most 32 levels"),
])
def test_non_finite_numbers_and_deep_nesting_are_422_with_a_pointer(setup, text, pointer,
                                                                    detail):
    world, _, token, request_id = setup
    response = world.post_status(request_id, token, text,
                                 headers={"Content-Type": "application/json"})
    assert response.status == 422, response.text
    assert response.content_type == PROBLEM
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:validation-failed"
    assert problem["errors"][0]["pointer"] == pointer
    assert detail in problem["errors"][0]["detail"]
    log = world.handlers["partner_api"].dependencies.get().log
    assert "request.status_changed" not in [e.type for e in log.events(request_id)]


@pytest.mark.parametrize("decoded", [_deep(5000), '{"pk": NaN}', "{\"a\":" * 3000 + "1" +
                                     "}" * 3000])
def test_a_cursor_that_decodes_to_deep_or_non_finite_json_is_422(setup, decoded):
    world, _, token, _ = setup
    cursor = base64.urlsafe_b64encode(decoded.encode()).decode().rstrip("=")
    response = world.get("/v1/requests", token, query={"cursor": cursor})
    assert response.status == 422, response.text
    assert response.json()["errors"][0]["parameter"] == "cursor"
