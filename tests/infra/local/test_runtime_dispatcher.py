"""The worker pool's order (priorities) and the function lanes of asynchronous invocations."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest

from infra.local.runtime.delivery import Backoff, DeadLetterOffice, RuleRef, TargetDelivery
from infra.local.runtime.dispatcher import Dispatcher
from infra.local.runtime.lanes import FunctionLanes
from tests.infra.local.runtime_support import runtime  # noqa: F401  (fixture)

WAIT = 10.0  # seconds a test waits for something that should happen at once


@dataclass
class Recorded:
    """A task that notes its name when it runs, after `gate` opens."""

    name: str
    log: list[str]
    priority: int = 1
    gate: threading.Event | None = None
    started: threading.Event = field(default_factory=threading.Event)

    def run(self) -> float | None:
        self.started.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT)
        self.log.append(self.name)
        return None


@dataclass
class Invocation:
    """An async invocation of `function`: waits for `gate`, fails `failures` times first."""

    function: str
    name: str
    log: list[str]
    running: dict[str, int]
    gate: threading.Event
    failures: int = 0
    priority: int = 1
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> float | None:
        with self.lock:
            self.running[self.function] = self.running.get(self.function, 0) + 1
            self.running["most"] = max(self.running.get("most", 0), self.running[self.function])
        try:
            assert self.gate.wait(WAIT)
            if self.failures:
                self.failures -= 1
                self.log.append(f"{self.name} failed")
                return 0.01
            self.log.append(self.name)
            return None
        finally:
            with self.lock:
                self.running[self.function] -= 1


@pytest.fixture
def pool():
    dispatcher = Dispatcher(2, name="test-pool").start()
    yield dispatcher
    dispatcher.stop()


def test_ready_tasks_run_by_priority_then_in_order():
    dispatcher = Dispatcher(1, name="test-order").start()
    try:
        log: list[str] = []
        gate = threading.Event()
        blocker = Recorded("blocker", log, gate=gate)
        dispatcher.submit(blocker)
        assert blocker.started.wait(WAIT)
        for name, priority in [("inside-1", 1), ("outside-1", 0), ("inside-2", 1),
                               ("outside-2", 0)]:
            dispatcher.submit(Recorded(name, log, priority))
        gate.set()
        assert dispatcher.drain(WAIT)
        assert log == ["blocker", "outside-1", "outside-2", "inside-1", "inside-2"]
    finally:
        dispatcher.stop()


@pytest.mark.parametrize(("arn", "priority"), [
    ("arn:aws:events:us-east-1:123456789012:api-destination/partner/abc", 0),
    ("arn:aws:lambda:us-east-1:123456789012:function:routing", 1),
    ("arn:aws:sqs:us-east-1:123456789012:queue", 1),
    ("arn:aws:firehose:us-east-1:123456789012:deliverystream/lake", 1),
    ("arn:aws:sns:us-east-1:123456789012:topic", 1),
])
def test_deliveries_to_api_destinations_go_before_targets_inside_aws(arn, priority):
    delivery = TargetDelivery(rule=RuleRef("r", "arn:r", "123456789012", "us-east-1"),
                              target={"Id": "t", "Arn": arn}, event={}, ingestion_time="",
                              sender=None, office=DeadLetterOffice(),  # type: ignore[arg-type]
                              backoff=Backoff(), scale=0.0)
    assert delivery.priority == priority


def test_a_busy_function_holds_one_worker_and_deliveries_still_run(pool):
    """Five invocations of one slow function on two workers: one runs, four wait in the
    function's lane, and a delivery queued after them runs on the other worker at once."""
    log: list[str] = []
    running: dict[str, int] = {}
    gate = threading.Event()
    lanes = FunctionLanes(pool.submit)
    for index in range(5):
        lanes.submit(Invocation("arn:aws:lambda:us-east-1:123456789012:function:slow",
                                f"slow-{index}", log, running, gate))
    delivered = threading.Event()
    pool.submit(Recorded("delivery", log, priority=0, gate=None))
    pool.submit(type("Signal", (), {"priority": 0, "run": lambda self: delivered.set()})())
    assert delivered.wait(WAIT)
    assert lanes.waiting() == 4
    assert log == ["delivery"]
    gate.set()
    assert pool.drain(WAIT)
    assert log == ["delivery"] + [f"slow-{index}" for index in range(5)]
    assert running["most"] == 1 and lanes.waiting() == 0


def test_lanes_of_different_functions_run_side_by_side(pool):
    log: list[str] = []
    running: dict[str, int] = {}
    gate = threading.Event()
    lanes = FunctionLanes(pool.submit)
    for function in ("a", "b"):
        lanes.submit(Invocation(function, function, log, running, gate))
    assert lanes.waiting() == 0
    gate.set()
    assert pool.drain(WAIT)
    assert sorted(log) == ["a", "b"]


def test_a_retry_frees_the_lane_while_it_waits_and_enters_it_again(pool):
    """The failed invocation's retry waits off the lane (the next invocation runs), then
    runs again through the lane: never two of one function at once, none lost."""
    log: list[str] = []
    running: dict[str, int] = {}
    gate = threading.Event()
    gate.set()
    lanes = FunctionLanes(pool.submit)
    lanes.submit(Invocation("f", "first", log, running, gate, failures=2))
    for name in ("second", "third"):
        lanes.submit(Invocation("f", name, log, running, gate))
    assert pool.drain(WAIT)
    assert log[0] == "first failed" and log[1] == "second"
    assert sorted(log) == sorted(["first failed", "first failed", "first", "second", "third"])
    assert running["most"] == 1 and lanes.waiting() == 0


def test_runtime_drain_waits_for_invocations_waiting_in_a_lane(runtime):
    """Event invocations of one function, more than there are workers: drain returns once
    every one of them has run (each once)."""
    seen: list[int] = []
    runtime.register("lane-fn", lambda event, context: seen.append(event["n"]))
    for n in range(12):
        runtime.invoke_async("lane-fn", {"n": n})
    assert runtime.drain(WAIT)
    assert sorted(seen) == list(range(12))
