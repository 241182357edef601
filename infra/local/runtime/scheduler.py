"""Schedules fire: EventBridge Scheduler schedules (the reconciler's `reconcile-all`, as
`infra/cloud/reconciler.py` builds it) send their target's `Input`; scheduled EventBridge
rules send a `Scheduled Event` to every target.

moto stores both but never fires them. AWS documentation followed: "Schedule types on
EventBridge Scheduler" (schedule-types: `rate(value unit)`, `cron(...)`; the target gets the
schedule's `Input`), and "Creating an Amazon EventBridge rule that runs on a schedule"
(eb-create-rule-schedule: the event has `detail-type` `Scheduled Event`, `source`
`aws.events`, the rule's ARN in `resources` and an empty `detail`).

Locally a schedule can run faster: `PGW_LOCAL_SCHEDULE_SECONDS` replaces every schedule's
period (a `cron(...)` expression, which this scheduler does not evaluate, runs at that
period too, 60 s when it is unset).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

logger = logging.getLogger(__name__)

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
CRON_FALLBACK_SECONDS = 60.0


class ScheduleExpressionError(ValueError):
    """A schedule expression that is neither `rate(...)` nor `cron(...)`."""


def schedule_period(expression: str, override: float | None = None) -> float:
    """Seconds between two firings of `expression` (or `override` when given).

    Raises:
        ScheduleExpressionError: the expression is not a valid rate or cron expression.
    """
    text = expression.strip()
    match = _RATE.match(text)
    if match:
        value, unit = int(match.group(1)), match.group(2)
        if value < 1:
            raise ScheduleExpressionError(f"rate value must be positive: {expression!r}")
        if (value == 1) != (not unit.endswith("s")):
            raise ScheduleExpressionError(
                f"use the singular unit for 1 and the plural otherwise: {expression!r}")
        period = float(value * _UNIT_SECONDS[unit.rstrip("s")])
    elif text.startswith("cron(") and text.endswith(")") and len(text[5:-1].split()) == 6:
        period = CRON_FALLBACK_SECONDS
    else:
        raise ScheduleExpressionError(f"not a rate(...) or cron(...) expression: {expression!r}")
    return override if override is not None else period


def scheduled_event(rule: Any, now: datetime) -> dict[str, Any]:
    """The event EventBridge sends for one firing of a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule.account_id,
        "time": now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": rule.region_name,
        "resources": [rule.arn],
        "detail": {},
    }


class Scheduler:
    """Fire every enabled scheduled rule of the account and region at its period.

    `fire(rule, event)` hands the event to the rule's targets (the runtime's delivery).
    The first firing of a rule comes one period after the scheduler first sees it.
    """

    def __init__(self, fire: Callable[[Any, dict[str, Any]], None], *, account: str,
                 region: str, override: float | None = None, tick: float = 0.25,
                 clock: Callable[[], float] = time.monotonic,
                 fire_schedule: Callable[[Any], None] | None = None):
        self.fire = fire
        self.fire_schedule = fire_schedule
        self.account = account
        self.region = region
        self.override = override
        self.tick = tick
        self._clock = clock
        self._next: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Scheduler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="pgw-scheduler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _rules(self) -> list[Any]:
        from moto.events.models import events_backends

        try:
            backend = events_backends[self.account][self.region]
        except KeyError:
            return []
        rules: list[Any] = []
        for bus in list(backend.event_buses.values()):
            rules.extend(r for r in list(bus.rules.values())
                         if r.scheduled_expression and r.state == "ENABLED")
        return rules

    def _schedules(self) -> list[Any]:
        from moto.scheduler.models import scheduler_backends

        try:
            backend = scheduler_backends[self.account][self.region]
        except KeyError:
            return []
        return [schedule for group in list(backend.schedule_groups.values())
                for schedule in list(group.schedules.values())
                if schedule.state == "ENABLED" and schedule.schedule_expression]

    def _due(self, arn: str, expression: str, now: float) -> bool:
        try:
            period = schedule_period(expression, self.override)
        except ScheduleExpressionError as error:
            logger.error("%s never fires: %s", arn, error)
            return False
        due = self._next.setdefault(arn, now + period)
        if now < due:
            return False
        self._next[arn] = now + period
        return True

    def run_due(self) -> int:
        """Fire every rule and schedule whose time has come; return how many fired."""
        now = self._clock()
        fired = 0
        seen = set()
        for rule in self._rules():
            seen.add(rule.arn)
            if not self._due(rule.arn, rule.scheduled_expression, now):
                continue
            try:
                self.fire(rule, scheduled_event(rule, datetime.now(timezone.utc)))
                fired += 1
            except Exception:
                logger.exception("scheduled rule %s could not fire", rule.name)
        if self.fire_schedule is not None:
            for schedule in self._schedules():
                seen.add(schedule.arn)
                if not self._due(schedule.arn, schedule.schedule_expression, now):
                    continue
                try:
                    self.fire_schedule(schedule)
                    fired += 1
                except Exception:
                    logger.exception("schedule %s could not fire", schedule.name)
        for arn in set(self._next) - seen:
            del self._next[arn]
        return fired

    def _run(self) -> None:
        while not self._stop.wait(self.tick):
            self.run_due()
