"""Event contracts: the JSON Schemas of every event on the bus, a validator, and the
CloudEvents 1.0 input transformer used for partner deliveries.

This is the one place the schemas live; Pulumi publishes them to the EventBridge schema
registry and every producer validates against them before `PutEvents`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any, Mapping

import jsonschema_rs

from partners.core.constants import (
    ADDRESSED_TO,
    PARTNER_APPROVED,
    PARTNER_ENVIRONMENT_CHANGED,
    PARTNER_SUSPENDED,
    REQUEST_CREATED,
    REQUEST_STATUS_CHANGED,
    SCHEMA_VERSION,
    SOURCE_PARTNERS,
    SOURCE_REQUESTS,
)
from partners.core.exceptions import ContractViolationError

REQUEST_STATUSES = ("received", "in_progress", "accepted", "declined", "fulfilled", "failed")

_ID = {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{1,64}$"}
_ENVIRONMENT = {"type": "string", "pattern": "^[a-z][a-z0-9]{1,15}$"}
_TIME = {"type": "string", "format": "date-time"}
_COMMON = {
    "environment": _ENVIRONMENT,
    "request_id": _ID,
    "request_type": {"type": "string", "pattern": "^[a-z][a-z0-9_.-]{0,63}$"},
    "occurred_at": _TIME,
    "schema_version": {"const": SCHEMA_VERSION},
    ADDRESSED_TO: _ID,
}
_REQUIRED = ["environment", "request_id", "request_type", "occurred_at", "schema_version"]

# A document is a claim check: an S3 reference, never the content (events stay far under
# EventBridge's 256 KB entry limit by construction).
_DOCUMENT = {
    "type": "object",
    "required": ["document_id", "bucket", "key"],
    "additionalProperties": False,
    "properties": {
        "document_id": _ID,
        "bucket": {"type": "string", "minLength": 3, "maxLength": 63},
        "key": {"type": "string", "minLength": 1, "maxLength": 1024},
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "content_type": {"type": "string", "maxLength": 255},
        "size": {"type": "integer", "minimum": 0},
    },
}

_ATTRIBUTE_VALUE = {"type": ["string", "number", "boolean", "null"]}


def _schema(title: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:marketplace:events:{title.lower().replace(' ', '-')}:v{SCHEMA_VERSION}",
        "title": title,
        "type": "object",
        "additionalProperties": False,
        "required": _REQUIRED + required,
        "properties": {**_COMMON, **properties},
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    REQUEST_CREATED: _schema(
        REQUEST_CREATED,
        {
            "user_id": _ID,
            "attributes": {
                "type": "object",
                "maxProperties": 50,
                "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]{0,63}$"},
                "additionalProperties": _ATTRIBUTE_VALUE,
            },
            "documents": {"type": "array", "maxItems": 20, "items": _DOCUMENT},
            "test": {"type": "boolean"},
        },
        ["user_id", "attributes"],
    ),
    REQUEST_STATUS_CHANGED: _schema(
        REQUEST_STATUS_CHANGED,
        {
            "user_id": _ID,
            "partner_id": _ID,
            "partner_name": {"type": "string", "maxLength": 80},
            "status": {"enum": list(REQUEST_STATUSES)},
            "previous_status": {"enum": [None, *REQUEST_STATUSES]},
            "note": {"type": "string", "maxLength": 1000},
            "reference": {"type": "string", "maxLength": 200},
        },
        ["partner_id", "status"],
    ),
}

_PARTNER_EVENT_PROPERTIES = {
    "partner_id": _ID,
    "environment": _ENVIRONMENT,
    "occurred_at": _TIME,
    "schema_version": {"const": SCHEMA_VERSION},
    "actor": {"type": "string", "maxLength": 254},
    "reason": {"type": "string", "maxLength": 1000},
    # Partner events concern a partner, not a request; these stay empty strings so that every
    # detail on the bus has the same five fields (DESIGN.md, "Contracts").
    "request_id": {"const": ""},
    "request_type": {"const": ""},
}
for _detail_type in (PARTNER_APPROVED, PARTNER_SUSPENDED, PARTNER_ENVIRONMENT_CHANGED):
    SCHEMAS[_detail_type] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:marketplace:events:{_detail_type.lower().replace(' ', '-')}:v{SCHEMA_VERSION}",
        "title": _detail_type,
        "type": "object",
        "additionalProperties": False,
        "required": ["partner_id", *_REQUIRED],
        "properties": _PARTNER_EVENT_PROPERTIES,
    }

SOURCES: dict[str, str] = {
    REQUEST_CREATED: SOURCE_REQUESTS,
    REQUEST_STATUS_CHANGED: SOURCE_REQUESTS,
    PARTNER_APPROVED: SOURCE_PARTNERS,
    PARTNER_SUSPENDED: SOURCE_PARTNERS,
    PARTNER_ENVIRONMENT_CHANGED: SOURCE_PARTNERS,
}


@cache
def _validator(detail_type: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(SCHEMAS[detail_type], validate_formats=True)


def validate_detail(detail_type: str, detail: Mapping[str, Any]) -> None:
    """Check an event detail against its schema.

    Raises
    ------
    ContractViolationError: with every (field path, message), paths like `attributes.region`.
    KeyError: for a detail type that has no schema.
    """
    validator = _validator(detail_type)
    errors = sorted(validator.iter_errors(detail), key=lambda e: [str(p) for p in e.instance_path])
    if errors:
        raise ContractViolationError(
            detail_type,
            [(".".join(str(p) for p in e.instance_path), e.message) for e in errors],
        )


def put_events_entry(bus_name: str, detail_type: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """A validated `PutEvents` entry for `detail_type` on `bus_name`."""
    validate_detail(detail_type, detail)
    return {
        "EventBusName": bus_name,
        "Source": SOURCES[detail_type],
        "DetailType": detail_type,
        "Detail": json.dumps(detail, separators=(",", ":"), allow_nan=False),
    }


@dataclass(frozen=True)
class InputTransformer:
    """A rule target's input transformer: `InputPathsMap` and `InputTemplate`."""

    paths: Mapping[str, str]
    template: str

    def to_aws(self) -> dict[str, Any]:
        return {"InputPathsMap": dict(self.paths), "InputTemplate": self.template}


# Partner deliveries are CloudEvents 1.0 structured JSON. Placeholders stand outside quotes:
# EventBridge inserts string values quoted and objects as JSON, so `<id>` becomes "…" and
# `<detail>` the request's detail object.
#
# The CloudEvent `id` is the request id: a request is created once, so `Request Created`
# has one CloudEvent per request, and every later sending of it (EventBridge's retries, a
# resend, a DLQ redrive, an archive replay, a producer publishing twice) carries the same id
# for partners to de-duplicate on. EventBridge's event id would change with each of those,
# and an input transformer cannot fall back from a missing field to another, so the id is
# taken from a field every `Request Created` has (`request_id`, required by its schema)
# rather than from one producers would have to add. A type delivered later needs an id of
# its own (`source` + `id` are unique per distinct event, CloudEvents 1.0).
CLOUDEVENTS_TRANSFORMER = InputTransformer(
    paths={
        # Not `$.id`: EventBridge gives a resent or redriven event a new id (see above).
        "id": "$.detail.request_id",
        "time": "$.time",
        "detail": "$.detail",
        "request_id": "$.detail.request_id",
        "detail_type": "$.detail-type",
    },
    template=(
        '{"specversion":"1.0","id":<id>,"source":"urn:marketplace:requests",'
        '"type":"marketplace.request.created","subject":<request_id>,"time":<time>,'
        '"datacontenttype":"application/json","data":<detail>}'
    ),
)


def cloudevent_for(event: Mapping[str, Any]) -> dict[str, Any]:
    """The CloudEvent a partner receives for an EventBridge `event`, as AWS would render it.

    The reference rendering of `CLOUDEVENTS_TRANSFORMER`; tests and the console's delivery
    preview use it, the embedded stack renders the template itself like AWS does.
    """
    return {
        "specversion": "1.0",
        "id": event["detail"]["request_id"],
        "source": "urn:marketplace:requests",
        "type": "marketplace.request.created",
        "subject": event["detail"]["request_id"],
        "time": event["time"],
        "datacontenttype": "application/json",
        "data": event["detail"],
    }
