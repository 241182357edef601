"""The console's pure parts: filter rows, password policy, outcomes, DLQ parsing."""

from __future__ import annotations

import json
from datetime import date

import pytest
from botocore.stub import Stubber

from console.exceptions import UnavailableError
from console.identity import PasswordPolicy
from console.partner.filter_rows import (
    RowError,
    filter_to_rows,
    locate,
    read_value,
    rows_to_filter,
    split_values,
)
from console.usage import api_calls_per_day
from partners.onboarding.filters import parse_filter
from partners.onboarding.models import DeliveryMode, PartnerEnvironment
from partners.requests.projections import LogEvent
from partners.routing.dead_letters import _failure
from partners.routing.test_events import is_probe_of, probe_detail, probe_outcome


@pytest.mark.parametrize("text, values", [
    ("a, b,c", ["a", "b", "c"]),
    ('"x, y", z', ['"x, y"', "z"]),
    ("", []),
    (" , ,", []),
    ("eu-", ["eu-"]),
])
def test_split_values(text, values):
    assert split_values(text) == values


@pytest.mark.parametrize("text, operator, value", [
    ("10", "any_of", 10), ('"10"', "any_of", "10"), ("1.5", "greater_than", 1.5),
    ("eu", "any_of", "eu"), ("10", "prefix", "10"), ("1e3", "less_than", 1000.0),
    ("-4", "between", -4), ("many", "greater_than", "many"), ("7", "none_of", 7),
])
def test_read_value(text, operator, value):
    assert read_value(text, operator) == value and type(read_value(text, operator)) is type(value)


def test_rows_to_filter_skips_blank_rows_and_remembers_origins():
    data, origin, errors = rows_to_filter("stock.check, price.quote", [
        {"attribute": "", "operator": "", "values": ""},
        {"attribute": "qty", "operator": "between", "values": "1, 10"},
        {"attribute": "vip", "operator": "exists", "values": "ignored"},
    ])
    assert data == {"request_types": ["stock.check", "price.quote"], "conditions": [
        {"attribute": "qty", "operator": "between", "values": [1, 10]},
        {"attribute": "vip", "operator": "exists", "values": []}]}
    assert origin == [1, 2] and errors == []


def test_rows_to_filter_names_every_incomplete_row_and_keeps_the_others():
    data, origin, errors = rows_to_filter("*", [
        {"attribute": "", "operator": "", "values": ""},
        {"attribute": "qty", "operator": "", "values": "1"},
        {"attribute": "", "operator": "prefix", "values": "x"},
        {"attribute": "vip", "operator": "exists", "values": ""}])
    assert [(e.row, e.field) for e in errors] == [(1, "operator"), (2, "attribute")]
    assert all(isinstance(e, RowError) for e in errors)
    assert data["conditions"] == [{"attribute": "vip", "operator": "exists", "values": []}]
    assert origin == [3]


@pytest.mark.parametrize("stored", [
    {"request_types": ["*"], "conditions": []},
    {"request_types": ["a.b"], "conditions": [
        {"attribute": "region", "operator": "any_of", "values": ["eu", "10", 10, "a, b"]}]},
    {"request_types": ["a.b", "c"], "conditions": [
        {"attribute": "n", "operator": "between", "values": [0, 2.5]},
        {"attribute": "x", "operator": "absent", "values": []}]},
])
def test_filter_rows_round_trip(stored):
    types, rows = filter_to_rows(parse_filter(stored))
    data, _, _ = rows_to_filter(types, rows)
    assert parse_filter(data) == parse_filter(stored)


@pytest.mark.parametrize("field, origin, expected", [
    ("conditions[1].values[0]", [0, 3], (3, "values")),
    ("conditions[0]", [2], (2, "attribute")),
    ("conditions[0].operator", [5], (5, "operator")),
    ("request_types[1]", [], (None, "request_types")),
    ("filter", [], (None, "")),
    (None, [], (None, "")),
])
def test_locate(field, origin, expected):
    assert locate(field, origin) == expected


@pytest.mark.parametrize("password, problems", [
    ("Abcdefghijk1", []),
    ("abcdefghijk1", ["an upper-case letter"]),
    ("ABCDEFGHIJK1", ["a lower-case letter"]),
    ("Abcdefghijkl", ["a digit"]),
    ("Ab1", ["at least 12 characters"]),
])
def test_password_policy(password, problems):
    policy = PasswordPolicy(minimum_length=12, require_symbols=False)
    assert policy.problems(password) == problems


def test_password_policy_with_symbols_describes_itself():
    policy = PasswordPolicy(minimum_length=8)
    assert policy.problems("Abcdefg1") == ["a symbol"]
    assert policy.describe() == ("Use at least 8 characters, an upper-case letter, a lower-case "
                                 "letter, a digit, a symbol.")


def _event(sequence, type_, data, partner=None):
    return LogEvent("test-p1-x", sequence, type_, data, "2026-11-23T10:00:00Z", partner, "test")


CREATED = {"environment": "test", "request_id": "test-p1-x", "request_type": "a.b",
           "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u",
           "attributes": {}}
ROUTED = {"partner_id": "p1", "environment": "test", "mode": "push", "event_id": "e"}


@pytest.mark.parametrize("events, mode, state", [
    ([], DeliveryMode.PUSH, "waiting"),
    ([_event(1, "request.created", CREATED)], DeliveryMode.PUSH, "waiting"),
    ([_event(1, "request.created", CREATED), _event(2, "request.routed", ROUTED, "p1")],
     DeliveryMode.PUSH, "routed"),
    ([_event(1, "request.created", CREATED), _event(2, "request.routed", ROUTED, "p1")],
     DeliveryMode.POLL, "inbox"),
    ([_event(1, "request.created", CREATED), _event(2, "request.routed", ROUTED, "p1"),
      _event(3, "request.status_changed", {"partner_id": "p1", "environment": "test",
                                           "status": "received",
                                           "occurred_at": "2026-11-23T10:00:01Z"}, "p1")],
     DeliveryMode.PUSH, "acknowledged"),
    ([_event(1, "request.created", CREATED),
      _event(2, "request.routed", {**ROUTED, "partner_id": "p2"}, "p2")],
     DeliveryMode.PUSH, "waiting"),
])
def test_probe_outcome(events, mode, state):
    outcome = probe_outcome("test-p1-x", "p1", PartnerEnvironment("test", mode=mode), events, [])
    assert outcome.state == state
    assert outcome.final is (state in ("acknowledged", "inbox"))


def test_probe_detail_is_addressed_and_marked(clock):
    detail = probe_detail("p1", "test", "a.b", {"k": 1}, clock=clock)
    assert detail["addressed_to"] == "p1" and detail["test"] is True
    assert is_probe_of(detail["request_id"], "p1") and not is_probe_of(detail["request_id"], "p")
    assert not is_probe_of("test-p1-", "p1")


@pytest.mark.parametrize("body, expected", [
    (json.dumps({"id": "e1", "detail-type": "Request Created",
                 "detail": {"request_id": "r1", "request_type": "a.b"}}), ("e1", "r1", "a.b")),
    ("not json", ("", "", "")),
    ("[1, 2]", ("", "", "")),
    (json.dumps({"id": "e2", "detail": "oops"}), ("e2", "", "")),
])
def test_failure_parsing_tolerates_any_body(body, expected):
    failure = _failure({"MessageId": "m", "Body": body,
                        "Attributes": {"SentTimestamp": "1795428000000"},
                        "MessageAttributes": {"ERROR_CODE": {"StringValue": "HTTP_500"}}})
    assert (failure.event_id, failure.request_id, failure.request_type) == expected
    assert failure.error_code == "HTTP_500" and failure.failed_at.endswith("Z")


def test_usage_reads_get_usage_per_day(aws):
    apigateway = aws.client("apigateway")
    stubber = Stubber(apigateway)
    stubber.add_response("get_api_keys", {"items": [{"id": "k1", "name": "pfx-p1-test"}]},
                         {"nameQuery": "pfx-p1-test", "limit": 10})
    stubber.add_response("get_usage", {"usagePlanId": "up", "startDate": "2026-11-21",
                                       "endDate": "2026-11-23",
                                       "items": {"k1": [[5, 95], [0, 100], [7, 93]]}},
                         {"usagePlanId": "up", "keyId": "k1", "startDate": "2026-11-21",
                          "endDate": "2026-11-23"})
    with stubber:
        calls = api_calls_per_day(apigateway, usage_plan_id="up", resource_prefix="pfx-",
                                  partner_id="p1", environment="test",
                                  today=date(2026, 11, 23), days=3)
    assert calls == {"2026-11-21": 5, "2026-11-22": 0, "2026-11-23": 7}


def test_usage_when_api_gateway_fails(aws):
    apigateway = aws.client("apigateway")
    stubber = Stubber(apigateway)
    stubber.add_client_error("get_api_keys", "TooManyRequestsException")
    with stubber, pytest.raises(UnavailableError, match="could not report usage"):
        api_calls_per_day(apigateway, usage_plan_id="up", resource_prefix="pfx-",
                          partner_id="p1", environment="test", today=date(2026, 11, 23))
