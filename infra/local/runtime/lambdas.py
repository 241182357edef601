"""Lambda functions run in-process: the handler named by the function's `Handler` setting.

moto stores functions but runs them only in Docker, which this machine lacks. Here a
function's handler string (`handlers.projector.lambda_handler`, the spec's `FunctionSpec.
handler`, stored by CreateFunction) is imported and called in this process with a Lambda
context, after the function's environment variables are applied to the process.

AWS documentation followed: "Define Lambda function handler in Python"
(python-handler), "Using the Lambda context object to retrieve Python function information"
(python-context), "Invoke" API reference (InvocationType RequestResponse / Event / DryRun,
`X-Amz-Function-Error: Unhandled` with `errorMessage`/`errorType`/`stackTrace`).
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

DEFAULT_ACCOUNT = "123456789012"

# On AWS each function imports its handler in its own execution environment (its own
# process). Here every function shares one interpreter, whose imports of one package from two
# threads at once can see each other's half-initialised modules (a circular import across
# threads: an ImportError "partially initialized module", a KeyError from `sys.modules`, a
# module-lock deadlock error). Handler imports therefore run one at a time, process-wide.
_IMPORT_LOCK = threading.RLock()


class FunctionNotFoundError(LookupError):
    """No function of that name or ARN exists (and no handler is registered for it)."""

    def __init__(self, function: str):
        super().__init__(f"Function not found: {function}")
        self.function = function


class HandlerImportError(ImportError):
    """A function's handler string does not name an importable callable."""

    def __init__(self, function: str, handler: str, reason: str):
        super().__init__(f"Unable to import handler {handler!r} of {function}: {reason}")
        self.function = function
        self.handler = handler


class FunctionError(Exception):
    """The handler raised: the payload is what Lambda returns with `Unhandled`."""

    def __init__(self, function: str, error: BaseException):
        self.function = function
        self.error_type = type(error).__name__
        self.error_message = str(error)
        self.payload = {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": "",
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
        super().__init__(f"{function} failed: {self.error_type}: {self.error_message}")


@dataclass
class LambdaContext:
    """The context object a Python handler receives (the attributes Lambda documents)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 128
    timeout_seconds: int = 3
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return f"{time.strftime('%Y/%m/%d')}/[{self.function_version}]{self.aws_request_id[:32]}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


@dataclass(frozen=True)
class FunctionInfo:
    """What the runtime needs to know of one function to run it."""

    name: str
    arn: str
    handler: str | Handler
    environment: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 128
    timeout_seconds: int = 3
    # PutFunctionEventInvokeConfig: MaximumRetryAttempts, DestinationConfig.OnFailure.
    async_config: Mapping[str, Any] = field(default_factory=dict)


def function_name_of(name_or_arn: str) -> str:
    """`my-fn` for `my-fn`, `arn:aws:lambda:r:a:function:my-fn` or `...:my-fn:$LATEST`."""
    if name_or_arn.startswith("arn:"):
        parts = name_or_arn.split(":")
        return parts[6] if len(parts) > 6 else parts[-1]
    return name_or_arn.split(":")[0]


def import_handler(function: str, handler: str) -> Handler:
    """The callable a `module.function` handler string names (one import at a time).

    Any error raised while the module is imported is the function's init error, as Lambda
    reports it (Runtime.ImportModuleError and the like); the next call imports again.

    Raises:
        HandlerImportError: the module or the attribute is missing or not callable, or the
            module raised while it was imported.
    """
    module_name, _, attribute = handler.rpartition(".")
    if not module_name or not attribute:
        raise HandlerImportError(function, handler, "expected 'module.function'")
    try:
        with _IMPORT_LOCK:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise HandlerImportError(function, handler, str(error)) from error
    except Exception as error:
        raise HandlerImportError(function, handler,
                                 f"{type(error).__name__}: {error}") from error
    target = getattr(module, attribute, None)
    if not callable(target):
        raise HandlerImportError(function, handler, f"{attribute!r} is not a callable of {module_name}")
    return target


class LambdaRunner:
    """Find a function (moto's record, or a registered override) and run its handler.

    `overrides` maps a function name to a handler string or a callable; tests register
    small test-local handlers here, the embedded stack uses the handler string from moto.
    The process environment is kept consistent: a function's variables are written into
    `os.environ` when missing or different (every function of a stage has the same stage
    variables), never swapped back and forth per call.
    """

    def __init__(self, *, overrides: Mapping[str, str | Handler] | None = None,
                 account: str = DEFAULT_ACCOUNT, region: str | None = None):
        self._overrides: dict[str, str | Handler] = dict(overrides or {})
        self.account = account
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1")
        self._imported: dict[tuple[str, str], Handler] = {}
        self._env_lock = threading.Lock()
        # One invocation at a time per function, as one Lambda execution environment handles
        # one event at a time: handler modules keep per-invocation state at module level
        # (Powertools' resolver holds the current event on the module's `app`), which
        # concurrent calls in one process would mix up.
        self._function_locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def register(self, function_name: str, handler: str | Handler) -> None:
        """Run `handler` whenever `function_name` is invoked (overrides moto's Handler)."""
        self._overrides[function_name] = handler

    def unregister(self, function_name: str) -> None:
        self._overrides.pop(function_name, None)

    def _moto_function(self, name_or_arn: str) -> Any | None:
        from moto.awslambda.models import lambda_backends

        account, region = self.account, self.region
        if name_or_arn.startswith("arn:"):
            parts = name_or_arn.split(":")
            region, account = parts[3], parts[4]
        try:
            backend = lambda_backends[account][region]
            return backend.get_function(function_name_of(name_or_arn))
        except Exception:  # moto raises its own UnknownFunctionException
            return None

    def describe(self, name_or_arn: str) -> FunctionInfo:
        """The function's handler, environment and limits.

        Raises:
            FunctionNotFoundError: neither moto nor the overrides know the function.
        """
        name = function_name_of(name_or_arn)
        record = self._moto_function(name_or_arn)
        handler = self._overrides.get(name)
        if record is None:
            if handler is None:
                raise FunctionNotFoundError(name_or_arn)
            arn = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
            return FunctionInfo(name, arn, handler)
        return FunctionInfo(
            name=name,
            arn=record.function_arn,
            handler=handler if handler is not None else (record.handler or ""),
            environment=dict(record.environment_vars or {}),
            memory_mb=int(record.memory_size or 128),
            timeout_seconds=int(record.timeout or 3),
            async_config=dict(record.event_invoke_config[0].config)
            if getattr(record, "event_invoke_config", None) else {},
        )

    def _callable(self, info: FunctionInfo) -> Handler:
        if callable(info.handler):
            return info.handler
        key = (info.name, info.handler)
        if key not in self._imported:
            self._imported[key] = import_handler(info.name, info.handler)
        return self._imported[key]

    def apply_environment(self, environment: Mapping[str, str]) -> None:
        """Write a function's variables into the process environment where they differ."""
        changed = {k: v for k, v in environment.items() if os.environ.get(k) != v}
        if not changed:
            return
        with self._env_lock:
            for key, value in changed.items():
                if key in os.environ:
                    logger.warning("function environment changes %s for the whole process", key)
                os.environ[key] = value

    def call(self, name_or_arn: str, event: Any) -> Any:
        """Run the function's handler with `event`; return what it returned.

        Raises:
            FunctionNotFoundError: no such function.
            HandlerImportError: its handler cannot be imported.
            FunctionError: the handler raised.
        """
        info = self.describe(name_or_arn)
        handler = self._callable(info)
        self.apply_environment(info.environment)
        context = LambdaContext(info.name, info.arn, info.memory_mb, info.timeout_seconds)
        with self._locks_lock:
            lock = self._function_locks.setdefault(info.name, threading.Lock())
        started = time.monotonic()
        try:
            with lock:
                return handler(event, context)
        except Exception as error:  # the function's failure, reported as Lambda reports it
            logger.warning("function %s raised %s: %s", info.name, type(error).__name__, error)
            raise FunctionError(info.name, error) from error
        finally:
            elapsed = time.monotonic() - started
            if elapsed > info.timeout_seconds:
                logger.warning("function %s ran %.1f s, over its %d s timeout",
                               info.name, elapsed, info.timeout_seconds)
