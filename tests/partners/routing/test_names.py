"""Resource names, rule descriptions and hashes, as tables."""

from __future__ import annotations

import pytest

from partners.routing.names import (
    PENDING_HASH,
    description_hash,
    parse_resource_name,
    rule_description,
    short_hash,
)
from tests.partners.routing.plan_fixtures import PREFIX


@pytest.mark.parametrize("name, expected", [
    (f"{PREFIX}p0123456789a-prod", ("p0123456789a", "prod")),
    (f"{PREFIX}p0123456789a-test2", ("p0123456789a", "test2")),
    ("pgw-prod-pt-p0123456789a-prod", None),  # another stage's prefix
    ("orders-to-warehouse", None),
    (f"{PREFIX}nodash", None),
    (f"{PREFIX}a-b-c", None),
    (f"{PREFIX}-prod", None),
])
def test_parse_resource_name(name, expected):
    assert parse_resource_name(PREFIX, name) == expected


@pytest.mark.parametrize("description, expected", [
    (rule_description("abc123"), "abc123"),
    (rule_description(PENDING_HASH), PENDING_HASH),
    ("managed-by=partner-event-gateway", None),
    ("hand made rule", None),
    (None, None),
    ("config-hash=", None),
])
def test_description_hash(description, expected):
    assert description_hash(description) == expected


def test_rule_description_marks_the_rule_as_ours():
    assert rule_description("abc") == "managed-by=partner-event-gateway config-hash=abc"


@pytest.mark.parametrize("left, right, same", [
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),  # key order does not count
    ({"a": 1}, {"a": 2}, False),
    ([1, 2], [2, 1], False),
    ({"at": "x"}, {"at": "x"}, True),
])
def test_short_hash_is_canonical(left, right, same):
    assert (short_hash(left) == short_hash(right)) is same
    assert len(short_hash(left)) == 16 and int(short_hash(left), 16) >= 0
