"""The bus's event schemas as the EventBridge schema registry stores them.

The registry takes OpenAPI 3 or JSON Schema Draft 4 documents describing the whole event
(envelope and detail), while `partners.core.contracts.SCHEMAS` holds Draft 2020-12 schemas of the
detail alone. This module wraps each detail schema in the event envelope and rewrites the
few keywords Draft 4 spells differently, so the registry (and code bindings generated from it)
describe exactly the events producers validate before `PutEvents`.
"""

from __future__ import annotations

from typing import Any

from partners.core.contracts import SCHEMAS, SOURCES

DRAFT4 = "http://json-schema.org/draft-04/schema#"
REGISTRY_SCHEMA_TYPE = "JSONSchemaDraft4"


def to_draft4(schema: Any) -> Any:
    """Rewrite a Draft 2020-12 (sub)schema into Draft 4: `const` -> `enum`, `$id` -> `id`.

    Keywords Draft 4 lacks but ignores (`propertyNames`) are kept: a Draft 4 validator
    skips them, which loosens, never tightens, the published contract.
    """
    if isinstance(schema, list):
        return [to_draft4(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    converted: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$schema":
            converted[key] = DRAFT4
        elif key == "$id":
            converted["id"] = value
        elif key == "const":
            converted["enum"] = [value]
        elif key == "properties":
            converted[key] = {name: to_draft4(sub) for name, sub in value.items()}
        else:
            converted[key] = to_draft4(value)
    return converted


def schema_name(detail_type: str) -> str:
    """Registry name of a detail type's schema, AWS's `<source>@<DetailType>` convention."""
    return f"{SOURCES[detail_type]}@{detail_type.replace(' ', '')}"


def registry_schema(detail_type: str) -> dict[str, Any]:
    """The whole-event Draft 4 schema of `detail_type` for the schema registry."""
    detail = to_draft4(SCHEMAS[detail_type])
    detail.pop("$schema", None)
    return {
        "$schema": DRAFT4,
        "title": detail_type,
        "type": "object",
        "required": ["detail-type", "source", "detail"],
        "properties": {
            "version": {"type": "string"},
            "id": {"type": "string"},
            "detail-type": {"type": "string", "enum": [detail_type]},
            "source": {"type": "string", "enum": [SOURCES[detail_type]]},
            "account": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "region": {"type": "string"},
            "resources": {"type": "array", "items": {"type": "string"}},
            "detail": detail,
        },
    }
