"""Event schemas and the CloudEvents delivery template."""

from __future__ import annotations

import json

import pytest

from partners.core.contracts import (
    CLOUDEVENTS_TRANSFORMER,
    SCHEMAS,
    cloudevent_for,
    put_events_entry,
    validate_detail,
)
from partners.core.exceptions import ContractViolationError

CREATED = {"environment": "prod", "request_id": "r-1", "request_type": "stock.check",
           "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "user_id": "u-1",
           "attributes": {"region": "eu-west", "qty": 3},
           "documents": [{"document_id": "d1", "bucket": "docs-bucket", "key": "r-1/d1"}]}
STATUS = {"environment": "prod", "request_id": "r-1", "request_type": "stock.check",
          "occurred_at": "2026-11-23T10:00:00Z", "schema_version": "1", "partner_id": "p1",
          "status": "accepted", "user_id": "u-1"}


def test_valid_details_pass():
    validate_detail("Request Created", CREATED)
    validate_detail("Request Status Changed", STATUS)


@pytest.mark.parametrize(
    ("detail_type", "detail", "path"),
    [
        ("Request Created", {**CREATED, "environment": "Prod!"}, "environment"),
        ("Request Created", {k: v for k, v in CREATED.items() if k != "user_id"}, ""),
        ("Request Created", {**CREATED, "attributes": {"a": {"nested": 1}}}, "attributes.a"),
        ("Request Created", {**CREATED, "documents": [{"content": "base64..."}]}, "documents.0"),
        ("Request Created", {**CREATED, "occurred_at": "yesterday"}, "occurred_at"),
        ("Request Status Changed", {**STATUS, "status": "done"}, "status"),
        ("Request Status Changed", {**STATUS, "extra": 1}, ""),
    ],
)
def test_invalid_details_name_the_path(detail_type, detail, path):
    with pytest.raises(ContractViolationError) as caught:
        validate_detail(detail_type, detail)
    assert path in [p for p, _ in caught.value.errors]


def test_every_event_type_has_a_schema():
    assert set(SCHEMAS) == {"Request Created", "Request Status Changed", "Partner Approved",
                            "Partner Suspended", "Partner Environment Changed"}
    for schema in SCHEMAS.values():
        assert {"environment", "request_id", "request_type", "occurred_at",
                "schema_version"} <= set(schema["required"])


def test_put_events_entry_validates_and_serialises():
    entry = put_events_entry("bus", "Request Created", CREATED)
    assert entry["Source"] == "marketplace.requests"
    assert json.loads(entry["Detail"]) == CREATED
    with pytest.raises(ContractViolationError):
        put_events_entry("bus", "Request Created", {**CREATED, "request_id": ""})


def test_cloudevents_template_renders_to_the_reference_cloudevent():
    detail = CREATED
    event = {"id": "e-1", "time": "2026-11-23T10:00:00Z", "detail-type": "Request Created",
             "detail": detail}
    values = {"id": json.dumps(CREATED["request_id"]), "time": json.dumps(event["time"]),
              "detail": json.dumps(detail), "request_id": json.dumps(CREATED["request_id"]),
              "detail_type": json.dumps(event["detail-type"])}
    rendered = CLOUDEVENTS_TRANSFORMER.template
    for name, value in values.items():
        rendered = rendered.replace(f"<{name}>", value)
    assert json.loads(rendered) == cloudevent_for(event)
    # The request's id, not the EventBridge event id (which a resend or redrive changes).
    assert CLOUDEVENTS_TRANSFORMER.paths["id"] == "$.detail.request_id"
    assert cloudevent_for(event)["id"] == CREATED["request_id"]
    assert {"specversion", "id", "source", "type", "time", "datacontenttype", "data"} <= set(
        cloudevent_for(event))


def test_an_entry_is_strict_json_or_nothing():
    """Inputs refuse non-finite numbers (core.strict_json); an entry never carries one either."""
    detail = {"environment": "prod", "request_id": "r-1", "request_type": "stock.check",
              "occurred_at": "2026-12-01T00:00:00Z", "schema_version": "1",
              "attributes": {"qty": float("nan")}}
    with pytest.raises(ValueError):
        put_events_entry("marketplace", "Request Created", detail)
