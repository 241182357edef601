"""Command ids and payload digests: what the request log keeps with each status post.

A command that appends to the request log is its own idempotency record: the log keeps the
command's id (a hash of its idempotency scope) and its payload's digest
(`partners.requests.log.RequestLog.change_status`). These two functions need none of
Powertools' idempotency utility (`partners.requests.idempotency`), so the handlers that only
append to the log do not import it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping


def command_id(scope: str) -> str:
    """A stable id for a scoped idempotency key (what the request log records)."""
    return hashlib.sha256(scope.encode()).hexdigest()[:32]


def payload_digest(payload: Mapping[str, Any]) -> str:
    """A digest of a command's payload (canonical JSON), kept with its command id."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
