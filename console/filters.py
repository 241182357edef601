"""Template filters: dates people can read, JSON people can read."""

from __future__ import annotations

import json
from typing import Any

from flask import Flask

from partners.core.clock import parse_iso


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


def register(app: Flask) -> None:
    app.add_template_filter(when)
    app.add_template_filter(day)
    app.add_template_filter(pretty_json, "json")
