"""Schemathesis against the OpenAPI document: generated requests through the authorizer and
the handler, each response checked against the document (status, content type, headers,
schema), no 5xx. At least 500 cases, derandomised so a run is repeatable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from partners.deliveries import DeliveryStore, delivery_id, parse_record
from tests.handlers.conftest import shared_session
from tests.handlers.wsgi import wsgi_app
from tests.partners.deliveries.builders import Send


@pytest.fixture
def world(shared_world):
    """This module's tests share one provisioned stage (see `shared_world`)."""
    return shared_world


DOCUMENT = json.loads(
    (Path(__file__).parents[2] / "handlers" / "openapi" / "partner-api.json").read_text())
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT)
# Per operation and mode; operations with little to vary (the document itself) end early.
EXAMPLES = 50


def test_the_document_is_valid_openapi_3_1():
    from jsonschema import Draft202012Validator

    assert DOCUMENT["openapi"].startswith("3.1")
    for name, schema in DOCUMENT["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
    operations = [result.ok() for result in SCHEMA.get_all_operations()]
    assert {op.label for op in operations} == {
        "GET /v1/openapi.json", "GET /v1/requests", "GET /v1/requests/{request_id}",
        "POST /v1/requests/{request_id}/status", "GET /v1/requests/{request_id}/documents",
        "GET /v1/deliveries", "GET /v1/deliveries/{delivery_id}",
        "POST /v1/deliveries/{delivery_id}/resend"}


def index_delivery(world, partner_id: str) -> str:
    """A delivered CloudEvent for `partner_id`'s prod environment, folded into the log."""
    store = DeliveryStore(world.stage.spec.tables["deliveries"].name,
                          prefix=world.stage.spec.partner_resource_prefix,
                          boto3_session=shared_session(), clock=world.clock)
    send = Send(partner_id=partner_id, event_id=f"{partner_id}-ev")
    store.index(parse_record(record) for record in send.delivered())
    return delivery_id(partner_id, "prod", send.event_id)


def test_generated_requests_get_documented_responses_and_never_a_5xx(world):
    partner = world.partner("fuzz")
    token = world.token(partner.id, "prod")
    routed = world.create_request(documents=[{"name": "a.txt", "content_type": "text/plain"}])
    world.route(routed, partner.id)
    # One delivery in the log, so the delivery routes answer 200/202/429, not only 404.
    delivered = index_delivery(world, partner.id)
    statuses: list[int] = []  # every HTTP call, the checks' own included
    cases: list[str] = []
    app = wsgi_app(world.api, statuses)
    auth = {"Authorization": f"Bearer {token}"}

    # Loaded from the handler itself: the document it serves is the one under test.
    schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", app)
    assert schema.raw_schema == DOCUMENT
    for result in schema.get_all_operations():
        operation = result.ok()
        strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
        definition = DOCUMENT["paths"][operation.path]
        if definition.get("parameters") or definition[operation.method.lower()].get(
                "parameters") or definition[operation.method.lower()].get("requestBody"):
            # Nothing to negate in an operation without inputs.
            strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))
        if "{delivery_id}" in operation.path:
            strategies.append(operation.as_strategy(
                GenerationMode.POSITIVE, path_parameters={"delivery_id": delivered}))
        if "{request_id}" in operation.path:
            # The routed request too, so the 200/202/409 answers are exercised, not only 404.
            strategies.append(operation.as_strategy(
                GenerationMode.POSITIVE, path_parameters={"request_id": routed}))
        for strategy in strategies:
            @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def check(case):
                cases.append(case.operation.label)
                response = case.call(app=app, headers=auth)
                assert response.status_code < 500, response.text
                # Schema-valid is not always acceptable: a forged `cursor`, or an `occurred_at`
                # in the future, fits the document and is still a 422 with a field error.
                case.validate_response(response, headers=auth,
                                       excluded_checks=[positive_data_acceptance])

            check()

    assert len(cases) >= 500, len(cases)
    assert not [s for s in statuses if s >= 500]
    seen = set(statuses)
    assert {200, 202, 404, 422} <= seen, sorted(seen)
