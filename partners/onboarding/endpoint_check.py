"""The admin's on-demand endpoint check: resolves publicly, TLS handshake, answers with auth.

Each step reports ok / failed with the detail an admin needs to tell the partner what to fix.
The check sends one CloudEvent of type `marketplace.gateway.endpoint_check` with the
environment's configured credentials, never follows redirects (a redirect could point
anywhere), and refuses any endpoint `validate_endpoint_url` refuses.
"""

from __future__ import annotations

import base64
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from partners.core.clock import isoformat, new_id
from partners.onboarding.exceptions import InvalidEndpointError
from partners.onboarding.models import AuthType, PartnerEnvironment
from partners.onboarding.validation import Resolver, validate_endpoint_url

TIMEOUT_SECONDS = 5  # what EventBridge allows an API destination call
CHECK_EVENT_TYPE = "marketplace.gateway.endpoint_check"


@dataclass(frozen=True)
class CheckStep:
    name: str
    ok: bool
    detail: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_NoRedirect, urllib.request.ProxyHandler({}))


def _tls_handshake(host: str, port: int) -> CheckStep:
    context = ssl.create_default_context()
    try:
        with socket.create_connection((host, port), timeout=TIMEOUT_SECONDS) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                certificate = tls.getpeercert() or {}
                version = tls.version()
    except ssl.SSLCertVerificationError as error:
        return CheckStep("TLS handshake", False, f"certificate not trusted: {error.verify_message}")
    except (OSError, ssl.SSLError) as error:
        return CheckStep("TLS handshake", False, f"no TLS connection: {error}")
    expires = certificate.get("notAfter", "")
    return CheckStep("TLS handshake", True, f"{version}, certificate valid until {expires}")


def _auth_headers(environment: PartnerEnvironment, secret: str | None,
                  post: Callable[..., tuple[int, bytes]]) -> dict[str, str]:
    auth = environment.auth
    if auth is None or secret is None:
        return {}
    if auth.type is AuthType.API_KEY:
        return {auth.header_name or "x-api-key": secret}
    if auth.type is AuthType.BASIC:
        pair = f"{auth.username}:{secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    form = {"grant_type": "client_credentials", "client_id": auth.client_id or "",
            "client_secret": secret}
    if auth.scope:
        form["scope"] = auth.scope
    status, body = post(auth.token_url, urllib.parse.urlencode(form).encode(),
                        {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        raise PermissionError(f"the token endpoint answered {status}")
    try:
        token = json.loads(body)["access_token"]
    except (ValueError, KeyError, TypeError):
        raise PermissionError("the token endpoint's answer has no access_token") from None
    return {"Authorization": f"Bearer {token}"}


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener().open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        return error.code, error.read(65536) if error.fp else b""


def check_endpoint(environment: PartnerEnvironment, secret: str | None, *,
                   allow_insecure: bool, resolver: Resolver | None = None,
                   post: Callable[..., tuple[int, bytes]] = _post) -> list[CheckStep]:
    """Run the checks in order; stop at the first that fails.

    Parameters
    ----------
    environment: the partner environment (push mode, with an endpoint).
    secret: its endpoint credential (from the credential store), or None when unset.
    allow_insecure: the stage accepts http and loopback endpoints (embedded stack only).
    resolver, post: seams for DNS and the HTTP call.
    """
    steps: list[CheckStep] = []
    if not environment.endpoint_url:
        return [CheckStep("Endpoint", False, "no endpoint URL (poll mode needs no check)")]
    try:
        url = validate_endpoint_url(environment.endpoint_url, allow_insecure=allow_insecure,
                                    resolver=resolver)
    except InvalidEndpointError as error:
        return [CheckStep("Resolves publicly", False, error.reason)]
    parts = urllib.parse.urlsplit(url)
    steps.append(CheckStep("Resolves publicly", True, f"{parts.hostname} is an allowed address"))
    if parts.scheme == "https":
        step = _tls_handshake(parts.hostname or "", parts.port or 443)
        steps.append(step)
        if not step.ok:
            return steps
    else:
        steps.append(CheckStep("TLS handshake", True,
                               "skipped: plain http is allowed in this stage (embedded stack)"))
    event = {"specversion": "1.0", "id": new_id("chk", 12), "source": "marketplace.gateway",
             "type": CHECK_EVENT_TYPE, "time": isoformat(datetime.now(timezone.utc)),
             "datacontenttype": "application/json", "data": {"check": True}}
    try:
        headers = _auth_headers(environment, secret, post)
        status, _ = post(url, json.dumps(event).encode(),
                         {"Content-Type": "application/json; charset=utf-8",
                          "User-Agent": "partner-event-gateway/endpoint-check", **headers})
    except PermissionError as error:
        steps.append(CheckStep("Answers with the configured auth", False, str(error)))
        return steps
    except (OSError, ValueError) as error:
        steps.append(CheckStep("Answers with the configured auth", False,
                               f"no answer: {error}"))
        return steps
    if 200 <= status < 300:
        steps.append(CheckStep("Answers with the configured auth", True, f"HTTP {status}"))
    elif status in (401, 403):
        steps.append(CheckStep("Answers with the configured auth", False,
                               f"HTTP {status}: the endpoint refused the credentials"))
    else:
        steps.append(CheckStep("Answers with the configured auth", False,
                               f"HTTP {status}: EventBridge would "
                               f"{'retry' if status == 429 or status >= 500 else 'dead-letter'}"
                               " this"))
    return steps
