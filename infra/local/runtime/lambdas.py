"""Lambda functions run in-process: the handler named by the function's `Handler` setting.

moto stores functions but runs them only in Docker, which this machine lacks. Here a
function's handler string (`handlers.projector.lambda_handler`, the spec's `FunctionSpec.
handler`, stored by CreateFunction) is imported and called in this process with a Lambda
context, after the function's environment variables are applied to the process. Concurrent
invocations of one function run in separate execution environments (`environments`: copies
of the handler module), each running one invocation at a time.

AWS documentation followed: "Define Lambda function handler in Python"
(python-handler), "Using the Lambda context object to retrieve Python function information"
(python-context), "Invoke" API reference (InvocationType RequestResponse / Event / DryRun,
`X-Amz-Function-Error: Unhandled` with `errorMessage`/`errorType`/`stackTrace`), "Lambda
execution environment" (lambda-runtime-environment), "Understanding Lambda function scaling"
(lambda-concurrency).
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

from infra.local import patches
from infra.local.iam import acting_as
from infra.local.runtime.environments import (
    Environment,
    EnvironmentPool,
    ModuleCopyError,
    NoMoreEnvironments,
    forget_module_copy,
    load_module_copy,
)

logger = logging.getLogger(__name__)

Handler = Callable[[Any, Any], Any]

DEFAULT_ACCOUNT = "123456789012"
# Execution environments per function: how many invocations of one function run at once.
DEFAULT_ENVIRONMENTS = 4

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


def _split_handler(function: str, handler: str) -> tuple[str, str]:
    module_name, _, attribute = handler.rpartition(".")
    if not module_name or not attribute:
        raise HandlerImportError(function, handler, "expected 'module.function'")
    return module_name, attribute


def _handler_of(function: str, handler: str, module: Any, attribute: str) -> Handler:
    target = getattr(module, attribute, None)
    if not callable(target):
        raise HandlerImportError(function, handler,
                                 f"{attribute!r} is not a callable of {module.__name__}")
    return target


def import_handler(function: str, handler: str) -> Handler:
    """The callable a `module.function` handler string names (one import at a time).

    Any error raised while the module is imported is the function's init error, as Lambda
    reports it (Runtime.ImportModuleError and the like); the next call imports again.

    Raises:
        HandlerImportError: the module or the attribute is missing or not callable, or the
            module raised while it was imported.
    """
    module_name, attribute = _split_handler(function, handler)
    # Powertools' request state per thread before any handler uses it (idempotent).
    patches.apply()
    try:
        with _IMPORT_LOCK:
            module = importlib.import_module(module_name)
    except ImportError as error:
        raise HandlerImportError(function, handler, str(error)) from error
    except Exception as error:
        raise HandlerImportError(function, handler,
                                 f"{type(error).__name__}: {error}") from error
    return _handler_of(function, handler, module, attribute)


def copy_handler(function: str, handler: str) -> Environment:
    """A further execution environment: the handler's module imported again as a copy.

    Its own module globals (`app`, `dependencies`, per-batch state); the modules it imports are the
    process's. Imported under the same process-wide lock as `import_handler`.

    Raises:
        NoMoreEnvironments: the module cannot be imported a second time, or Powertools'
            request state cannot be kept per invocation.
        HandlerImportError: the copy raised while it was imported, or lacks the handler.
    """
    module_name, attribute = _split_handler(function, handler)
    patches.apply()
    try:
        with _IMPORT_LOCK:
            if not patches.router_state_isolated():
                raise NoMoreEnvironments("Powertools' request state is one per process")
            module = load_module_copy(module_name)
    except ModuleCopyError as error:
        raise NoMoreEnvironments(str(error)) from error
    except NoMoreEnvironments:
        raise
    except ImportError as error:
        raise HandlerImportError(function, handler, str(error)) from error
    except Exception as error:
        raise HandlerImportError(function, handler,
                                 f"{type(error).__name__}: {error}") from error
    try:
        target = _handler_of(function, handler, module, attribute)
    except HandlerImportError:
        forget_module_copy(module_name, module)
        raise
    return Environment(target, module, module_name)


class LambdaRunner:
    """Find a function (moto's record, or a registered override) and run its handler.

    `overrides` maps a function name to a handler string or a callable; tests register
    small test-local handlers here, the embedded stack uses the handler string from moto.
    The process environment is kept consistent: a function's variables are written into
    `os.environ` when missing or different (every function of a stage has the same stage
    variables), never swapped back and forth per call.

    Each function has up to `environments` execution environments, each running one
    invocation at a time (handler modules keep per-invocation state at module level: the
    resolver on `app`, per-batch dicts). Each is a copy of the module (`copy_handler`); the
    first falls back to the module as the process imports it when no copy can be made. A
    callable override is one object, so one environment: its calls never overlap.
    """

    def __init__(self, *, overrides: Mapping[str, str | Handler] | None = None,
                 account: str = DEFAULT_ACCOUNT, region: str | None = None,
                 environments: int = DEFAULT_ENVIRONMENTS):
        self._overrides: dict[str, str | Handler] = dict(overrides or {})
        self.account = account
        self.region = region or os.environ.get("AWS_REGION") or os.environ.get(
            "AWS_DEFAULT_REGION", "us-east-1")
        self.environments = max(1, int(environments))
        self._env_lock = threading.Lock()
        self._pools: dict[str, EnvironmentPool] = {}
        self._pools_lock = threading.Lock()

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

    def _pool(self, info: FunctionInfo) -> EnvironmentPool:
        """The function's environments (new ones when its handler changed)."""
        with self._pools_lock:
            pool = self._pools.get(info.name)
            if pool is not None and (pool.handler is info.handler
                                     or pool.handler == info.handler):
                return pool
            if pool is not None:
                pool.close()
            pool = EnvironmentPool(info.handler, self._creator(info.name, info.handler),
                                   1 if callable(info.handler) else self.environments)
            self._pools[info.name] = pool
            return pool

    @staticmethod
    def _creator(name: str, handler: str | Handler) -> Callable[[bool], Environment]:
        def create(primary: bool) -> Environment:
            if callable(handler):
                return Environment(handler)
            if primary:
                # Every environment starts with its own init, as on Lambda: nothing the
                # process built with the module before (a test's, an earlier stack's)
                # reaches it. Only a module that cannot be copied runs as the process's.
                try:
                    return copy_handler(name, handler)
                except NoMoreEnvironments:
                    return Environment(import_handler(name, handler))
            return copy_handler(name, handler)
        return create

    def environment_pool(self, name_or_arn: str) -> EnvironmentPool | None:
        """The function's environments, once it has been invoked."""
        with self._pools_lock:
            return self._pools.get(function_name_of(name_or_arn))

    def concurrency(self, name_or_arn: str) -> int:
        """How many invocations of the function may run at once (its environments)."""
        name = function_name_of(name_or_arn)
        with self._pools_lock:
            pool = self._pools.get(name)
            if pool is not None:
                return pool.limit
        return 1 if callable(self._overrides.get(name)) else self.environments

    def close(self) -> None:
        """Retire every function's environments (their module copies leave `sys.modules`)."""
        with self._pools_lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()

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
        pool = self._pool(info)
        self.apply_environment(info.environment)
        # As the function's execution role (its clients sign with its credentials), from the
        # init phase of a new environment to the end of the invocation.
        with acting_as(info.name):
            environment = pool.acquire()  # waits while every environment is busy
            context = LambdaContext(info.name, info.arn, info.memory_mb, info.timeout_seconds)
            started = time.monotonic()
            try:
                return environment.handler(event, context)
            except Exception as error:  # the function's failure, as Lambda reports it
                logger.warning("function %s raised %s: %s", info.name, type(error).__name__,
                               error)
                raise FunctionError(info.name, error) from error
            finally:
                pool.release(environment)
                elapsed = time.monotonic() - started
                if elapsed > info.timeout_seconds:
                    logger.warning("function %s ran %.1f s, over its %d s timeout",
                                   info.name, elapsed, info.timeout_seconds)
