"""Template filters: dates, JSON, auth types and request filters people can read."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from partners.core.clock import parse_iso
from partners.onboarding import AuthType, InvalidFilterError
from partners.routing import describe_filter

# How the console names each connection authorisation type (AWS's enum names are for AWS).
AUTH_LABELS: dict[str, str] = {
    AuthType.API_KEY.value: "API key",
    AuthType.BASIC.value: "Basic",
    AuthType.OAUTH_CLIENT_CREDENTIALS.value: "OAuth client credentials",
}


def when(value: Any) -> str:
    """`2026-11-23T10:00:00Z` -> `2026-11-23 10:00 UTC`; empty for nothing."""
    if not value:
        return ""
    try:
        return parse_iso(str(value)).strftime("%Y-%m-%d %H:%M UTC")
    except ValueError:
        return str(value)


def day(value: Any) -> str:
    return when(value)[:10]


def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def auth_label(value: Any) -> str:
    """`API_KEY` (or an `AuthType`) -> `API key`; empty for nothing."""
    if value is None or value == "":
        return ""
    key = getattr(value, "value", value)
    return AUTH_LABELS.get(str(key), str(key))


def filter_sentence(value: Any) -> str:
    """A request filter (or its JSON form) as a sentence: `Request type x; region starts
    with eu-`. A filter that no longer parses is shown as its JSON, never hidden."""
    if value is None:
        return ""
    try:
        return describe_filter(value)
    except (InvalidFilterError, TypeError, ValueError, KeyError):
        data = value.to_dict() if hasattr(value, "to_dict") else value
        return json.dumps(data, sort_keys=True, default=str)


def register(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(pretty_json, "json")
    app.add_template_filter(auth_label)
    app.add_template_filter(filter_sentence)
