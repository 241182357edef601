"""A partner environment's deliveries: filters, newest first, cursors bound to the
environment, one delivery by id."""

from __future__ import annotations

from datetime import timedelta

import pytest

from partners.deliveries import (
    DeliveryNotFoundError,
    DeliveryQueries,
    InvalidDeliveryQueryError,
    delivery_id,
    parse_record,
    parse_time,
)
from tests.partners.deliveries.builders import T0, Send, ms


@pytest.fixture
def queries(store):
    """Six deliveries of pabc/prod a minute apart (odd ones failing), one of pabc/test."""
    records = []
    for n in range(6):
        send = Send(event_id=f"ev-{n}", invocation_id=f"inv-{n}", request_id=f"r-{n}",
                    request_type="stock.check" if n % 3 else "price.quote",
                    start_ms=ms(T0 + timedelta(minutes=n)))
        records += send.failing_then_dead_lettered(1) if n % 2 else send.delivered()
    records += Send(environment="test", event_id="ev-t").delivered()
    store.index(parse_record(r) for r in records)
    return DeliveryQueries(store)


def ids(page):
    return [d.request_id for d in page.items]


def test_newest_first_and_paged_with_a_cursor(queries):
    first = queries.list("pabc", "prod", limit=4)
    assert ids(first) == ["r-5", "r-4", "r-3", "r-2"] and first.next_cursor
    second = queries.list("pabc", "prod", limit=4, cursor=first.next_cursor)
    assert ids(second) == ["r-1", "r-0"] and second.next_cursor is None


@pytest.mark.parametrize("filters,expected", [
    ({"outcome": "dead_lettered"}, ["r-5", "r-3", "r-1"]),
    ({"outcome": "delivered", "request_type": "price.quote"}, ["r-0"]),
    ({"request_id": "r-4"}, ["r-4"]),
    ({"since": T0 + timedelta(minutes=2), "until": T0 + timedelta(minutes=3, seconds=1)},
     ["r-3", "r-2"]),
    ({"outcome": "retrying"}, []),
])
def test_filters(queries, filters, expected):
    assert ids(queries.list("pabc", "prod", **filters)) == expected


def test_a_filtered_list_pages_too(queries):
    first = queries.list("pabc", "prod", outcome="delivered", limit=2)
    second = queries.list("pabc", "prod", outcome="delivered", limit=2, cursor=first.next_cursor)
    assert ids(first) + ids(second) == ["r-4", "r-2", "r-0"]


def test_a_cursor_from_another_environment_is_refused(queries):
    cursor = queries.list("pabc", "prod", limit=1).next_cursor
    with pytest.raises(InvalidDeliveryQueryError, match="another environment") as caught:
        queries.list("pabc", "test", cursor=cursor)
    assert caught.value.field == "cursor"
    with pytest.raises(InvalidDeliveryQueryError, match="another environment"):
        queries.list("pother", "prod", cursor=cursor)


@pytest.mark.parametrize("arguments,field", [
    ({"outcome": "lost"}, "outcome"),
    ({"limit": 0}, "limit"),
    ({"limit": 101}, "limit"),
    ({"cursor": "not-a-cursor!"}, "cursor"),
    ({"cursor": "e30"}, "cursor"),  # {}
    ({"request_type": "x" * 200}, "request_type"),
    ({"since": T0, "until": T0 - timedelta(seconds=1)}, "since"),
])
def test_bad_queries_name_their_field(queries, arguments, field):
    with pytest.raises(InvalidDeliveryQueryError) as caught:
        queries.list("pabc", "prod", **arguments)
    assert caught.value.field == field


def test_get_reads_only_the_callers_environment(queries):
    own = delivery_id("pabc", "prod", "ev-0")
    assert queries.get("pabc", "prod", own).payload["data"]["request_id"] == "r-0"
    for partner, environment in (("pabc", "test"), ("pother", "prod")):
        with pytest.raises(DeliveryNotFoundError):
            queries.get(partner, environment, own)
    for bad in (delivery_id("pabc", "prod", "nope"), "../etc", "dlv_" + "z" * 24):
        with pytest.raises(DeliveryNotFoundError):
            queries.get("pabc", "prod", bad)


@pytest.mark.parametrize("text,ok", [
    ("2026-11-23T10:00:00Z", True), ("2026-11-23T10:00:00.5+01:00", True),
    ("2026-11-23T10:00", True), ("2026-11-23", False), ("yesterday", False),
    ("2026-13-40T10:00:00Z", False), ("", False),
])
def test_times(text, ok):
    if ok:
        assert parse_time(text, "since").tzinfo is not None
    else:
        with pytest.raises(InvalidDeliveryQueryError):
            parse_time(text, "since")
