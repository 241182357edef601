"""The filter editor's rows <-> a request filter's JSON form (pure, no Flask)."""

from __future__ import annotations

import json
import re
from typing import Any

from partners.onboarding import Operator, RequestFilter

_NUMERIC = {Operator.GREATER_THAN.value, Operator.LESS_THAN.value, Operator.BETWEEN.value}
_VALUELESS = {Operator.EXISTS.value, Operator.ABSENT.value}
_NUMBER = re.compile(r"^-?\d+(\.\d+)?([eE][-+]?\d+)?$")
FIELD_PATH = re.compile(r"^conditions\[(\d+)\](?:\.(attribute|operator|values))?")


class RowError(ValueError):
    """A row's values cannot be read; `row` and `field` say where."""

    def __init__(self, row: int, field: str, message: str):
        super().__init__(message)
        self.row = row
        self.field = field
        self.message = message


def split_values(text: str) -> list[str]:
    """Comma-separated values; a value in double quotes may hold commas."""
    values, current, quoted = [], "", False
    for char in text or "":
        if char == '"':
            quoted = not quoted
            current += char
        elif char == "," and not quoted:
            values.append(current.strip())
            current = ""
        else:
            current += char
    if current.strip():
        values.append(current.strip())
    return [v for v in values if v]


def _number(text: str) -> int | float | None:
    if not _NUMBER.match(text):
        return None
    value = float(text)
    return int(value) if value.is_integer() and "." not in text and "e" not in text.lower() else value


def read_value(text: str, operator: str) -> Any:
    """One typed value: numbers stay numbers unless quoted (`"10"` is the string 10)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    number = _number(text)
    if operator in _NUMERIC:
        return number if number is not None else text
    if operator in (Operator.ANY_OF.value, Operator.NONE_OF.value) and number is not None:
        return number
    return text


def rows_to_filter(request_types: str, rows: list[dict[str, str]]) -> tuple[
        dict[str, Any], list[int], list[RowError]]:
    """The filter's JSON form from the editor, which form row each condition came from, and
    every row that cannot be read (left out of the filter, so the others are still checked).

    Blank rows (no attribute and no operator) are skipped.
    """
    types = [t.strip() for t in (request_types or "").split(",") if t.strip()]
    conditions: list[dict[str, Any]] = []
    origin: list[int] = []
    errors: list[RowError] = []
    for index, row in enumerate(rows):
        attribute = (row.get("attribute") or "").strip()
        operator = (row.get("operator") or "").strip()
        if not attribute and not operator:
            continue
        if not operator:
            errors.append(RowError(index, "operator", "Choose an operator."))
            continue
        if not attribute:
            errors.append(RowError(index, "attribute", "Name the attribute."))
            continue
        values = [] if operator in _VALUELESS else [
            read_value(v, operator) for v in split_values(row.get("values") or "")]
        conditions.append({"attribute": attribute, "operator": operator, "values": values})
        origin.append(index)
    return {"request_types": types, "conditions": conditions}, origin, errors


def _show(value: Any) -> str:
    if isinstance(value, str) and (_NUMBER.match(value) or "," in value):
        return json.dumps(value)
    return str(value)


def filter_to_rows(request_filter: RequestFilter) -> tuple[str, list[dict[str, str]]]:
    """The editor's text for a stored filter."""
    rows = [{"attribute": c.attribute, "operator": c.operator.value,
             "values": ", ".join(_show(v) for v in c.values)}
            for c in request_filter.conditions]
    return ", ".join(request_filter.request_types), rows


def locate(field: str | None, origin: list[int]) -> tuple[int | None, str]:
    """Map a validation error's field path (`conditions[1].values[0]`) to (form row, field)."""
    match = FIELD_PATH.match(field or "")
    if not match:
        return None, "request_types" if (field or "").startswith("request_types") else ""
    condition = int(match.group(1))
    row = origin[condition] if condition < len(origin) else None
    return row, match.group(2) or "attribute"
