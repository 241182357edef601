"""Render a rule target's input the way EventBridge does (Input, InputPath, InputTransformer).

moto renders input templates by plain text substitution, so a string value outside quotes
comes out bare (`{"state": running}`, not JSON). EventBridge instead inserts a value standing
outside quotes as a JSON value (strings quoted), and one standing inside a JSON string as raw
text. This module follows the AWS documentation pages "Amazon EventBridge input
transformation" (eb-transform-target-input) and the API reference of `InputTransformer`
and `Target` (`Input`, `InputPath`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Mapping

# Predefined variables (reserved names; a user variable cannot take them).
RULE_ARN = "aws.events.rule-arn"
RULE_NAME = "aws.events.rule-name"
INGESTION_TIME = "aws.events.event.ingestion-time"
EVENT = "aws.events.event"
EVENT_JSON = "aws.events.event.json"

_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.\-]+)>")
_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\d+|\*)\]")


class _Missing:
    """A JSON path that the event does not have."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class InputPathError(ValueError):
    """A JSON path outside the syntax EventBridge supports."""


@dataclass(frozen=True)
class RuleContext:
    """What the predefined variables of a template are made of."""

    rule_name: str
    rule_arn: str
    ingestion_time: str


def extract_path(event: Any, path: str) -> Any:
    """The value at JSON path `path` (`$`, `$.detail.id`, `$.resources[0]`, `$.a.*`).

    EventBridge supports dot notation, array indices and wildcards; a path that does not
    resolve gives `MISSING`.

    Raises:
        InputPathError: `path` does not start with `$` or has a token outside that syntax.
    """
    path = path.strip()
    if not path.startswith("$"):
        raise InputPathError(f"JSON path {path!r} must start with '$'")
    rest, position, values = path[1:], 0, [event]
    wildcard = False
    while position < len(rest):
        match = _PATH_TOKEN.match(rest, position)
        if match is None:
            raise InputPathError(f"JSON path {path!r} is not supported at {rest[position:]!r}")
        position = match.end()
        key, index = match.group(1), match.group(2)
        next_values: list[Any] = []
        for value in values:
            if key == "*" or index == "*":
                wildcard = True
                if isinstance(value, dict):
                    next_values.extend(value.values())
                elif isinstance(value, list):
                    next_values.extend(value)
            elif key is not None:
                if isinstance(value, dict) and key in value:
                    next_values.append(value[key])
            else:
                position_index = int(index)
                if isinstance(value, list) and position_index < len(value):
                    next_values.append(value[position_index])
        values = next_values
    if wildcard:
        return values
    return values[0] if values else MISSING


def _as_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _outside_quotes(value: Any) -> str:
    """A value standing where a JSON value goes: strings quoted, objects as JSON."""
    return "null" if value is MISSING else _as_json(value)


def _inside_quotes(value: Any) -> str:
    """A value standing inside a JSON string: raw text, not escaped (as EventBridge does).

    Objects and arrays lose their inner quotes, so the string stays a valid JSON string.
    """
    if value is MISSING or value is None:
        return "" if value is MISSING else "null"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return _as_json(value).replace('"', "")
    return _as_json(value)


def resolve_variables(paths: Mapping[str, str], event: Mapping[str, Any],
                      context: RuleContext) -> dict[str, Any]:
    """Every variable a template can use: the `InputPathsMap` ones and the predefined ones."""
    variables: dict[str, Any] = {name: extract_path(event, path) for name, path in paths.items()}
    variables.update({
        RULE_ARN: context.rule_arn,
        RULE_NAME: context.rule_name,
        INGESTION_TIME: context.ingestion_time,
        EVENT: {k: v for k, v in event.items() if k != "detail"},
        EVENT_JSON: dict(event),
    })
    return variables


def render_template(template: str, variables: Mapping[str, Any]) -> str:
    """Fill `template`'s `<name>` placeholders with AWS semantics.

    A JSON template (one that starts with `{`, `[` or `"`) is read with its string
    literals in mind: a placeholder outside quotes becomes a JSON value, one inside quotes
    raw text. Any other template is text, and every value goes in raw. A placeholder that
    names no variable stays as it is.
    """
    stripped = template.lstrip()
    json_mode = bool(stripped) and stripped[0] in "{[\""
    out: list[str] = []
    in_string = False
    position = 0
    while position < len(template):
        char = template[position]
        if char == "<":
            match = _PLACEHOLDER.match(template, position)
            if match and match.group(1) in variables:
                value = variables[match.group(1)]
                if json_mode and not in_string:
                    out.append(_outside_quotes(value))
                else:
                    out.append(_inside_quotes(value))
                position = match.end()
                continue
        if json_mode:
            if char == "\\" and in_string and position + 1 < len(template):
                out.append(template[position:position + 2])
                position += 2
                continue
            if char == '"':
                in_string = not in_string
        out.append(char)
        position += 1
    return "".join(out)


def render_input(target: Mapping[str, Any], event: Mapping[str, Any],
                 context: RuleContext) -> str:
    """The text EventBridge sends to `target` for `event` (the target's Input settings).

    `Input` is sent as it is; `InputPath` sends the JSON at that path; `InputTransformer`
    renders its template; with none of them the whole event goes as JSON.
    """
    if target.get("Input") is not None:
        return str(target["Input"])
    if target.get("InputPath"):
        value = extract_path(event, target["InputPath"])
        return _outside_quotes(value)
    transformer = target.get("InputTransformer")
    if transformer:
        variables = resolve_variables(transformer.get("InputPathsMap") or {}, event, context)
        return render_template(transformer["InputTemplate"], variables)
    return _as_json(event)
