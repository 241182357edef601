"""Patches of moto's Lambda: functions run in-process, stream records go to the poller.

Both hand the call to the attached local runtime (`host`) and give moto's own behaviour when
no runtime is attached.
"""

from __future__ import annotations

from typing import Any

from infra.local.patches.host import attached
from infra.local.patches.registry import MOTO_5_2, Patch

INVOKE_DOC = "https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html"
STREAMS_DOC = "https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html"


def run_functions_in_process() -> None:
    """Lambda Invoke (and moto's own SNS/SQS-to-Lambda calls) runs the handler in-process.

    Targets moto >=5.2.5,<5.3: `moto.awslambda.models.LambdaFunction.invoke`.
    AWS: `Invoke` runs the function's handler: `RequestResponse` answers its result (or
    `X-Amz-Function-Error: Unhandled` with `errorMessage`/`errorType`), `Event` queues it and
    answers 202 at once, `DryRun` only checks.
    Why: moto runs functions only in Docker, which this machine lacks. With a runtime
    attached, `LocalRuntime.serve_invoke` answers; without one, moto's own `invoke`.
    Follows: https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
    """
    from moto.awslambda.models import LambdaFunction

    original_invoke = LambdaFunction.invoke

    def invoke(function: Any, body: Any, request_headers: Any, response_headers: Any) -> Any:
        runtime = attached()
        if runtime is None:
            return original_invoke(function, body, request_headers, response_headers)
        return runtime.serve_invoke(function, body, request_headers, response_headers)

    LambdaFunction.invoke = invoke  # type: ignore[method-assign,assignment]


def wake_stream_poller() -> None:
    """A DynamoDB write wakes the runtime's stream poller instead of calling Lambda inline.

    Targets moto >=5.2.5,<5.3: `moto.awslambda.models.LambdaBackend.send_dynamodb_items`.
    AWS: Lambda polls the stream's shards and invokes the function with batches of records,
    in order per shard, after the write has returned.
    Why: moto calls the function synchronously inside the write (through Docker). With a
    runtime attached its `StreamPoller` is woken and feeds the records in order; without
    one, moto's own `send_dynamodb_items`.
    Follows: https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html
    """
    from moto.awslambda.models import LambdaBackend

    original_send = LambdaBackend.send_dynamodb_items

    def send_dynamodb_items(backend: Any, function_arn: str, items: list[Any],
                            source: str) -> Any:
        runtime = attached()
        if runtime is None:
            return original_send(backend, function_arn, items, source)
        runtime.streams.notify()
        return None

    LambdaBackend.send_dynamodb_items = send_dynamodb_items  # type: ignore[method-assign,assignment]


PATCHES = (
    Patch(run_functions_in_process, (MOTO_5_2,), INVOKE_DOC),
    Patch(wake_stream_poller, (MOTO_5_2,), STREAMS_DOC),
)
