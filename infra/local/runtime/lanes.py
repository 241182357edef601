"""Asynchronous invocations wait for a busy function in its lane, not on a worker.

A function runs one invocation at a time here (`lambdas.LambdaRunner`, one execution
environment per function). Queued on the shared worker pool as they are, several `Event`
invocations of one function would each take a worker only to wait for that function's lock,
until every worker waits and the deliveries to API destinations queued behind them wait too
(on AWS every target has its own capacity). A lane lets one invocation of a function onto the
workers at a time; the others wait in the lane, in arrival order, and the next one is queued
when the running one finishes or waits for a retry. A retry re-enters the lane after its wait.
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
    """One lane per function name: at most one of its invocations is queued or running.

    Parameters
    ----------
    submit: queues a task on the worker pool (`Dispatcher.submit`).
    """

    def __init__(self, submit: Submit):
        self._submit = submit
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._waiting: dict[str, deque[LaneTask]] = {}

    def submit(self, invocation: Invocation) -> None:
        """Queue `invocation` now if its function's lane is free, else wait in the lane."""
        task = LaneTask(self, invocation)
        if self.enter(task):
            self._submit(task)

    def enter(self, task: LaneTask) -> bool:
        """Take the lane for `task` (True), or put `task` at the back of it (False)."""
        with self._lock:
            if task.function in self._busy:
                self._waiting.setdefault(task.function, deque()).append(task)
                return False
            self._busy.add(task.function)
            task.holding = True
            return True

    def leave(self, function: str) -> None:
        """Free `function`'s lane: the next waiting invocation, if any, takes it and is queued.

        Called by the running task before it finishes, so the pool never counts itself idle
        while an invocation still waits in a lane.
        """
        with self._lock:
            waiting = self._waiting.get(function)
            if not waiting:
                self._busy.discard(function)
                self._waiting.pop(function, None)
                return
            task = waiting.popleft()
            task.holding = True
        try:
            self._submit(task)
        except RuntimeError:  # the runtime is stopping: queued work is dropped anyway
            logger.debug("runtime stopped; %r dropped from its lane", task)

    def waiting(self) -> int:
        """Invocations waiting in a lane (not yet queued on the workers)."""
        with self._lock:
            return sum(len(queue) for queue in self._waiting.values())
