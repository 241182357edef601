"""transport: one HTTP request on a connection of its own (API destination calls)."""

from __future__ import annotations

import pytest
import requests

from infra.local.runtime import transport
from infra.local.runtime.api_destinations import ApiDestinationCaller, CallResult, Destination
from tests.infra.local.runtime_support import Reply, endpoint  # noqa: F401  (fixture)


@pytest.mark.parametrize(("url", "query", "expected"), [
    ("http://h:81/a/b", None, ("http", "h", 81, "/a/b")),
    ("http://h", [], ("http", "h", None, "/")),
    ("https://h/p?x=1", [("y", "2 3")], ("https", "h", None, "/p?x=1&y=2+3")),
    ("http://h/p", [("q1", "a"), ("q2", "b")], ("http", "h", None, "/p?q1=a&q2=b")),
])
def test_target_of(url, query, expected):
    assert transport.target_of(url, query) == expected


@pytest.mark.parametrize("url", ["ftp://h/x", "h/x", "http:///x"])
def test_target_of_refuses_what_is_not_http(url):
    with pytest.raises(transport.TransportError):
        transport.target_of(url, None)


def test_send_carries_headers_body_and_length(endpoint):
    endpoint.default = Reply(202, b'{"ok": true}', {"Retry-After": "3", "X-Other": "y"})
    answer = transport.send("PUT", f"{endpoint.url}/in", query=[("k", "v")], timeout=5,
                            headers={"Content-Type": "application/json", "Accept": "x/y"},
                            body=b'{"a": 1}')
    assert answer.status == 202
    assert answer.headers["retry-after"] == "3" and answer.headers["x-other"] == "y"
    request = endpoint.received[0]
    assert (request.method, request.path, request.body) == ("PUT", "/in?k=v", b'{"a": 1}')
    assert request.headers["content-length"] == "8"
    assert request.headers["accept"] == "x/y"  # the caller's header wins over the default
    assert request.headers["accept-encoding"] == "gzip, deflate"


def test_a_redirect_is_answered_not_followed(endpoint):
    endpoint.default = Reply(302, headers={"Location": "/elsewhere"})
    assert transport.send("POST", endpoint.url, headers={}, body=b"", timeout=5).status == 302
    assert len(endpoint.received) == 1


def test_no_answer_in_time_or_no_server(endpoint):
    endpoint.default = Reply(200, delay=0.5)
    with pytest.raises(transport.TransportError) as timed_out:
        transport.send("POST", endpoint.url, headers={}, body=b"", timeout=0.1)
    assert timed_out.value.timed_out
    with pytest.raises(transport.TransportError) as refused:
        transport.send("POST", "http://127.0.0.1:9", headers={}, body=b"", timeout=0.5)
    assert not refused.value.timed_out


def test_an_injected_session_sends_the_same_request(endpoint):
    """A caller given a `requests.Session` sends what the transport sends (the headers a
    partner sees do not depend on which one sent them)."""
    destination = Destination(
        arn="arn:aws:events:us-east-1:123456789012:api-destination/d/1",
        endpoint=f"{endpoint.url}/hook", http_method="POST",
        connection_arn="arn:aws:events:us-east-1:123456789012:connection/c/1",
        authorization_type="API_KEY",
        auth_parameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key", "ApiKeyValue": "v"}})
    session = requests.Session()
    session.trust_env = False
    for caller in (ApiDestinationCaller(), ApiDestinationCaller(http=session)):
        assert caller.call(destination, '{"a": 1}', {"QueryStringParameters": {"q": "1"}}
                           ) == CallResult(200)
    lean, injected = endpoint.received
    assert (lean.path, lean.body) == (injected.path, injected.body) == ("/hook?q=1", b'{"a": 1}')
    assert lean.headers == injected.headers
