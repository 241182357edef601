"""The speed patches (`patches.moto_core`, `moto_dynamodb`, `moto_events.parse_json_paths_once`)
answer exactly as moto does."""

from __future__ import annotations

import threading

import boto3
import pytest
from boto3.dynamodb.conditions import Attr, Key

# Items of three partitions, put in an order that is neither key order nor reverse.
ITEMS = [("b", 3), ("a", 2), ("b", 1), ("c", 5), ("a", 10), ("b", 2), ("a", 1), ("c", 4)]


@pytest.fixture
def table(aws):
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    table = resource.create_table(
        TableName="log", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"},
                   {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "N"},
                              {"AttributeName": "kind", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-kind", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "kind", "KeyType": "HASH"},
                                               {"AttributeName": "sk", "KeyType": "RANGE"}]}])
    for pk, sk in ITEMS:
        table.put_item(Item={"pk": pk, "sk": sk, "kind": "even" if sk % 2 == 0 else "odd"})
    return table


def _keys(answer):
    return [(item["pk"], int(item["sk"])) for item in answer["Items"]]


def _partition(pk, *, reverse=False):
    return sorted(((p, s) for p, s in ITEMS if p == pk), key=lambda i: i[1], reverse=reverse)


@pytest.mark.parametrize("pk", ["a", "b", "c"])
def test_a_partition_in_range_key_order_both_ways(table, pk):
    assert _keys(table.query(KeyConditionExpression=Key("pk").eq(pk))) == _partition(pk)
    assert _keys(table.query(KeyConditionExpression=Key("pk").eq(pk),
                             ScanIndexForward=False)) == _partition(pk, reverse=True)


def test_a_missing_partition_is_empty_and_stays_missing(table):
    assert table.query(KeyConditionExpression=Key("pk").eq("zzz"))["Items"] == []
    assert table.scan()["Count"] == len(ITEMS)


def test_range_conditions_filters_and_counts(table):
    answer = table.query(KeyConditionExpression=Key("pk").eq("a") & Key("sk").gte(2))
    assert _keys(answer) == [("a", 2), ("a", 10)]
    answer = table.query(KeyConditionExpression=Key("pk").eq("b") & Key("sk").between(2, 3),
                         FilterExpression=Attr("kind").eq("odd"))
    assert _keys(answer) == [("b", 3)] and answer["ScannedCount"] == 2
    assert table.query(KeyConditionExpression=Key("pk").eq("c"), Select="COUNT")["Count"] == 2


def test_pages_follow_the_last_evaluated_key(table):
    pages, start = [], {}
    while True:
        answer = table.query(KeyConditionExpression=Key("pk").eq("b"), Limit=2, **start)
        pages.append(_keys(answer))
        if "LastEvaluatedKey" not in answer:
            break
        start = {"ExclusiveStartKey": answer["LastEvaluatedKey"]}
    assert [key for page in pages for key in page] == _partition("b")
    assert len(pages) >= 2


def test_index_queries_and_scans_still_see_every_partition(table):
    answer = table.query(IndexName="by-kind", KeyConditionExpression=Key("kind").eq("even"))
    assert sorted(_keys(answer)) == sorted((p, s) for p, s in ITEMS if s % 2 == 0)
    assert sorted(_keys(table.scan())) == sorted(ITEMS)


def test_a_hash_only_table(aws):
    resource = boto3.resource("dynamodb", region_name="us-east-1")
    table = resource.create_table(
        TableName="flat", BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}])
    for pk in ("x", "y"):
        table.put_item(Item={"pk": pk, "v": pk * 2})
    assert table.query(KeyConditionExpression=Key("pk").eq("y"))["Items"] == [
        {"pk": "y", "v": "yy"}]
    assert table.query(KeyConditionExpression=Key("pk").eq("z"))["Items"] == []


def test_queries_on_many_threads_each_read_their_own_partition(table):
    """The partition being read is per thread: concurrent queries never mix answers."""
    wrong: list[tuple[str, list[tuple[str, int]]]] = []

    def read(pk: str) -> None:
        for _ in range(20):
            got = _keys(table.query(KeyConditionExpression=Key("pk").eq(pk)))
            if got != _partition(pk):
                wrong.append((pk, got))

    threads = [threading.Thread(target=read, args=(pk,)) for pk in "abc" * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert wrong == []


def test_json_paths_are_parsed_once_and_answer_as_before():
    """`jsonpath_ng.ext.parse` gives one tree per path string, and moto's input
    template parser (archive, log-group and SQS targets) renders what it rendered before."""
    import jsonpath_ng.ext
    from moto.events.utils import EventTemplateParser

    assert jsonpath_ng.ext.parse("$.detail.items[1]") is jsonpath_ng.ext.parse(
        "$.detail.items[1]")
    event = {"id": "e1", "source": "s", "detail-type": "d", "account": "1", "region": "r",
             "resources": ["a"], "time": 1, "ingestion-time": 2,
             "detail": {"items": [{"n": 1}, {"n": 2}], "name": "x"}}
    assert [m.value for m in jsonpath_ng.ext.parse("$.detail.items[1]").find(event)] == [
        {"n": 2}]
    rendered = EventTemplateParser.parse(
        input_template='{"second": <second>, "name": "<name>", "event": <aws.events.event.json>}',
        input_paths_map={"second": "$.detail.items[1]", "name": "$.detail.name"}, event=event)
    assert rendered == {"second": {"n": 2}, "name": "x", "event": event}
    for _ in range(2):  # the default paths map, twice: the second use reads the cache
        assert EventTemplateParser.parse(input_template=None, input_paths_map={},
                                         event=event)["detail"] == event["detail"]


def test_account_backends_are_created_once_and_reset_with_moto(aws):
    """an account's backend read without moto's lock is the one moto created, a
    new account still gets one, and moto's reset still empties them."""
    from moto.core.base_backend import BackendDict
    from moto.sqs.models import sqs_backends

    first = sqs_backends["123456789012"]
    assert sqs_backends["123456789012"] is first
    other = sqs_backends["210987654321"]
    assert other is not first and sqs_backends in BackendDict._instances
    first["us-east-1"].create_queue("speedups-q")
    BackendDict.reset()
    assert "123456789012" not in sqs_backends
    assert "speedups-q" not in sqs_backends["123456789012"]["us-east-1"].queues
