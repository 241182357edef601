"""Time and identifiers as seams: pass `clock=` / `id_factory=` so tests never sleep or guess."""

from __future__ import annotations

import secrets
import string
from datetime import datetime, timezone
from typing import Callable

Clock = Callable[[], datetime]

_ID_ALPHABET = string.ascii_lowercase + string.digits


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def isoformat(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, seconds precision: `2026-11-23T10:00:00Z` (as EventBridge)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> datetime:
    """Read an ISO 8601 time; a time without zone is taken as UTC."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def new_id(prefix: str = "", length: int = 11) -> str:
    """A random lower-case id; `new_id("p")` gives partner ids like `p4k9x2m7q1zb0`."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_partner_id() -> str:
    """A 12-character partner id (EventBridge resource names leave room for 12)."""
    return new_id("p", 11)
