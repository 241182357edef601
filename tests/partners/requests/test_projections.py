"""Projections: pure folds of the request log into view items."""

from __future__ import annotations

import json

import pytest

from partners.requests.events import LogEvent
from partners.requests.exceptions import IllegalStatusTransitionError
from partners.requests.projections import (
    assemble_route_view,
    fold,
    inbox_items,
    project,
    request_items,
    route_view,
    timeline_items,
)
from partners.requests.status import (
    STATUS_TRANSITIONS,
    check_status_transition,
    queue_rank,
)

CREATED = {
    "environment": "prod", "request_id": "r1", "request_type": "stock.check",
    "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
    "attributes": {"region": "eu-west"},
    "documents": [{"document_id": "d1", "bucket": "b", "key": "requests/r1/d1",
                   "content_type": "application/pdf", "size": 10}],
}


def event(sequence, type_, data, at="2026-11-23T10:00:0{}Z", **kw):
    return LogEvent("r1", sequence, type_, data, at.format(sequence), **kw)


def routed(sequence, partner, environment="prod", mode="push"):
    return event(sequence, "request.routed",
                 {"partner_id": partner, "environment": environment, "mode": mode,
                  "event_id": f"e{sequence}"}, partner_id=partner, environment=environment)


def status(sequence, partner, value, previous=None, environment="prod", **extra):
    return event(sequence, "request.status_changed",
                 {"partner_id": partner, "environment": environment, "partner_name": partner.upper(),
                  "status": value, "previous_status": previous,
                  "occurred_at": "2026-11-23T09:59:00Z", "command_id": f"c{sequence}", **extra},
                 partner_id=partner, environment=environment)


LOG = [
    event(1, "request.created", CREATED),
    routed(2, "pa"),
    routed(3, "pb", mode="poll"),
    status(4, "pa", "accepted", note="on it"),
    event(5, "request.document_added",
          {"document": {"document_id": "d2", "bucket": "b", "key": "requests/r1/d2"}}),
]


@pytest.mark.parametrize("current,target,legal", [
    (None, "received", True), (None, "accepted", True), (None, "declined", True),
    (None, "fulfilled", False), (None, "in_progress", True),
    ("received", "accepted", True), ("received", "received", False),
    ("accepted", "fulfilled", True), ("accepted", "declined", False),
    ("in_progress", "fulfilled", True), ("in_progress", "accepted", True), ("in_progress", "declined", True),
    ("fulfilled", "failed", False), ("declined", "accepted", False), ("failed", "fulfilled", False),
])
def test_status_transitions(current, target, legal):
    if legal:
        check_status_transition("r1", current, target)
    else:
        with pytest.raises(IllegalStatusTransitionError) as raised:
            check_status_transition("r1", current, target)
        assert raised.value.current == current and raised.value.target == target
        assert raised.value.allowed == sorted(STATUS_TRANSITIONS[current])


@pytest.mark.parametrize("status_,rank", [(None, 0), ("received", 1), ("accepted", 1),
                                          ("in_progress", 1), ("declined", 2), ("failed", 2),
                                          ("fulfilled", 2)])
def test_queue_rank_puts_pending_first_and_final_last(status_, rank):
    assert queue_rank(status_) == rank


def test_fold_without_created_is_no_request():
    assert fold([]) is None
    assert fold([routed(1, "pa")]) is None


def test_fold_tracks_each_partner_separately():
    state = fold(LOG)
    assert state.last_sequence == 5
    assert state.route("pa", "prod").status == "accepted"
    assert state.route("pb", "prod").status is None
    assert state.route("pa", "test") is None
    assert [d["document_id"] for d in state.documents] == ["d1", "d2"]
    assert state.route("pa", "prod").command("c4")["status"] == "accepted"


def test_fold_ignores_duplicate_routing_and_unknown_events():
    state = fold([*LOG[:2], routed(3, "pa"), event(4, "request.future_thing", {})])
    assert list(state.routes) == [("pa", "prod")]
    assert state.route("pa", "prod").routed_at == "2026-11-23T10:00:02Z"


def test_status_for_an_unrouted_partner_is_not_applied():
    state = fold([LOG[0], status(2, "px", "accepted")])
    assert state.routes == {}


def test_route_view_shows_only_the_callers_status_and_no_storage_keys():
    state = fold(LOG)
    view = route_view(state, state.route("pb", "prod"))
    assert view["status"] == "pending" and view["history"] == []
    text = json.dumps(view)
    assert "bucket" not in text and "requests/r1" not in text and "pa" not in text.split('"')
    mine = route_view(state, state.route("pa", "prod"))
    assert mine["history"] == [{"status": "accepted", "previous_status": None,
                                "occurred_at": "2026-11-23T09:59:00Z", "note": "on it"}]


def test_inbox_items_sort_pending_first_and_key_by_status():
    state = fold(LOG)
    items = {i["pk"]["S"]: i for i in inbox_items(state)}
    assert items["pa#prod"]["queue_key"]["S"].startswith("1#2026-11-23T10:00:02Z#r1")
    assert items["pb#prod"]["queue_key"]["S"].startswith("0#")
    assert items["pb#prod"]["status_key"]["S"] == "pb#prod#pending"
    assert items["pa#prod"]["status_key"]["S"] == "pa#prod#accepted"


@pytest.mark.parametrize("partner", ["pa", "pb"])
def test_an_inbox_item_holds_its_partners_whole_route_view(partner):
    state = fold(LOG)
    (item,) = [i for i in inbox_items(state) if i["pk"]["S"] == f"{partner}#prod"]
    assert item["sk"]["S"] == "r1"
    parts = {name: json.loads(item[name]["S"]) for name in ("document", "history", "documents")}
    assert assemble_route_view(parts["document"], parts["history"], parts["documents"]) \
        == route_view(state, state.route(partner, "prod"))
    # The listing reads the summary alone: no history, no documents, no S3 keys.
    assert set(parts["document"]) == {"request_id", "request_type", "environment", "status",
                                      "created_at", "routed_at", "updated_at", "test",
                                      "attributes"}
    assert [d["key"] for d in parts["documents"]] == ["requests/r1/d1", "requests/r1/d2"]


def test_the_requests_table_holds_one_item_per_request():
    items = request_items(fold(LOG))
    assert [(i["pk"]["S"], i["sk"]["S"]) for i in items] == [("REQUEST#r1", "REQUEST")]


def _dynamodb_size(item):
    """An item's size as DynamoDB bills it (names and values, UTF-8; numbers as text)."""
    return sum(len(name.encode()) + len(next(iter(value.values())).encode())
               for name, value in item.items())


def test_a_typical_inbox_item_stays_well_under_4_kb():
    documents = [{"document_id": f"doc-{i:02d}-0123456789abcdef", "bucket": "pgw-prod-documents",
                  "key": f"requests/req-0123456789abcdef/doc-{i:02d}-0123456789abcdef",
                  "name": f"delivery-note-{i}.pdf", "content_type": "application/pdf",
                  "size": 123456} for i in range(3)]
    created = {**CREATED, "request_id": "req-0123456789abcdef", "documents": documents,
               "attributes": {"region": "eu-west-3", "weight_kg": 12.5, "priority": "standard",
                              "postcode": "75011", "items": 4}}
    log = [LogEvent("req-0123456789abcdef", 1, "request.created", created,
                    "2026-11-23T10:00:01Z"),
           LogEvent("req-0123456789abcdef", 2, "request.routed",
                    {"partner_id": "acme-logistics", "environment": "prod", "mode": "push",
                     "event_id": "e2"}, "2026-11-23T10:00:02Z")]
    for sequence, value in enumerate(["received", "in_progress", "accepted", "fulfilled"], 3):
        log.append(LogEvent("req-0123456789abcdef", sequence, "request.status_changed",
                            {"partner_id": "acme-logistics", "environment": "prod",
                             "partner_name": "Acme Logistics", "status": value,
                             "previous_status": None, "occurred_at": "2026-11-23T10:05:00Z",
                             "command_id": f"c{sequence}", "note": "courier booked, ref 42",
                             "reference": "ACME-000123"}, f"2026-11-23T10:0{sequence}:00Z"))
    (item,) = inbox_items(fold(log))
    assert _dynamodb_size(item) < 2048


def test_timeline_has_user_facing_events_only():
    state = fold(LOG)
    entries = [json.loads(i["document"]["S"]) for i in timeline_items(state)]
    assert [e["type"] for e in entries] == ["created", "status_changed", "document_added"]
    assert entries[1]["partner_name"] == "PA"
    assert [json.loads(i["document"]["S"])["sequence"] for i in timeline_items(state, [4])] == [4]


def test_projection_is_a_function_of_the_log():
    assert project(LOG) == project(list(LOG))
    assert project(LOG).last_sequence == 5
    assert project([]) is None


def _apply(store, projection):
    """Write a projection into a dict like the views do (never an item from an older change)."""
    for item in projection.requests + projection.inbox:
        key = (item["pk"]["S"], item["sk"]["S"], "status_key" in item)
        old = store.get(key)
        if old is None or int(old["last_sequence"]["N"]) <= int(item["last_sequence"]["N"]):
            store[key] = item
    for item in projection.timeline:
        store[(item["user_id"]["S"], item["sk"]["S"], "timeline")] = item


@pytest.mark.parametrize("batches", [
    [(1, 5)], [(1, 1), (2, 2), (3, 3), (4, 4), (5, 5)], [(1, 2), (3, 5)], [(1, 3), (4, 4), (5, 5)],
])
def test_projecting_batch_by_batch_equals_projecting_the_whole_log(batches):
    whole, pieces = {}, {}
    _apply(whole, project(LOG))
    for first, last in batches:
        _apply(pieces, project(LOG[:last], since=first))
    for first, last in reversed(batches):  # a replay of older batches changes nothing
        _apply(pieces, project(LOG[:last], since=first))
    assert pieces == whole


@pytest.mark.parametrize("since,written", [
    # route pb (poll) changes nothing of pa's items, and pa's status leaves pb's alone: one
    # item per changed route (its inbox item) besides the request's own
    (3, {("REQUEST#r1", "REQUEST"), ("pb#prod", "r1")}),
    (4, {("REQUEST#r1", "REQUEST"), ("pa#prod", "r1")}),
    # a document reaches every route's view
    (5, {("REQUEST#r1", "REQUEST"), ("pa#prod", "r1"), ("pb#prod", "r1")}),
])
def test_a_batch_writes_only_the_items_its_events_changed(since, written):
    projection = project(LOG[:since], since=since)
    assert {(i["pk"]["S"], i["sk"]["S"]) for i in projection.requests + projection.inbox} \
        == written
    assert {int(i["last_sequence"]["N"]) for i in projection.requests + projection.inbox} \
        == {since}
    assert [json.loads(i["document"]["S"])["sequence"] for i in projection.timeline] \
        == ([] if since == 3 else [since])
