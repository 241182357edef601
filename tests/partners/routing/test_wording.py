"""Filters and mismatches in words, and why a test event reaches nobody: pure tables."""

from __future__ import annotations

import pytest

from partners.onboarding.filters import RequestFilter, parse_filter
from partners.onboarding.models import (
    Partner,
    PartnerEnvironment,
    PartnerStatus,
    RoutingState,
    RoutingStatus,
)
from partners.routing.patterns import compile_event_pattern
from partners.routing.status import acknowledges_save
from partners.routing.test_events import (
    failing_fields,
    pattern_checks,
    sent_detail,
    unrouted_reason,
)
from partners.routing.wording import describe_filter, mismatch_reason


def _filter(types=("stock.check",), *conditions):
    return parse_filter({"request_types": list(types), "conditions": [
        {"attribute": a, "operator": o, "values": list(v)} for a, o, v in conditions]})


@pytest.mark.parametrize("request_filter, sentence", [
    (_filter(("*",)), "All request types"),
    (_filter(), "Request type stock.check"),
    (_filter(("stock.check", "price.quote"), ("region", "prefix", ["eu-"])),
     "Request types stock.check, price.quote; region starts with eu-"),
    (_filter(("stock.check",), ("region", "any_of", ["eu-west", "eu-north"]),
             ("qty", "between", [1, 10])),
     "Request type stock.check; region is eu-west or eu-north; qty is between 1 and 10"),
    (_filter(("*",), ("tier", "none_of", ["free"]), ("vip", "exists", []),
             ("legacy", "absent", []), ("qty", "greater_than", [5])),
     "All request types; tier is not free; vip is present; legacy is absent; "
     "qty is greater than 5"),
    (_filter(("*",), ("code", "any_of", [" padded", 7, "x"])),
     'All request types; code is " padded", 7 or x'),
    (_filter(("*",), ("city", "equals_ignore_case", ["Paris"]), ("zip", "suffix", ["00"]),
             ("qty", "less_than", [3])),
     "All request types; city equals Paris (any case); zip ends with 00; qty is less than 3"),
    ({"request_types": ["stock.check"]}, "Request type stock.check"),
])
def test_describe_filter(request_filter, sentence):
    assert describe_filter(request_filter) == sentence


DETAIL = {"environment": "test", "request_type": "price.quote",
          "attributes": {"region": "us-east", "qty": 50}, "addressed_to": "p-other"}
FILTER = _filter(("stock.check",), ("region", "prefix", ["eu-"]), ("qty", "between", [1, 10]))


@pytest.mark.parametrize("field, reason", [
    ("request_type", 'request_type is "price.quote"; the filter takes stock.check'),
    ("attributes.region", 'attributes.region is "us-east"; the filter needs region starts '
                          "with eu-"),
    ("attributes.qty", "attributes.qty is 50; the filter needs qty is between 1 and 10"),
    ("attributes.tier", "attributes.tier missing; the filter needs tier to match"),
    ("environment", 'environment is "test"; this environment takes only prod'),
    ("addressed_to", 'addressed_to is "p-other"; it is addressed to another partner'),
])
def test_mismatch_reason_names_the_field_and_its_value(field, reason):
    assert mismatch_reason(field, DETAIL, FILTER, "prod") == reason


def test_pattern_checks_split_the_pattern_per_field():
    pattern = compile_event_pattern(FILTER, "test", partner_id="p1")
    checks = dict(pattern_checks(pattern))
    assert list(checks) == ["environment", "request_type", "attributes.region",
                            "attributes.qty", "addressed_to"]
    assert checks["attributes.region"]["detail"] == {"attributes": {"region": [{"prefix":
                                                                                "eu-"}]}}
    assert all(c["source"] == pattern["source"] for c in checks.values())


def refusing(*fields):
    """A matcher that refuses the whole pattern and each part testing one of `fields`."""
    def matches(pattern, detail):
        return not {field for field, _ in pattern_checks(pattern)} & set(fields)
    return matches


@pytest.mark.parametrize("refused, failing", [
    ((), []),
    (("request_type",), ["request_type"]),
    (("attributes.region", "addressed_to"), ["attributes.region", "addressed_to"]),
])
def test_failing_fields(refused, failing):
    pattern = compile_event_pattern(FILTER, "test", partner_id="p1")
    assert failing_fields(pattern, DETAIL, refusing(*refused)) == failing


def _partner(status, *environments):
    return Partner(id="p1", slug="acme", display_name="Acme", contact_email="a@acme.example",
                   status=status, environments={e.name: e for e in environments})


TEST_ENV = PartnerEnvironment(name="test", filter=FILTER)
SENT = {"environment": "test", "request_id": "test-p1-x", "request_type": "stock.check",
        "sent_at": "2026-11-23T10:00:00Z", "attributes": {"region": "us-east", "qty": 5}}


@pytest.mark.parametrize("partner, env, sent, refused, reason", [
    (_partner(PartnerStatus.DRAFT, TEST_ENV), TEST_ENV, SENT, (),
     "your organisation is not approved yet: submit it for approval"),
    (_partner(PartnerStatus.PENDING_APPROVAL, TEST_ENV), TEST_ENV, SENT, (),
     "your organisation is not approved yet (waiting for an admin)"),
    (_partner(PartnerStatus.SUSPENDED, TEST_ENV), TEST_ENV, SENT, (),
     "your organisation is suspended"),
    (_partner(PartnerStatus.APPROVED), TEST_ENV, SENT, (), "test has no delivery set up yet"),
    (_partner(PartnerStatus.APPROVED, PartnerEnvironment(name="test", enabled=False)),
     PartnerEnvironment(name="test", enabled=False), SENT, (), "test is disabled"),
    (_partner(PartnerStatus.APPROVED, TEST_ENV), TEST_ENV, SENT, ("attributes.region",),
     'your filter does not match this test event: attributes.region is "us-east"; '
     "the filter needs region starts with eu-"),
    # An audit record from before attributes were kept: only what is known is checked.
    (_partner(PartnerStatus.APPROVED, TEST_ENV), TEST_ENV,
     {k: v for k, v in SENT.items() if k != "attributes"}, ("attributes.region",), None),
    (_partner(PartnerStatus.APPROVED, TEST_ENV), TEST_ENV, None, ("request_type",), None),
    (_partner(PartnerStatus.APPROVED, TEST_ENV), TEST_ENV, SENT, (), None),
])
def test_unrouted_reason(partner, env, sent, refused, reason):
    found = unrouted_reason(partner, env, sent, refusing(*refused))
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason)


def test_sent_detail_is_addressed_to_the_partner():
    detail = sent_detail("p1", SENT)
    assert detail["addressed_to"] == "p1" and detail["test"] is True
    assert detail["attributes"] == SENT["attributes"]


@pytest.mark.parametrize("updated_at, saved_at, acknowledged", [
    ("2026-11-23T10:00:05Z", "2026-11-23T10:00:00Z", True),
    ("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z", True),
    ("2026-11-23T09:59:59Z", "2026-11-23T10:00:00Z", False),
    ("", "2026-11-23T10:00:00Z", False),
    ("2026-11-23T09:00:00Z", "", True),
])
def test_acknowledges_save(updated_at, saved_at, acknowledged):
    status = RoutingStatus("p1", "test", RoutingState.LIVE, updated_at=updated_at)
    assert acknowledges_save(status, saved_at) is acknowledged
