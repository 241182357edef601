"""The strict JSON parser: what it accepts, what it refuses, and the pointer it names."""

from __future__ import annotations

import json
import math

import pytest

from partners.core.exceptions import ValidationError
from partners.core.strict_json import (
    MAX_JSON_DEPTH,
    MalformedJsonError,
    UnsafeJsonError,
    check_json_value,
    dump_json,
    json_pointer,
    parse_json,
)


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


def nested_objects(depth: int, key: str = "a") -> str:
    return f'{{"{key}":' * depth + "1" + "}" * depth


@pytest.mark.parametrize("text,value", [
    ("{}", {}),
    ('{"a": [1, 2.5, -3e10, true, null, "x"]}', {"a": [1, 2.5, -3e10, True, None, "x"]}),
    ("1.7976931348623157e308", 1.7976931348623157e308),
    ("-1.7976931348623157e308", -1.7976931348623157e308),
    ("1e-400", 0.0),  # underflow is a finite number
    ("1" + "0" * 308, 10 ** 308),
    ('"NaN"', "NaN"),
    ('{"Infinity": "-Infinity"}', {"Infinity": "-Infinity"}),
    ('["[[[[", "{{{{", "\\"]]]]"]', ["[[[[", "{{{{", '"]]]]']),  # brackets in strings
    (nested(MAX_JSON_DEPTH), json.loads(nested(MAX_JSON_DEPTH))),
    (nested_objects(MAX_JSON_DEPTH), json.loads(nested_objects(MAX_JSON_DEPTH))),
    (b'{"a": "\xc3\xa9"}', {"a": "é"}),
    ('{"a": "é"}'.encode("utf-16"), {"a": "é"}),
])
def test_accepts_strict_json(text, value):
    assert parse_json(text) == value


@pytest.mark.parametrize("text,pointer,detail", [
    ("NaN", "", "NaN is not a JSON number"),
    ("Infinity", "", "Infinity is not a JSON number"),
    ("-Infinity", "", "-Infinity is not a JSON number"),
    ('{"a": NaN}', "/a", "NaN"),
    ("[1, 2, Infinity]", "/2", "Infinity"),
    ('{"a/b": {"c~d": [0, -Infinity]}}', "/a~1b/c~0d/1", "-Infinity"),
    ('{"a": 1, "b": NaN, "c": Infinity}', "/b", "NaN"),  # the first in document order
    ("1e400", "", "beyond float range"),
    ("-1e400", "", "beyond float range"),
    ('{"n": 1.8e308}', "/n", "beyond float range"),
    ("1" + "0" * 309, "", "beyond float range"),
    ("-" + "9" * 5000, "", "beyond float range"),  # past Python's 4,300-digit int limit
    (nested(MAX_JSON_DEPTH + 1), "/0" * MAX_JSON_DEPTH, "at most 32 levels"),
    (nested(5000), "/0" * MAX_JSON_DEPTH, "at most 32 levels"),
    (nested(100_000), "/0" * MAX_JSON_DEPTH, "at most 32 levels"),
    (nested_objects(5000), "/a" * MAX_JSON_DEPTH, "at most 32 levels"),
    (nested_objects(40, key="x/y"), "/x~1y" * MAX_JSON_DEPTH, "at most 32 levels"),
    ('{"a": 1, "b": [0, ' + nested(40) + "]}", "/b/1" + "/0" * 30, "at most 32 levels"),
    ('{"k": {"a": 1, "b": 2, "c": ' + nested(40) + "}}", "/k/c" + "/0" * 30,
     "at most 32 levels"),
])
def test_refuses_what_strict_parsers_refuse_naming_the_value(text, pointer, detail):
    with pytest.raises(UnsafeJsonError) as caught:
        parse_json(text)
    assert caught.value.pointer == pointer
    assert detail in caught.value.message
    assert isinstance(caught.value, ValidationError)


@pytest.mark.parametrize("text", ["", "{", "[1,]", "{nope", "nan", "'a'", b"\xff\xff\xff",
                                  '{"a": 1} 2'])
def test_malformed_text_is_a_malformed_json_error(text):
    with pytest.raises(MalformedJsonError) as caught:
        parse_json(text)
    assert caught.value.pointer is None


@pytest.mark.parametrize("value,pointer", [
    ({"a": [1, float("nan")]}, "/a/1"),
    ({"a": float("inf")}, "/a"),
    ([float("-inf")], "/0"),
    ({"n": 10 ** 400}, "/n"),
    (json.loads(nested(40)), "/0" * MAX_JSON_DEPTH),
])
def test_check_json_value_refuses_python_values_strict_json_cannot_carry(value, pointer):
    with pytest.raises(UnsafeJsonError) as caught:
        check_json_value(value)
    assert caught.value.pointer == pointer


def test_check_json_value_prefixes_its_root_and_accepts_finite_values():
    check_json_value({"a": [1, 2.5, True, None, "x", 10 ** 300, 1.7976931348623157e308]})
    with pytest.raises(UnsafeJsonError) as caught:
        check_json_value({"qty": math.nan}, root="/attributes")
    assert caught.value.pointer == "/attributes/qty"


@pytest.mark.parametrize("parts,pointer", [
    ([], ""), (["a", 0], "/a/0"), (["a/b", "c~d"], "/a~1b/c~0d"), ([""], "/"),
])
def test_json_pointer(parts, pointer):
    assert json_pointer(parts) == pointer


def test_dump_json_is_compact_and_strict():
    assert dump_json({"a": [1, 2.5]}) == '{"a":[1,2.5]}'
    assert dump_json({"b": 1, "a": 2}, sort_keys=True) == '{"a":2,"b":1}'
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            dump_json({"x": value})
