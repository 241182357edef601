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
# How a partner reads each operator (the console's words); messages quote these.
OPERATOR_WORDS = {
    Operator.ANY_OF: "is one of", Operator.NONE_OF: "is none of",
    Operator.PREFIX: "starts with", Operator.SUFFIX: "ends with",
    Operator.EQUALS_IGNORE_CASE: "equals (ignoring case)", Operator.BETWEEN: "between",
    Operator.GREATER_THAN: "greater than", Operator.LESS_THAN: "less than",
    Operator.EXISTS: "is present", Operator.ABSENT: "is absent",
}
Problems = list[InvalidFilterError]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _value_problems(path: str, operator: Operator, values: list[Any]) -> Problems:
    words = OPERATOR_WORDS[operator]
    if operator in _VALUELESS_OPERATORS:
        return [InvalidFilterError(f"'{words}' takes no values; leave them empty.",
                                   field=path)] if values else []
    if not values:
        return [InvalidFilterError(f"Enter at least one value for '{words}'.", field=path)]
    if len(values) > MAX_VALUES:
        return [InvalidFilterError(f"Enter at most {MAX_VALUES} values; this condition has "
                                   f"{len(values)}.", field=path)]
    if operator is Operator.BETWEEN:
        if len(values) != 2 or not all(_is_number(v) for v in values):
            return [InvalidFilterError("Enter two numbers for 'between', the lower one first "
                                       "(e.g. 10, 20).", field=path)]
        if values[0] > values[1]:
            return [InvalidFilterError("Put the lower number first for 'between' (e.g. 10, 20).",
                                       field=path)]
        return []
    if operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        if len(values) != 1 or not _is_number(values[0]):
            return [InvalidFilterError(f"Enter one number for '{words}'.", field=path)]
        return []
    if operator in _STRING_OPERATORS:
        return [InvalidFilterError(f"Enter non-empty text for '{words}'.", field=f"{path}[{i}]")
                for i, value in enumerate(values) if not isinstance(value, str) or not value]
    return [InvalidFilterError("Each value is text or a number.", field=f"{path}[{i}]")
            for i, value in enumerate(values) if not (isinstance(value, str) or _is_number(value))]


def _condition(data: Any, path: str) -> tuple[Condition | None, Problems]:
    """One condition of the JSON form and every problem in it."""
    if not isinstance(data, Mapping):
        return None, [InvalidFilterError("A condition is an object (attribute, operator, "
                                         "values).", field=path)]
    unknown = set(data) - {"attribute", "operator", "values"}
    if unknown:
        return None, [InvalidFilterError(f"unknown keys {sorted(unknown)}", field=path)]
    problems: Problems = []
    attribute = data.get("attribute")
    if not isinstance(attribute, str) or not ATTRIBUTE_PATTERN.match(attribute):
        problems.append(InvalidFilterError(
            "An attribute name is letters, digits and underscores (at most 64), not starting "
            "with a digit.", field=f"{path}.attribute"))
    operator = None
    try:
        operator = Operator(str(data.get("operator")))
    except ValueError:
        known = ", ".join(o.value for o in Operator)
        problems.append(InvalidFilterError(
            f"unknown operator {data.get('operator')!r}; use one of {known}",
            field=f"{path}.operator"))
    values = data.get("values", [])
    if not isinstance(values, list):
        problems.append(InvalidFilterError("values must be a list", field=f"{path}.values"))
    elif operator is not None:
        problems.extend(_value_problems(f"{path}.values", operator, values))
    if problems or operator is None or not isinstance(values, list):
        return None, problems
    return Condition(str(attribute), operator, tuple(values)), []


def _raise(problems: Problems) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise InvalidFilterError("; ".join(f"{p.field}: {p.message}" for p in problems),
                                 field=problems[0].field, errors=problems)


def parse_condition(data: Any, path: str = "conditions[0]") -> Condition:
    """Read one condition of the JSON form, with errors naming the field path (`errors`
    lists every problem of the condition)."""
    condition, problems = _condition(data, path)
    _raise(problems)
    assert condition is not None  # no problem: a condition
    return condition


def _type_problems(types: Any) -> Problems:
    if not isinstance(types, list) or not types:
        return [InvalidFilterError("Choose at least one request type, or * for every type.",
                                   field="request_types")]
    if len(types) > MAX_REQUEST_TYPES:
        return [InvalidFilterError(f"Choose at most {MAX_REQUEST_TYPES} request types; this "
                                   f"filter has {len(types)}.", field="request_types")]
    problems: Problems = []
    for i, request_type in enumerate(types):
        if request_type == ALL_REQUEST_TYPES:
            if len(types) != 1:
                problems.append(InvalidFilterError(
                    '"*" (every request type) must stand alone: remove it or the other types.',
                    field=f"request_types[{i}]"))
        elif not isinstance(request_type, str) or not REQUEST_TYPE_PATTERN.match(request_type):
            problems.append(InvalidFilterError(
                f"{str(request_type)[:64]!r} is not a request type: use lower-case letters, "
                "digits, '.', '_' or '-' (at most 64).", field=f"request_types[{i}]"))
    return problems


def parse_filter(data: Any) -> RequestFilter:
    """Read a request filter's JSON form into a `RequestFilter`.

    Every problem is collected, not only the first: the error's `errors` lists each with its
    field path, so a form shows them all at once.

    Parameters
    ----------
    data: `{"request_types": [...], "conditions": [...]}` (both optional: all types, no
        conditions).

    Returns
    -------
    The filter, with request types de-duplicated in their given order.

    Raises
    ------
    InvalidFilterError: naming the field path (`request_types[2]`, `conditions[0].values`)
        of the first problem; `errors` lists every problem.
    """
    if isinstance(data, RequestFilter):
        return data
    if not isinstance(data, Mapping):
        raise InvalidFilterError("a filter is an object", field="filter")
    unknown = set(data) - {"request_types", "conditions"}
    if unknown:
        raise InvalidFilterError(f"unknown keys {sorted(unknown)}", field="filter")
    types = data.get("request_types", [ALL_REQUEST_TYPES])
    problems = _type_problems(types)
    conditions = data.get("conditions", [])
    parsed: list[Condition] = []
    if not isinstance(conditions, list):
        problems.append(InvalidFilterError("conditions must be a list", field="conditions"))
    elif len(conditions) > MAX_CONDITIONS:
        # Refused whole: saving the first ones would silently drop the rest.
        problems.append(InvalidFilterError(
            f"A filter takes at most {MAX_CONDITIONS} conditions; this one has "
            f"{len(conditions)}. Remove {len(conditions) - MAX_CONDITIONS}, or merge "
            f"conditions on one attribute ('is one of' takes up to {MAX_VALUES} values).",
            field="conditions"))
    else:
        for i, item in enumerate(conditions):
            condition, found = _condition(item, f"conditions[{i}]")
            problems.extend(found)
            if condition is not None:
                parsed.append(condition)
    _raise(problems)
    return RequestFilter(tuple(dict.fromkeys(types)), tuple(parsed))
