"""Filters, mismatches and connection states in words, for people: what the console shows.

`describe_filter` says what a request filter takes (`Request types stock.check; region
starts with eu-`); `mismatch_reason` says why an event's field fails a filter, naming the
field and its value (`request_type is "price.quote"; the filter takes stock.check`);
`connection_waiting_reason` and `connection_refused_reason` say why an environment's
connection holds its routing back (EventBridge's connection states, eb-target-connection).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

from partners.core.constants import ADDRESSED_TO
from partners.onboarding import Condition, Operator, RequestFilter, parse_filter

ATTRIBUTES_PREFIX = "attributes."

_OPERATOR_WORDS: dict[Operator, str] = {
    Operator.ANY_OF: "is {values}",
    Operator.NONE_OF: "is not {values}",
    Operator.PREFIX: "starts with {values}",
    Operator.SUFFIX: "ends with {values}",
    Operator.EQUALS_IGNORE_CASE: "equals {values} (any case)",
    Operator.BETWEEN: "is between {0} and {1}",
    Operator.GREATER_THAN: "is greater than {0}",
    Operator.LESS_THAN: "is less than {0}",
    Operator.EXISTS: "is present",
    Operator.ABSENT: "is absent",
}


def _word(value: Any) -> str:
    """A filter value as written: bare strings bare, anything else (or odd strings) as JSON."""
    if isinstance(value, str) and value and value == value.strip():
        return value
    return json.dumps(value)


def _alternatives(values: Iterable[Any]) -> str:
    words = [_word(v) for v in values]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def describe_condition(condition: Condition) -> str:
    """One condition in words: `region starts with eu-`, `qty is between 1 and 10`."""
    template = _OPERATOR_WORDS[condition.operator]
    values = condition.values
    return f"{condition.attribute} " + template.format(
        *[_word(v) for v in values], values=_alternatives(values) if values else "")


def describe_types(request_filter: RequestFilter) -> str:
    """The filter's request types in words: `All request types`, `Request type x`."""
    if request_filter.matches_all_types:
        return "All request types"
    kind = "Request type" if len(request_filter.request_types) == 1 else "Request types"
    return f"{kind} {', '.join(request_filter.request_types)}"


def describe_filter(request_filter: RequestFilter | Mapping[str, Any]) -> str:
    """A filter as a sentence: `Request types stock.check; region starts with eu-`.

    Parameters
    ----------
    request_filter: a `RequestFilter` or its JSON form.

    Returns
    -------
    The request types (or "All request types"), then each condition, `; `-separated.

    Raises
    ------
    InvalidFilterError: the filter is not valid.
    """
    parsed = parse_filter(request_filter)
    return "; ".join([describe_types(parsed)] + [describe_condition(c)
                                                 for c in parsed.conditions])


_MISSING = object()


def _field_value(detail: Mapping[str, Any], field: str) -> Any:
    if field.startswith(ATTRIBUTES_PREFIX):
        attributes = detail.get("attributes") or {}
        return attributes.get(field[len(ATTRIBUTES_PREFIX):], _MISSING)
    return detail.get(field, _MISSING)


def mismatch_reason(field: str, detail: Mapping[str, Any],
                    request_filter: RequestFilter | Mapping[str, Any], environment: str) -> str:
    """Why `detail`'s `field` fails a partner environment's filter, in one clause.

    Parameters
    ----------
    field: the failing field of the event's detail: `environment`, `request_type`,
        `attributes.<name>` or `addressed_to`.
    detail: the `Request Created` detail.
    request_filter: the environment's filter.
    environment: the environment's name.

    Returns
    -------
    `<field> is <value>; <what the filter takes>` (or `<field> is missing; ...`).
    """
    parsed = parse_filter(request_filter)
    value = _field_value(detail, field)
    shown = "missing" if value is _MISSING else f"is {json.dumps(value, default=str)}"
    if field.startswith(ATTRIBUTES_PREFIX):
        name = field[len(ATTRIBUTES_PREFIX):]
        needs = " and ".join(describe_condition(c) for c in parsed.conditions
                             if c.attribute == name) or f"{name} to match"
        return f"{field} {shown}; the filter needs {needs}"
    if field == "request_type":
        takes = ", ".join(parsed.request_types)
        return f"request_type {shown}; the filter takes {takes}"
    if field == "environment":
        return f"environment {shown}; this environment takes only {environment}"
    if field == ADDRESSED_TO:
        return f"{ADDRESSED_TO} {shown}; it is addressed to another partner"
    return f"{field} {shown}; the filter does not take it"


# What the partner reads while EventBridge authorises the endpoint's connection, and when it
# could not (an OAuth token endpoint refused the client credentials, or a deauthorization).
CONNECTION_WAITING = "waiting for the connection to be authorised"
CONNECTION_REFUSED = ("the endpoint's token service refused the credentials (connection "
                      "deauthorized)")
CONNECTION_FIX = "set them again in the console"
# States of a connection that EventBridge will not authorise again by itself.
REFUSED_CONNECTION_STATES = frozenset({"DEAUTHORIZED", "DEAUTHORIZING", "FAILED_CONNECTIVITY"})
STATE_REASON_WORDS = 300  # characters of EventBridge's StateReason shown


def connection_waiting_reason(state: str) -> str:
    """Why routing waits: `waiting for the connection to be authorised (AUTHORIZING); ...`.

    Parameters
    ----------
    state: the connection's ConnectionState (CREATING, UPDATING, AUTHORIZING, ...).

    Returns
    -------
    The reason of the environment's `pending` status.
    """
    shown = f" ({state})" if state else ""
    return f"{CONNECTION_WAITING}{shown}; the next run goes on once it is"


def connection_refused_reason(state_reason: str) -> str:
    """Why routing failed: the refusal and what the token endpoint answered (StateReason).

    Parameters
    ----------
    state_reason: the connection's StateReason, e.g. `authorization endpoint answered 401:
        {"error": "invalid_client"}` (EventBridge's, which holds no secret).

    Returns
    -------
    The reason of the environment's `error` status.
    """
    answer = " ".join(state_reason.split())[:STATE_REASON_WORDS]
    return f"{CONNECTION_REFUSED}: {answer}; {CONNECTION_FIX}" if answer else \
        f"{CONNECTION_REFUSED}; {CONNECTION_FIX}"
