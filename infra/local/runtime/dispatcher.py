"""A worker pool that runs tasks now or after a delay, and can be drained and stopped.

EventBridge answers PutEvents before any target is called; the runtime does the same by
handing each delivery to this pool. A task returns `None` when it is done, or the number of
seconds (already scaled to local time) after which it wants to run again (a retry).
`drain()` waits until nothing is queued, waiting or running.

Ready tasks run by `priority` (lower first, then in order): on AWS every target has its own
capacity, so a partner's delivery never waits for our own functions; here they share one
process, and deliveries to the outside (API destinations, priority 0) go before the targets
inside AWS and Lambda invocations (1). A Lambda invocation never waits for its function on a
worker (see `lanes`).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
from typing import Callable, Protocol

logger = logging.getLogger(__name__)


class Task(Protocol):
    def run(self) -> float | None:
        """Do the work once; return None when done, or seconds to wait before running again."""


DEFAULT_PRIORITY = 1
_STOP_PRIORITY = -1


def _priority(task: Task) -> int:
    return int(getattr(task, "priority", DEFAULT_PRIORITY))


class Dispatcher:
    """Run tasks on `workers` threads; delayed runs wait on one timer thread."""

    def __init__(self, workers: int = 8, *, name: str = "pgw-runtime",
                 clock: Callable[[], float] = time.monotonic):
        self.workers = max(1, workers)
        self.name = name
        self._clock = clock
        self._ready: queue.PriorityQueue[tuple[int, int, Task | None]] = queue.PriorityQueue()
        self._delayed: list[tuple[float, int, Task]] = []
        self._sequence = itertools.count()
        self._lock = threading.Condition()
        self._pending = 0
        self._stopping = False
        self._threads: list[threading.Thread] = []

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> Dispatcher:
        if self._threads:
            return self
        self._stopping = False
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"{self.name}-worker-{index}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)
        timer = threading.Thread(target=self._time, name=f"{self.name}-timer", daemon=True)
        timer.start()
        self._threads.append(timer)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop every thread; tasks still queued or waiting are dropped (and counted)."""
        with self._lock:
            self._stopping = True
            dropped = len(self._delayed)
            self._delayed.clear()
            self._lock.notify_all()
        for _ in range(self.workers):
            self._ready.put((_STOP_PRIORITY, next(self._sequence), None))
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []
        with self._lock:
            self._pending = 0
            self._lock.notify_all()
        if dropped:
            logger.warning("runtime stopped with %d deliveries waiting for a retry", dropped)

    @property
    def running(self) -> bool:
        return bool(self._threads) and not self._stopping

    # -- work ----------------------------------------------------------------------------

    def submit(self, task: Task, delay: float = 0.0) -> None:
        """Run `task` on a worker, at once or after `delay` seconds."""
        with self._lock:
            if self._stopping:
                raise RuntimeError("the runtime is stopped")
            self._pending += 1
            if delay > 0:
                heapq.heappush(self._delayed, (self._clock() + delay, next(self._sequence), task))
                self._lock.notify_all()
                return
        self._ready.put((_priority(task), next(self._sequence), task))

    @property
    def pending(self) -> int:
        """Tasks queued, waiting for a retry, or running."""
        with self._lock:
            return self._pending

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every task is done; True if that happened within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._lock.wait(remaining)
        return True

    def _finish(self) -> None:
        with self._lock:
            self._pending = max(0, self._pending - 1)
            if self._pending == 0:
                self._lock.notify_all()

    def _work(self) -> None:
        while True:
            _, _, task = self._ready.get()
            if task is None:
                return
            try:
                again = task.run()
            except Exception:  # a task's own bug must not kill the worker
                logger.exception("runtime task %r failed", task)
                again = None
            if again is not None and not self._stopping:
                with self._lock:
                    heapq.heappush(self._delayed,
                                   (self._clock() + max(0.0, again), next(self._sequence), task))
                    self._lock.notify_all()
                continue
            self._finish()

    def _time(self) -> None:
        with self._lock:
            while not self._stopping:
                if not self._delayed:
                    self._lock.wait(0.5)
                    continue
                due, _, task = self._delayed[0]
                wait = due - self._clock()
                if wait > 0:
                    self._lock.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self._delayed)
                self._ready.put((_priority(task), next(self._sequence), task))
