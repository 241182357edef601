"""The sample partner's OAuth 2.0 token endpoint (client-credentials grant), per hook.

An EventBridge connection of type OAUTH_CLIENT_CREDENTIALS is authorised by a token request
to its authorization endpoint (EventBridge user guide, eb-target-connection-auth; the
connection's `HttpMethod`, client id and secret, and `OAuthHttpParameters`). This endpoint
answers such requests as RFC 6749 section 4.4 says: the client authenticates with HTTP Basic
(or `client_id`/`client_secret` parameters), `grant_type` must be `client_credentials`, the
answer is `{"access_token", "token_type": "Bearer", "expires_in"}`; errors are section 5.2's
`{"error", "error_description"}`. Any client id and secret are accepted (the hooks check no
credential), unless the hook's endpoint was told to refuse: then every request gets
`401 invalid_client`, so a DEAUTHORIZED connection can be shown. It can also answer slowly
(a token endpoint that takes a while, as EventBridge's authorisation does).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping
from urllib.parse import unquote_plus

TOKEN_LIFETIME = 3600
MAX_DELAY_SECONDS = 10.0  # EventBridge gives up on a token request after 5 s
KEPT_REQUESTS = 100


class TokenSettingsError(ValueError):
    """A token endpoint setting the sample partner refuses."""


@dataclass(frozen=True)
class TokenAnswer:
    """What the endpoint answers: an HTTP status, a JSON body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def _client(headers: Mapping[str, str], form: Mapping[str, str]) -> tuple[str, str] | None:
    """(client id, secret) from HTTP Basic (RFC 6749 2.3.1) or the request's parameters."""
    authorization = headers.get("Authorization", "")
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = decoded.partition(":")
        # The pair is form-encoded before Basic encoding (RFC 6749 2.3.1).
        return (unquote_plus(client_id), unquote_plus(secret)) if sep else None
    if form.get("client_id") and form.get("client_secret"):
        return form["client_id"], form["client_secret"]
    return None


class TokenEndpoint:
    """Token endpoints of the sample partner's hooks: answers, settings, requests seen.

    Parameters
    ----------
    sleep: how a slow answer waits (tests pass a fake).
    """

    def __init__(self, sleep: Callable[[float], None] = time.sleep):
        self._sleep = sleep
        self._lock = threading.Lock()
        self._settings: dict[str, dict[str, Any]] = {}  # hook -> {"refuse", "delay_seconds"}
        self._requests: list[dict[str, Any]] = []

    def settings(self, hook: str) -> dict[str, Any]:
        """The hook's token endpoint settings: whether it refuses, how slowly it answers."""
        with self._lock:
            return dict(self._settings.get(hook, {"refuse": False, "delay_seconds": 0.0}))

    def configure(self, hook: str, *, refuse: Any, delay_seconds: Any = 0) -> dict[str, Any]:
        """Make the hook's token endpoint refuse (or accept) clients, and answer after a delay.

        Raises
        ------
        TokenSettingsError: `refuse` is not a boolean, or the delay not 0-10 seconds.
        """
        if not isinstance(refuse, bool):
            raise TokenSettingsError("refuse must be true or false")
        if isinstance(delay_seconds, bool) or not isinstance(delay_seconds, (int, float)) \
                or not 0 <= delay_seconds <= MAX_DELAY_SECONDS:
            raise TokenSettingsError(
                f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS:g}")
        with self._lock:
            self._settings[hook] = {"refuse": refuse, "delay_seconds": float(delay_seconds)}
        return self.settings(hook)

    def requests(self, hook: str | None = None) -> list[dict[str, Any]]:
        """Token requests received (newest first): method, client id, grant type, answer."""
        with self._lock:
            return [dict(r) for r in reversed(self._requests)
                    if hook is None or r["hook"] == hook]

    def answer(self, hook: str, method: str, headers: Mapping[str, str],
               form: Mapping[str, str]) -> TokenAnswer:
        """Answer one token request (RFC 6749 4.4 and 5.2)."""
        settings = self.settings(hook)
        if settings["delay_seconds"]:
            self._sleep(settings["delay_seconds"])
        client = _client(headers, form)
        grant_type = form.get("grant_type", "")
        if client is None:
            answer = TokenAnswer(401, {"error": "invalid_client", "error_description":
                                       "no client credentials (HTTP Basic or client_id and "
                                       "client_secret)"},
                                 {"WWW-Authenticate": 'Basic realm="sample-partner"'})
        elif grant_type != "client_credentials":
            answer = TokenAnswer(400, {"error": "unsupported_grant_type", "error_description":
                                       "grant_type must be client_credentials"}, {})
        elif settings["refuse"]:
            answer = TokenAnswer(401, {"error": "invalid_client", "error_description":
                                       "the sample partner was told to refuse this client"},
                                 {"WWW-Authenticate": 'Basic realm="sample-partner"'})
        else:
            answer = TokenAnswer(200, {"access_token": secrets.token_urlsafe(24),
                                       "token_type": "Bearer", "expires_in": TOKEN_LIFETIME},
                                 {"Cache-Control": "no-store"})
        with self._lock:
            self._requests.append({"hook": hook, "method": method,
                                   "client_id": client[0] if client else None,
                                   "grant_type": grant_type, "answer": answer.status})
            del self._requests[:-KEPT_REQUESTS]
        return answer
