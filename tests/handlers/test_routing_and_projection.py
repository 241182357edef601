"""Routing recorder, projector and the rebuild command: the log and its views agree."""

from __future__ import annotations

import copy
import json

import pytest

from tests.handlers.gateway import LambdaContext

DETAIL = {"environment": "prod", "request_id": "r-direct", "request_type": "stock.check",
          "occurred_at": "2026-11-23T09:00:00Z", "schema_version": "1", "user_id": "u9",
          "attributes": {}}


def routing_input(**changes):
    payload = {"partner_id": "p1", "environment": "prod", "mode": "poll",
               "event": {"id": "ev1", "detail-type": "Request Created",
                         "source": "marketplace.requests", "detail": dict(DETAIL)}}
    payload.update(changes)
    return payload


def record(world, payload):
    return world.handlers["routing_recorder"].lambda_handler(payload, LambdaContext())


def test_a_request_put_on_the_bus_directly_gets_its_created_event_first(world):
    assert record(world, routing_input()) == {"recorded": True}
    assert record(world, routing_input()) == {"recorded": False, "duplicate": True}
    log = world.handlers["partner_api"].dependencies.get().log
    events = log.events("r-direct")
    assert [e.type for e in events] == ["request.created", "request.routed"]
    assert events[1].data == {"partner_id": "p1", "environment": "prod", "mode": "poll",
                              "event_id": "ev1"}


def test_an_event_given_as_a_json_string_is_read(world):
    payload = routing_input()
    payload["event"] = json.dumps(payload["event"])
    assert record(world, payload) == {"recorded": True}


@pytest.mark.parametrize("changes", [
    {"partner_id": ""}, {"partner_id": "p 1"}, {"environment": "PROD"}, {"mode": "carrier"},
    {"event": None}, {"event": "{not json"}, {"event": {"detail-type": "Request Created"}},
    {"event": {"detail-type": "Something Else", "detail": DETAIL}},
    {"event": {"detail-type": "Request Created", "detail": {**DETAIL, "user_id": ""}}},
    {"environment": "test"},
    {"event": {"detail-type": "Request Created", "detail": {**DETAIL, "addressed_to": "p2"}}},
])
def test_input_that_can_never_be_recorded_is_dropped_with_a_reason(world, changes):
    result = record(world, routing_input(**changes))
    assert result["recorded"] is False and result["error"]
    assert world.handlers["partner_api"].dependencies.get().log.events("r-direct") == []


def test_an_event_addressed_to_this_partner_is_recorded(world):
    detail = {**DETAIL, "addressed_to": "p1"}
    assert record(world, routing_input(event={"id": "e", "detail-type": "Request Created",
                                              "detail": detail}))["recorded"] is True


def scan_views(aws, stage):
    dynamodb = aws.client("dynamodb")
    return {name: sorted(json.dumps(i, sort_keys=True)
                         for i in dynamodb.scan(TableName=stage.spec.tables[name].name)["Items"])
            for name in ("requests", "partner_inbox", "user_timeline")}


def build_history(world):
    pa, pb = world.partner("alpha"), world.partner("beta")
    ta, tb = world.token(pa.id, "prod"), world.token(pb.id, "prod")
    ids = []
    for i in range(4):
        world.clock.advance(minutes=1)
        request_id = world.create_request(documents=[{"content_type": "text/plain"}])
        ids.append(request_id)
        world.route(request_id, pa.id)
        if i % 2:
            world.route(request_id, pb.id, mode="push")
    world.post_status(ids[0], ta, {"status": "accepted"}, key="a0")
    world.post_status(ids[0], ta, {"status": "fulfilled", "note": "done"}, key="a1")
    world.post_status(ids[1], tb, {"status": "declined"}, key="b1")
    world.post_status(ids[3], ta, {"status": "received"}, key="a3")
    world.portal.call("POST", f"/v1/portal/requests/{ids[2]}/documents",
                      headers={"Authorization": "Bearer portal-token-for-tests-0123456789"},
                      body={"content_type": "image/png"})
    world.pump.pump()
    return ids


def test_rebuild_from_the_log_equals_the_live_projection(world, aws, stage, handler_env):
    from handlers import rebuild_projections

    build_history(world)
    live = scan_views(aws, stage)
    # One item per request, one inbox item per route (6 routes), nothing else.
    assert len(live["requests"]) == 4 and len(live["partner_inbox"]) == 6
    clear_views(aws, stage)
    assert scan_views(aws, stage) == {"requests": [], "partner_inbox": [], "user_timeline": []}
    assert rebuild_projections.main([]) == 0
    assert scan_views(aws, stage) == live


def test_the_rebuild_command_deletes_route_items_of_the_former_layout(world, aws, stage,
                                                                    handler_env):
    from handlers import rebuild_projections

    ids = build_history(world)
    live = scan_views(aws, stage)
    dynamodb = aws.client("dynamodb")
    requests_table = stage.spec.tables["requests"].name
    for request_id in ids:  # what the views held before routes moved to the inbox
        dynamodb.put_item(TableName=requests_table, Item={
            "pk": {"S": f"REQUEST#{request_id}"}, "sk": {"S": "ROUTE#alpha#prod"},
            "last_sequence": {"N": "2"}, "document": {"S": "{}"}})
    assert rebuild_projections.main(["--request-id", ids[0]]) == 0
    assert len(scan_views(aws, stage)["requests"]) == 4 + 3
    assert rebuild_projections.main([]) == 0
    assert scan_views(aws, stage) == live


def clear_views(aws, stage):
    """Delete every item of the three views (the log stays)."""
    dynamodb = aws.client("dynamodb")
    for name, keys in (("requests", ("pk", "sk")), ("partner_inbox", ("pk", "sk")),
                       ("user_timeline", ("user_id", "sk"))):
        table = stage.spec.tables[name].name
        for item in dynamodb.scan(TableName=table)["Items"]:
            dynamodb.delete_item(TableName=table, Key={k: item[k] for k in keys})


def log_stream_records(world, stage):
    """Every record of the request log's stream so far, as Lambda would receive them."""
    streams = world.pump.streams
    arn = stage.stream_arns["request_events"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_replayed_and_reordered_stream_batches_change_nothing(world, aws, stage):
    ids = build_history(world)
    live = scan_views(aws, stage)
    records = log_stream_records(world, stage)
    projector = world.handlers["projector"]
    for batch in (records, list(reversed(records)), copy.deepcopy(records[:3])):
        assert projector.lambda_handler({"Records": batch}, LambdaContext()) == {
            "batchItemFailures": []}
    assert scan_views(aws, stage) == live
    assert ids


def test_the_rebuild_command_needs_its_tables(monkeypatch, capsys):
    from handlers import rebuild_projections

    monkeypatch.delenv("PGW_REQUESTS_TABLE", raising=False)
    assert rebuild_projections.main([]) == 2
    assert "PGW_REQUESTS_TABLE" in capsys.readouterr().err


def test_a_batch_holding_whole_logs_projects_them_without_reading_the_log(world, aws, stage):
    build_history(world)
    live = scan_views(aws, stage)
    clear_views(aws, stage)
    records = log_stream_records(world, stage)
    projector = world.handlers["projector"]
    queries = []
    client = projector.dependencies.get().log._dynamodb
    def count(**kwargs):
        queries.append(kwargs.get("model"))

    client.meta.events.register("before-call.dynamodb.Query", count)
    try:
        assert projector.lambda_handler({"Records": records}, LambdaContext()) == {
            "batchItemFailures": []}
    finally:
        client.meta.events.unregister("before-call.dynamodb.Query", count)
    assert scan_views(aws, stage) == live
    assert queries == []
    # Without the earlier records the projector reads the log, and writes the same items.
    assert projector.lambda_handler({"Records": records[1:]}, LambdaContext()) == {
        "batchItemFailures": []}
    assert scan_views(aws, stage) == live
