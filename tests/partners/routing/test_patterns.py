"""Filter -> event pattern compilation, checked against moto's EventBridge pattern matcher."""

from __future__ import annotations

import json

import pytest
from moto.events.models import EventPattern

from partners.onboarding.exceptions import InvalidFilterError
from partners.routing.patterns import MAX_PATTERN_LENGTH, compile_event_pattern, pattern_json


def event(environment="prod", request_type="stock.check", addressed_to=None, **attributes):
    detail = {"environment": environment, "request_id": "r1", "request_type": request_type,
              "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u1",
              "attributes": attributes}
    if addressed_to:
        detail["addressed_to"] = addressed_to
    return {"version": "0", "id": "e1", "detail-type": "Request Created",
            "source": "marketplace.requests", "account": "123456789012",
            "time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


def matches(pattern, evt):
    return EventPattern.load(pattern_json(pattern)).matches_event(evt)


def cond(attribute, operator, *values):
    return {"attribute": attribute, "operator": operator, "values": list(values)}


CASES = [
    # (filter, event, matches?)
    ({"request_types": ["*"]}, event(), True),
    ({"request_types": ["*"]}, event(request_type="anything.else"), True),
    ({"request_types": ["stock.check"]}, event(), True),
    ({"request_types": ["stock.check"]}, event(request_type="price.quote"), False),
    ({"request_types": ["price.quote", "stock.check"]}, event(), True),
    ({"conditions": [cond("region", "any_of", "eu-west", "eu-north")]},
     event(region="eu-west"), True),
    ({"conditions": [cond("region", "any_of", "eu-west")]}, event(region="us-east"), False),
    ({"conditions": [cond("region", "any_of", "eu-west")]}, event(), False),
    ({"conditions": [cond("qty", "any_of", 3, 5)]}, event(qty=5), True),
    ({"conditions": [cond("region", "none_of", "cn-north")]}, event(region="eu-west"), True),
    ({"conditions": [cond("region", "none_of", "cn-north")]}, event(region="cn-north"), False),
    ({"conditions": [cond("region", "prefix", "eu-")]}, event(region="eu-west"), True),
    ({"conditions": [cond("region", "prefix", "eu-", "uk-")]}, event(region="uk-south"), True),
    ({"conditions": [cond("region", "prefix", "eu-")]}, event(region="us-east"), False),
    ({"conditions": [cond("file", "suffix", ".pdf")]}, event(file="id.pdf"), True),
    ({"conditions": [cond("file", "suffix", ".pdf")]}, event(file="id.png"), False),
    ({"conditions": [cond("city", "equals_ignore_case", "Paris")]}, event(city="PARIS"), True),
    ({"conditions": [cond("city", "equals_ignore_case", "Paris")]}, event(city="Rome"), False),
    ({"conditions": [cond("amount", "between", 10, 20)]}, event(amount=10), True),
    ({"conditions": [cond("amount", "between", 10, 20)]}, event(amount=20), True),
    ({"conditions": [cond("amount", "between", 10, 20)]}, event(amount=20.5), False),
    ({"conditions": [cond("amount", "greater_than", 100)]}, event(amount=100), False),
    ({"conditions": [cond("amount", "greater_than", 100)]}, event(amount=101), True),
    ({"conditions": [cond("amount", "less_than", 5)]}, event(amount=4.99), True),
    ({"conditions": [cond("amount", "less_than", 5)]}, event(amount="4"), False),
    ({"conditions": [cond("amount", "greater_than", 1), cond("amount", "less_than", 9)]},
     event(amount=5), True),
    ({"conditions": [cond("amount", "greater_than", 1), cond("amount", "less_than", 9)]},
     event(amount=9), False),
    ({"conditions": [cond("vip", "exists")]}, event(vip=True), True),
    ({"conditions": [cond("vip", "exists")]}, event(), False),
    ({"conditions": [cond("vip", "absent")]}, event(), True),
    ({"conditions": [cond("vip", "absent")]}, event(vip=False), False),
    ({"request_types": ["stock.check"],
      "conditions": [cond("region", "prefix", "eu-"), cond("amount", "greater_than", 10)]},
     event(region="eu-west", amount=11), True),
    ({"request_types": ["stock.check"],
      "conditions": [cond("region", "prefix", "eu-"), cond("amount", "greater_than", 10)]},
     event(region="eu-west", amount=9), False),
]


@pytest.mark.parametrize(("request_filter", "evt", "expected"), CASES)
def test_compiled_pattern_matches_like_eventbridge(request_filter, evt, expected):
    assert matches(compile_event_pattern(request_filter, "prod"), evt) is expected


def test_pattern_matches_only_its_environment():
    pattern = compile_event_pattern({"request_types": ["*"]}, "test")
    assert matches(pattern, event(environment="test"))
    assert not matches(pattern, event(environment="prod"))


def test_pattern_matches_only_request_created_from_the_marketplace():
    pattern = compile_event_pattern({}, "prod")
    other_type = {**event(), "detail-type": "Request Status Changed"}
    other_source = {**event(), "source": "somebody.else"}
    assert not matches(pattern, other_type)
    assert not matches(pattern, other_source)


@pytest.mark.parametrize(
    ("addressed_to", "expected"), [(None, True), ("p1", True), ("p2", False)]
)
def test_addressed_events_reach_only_their_partner(addressed_to, expected):
    pattern = compile_event_pattern({}, "prod", partner_id="p1")
    assert matches(pattern, event(addressed_to=addressed_to)) is expected


def test_the_compiled_pattern_is_the_documented_shape():
    pattern = compile_event_pattern(
        {"request_types": ["stock.check"], "conditions": [cond("region", "prefix", "eu-")]},
        "prod", partner_id="p1")
    assert pattern == {
        "source": ["marketplace.requests"],
        "detail-type": ["Request Created"],
        "detail": {"environment": ["prod"], "request_type": ["stock.check"],
                   "attributes": {"region": [{"prefix": "eu-"}]},
                   "addressed_to": [{"exists": False}, "p1"]},
    }
    json.loads(pattern_json(pattern))


@pytest.mark.parametrize(
    ("request_filter", "message"),
    [
        ({"conditions": [cond("region", "what", "x")]}, "unknown operator"),
        ({"conditions": [cond("region", "any_of")]}, "at least one value"),
        ({"conditions": [cond("region", "prefix", "eu-"), cond("region", "suffix", "-1")]},
         "cannot AND together"),
        ({"request_types": [f"type.{i:03d}.{'x' * 40}" for i in range(45)]},
         f"EventBridge allows {MAX_PATTERN_LENGTH}"),
    ],
)
def test_refuses_what_eventbridge_would_refuse(request_filter, message):
    with pytest.raises(InvalidFilterError, match=message):
        compile_event_pattern(request_filter, "prod")


def test_refuses_a_bad_environment_name():
    with pytest.raises(ValueError):
        compile_event_pattern({}, "Prod Env")
