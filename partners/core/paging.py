"""Opaque cursors over DynamoDB pages: callers never see or forge a raw key."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, Mapping, TypeVar

from partners.core.exceptions import ValidationError
from partners.core.strict_json import parse_json

T = TypeVar("T")

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    cursor: str | None  # None: this was the last page


def encode_cursor(last_evaluated_key: Mapping[str, Any] | None) -> str | None:
    """Turn DynamoDB's `LastEvaluatedKey` into an opaque URL-safe cursor."""
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True, default=str)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Read a cursor made by `encode_cursor`.

    A cursor comes back from the client, so it is parsed strictly (`parse_json`): one that
    decodes to deeply nested JSON, NaN or a huge number is just not valid.

    Raises
    ------
    ValidationError: for a cursor that was not made here (field `cursor`).
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = parse_json(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValidationError("cursor is not valid", field="cursor") from None
    if not isinstance(key, dict) or not all(isinstance(v, (str, int)) for v in key.values()):
        raise ValidationError("cursor is not valid", field="cursor")
    return key


def check_limit(limit: int, maximum: int = MAX_PAGE_SIZE) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise ValidationError(f"limit must be from 1 to {maximum}", field="limit")
    return limit
