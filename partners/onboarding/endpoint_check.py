"""The admin's on-demand endpoint check: resolves publicly, TLS handshake, answers with auth.

Each step reports ok / failed with the detail an admin needs to tell the partner what to fix.
The check sends one CloudEvent of type `marketplace.gateway.endpoint_check` with the
environment's configured credentials, never follows redirects (a redirect could point
anywhere), and refuses any endpoint or OAuth token URL `resolve_endpoint` refuses.

Each URL's name is resolved once: the check connects to the address it validated and speaks
to the name there (Host header, TLS server name and certificate), so a second DNS answer
(DNS rebinding) cannot point the call, or the client secret, at an internal address. No step
detail ever holds the credential: details are scrubbed of it in every spelling it could take.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import urllib.parse
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

from partners.core.clock import isoformat, new_id
from partners.onboarding.exceptions import InvalidEndpointError
from partners.onboarding.models import AuthType, PartnerEnvironment
from partners.onboarding.validation import ResolvedEndpoint, Resolver, resolve_endpoint

TIMEOUT_SECONDS = 5  # what EventBridge allows an API destination call
CHECK_EVENT_TYPE = "marketplace.gateway.endpoint_check"
HIDDEN = "[credential hidden]"

# Opens a TCP connection to (address, port) within a timeout: the network seam.
Connector = Callable[[str, int, float], socket.socket]
# POSTs a body to a resolved endpoint: (endpoint, body, headers) -> (status, first bytes).
Post = Callable[[ResolvedEndpoint, bytes, dict[str, str]], tuple[int, bytes]]


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool
    detail: str


class _StepFailed(Exception):
    """The auth step failed; the message is what the admin reads."""


def open_connection(address: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to exactly `address` (no name lookup)."""
    return socket.create_connection((address, port), timeout=timeout)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to the checked address; the Host header names the host."""

    def __init__(self, target: ResolvedEndpoint, connect: Connector):
        super().__init__(target.host, target.port, timeout=TIMEOUT_SECONDS)
        self._target, self._connect = target, connect

    def connect(self) -> None:
        self.sock = self._connect(self._target.address, self._target.port, TIMEOUT_SECONDS)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address; server name and certificate check are the host's."""

    def __init__(self, target: ResolvedEndpoint, connect: Connector):
        super().__init__(target.host, target.port, timeout=TIMEOUT_SECONDS)
        self._target, self._connect = target, connect
        self._tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = self._connect(self._target.address, self._target.port, TIMEOUT_SECONDS)
        self.sock = self._tls.wrap_socket(raw, server_hostname=self._target.host)


def pinned_post(connect: Connector = open_connection) -> Post:
    """The check's POST: to the resolved address, no proxy, no redirect followed."""

    def post(target: ResolvedEndpoint, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        kind = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
        connection = kind(target, connect)
        try:
            parts = urllib.parse.urlsplit(target.url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            connection.request("POST", path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read(65536)
        finally:
            connection.close()

    return post


def _tls_handshake(target: ResolvedEndpoint, connect: Connector) -> CheckStep:
    context = ssl.create_default_context()
    try:
        with connect(target.address, target.port, TIMEOUT_SECONDS) as raw:
            with context.wrap_socket(raw, server_hostname=target.host) as tls:
                certificate = tls.getpeercert() or {}
                version = tls.version()
    except ssl.SSLCertVerificationError as error:
        return CheckStep("TLS handshake", False, f"certificate not trusted: {error.verify_message}")
    except (OSError, ssl.SSLError) as error:
        return CheckStep("TLS handshake", False, f"no TLS connection: {error}")
    expires = certificate.get("notAfter", "")
    return CheckStep("TLS handshake", True, f"{version}, certificate valid until {expires}")


def _spellings(value: str) -> set[str]:
    """How `value` can appear in an error message: as is, escaped, encoded."""
    return {value, repr(value)[1:-1], repr(value.encode())[2:-1], json.dumps(value)[1:-1],
            urllib.parse.quote_plus(value), urllib.parse.quote(value, safe="")}


class _Hidden:
    """The values no step detail may show: the credential and what is derived from it."""

    def __init__(self, secret: str | None):
        self.values: set[str] = set()
        self.add(secret)

    def add(self, value: str | None) -> None:
        if value:
            self.values |= {v for v in _spellings(value) if len(v) >= 3}

    def scrub(self, text: str) -> str:
        for value in sorted(self.values, key=len, reverse=True):
            text = text.replace(value, HIDDEN)
        return text


def _auth_headers(environment: PartnerEnvironment, secret: str | None,
                  token_target: ResolvedEndpoint | None, post: Post,
                  hidden: _Hidden) -> dict[str, str]:
    auth = environment.auth
    if auth is None or secret is None:
        return {}
    if auth.type is AuthType.API_KEY:
        return {auth.header_name or "x-api-key": secret}
    if auth.type is AuthType.BASIC:
        pair = base64.b64encode(f"{auth.username}:{secret}".encode()).decode()
        hidden.add(pair)
        return {"Authorization": "Basic " + pair}
    if token_target is None:  # `_run` resolves it before anything is sent
        raise _StepFailed("no token URL")
    form = {"grant_type": "client_credentials", "client_id": auth.client_id or "",
            "client_secret": secret}
    if auth.scope:
        form["scope"] = auth.scope
    status, body = post(token_target, urllib.parse.urlencode(form).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise _StepFailed(f"the token endpoint answered {status}")
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise _StepFailed("the token endpoint's answer has no access_token") from None
    hidden.add(str(token))
    return {"Authorization": f"Bearer {token}"}


def _answer_step(status: int) -> CheckStep:
    name = "Answers with the configured auth"
    if 200 <= status < 300:
        return CheckStep(name, True, f"HTTP {status}")
    if status in (401, 403):
        return CheckStep(name, False, f"HTTP {status}: the endpoint refused the credentials")
    outcome = "retry" if status == 429 or status >= 500 else "dead-letter"
    return CheckStep(name, False, f"HTTP {status}: EventBridge would {outcome} this")


def _run(environment: PartnerEnvironment, secret: str | None, *, allow_insecure: bool,
         resolver: Resolver | None, connect: Connector, post: Post,
         hidden: _Hidden) -> list[CheckStep]:
    steps: list[CheckStep] = []
    if not environment.endpoint_url:
        return [CheckStep("Endpoint", False, "no endpoint URL (poll mode needs no check)")]
    try:
        target = resolve_endpoint(environment.endpoint_url, allow_insecure=allow_insecure,
                                  resolver=resolver)
    except InvalidEndpointError as error:
        return [CheckStep("Resolves publicly", False, error.reason)]
    steps.append(CheckStep("Resolves publicly", True,
                           f"{target.host} is an allowed address ({target.address})"))
    token_target = None
    auth = environment.auth
    if auth is not None and auth.type is AuthType.OAUTH_CLIENT_CREDENTIALS:
        # Checked before anything is sent: the client secret goes there.
        try:
            token_target = resolve_endpoint(auth.token_url or "", allow_insecure=allow_insecure,
                                            resolver=resolver)
        except InvalidEndpointError as error:
            steps.append(CheckStep("Token URL resolves publicly", False, error.reason))
            return steps
        steps.append(CheckStep("Token URL resolves publicly", True,
                               f"{token_target.host} is an allowed address "
                               f"({token_target.address})"))
    if target.scheme == "https":
        steps.append(_tls_handshake(target, connect))
        if not steps[-1].ok:
            return steps
    else:
        steps.append(CheckStep("TLS handshake", True,
                               "skipped: plain http is allowed in this stage (embedded stack)"))
    event = {"specversion": "1.0", "id": new_id("chk", 12), "source": "marketplace.gateway",
             "type": CHECK_EVENT_TYPE, "time": isoformat(datetime.now(timezone.utc)),
             "datacontenttype": "application/json", "data": {"check": True}}
    name = "Answers with the configured auth"
    try:
        headers = _auth_headers(environment, secret, token_target, post, hidden)
        status, _ = post(target, json.dumps(event).encode(),
                         {"Content-Type": "application/json; charset=utf-8",
                          "User-Agent": "partner-event-gateway/endpoint-check", **headers})
    except _StepFailed as error:
        steps.append(CheckStep(name, False, str(error)))
    except ValueError:
        # http.client refuses a header value it cannot send (a line break, a non-Latin-1
        # character) with a message that quotes the value: never shown.
        steps.append(CheckStep(name, False, "the credential cannot be sent in an HTTP header "
                                            "(a line break, a control character or a "
                                            "character headers cannot carry); the partner "
                                            "must set it again"))
    except (OSError, http.client.HTTPException) as error:
        steps.append(CheckStep(name, False, f"no answer: {error}"))
    else:
        steps.append(_answer_step(status))
    return steps


def check_endpoint(environment: PartnerEnvironment, secret: str | None, *,
                   allow_insecure: bool, resolver: Resolver | None = None,
                   connect: Connector = open_connection,
                   post: Post | None = None) -> list[CheckStep]:
    """Run the checks in order; stop at the first that fails.

    Parameters
    ----------
    environment: the partner environment (push mode, with an endpoint).
    secret: its endpoint credential (from the credential store), or None when unset.
    allow_insecure: the stage accepts http and loopback endpoints (embedded stack only).
    resolver: the DNS seam; each URL's name is resolved once.
    connect: the network seam, `(address, port, timeout) -> socket`; only ever given an
        address the check validated.
    post: the HTTP seam (`pinned_post(connect)` by default).

    Returns
    -------
    Each step, up to the first that failed; no detail holds the credential.
    """
    hidden = _Hidden(secret)
    steps = _run(environment, secret, allow_insecure=allow_insecure, resolver=resolver,
                 connect=connect, post=post or pinned_post(connect), hidden=hidden)
    return [replace(step, detail=hidden.scrub(step.detail)) for step in steps]
