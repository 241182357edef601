"""Compile a partner's request filter into an EventBridge event pattern.

The pattern matches `Request Created` events from `marketplace.requests` in one environment,
of the filter's request types, whose `detail.attributes` satisfy every condition. Given a
partner id it also matches only events addressed to nobody or to that partner
(`detail.addressed_to`), so a test event or a redelivery reaches exactly one partner.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any, Mapping

from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED, SOURCE_REQUESTS
from partners.onboarding import (
    Condition,
    InvalidFilterError,
    Operator,
    RequestFilter,
    parse_filter,
    validate_environment_name,
)

MAX_PATTERN_LENGTH = 2048  # EventBridge's limit on a rule's event pattern, in characters

_NUMERIC_BOUNDS = {
    Operator.GREATER_THAN: lambda values: [">", values[0]],
    Operator.LESS_THAN: lambda values: ["<", values[0]],
    Operator.BETWEEN: lambda values: [">=", values[0], "<=", values[1]],
}


def _matchers(condition: Condition) -> list[Any]:
    """The EventBridge filter list for one (non-numeric) condition."""
    values = list(condition.values)
    match condition.operator:
        case Operator.ANY_OF:
            return values
        case Operator.NONE_OF:
            return [{"anything-but": values}]
        case Operator.PREFIX:
            return [{"prefix": value} for value in values]
        case Operator.SUFFIX:
            return [{"suffix": value} for value in values]
        case Operator.EQUALS_IGNORE_CASE:
            return [{"equals-ignore-case": value} for value in values]
        case Operator.EXISTS:
            return [{"exists": True}]
        case Operator.ABSENT:
            return [{"exists": False}]
    raise InvalidFilterError(f"unknown operator {condition.operator!r}", field="operator")


def _numeric_matcher(attribute: str, conditions: list[Condition]) -> list[Any]:
    """One `numeric` filter ANDing every bound on `attribute` (EventBridge keys are unique)."""
    bounds: list[Any] = []
    for condition in conditions:
        bounds += _NUMERIC_BOUNDS[condition.operator](condition.values)
    return [{"numeric": bounds}]


def _attributes_pattern(conditions: tuple[Condition, ...]) -> dict[str, list[Any]]:
    by_attribute: dict[str, list[Condition]] = defaultdict(list)
    for condition in conditions:
        by_attribute[condition.attribute].append(condition)
    pattern: dict[str, list[Any]] = {}
    for attribute, group in by_attribute.items():
        if all(c.operator in _NUMERIC_BOUNDS for c in group):
            pattern[attribute] = _numeric_matcher(attribute, group)
        elif len(group) == 1:
            pattern[attribute] = _matchers(group[0])
        else:
            operators = ", ".join(c.operator.value for c in group)
            raise InvalidFilterError(
                f"attribute {attribute!r} has conditions ({operators}) that one event pattern "
                "cannot AND together; only numeric bounds combine",
                field="conditions",
            )
    return pattern


def compile_event_pattern(
    request_filter: RequestFilter | Mapping[str, Any],
    environment: str,
    *,
    partner_id: str | None = None,
) -> dict[str, Any]:
    """Compile a request filter into an EventBridge event pattern.

    Parameters
    ----------
    request_filter: a `RequestFilter` or its JSON form.
    environment: the partner environment; the pattern matches only `detail.environment`.
    partner_id: when given, the pattern also requires `detail.addressed_to` to be absent or
        this partner's id.

    Returns
    -------
    The pattern as a dict (serialise with `pattern_json`).

    Raises
    ------
    InvalidFilterError: for what EventBridge would refuse: unknown operators, empty value
        lists, conditions it cannot combine, a pattern over 2,048 characters.
    """
    parsed = parse_filter(request_filter)
    validate_environment_name(environment)
    detail: dict[str, Any] = {"environment": [environment]}
    if not parsed.matches_all_types:
        detail["request_type"] = list(parsed.request_types)
    if parsed.conditions:
        detail["attributes"] = _attributes_pattern(parsed.conditions)
    if partner_id is not None:
        detail[ADDRESSED_TO] = [{"exists": False}, partner_id]
    pattern = {"source": [SOURCE_REQUESTS], "detail-type": [REQUEST_CREATED], "detail": detail}
    length = len(pattern_json(pattern))
    if length > MAX_PATTERN_LENGTH:
        raise InvalidFilterError(
            f"the compiled event pattern is {length} characters; EventBridge allows "
            f"{MAX_PATTERN_LENGTH}. Use fewer request types or values",
            field="filter",
        )
    return pattern


def pattern_json(pattern: Mapping[str, Any]) -> str:
    """The canonical JSON text of a pattern: what a rule stores and what its hash covers."""
    return json.dumps(pattern, separators=(",", ":"), sort_keys=True)
