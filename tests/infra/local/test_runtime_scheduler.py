"""Scheduled rules fire `Scheduled Event`s to their targets (the reconcile-all schedule)."""

from __future__ import annotations

import threading

import pytest

from infra.local.runtime import LocalRuntime, RuntimeSettings
from infra.local.runtime.scheduler import (
    CRON_FALLBACK_SECONDS,
    ScheduleExpressionError,
    Scheduler,
    schedule_period,
)
from tests.infra.local.runtime_support import create_function


@pytest.mark.parametrize("expression, override, expected", [
    ("rate(1 minute)", None, 60.0),
    ("rate(5 minutes)", None, 300.0),
    ("rate(2 hours)", None, 7200.0),
    ("rate(1 day)", None, 86400.0),
    ("cron(0 12 * * ? *)", None, CRON_FALLBACK_SECONDS),
    ("rate(5 minutes)", 0.5, 0.5),
])
def test_schedule_period(expression, override, expected):
    """AWS documentation "Creating a rule that runs on a schedule" (eb-create-rule-schedule):
    rate expressions use the singular unit for 1 and the plural otherwise."""
    assert schedule_period(expression, override) == expected


@pytest.mark.parametrize("expression", ["rate(1 minutes)", "rate(5 minute)", "rate(0 minutes)",
                                        "rate(5 weeks)", "every 5 minutes", "cron(0 12 * *)"])
def test_bad_schedule_expressions(expression):
    with pytest.raises(ScheduleExpressionError):
        schedule_period(expression)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_scheduler_fires_each_enabled_rule_once_per_period(aws):
    """eb-create-rule-schedule: a scheduled rule fires every period; a disabled one never."""
    events = aws.client("events")
    events.put_rule(Name="reconcile-all", ScheduleExpression="rate(5 minutes)")
    events.put_rule(Name="off", ScheduleExpression="rate(1 minute)", State="DISABLED")
    fired = []
    clock = Clock()
    scheduler = Scheduler(lambda rule, event: fired.append((rule.name, event)),
                          account="123456789012", region="us-east-1", clock=clock)
    assert scheduler.run_due() == 0  # first seen: due one period later
    clock.now += 299
    assert scheduler.run_due() == 0
    clock.now += 1
    assert scheduler.run_due() == 1
    clock.now += 300
    assert scheduler.run_due() == 1
    assert [name for name, _ in fired] == ["reconcile-all", "reconcile-all"]
    event = fired[0][1]
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["detail"] == {} and event["resources"][0].endswith(":rule/reconcile-all")
    assert event["time"].endswith("Z")


def test_a_schedule_rule_invokes_its_lambda_target(aws):
    """eb-create-rule-schedule: the target receives the Scheduled Event (here every 0.05 s via
    PGW_LOCAL_SCHEDULE_SECONDS's setting)."""
    arrived = threading.Event()
    received = []
    function_arn = create_function(aws, "reconciler")
    events = aws.client("events")
    events.put_rule(Name="reconcile-all", ScheduleExpression="rate(5 minutes)")
    events.put_targets(Rule="reconcile-all", Targets=[{"Id": "r", "Arn": function_arn}])
    runtime = LocalRuntime(RuntimeSettings(schedule_seconds=0.05, backoff_scale=0.0001),
                           handlers={"reconciler": lambda e, c: (received.append(e),
                                                                  arrived.set())})
    runtime.scheduler.tick = 0.02
    runtime.start()
    try:
        assert arrived.wait(5)
    finally:
        runtime.stop()
    assert received[0]["detail-type"] == "Scheduled Event"


def test_an_eventbridge_scheduler_schedule_sends_its_input(aws):
    """AWS documentation "Schedule types on EventBridge Scheduler" (schedule-types): the target
    receives the schedule's Input (the reconciler's reconcile-all schedule in the cloud)."""
    arrived = threading.Event()
    received = []
    function_arn = create_function(aws, "reconciler")
    aws.client("scheduler").create_schedule(
        Name="pgw-test-reconcile-all", ScheduleExpression="rate(5 minutes)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function_arn, "RoleArn": "arn:aws:iam::123456789012:role/s",
                "Input": '{"source": "schedule"}'})
    runtime = LocalRuntime(RuntimeSettings(schedule_seconds=0.05, backoff_scale=0.0001),
                           handlers={"reconciler": lambda e, c: (received.append(e),
                                                                  arrived.set())})
    runtime.scheduler.tick = 0.02
    runtime.start()
    try:
        assert arrived.wait(5)
    finally:
        runtime.stop()
    assert received[0] == {"source": "schedule"}
