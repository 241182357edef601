"""How every handler module reaches what it depends on: built once, on first use, one seam.

A Lambda execution environment imports a handler module once (the init phase) and then runs
one invocation at a time, for as long as it lives. What a handler builds from its environment
variables (boto3 clients, stores, the reconciler) is built once per execution environment
and reused by every invocation after it. It is built on the first invocation, not at import:
importing a handler module needs no `PGW_*` variable, no AWS region and no credentials (tools,
tests and the embedded stack import them freely), and a missing setting fails the invocation
that needs it, with the variable's name.

Each handler module holds its own `Wiring` at module level:

    dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)

    @app.get("/v1/things")
    def list_things() -> Response:
        deps = dependencies.get()

Module-level state is what keeps one value per execution environment, on AWS (a process
each) and in the embedded stack, which runs each further environment as a separate copy of
the handler module (`infra/local/runtime/environments.py`): a copy executes the module again,
so it makes its own `Wiring` and builds its own dependencies.

Tests have one seam, the same for every handler: `override` replaces what `get` returns
inside a `with` block and puts back what was there before (nothing built, or the earlier
value), so no test leaves a handler wired to another test's clients. Without a value, the block
starts with nothing built (the first invocation in it builds from the environment).

    with partner_api.dependencies.override(Dependencies.from_environment(session=aws)):
        partner_api.lambda_handler(event, context)
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class _Unbuilt:
    """`Wiring.override`'s default: nothing built inside the block."""

    def __repr__(self) -> str:
        return "UNBUILT"


UNBUILT = _Unbuilt()


class Wiring(Generic[T]):
    """The dependencies of one handler module: built by `build` on first `get`, then kept.

    Parameters
    ----------
    build: makes the dependencies from the environment (called with no arguments, once per
        execution environment; if it raises, the next `get` calls it again).
    """

    def __init__(self, build: Callable[[], T]):
        self._build = build
        self._value: T | None = None
        self._built = False
        # An environment runs one invocation at a time, but a test or a tool may call a
        # handler from several threads: build once even then.
        self._lock = threading.Lock()

    @property
    def built(self) -> bool:
        """Whether `get` has something to return without building."""
        return self._built

    def get(self) -> T:
        """The dependencies, built on the first call.

        Returns
        -------
        What `build` returned (or the value of an active `override`).

        Raises
        ------
        Exception: whatever `build` raises (a missing or malformed setting: `KeyError`,
            `ValueError`, a configuration error of the handler's own); nothing is kept then.
        """
        if not self._built:
            with self._lock:
                if not self._built:
                    self._value = self._build()
                    self._built = True
        return self._value  # type: ignore[return-value]

    @contextmanager
    def override(self, value: T | _Unbuilt = UNBUILT) -> Iterator[T | None]:
        """Make `get` return `value` inside the `with` block (the seam for tests and tools).

        Parameters
        ----------
        value: the dependencies to use instead of building them (e.g. built on a test's
            moto session and clock). Without it, nothing is built inside the block: the
            first `get` there builds from the environment as it is then, as a new execution
            environment would (for a test that sets the variables first).

        Returns
        -------
        A context manager yielding `value` (None without one); on exit, `get` returns what
        it returned before (or builds again, if nothing had been built).
        """
        with self._lock:
            saved = (self._built, self._value)
            if isinstance(value, _Unbuilt):
                self._built, self._value = False, None
            else:
                self._built, self._value = True, value
        try:
            yield None if isinstance(value, _Unbuilt) else value
        finally:
            with self._lock:
                self._built, self._value = saved
