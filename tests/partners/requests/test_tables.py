"""The view tables' key shapes and index names: spelled once, declared by the stage spec."""

from __future__ import annotations

import pytest

from partners.requests.tables import (
    INBOX_QUEUE_INDEX,
    INBOX_ROUTED_INDEX,
    INBOX_STATUS_INDEX,
    REQUESTS_ENVIRONMENT_INDEX,
    inbox_key,
    inbox_partition,
    inbox_status_key,
    queue_key,
    request_key,
    routed_day,
    routed_key,
    timeline_sort_key,
)


@pytest.mark.parametrize("value,expected", [
    (request_key("r1"), {"pk": {"S": "REQUEST#r1"}, "sk": {"S": "REQUEST"}}),
    (inbox_partition("p1", "prod"), "p1#prod"),
    (inbox_key("r1", "p1", "prod"), {"pk": {"S": "p1#prod"}, "sk": {"S": "r1"}}),
    (inbox_status_key("p1", "prod", "pending"), "p1#prod#pending"),
    (routed_key("2026-11-23T10:00:00Z", "r1"), "2026-11-23T10:00:00Z#r1"),
    (routed_day("2026-11-23T10:00:00Z#r1"), "2026-11-23"),
    (queue_key(0, "2026-11-23T10:00:00Z", "r1"), "0#2026-11-23T10:00:00Z#r1"),
    (timeline_sort_key("2026-11-23T10:00:00Z", "r1", 12), "2026-11-23T10:00:00Z#r1#0000000012"),
])
def test_key_shapes(value, expected):
    assert value == expected


def test_timeline_keys_sort_by_sequence_within_one_moment():
    keys = [timeline_sort_key("2026-11-23T10:00:00Z", "r1", n) for n in (2, 10, 1)]
    assert sorted(keys) == [timeline_sort_key("2026-11-23T10:00:00Z", "r1", n)
                            for n in (1, 2, 10)]


def test_the_stage_spec_declares_the_indexes_the_views_read(spec):
    def index_names(table):
        return {index.name for index in spec.tables[table].indexes}

    assert index_names("requests") == {REQUESTS_ENVIRONMENT_INDEX}
    assert index_names("partner_inbox") == {INBOX_QUEUE_INDEX, INBOX_STATUS_INDEX,
                                            INBOX_ROUTED_INDEX}
