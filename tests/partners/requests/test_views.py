"""The request views on moto: a route lives in one place, its partner environment's inbox."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from partners.requests.exceptions import RequestNotFoundError, ViewOutdatedError
from partners.requests.projections import fold, project, rebuild, route_view
from partners.requests.views import RequestHistory

DOCUMENT = {"document_id": "d1", "bucket": "pgw-documents", "key": "requests/r1/d1",
            "name": "note.pdf", "content_type": "application/pdf", "size": 10}


def detail(request_id="r1"):
    return {"environment": "prod", "request_id": request_id, "request_type": "stock.check",
            "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
            "attributes": {"sku": "A-1"}, "documents": [DOCUMENT]}


@pytest.fixture
def routed(log, views):
    """r1 routed to p1 (poll) and p2 (push) in prod, projected."""
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="poll", event_id="e1")
    log.record_routing(detail(), partner_id="p2", environment="prod", mode="push", event_id="e2")
    views.write(project(log.events("r1")))
    return "r1"


def keys(aws, table):
    items = aws.client("dynamodb").scan(TableName=table)["Items"]
    return sorted((item["pk"]["S"], item["sk"]["S"]) for item in items)


def change(log, status, partner="p1", command="c1"):
    log.change_status("r1", partner_id=partner, environment="prod", partner_name=partner.upper(),
                      status=status, command_id=command, note="on it")


def test_the_requests_table_holds_the_request_and_the_inbox_its_routes(routed, aws, stage):
    assert keys(aws, stage.spec.tables["requests"].name) == [("REQUEST#r1", "REQUEST")]
    assert keys(aws, stage.spec.tables["partner_inbox"].name) == [("p1#prod", "r1"),
                                                                   ("p2#prod", "r1")]


def test_a_route_is_read_from_the_callers_inbox_item(routed, log, views):
    change(log, "accepted")
    views.write(project(log.events("r1")))
    state = fold(log.events("r1"))
    view = views.route_view("r1", "p1", "prod")
    assert view == route_view(state, state.route("p1", "prod"))
    assert view["status"] == "accepted" and view["history"][0]["note"] == "on it"
    assert view["documents"] == [{k: v for k, v in DOCUMENT.items() if k not in ("bucket", "key")}]
    assert views.route_view("r1", "p2", "prod")["status"] == "pending"
    assert views.route_documents("r1", "p2", "prod") == [DOCUMENT]
    # The listing still shows the summary only.
    (listed,) = views.list_inbox("p1", "prod").items
    assert listed["status"] == "accepted" and "history" not in listed and "documents" not in listed


@pytest.mark.parametrize("request_id,partner,environment", [
    ("r1", "p3", "prod"),   # not routed to this partner
    ("r1", "p1", "test"),   # routed to the partner, not to this environment
    ("r9", "p1", "prod"),   # no such request
])
def test_a_request_not_routed_to_the_caller_is_not_found(routed, views, request_id, partner,
                                                         environment):
    with pytest.raises(RequestNotFoundError):
        views.route_view(request_id, partner, environment)
    with pytest.raises(RequestNotFoundError):
        views.route_documents(request_id, partner, environment)


def count_puts(views):
    """PutItem calls of `views` by table name, counted as the client makes them."""
    puts: Counter[str] = Counter()

    def count(params, **_):
        puts[params["TableName"]] += 1

    views._dynamodb.meta.events.register("provide-client-params.dynamodb.PutItem", count)
    return puts


def test_a_status_change_writes_one_item_per_changed_route(routed, log, views, stage):
    puts = count_puts(views)
    change(log, "accepted")
    views.write(project(log.events("r1"), since=log.events("r1")[-1].sequence))
    t = stage.spec.tables
    assert puts == {t["requests"].name: 1, t["partner_inbox"].name: 1,
                    t["user_timeline"].name: 1}


def test_routing_writes_the_request_and_one_inbox_item(log, views, stage):
    log.record_routing(detail(), partner_id="p1", environment="prod", mode="poll", event_id="e1")
    puts = count_puts(views)
    views.write(project(log.events("r1"), since=2))
    t = stage.spec.tables
    assert puts == {t["requests"].name: 1, t["partner_inbox"].name: 1}


def test_an_older_change_never_replaces_an_inbox_item(routed, log, views):
    old = project(log.events("r1"))
    change(log, "accepted")
    views.write(project(log.events("r1")))
    views.write(old)  # a replayed, older stream batch
    assert views.route_view("r1", "p1", "prod")["status"] == "accepted"
    assert [p["status"] for p in views.route_view("r1", "p1", "prod")["history"]] == ["accepted"]


def plant_former_layout(aws, stage, request_id="r1", partners=("p1", "p2")):
    """What the views held before routes moved to the inbox: `ROUTE#` items in `requests`
    and inbox items carrying only the summary."""
    dynamodb = aws.client("dynamodb")
    for partner in partners:
        dynamodb.put_item(TableName=stage.spec.tables["requests"].name, Item={
            "pk": {"S": f"REQUEST#{request_id}"}, "sk": {"S": f"ROUTE#{partner}#prod"},
            "last_sequence": {"N": "3"}, "document": {"S": "{}"}, "documents": {"S": "[]"}})
        dynamodb.update_item(TableName=stage.spec.tables["partner_inbox"].name,
                             Key={"pk": {"S": f"{partner}#prod"}, "sk": {"S": request_id}},
                             UpdateExpression="REMOVE history, documents")


def test_an_inbox_item_of_the_former_layout_is_reported_not_guessed(routed, views, aws, stage):
    plant_former_layout(aws, stage)
    with pytest.raises(ViewOutdatedError) as raised:
        views.route_view("r1", "p1", "prod")
    assert raised.value.request_id == "r1" and raised.value.attribute == "history"
    with pytest.raises(ViewOutdatedError):
        views.route_documents("r1", "p1", "prod")
    assert [i["request_id"] for i in views.list_inbox("p1", "prod").items] == ["r1"]


def test_rebuild_migrates_the_former_layout(routed, log, views, aws, stage):
    live = {name: keys(aws, stage.spec.tables[name].name)
            for name in ("requests", "partner_inbox")}
    view = views.route_view("r1", "p1", "prod")
    plant_former_layout(aws, stage)
    assert rebuild(log, views) == 1
    assert {name: keys(aws, stage.spec.tables[name].name)
            for name in ("requests", "partner_inbox")} == live
    assert views.route_view("r1", "p1", "prod") == view
    assert views.route_documents("r1", "p2", "prod") == [DOCUMENT]
    assert views.delete_retired_items("r1") == 0


def test_deleting_retired_items_leaves_other_requests_alone(routed, log, views, aws, stage):
    log.record_routing(detail("r2"), partner_id="p1", environment="prod", mode="poll",
                       event_id="e3")
    views.write(project(log.events("r2")))
    plant_former_layout(aws, stage, "r1")
    plant_former_layout(aws, stage, "r2", partners=("p1",))
    assert views.delete_retired_items("r1") == 2
    assert keys(aws, stage.spec.tables["requests"].name) == [
        ("REQUEST#r1", "REQUEST"), ("REQUEST#r2", "REQUEST"), ("REQUEST#r2", "ROUTE#p1#prod")]


# --- the console's reads -------------------------------------------------------------------

@pytest.fixture
def history(stage, aws):
    t = stage.spec.tables
    return RequestHistory(aws.client("dynamodb"), requests_table=t["requests"].name,
                          inbox_table=t["partner_inbox"].name)


def route(log, views, request_id, partner, *, occurred_at="2026-11-23T10:00:00Z"):
    log.record_routing({**detail(request_id), "occurred_at": occurred_at}, partner_id=partner,
                       environment="prod", mode="poll", event_id=f"e-{request_id}-{partner}")
    views.write(project(log.events(request_id)))


def test_recent_requests_are_an_environments_newest_first(log, views, history):
    route(log, views, "r1", "p1", occurred_at="2026-11-23T10:00:00Z")
    route(log, views, "r2", "p2", occurred_at="2026-11-23T11:00:00Z")
    recent = history.recent_requests("prod")
    assert [r.request_id for r in recent] == ["r2", "r1"]
    assert recent[1].routed_to == frozenset({("p1", "prod")})
    assert recent[1].routed_to_partner("p1") and not recent[1].routed_to_partner("p2")
    assert recent[1].detail["attributes"] == {"sku": "A-1"}
    assert history.recent_requests("prod", limit=1)[0].request_id == "r2"
    assert history.recent_requests("test") == []


def test_latest_deliveries_are_a_partner_environments_newest_routings(log, views, history,
                                                                      clock):
    route(log, views, "r1", "p1")
    clock.advance(minutes=5)
    route(log, views, "r2", "p1")
    route(log, views, "r3", "p2")
    assert [d["request_id"] for d in history.latest_deliveries("p1", "prod")] == ["r2", "r1"]
    (latest,) = history.latest_deliveries("p1", "prod", limit=1)
    assert latest["request_id"] == "r2" and latest["status"] == "pending"
    assert history.latest_deliveries("p1", "test") == []


def test_deliveries_per_day_count_routings_by_utc_day(log, views, history, clock):
    route(log, views, "r1", "p1")
    clock.advance(days=1)
    route(log, views, "r2", "p1")
    route(log, views, "r3", "p1")
    route(log, views, "r4", "p2")
    assert history.deliveries_per_day("p1", "prod", today=date(2026, 11, 24), days=3) == {
        "2026-11-22": 0, "2026-11-23": 1, "2026-11-24": 2}


def test_without_the_tables_the_console_reads_nothing(aws):
    history = RequestHistory(aws.client("dynamodb"), requests_table=None, inbox_table=None)
    assert history.recent_requests("prod") == []
    assert history.latest_deliveries("p1", "prod") == []
    assert history.deliveries_per_day("p1", "prod", today=date(2026, 11, 24), days=2) == {
        "2026-11-23": 0, "2026-11-24": 0}
