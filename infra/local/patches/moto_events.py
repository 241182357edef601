"""Patches of moto's EventBridge: rule targets, TestEventPattern, replays, input paths.

moto 5.2 stores and matches events, but delivers to Lambda targets not at all and to API
destinations without body or auth, does not implement `TestEventPattern`, and replays every
archived event to every rule. These patches hand rule targets to the attached local runtime
(`host`), answer `TestEventPattern` with AWS's semantics (`test_event_pattern`), and make
replays honour their window and `Destination.FilterArns`.
"""

from __future__ import annotations

import functools
import json
import uuid
from datetime import datetime, timezone
from typing import Any

from infra.local.patches.host import attached
from infra.local.patches.registry import JSONPATH_NG_1, MOTO_5_2, Patch

TARGETS_DOC = "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html"
TEST_EVENT_PATTERN_DOC = \
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html"
START_REPLAY_DOC = "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html"
DESCRIBE_REPLAY_DOC = \
    "https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html"
INPUT_TRANSFORMER_DOC = \
    "https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html"

TEST_EVENT_PATTERN_MAX_LENGTH = 4096
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources",
                         "detail-type")

# moto's own methods, kept by the patches that replace them (`send_with_moto`).
_moto: dict[str, Any] = {}


# --- rule targets --------------------------------------------------------------------------

def route_rule_targets() -> None:
    """Every rule's events go to the attached runtime, which delivers each target as AWS does.

    Targets moto >=5.2.5,<5.3: `moto.events.models.Rule.send_to_targets` (called by
    PutEvents, replays and cross-bus events, once per rule).
    AWS: EventBridge delivers a matching event to each of the rule's targets (Lambda
    asynchronously, API destinations with the connection's auth, SQS, SNS, Firehose), with
    the target's retry policy and dead-letter queue, and PutEvents returns at once.
    Why: moto delivers to Lambda targets not at all and to API destinations without body or
    auth. With a runtime attached, `LocalRuntime.route` delivers (archives, log groups and
    other buses go back to moto through `send_with_moto`); without one, moto's own method.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-targets.html
    """
    from moto.events.models import Rule

    original_send = _moto["send_to_targets"] = Rule.send_to_targets

    def send_to_targets(rule: Any, original_event: Any, transform_input: bool = True) -> None:
        runtime = attached()
        if runtime is None:
            return original_send(rule, original_event, transform_input)
        runtime.route(rule, original_event)

    Rule.send_to_targets = send_to_targets  # type: ignore[method-assign,assignment]


def send_with_moto(rule: Any, moto_event: Any, transform_input: bool = True) -> None:
    """moto's own `Rule.send_to_targets` (the targets moto already delivers as AWS does)."""
    _moto["send_to_targets"](rule, moto_event, transform_input)


# --- TestEventPattern ----------------------------------------------------------------------

def test_event_pattern(event_pattern: str | None, event: str | None) -> bool:
    """Whether `event` (JSON) matches `event_pattern` (JSON), as EventBridge decides.

    The same matcher that routes events (moto's `EventPattern`); the pattern at most 4,096
    characters; the event must have `id`, `account`, `source`, `time`, `region`,
    `resources` and `detail-type`.

    Raises:
        moto.events.exceptions.ValidationException: the pattern is missing or too long.
        moto.events.exceptions.InvalidEventPatternException: the pattern or the event is
            not valid.
    """
    from moto.events.exceptions import InvalidEventPatternException, ValidationException
    from moto.events.models import EventPattern

    if not event_pattern:
        raise ValidationException("Parameter EventPattern is required.")
    if len(event_pattern) > TEST_EVENT_PATTERN_MAX_LENGTH:
        raise ValidationException(
            "1 validation error detected: Value at 'eventPattern' failed to satisfy "
            f"constraint: Member must have length less than or equal to "
            f"{TEST_EVENT_PATTERN_MAX_LENGTH}")
    if not event:
        raise ValidationException("Parameter Event is required.")
    try:
        parsed = json.loads(event)
    except ValueError:
        raise InvalidEventPatternException("Event is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise InvalidEventPatternException("Event must be a JSON object.")
    missing = [name for name in REQUIRED_EVENT_FIELDS if name not in parsed]
    if missing:
        raise InvalidEventPatternException(
            f"Provided Event must have the mandatory field(s): {', '.join(missing)}.")
    if not isinstance(parsed["resources"], list):
        raise InvalidEventPatternException("Field 'resources' of the event must be an array.")
    for name in ("id", "account", "source", "time", "region", "detail-type"):
        if not isinstance(parsed[name], str):
            raise InvalidEventPatternException(f"Field '{name}' of the event must be a string.")
    try:
        datetime.fromisoformat(parsed["time"].replace("Z", "+00:00"))
    except ValueError:
        raise InvalidEventPatternException(
            "Field 'time' of the event must be an ISO 8601 timestamp.") from None
    try:
        if not isinstance(json.loads(event_pattern), dict):
            raise InvalidEventPatternException("Event pattern must be a JSON object.")
    except ValueError:
        raise InvalidEventPatternException("Invalid JSON") from None
    return EventPattern.load(event_pattern).matches_event(parsed)  # type: ignore[arg-type]


def _events_test_event_pattern(self: Any) -> str:
    result = test_event_pattern(self._get_param("EventPattern"), self._get_param("Event"))
    return json.dumps({"Result": result})


def answer_test_event_pattern() -> None:
    """EventBridge `TestEventPattern` is answered, with the matcher that routes events.

    Targets moto >=5.2.5,<5.3: `moto.events.responses.EventsHandler.test_event_pattern`.
    AWS: `{"Result": true|false}`; the pattern at most 4,096 characters, the event required
    to have `id`, `account`, `source`, `time`, `region`, `resources`, `detail-type`; a bad
    pattern or event is an `InvalidEventPatternException` (see `test_event_pattern`).
    Why: moto 5.2 does not implement it; the console's filter preview calls it.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_TestEventPattern.html
    """
    from moto.events.responses import EventsHandler

    EventsHandler.test_event_pattern = _events_test_event_pattern  # type: ignore[method-assign,assignment]


# --- archive replays -----------------------------------------------------------------------

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


def replay_in_window() -> None:
    """A replay sends only its window's events, only to `Destination.FilterArns`' rules.

    Targets moto >=5.2.5,<5.3: `moto.events.models.Replay.replay_events`.
    AWS: only events whose time falls in `[EventStartTime, EventEndTime)` are replayed;
    `Destination.FilterArns`, when given, names the only rules that receive them; replayed
    events carry `replay-name` and go through each rule's pattern and each target's input
    transformer like any event (EventBridge User Guide, "Replaying archived events").
    Why: moto 5.2.5 sends every archived event, whatever its time, to every rule on the bus,
    without input transformers. The delivery itself stays `Rule.send_to_targets` (the
    runtime's, when one is attached).
    Follows: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_StartReplay.html
    """
    from moto.events.models import Replay

    Replay.replay_events = replay_events  # type: ignore[method-assign,assignment]


def report_last_replayed_time() -> None:
    """`DescribeReplay` reports `EventLastReplayedTime`.

    Targets moto >=5.2.5,<5.3: `moto.events.models.Replay.describe`.
    AWS: the time, within the replay's window, of the last event replayed (how far a replay
    has got).
    Why: moto's `describe` has no such field; `replay_events` above records it.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_DescribeReplay.html
    """
    from moto.events.models import Replay

    original = Replay.describe

    def describe(replay: Any) -> dict[str, Any]:
        result = original(replay)
        last = getattr(replay, "event_last_replayed_time", None)
        if last is not None:
            result["EventLastReplayedTime"] = last
        return result

    Replay.describe = describe  # type: ignore[method-assign,assignment]


# --- input paths ---------------------------------------------------------------------------

def parse_json_paths_once() -> None:
    """`jsonpath_ng.ext.parse(path)` parses each path string once and reuses the tree.

    Targets moto >=5.2.5,<5.3 and jsonpath-ng >=1.16.0,<2: `jsonpath_ng.ext.parse`, which
    moto's `EventTemplateParser.parse` imports at each call (so the module attribute is what
    it gets).
    AWS: an input transformer's `InputPathsMap` (up to 100 JSON paths) is applied to every
    event for a target (here: moto's archive, log-group and SQS targets).
    Why: jsonpath-ng builds a new PLY lexer and LALR parser for each path; under PutEvents
    load that was more than half of the process's time. A parsed path is an immutable
    expression tree (`find` does not change it), so the same answers come from a cache.
    Follows: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-transform-target-input.html
    """
    import jsonpath_ng.ext

    original = jsonpath_ng.ext.parse

    @functools.lru_cache(maxsize=1024)
    def parsed(path: str) -> Any:
        return original(path)

    def parse(path: str, debug: bool | None = None) -> Any:
        if debug or not isinstance(path, str):
            return original(path, debug=debug)
        return parsed(path)

    jsonpath_ng.ext.parse = parse  # type: ignore[assignment]


PATCHES = (
    Patch(route_rule_targets, (MOTO_5_2,), TARGETS_DOC),
    Patch(answer_test_event_pattern, (MOTO_5_2,), TEST_EVENT_PATTERN_DOC),
    Patch(replay_in_window, (MOTO_5_2,), START_REPLAY_DOC),
    Patch(report_last_replayed_time, (MOTO_5_2,), DESCRIBE_REPLAY_DOC),
    Patch(parse_json_paths_once, (MOTO_5_2, JSONPATH_NG_1), INPUT_TRANSFORMER_DOC),
)
