"""Opaque cursors: what comes back from a client is parsed strictly, never with a 500."""

from __future__ import annotations

import base64

import pytest

from partners.core.exceptions import ValidationError
from partners.core.paging import decode_cursor, encode_cursor


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_a_cursor_round_trips():
    key = {"pk": "P#1", "sk": "R#2", "n": 3}
    assert decode_cursor(encode_cursor(key)) == key


@pytest.mark.parametrize("text", [
    "[" * 5000 + "]" * 5000,
    '{"pk":' * 5000 + '"x"' + "}" * 5000,
    '{"pk": ' + "[" * 100_000 + "]" * 100_000 + "}",
    '{"pk": NaN}',
    '{"pk": Infinity}',
    '{"pk": 1e400}',
    '{"pk": ' + "9" * 5000 + "}",
    "not json",
])
def test_cursors_that_decode_to_refused_json_are_validation_errors(text):
    with pytest.raises(ValidationError) as caught:
        decode_cursor(cursor_of(text))
    assert caught.value.field == "cursor"
