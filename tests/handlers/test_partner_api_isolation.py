"""Tenant isolation and concurrency of the partner API.

Every endpoint x a token of another partner, and of another environment of the same partner:
404 (or an empty list), with bodies that cannot tell "not yours" from "does not exist"; and
100 concurrent duplicate status posts append exactly one event (and publish it once:
`test_partner_api_publication.py`).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.atomic_writes import atomic_dynamodb_writes  # noqa: F401 (fixture)


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


@pytest.fixture
def tenants(world):
    owner = world.partner("owner")
    other = world.partner("other")
    request_id = world.create_request(
        attributes={"secret_sku": "TOP-SECRET-1"},
        documents=[{"name": "contract.pdf", "content_type": "application/pdf"}])
    world.route(request_id, owner.id, "prod")
    return {
        "world": world,
        "request_id": request_id,
        "owner": world.token(owner.id, "prod"),
        "other partner": world.token(other.id, "prod"),
        "other environment": world.token(owner.id, "test"),
    }


ENDPOINTS = [
    ("GET", "/v1/requests/{id}", None),
    ("GET", "/v1/requests/{id}/documents", None),
    ("POST", "/v1/requests/{id}/status", {"status": "accepted"}),
]


def call(world, method, path, token, body):
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": "iso-1"}
    return world.api.call(method, path, headers=headers, body=body)


def normalised(response, request_id):
    return response.status, response.text.replace(request_id, "<id>")


@pytest.mark.parametrize("intruder", ["other partner", "other environment"])
@pytest.mark.parametrize("method,path,body", ENDPOINTS)
def test_a_request_not_routed_to_the_caller_is_indistinguishable_from_none(
        tenants, intruder, method, path, body):
    world, request_id = tenants["world"], tenants["request_id"]
    token = tenants[intruder]
    response = call(world, method, path.format(id=request_id), token, body)
    assert response.status == 404
    assert "TOP-SECRET" not in response.text and "contract.pdf" not in response.text
    missing = call(world, method, path.format(id="r-does-not-exist"), token, body)
    assert normalised(response, request_id) == normalised(missing, "r-does-not-exist")
    # and the owner still sees it untouched
    owner_view = world.get(f"/v1/requests/{request_id}", tenants["owner"]).json()
    assert owner_view["status"] == "pending" and owner_view["history"] == []


@pytest.mark.parametrize("intruder", ["other partner", "other environment"])
@pytest.mark.parametrize("query", [{}, {"status": "pending"}])
def test_lists_show_only_the_callers_environment(tenants, intruder, query):
    world = tenants["world"]
    response = world.get("/v1/requests", tenants[intruder], query=query)
    assert response.status == 200
    assert response.json() == {"items": [], "next_cursor": None}
    owner = world.get("/v1/requests", tenants["owner"], query=query).json()
    assert [i["request_id"] for i in owner["items"]] == [tenants["request_id"]]


def test_an_intruders_post_writes_nothing(tenants):
    world, request_id = tenants["world"], tenants["request_id"]
    call(world, "POST", f"/v1/requests/{request_id}/status", tenants["other partner"],
         {"status": "declined"})
    log = world.handlers["partner_api"].dependencies.get().log
    assert [e.type for e in log.events(request_id)] == ["request.created", "request.routed"]
    # the owner's own post with the same key is unaffected by the intruder's use of it
    response = call(world, "POST", f"/v1/requests/{request_id}/status", tenants["owner"],
                    {"status": "accepted"})
    assert response.status == 202


def test_a_cursor_of_another_tenant_is_refused(tenants):
    world = tenants["world"]
    owner_id = world.tokens.verify(tenants["owner"]).partner_id
    for _ in range(2):
        world.route(world.create_request(), owner_id, "prod")
    cursor = world.get("/v1/requests", tenants["owner"], query={"limit": "1"}).json()["next_cursor"]
    assert cursor
    response = world.get("/v1/requests", tenants["other partner"], query={"cursor": cursor})
    assert response.status == 422 and response.json()["errors"][0]["parameter"] == "cursor"


@pytest.mark.parametrize("token_kind", ["no token", "portal token"])
@pytest.mark.parametrize("method,path,body", ENDPOINTS + [("GET", "/v1/requests", None)])
def test_non_partner_credentials_get_nothing(tenants, token_kind, method, path, body):
    from tests.handlers.conftest import PORTAL_TOKEN

    world, request_id = tenants["world"], tenants["request_id"]
    headers = {"Authorization": f"Bearer {PORTAL_TOKEN}"} if token_kind == "portal token" else {}
    response = world.api.call(method, path.format(id=request_id), headers=headers, body=body)
    assert response.status in (401, 403)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert request_id not in response.text


def test_100_concurrent_duplicate_posts_append_exactly_one_event(tenants, atomic_dynamodb_writes):
    world, request_id = tenants["world"], tenants["request_id"]
    token = tenants["owner"]

    def post(_):
        return world.post_status(request_id, token, {"status": "accepted", "note": "dup"},
                                 key="same-key")

    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(post, range(100)))
    # The log is the idempotency record: a post that loses the race to append finds the
    # winner's change by command id and answers with it, or, while the winner is still
    # publishing it, answers 409 request-in-progress (it must not publish it too).
    statuses = [r.status for r in responses]
    assert set(statuses) <= {202, 409} and 202 in statuses, statuses
    assert all(r.json()["type"] == "urn:pgw:problem:request-in-progress"
               and r.headers["Retry-After"] == "1" for r in responses if r.status == 409)
    accepted = [r.json() for r in responses if r.status == 202]
    assert all(body == accepted[0] for body in accepted)
    log = world.handlers["partner_api"].dependencies.get().log
    changes = [e for e in log.events(request_id) if e.type == "request.status_changed"]
    assert len(changes) == 1
    # once the first has finished, every retry answers the same 202
    again = world.post_status(request_id, token, {"status": "accepted", "note": "dup"},
                              key="same-key")
    assert again.status == 202 and again.json() == accepted[0]
    assert json.loads(again.text)["sequence"] == changes[0].sequence
