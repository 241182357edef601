"""The endpoint check: it connects only to the address it validated (no DNS rebinding), checks
the OAuth token URL before the client secret goes there, and never shows the credential."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from partners.onboarding.endpoint_check import HIDDEN, check_endpoint
from partners.onboarding.models import AuthType, DeliveryMode, EndpointAuth, PartnerEnvironment
from tests.recorders import FakeHttp

PUBLIC, PRIVATE = "93.184.216.34", "10.0.0.7"


class RebindingResolver:
    """DNS that answers a public address first and a private one on every later lookup."""

    def __init__(self):
        self.lookups: list[str] = []

    def __call__(self, hostname: str) -> list[str]:
        self.lookups.append(hostname)
        return [PUBLIC] if self.lookups.count(hostname) == 1 else [PRIVATE]


class Recorder(BaseHTTPRequestHandler):
    """A partner endpoint on loopback: records each request, answers 200."""

    seen: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Recorder.seen.append({"path": self.path, "headers": dict(self.headers), "body": body})
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    """A local HTTP server and a connector that routes every address to it, recording each."""
    Recorder.seen = []
    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    dialled: list[tuple[str, int]] = []

    def connect(address, port, timeout):
        dialled.append((address, port))
        return socket.create_connection(server.server_address, timeout=timeout)

    yield connect, dialled
    server.shutdown()
    server.server_close()


def push(url="http://hooks.acme.example.com:8080/pgw?x=1", auth=None) -> PartnerEnvironment:
    return PartnerEnvironment("test", mode=DeliveryMode.PUSH, endpoint_url=url,
                              auth=auth or EndpointAuth(AuthType.API_KEY, header_name="x-key"))


def test_the_check_connects_to_the_address_it_validated(endpoint):
    connect, dialled = endpoint
    resolver = RebindingResolver()
    steps = check_endpoint(push(), "the-key", allow_insecure=True, resolver=resolver,
                           connect=connect)
    assert [s.ok for s in steps] == [True, True, True], steps
    # A second lookup would have answered 10.0.0.7: the call went to the checked address.
    assert dialled == [(PUBLIC, 8080)]
    assert resolver.lookups == ["hooks.acme.example.com"]
    [request] = Recorder.seen
    assert request["headers"]["Host"] == "hooks.acme.example.com:8080"
    assert request["headers"]["x-key"] == "the-key" and request["path"] == "/pgw?x=1"
    assert json.loads(request["body"])["type"] == "marketplace.gateway.endpoint_check"


def test_the_tls_handshake_dials_the_validated_address_and_names_the_host(monkeypatch):
    dialled = []

    def refuse(address, port, timeout):
        dialled.append((address, port))
        raise ConnectionRefusedError("connection refused")

    steps = check_endpoint(push("https://hooks.acme.example.com/pgw"), "k",
                           allow_insecure=False, resolver=RebindingResolver(), connect=refuse,
                           post=FakeHttp())
    assert [s.name for s in steps] == ["Resolves publicly", "TLS handshake"]
    assert not steps[-1].ok and "connection refused" in steps[-1].detail
    assert dialled == [(PUBLIC, 443)]


@pytest.mark.parametrize("token_url, reason", [
    ("https://auth.internal.example.com/token", "private address"),
    ("https://10.0.0.9/token", "IP address literals"),
    (None, "required"),
])
def test_the_token_url_is_checked_before_the_client_secret_goes_there(token_url, reason):
    oauth = EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c", token_url=token_url)
    http = FakeHttp((200, b'{"access_token": "tok"}'), (200, b""))

    def resolver(host):
        return [PRIVATE] if "internal" in host else [PUBLIC]

    steps = check_endpoint(push("http://hooks.acme.example.com/pgw", oauth), "client-secret",
                           allow_insecure=True, resolver=resolver, post=http)
    assert [(s.name, s.ok) for s in steps] == [("Resolves publicly", True),
                                               ("Token URL resolves publicly", False)]
    assert reason in steps[-1].detail
    assert http.calls == []  # nothing sent anywhere, least of all the secret


def test_the_token_request_goes_to_the_checked_token_address():
    oauth = EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c",
                         token_url="https://auth.acme.example.com/token")
    http = FakeHttp((200, b'{"access_token": "tok"}'), (200, b""))
    resolver = RebindingResolver()
    steps = check_endpoint(push("http://hooks.acme.example.com/pgw", oauth), "cs",
                           allow_insecure=True, resolver=resolver, post=http)
    assert steps[-1].ok
    token_target, form, _ = http.calls[0]
    assert (token_target.host, token_target.address) == ("auth.acme.example.com", PUBLIC)
    assert b"client_secret=cs" in form
    assert sorted(resolver.lookups) == ["auth.acme.example.com", "hooks.acme.example.com"]


SECRET = "s3cr3t\r\nX-Injected: yes"


def test_a_secret_a_header_cannot_carry_never_shows_in_the_result(endpoint):
    connect, _ = endpoint
    steps = check_endpoint(push(), SECRET, allow_insecure=True, resolver=RebindingResolver(),
                           connect=connect)
    assert not steps[-1].ok and "cannot be sent in an HTTP header" in steps[-1].detail
    text = repr(steps)
    assert "s3cr3t" not in text and "Injected" not in text
    assert Recorder.seen == []  # the endpoint received nothing


@pytest.mark.parametrize("auth", [
    EndpointAuth(AuthType.API_KEY, header_name="x-key"),
    EndpointAuth(AuthType.BASIC, username="acme"),
])
def test_error_details_are_scrubbed_of_the_credential(auth):
    def leaky(target, body, headers):
        raise OSError(f"proxy said no to {headers!r} and {dict(headers)}")

    steps = check_endpoint(push(auth=auth), "pa55-w0rd\n", allow_insecure=True,
                           resolver=RebindingResolver(), post=leaky)
    detail = steps[-1].detail
    assert not steps[-1].ok and HIDDEN in detail
    assert "pa55" not in detail and "YWNtZTpwYTU1" not in detail  # nor its Basic base64
