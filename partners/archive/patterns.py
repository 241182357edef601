"""The operator's event pattern of a replay, and its combination with a rule's pattern.

`StartReplay` has no event filter, so a replay restricted by a pattern goes through temporary
rules whose pattern is the original rule's AND the operator's (`partners.archive.replay`).
EventBridge ANDs the fields of one pattern, so most pairs combine into one pattern; the pairs
that cannot are refused before anything is created.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from partners.archive.exceptions import InvalidReplayError


def parse_pattern(text: str | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The operator's event pattern (JSON text or a mapping), or None.

    Raises
    ------
    InvalidReplayError: not a JSON object of fields whose leaves are lists.
    """
    if text is None or text == "":
        return None
    if isinstance(text, str):
        try:
            pattern = json.loads(text)
        except ValueError:
            raise InvalidReplayError("the pattern is not valid JSON", field="pattern") from None
    else:
        pattern = dict(text)
    if not isinstance(pattern, dict) or not pattern:
        raise InvalidReplayError("the pattern must be a non-empty JSON object",
                                 field="pattern")
    _check_pattern(pattern, "pattern")
    return pattern


def _check_pattern(node: Mapping[str, Any], path: str) -> None:
    for key, value in node.items():
        where = f"{path}.{key}"
        if key == "$or":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise InvalidReplayError(f"{where} must be a list of objects", field="pattern")
            for option in value:
                _check_pattern(option, where)
        elif isinstance(value, dict):
            _check_pattern(value, where)
        elif not isinstance(value, list) or not value:
            raise InvalidReplayError(f"{where} must be a non-empty list of values or "
                                     "matchers", field="pattern")


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def combine_patterns(rule_pattern: Mapping[str, Any], extra: Mapping[str, Any],
                     *, rule_name: str = "") -> dict[str, Any]:
    """The pattern matching events that match both `rule_pattern` and `extra`.

    EventBridge ANDs the fields of one pattern, so fields of only one side are copied. A field
    on both sides must be a nested object on both (combined recursively) or a list of plain
    values on both (their intersection); anything else cannot be expressed as one pattern.

    Raises
    ------
    InvalidReplayError: the two cannot be combined, or they match nothing together.
    """
    combined: dict[str, Any] = {key: value for key, value in rule_pattern.items()}
    for key, value in extra.items():
        if key not in combined:
            combined[key] = value
            continue
        mine = combined[key]
        if isinstance(mine, dict) and isinstance(value, dict):
            combined[key] = combine_patterns(mine, value, rule_name=rule_name)
        elif (isinstance(mine, list) and isinstance(value, list)
              and all(map(_scalar, mine)) and all(map(_scalar, value))):
            common = [v for v in mine if v in value]
            if not common:
                raise InvalidReplayError(
                    f"the pattern's {key!r} excludes every event of rule {rule_name}",
                    field="pattern")
            combined[key] = common
        else:
            raise InvalidReplayError(
                f"the pattern's {key!r} cannot be combined with rule {rule_name}'s "
                f"{key!r} (only plain values or nested fields combine)", field="pattern")
    return combined
