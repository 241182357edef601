"""The sample partner: key check, CloudEvents intake, status posts back, failure modes.

Status posts go over real HTTP to a small recording server that answers like the partner API
(202, or a scripted failure), so the poster's retries and ordering are observable.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from infra.local.sample_partner import Account, ModeError, SamplePartner
from infra.local.servers import ServerThread

KEY = "sample-key-0123456789"


class PartnerApi:
    """Records status posts; answers the scripted codes first, then 202."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.script: list[int] = []
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        request = Request(environ)
        with self.lock:
            self.posts.append({"path": request.path,
                               "authorization": request.headers.get("Authorization"),
                               "idempotency_key": request.headers.get("Idempotency-Key"),
                               "body": request.get_json(silent=True)})
            code = self.script.pop(0) if self.script else 202
        body = {"status": "accepted"} if code < 300 else {"detail": f"scripted {code}"}
        return Response(json.dumps(body), status=code,
                        content_type="application/json")(environ, start_response)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api():
    api = PartnerApi()
    server = ServerThread(api, name="partner-api").start()
    api.url = server.url
    yield api
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def partner(api, clock):
    partner = SamplePartner(api.url, status_delay=0, hang_seconds=0.05, workers=2, clock=clock,
                            accounts=[Account("acme", KEY, {"test": "pgw_test_token"})])
    partner.max_status_attempts = 3
    partner.status_retry_base = 0
    partner.start()
    yield partner
    partner.stop()


@pytest.fixture
def client(partner):
    return partner.app.test_client()


def cloudevent(event_id: str = "ev-1", request_id: str | None = "r-1",
               environment: str = "test") -> dict[str, Any]:
    data: dict[str, Any] = {"environment": environment, "request_type": "stock.check",
                            "attributes": {"region": "eu-west"}}
    if request_id:
        data["request_id"] = request_id
    return {"specversion": "1.0", "id": event_id, "source": "urn:marketplace:requests",
            "type": "marketplace.request.created", "time": "2026-11-23T10:00:00Z",
            "datacontenttype": "application/json", "data": data}


def deliver(client, body: Any, key: str | None = KEY):
    headers = {"User-Agent": "Amazon/EventBridge/ApiDestinations"}
    if key is not None:
        headers["X-Api-Key"] = key
    return client.post("/deliveries", json=body, headers=headers)


def test_delivery_is_acknowledged_and_statuses_flow_back_in_order(client, partner, api):
    response = deliver(client, cloudevent())
    assert response.status_code == 200
    assert response.json == {"received": "ev-1"}
    assert partner.wait_idle(10)
    assert [p["body"]["status"] for p in api.posts] == [
        "received", "in_progress", "accepted", "fulfilled"]
    for post in api.posts:
        assert post["path"] == "/v1/requests/r-1/status"
        assert post["authorization"] == "Bearer pgw_test_token"
        assert post["idempotency_key"] == f"sample-ev-1-{post['body']['status']}"
    received = client.get("/received").json
    assert received["received"] == 1 and received["statuses_posted"] == 4
    delivery = received["deliveries"][0]
    assert delivery["request_id"] == "r-1" and delivery["environment"] == "test"
    assert delivery["user_agent"] == "Amazon/EventBridge/ApiDestinations"
    assert [s["status"] for s in delivery["statuses"]] == [
        "received", "in_progress", "accepted", "fulfilled"]


@pytest.mark.parametrize("key", [None, "", "wrong-key", KEY + "x"])
def test_wrong_or_missing_api_key_is_401(client, partner, api, key):
    response = deliver(client, cloudevent(), key=key)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert partner.summary()["rejected"] == 1 and partner.summary()["received"] == 0
    assert api.posts == []


@pytest.mark.parametrize("body, detail", [
    ("not an object", "the body must be a CloudEvents 1.0 JSON object"),
    ({**cloudevent(), "specversion": "0.3"}, 'specversion must be "1.0"'),
    ({k: v for k, v in cloudevent().items() if k != "id"}, "id must be a non-empty string"),
    ({**cloudevent(), "type": ""}, "type must be a non-empty string"),
    ({k: v for k, v in cloudevent().items() if k != "data"}, "data is missing"),
])
def test_bodies_that_are_not_cloudevents_are_400(client, partner, body, detail):
    response = deliver(client, body)
    assert response.status_code == 400
    assert response.json["detail"] == detail
    assert partner.summary()["invalid"] == 1


def test_duplicate_delivery_is_acknowledged_once(client, partner, api):
    assert deliver(client, cloudevent()).status_code == 200
    again = deliver(client, cloudevent())
    assert again.status_code == 200 and again.json["duplicate"] is True
    assert partner.wait_idle(10)
    assert partner.summary()["received"] == 1 and partner.summary()["duplicates"] == 1
    assert len(api.posts) == 4
    # Shown once, with how often its CloudEvent id came (a resend keeps the id).
    [shown] = partner.deliveries()
    assert shown["times_received"] == 2
    assert b"received 2 times" in client.get("/").data


def test_environment_without_token_receives_but_posts_nothing(client, partner, api):
    assert deliver(client, cloudevent(environment="prod")).status_code == 200
    assert partner.wait_idle(10)
    assert api.posts == []
    assert "no API token" in client.get("/received").json["deliveries"][0]["note"]


def test_retryable_answers_are_retried_and_order_kept(client, partner, api):
    api.script = [503, 404]  # the first status fails twice, then goes through
    deliver(client, cloudevent())
    assert partner.wait_idle(15)
    assert [p["body"]["status"] for p in api.posts] == [
        "received", "received", "received", "in_progress", "accepted", "fulfilled"]
    statuses = client.get("/received").json["deliveries"][0]["statuses"]
    assert statuses[0]["attempt"] == 3


def test_a_refused_status_stops_the_sequence(client, partner, api):
    api.script = [409]
    deliver(client, cloudevent())
    assert partner.wait_idle(10)
    assert len(api.posts) == 1
    delivery = client.get("/received").json["deliveries"][0]
    assert delivery["statuses"][0]["error"] == "scripted 409"
    assert partner.summary()["statuses_failed"] == 1


def test_retries_give_up_after_the_attempt_limit(client, partner, api):
    api.script = [500, 500, 500]
    deliver(client, cloudevent())
    assert partner.wait_idle(15)
    assert len(api.posts) == 3
    assert partner.summary()["statuses_failed"] == 1


@pytest.mark.parametrize("mode, status, retry_after", [
    ("fail500", 500, None), ("fail429", 429, "1"), ("timeout", 504, None)])
def test_failure_modes_refuse_deliveries_for_a_while(client, partner, clock, mode, status,
                                                     retry_after):
    response = client.post("/mode", json={"mode": mode, "for_seconds": 30})
    assert response.status_code == 200
    assert response.json == {"mode": mode, "remaining_seconds": 30.0}
    refused = deliver(client, cloudevent())
    assert refused.status_code == status
    assert refused.headers.get("Retry-After") == retry_after
    assert partner.summary()["refused"] == 1 and partner.summary()["received"] == 0
    clock.now += 30
    assert client.get("/mode").json == {"mode": "ok", "remaining_seconds": None}
    assert deliver(client, cloudevent()).status_code == 200


def test_mode_without_duration_lasts_until_switched_back(client, clock):
    client.post("/mode", json={"mode": "fail500"})
    clock.now += 10_000
    assert client.get("/mode").json["mode"] == "fail500"
    client.post("/mode", json={"mode": "ok"})
    assert client.get("/mode").json["mode"] == "ok"


@pytest.mark.parametrize("payload, detail", [
    ({"mode": "explode"}, "mode must be one of ok, fail500, fail429, timeout"),
    ({"mode": "fail500", "for_seconds": 0}, "for_seconds must be a number from 1 to 3600"),
    ({"mode": "fail500", "for_seconds": 7200}, "for_seconds must be a number from 1 to 3600"),
    ({"mode": "fail500", "for_seconds": "ten"}, "for_seconds must be a number from 1 to 3600"),
    ({"mode": "fail500", "for_seconds": True}, "for_seconds must be a number from 1 to 3600"),
])
def test_bad_mode_switches_are_400(client, payload, detail):
    response = client.post("/mode", json=payload)
    assert response.status_code == 400
    assert response.json["detail"] == detail


def test_mode_form_switches_and_redirects(client):
    response = client.post("/mode", data={"mode": "fail429", "for_seconds": "60"})
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    assert client.get("/mode").json["mode"] == "fail429"
    page = client.post("/mode", data={"mode": "fail429", "for_seconds": "x"})
    assert page.status_code == 400 and b"for_seconds must be a number" in page.data


def test_cross_site_form_posts_are_refused(client):
    response = client.post("/mode", data={"mode": "fail500"},
                           headers={"Origin": "http://evil.example"})
    assert response.status_code == 403
    assert client.get("/mode").json["mode"] == "ok"


def test_index_page_lists_deliveries_escaped(client, partner):
    event = cloudevent()
    event["data"]["attributes"] = {"note": "<script>alert(1)</script>"}
    deliver(client, event)
    partner.wait_idle(10)
    page = client.get("/")
    assert page.status_code == 200
    assert b"r-1" in page.data and b"<script>alert" not in page.data
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_received_filters_and_limits(client, partner):
    for index in range(3):
        deliver(client, cloudevent(f"ev-{index}", f"r-{index}", "prod"))
    assert [d["id"] for d in client.get("/received?limit=2").json["deliveries"]] == [
        "ev-2", "ev-1"]
    assert [d["id"] for d in client.get("/received?request_id=r-0").json["deliveries"]] == [
        "ev-0"]
    assert client.get("/received?limit=0").json["received"] == 3
    assert client.get("/received?limit=-1").status_code == 400
    assert client.get("/received?limit=abc").status_code == 400


def test_accounts_are_told_apart_by_key(client, partner, api):
    partner.add_account(Account("globex", "globex-key-0123456789", {"prod": "pgw_prod_other"}))
    deliver(client, cloudevent("ev-g", "r-g", "prod"), key="globex-key-0123456789")
    assert partner.wait_idle(10)
    assert {p["authorization"] for p in api.posts} == {"Bearer pgw_prod_other"}
    assert client.get("/received").json["deliveries"][0]["account"] == "globex"


def test_set_mode_refuses_unknown_modes_directly(partner):
    with pytest.raises(ModeError):
        partner.set_mode("sleep")
