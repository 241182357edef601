"""Asynchronous invocations wait for a busy function in its lane, not on a worker.

A function runs as many invocations at once as it has execution environments here
(`lambdas.LambdaRunner.concurrency`: a few per function, one for a test's callable).
Queued on the shared worker pool as they are, more `Event` invocations of one function
than that would each take a worker only to wait for an environment, until every worker waits
and the deliveries to API destinations queued behind them wait too (on AWS every target has
its own capacity). A lane lets up to the function's concurrency of its invocations onto the
workers at a time; the others wait in the lane, and the next one is queued when a running one
finishes or waits for a retry. A retry re-enters the lane after its wait. Lambda does not
keep the order of asynchronous invocations, so neither do lanes beyond taking them in
arrival order.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Callable, Protocol

from infra.local.runtime.lambdas import function_name_of

logger = logging.getLogger(__name__)


class Invocation(Protocol):
    """What a lane runs (`delivery.AsyncInvocation`)."""

    function: str
    priority: int

    def run(self) -> float | None:
        """Invoke once; None when done, or seconds to wait before the retry."""


Submit = Callable[["LaneTask"], None]
Capacity = Callable[[str], int]


def one_at_a_time(function: str) -> int:
    return 1


class LaneTask:
    """A dispatcher task that runs its invocation while it holds its function's lane."""

    def __init__(self, lanes: FunctionLanes, invocation: Invocation):
        self.lanes = lanes
        self.invocation = invocation
        self.function = function_name_of(invocation.function)
        self.priority = invocation.priority
        self.holding = False

    def run(self) -> float | None:
        if not self.holding and not self.lanes.enter(self):
            return None  # waits in the lane; queued again when the lane frees
        try:
            again = self.invocation.run()
        finally:
            self.holding = False
            self.lanes.leave(self.function)
        return again

    def __repr__(self) -> str:
        return f"LaneTask({self.invocation!r})"


class FunctionLanes:
    """One lane per function name: at most `capacity(name)` of its invocations are queued or
    running.

    Parameters
    ----------
    submit: queues a task on the worker pool (`Dispatcher.submit`).
    capacity: how many invocations of a function may run at once (default one).
    """

    def __init__(self, submit: Submit, capacity: Capacity = one_at_a_time):
        self._submit = submit
        self._capacity = capacity
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}
        self._waiting: dict[str, deque[LaneTask]] = {}

    def submit(self, invocation: Invocation) -> None:
        """Queue `invocation` now if its function's lane is free, else wait in the lane."""
        task = LaneTask(self, invocation)
        if self.enter(task):
            self._submit(task)

    def enter(self, task: LaneTask) -> bool:
        """Take a place in the lane for `task` (True), or put `task` at the back (False)."""
        with self._lock:
            running = self._running.get(task.function, 0)
            if running >= self._capacity(task.function):
                self._waiting.setdefault(task.function, deque()).append(task)
                return False
            self._running[task.function] = running + 1
            task.holding = True
            return True

    def leave(self, function: str) -> None:
        """Free a place in `function`'s lane: the next waiting invocation, if any, takes it
        and is queued.

        Called by the running task before it finishes, so the pool never counts itself idle
        while an invocation still waits in a lane.
        """
        with self._lock:
            waiting = self._waiting.get(function)
            running = self._running.get(function, 0)
            if not waiting or running > self._capacity(function):
                if running <= 1:
                    self._running.pop(function, None)
                else:
                    self._running[function] = running - 1
                if not waiting:
                    self._waiting.pop(function, None)
                return
            task = waiting.popleft()  # takes over the place: the running count stays
            task.holding = True
        try:
            self._submit(task)
        except RuntimeError:  # the runtime is stopping: queued work is dropped anyway
            logger.debug("runtime stopped; %r dropped from its lane", task)

    def waiting(self) -> int:
        """Invocations waiting in a lane (not yet queued on the workers)."""
        with self._lock:
            return sum(len(queue) for queue in self._waiting.values())
