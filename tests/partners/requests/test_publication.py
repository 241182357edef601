"""Publication of status changes: the pure decision, its fold, and the log's claims on moto."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from partners.requests.events import STATUS_CHANGED, STATUS_PUBLICATION, LogEvent
from partners.requests.exceptions import IdempotencyInProgressError
from partners.requests.log import (
    CLAIMED,
    DUE,
    IN_PROGRESS,
    PUBLISH_FAILED,
    PUBLISHED,
    publication_due,
)
from partners.requests.projections import fold, route_view

T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)
LEASE = timedelta(seconds=30)


def command(publication=None):
    entry = {"recorded_at": "2026-11-23T10:00:00Z"}
    if publication:
        outcome, at = publication
        entry["publication"] = {"outcome": outcome, "recorded_at": at}
    return entry


@pytest.mark.parametrize("publication,seconds_later,due", [
    # the post that appended the change holds its publication for the lease
    (None, 0, IN_PROGRESS),
    (None, 29, IN_PROGRESS),
    (None, 30, DUE),  # its holder is past any run of the partner API: abandoned
    ((PUBLISHED, "2026-11-23T10:00:01Z"), 0, PUBLISHED),
    ((PUBLISHED, "2026-11-23T10:00:01Z"), 3600, PUBLISHED),
    ((PUBLISH_FAILED, "2026-11-23T10:00:01Z"), 1, DUE),  # the 503 path
    ((CLAIMED, "2026-11-23T10:00:40Z"), 45, IN_PROGRESS),  # a repeat took it over
    ((CLAIMED, "2026-11-23T10:00:40Z"), 70, DUE),
])
def test_publication_due(publication, seconds_later, due):
    assert publication_due(command(publication), T0 + timedelta(seconds=seconds_later),
                           LEASE) == due


def _events(*publications):
    base = [
        LogEvent("r1", 1, "request.created", {
            "environment": "prod", "request_id": "r1", "request_type": "stock.check",
            "occurred_at": "2026-11-23T10:00:00Z", "user_id": "u1", "attributes": {}},
            "2026-11-23T10:00:00Z"),
        LogEvent("r1", 2, "request.routed", {"partner_id": "p1", "environment": "prod"},
                 "2026-11-23T10:00:00Z", "p1", "prod"),
        LogEvent("r1", 3, STATUS_CHANGED, {
            "partner_id": "p1", "environment": "prod", "status": "accepted",
            "previous_status": None, "occurred_at": "2026-11-23T10:00:01Z",
            "command_id": "c1"}, "2026-11-23T10:00:01Z", "p1", "prod"),
    ]
    return base + [LogEvent("r1", 4 + i, STATUS_PUBLICATION,
                            {"partner_id": "p1", "environment": "prod", "command_id": "c1",
                             "sequence": 3, "outcome": outcome}, at, "p1", "prod")
                   for i, (outcome, at) in enumerate(publications)]


def test_the_fold_keeps_the_latest_publication_and_no_view_shows_it():
    plain = fold(_events())
    state = fold(_events((PUBLISH_FAILED, "2026-11-23T10:00:02Z"),
                         (CLAIMED, "2026-11-23T10:00:05Z")))
    route = state.route("p1", "prod")
    assert route.command("c1")["publication"] == {"outcome": CLAIMED,
                                                  "recorded_at": "2026-11-23T10:00:05Z"}
    # appends decide from the last sequence, markers included
    assert state.last_sequence == 5
    assert route_view(state, route) == route_view(plain, plain.route("p1", "prod"))
    assert state.timeline == plain.timeline


def test_a_repeat_claims_a_failed_publication_once(log, clock):
    log.create({"environment": "prod", "request_id": "r1", "request_type": "stock.check",
                "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1",
                "user_id": "u1", "attributes": {}})
    log.record_routing({"request_id": "r1"}, partner_id="p1", environment="prod",
                       mode="poll", event_id="e1")
    post = dict(request_id="r1", partner_id="p1", environment="prod", partner_name="P",
                status="accepted", command_id="c1", payload_digest="d1")
    first = log.change_status(**post)
    assert first.publish and not first.replayed and first.command_id == "c1"
    with pytest.raises(IdempotencyInProgressError):
        log.change_status(**post)  # the first post is still publishing
    log.record_publication(first, partner_id="p1", environment="prod", published=False)
    claimed = log.change_status(**post)
    assert claimed.publish and claimed.replayed and claimed.sequence == first.sequence
    with pytest.raises(IdempotencyInProgressError):
        log.change_status(**post)  # claimed by the repeat before
    log.record_publication(claimed, partner_id="p1", environment="prod", published=True)
    done = log.change_status(**post)
    assert done.replayed and not done.publish
    assert [(e.type, e.data.get("outcome")) for e in log.events("r1")][3:] == [
        (STATUS_PUBLICATION, PUBLISH_FAILED), (STATUS_PUBLICATION, CLAIMED),
        (STATUS_PUBLICATION, PUBLISHED)]
    # a later post with another key appends after the markers
    later = log.change_status(**{**post, "status": "fulfilled", "command_id": "c2",
                                 "payload_digest": "d2"})
    assert later.sequence == 7 and later.publish
