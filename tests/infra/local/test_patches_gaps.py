"""TestEventPattern and GetUsage, which moto 5.2 lacks, answered by the patches."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from botocore.exceptions import ClientError

from infra.local.runtime import UsageRecorder
from infra.local.runtime import test_event_pattern as match_pattern
from infra.local.patches.moto_apigateway import _period_start
from tests.conftest import FakeClock
from tests.infra.local.runtime_support import runtime  # noqa: F401

EVENT = {"id": "e-1", "account": "123456789012", "source": "marketplace.requests",
         "time": "2026-11-23T10:00:00Z", "region": "us-east-1", "resources": [],
         "detail-type": "Request Created",
         "detail": {"environment": "prod", "request_type": "repair", "amount": 120}}


@pytest.mark.parametrize("pattern, expected", [
    ({"source": ["marketplace.requests"]}, True),
    ({"source": ["other"]}, False),
    ({"detail": {"environment": ["prod"], "request_type": [{"prefix": "rep"}]}}, True),
    ({"detail": {"amount": [{"numeric": [">", 100]}]}}, True),
    ({"detail": {"addressed_to": [{"exists": False}]}}, True),
    ({"$or": [{"detail": {"environment": ["test"]}}, {"source": ["marketplace.requests"]}]}, True),
])
def test_test_event_pattern_answers_with_the_routing_matcher(aws, pattern, expected):
    """AWS documentation "TestEventPattern" (API reference): `{"Result": true|false}`."""
    answer = aws.client("events").test_event_pattern(EventPattern=json.dumps(pattern),
                                                     Event=json.dumps(EVENT))
    assert answer["Result"] is expected


@pytest.mark.parametrize("missing", ["id", "account", "source", "time", "region", "resources",
                                     "detail-type"])
def test_test_event_pattern_requires_the_envelope_fields(aws, missing):
    """TestEventPattern API reference: id, account, source, time, region, resources and
    detail-type are mandatory in the event."""
    event = {k: v for k, v in EVENT.items() if k != missing}
    with pytest.raises(ClientError) as raised:
        aws.client("events").test_event_pattern(EventPattern='{"source": ["x"]}',
                                                Event=json.dumps(event))
    assert raised.value.response["Error"]["Code"] == "InvalidEventPatternException"
    assert missing in raised.value.response["Error"]["Message"]


@pytest.mark.parametrize("pattern, code", [
    ('{"source": "not-a-list"}', "InvalidEventPatternException"),
    ("{not json", "InvalidEventPatternException"),
    ('{"source": []}', "InvalidEventPatternException"),
    (json.dumps({"source": ["x" * 5000]}), "ValidationException"),
])
def test_test_event_pattern_rejects_bad_patterns(aws, pattern, code):
    """TestEventPattern API reference: EventPattern at most 4,096 characters, valid pattern."""
    with pytest.raises(ClientError) as raised:
        aws.client("events").test_event_pattern(EventPattern=pattern, Event=json.dumps(EVENT))
    assert raised.value.response["Error"]["Code"] == code


def test_a_pattern_of_exactly_4096_characters_is_accepted():
    pattern = '{"source": ["' + "x" * (4096 - 16) + '"]}'
    assert len(pattern) == 4096
    assert match_pattern(pattern, json.dumps(EVENT)) is False


def test_a_bad_event_time_is_refused():
    from moto.events.exceptions import InvalidEventPatternException

    with pytest.raises(InvalidEventPatternException):
        match_pattern('{"source": ["x"]}', json.dumps(dict(EVENT, time="yesterday")))


def _plan_with_key(aws, quota=None):
    apigateway = aws.client("apigateway")
    plan = apigateway.create_usage_plan(name="partners", **({"quota": quota} if quota else {}))
    key = apigateway.create_api_key(name="p1-prod", value="pgw-test-pt-p1-prod-usage-key",
                                    enabled=True)
    apigateway.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return plan["id"], key["id"]


def test_get_usage_reports_daily_use_per_key(aws, runtime):
    """AWS documentation "GetUsage" (API Gateway API reference): per API key, one
    [used, remaining] pair per day from startDate to endDate."""
    clock = FakeClock(datetime(2026, 11, 23, 10, tzinfo=timezone.utc))
    runtime.usage = UsageRecorder(clock)
    plan_id, key_id = _plan_with_key(aws, {"limit": 100, "period": "DAY"})
    for _ in range(3):
        runtime.usage.record("pgw-test-pt-p1-prod-usage-key")
    clock.advance(days=1)
    runtime.usage.record("pgw-test-pt-p1-prod-usage-key")
    runtime.usage.record("someone-else")
    usage = aws.client("apigateway").get_usage(usagePlanId=plan_id, startDate="2026-11-22",
                                               endDate="2026-11-24")
    assert usage["usagePlanId"] == plan_id
    assert usage["startDate"] == "2026-11-22" and usage["endDate"] == "2026-11-24"
    assert usage["items"] == {key_id: [[0, 100], [3, 97], [1, 99]]}


def test_get_usage_counts_the_quota_period(aws, runtime):
    clock = FakeClock(datetime(2026, 11, 2, tzinfo=timezone.utc))
    runtime.usage = UsageRecorder(clock)
    plan_id, key_id = _plan_with_key(aws, {"limit": 10, "period": "MONTH"})
    runtime.usage.record("pgw-test-pt-p1-prod-usage-key")
    clock.advance(days=1)
    runtime.usage.record("pgw-test-pt-p1-prod-usage-key")
    usage = aws.client("apigateway").get_usage(usagePlanId=plan_id, startDate="2026-11-02",
                                               endDate="2026-11-03", keyId=key_id)
    assert usage["items"][key_id] == [[1, 9], [1, 8]]


@pytest.mark.parametrize("start, end", [("2026-11-23", "2026-11-01"), ("23/11/2026", "2026-11-24"),
                                        ("2020-01-01", "2026-01-01")])
def test_get_usage_checks_its_dates(aws, runtime, start, end):
    plan_id, _ = _plan_with_key(aws)
    with pytest.raises(ClientError) as raised:
        aws.client("apigateway").get_usage(usagePlanId=plan_id, startDate=start, endDate=end)
    assert raised.value.response["Error"]["Code"] == "BadRequestException"


def test_get_usage_of_an_unknown_plan_is_not_found(aws, runtime):
    with pytest.raises(ClientError) as raised:
        aws.client("apigateway").get_usage(usagePlanId="nope", startDate="2026-11-01",
                                           endDate="2026-11-02")
    assert raised.value.response["Error"]["Code"] == "NotFoundException"


@pytest.mark.parametrize("day, quota, expected", [
    (date(2026, 11, 25), {"period": "DAY"}, date(2026, 11, 25)),
    (date(2026, 11, 25), {"period": "WEEK"}, date(2026, 11, 22)),  # a Wednesday -> Sunday
    (date(2026, 11, 25), {"period": "MONTH"}, date(2026, 11, 1)),
])
def test_quota_period_start(day, quota, expected):
    assert _period_start(day, quota) == expected


# --- FlushStageAuthorizersCache ----------------------------------------------------------------


def test_flush_stage_authorizers_cache_reaches_the_embedded_api_gateway(aws):
    """AWS documentation "FlushStageAuthorizersCache": 202, the stage's cache emptied; here
    the API Gateway stand-in's, so a revoked token is refused right after the flush."""
    from werkzeug.test import Client

    from infra.local import patches
    from infra.local.apigateway import ApiGateway, partner_api_routes

    allowed = {"Bearer pgw_test_good": True}

    def invoke(function, event):
        if function == "auth-fn":
            if not allowed.get(event["headers"]["Authorization"]):
                raise Exception("Unauthorized")
            return {"principalId": "p1", "policyDocument": {"Statement": [{
                "Effect": "Allow", "Action": "execute-api:Invoke",
                "Resource": event["methodArn"]}]}}
        return {"statusCode": 200, "body": "{}"}

    routes = partner_api_routes({"partner_api": "api-fn", "portal_api": "portal-fn",
                                 "authorizer": "auth-fn"}, authorizer_ttl_seconds=60)
    gateway = ApiGateway(routes, invoke, stage="local", api_id="localapi01")
    client = Client(gateway)
    headers = {"Authorization": "Bearer pgw_test_good"}
    patches.serve_authorizer_cache("localapi01", "local", gateway.flush_authorizer_cache)
    try:
        assert client.get("/v1/requests", headers=headers).status_code == 200
        allowed.clear()  # the token is revoked
        assert client.get("/v1/requests", headers=headers).status_code == 200  # cached
        answer = aws.client("apigateway").flush_stage_authorizers_cache(
            restApiId="localapi01", stageName="local")
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 202
        assert client.get("/v1/requests", headers=headers).status_code == 401
    finally:
        patches.withdraw_authorizer_cache("localapi01", "local")


def test_flush_of_an_unknown_stage_is_not_found(aws):
    with pytest.raises(ClientError) as raised:
        aws.client("apigateway").flush_stage_authorizers_cache(restApiId="nope",
                                                               stageName="local")
    assert raised.value.response["Error"]["Code"] == "NotFoundException"
