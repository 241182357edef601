"""The local runtime: AWS's behaviour where moto 5.2 stops (see `supervisor` for the hooks).

    runtime = LocalRuntime(handlers={"pgw-test-notifier": my_handler}).start()
    ...                       # PutEvents, Lambda Invoke, DynamoDB writes, schedules
    runtime.drain(timeout=5)  # wait until every delivery and stream record is done
    runtime.stop()

`start()` applies the moto and Powertools patches (`infra.local.patches`) and attaches the
runtime to them; importing this package patches nothing.
"""

from infra.local.patches import UsageRecorder, test_event_pattern
from infra.local.runtime.lambdas import (
    FunctionError,
    FunctionNotFoundError,
    HandlerImportError,
    LambdaContext,
)
from infra.local.runtime.supervisor import (
    LocalRuntime,
    RuntimeSettings,
    active_runtime,
)

__all__ = [
    "FunctionError",
    "FunctionNotFoundError",
    "HandlerImportError",
    "LambdaContext",
    "LocalRuntime",
    "RuntimeSettings",
    "UsageRecorder",
    "active_runtime",
    "test_event_pattern",
]
