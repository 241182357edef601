"""Archive replays with EventBridge's semantics (moto replays everything to every rule).

moto 5.2.5's `Replay.replay_events` sends every archived event, whatever its time, to every
rule on the bus, without input transformers, and `DescribeReplay` has no
`EventLastReplayedTime`. AWS (EventBridge User Guide, "Replaying archived events in Amazon
EventBridge"; API reference `StartReplay`, `ReplayDestination`, `DescribeReplay`):

- only events whose time falls in `[EventStartTime, EventEndTime)` are replayed;
- `Destination.FilterArns`, when given, names the only rules that receive them;
- replayed events carry `replay-name`, and go through each rule's pattern and each target's
  input transformer like any event;
- `DescribeReplay` reports `EventLastReplayedTime`.

`install_replay_semantics()` replaces those two moto methods, for the server and `mock_aws`
alike; the rule-target delivery itself stays whatever `Rule.send_to_targets` is (the local
runtime's, when it runs).
"""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from typing import Any

_installed = False
_lock = threading.Lock()


def _epoch(value: Any) -> float | None:
    """Epoch seconds of a moto time: a number, a numeric string or an ISO 8601 string."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
    try:
        return float(value)
    except (TypeError, ValueError):
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def replay_events(replay: Any, archive: Any) -> None:
    """Send the archive's events of the replay's window to its destination rules."""
    from moto.core.utils import unix_time
    from moto.events.models import ReplayState, events_backends

    backend = events_backends[replay.account_id][replay.region]
    bus = backend.describe_event_bus(replay.destination["Arn"].split("/")[-1])
    start, end = _epoch(replay.event_start_time), _epoch(replay.event_end_time)
    wanted = set(replay.destination.get("FilterArns") or ())
    replay.state = ReplayState.RUNNING
    last: float | None = None
    for event in sorted(list(archive.events), key=lambda e: _epoch(e.get("time")) or 0.0):
        moment = _epoch(event.get("time"))
        if moment is None or start is None or end is None or not start <= moment < end:
            continue
        replayed = dict(event, **{"id": str(uuid.uuid4()), "replay-name": replay.name})
        for rule in list(bus.rules.values()):
            if wanted and rule.arn not in wanted:
                continue
            # moto's own delivery drops `replay-name` when it "transforms" an event for a
            # target without an input transformer; AWS delivers the whole event then.
            transform = any("InputTransformer" in target for target in rule.targets)
            rule.send_to_targets(replayed, transform_input=transform)  # type: ignore[arg-type]
        last = moment if last is None else max(last, moment)
    replay.event_last_replayed_time = last
    replay.state = ReplayState.COMPLETED
    replay.end_time = unix_time()


def _describe(original: Any) -> Any:
    def describe(replay: Any) -> dict[str, Any]:
        result = original(replay)
        last = getattr(replay, "event_last_replayed_time", None)
        if last is not None:
            result["EventLastReplayedTime"] = last
        return result

    return describe


def install_replay_semantics() -> None:
    """Make moto's replays behave as EventBridge's (idempotent; process-wide)."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.events.models import Replay

        Replay.replay_events = replay_events  # type: ignore[method-assign,assignment]
        Replay.describe = _describe(Replay.describe)  # type: ignore[method-assign]
        _installed = True
