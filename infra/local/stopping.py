"""How `make run` stops: one SIGINT (Ctrl-C) or one SIGTERM, within a few seconds, every time.

Two rules make that hold:

- The signal handler takes no lock. It runs in the main thread between two bytecodes, possibly
  while that thread holds a lock (an `Event.wait()` holds its condition's lock on the way in
  and out, `print` holds stdout's); a handler that sets an `Event` or prints can then wait
  for itself forever. Here it only stores the signal number; the main thread polls it with a
  short sleep.
- SIGINT gets a handler explicitly. A shell starts a background job (`make run &`) with
  SIGINT ignored, and Python installs no KeyboardInterrupt handler over an ignored SIGINT,
  so without this Ctrl-C (or `kill -INT`) would do nothing.

Stopping itself is bounded too: `stop_within` runs the stop in the main thread while a daemon
watchdog ends the process with `os._exit` if it takes longer than its budget (the stack lives
in this one process: exiting frees every port it holds). A second signal while stopping ends
the process at once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Callable

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """SIGINT and SIGTERM ask to stop; `requested` says whether one came.

    Parameters
    ----------
    exit_now: ends the process without cleanup (`os._exit`; tests pass a fake).
    """

    def __init__(self, *, exit_now: Callable[[int], None] = os._exit):
        self.received: int | None = None
        self.stopping = False
        self._exit_now = exit_now

    @property
    def requested(self) -> bool:
        return self.received is not None

    def install(self) -> StopSignals:
        """Handle SIGINT and SIGTERM (over SIG_IGN inherited from a shell, too).

        Must be called from the main thread (Python's rule for `signal.signal`).
        """
        for signum in SIGNALS:
            signal.signal(signum, self._handle)
        return self

    def _handle(self, signum: int, _frame: object) -> None:
        # No locks here (see the module docstring): an attribute store, and at most a raw
        # write and an exit, neither of which takes a Python-level lock.
        if self.stopping or self.received is not None:
            os.write(2, b"Second signal: exiting now.\n")
            self._exit_now(128 + signum)
            return
        self.received = signum

    def wait(self, until: Callable[[], bool] = lambda: False, *, poll: float = 0.1) -> None:
        """Sleep until a stop is requested or `until()` is true."""
        while self.received is None and not until():
            time.sleep(poll)


def stop_within(seconds: float, stop: Callable[[], None], *,
                exit_now: Callable[[int], None] = os._exit) -> threading.Thread:
    """Run `stop()`; if it (or the interpreter's exit after it) takes longer than `seconds`,
    end the process.

    The watchdog is a daemon thread that is never cancelled: it also covers the interpreter's
    own shutdown (joining non-daemon threads, atexit hooks) after `stop()` returns.

    Returns the watchdog thread (tests join it).
    """
    def watch() -> None:
        time.sleep(seconds)
        os.write(2, f"Stopping took longer than {seconds:g} s: exiting now.\n".encode())
        exit_now(1)

    watchdog = threading.Thread(target=watch, name="stop-watchdog", daemon=True)
    watchdog.start()
    stop()
    return watchdog
