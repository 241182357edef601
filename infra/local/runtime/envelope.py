"""The event envelope as EventBridge delivers it, made from the one moto builds.

moto keeps `time` as epoch seconds and adds an internal `ingestion-time`; AWS sends `time`
in ISO 8601 (`2026-11-23T10:00:00Z`) and no ingestion time (AWS documentation: "Amazon
EventBridge events", eb-events-structure).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Mapping

ENVELOPE_KEYS = ("version", "id", "detail-type", "source", "account", "time", "region",
                 "resources", "detail")


def iso_time(value: Any) -> str:
    """ISO 8601 UTC with `Z` for an epoch number, a numeric string or an ISO string."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        moment = datetime.fromtimestamp(float(value), tz=timezone.utc)
    elif isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            moment = datetime.fromtimestamp(float(text), tz=timezone.utc)
        except ValueError:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=timezone.utc)
    else:
        moment = datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_event(moto_event: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The AWS-shaped event and its ingestion time (ISO 8601) for a moto event message."""
    event: dict[str, Any] = {key: moto_event[key] for key in ENVELOPE_KEYS if key in moto_event}
    event["time"] = iso_time(moto_event.get("time"))
    # A replayed event carries its replay's name (eb-archive, "Replaying archived events").
    if "replay-name" in moto_event:
        event["replay-name"] = moto_event["replay-name"]
    ingestion = moto_event.get("ingestion-time", moto_event.get("time"))
    return event, iso_time(ingestion)
