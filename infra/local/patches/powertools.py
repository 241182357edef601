"""Patch of Powertools' event handler: its request state is kept per thread, not per process.

On AWS every concurrent invocation of a function runs in an execution environment of its own
(its own process); here every function runs in one interpreter, and the local runtime gives
each concurrent invocation a copy of the handler module (`runtime.environments`). The
libraries those copies import are shared, and Powertools' event handler keeps the current
request on a class: one value per process, which on AWS is one environment.
"""

from __future__ import annotations

import logging
import threading
from abc import ABCMeta
from typing import Any

from infra.local.patches.registry import POWERTOOLS_3, Patch

logger = logging.getLogger(__name__)

EXECUTION_ENVIRONMENT_DOC = \
    "https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html"

_router_state = threading.local()
_isolated = False
_isolate_lock = threading.Lock()


class _ThreadSlot:
    """A data descriptor whose value is the current thread's (absent until set there)."""

    def __init__(self, name: str):
        self.name = name

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        try:
            return getattr(_router_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None

    def __set__(self, instance: Any, value: Any) -> None:
        setattr(_router_state, self.name, value)

    def __delete__(self, instance: Any) -> None:
        try:
            delattr(_router_state, self.name)
        except AttributeError:
            raise AttributeError(self.name) from None


class _ThreadStateRouterMeta(ABCMeta):
    """BaseRouter's metaclass with its class-level request state kept per thread."""

    current_event = _ThreadSlot("current_event")
    lambda_context = _ThreadSlot("lambda_context")


def isolate_router_state() -> bool:
    """Keep Powertools' current event and Lambda context per thread, not per process.

    Targets aws-lambda-powertools >=3.37.0,<4: `aws_lambda_powertools.event_handler.
    api_gateway.BaseRouter.current_event` and `.lambda_context` (class attributes) and
    BaseRouter's metaclass.
    AWS: each execution environment handles one invocation at a time and has its own
    module globals; concurrent invocations run in separate environments.
    Why: `ApiGatewayResolver.resolve` stores the event on the class (`BaseRouter.
    current_event = ...`) and every resolver and router reads it from there; in this process
    two environments (or two API functions) would read each other's event. The class's
    metaclass gets descriptors for the class-level writes and reads, the class itself
    descriptors for the reads through instances; both keep the value per thread (an
    invocation runs on one thread from start to end). Idempotent.
    Follows: https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html

    Returns:
        False when Powertools' classes no longer have that shape (the runtime then keeps
        one environment per function); True when they are isolated or Powertools is absent.
    """
    global _isolated
    with _isolate_lock:
        if _isolated:
            return True
        try:
            from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
        except ImportError:
            return True  # nothing of Powertools to share
        # A plain value there is the last request a resolver stored (any earlier `resolve`
        # in this process); a descriptor would be a Powertools that manages it itself.
        if type(BaseRouter) is not ABCMeta or any(
                hasattr(vars(BaseRouter).get(name), "__get__")
                for name in ("current_event", "lambda_context")):
            logger.warning("Powertools' BaseRouter has an unexpected shape: "
                           "one execution environment per function")
            return False
        for name in ("current_event", "lambda_context"):
            type.__setattr__(BaseRouter, name, _ThreadSlot(name))
        BaseRouter.__class__ = _ThreadStateRouterMeta  # type: ignore[method-assign,assignment]
        _isolated = True
        return True


def router_state_isolated() -> bool:
    """Whether `isolate_router_state` has made Powertools' request state per thread."""
    return _isolated


PATCHES = (
    Patch(isolate_router_state, (POWERTOOLS_3,), EXECUTION_ENVIRONMENT_DOC),
)
