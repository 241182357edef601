"""AWS APIs moto 5.2 does not implement, answered with AWS's semantics.

- EventBridge `TestEventPattern` (API reference "TestEventPattern"): the same matcher that
  routes events (moto's `EventPattern`), the pattern at most 4,096 characters, the event
  required to have `id`, `account`, `source`, `time`, `region`, `resources` and
  `detail-type`; answers `{"Result": true|false}`; a bad pattern or event is an
  `InvalidEventPatternException`.
- API Gateway `GetUsage` (API reference "GetUsage"): a usage plan's daily `[used, remaining]`
  per API key id between `startDate` and `endDate`, counted by `UsageRecorder`, which the
  embedded API Gateway calls once per authorised request against the authorizer's
  `usageIdentifierKey` (API key source AUTHORIZER).
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping

TEST_EVENT_PATTERN_MAX_LENGTH = 4096
REQUIRED_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources",
                         "detail-type")
# GetUsage answers at most this many days (a guard against a year-long loop per key).
MAX_USAGE_DAYS = 366


def test_event_pattern(event_pattern: str | None, event: str | None) -> bool:
    """Whether `event` (JSON) matches `event_pattern` (JSON), as EventBridge decides.

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


class UsageRecorder:
    """Calls per usage-plan key value per UTC day (what API Gateway meters for GetUsage)."""

    def __init__(self, clock: Callable[[], datetime] | None = None):
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._counts: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
        self._lock = threading.Lock()

    def record(self, key_value: str) -> None:
        """Count one request against the API key whose value is `key_value`."""
        today = self._clock().astimezone(timezone.utc).date()
        with self._lock:
            self._counts[key_value][today] += 1

    def used(self, key_value: str, day: date) -> int:
        with self._lock:
            return self._counts.get(key_value, {}).get(day, 0)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def _period_start(day: date, quota: Mapping[str, Any]) -> date:
    """First day of the quota period (DAY, WEEK or MONTH, shifted by `offset`) holding `day`."""
    period = str(quota.get("period", "DAY")).upper()
    offset = int(quota.get("offset", 0) or 0)
    if period == "WEEK":
        # API Gateway weeks start on Sunday (offset 0); offset moves the start by days.
        start = day - timedelta(days=(day.weekday() + 1) % 7)
        start += timedelta(days=offset)
        return start if start <= day else start - timedelta(days=7)
    if period == "MONTH":
        start = day.replace(day=1) + timedelta(days=offset)
        if start > day:
            previous = (day.replace(day=1) - timedelta(days=1)).replace(day=1)
            start = previous + timedelta(days=offset)
        return start
    return day


def usage_report(plan: Any, keys: list[Any], recorder: UsageRecorder, start: date, end: date,
                 key_id: str | None = None) -> dict[str, Any]:
    """The GetUsage answer for a moto usage plan and its keys.

    Each API key id maps to one `[used, remaining]` pair per day; `remaining` is what the
    plan's quota leaves in the quota period after that day (0 when the plan has no quota).
    """
    quota = plan.quota or {}
    limit = int(quota["limit"]) if quota.get("limit") is not None else None
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    items: dict[str, list[list[int]]] = {}
    for key in keys:
        if key_id and key.id != key_id:
            continue
        rows = []
        for day in days:
            used = recorder.used(key.value, day)
            if limit is None:
                remaining = 0
            else:
                period_start = _period_start(day, quota)
                spent = sum(recorder.used(key.value, period_start + timedelta(days=n))
                            for n in range((day - period_start).days + 1))
                remaining = max(0, limit - spent)
            rows.append([used, remaining])
        items[key.id] = rows
    # The wire name of the SDKs' `items` is `values` (API Gateway's `Usage` shape).
    return {"usagePlanId": plan.id, "startDate": start.isoformat(),
            "endDate": end.isoformat(), "values": items}


def parse_usage_dates(start: str | None, end: str | None) -> tuple[date, date]:
    """GetUsage's `startDate`/`endDate` (yyyy-MM-dd), checked as API Gateway checks them.

    Raises:
        moto.apigateway.exceptions.BadRequestException: a date is missing, malformed,
            reversed, or the span is longer than MAX_USAGE_DAYS.
    """
    from moto.apigateway.exceptions import BadRequestException

    if not start or not end:
        raise BadRequestException("Both startDate and endDate are required (yyyy-MM-dd).")
    try:
        first, last = date.fromisoformat(start), date.fromisoformat(end)
    except ValueError:
        raise BadRequestException("Invalid date format: use yyyy-MM-dd.") from None
    if last < first:
        raise BadRequestException("The endDate must not be before the startDate.")
    if (last - first).days >= MAX_USAGE_DAYS:
        raise BadRequestException(f"The usage span must be at most {MAX_USAGE_DAYS} days.")
    return first, last
