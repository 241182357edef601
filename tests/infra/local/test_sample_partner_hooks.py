"""The sample partner's hooks: any partner a newcomer signs up gets 2xx deliveries there, sees
each request as received (method, masked headers, raw body) and, with its API token pasted
in, gets statuses posted back."""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.sample_partner import SamplePartner
from tests.infra.local.test_sample_partner import Clock, PartnerApi, cloudevent  # noqa: F401
from tests.infra.local.test_sample_partner import api  # noqa: F401  (fixture)

TOKEN = "pgw_test_" + "A1b2C3d4" * 4
SECRET_KEY = "newco-secret-key-0123456789"


@pytest.fixture
def partner(api):  # noqa: F811
    partner = SamplePartner(api.url, status_delay=0, workers=2, clock=Clock())
    partner.status_retry_base = 0
    partner.start()
    yield partner
    partner.stop()


@pytest.fixture
def client(partner):
    return partner.app.test_client()


def raw_event(event_id: str = "ev-1", request_id: str = "r-1") -> str:
    # Deliberately not how Flask would serialise it: the raw body must come back byte for byte.
    return json.dumps(cloudevent(event_id, request_id), indent=3, sort_keys=True)


@pytest.mark.parametrize("headers, credential", [
    ({"X-Whatever-Key": SECRET_KEY}, "header X-Whatever-Key"),
    ({"Authorization": "Basic " + base64.b64encode(f"newco:{SECRET_KEY}".encode()).decode()},
     "Basic auth"),
    ({"Authorization": f"Bearer {SECRET_KEY}"}, "Bearer token (OAuth)"),
])
def test_any_credential_is_accepted_and_shown_masked_with_the_raw_body(client, headers,
                                                                       credential):
    body = raw_event()
    response = client.post("/hooks/newco", data=body, headers={
        **headers, "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Amazon/EventBridge/ApiDestinations"})
    assert response.status_code == 200, response.json
    [seen] = client.get("/received").json["deliveries"]
    assert seen["path"] == "/hooks/newco" and seen["method"] == "POST"
    assert seen["body"] == body
    assert seen["credential"] == credential
    assert seen["headers"]["User-Agent"] == "Amazon/EventBridge/ApiDestinations"
    assert SECRET_KEY not in json.dumps(seen)
    [name] = headers
    assert seen["headers"][name].endswith("characters)")
    assert "statuses not posted" in seen["note"]
    page = client.get("/").get_data(as_text=True)
    assert "/hooks/newco" in page
    assert SECRET_KEY not in page and base64.b64encode(SECRET_KEY.encode()).decode() not in page
    assert "&#34;specversion&#34;" in page or "&quot;specversion&quot;" in page


def test_a_body_that_is_not_a_cloudevent_is_400_and_still_shown(client):
    response = client.post("/hooks/newco", data="<not json>", headers={"X-Key": SECRET_KEY})
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    [seen] = client.get("/received").json["deliveries"]
    assert seen["answer"] == 400 and seen["body"] == "<not json>"
    assert "&lt;not json&gt;" in client.get("/").get_data(as_text=True)


def test_a_pasted_api_token_makes_statuses_flow_back(client, partner, api):  # noqa: F811
    answer = client.post("/hooks/newco/token", json={"api_token": TOKEN})
    assert answer.status_code == 200 and answer.json["environment"] == "test"
    assert client.post("/hooks/newco", data=raw_event(), headers={"X-Key": "k"}).status_code == 200
    assert partner.wait_idle(10)
    assert [p["body"]["status"] for p in api.posts] == [
        "received", "in_progress", "accepted", "fulfilled"]
    assert {p["authorization"] for p in api.posts} == {f"Bearer {TOKEN}"}
    assert TOKEN not in client.get("/").get_data(as_text=True)
    assert TOKEN not in json.dumps(client.get("/received").json)


def test_the_token_form_on_the_page_works_and_refuses_what_is_not_a_token(client):
    ok = client.post("/hook-tokens", data={"hook": "newco", "api_token": TOKEN})
    assert ok.status_code == 303
    assert "statuses posted back for\ntest" in client.get("/").get_data(as_text=True)
    bad = client.post("/hook-tokens", data={"hook": "newco", "api_token": "hunter2"})
    assert bad.status_code == 400 and "starts with" in bad.get_data(as_text=True)
    assert "hunter2" not in bad.get_data(as_text=True)
    assert client.post("/hooks/newco/token", json={"api_token": "x"}).status_code == 400
    assert client.post("/hook-tokens", data={"hook": "newco", "api_token": TOKEN},
                       headers={"Origin": "https://evil.example"}).status_code == 403


def test_hooks_take_the_oauth_token_endpoint_and_failure_modes(client, partner):
    token = client.post("/hooks/newco/oauth/token", data={"grant_type": "client_credentials"},
                        headers={"Authorization": "Basic eDp5"})
    assert token.status_code == 200 and token.json["token_type"] == "Bearer"
    partner.set_mode("fail500", 60)
    assert client.post("/hooks/newco", data=raw_event()).status_code == 500
    assert client.post("/hooks/bad name!", data=raw_event()).status_code == 404


def test_duplicates_are_per_hook(client):
    for hook in ("a", "a", "b"):
        client.post(f"/hooks/{hook}", data=raw_event(), headers={"X-Key": "k"})
    summary = client.get("/received").json
    assert summary["received"] == 2 and summary["duplicates"] == 1
