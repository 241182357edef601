"""Execution environments: each concurrent invocation of a function gets its own module globals.

On AWS every concurrent invocation of a function runs in an execution environment of its own
(its own process, so its own module globals); an environment handles one event at a time and
is reused by later invocations. Here every function runs in one interpreter, so an
environment is a separately imported copy of the handler module: the module file executed
again under a distinct module name, with its own `app`, `deps` and per-batch state. The
libraries it imports (`partners.*`, `handlers.problems`, Powertools) stay shared; they keep
no per-invocation state, but for the request state Powertools' event handler keeps on a class
(`BaseRouter.current_event` and `lambda_context`, one per process on AWS), which is made one
per thread here (`infra.local.patches.powertools`): an invocation runs on one thread from
start to end.

AWS documentation followed: "Lambda execution environment" (lambda-runtime-environment:
init phase once per environment, one invocation at a time, environments reused) and
"Understanding Lambda function scaling" (lambda-concurrency: a new environment for a request
that arrives while every environment is busy, up to the concurrency limit).
"""

from __future__ import annotations

import importlib.util
import itertools
import logging
import sys
import threading
from types import ModuleType
from typing import Any, Callable

logger = logging.getLogger(__name__)

# Copies are named `<module>__env<N>`, N unique in the process: `handlers.partner_api__env2`
# keeps `handlers` as its package, and no two runners' copies share a name.
_copy_numbers = itertools.count(2)
_copies_lock = threading.Lock()
_copies: dict[str, list[ModuleType]] = {}


class ModuleCopyError(ImportError):
    """The module has no source file to import a second time (built in, frozen, namespace)."""


def load_module_copy(module_name: str) -> ModuleType:
    """Import `module_name`'s file again as a new module with its own globals.

    The copy is registered in `sys.modules` under its own name while it lives (dataclasses,
    typing and pickling look a class's module up there); `forget_module_copy` removes it.
    The caller holds the process's import lock (`lambdas.import_handler`).

    Raises:
        ModuleCopyError: the module cannot be imported again from a file.
        Exception: whatever the module raises while it is executed (its init error).
    """
    spec = importlib.util.find_spec(module_name)
    if spec is None or not spec.has_location or spec.origin is None or spec.loader is None \
            or not hasattr(spec.loader, "exec_module"):
        raise ModuleCopyError(f"{module_name} has no source file to import again")
    name = f"{module_name}__env{next(_copy_numbers)}"
    copy_spec = importlib.util.spec_from_file_location(
        name, spec.origin, submodule_search_locations=spec.submodule_search_locations)
    if copy_spec is None or copy_spec.loader is None:
        raise ModuleCopyError(f"{module_name} has no source file to import again")
    module = importlib.util.module_from_spec(copy_spec)
    sys.modules[name] = module
    try:
        copy_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    with _copies_lock:
        _copies.setdefault(module_name, []).append(module)
    return module


def forget_module_copy(module_name: str, module: ModuleType) -> None:
    """Drop a copy made by `load_module_copy` (its environment is gone)."""
    if sys.modules.get(module.__name__) is module:
        del sys.modules[module.__name__]
    with _copies_lock:
        copies = _copies.get(module_name, [])
        if module in copies:
            copies.remove(module)
        if not copies:
            _copies.pop(module_name, None)


def module_copies(module_name: str) -> list[ModuleType]:
    """The module as the process imported it, then every live environment copy of it."""
    with _copies_lock:
        copies = list(_copies.get(module_name, []))
    imported = sys.modules.get(module_name)
    return ([imported] if imported is not None else []) + copies


# -- the pool --------------------------------------------------------------------------------

class Environment:
    """One execution environment: the handler its init phase found, and the module it owns."""

    def __init__(self, handler: Callable[[Any, Any], Any], module: ModuleType | None = None,
                 module_name: str | None = None):
        self.handler = handler
        self.module = module  # a copy owned by this environment (None: the process's import)
        self.module_name = module_name

    def retire(self) -> None:
        if self.module is not None and self.module_name is not None:
            forget_module_copy(self.module_name, self.module)


class NoMoreEnvironments(Exception):
    """The function cannot have another environment (its module cannot be copied)."""


Create = Callable[[bool], Environment]


class EnvironmentPool:
    """Up to `limit` environments of one function, each running one invocation at a time.

    An invocation takes an idle environment (the one used last, as warm as it gets), else
    creates one while there are fewer than `limit` (a cold start: `create(primary)`, where
    `primary` is true for the pool's first environment), else waits for one to be released.

    Parameters
    ----------
    handler: what the pool runs (a handler string or a callable), to tell pools apart.
    create: makes an environment; raises `NoMoreEnvironments` when the pool cannot grow,
        anything else when the init phase failed (the next invocation tries again).
    limit: the most environments at once.
    """

    def __init__(self, handler: Any, create: Create, limit: int):
        self.handler = handler
        self.limit = max(1, int(limit))
        self._create = create
        self._condition = threading.Condition()
        self._idle: list[Environment] = []
        self._environments: list[Environment] = []
        self._starting = 0
        self._waiters = 0
        self._primary = False
        self._closed = False

    @property
    def size(self) -> int:
        """Environments created (busy or idle)."""
        with self._condition:
            return len(self._environments)

    @property
    def waiting(self) -> int:
        """Invocations waiting for an environment (every one is busy)."""
        with self._condition:
            return self._waiters

    def acquire(self) -> Environment:
        """An environment for one invocation: idle, new (below the limit), or waited for."""
        while True:
            with self._condition:
                while not self._idle and \
                        len(self._environments) + self._starting >= self.limit:
                    self._waiters += 1
                    try:
                        self._condition.wait()
                    finally:
                        self._waiters -= 1
                if self._idle:
                    return self._idle.pop()
                self._starting += 1
                primary, self._primary = not self._primary, True
            try:
                environment = self._create(primary)
            except NoMoreEnvironments as error:
                if primary:  # the first environment is the process's own import
                    self._failed(primary)
                    raise
                with self._condition:
                    self._starting -= 1
                    self.limit = max(1, len(self._environments) + self._starting)
                    self._condition.notify_all()
                logger.info("%s keeps %d environment(s): %s", self.handler, self.limit, error)
                continue
            except BaseException:
                self._failed(primary)
                raise
            with self._condition:
                self._starting -= 1
                self._environments.append(environment)
                if self._closed:
                    environment.retire()
            return environment

    def _failed(self, primary: bool) -> None:
        """An init phase failed: the slot it held is free for the next invocation."""
        with self._condition:
            self._starting -= 1
            if primary:
                self._primary = False
            self._condition.notify()

    def release(self, environment: Environment) -> None:
        """The invocation is done: the environment takes the next one."""
        with self._condition:
            self._idle.append(environment)
            self._condition.notify()

    def close(self) -> None:
        """Forget every environment's module copy (the runtime stops).

        Invocations still running, or waiting for an environment, finish with the copies
        they have; environments created after this are forgotten as they are made.
        """
        with self._condition:
            self._closed = True
            environments = list(self._environments)
        for environment in environments:
            environment.retire()
