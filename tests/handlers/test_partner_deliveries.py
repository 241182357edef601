"""The partner API's delivery log: `GET /v1/deliveries`, `GET /v1/deliveries/{id}`,
`POST /v1/deliveries/{id}/resend`, through the authorizer like every partner route."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from partners.deliveries import DeliveryStore, Resender, delivery_id, parse_record
from partners.onboarding import AuditLog, partner_target
from tests.handlers.conftest import shared_session
from tests.partners.deliveries.builders import PREFIX, T0, Send, ms


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


class RecordingEvents:
    """The EventBridge client, remembering what was put (moto keeps no event history)."""

    def __init__(self, client):
        self.client = client
        self.entries = []

    def put_events(self, Entries):  # noqa: N803 - boto3's argument name
        self.entries += Entries
        return self.client.put_events(Entries=Entries)


@pytest.fixture
def tenants(world):
    owner, other = world.partner("dlv-owner"), world.partner("dlv-other")
    store = DeliveryStore(world.stage.spec.tables["deliveries"].name, prefix=PREFIX,
                          boto3_session=shared_session(), clock=world.clock)
    assert world.stage.spec.partner_resource_prefix == PREFIX
    records = []
    for n in range(3):  # r-0 delivered, r-1 dead-lettered after two 500s, r-2 delivered
        send = Send(partner_id=owner.id, event_id=f"{owner.id}-ev-{n}", request_id=f"r-{n}",
                    invocation_id=f"inv-{n}", start_ms=ms(T0 + timedelta(minutes=n)))
        records += send.failing_then_dead_lettered(2) if n == 1 else send.delivered()
    records += Send(partner_id=owner.id, environment="test", event_id=f"{owner.id}-t",
                    request_id="r-test").delivered()
    store.index(parse_record(r) for r in records)
    deliveries = world.handlers["partner_deliveries"]
    events = RecordingEvents(shared_session().client("events"))
    audit = AuditLog(world.stage.spec.tables["audit"].name, boto3_session=shared_session())
    resender = Resender(events, store, bus_name=world.stage.spec.bus_name, clock=world.clock,
                        per_minute=2, audit=audit)
    deps = deliveries.Dependencies(queries=resender.queries, resender=resender)
    with deliveries.dependencies.override(deps):
        yield {"world": world, "owner": owner, "events": events, "audit": audit,
               "token": world.token(owner.id, "prod"),
               "other partner": world.token(other.id, "prod"),
               "other environment": world.token(owner.id, "test"),
               "failed": delivery_id(owner.id, "prod", f"{owner.id}-ev-1")}


def test_the_list_is_newest_first_with_attempts(tenants):
    world = tenants["world"]
    response = world.get("/v1/deliveries", tenants["token"])
    assert response.status == 200, response.text
    body = response.json()
    assert [d["request_id"] for d in body["items"]] == ["r-2", "r-1", "r-0"]
    assert body["next_cursor"] is None
    failed = body["items"][1]
    assert failed["id"] == tenants["failed"] and failed["outcome"] == "dead_lettered"
    assert [(a["outcome"], a["http_status"]) for a in failed["attempts"]] == [
        ("retryable_failure", 500)] * 2
    assert failed["resent"] == 0 and "payload" not in failed
    assert set(failed["attempts"][0]) == {"at", "outcome", "http_status", "error", "duration_ms"}


@pytest.mark.parametrize("query,expected", [
    ({"outcome": "delivered"}, ["r-2", "r-0"]),
    ({"outcome": "dead_lettered"}, ["r-1"]),
    ({"request_id": "r-0"}, ["r-0"]),
    ({"request_type": "stock.check", "until": "2026-11-23T10:01:30Z"}, ["r-1", "r-0"]),
    ({"since": "2026-11-23T11:01:00+01:00"}, ["r-2", "r-1"]),
])
def test_filters(tenants, query, expected):
    response = tenants["world"].get("/v1/deliveries", tenants["token"], query=query)
    assert [d["request_id"] for d in response.json()["items"]] == expected


def test_pages_with_a_cursor_that_no_other_environment_can_use(tenants):
    world = tenants["world"]
    first = world.get("/v1/deliveries", tenants["token"], query={"limit": "2"}).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = world.get("/v1/deliveries", tenants["token"],
                       query={"limit": "2", "cursor": first["next_cursor"]}).json()
    assert [d["request_id"] for d in second["items"]] == ["r-0"]
    for intruder in ("other partner", "other environment"):
        refused = world.get("/v1/deliveries", tenants[intruder],
                            query={"cursor": first["next_cursor"]})
        assert refused.status == 422 and refused.content_type == "application/problem+json"
        assert refused.json()["errors"] == [{"detail": "cursor belongs to another environment",
                                             "parameter": "cursor"}]


@pytest.mark.parametrize("query,parameter", [
    ({"outcome": "lost"}, "outcome"),
    ({"outcome": ""}, "outcome"),
    ({"since": "yesterday"}, "since"),
    ({"until": "2026-02-30T00:00:00Z"}, "until"),
    ({"since": "2026-11-24T00:00:00Z", "until": "2026-11-23T00:00:00Z"}, "since"),
    ({"limit": "0"}, "limit"),
    ({"limit": "101"}, "limit"),
    ({"limit": "ten"}, "limit"),
    ({"cursor": "%%%"}, "cursor"),
    ({"request_type": "a b"}, "request_type"),
    ({"status": "pending"}, "status"),
])
def test_bad_filters_are_422_naming_the_parameter(tenants, query, parameter):
    response = tenants["world"].get("/v1/deliveries", tenants["token"], query=query)
    assert response.status == 422, response.text
    problem = response.json()
    assert problem["type"] == "urn:pgw:problem:validation-failed"
    assert [e["parameter"] for e in problem["errors"]] == [parameter]


def test_one_delivery_with_the_cloudevent_as_sent(tenants):
    world, owner = tenants["world"], tenants["owner"]
    response = world.get(f"/v1/deliveries/{tenants['failed']}", tenants["token"])
    assert response.status == 200
    body = response.json()
    assert body["cloudevent_id"] == f"{owner.id}-ev-1"
    assert body["payload"]["id"] == body["cloudevent_id"]
    assert body["payload"]["data"]["request_id"] == "r-1"


@pytest.mark.parametrize("intruder", ["other partner", "other environment"])
@pytest.mark.parametrize("method,suffix", [("GET", ""), ("POST", "/resend")])
def test_another_environments_delivery_is_indistinguishable_from_none(tenants, intruder,
                                                                      method, suffix):
    world = tenants["world"]
    headers = {"Authorization": f"Bearer {tenants[intruder]}"}
    real = world.api.call(method, f"/v1/deliveries/{tenants['failed']}{suffix}", headers=headers)
    fake_id = "dlv_" + "0" * 24
    missing = world.api.call(method, f"/v1/deliveries/{fake_id}{suffix}", headers=headers)
    assert real.status == missing.status == 404
    assert real.text.replace(tenants["failed"], "<id>") == missing.text.replace(fake_id, "<id>")
    assert "r-1" not in real.text
    assert tenants["events"].entries == []


def test_a_resend_keeps_the_cloudevent_id_and_addresses_this_environment_only(tenants):
    world, owner = tenants["world"], tenants["owner"]
    response = world.api.call("POST", f"/v1/deliveries/{tenants['failed']}/resend",
                              headers={"Authorization": f"Bearer {tenants['token']}"})
    assert response.status == 202, response.text
    assert response.headers["Location"] == f"/v1/deliveries/{tenants['failed']}"
    body = response.json()
    assert body["cloudevent_id"] == f"{owner.id}-ev-1" and body["event_id"]
    [entry] = tenants["events"].entries
    detail = json.loads(entry["Detail"])
    assert entry["DetailType"] == "Request Created"
    # The partner target renders the request id as the CloudEvent id (contracts).
    assert (detail["addressed_to"], detail["environment"], detail["request_id"]) == (
        owner.id, "prod", "r-1")
    # Audited, with the token's partner environment as the actor.
    [record] = tenants["audit"].for_target(partner_target(owner.id), limit=1).items
    assert (record.action, record.actor) == ("delivery.resent", f"api:{owner.id}/prod")
    assert record.after["deliveries"] == [tenants["failed"]]


def test_resends_are_rate_limited_per_environment(tenants):
    world = tenants["world"]
    headers = {"Authorization": f"Bearer {tenants['token']}"}
    path = f"/v1/deliveries/{tenants['failed']}/resend"
    assert [world.api.call("POST", path, headers=headers).status for _ in range(2)] == [202, 202]
    refused = world.api.call("POST", path, headers=headers)
    assert refused.status == 429 and refused.json()["type"] == "urn:pgw:problem:rate-limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert len(tenants["events"].entries) == 2
    world.clock.advance(seconds=61)
    assert world.api.call("POST", path, headers=headers).status == 202


def test_without_a_token_the_gateway_refuses(tenants):
    assert tenants["world"].api.call("GET", "/v1/deliveries").status == 401
