"""Connections have EventBridge's authorisation states in the embedded stack (moto patched,
the local runtime fetching OAuth tokens from the sample partner's token endpoint).

AWS pages followed: "Connections for HTTP endpoint targets"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-target-connection.html),
"Connection states" (eb-target-connection-states), "De-authorizing connections"
(eb-target-connection-deauthorize), the API reference's `ConnectionState`
(https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Connection.html).
"""

from __future__ import annotations

import json
import time

import pytest

from infra.local.sample_partner import SamplePartner
from infra.local.servers import ServerThread
from tests.infra.local.runtime_support import (  # noqa: F401
    create_queue,
    endpoint,
    receive_all,
    runtime,
)

SECRET = "client-s3cret-value"


@pytest.fixture
def sample():
    partner = SamplePartner("http://127.0.0.1:9", workers=0)
    server = ServerThread(partner.app, name="sample-partner").start()
    partner.url = server.url  # type: ignore[attr-defined]
    yield partner
    server.stop()


def oauth_parameters(token_url: str) -> dict:
    return {"OAuthParameters": {
        "AuthorizationEndpoint": token_url, "HttpMethod": "POST",
        "ClientParameters": {"ClientID": "acme-client", "ClientSecret": SECRET},
        "OAuthHttpParameters": {"BodyParameters": [
            {"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]}}}


def settled(events, name: str, timeout: float = 10.0) -> dict:
    """DescribeConnection once the connection left AUTHORIZING (a client polls, as on AWS)."""
    deadline = time.monotonic() + timeout
    while True:
        described = events.describe_connection(Name=name)
        if described["ConnectionState"] != "AUTHORIZING" or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def test_api_key_and_basic_are_creating_then_authorized(aws):
    """eb-target-connection-states: API key and Basic connections are AUTHORIZED once created
    (CreateConnection answers CREATING); UpdateConnection answers UPDATING."""
    events = aws.client("events")
    created = events.create_connection(
        Name="k", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": SECRET}})
    assert created["ConnectionState"] == "CREATING"
    described = events.describe_connection(Name="k")
    assert described["ConnectionState"] == "AUTHORIZED" and "LastAuthorizedTime" in described
    assert SECRET not in json.dumps(described, default=str)  # AWS never returns the value
    updated = events.update_connection(
        Name="k", AuthorizationType="BASIC",
        AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": SECRET}})
    assert updated["ConnectionState"] == "UPDATING"
    [listed] = events.list_connections()["Connections"]
    assert listed["ConnectionState"] == "AUTHORIZED"


def test_oauth_is_authorized_after_a_token_from_the_sample_partner(aws, runtime, sample):
    """eb-target-connection-auth: EventBridge exchanges the client id and secret for a token at
    the authorization endpoint (the connection's HttpMethod, OAuth HTTP parameters); the
    connection is AUTHORIZING until then, AUTHORIZED after."""
    events = aws.client("events")
    created = events.create_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters=oauth_parameters(f"{sample.url}/hooks/acme/oauth/token"))
    assert created["ConnectionState"] == "AUTHORIZING"
    assert settled(events, "o")["ConnectionState"] == "AUTHORIZED"
    [request] = sample.tokens.requests("acme")
    assert request == {"hook": "acme", "method": "POST", "client_id": "acme-client",
                       "grant_type": "client_credentials", "answer": 200}


def test_a_refusing_token_endpoint_leaves_the_connection_deauthorized_with_its_answer(
        aws, runtime, sample):
    """eb-target-connection-states: an authorization failure is DEAUTHORIZED; StateReason says
    why (the endpoint's status and answer, never the secret). UpdateConnection re-authorises."""
    sample.tokens.configure("acme", refuse=True)
    events = aws.client("events")
    events.create_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters=oauth_parameters(f"{sample.url}/hooks/acme/oauth/token"))
    described = settled(events, "o")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert "401" in described["StateReason"] and "invalid_client" in described["StateReason"]
    assert SECRET not in json.dumps(described, default=str)
    [listed] = events.list_connections()["Connections"]
    assert listed["StateReason"] == described["StateReason"]

    sample.tokens.configure("acme", refuse=False)
    again = events.update_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters=oauth_parameters(f"{sample.url}/hooks/acme/oauth/token"))
    assert again["ConnectionState"] == "AUTHORIZING"
    described = settled(events, "o")
    assert described["ConnectionState"] == "AUTHORIZED" and "StateReason" not in described


def test_deauthorize_connection(aws):
    """eb-target-connection-deauthorize: DEAUTHORIZING, then DEAUTHORIZED; the authorization
    parameters are removed."""
    events = aws.client("events")
    events.create_connection(
        Name="k", AuthorizationType="API_KEY",
        AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "X-Key", "ApiKeyValue": SECRET}})
    assert events.deauthorize_connection(Name="k")["ConnectionState"] == "DEAUTHORIZING"
    described = events.describe_connection(Name="k")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert described["AuthParameters"] == {}


def test_a_call_through_a_deauthorized_connection_fails_to_the_dlq(aws, runtime, sample,
                                                                   endpoint):
    """eb-rule-dlq: a failure that needs action goes to the DLQ without retries (re:Post
    knowledge-center/eventbridge-api-destination-target-failure: a DEAUTHORIZED connection);
    no HTTP call reaches the endpoint."""
    sample.tokens.configure("acme", refuse=True)
    events = aws.client("events")
    connection = events.create_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters=oauth_parameters(f"{sample.url}/hooks/acme/oauth/token"))
    assert settled(events, "o")["ConnectionState"] == "DEAUTHORIZED"
    destination = events.create_api_destination(
        Name="d", ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{endpoint.url}/hook", HttpMethod="POST")["ApiDestinationArn"]
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["test.source"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "d", "Arn": destination,
                                           "DeadLetterConfig": {"Arn": dlq_arn}}])
    events.put_events(Entries=[{"Source": "test.source", "DetailType": "x", "Detail": "{}"}])
    assert runtime.drain(5)
    assert endpoint.received == []
    [message] = receive_all(aws, dlq_url)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "CONNECTION_NOT_AUTHORIZED"
    assert "DEAUTHORIZED" in attributes["ERROR_MESSAGE"]
    assert "invalid_client" in attributes["ERROR_MESSAGE"]
    assert attributes["RETRY_ATTEMPTS"] == "0"


def test_the_state_reason_is_short_and_never_holds_the_secret(endpoint):
    """eb-target-connection-states: DEAUTHORIZED's StateReason says why (API model: at most
    512 characters); what the endpoint echoes of the client secret is masked."""
    from infra.local.runtime.api_destinations import ApiDestinationCaller
    from tests.infra.local.runtime_support import Reply

    endpoint.default = Reply(400, json.dumps({"error": "invalid_request", "error_description":
                                              f"bad secret {SECRET}" + " x" * 500}).encode())
    authorized, reason = ApiDestinationCaller().authorize(
        "arn:aws:events:us-east-1:123456789012:connection/o/1",
        oauth_parameters(f"{endpoint.url}/token"))
    assert not authorized and reason.startswith("authorization endpoint answered 400: {")
    assert SECRET not in reason and "***" in reason and len(reason) < 512


def test_an_oauth_token_that_cannot_be_refreshed_deauthorizes_the_connection(
        aws, runtime, sample, endpoint):
    """eb-target-connection-deauthorize: EventBridge de-authorizes a connection when "it cannot
    refresh the necessary OAuth token"; eb-target-connection-auth: tokens are refreshed on a
    401 answer. The next calls fail without reaching the endpoint."""
    from tests.infra.local.runtime_support import Reply

    events = aws.client("events")
    connection = events.create_connection(
        Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS",
        AuthParameters=oauth_parameters(f"{sample.url}/hooks/acme/oauth/token"))
    assert settled(events, "o")["ConnectionState"] == "AUTHORIZED"
    destination = events.create_api_destination(
        Name="d", ConnectionArn=connection["ConnectionArn"],
        InvocationEndpoint=f"{endpoint.url}/hook", HttpMethod="POST")["ApiDestinationArn"]
    dlq_url, dlq_arn = create_queue(aws, "dlq")
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["test.source"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "d", "Arn": destination,
                                           "DeadLetterConfig": {"Arn": dlq_arn}}])
    endpoint.default = Reply(401)  # the token is no longer accepted ...
    sample.tokens.configure("acme", refuse=True)  # ... and no new one is given
    for _ in range(2):
        events.put_events(Entries=[{"Source": "test.source", "DetailType": "x",
                                    "Detail": "{}"}])
        assert runtime.drain(5)
    described = events.describe_connection(Name="o")
    assert described["ConnectionState"] == "DEAUTHORIZED"
    assert "invalid_client" in described["StateReason"]
    assert len(endpoint.received) == 1  # the second event was not sent
    codes = sorted(m["MessageAttributes"]["ERROR_CODE"]["StringValue"]
                   for m in receive_all(aws, dlq_url))
    assert codes == ["CONNECTION_AUTH_FAILURE", "CONNECTION_NOT_AUTHORIZED"]
