"""The request log on moto: append-only, sequences, optimistic concurrency, idempotency, views."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from partners.core.exceptions import ValidationError
from partners.requests.exceptions import (
    IdempotencyKeyReusedError,
    IllegalStatusTransitionError,
    RequestExistsError,
    RequestLogConflictError,
    RequestNotFoundError,
)
from partners.requests.idempotency import IdempotentCommands
from partners.requests.projections import project, rebuild
from tests.atomic_writes import atomic_dynamodb_writes  # noqa: F401 (fixture)


def detail(request_id="r1", **extra):
    return {"environment": "prod", "request_id": request_id, "request_type": "stock.check",
            "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
            "attributes": {"sku": "A-1"}, **extra}


def scan(aws, table):
    return aws.client("dynamodb").scan(TableName=table)["Items"]


def test_append_numbers_events_from_one_without_gaps(log, clock):
    assert log.append("r1", "request.created", detail()) == 1
    clock.advance(seconds=5)
    assert log.append("r1", "request.routed", {"partner_id": "p1", "environment": "prod"},
                      partner_id="p1", environment="prod") == 2
    events = log.events("r1")
    assert [(e.sequence, e.type) for e in events] == [(1, "request.created"), (2, "request.routed")]
    assert events[1].recorded_at == "2026-11-23T10:00:05Z" and events[1].partner_id == "p1"
    assert log.events("nope") == []


def test_append_never_overwrites(log, aws, stage):
    log.append("r1", "request.created", detail())
    with pytest.raises(RequestLogConflictError):
        log.append("r1", "request.created", detail(), expected_sequence=0)
    assert len(scan(aws, stage.spec.tables["request_events"].name)) == 1


def test_unknown_event_types_are_refused(log):
    with pytest.raises(ValueError):
        log.append("r1", "request.deleted", {})


def test_create_twice_is_refused(log):
    log.create(detail())
    with pytest.raises(RequestExistsError):
        log.create(detail())


def test_concurrent_appends_all_land_in_distinct_sequences(log, atomic_dynamodb_writes):
    log.create(detail())
    with ThreadPoolExecutor(max_workers=10) as pool:
        sequences = list(pool.map(
            lambda i: log.append("r1", "request.document_added",
                                 {"document": {"document_id": f"d{i}"}}), range(10)))
    assert sorted(sequences) == list(range(2, 12))
    assert [e.sequence for e in log.events("r1")] == list(range(1, 12))


def test_record_routing_once_per_partner_environment(log):
    assert log.record_routing(detail(), partner_id="p1", environment="prod", mode="push",
                              event_id="e1") is True
    assert log.record_routing(detail(), partner_id="p1", environment="prod", mode="push",
                              event_id="e1") is False
    assert [e.type for e in log.events("r1")] == ["request.created", "request.routed"]
    assert log.record_routing(detail(), partner_id="p2", environment="prod", mode="poll",
                              event_id="e2") is True
    assert len(log.state("r1").routes) == 2


def test_concurrent_routing_records_once(log, atomic_dynamodb_writes):
    log.create(detail())
    with ThreadPoolExecutor(max_workers=8) as pool:
        appended = list(pool.map(
            lambda _: log.record_routing(detail(), partner_id="p1", environment="prod",
                                         mode="push", event_id="e1"), range(8)))
    assert appended.count(True) == 1
    assert [e.type for e in log.events("r1")] == ["request.created", "request.routed"]


def change(log, status, command="c1", partner="p1", environment="prod"):
    return log.change_status("r1", partner_id=partner, environment=environment,
                             partner_name="Partner One", status=status, command_id=command)


def test_status_changes_only_for_routed_partners(log):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="push", event_id="e")
    with pytest.raises(RequestNotFoundError):
        change(log, "accepted", partner="p2")
    with pytest.raises(RequestNotFoundError):
        change(log, "accepted", environment="test")
    with pytest.raises(RequestNotFoundError):
        log.change_status("r404", partner_id="p1", environment="prod", partner_name="x",
                          status="accepted", command_id="c")


def test_status_changes_follow_the_transition_table(log, clock):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="push", event_id="e")
    first = change(log, "accepted", "c1")
    assert (first.sequence, first.status, first.previous_status) == (3, "accepted", None)
    assert first.occurred_at == "2026-11-23T10:00:00Z" and first.user_id == "u1"
    with pytest.raises(IllegalStatusTransitionError):
        change(log, "declined", "c2")
    assert change(log, "fulfilled", "c3").previous_status == "accepted"
    with pytest.raises(IllegalStatusTransitionError):
        change(log, "failed", "c4")


def test_a_command_already_in_the_log_is_answered_from_it(log):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="push", event_id="e")
    first = change(log, "accepted", "c1")
    log.record_publication(first, partner_id="p1", environment="prod", published=True)
    again = change(log, "accepted", "c1")
    assert again.replayed and again.sequence == first.sequence and not again.publish
    assert [e.type for e in log.events("r1")][2:] == ["request.status_changed",
                                                      "request.status_publication"]


def test_idempotent_commands_run_once_and_refuse_other_payloads(stage, aws):
    commands = IdempotentCommands(stage.spec.tables["idempotency"].name, name="status",
                                  boto3_session=aws)
    calls = []

    def action():
        calls.append(1)
        return {"n": len(calls)}

    assert commands.run("p1#prod#r1#k1", {"status": "accepted"}, action) == {"n": 1}
    assert commands.run("p1#prod#r1#k1", {"status": "accepted"}, action) == {"n": 1}
    with pytest.raises(IdempotencyKeyReusedError):
        commands.run("p1#prod#r1#k1", {"status": "declined"}, action)
    assert commands.run("p2#prod#r1#k1", {"status": "accepted"}, action) == {"n": 2}
    assert calls == [1, 1]


def test_a_failed_command_releases_its_key(stage, aws):
    commands = IdempotentCommands(stage.spec.tables["idempotency"].name, boto3_session=aws)

    def fail():
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        commands.run("k", {"a": 1}, fail)
    assert commands.run("k", {"a": 1}, lambda: {"ok": True}) == {"ok": True}


def test_views_write_and_read(log, views):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="poll", event_id="e")
    views.write(project(log.events("r1")))
    assert views.route_view("r1", "p1", "prod")["status"] == "pending"
    with pytest.raises(RequestNotFoundError):
        views.route_view("r1", "p2", "prod")
    assert views.request_view("r1")["routes"][0]["partner_id"] == "p1"
    assert views.list_inbox("p1", "prod").items[0]["request_id"] == "r1"
    assert views.list_inbox("p1", "test").items == []
    assert views.user_timeline("u1").items[0]["type"] == "created"


def test_views_never_go_back_to_an_older_log(log, views):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="poll", event_id="e")
    old = project(log.events("r1"))
    change(log, "accepted")
    views.write(project(log.events("r1")))
    views.write(old)  # a replayed, older stream batch
    assert views.route_view("r1", "p1", "prod")["status"] == "accepted"


def seed_inbox(log, views, clock, statuses):
    for i, status in enumerate(statuses):
        request_id = f"r{i:02d}"
        clock.advance(seconds=1)
        log.record_routing(detail(request_id), partner_id="p1", environment="prod", mode="poll",
                           event_id=f"e{i}")
        if status:
            log.change_status(request_id, partner_id="p1", environment="prod",
                              partner_name="P", status=status, command_id=f"c{i}")
        views.write(project(log.events(request_id)))


def test_inbox_lists_pending_first_and_pages_with_opaque_cursors(log, views, clock):
    seed_inbox(log, views, clock, ["accepted", None, "declined", None, "received"])
    seen, cursor = [], None
    while True:
        page = views.list_inbox("p1", "prod", limit=2, cursor=cursor)
        seen += [(i["request_id"], i["status"]) for i in page.items]
        if page.cursor is None:
            break
        assert "p1" not in page.cursor
        cursor = page.cursor
    assert seen == [("r01", "pending"), ("r03", "pending"), ("r00", "accepted"),
                    ("r04", "received"), ("r02", "declined")]
    assert [i["request_id"] for i in views.list_inbox("p1", "prod", status="pending").items] \
        == ["r01", "r03"]


@pytest.mark.parametrize("kwargs", [{"status": "bogus"}, {"limit": 0}, {"limit": 101},
                                    {"cursor": "not-a-cursor!"}])
def test_inbox_refuses_bad_parameters(views, kwargs):
    with pytest.raises(ValidationError):
        views.list_inbox("p1", "prod", **kwargs)


def test_a_cursor_from_another_partner_is_refused(log, views, clock):
    seed_inbox(log, views, clock, [None, None, None])
    cursor = views.list_inbox("p1", "prod", limit=1).cursor
    with pytest.raises(ValidationError):
        views.list_inbox("p2", "prod", cursor=cursor)
    with pytest.raises(ValidationError):
        views.list_inbox("p1", "prod", status="pending", cursor=cursor)


def test_rebuild_from_the_log_equals_the_live_views(log, views, clock, aws, stage):
    seed_inbox(log, views, clock, ["accepted", None, "declined"])
    log.record_routing(detail("r01"), partner_id="p2", environment="test", mode="push",
                       event_id="x")
    views.write(project(log.events("r01")))
    tables = [stage.spec.tables[n].name for n in ("requests", "partner_inbox", "user_timeline")]
    live = {t: sorted(map(repr, scan(aws, t))) for t in tables}
    dynamodb = aws.client("dynamodb")
    for table in tables:
        for item in scan(aws, table):
            key = {k: item[k] for k in (("user_id", "sk") if "user_id" in item and "pk" not in item
                                        else ("pk", "sk"))}
            dynamodb.delete_item(TableName=table, Key=key)
    assert rebuild(log, views) == 3
    assert {t: sorted(map(repr, scan(aws, t))) for t in tables} == live
