"""The sample partner's OAuth client-credentials token endpoint: real answers, told to refuse.

Follows RFC 6749 section 4.4 (client credentials grant) and 5.2 (error answers), which an
EventBridge OAuth connection's authorization endpoint speaks (EventBridge user guide,
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection-auth.html).
"""

from __future__ import annotations

import base64
import json

import pytest

from infra.local.sample_partner import SamplePartner
from infra.local.sample_partner.oauth import TokenEndpoint

BASIC = {"Authorization": "Basic " + base64.b64encode(b"acme-client:s3cret").decode()}
GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def partner():
    return SamplePartner("http://127.0.0.1:9", workers=0)


@pytest.fixture
def client(partner):
    return partner.app.test_client()


@pytest.mark.parametrize("headers, data", [
    (BASIC, GRANT),
    ({}, {**GRANT, "client_id": "acme-client", "client_secret": "s3cret"}),
])
def test_a_client_credentials_request_gets_a_bearer_token(client, headers, data):
    answer = client.post("/hooks/acme/oauth/token", data=data, headers=headers)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    assert answer.json["token_type"] == "Bearer" and answer.json["expires_in"] == 3600
    assert len(answer.json["access_token"]) >= 24


@pytest.mark.parametrize("headers, data, status, error", [
    ({}, GRANT, 401, "invalid_client"),
    ({"Authorization": "Basic not-base64!"}, GRANT, 401, "invalid_client"),
    (BASIC, {"grant_type": "password"}, 400, "unsupported_grant_type"),
    (BASIC, {}, 400, "unsupported_grant_type"),
])
def test_malformed_token_requests_get_rfc_6749_errors(client, headers, data, status, error):
    answer = client.post("/hooks/acme/oauth/token", data=data, headers=headers)
    assert answer.status_code == status and answer.json["error"] == error


def test_it_can_be_told_to_refuse_and_shows_what_it_was_asked(client):
    told = client.post("/hooks/acme/oauth", json={"refuse": True})
    assert told.status_code == 200 and told.json["refuse"] is True
    refused = client.post("/hooks/acme/oauth/token", data=GRANT, headers=BASIC)
    assert refused.status_code == 401 and refused.json["error"] == "invalid_client"
    assert refused.headers["WWW-Authenticate"].startswith("Basic")
    assert client.post("/hooks/other/oauth/token", data=GRANT,
                       headers=BASIC).status_code == 200  # per hook
    shown = client.get("/hooks/acme/oauth").json
    assert shown["requests"] == [{"hook": "acme", "method": "POST", "client_id": "acme-client",
                                  "grant_type": "client_credentials", "answer": 401}]
    assert "s3cret" not in json.dumps(shown)
    client.post("/hooks/acme/oauth", json={"refuse": False})
    assert client.post("/hooks/acme/oauth/token", data=GRANT,
                       headers=BASIC).status_code == 200


@pytest.mark.parametrize("payload", [{"refuse": "yes"}, {"refuse": True, "delay_seconds": 11},
                                     {"refuse": False, "delay_seconds": -1}, ["refuse"]])
def test_bad_settings_are_refused_with_a_problem(client, payload):
    answer = client.post("/hooks/acme/oauth", json=payload)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/problem+json"


def test_the_settings_form_refuses_cross_site_posts(client):
    answer = client.post("/hooks/acme/oauth", data={"refuse": "true"},
                         headers={"Origin": "https://evil.example"})
    assert answer.status_code == 403
    assert client.post("/hooks/acme/oauth", data={"refuse": "true"}).status_code == 303
    assert client.get("/hooks/acme/oauth").json["refuse"] is True


def test_a_slow_token_endpoint_waits_before_answering(partner):
    waited: list[float] = []
    partner.tokens = TokenEndpoint(sleep=waited.append)
    partner.tokens.configure("acme", refuse=False, delay_seconds=1.5)
    answer = partner.tokens.answer("acme", "POST", BASIC, GRANT)
    assert answer.status == 200 and waited == [1.5]
