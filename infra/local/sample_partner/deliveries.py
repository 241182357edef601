"""What the sample partner receives: accounts, deliveries, modes, and the CloudEvent check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# The order the partner API's request lifecycle allows (partners/requests/status.py: a
# request is accepted before work on it is in progress).
STATUS_SEQUENCE = ("received", "in_progress", "accepted", "fulfilled")
MODES = ("ok", "fail500", "fail429", "timeout")
DEFAULT_API_KEY_HEADER = "X-Api-Key"
DELIVERY_PATH = "/deliveries"
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

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "account": self.account, "received_at": self.received_at,
                "type": self.type, "request_id": self.request_id,
                "environment": self.environment, "data": dict(self.data),
                "user_agent": self.user_agent, "statuses": list(self.statuses),
                "note": self.note}


class ModeError(ValueError):
    """A mode switch the sample partner refuses."""


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
