"""Request filters: which requests a partner environment receives, and their JSON form.

A filter is request types, then conditions on `detail.attributes`, ANDed. `parse_filter` reads
the JSON form with errors that name the field path; the routing package compiles a filter into
an EventBridge event pattern.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from partners.onboarding.exceptions import InvalidFilterError

MAX_REQUEST_TYPES = 50
MAX_CONDITIONS = 20
MAX_VALUES = 50
REQUEST_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
ATTRIBUTE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class Operator(enum.StrEnum):
    ANY_OF = "any_of"
    NONE_OF = "none_of"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    EQUALS_IGNORE_CASE = "equals_ignore_case"
    BETWEEN = "between"
    GREATER_THAN = "greater_than"
    LESS_THAN = "less_than"
    EXISTS = "exists"
    ABSENT = "absent"


ALL_REQUEST_TYPES = "*"


@dataclass(frozen=True)
class Condition:
    """One condition on `detail.attributes.<attribute>`; a filter ANDs its conditions."""

    attribute: str
    operator: Operator
    values: tuple[Any, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"attribute": self.attribute, "operator": self.operator.value,
                "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Condition:
        return cls(str(data["attribute"]), Operator(data["operator"]),
                   tuple(data.get("values") or ()))


@dataclass(frozen=True)
class RequestFilter:
    """Which requests a partner environment receives: request types, then conditions.

    JSON form: `{"request_types": ["stock.check"] or ["*"], "conditions": [{"attribute":
    "region", "operator": "prefix", "values": ["eu-"]}]}`.
    """

    request_types: tuple[str, ...] = (ALL_REQUEST_TYPES,)
    conditions: tuple[Condition, ...] = ()

    @property
    def matches_all_types(self) -> bool:
        return ALL_REQUEST_TYPES in self.request_types

    def to_dict(self) -> dict[str, Any]:
        return {"request_types": list(self.request_types),
                "conditions": [c.to_dict() for c in self.conditions]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RequestFilter:
        """Read the JSON form; `parse_filter` gives precise errors."""
        return parse_filter(data)


_NUMERIC_OPERATORS = {Operator.BETWEEN, Operator.GREATER_THAN, Operator.LESS_THAN}
_STRING_OPERATORS = {Operator.PREFIX, Operator.SUFFIX, Operator.EQUALS_IGNORE_CASE}
_VALUELESS_OPERATORS = {Operator.EXISTS, Operator.ABSENT}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_values(path: str, operator: Operator, values: list[Any]) -> None:
    if operator in _VALUELESS_OPERATORS:
        if values:
            raise InvalidFilterError(f"{operator.value} takes no values", field=path)
        return
    if not values:
        raise InvalidFilterError(f"{operator.value} needs at least one value", field=path)
    if len(values) > MAX_VALUES:
        raise InvalidFilterError(f"at most {MAX_VALUES} values", field=path)
    if operator is Operator.BETWEEN:
        if len(values) != 2 or not all(_is_number(v) for v in values):
            raise InvalidFilterError("between takes exactly two numbers: [low, high]", field=path)
        if values[0] > values[1]:
            raise InvalidFilterError("between needs low <= high", field=path)
    elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        if len(values) != 1 or not _is_number(values[0]):
            raise InvalidFilterError(f"{operator.value} takes exactly one number", field=path)
    elif operator in _STRING_OPERATORS:
        for i, value in enumerate(values):
            if not isinstance(value, str) or not value:
                raise InvalidFilterError(f"{operator.value} takes non-empty strings",
                                         field=f"{path}[{i}]")
    else:  # any_of, none_of
        for i, value in enumerate(values):
            if not (isinstance(value, str) or _is_number(value)):
                raise InvalidFilterError("values must be strings or numbers", field=f"{path}[{i}]")


def parse_condition(data: Any, path: str = "conditions[0]") -> Condition:
    """Read one condition of the JSON form, with errors naming the field path."""
    if not isinstance(data, Mapping):
        raise InvalidFilterError("a condition is an object", field=path)
    unknown = set(data) - {"attribute", "operator", "values"}
    if unknown:
        raise InvalidFilterError(f"unknown keys {sorted(unknown)}", field=path)
    attribute = data.get("attribute")
    if not isinstance(attribute, str) or not ATTRIBUTE_PATTERN.match(attribute):
        raise InvalidFilterError(
            "attribute must be a name of letters, digits and underscores (at most 64)",
            field=f"{path}.attribute",
        )
    try:
        operator = Operator(str(data.get("operator")))
    except ValueError:
        known = ", ".join(o.value for o in Operator)
        raise InvalidFilterError(
            f"unknown operator {data.get('operator')!r}; use one of {known}",
            field=f"{path}.operator",
        ) from None
    values = data.get("values", [])
    if not isinstance(values, list):
        raise InvalidFilterError("values must be a list", field=f"{path}.values")
    _check_values(f"{path}.values", operator, values)
    return Condition(attribute, operator, tuple(values))


def parse_filter(data: Any) -> RequestFilter:
    """Read a request filter's JSON form into a `RequestFilter`.

    Parameters
    ----------
    data: `{"request_types": [...], "conditions": [...]}` (both optional: all types, no
        conditions).

    Returns
    -------
    The filter, with request types de-duplicated in their given order.

    Raises
    ------
    InvalidFilterError: naming the field path (`request_types[2]`, `conditions[0].values`).
    """
    if isinstance(data, RequestFilter):
        return data
    if not isinstance(data, Mapping):
        raise InvalidFilterError("a filter is an object", field="filter")
    unknown = set(data) - {"request_types", "conditions"}
    if unknown:
        raise InvalidFilterError(f"unknown keys {sorted(unknown)}", field="filter")
    types = data.get("request_types", [ALL_REQUEST_TYPES])
    if not isinstance(types, list) or not types:
        raise InvalidFilterError("request_types must be a non-empty list", field="request_types")
    if len(types) > MAX_REQUEST_TYPES:
        raise InvalidFilterError(f"at most {MAX_REQUEST_TYPES} request types",
                                 field="request_types")
    for i, request_type in enumerate(types):
        if request_type == ALL_REQUEST_TYPES:
            if len(types) != 1:
                raise InvalidFilterError('"*" (all request types) must stand alone',
                                         field=f"request_types[{i}]")
        elif not isinstance(request_type, str) or not REQUEST_TYPE_PATTERN.match(request_type):
            raise InvalidFilterError(
                "a request type is lower-case letters, digits, '.', '_' or '-' (at most 64)",
                field=f"request_types[{i}]",
            )
    conditions = data.get("conditions", [])
    if not isinstance(conditions, list):
        raise InvalidFilterError("conditions must be a list", field="conditions")
    if len(conditions) > MAX_CONDITIONS:
        raise InvalidFilterError(f"at most {MAX_CONDITIONS} conditions", field="conditions")
    parsed = tuple(parse_condition(c, f"conditions[{i}]") for i, c in enumerate(conditions))
    return RequestFilter(tuple(dict.fromkeys(types)), parsed)
