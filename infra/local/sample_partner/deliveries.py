"""What the sample partner receives: accounts, deliveries, modes, and the CloudEvent check."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

# The order the partner API's request lifecycle allows (partners/requests/status.py: a
# request is accepted before work on it is in progress).
STATUS_SEQUENCE = ("received", "in_progress", "accepted", "fulfilled")
MODES = ("ok", "fail500", "fail429", "timeout")
DEFAULT_API_KEY_HEADER = "X-Api-Key"
DELIVERY_PATH = "/deliveries"
# Any partner a newcomer signs up points an environment at `/hooks/<a name of its choice>`:
# the sample partner takes whatever credential the connection sends there.
HOOK_PATH = "/hooks/<hook>"
HOOK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# A partner API token names its environment (`pgw_<environment>_<random>`, as
# partners/onboarding/tokens.py issues them), so a pasted token says where it belongs.
API_TOKEN = re.compile(r"^pgw_([a-z][a-z0-9]{1,15})_[A-Za-z0-9]{16,64}$")
# Headers shown as received; every other header may carry a credential (an API key header
# can have any name) and is shown masked.
PLAIN_HEADERS = frozenset({
    "accept", "accept-encoding", "connection", "content-length", "content-type", "host",
    "range", "user-agent", "x-amzn-trace-id", "idempotency-key"})
# The most of a body kept per request (EventBridge sends at most 256 KB).
MAX_BODY_CHARS = 512 * 1024
MAX_FOR_SECONDS = 3600
# The partner API answers 404 until the routing record of a fresh request is projected;
# a partner retries such a status a few times (with 429 and 5xx) before it gives up.
RETRYABLE_STATUS = frozenset({404, 429, 500, 502, 503, 504})


@dataclass
class Account:
    """One partner using the sample partner: its delivery API key and API tokens."""

    name: str
    api_key: str
    tokens: dict[str, str] = field(default_factory=dict)  # environment -> partner API token


@dataclass
class Delivery:
    """One CloudEvent received (first delivery of its id)."""

    id: str
    account: str
    received_at: str
    type: str
    request_id: str | None
    environment: str | None
    data: Mapping[str, Any]
    user_agent: str | None
    statuses: list[dict[str, Any]] = field(default_factory=list)
    note: str | None = None
    # The request as it arrived: method, path, headers (credentials masked), raw body.
    method: str = "POST"
    path: str = DELIVERY_PATH
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    credential: str = ""
    answer: int = 200
    # How often this CloudEvent id arrived (a resend or redrive keeps the id: 2, 3, ...).
    times_received: int = 1

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account, "received_at": self.received_at,
                "type": self.type, "request_id": self.request_id,
                "environment": self.environment, "data": dict(self.data),
                "user_agent": self.user_agent, "statuses": list(self.statuses),
                "note": self.note, "method": self.method, "path": self.path,
                "headers": dict(self.headers), "body": self.body,
                "credential": self.credential, "answer": self.answer,
                "times_received": self.times_received}


class ModeError(ValueError):
    """A mode switch the sample partner refuses."""


class HookTokenError(ValueError):
    """An API token the sample partner cannot use for a hook (not a partner API token)."""


def mask(value: str) -> str:
    """A secret as the page shows it: its scheme word (`Basic`, `Bearer`), never its value."""
    scheme, _, rest = value.partition(" ")
    if rest and scheme.lower() in ("basic", "bearer"):
        return f"{scheme} ****** ({len(rest)} characters)"
    return f"****** ({len(value)} characters)"


def masked_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Every header as received, credentials masked (any header not known to be plain)."""
    return {name: value if name.lower() in PLAIN_HEADERS else mask(value)
            for name, value in headers}


def describe_credential(headers: Iterable[tuple[str, str]]) -> str:
    """Which credential a request carried, without its value."""
    found = []
    for name, value in headers:
        if name.lower() == "authorization":
            scheme = value.partition(" ")[0].lower()
            found.append({"basic": "Basic auth", "bearer": "Bearer token (OAuth)"}.get(
                scheme, "Authorization header"))
        elif name.lower() not in PLAIN_HEADERS:
            found.append(f"header {name}")
    return ", ".join(found) or "none"


def hook_token_environment(token: str) -> str:
    """The environment a partner API token belongs to.

    Raises
    ------
    HookTokenError: `token` is not a partner API token (`pgw_<environment>_...`).
    """
    match = API_TOKEN.fullmatch(token.strip())
    if match is None:
        raise HookTokenError("paste an API token from the console (it starts with "
                             "pgw_<environment>_)")
    return match.group(1)


def check_cloudevent(body: Any) -> str | None:
    """Why `body` is not a CloudEvents 1.0 structured JSON event, or None."""
    if not isinstance(body, Mapping):
        return "the body must be a CloudEvents 1.0 JSON object"
    if body.get("specversion") != "1.0":
        return "specversion must be \"1.0\""
    for name in ("id", "source", "type"):
        if not isinstance(body.get(name), str) or not body[name]:
            return f"{name} must be a non-empty string"
    if "data" not in body:
        return "data is missing"
    return None
