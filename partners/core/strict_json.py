"""Strict JSON in and out: the one parser for every JSON text a client hands the gateway.

Python's `json` accepts what RFC 8259 does not (`NaN`, `Infinity`, `-Infinity`), turns
numbers beyond float range into `inf`, and recurses once per nesting level, so a body of a
few thousand brackets ends in a `RecursionError`. Anything accepted is stored, delivered to
partners in CloudEvents and served back, where strict parsers (browsers, Go, Java) refuse
it. `parse_json` therefore refuses those values and bounds the nesting before `json` ever
recurses, naming the offending value with a JSON Pointer (RFC 6901); `check_json_value`
does the same for a value already in Python; `dump_json` writes strict JSON only.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Iterable

from partners.core.exceptions import ValidationError

# Deeper than any body, attribute map or cursor of ours, and far below Python's recursion
# limit (about 1,000 frames), so nothing that parses, validates or folds a value recurses
# out of stack.
MAX_JSON_DEPTH = 32
# 1.8e308 has 309 digits: an integer literal with more is beyond float range, and reading
# it as an int would meet Python's 4,300-digit limit first.
_MAX_FLOAT_DIGITS = len(str(int(sys.float_info.max)))

# What moves the nesting: strings (skipped whole, escapes included) and the structural
# characters. Numbers, literals and whitespace do not matter to the depth.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)


class JsonInputError(ValidationError):
    """A JSON text the gateway does not accept; `pointer` names the value (None: the text)."""

    def __init__(self, message: str, *, pointer: str | None = None):
        super().__init__(message, field=pointer)
        self.pointer = pointer


class MalformedJsonError(JsonInputError):
    """Text that is not JSON at all (a syntax error, an encoding that is not UTF-8/16/32)."""


class UnsafeJsonError(JsonInputError):
    """Well-formed JSON with a value strict parsers refuse: a non-finite number, a number
    beyond float range, or nesting deeper than `MAX_JSON_DEPTH`."""


def json_pointer(parts: Iterable[Any]) -> str:
    """The JSON Pointer (RFC 6901) of a path of keys and indexes (`[]` -> `""`, the root)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class _Refused:
    """Stands in for a refused number while `json` parses; `check_json_value` reports it."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"{text[:40]} is beyond float range")


def _int(text: str) -> int | _Refused:
    if len(text.lstrip("-")) > _MAX_FLOAT_DIGITS:
        return _Refused(f"{text[:40]}... is beyond float range")
    value = int(text)
    return value if abs(value) <= sys.float_info.max else _Refused(
        f"{text[:40]} is beyond float range")


def _key(token: str) -> str:
    try:
        return json.loads(token)
    except ValueError:
        return token[1:-1]


def check_depth(text: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Refuse a JSON text nested deeper than `max_depth`, without recursing.

    Parameters
    ----------
    text: the JSON text (it need not be valid: only its brackets outside strings count).
    max_depth: containers allowed inside one another (`[]` and `{}` are depth 1).

    Raises
    ------
    UnsafeJsonError: the pointer names the first container past the limit.
    """
    # One frame per open container: [kind, position]; an object's position is its current
    # key (None while a key is awaited), an array's the index of its current element.
    stack: list[list[Any]] = []
    pending_key: str | None = None
    for match in _TOKENS.finditer(text):
        token = match.group()
        top = stack[-1] if stack else None
        if token in "[{":
            if len(stack) >= max_depth:
                raise UnsafeJsonError(f"JSON may nest at most {max_depth} levels deep",
                                      pointer=json_pointer(frame[1] for frame in stack))
            stack.append([token, 0 if token == "[" else None])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ",":
            if top is not None:
                top[1] = top[1] + 1 if top[0] == "[" else None
        elif token == ":":
            if top is not None and top[0] == "{" and pending_key is not None:
                top[1] = pending_key
        elif top is not None and top[0] == "{" and top[1] is None:
            pending_key = _key(token)


def check_json_value(value: Any, *, root: str = "") -> None:
    """Refuse a Python value that would not serialise as strict JSON.

    Parameters
    ----------
    value: a value made of dicts, lists, strings, numbers, booleans and None.
    root: the pointer of `value` itself, prefixed to the pointer of what is refused.

    Raises
    ------
    UnsafeJsonError: a NaN or infinite float, an integer beyond float range, or nesting
        deeper than `MAX_JSON_DEPTH`; the pointer names the first such value.
    """
    # Iterative, in document order: a value from a careless caller may be arbitrarily deep.
    pending: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while pending:
        item, path = pending.pop()
        reason = None
        if isinstance(item, _Refused):
            reason = item.reason
        elif isinstance(item, float) and not math.isfinite(item):
            reason = f"{item} is not a JSON number"
        elif isinstance(item, int) and not isinstance(item, bool) and (
                item.bit_length() > 1024 or abs(item) > sys.float_info.max):
            reason = "the number is beyond float range"
        elif isinstance(item, (dict, list)) and len(path) >= MAX_JSON_DEPTH:
            reason = f"JSON may nest at most {MAX_JSON_DEPTH} levels deep"
        if reason is not None:
            raise UnsafeJsonError(reason, pointer=root + json_pointer(path))
        if isinstance(item, dict):
            pending.extend((v, (*path, k)) for k, v in reversed(list(item.items())))
        elif isinstance(item, list):
            pending.extend((v, (*path, i)) for i, v in reversed(list(enumerate(item))))


def parse_json(text: str | bytes | bytearray) -> Any:
    """Parse a client's JSON text strictly.

    Parameters
    ----------
    text: the JSON text; bytes are decoded as `json.loads` does (UTF-8, -16 or -32).

    Returns
    -------
    The value, every number finite and within float range, nested at most
    `MAX_JSON_DEPTH` levels.

    Raises
    ------
    MalformedJsonError: the text is not JSON.
    UnsafeJsonError: `NaN`, `Infinity`, `-Infinity`, a number beyond float range or too deep
        a nesting; the error's `pointer` names the value.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode(json.detect_encoding(text), "surrogatepass")
        except UnicodeDecodeError:
            raise MalformedJsonError("the text is not UTF-8, UTF-16 or UTF-32") from None
    check_depth(text)
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float,
                           parse_int=_int)
    except RecursionError:  # cannot happen after check_depth; never a 500 all the same
        raise UnsafeJsonError("the JSON is nested too deeply", pointer="") from None
    except ValueError as error:
        raise MalformedJsonError(f"not valid JSON: {error}") from None
    check_json_value(value)
    return value


def dump_json(value: Any, **options: Any) -> str:
    """Compact strict JSON (`allow_nan=False`): what the gateway serves and stores.

    Parameters
    ----------
    value: anything `json.dumps` takes.
    options: more `json.dumps` options (`sort_keys`, `default`, `indent`, ...).

    Raises
    ------
    ValueError: `value` holds a NaN or an infinity.
    """
    return json.dumps(value, **{"separators": (",", ":"), "allow_nan": False, **options})
