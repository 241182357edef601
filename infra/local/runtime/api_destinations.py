"""HTTP calls to API destinations the way EventBridge makes them, with the connection's auth.

moto sends API-destination calls (only with `MOTO_EVENTS_INVOKE_HTTP=true`) without body,
auth or EventBridge's headers. This caller follows the AWS documentation pages "API
destinations as targets in Amazon EventBridge" (eb-api-destinations: headers, 5 s timeout,
retried status codes, Retry-After) and "Connections for API destination targets"
(eb-target-connection-auth: API key header, Basic, OAuth client credentials with token
refresh on 401/407).

Connections (eb-target-connection, eb-target-connection-states): an OAuth connection is
authorised by a token request to its authorization endpoint, made in the background after
CreateConnection/UpdateConnection (`ConnectionAuthorizer`, called by moto's patched
connections through the runtime); a refusal leaves it DEAUTHORIZED with the endpoint's answer
as its `StateReason`. A call through a connection that is not AUTHORIZED fails without an
HTTP request and is not retried: it goes to the target's DLQ ("Using dead-letter queues",
eb-rule-dlq: problems that need action go to the DLQ without retries; re:Post "Why did my
EventBridge rule not invoke my API destination": a DEAUTHORIZED connection).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

import requests

from infra.local.runtime import transport

logger = logging.getLogger(__name__)

# What EventBridge sends on every API destination call.
EVENTBRIDGE_HEADERS = {
    "User-Agent": "Amazon/EventBridge/ApiDestinations",
    "Content-Type": "application/json; charset=utf-8",
    "Range": "bytes=0-1048575",
    "Connection": "close",
}
DEFAULT_TIMEOUT_SECONDS = 5.0
# An OAuth token without `expires_in` is kept this long (seconds).
DEFAULT_TOKEN_LIFETIME = 3600.0
# Refresh a token this long before it expires, so a call never carries a stale one.
TOKEN_EXPIRY_MARGIN = 30.0
# Characters of a refusing authorization endpoint's answer kept in the connection's
# StateReason (at most 512 characters in all): enough to read an OAuth error.
TOKEN_ANSWER_EXCERPT = 200
# Connection states an API destination can be called through (ACTIVE: private APIs).
USABLE_CONNECTION_STATES = frozenset({"AUTHORIZED", "ACTIVE"})
# The DLQ ERROR_CODE of a call refused because its connection is not authorised (AWS does
# not document the code's name; the message names the state and its reason).
CONNECTION_NOT_AUTHORIZED = "CONNECTION_NOT_AUTHORIZED"


@dataclass(frozen=True)
class CallResult:
    """What one call to a destination gave: a status, or an error before any status."""

    status: int | None
    error_code: str = ""
    error_message: str = ""
    retry_after: float | None = None
    # A failure no retry can fix (the connection is not authorised): straight to the DLQ.
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """429, 5xx and calls that got no answer (timeouts, refused connections)."""
        if self.permanent:
            return False
        if self.status is None:
            return True
        return self.status == 429 or 500 <= self.status < 600


@dataclass(frozen=True)
class Destination:
    """An API destination and its connection's authorization, as moto stores them."""

    arn: str
    endpoint: str
    http_method: str
    connection_arn: str
    authorization_type: str
    auth_parameters: Mapping[str, Any] = field(default_factory=dict)
    # InvocationRateLimitPerSecond (EventBridge's default: 300).
    rate_limit: float = 300.0
    # The connection's ConnectionState and StateReason when the call is made.
    connection_state: str = "AUTHORIZED"
    state_reason: str = ""
    # Called with the reason when EventBridge de-authorises the connection during a call
    # (an OAuth token it could not refresh); None: nobody to tell.
    on_deauthorized: Callable[[str], None] | None = field(default=None, compare=False)


class RateLimiter:
    """Invocations per second per API destination: a token bucket holding one second's worth.

    EventBridge holds back the events over a destination's InvocationRateLimitPerSecond and
    delivers them as the rate allows (eb-api-destinations, "API destination rate limits").
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str, rate: float) -> float:
        """Take a token for `key` if there is one (0.0), else the seconds until one frees."""
        rate = max(rate, 0.001)
        with self._lock:
            now = self._clock()
            tokens, stamp = self._buckets.get(key, (rate, now))
            tokens = min(rate, tokens + (now - stamp) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate


def _pairs(parameters: Any) -> list[tuple[str, str]]:
    """`[{"Key": k, "Value": v}, ...]` (connection form) or `{k: v}` (target form) as pairs."""
    if not parameters:
        return []
    if isinstance(parameters, Mapping):
        return [(str(k), str(v)) for k, v in parameters.items()]
    return [(str(p["Key"]), str(p.get("Value", ""))) for p in parameters if "Key" in p]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


def fill_path_parameters(endpoint: str, values: list[str] | None) -> str:
    """Replace each `*` of the endpoint with the target's `PathParameterValues`, in order."""
    for value in values or []:
        if "*" not in endpoint:
            break
        endpoint = endpoint.replace("*", value, 1)
    return endpoint


class TokenError(Exception):
    """The OAuth authorization endpoint did not give a token."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


def _excerpt(text: str, hidden: list[str]) -> str:
    """A short, one-line excerpt of an answer, with every value in `hidden` masked."""
    for value in hidden:
        if value:
            text = text.replace(value, "***")
    text = " ".join(text.split())
    return text if len(text) <= TOKEN_ANSWER_EXCERPT else text[:TOKEN_ANSWER_EXCERPT] + "..."


def _secret_values(oauth: Mapping[str, Any]) -> list[str]:
    """The client secret and the OAuth HTTP parameters marked secret."""
    values = [str((oauth.get("ClientParameters") or {}).get("ClientSecret") or "")]
    for group in (oauth.get("OAuthHttpParameters") or {}).values():
        for parameter in group or []:
            if isinstance(parameter, Mapping) and parameter.get("IsValueSecret"):
                values.append(str(parameter.get("Value") or ""))
    return [v for v in values if v]


class ApiDestinationCaller:
    """Make EventBridge's HTTP call to an API destination.

    Parameters
    ----------
    timeout: seconds before a call counts as timed out (EventBridge: 5).
    http: a `requests.Session`-like object that sends the calls and the OAuth token
        requests; without one, calls go out on `transport` (a connection each, as
        EventBridge's) and token requests on a `requests.Session` per thread.
    clock: seconds since the epoch, for OAuth token expiry.
    """

    def __init__(self, *, timeout: float = DEFAULT_TIMEOUT_SECONDS,
                 http: Any | None = None, clock: Callable[[], float] = time.time):
        self.timeout = timeout
        self._http = http
        self._local = threading.local()
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._token_lock = threading.Lock()

    def _session(self) -> Any:
        if self._http is not None:
            return self._http
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            session.trust_env = False  # loopback partners only; never through a proxy
        return session

    # -- OAuth ---------------------------------------------------------------------------

    def forget_token(self, connection_arn: str) -> None:
        with self._token_lock:
            self._tokens.pop(connection_arn, None)

    def token(self, destination: Destination) -> str:
        """The cached OAuth access token of the destination's connection, fetched if needed.

        Raises:
            TokenError: the authorization endpoint failed or gave no `access_token`.
        """
        with self._token_lock:
            cached = self._tokens.get(destination.connection_arn)
            if cached and cached[1] - TOKEN_EXPIRY_MARGIN > self._clock():
                return cached[0]
        token, lifetime = self._fetch_token(destination.auth_parameters.get("OAuthParameters", {}))
        with self._token_lock:
            self._tokens[destination.connection_arn] = (token, self._clock() + lifetime)
        return token

    def _fetch_token(self, oauth: Mapping[str, Any]) -> tuple[str, float]:
        client = oauth.get("ClientParameters", {})
        credentials = f"{client.get('ClientID', '')}:{client.get('ClientSecret', '')}"
        http_parameters = oauth.get("OAuthHttpParameters", {})
        headers = {
            "User-Agent": EVENTBRIDGE_HEADERS["User-Agent"],
            "Authorization": "Basic " + base64.b64encode(credentials.encode()).decode(),
            "Content-Type": "application/x-www-form-urlencoded",
            "Connection": "close",
        }
        headers.update(dict(_pairs(http_parameters.get("HeaderParameters"))))
        body = urlencode(_pairs(http_parameters.get("BodyParameters")))
        method = str(oauth.get("HttpMethod", "POST")).upper()
        try:
            response = self._session().request(
                method, oauth.get("AuthorizationEndpoint", ""), headers=headers,
                params=_pairs(http_parameters.get("QueryStringParameters")) or None,
                data=body if method != "GET" else None, timeout=self.timeout,
                allow_redirects=False)
        except requests.RequestException as error:
            raise TokenError(f"authorization endpoint unreachable: {type(error).__name__}") from error
        if not 200 <= response.status_code < 300:
            answer = _excerpt(response.text, _secret_values(oauth))
            raise TokenError(f"authorization endpoint answered {response.status_code}"
                             + (f": {answer}" if answer else ""), response.status_code)
        try:
            answer = response.json()
            token = str(answer["access_token"])
        except (ValueError, KeyError, TypeError) as error:
            raise TokenError("authorization endpoint gave no access_token") from error
        lifetime = answer.get("expires_in")
        try:
            seconds = float(lifetime) if lifetime is not None else DEFAULT_TOKEN_LIFETIME
        except (TypeError, ValueError):
            seconds = DEFAULT_TOKEN_LIFETIME
        return token, seconds

    def authorize(self, connection_arn: str, auth_parameters: Mapping[str, Any]
                  ) -> tuple[bool, str]:
        """Authorise an OAuth connection as EventBridge does: fetch a token, keep it.

        Returns
        -------
        (True, "") with the token cached for the connection's calls; (False, reason) with
        the endpoint's status and a short excerpt of its answer (no secret) otherwise.
        """
        self.forget_token(connection_arn)
        try:
            token, lifetime = self._fetch_token(auth_parameters.get("OAuthParameters") or {})
        except TokenError as error:
            return False, str(error)
        with self._token_lock:
            self._tokens[connection_arn] = (token, self._clock() + lifetime)
        return True, ""

    # -- the call ------------------------------------------------------------------------

    def _request_parts(self, destination: Destination, http_parameters: Mapping[str, Any]
                       ) -> tuple[str, dict[str, str], list[tuple[str, str]]]:
        headers = dict(EVENTBRIDGE_HEADERS)
        invocation = destination.auth_parameters.get("InvocationHttpParameters", {})
        headers.update(dict(_pairs(invocation.get("HeaderParameters"))))
        headers.update(dict(_pairs(http_parameters.get("HeaderParameters"))))
        query = _pairs(invocation.get("QueryStringParameters"))
        query += _pairs(http_parameters.get("QueryStringParameters"))
        url = fill_path_parameters(destination.endpoint,
                                   http_parameters.get("PathParameterValues"))
        kind = destination.authorization_type
        if kind == "API_KEY":
            api_key = destination.auth_parameters.get("ApiKeyAuthParameters", {})
            headers[str(api_key.get("ApiKeyName", "x-api-key"))] = str(api_key.get("ApiKeyValue", ""))
        elif kind == "BASIC":
            basic = destination.auth_parameters.get("BasicAuthParameters", {})
            pair = f"{basic.get('Username', '')}:{basic.get('Password', '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif kind == "OAUTH_CLIENT_CREDENTIALS":
            headers["Authorization"] = f"Bearer {self.token(destination)}"
        return url, headers, query

    def call(self, destination: Destination, body: str,
             http_parameters: Mapping[str, Any] | None = None) -> CallResult:
        """POST (or the destination's method) `body` to the destination once.

        An OAuth connection whose token is refused (401/407) gets a fresh token and one more
        call at once, as EventBridge refreshes the token on those answers.
        """
        http_parameters = http_parameters or {}
        if destination.connection_state not in USABLE_CONNECTION_STATES:
            reason = f": {destination.state_reason}" if destination.state_reason else ""
            return CallResult(None, CONNECTION_NOT_AUTHORIZED,
                              f"the connection is {destination.connection_state}{reason}",
                              permanent=True)
        oauth = destination.authorization_type == "OAUTH_CLIENT_CREDENTIALS"
        result = self._call_once(destination, body, http_parameters)
        if oauth and result.status in (401, 407):
            self.forget_token(destination.connection_arn)
            result = self._call_once(destination, body, http_parameters)
        return result

    def _call_once(self, destination: Destination, body: str,
                   http_parameters: Mapping[str, Any]) -> CallResult:
        try:
            url, headers, query = self._request_parts(destination, http_parameters)
        except TokenError as error:
            # The token endpoint's status decides: unreachable, 429 and 5xx are retried. A
            # refusal de-authorises the connection (eb-target-connection-deauthorize: "cannot
            # refresh the necessary OAuth token"), so later calls fail until it is updated.
            refused = error.status is not None and 400 <= error.status < 500 \
                and error.status != 429
            if refused and destination.on_deauthorized is not None:
                self.forget_token(destination.connection_arn)
                destination.on_deauthorized(str(error))
            return CallResult(error.status, "CONNECTION_AUTH_FAILURE", str(error))
        try:
            status, retry_header = self._send(destination.http_method or "POST", url, query,
                                              headers, body.encode("utf-8"))
        except transport.TransportError as error:
            if error.timed_out:
                return CallResult(None, "TIMEOUT",
                                  f"the endpoint did not answer within {self.timeout:g} s")
            return CallResult(None, "CONNECTION_ERROR",
                              f"the endpoint could not be reached: {error.reason}")
        retry_after = parse_retry_after(retry_header, now=self._clock())
        if 200 <= status < 300:
            return CallResult(status)
        return CallResult(status, f"HTTP_{status}",
                          f"the endpoint answered HTTP {status}", retry_after)

    def _send(self, method: str, url: str, query: list[tuple[str, str]],
              headers: dict[str, str], body: bytes) -> tuple[int, str | None]:
        """Send once; the answer's status and `Retry-After` header.

        Raises:
            transport.TransportError: no answer (timed out, or no connection).
        """
        if self._http is None:
            answer = transport.send(method, url, query=query, headers=headers, body=body,
                                    timeout=self.timeout)
            return answer.status, answer.headers.get("retry-after")
        try:
            response = self._http.request(method, url, params=query or None, headers=headers,
                                          data=body, timeout=self.timeout,
                                          allow_redirects=False)
        except requests.Timeout as error:
            raise transport.TransportError(type(error).__name__, timed_out=True) from error
        except requests.RequestException as error:
            raise transport.TransportError(type(error).__name__, timed_out=False) from error
        response.close()
        return response.status_code, response.headers.get("Retry-After")


class ConnectionAuthorizer:
    """Authorise OAuth connections in the background, as EventBridge does after
    CreateConnection and UpdateConnection (each on a thread of its own: a token request
    takes up to the call timeout)."""

    def __init__(self, caller: ApiDestinationCaller):
        self._caller = caller
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()

    def start(self, connection_arn: str, auth_parameters: Mapping[str, Any],
              done: Callable[[bool, str], None]) -> None:
        """Fetch a token for the connection; `done(authorized, reason)` when answered."""
        def run() -> None:
            try:
                done(*self._caller.authorize(connection_arn, auth_parameters))
            except Exception as error:  # never leave a connection AUTHORIZING for ever
                logger.exception("authorising %s failed", connection_arn)
                done(False, f"authorization failed: {type(error).__name__}")
            finally:
                with self._lock:
                    self._threads.discard(threading.current_thread())

        thread = threading.Thread(target=run, name="connection-authorizer", daemon=True)
        with self._lock:
            self._threads.add(thread)
        thread.start()

    def wait(self, timeout: float = 10.0) -> bool:
        """Wait until every authorisation started so far is answered (False: timed out)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)
