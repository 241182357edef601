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


class ShapedEvent:
    """An event as AWS delivers it, with what matching needs, made once per event.

    moto calls the runtime once per rule with a fresh copy of the same event; shaping it and
    flattening it for the matcher once instead of once per rule keeps PutEvents fast with
    hundreds of partner rules.
    """

    __slots__ = ("event", "ingestion_time", "flat")

    def __init__(self, moto_event: Mapping[str, Any]):
        import json

        from moto.events.models import EventPattern

        self.event, self.ingestion_time = aws_event(moto_event)
        # What moto's EventPattern.matches_event does to an event before matching.
        self.flat = EventPattern._flatten_dict(json.loads(json.dumps(self.event)))

    def matches(self, rule: Any) -> bool:
        """moto's own matcher (`EventPattern`), on the flattened event."""
        pattern = rule.event_pattern.get_pattern()
        if not pattern:
            return True
        return bool(rule.event_pattern._does_event_match(self.flat, pattern))


class ShapedEvents:
    """The most recent shaped events, by event id (a small bounded memo).

    The id is unique per PutEvents entry (a replay gives each event a new one); the time is
    not part of the key because moto stamps a default time per rule, microseconds apart.
    """

    def __init__(self, size: int = 4096):
        self.size = size
        self._shaped: dict[tuple[Any, ...], ShapedEvent] = {}

    def get(self, moto_event: Mapping[str, Any]) -> ShapedEvent:
        key = (moto_event.get("id"), moto_event.get("replay-name"), moto_event.get("source"),
               moto_event.get("detail-type"))
        shaped = self._shaped.get(key)
        if shaped is None:
            if len(self._shaped) >= self.size:
                self._shaped.clear()
            shaped = self._shaped[key] = ShapedEvent(moto_event)
        return shaped
