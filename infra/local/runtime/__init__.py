"""The local runtime: AWS's behaviour where moto 5.2 stops (see `supervisor` for the hooks).

    runtime = LocalRuntime(handlers={"pgw-test-notifier": my_handler}).start()
    ...                       # PutEvents, Lambda Invoke, DynamoDB writes, schedules
    runtime.drain(timeout=5)  # wait until every delivery and stream record is done
    runtime.stop()
"""

from infra.local.runtime.gaps import UsageRecorder, test_event_pattern
from infra.local.runtime.lambdas import (
    FunctionError,
    FunctionNotFoundError,
    HandlerImportError,
    LambdaContext,
)
from infra.local.runtime.replays import install_replay_semantics
from infra.local.runtime.speedups import install_server_speedups
from infra.local.runtime.supervisor import (
    LocalRuntime,
    RuntimeSettings,
    active_runtime,
    install_api_patches,
)

# moto builds a service's URL map when it first serves it, and never again: the GetUsage
# route must be in place before then, so it is added as soon as the runtime is imported.
install_api_patches()
install_server_speedups()
# Archive replays honour their window and `Destination.FilterArns` (moto replays everything
# to every rule): process-wide, like the API patches.
install_replay_semantics()

__all__ = [
    "FunctionError",
    "FunctionNotFoundError",
    "HandlerImportError",
    "LambdaContext",
    "LocalRuntime",
    "RuntimeSettings",
    "UsageRecorder",
    "active_runtime",
    "install_api_patches",
    "install_replay_semantics",
    "test_event_pattern",
]
