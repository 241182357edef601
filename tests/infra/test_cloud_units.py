"""The pure parts of the Pulumi program: settings, schemas, API definitions (IAM: test_roles)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft4Validator

from infra.cloud.config import (
    PortalCallback,
    StageConfigError,
    UsageTier,
    check_stage_config,
    parse_usage_tiers,
)
from infra.cloud.openapi import (
    PARTNER_ROUTES,
    PORTAL_ROUTES,
    Route,
    integrations,
    partner_api_body,
    partner_routes,
    portal_api_body,
    problem_gateway_responses,
    routes_from_document,
)
from infra.cloud.schemas import registry_schema, schema_name, to_draft4
from partners.core.contracts import REQUEST_CREATED, REQUEST_STATUS_CHANGED, SCHEMAS
from tests.infra.cloud_mocks import LAYER, stage_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")



# --- Stage settings --------------------------------------------------------------------------

def test_a_sound_config_passes() -> None:
    config = stage_config()
    assert check_stage_config(config) is config


@pytest.mark.parametrize("changes, key", [
    ({"stage": "prod", "allow_insecure_endpoints": True}, "allowInsecureEndpoints"),
    ({"log_retention_days": 10}, "logRetentionDays"),
    ({"default_usage_tier": "gold"}, "defaultUsageTier"),
    ({"portal_callback": PortalCallback("http://portal.example.com/hook")}, "portalCallback.url"),
    ({"powertools_layer_arn": "layer"}, "powertoolsLayerArn"),
    ({"powertools_layer_arn": LAYER.replace("eu-west-1", "us-east-1")}, "powertoolsLayerArn"),
    ({"reconcile_schedule": "every 5 minutes"}, "reconcileSchedule"),
    ({"deep_reconcile_schedule": "hourly"}, "deepReconcileSchedule"),
    ({"alarm_email": "nobody"}, "alarmEmail"),
    ({"sms_sender_id": "12345"}, "sms.senderId"),
    ({"sms_sender_id": "MarketplaceX"}, "sms.senderId"),
])
def test_unsafe_or_broken_settings_are_refused(changes: dict[str, Any], key: str) -> None:
    with pytest.raises(StageConfigError, match=key):
        check_stage_config(stage_config(**changes))


def test_layers_of_other_partitions_are_accepted() -> None:
    """A stage in China or GovCloud uses that partition's layer ARN (`arn:aws-cn:...`)."""
    layer = LAYER.replace("arn:aws:", "arn:aws-cn:").replace("eu-west-1", "cn-north-1")
    config = stage_config(region="cn-north-1", powertools_layer_arn=layer)
    assert check_stage_config(config) is config


def test_insecure_endpoints_are_fine_outside_prod() -> None:
    assert check_stage_config(stage_config(allow_insecure_endpoints=True)).stage == "dev"


def test_usage_tiers_parse_in_name_order() -> None:
    tiers = parse_usage_tiers({"premium": {"rateLimit": 50, "burstLimit": 100, "quotaPerDay": 9},
                               "basic": {"rateLimit": 1.5, "burstLimit": 2, "quotaPerDay": 3}})
    assert tiers == (UsageTier("basic", 1.5, 2, 3), UsageTier("premium", 50, 100, 9))


@pytest.mark.parametrize("raw, key", [
    ({}, "usageTiers"),
    ({"basic": {"rateLimit": 1, "burstLimit": 2}}, "usageTiers.basic.quotaPerDay"),
    ({"basic": {"rateLimit": 0, "burstLimit": 2, "quotaPerDay": 3}}, "usageTiers.basic.rateLimit"),
    ({"basic": {"rateLimit": 1, "burstLimit": True, "quotaPerDay": 3}},
     "usageTiers.basic.burstLimit"),
    ({"basic": 5}, "usageTiers.basic"),
])
def test_bad_usage_tiers_name_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(StageConfigError, match=key):
        parse_usage_tiers(raw)


# --- Schema registry --------------------------------------------------------------------------

@pytest.mark.parametrize("schema, expected", [
    ({"const": "1"}, {"enum": ["1"]}),
    ({"$id": "urn:x", "type": "object"}, {"id": "urn:x", "type": "object"}),
    ({"properties": {"const": {"const": 2}}}, {"properties": {"const": {"enum": [2]}}}),
    ({"items": [{"const": True}]}, {"items": [{"enum": [True]}]}),
    ({"$schema": "https://json-schema.org/draft/2020-12/schema"},
     {"$schema": "http://json-schema.org/draft-04/schema#"}),
])
def test_to_draft4(schema: dict[str, Any], expected: dict[str, Any]) -> None:
    assert to_draft4(schema) == expected


@pytest.mark.parametrize("detail_type", sorted(SCHEMAS))
def test_registry_schemas_are_valid_draft4_and_describe_the_event(detail_type: str) -> None:
    schema = registry_schema(detail_type)
    Draft4Validator.check_schema(schema)
    assert "const" not in json.dumps(schema)
    assert schema["properties"]["detail-type"]["enum"] == [detail_type]
    assert schema_name(detail_type).startswith(("marketplace.requests@",
                                                "marketplace.partners@"))


def test_registry_schema_accepts_a_real_event_and_rejects_a_bad_one() -> None:
    detail = {"environment": "test", "request_id": "r-1", "request_type": "repair",
              "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1",
              "partner_id": "p-1", "status": "accepted"}
    event = {"version": "0", "id": "e-1", "detail-type": REQUEST_STATUS_CHANGED,
             "source": "marketplace.requests", "account": "1", "time": "2026-11-23T10:00:00Z",
             "region": "eu-west-1", "resources": [], "detail": detail}
    validator = Draft4Validator(registry_schema(REQUEST_STATUS_CHANGED))
    assert list(validator.iter_errors(event)) == []
    assert list(validator.iter_errors({**event, "detail": {**detail, "schema_version": "2"}}))
    assert list(validator.iter_errors({**event, "detail-type": REQUEST_CREATED}))


# --- API definitions --------------------------------------------------------------------------

def test_routes_come_from_the_openapi_document(tmp_path: Path) -> None:
    document = {
        "openapi": "3.1.0",
        "security": [{"bearer": []}],
        "paths": {
            "/v1/things/{thing_id}": {
                "parameters": [{"name": "thing_id", "in": "path", "required": True}],
                "get": {"parameters": [{"name": "q", "in": "query", "required": True},
                                       {"name": "page", "in": "query"}]},
                "post": {"parameters": [{"name": "Idempotency-Key", "in": "header",
                                         "required": True}],
                         "requestBody": {"content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Thing"}}}}},
            },
            "/v1/meta": {"get": {"security": []}},
        },
    }
    (tmp_path / "api.json").write_text(json.dumps(document))
    routes = {(r.method, r.path): r for r in partner_routes(tmp_path)}
    assert routes[("get", "/v1/things/{thing_id}")].query == ("q",)
    assert routes[("post", "/v1/things/{thing_id}")].headers == ("Idempotency-Key",)
    assert routes[("post", "/v1/things/{thing_id}")].body_schema == {
        "$ref": "#/components/schemas/Thing"}
    assert routes[("get", "/v1/meta")].authorized is False
    assert routes[("get", "/v1/things/{thing_id}")].authorized is True
    assert routes_from_document(document) == partner_routes(tmp_path)


def test_without_a_document_the_route_list_is_used(tmp_path: Path) -> None:
    assert partner_routes(tmp_path / "missing") == PARTNER_ROUTES


def test_partner_body_inlines_referenced_models_and_routes_everything_to_one_function() -> None:
    routes = [Route("post", "/v1/requests/{request_id}/status", headers=("Idempotency-Key",),
                    body_schema={"$ref": "#/components/schemas/StatusUpdate"}),
              Route("get", "/v1/openapi.json", authorized=False)]
    components = {"StatusUpdate": {"type": "object", "properties": {
        "status": {"$ref": "#/components/schemas/Status"}}},
        "Status": {"const": "accepted"}}
    body = partner_api_body(routes, title="t", handler_invoke_arn="handler",
                            authorizer_invoke_arn="authorizer", components=components)
    assert set(integrations(body).values()) == {"handler"}
    model = body["components"]["schemas"]["PostV1RequestsRequestIdStatus"]
    assert model == {"type": "object", "properties": {"status": {"enum": ["accepted"]}}}
    status = body["paths"]["/v1/requests/{request_id}/status"]["post"]
    assert [p["name"] for p in status["parameters"]] == ["request_id", "Idempotency-Key"]
    assert status["security"] == [{"partnerToken": [], "usageKey": []}]
    assert body["paths"]["/v1/openapi.json"]["get"]["security"] == []


def test_portal_body_is_iam_only() -> None:
    body = portal_api_body(title="t", handler_invoke_arn="portal")
    assert len(integrations(body)) == len(PORTAL_ROUTES)
    for item in body["paths"].values():
        for operation in item.values():
            assert operation["x-amazon-apigateway-auth"] == {"type": "AWS_IAM"}


def test_gateway_errors_render_as_problem_json() -> None:
    responses = problem_gateway_responses()
    for kind, response in responses.items():
        assert response["responseParameters"]["gatewayresponse.header.Content-Type"] == \
            "'application/problem+json'"
        rendered = (response["responseTemplates"]["application/json"]
                    .replace("$context.error.messageString", '"Unauthorized"')
                    .replace("$context.requestId", "abc"))
        problem = json.loads(rendered)
        assert problem["type"] == "about:blank" and problem["detail"] == "Unauthorized"
        if "statusCode" in response:
            assert problem["status"] == int(response["statusCode"])
    assert responses["UNAUTHORIZED"]["statusCode"] == "401"
    assert responses["THROTTLED"]["statusCode"] == "429"
