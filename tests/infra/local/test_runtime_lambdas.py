"""Lambda Invoke served in-process by the local runtime."""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

import pytest

from infra.local.runtime import FunctionError, FunctionNotFoundError, HandlerImportError, LocalRuntime
from infra.local.runtime.lambdas import LambdaRunner, function_name_of, import_handler
from tests.infra.local.runtime_support import create_function, runtime  # noqa: F401


def echo(event, context):
    return {"event": event, "function": context.function_name,
            "remaining": context.get_remaining_time_in_millis() > 0,
            "stage": os.environ.get("PGW_TEST_STAGE_VAR")}


def test_request_response_invoke_returns_the_handler_result(aws, runtime):
    """AWS documentation "Invoke" (API reference) and "Lambda context object in Python"
    (python-context): RequestResponse answers 200 with the handler's JSON result."""
    create_function(aws, "echo", environment={"PGW_TEST_STAGE_VAR": "test-stage"})
    runtime.register("echo", echo)
    answer = aws.client("lambda").invoke(FunctionName="echo", Payload=json.dumps({"a": 1}))
    assert answer["StatusCode"] == 200 and "FunctionError" not in answer
    assert json.loads(answer["Payload"].read()) == {
        "event": {"a": 1}, "function": "echo", "remaining": True, "stage": "test-stage"}


def test_the_handler_string_of_the_function_is_imported(aws, runtime):
    """python-handler: the Handler setting `module.function` names the entry point."""
    create_function(aws, "by-string", handler="tests.infra.local.test_runtime_lambdas.echo")
    answer = aws.client("lambda").invoke(FunctionName="by-string", Payload=b'{"x": true}')
    assert json.loads(answer["Payload"].read())["event"] == {"x": True}


def test_event_invoke_is_queued_and_answers_202(aws, runtime):
    """Invoke API reference: InvocationType Event answers 202 and runs the function later."""
    done = threading.Event()
    create_function(aws, "later")
    runtime.register("later", lambda event, context: done.set())
    answer = aws.client("lambda").invoke(FunctionName="later", InvocationType="Event",
                                         Payload=json.dumps({"partner_id": "p1"}))
    assert answer["StatusCode"] == 202
    assert runtime.drain(5) and done.is_set()


def test_a_raising_handler_gives_an_unhandled_function_error(aws, runtime):
    """Invoke API reference: X-Amz-Function-Error `Unhandled`, payload with errorMessage and
    errorType."""
    def broken(event, context):
        raise KeyError("missing")

    create_function(aws, "broken")
    runtime.register("broken", broken)
    answer = aws.client("lambda").invoke(FunctionName="broken", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    payload = json.loads(answer["Payload"].read())
    assert payload["errorType"] == "KeyError" and "missing" in payload["errorMessage"]


def test_a_failing_event_invocation_is_tried_three_times(aws, runtime):
    """AWS documentation "Asynchronous invocation" (invocation-async): two retries."""
    calls = []

    def flaky(event, context):
        calls.append(event)
        raise RuntimeError("down")

    create_function(aws, "flaky")
    runtime.register("flaky", flaky)
    aws.client("lambda").invoke(FunctionName="flaky", InvocationType="Event", Payload=b"{}")
    assert runtime.drain(5)
    assert len(calls) == 3
    assert runtime.failed_invocations[0][0].endswith("flaky")


def test_an_unimportable_handler_is_reported(aws, runtime):
    create_function(aws, "bad-handler", handler="no_such_module_here.handler")
    answer = aws.client("lambda").invoke(FunctionName="bad-handler", Payload=b"{}")
    assert answer["FunctionError"] == "Unhandled"
    assert json.loads(answer["Payload"].read())["errorType"] == "Runtime.ImportModuleError"


def test_direct_invoke_for_the_api_gateway(aws, runtime):
    """The embedded API Gateway calls `runtime.invoke(name, event)` and gets the result."""
    create_function(aws, "api")
    runtime.register("api", lambda event, context: {"statusCode": 200, "body": event["path"]})
    assert runtime.invoke("api", {"path": "/v1"}) == {"statusCode": 200, "body": "/v1"}
    runtime.register("api", lambda event, context: 1 / 0)
    with pytest.raises(FunctionError) as raised:
        runtime.invoke("api", {})
    assert raised.value.error_type == "ZeroDivisionError"
    with pytest.raises(FunctionNotFoundError):
        runtime.invoke("nope", {})


@pytest.mark.parametrize("value, expected", [
    ("fn", "fn"),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn", "fn"),
    ("arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", "fn"),
    ("fn:prod", "fn"),
])
def test_function_name_of(value, expected):
    assert function_name_of(value) == expected


@pytest.mark.parametrize("handler", ["nodot", "os.path.nothing_here", "no_module_xyz.run"])
def test_import_handler_refuses_what_is_not_a_callable(handler):
    with pytest.raises(HandlerImportError):
        import_handler("fn", handler)


def test_environment_is_applied_once_and_kept(monkeypatch):
    """Variables are written into the process once; a second function with the same stage
    variables changes nothing (no per-call swapping)."""
    monkeypatch.delenv("PGW_TEST_ONCE", raising=False)
    runner = LambdaRunner()
    runner.apply_environment({"PGW_TEST_ONCE": "1"})
    assert os.environ["PGW_TEST_ONCE"] == "1"
    runner.apply_environment({"PGW_TEST_ONCE": "1"})
    assert os.environ["PGW_TEST_ONCE"] == "1"


def test_stop_leaves_no_threads_and_unhooks_moto(aws):
    from moto.awslambda.models import LambdaFunction
    from moto.events.models import Rule

    original = (Rule.send_to_targets, LambdaFunction.invoke)
    before = {t.name for t in threading.enumerate()}
    runtime = LocalRuntime().start()
    with pytest.raises(RuntimeError):
        LocalRuntime().start()
    runtime.stop()
    after = {t.name for t in threading.enumerate() if t.is_alive()}
    assert not {name for name in after - before if name.startswith("pgw-")}
    assert (Rule.send_to_targets, LambdaFunction.invoke) == original


def test_event_invoke_config_bounds_retries_and_feeds_the_on_failure_destination(aws, runtime):
    """invocation-async ("Asynchronous invocation", "Configuring destinations"): after
    MaximumRetryAttempts the on-failure destination gets the invocation record with the
    request and the error."""
    calls = []
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName="async-failures")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    create_function(aws, "fails")
    aws.client("lambda").put_function_event_invoke_config(
        FunctionName="fails", MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}})
    runtime.register("fails", lambda event, context: calls.append(event) or 1 / 0)
    aws.client("lambda").invoke(FunctionName="fails", InvocationType="Event",
                                Payload=b'{"partner_id": "p1"}')
    assert runtime.drain(5)
    assert len(calls) == 2
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestPayload"] == {"partner_id": "p1"}
    assert record["responsePayload"]["errorType"] == "ZeroDivisionError"


@pytest.mark.parametrize("variables, field, expected", [
    ({"PGW_LOCAL_BACKOFF_SCALE": "0.5"}, "backoff_scale", 0.5),
    ({"PGW_LOCAL_DELIVERY_WORKERS": "3"}, "workers", 3),
    ({"PGW_LOCAL_DELIVERY_WORKERS": "0"}, "workers", 1),
    ({"PGW_LOCAL_HTTP_TIMEOUT": "2.5"}, "http_timeout", 2.5),
    ({"PGW_LOCAL_SCHEDULE_SECONDS": "30"}, "schedule_seconds", 30.0),
    ({"PGW_LOCAL_RATE_LIMITS": "on"}, "rate_limits", True),
    ({}, "backoff_scale", 0.01),
    ({}, "http_timeout", 5.0),
    ({}, "rate_limits", False),
    ({}, "schedule_seconds", None),
])
def test_runtime_settings_from_the_environment(monkeypatch, variables, field, expected):
    from infra.local.runtime import RuntimeSettings

    for name in ("PGW_LOCAL_BACKOFF_SCALE", "PGW_LOCAL_DELIVERY_WORKERS", "PGW_LOCAL_HTTP_TIMEOUT",
                 "PGW_LOCAL_SCHEDULE_SECONDS", "PGW_LOCAL_RATE_LIMITS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    assert getattr(RuntimeSettings(), field) == expected


@pytest.mark.parametrize("name, value", [("PGW_LOCAL_BACKOFF_SCALE", "fast"),
                                         ("PGW_LOCAL_HTTP_TIMEOUT", "-1"),
                                         ("PGW_LOCAL_RATE_LIMITS", "maybe")])
def test_bad_runtime_settings_are_named(monkeypatch, name, value):
    from infra.local.runtime import RuntimeSettings

    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        RuntimeSettings()


def test_one_function_runs_one_invocation_at_a_time():
    """An execution environment processes one event at a time
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): handler
    modules keep the current event at module level, so calls of one function never overlap,
    while different functions still run side by side."""
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    both = threading.Event()
    guard = threading.Lock()

    def handler_for(name):
        def handler(event, context):
            with guard:
                running[name] += 1
                most[name] = max(most[name], running[name])
                if running["a"] and running["b"]:
                    both.set()
            both.wait(0.05)
            with guard:
                running[name] -= 1
            return name
        return handler

    runner = LambdaRunner(overrides={"fn-a": handler_for("a"), "fn-b": handler_for("b")})
    threads = [threading.Thread(target=runner.call, args=(f"fn-{name}", {}))
               for name in "abab" * 3]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert most == {"a": 1, "b": 1}
    assert both.is_set()


# Two handler modules that import one package from both ends, each waiting (boundedly) until
# the other is inside: `racing_pkg/__init__.py` imports its submodule, and the submodule
# imports from the package. In one interpreter, concurrently, that is a circular import
# across threads (Python's import locks answer a partially initialised module, an
# ImportError, a KeyError from `sys.modules` or a deadlock error). Powertools' packages
# have this shape (`data_classes/__init__` <-> `data_classes.sqs_event`).
_RACING_MODULES = {
    "racing_gate.py": "import threading\npackage_entered = threading.Event()\n"
                      "submodule_entered = threading.Event()\n",
    "racing_pkg/__init__.py": "import racing_gate\nNAME = 'racing'\n"
                              "racing_gate.package_entered.set()\n"
                              "racing_gate.submodule_entered.wait(1)\n"
                              "from racing_pkg.sub import VALUE\n",
    "racing_pkg/sub.py": "import racing_gate\nracing_gate.submodule_entered.set()\n"
                         "racing_gate.package_entered.wait(1)\n"
                         "from racing_pkg import NAME\nVALUE = NAME + '-sub'\n",
    "racing_handler_a.py": "import racing_pkg\n\n"
                           "def handler(event, context):\n    return racing_pkg.VALUE\n",
    "racing_handler_b.py": "import racing_gate\nracing_gate.package_entered.wait(1)\n"
                           "import racing_pkg.sub\n\n"
                           "def handler(event, context):\n    return racing_pkg.sub.VALUE\n",
}


def test_functions_first_invoked_together_each_import_their_handler(tmp_path, monkeypatch):
    """Each function has its own execution environment, whose init phase imports the handler
    module (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):
    one function's init never sees another's half-imported modules. In one process the
    runtime imports handlers one at a time to keep that so."""
    for name, text in _RACING_MODULES.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for module in ("racing_gate", "racing_pkg", "racing_pkg.sub", "racing_handler_a",
                   "racing_handler_b"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    runner = LambdaRunner(overrides={"fn-a": "racing_handler_a.handler",
                                     "fn-b": "racing_handler_b.handler"})
    answers: dict[str, Any] = {}

    def first_call(name: str) -> None:
        try:
            answers[name] = runner.call(name, {})
        except BaseException as error:  # what reached the caller (a stream poller, a route)
            answers[name] = error

    threads = [threading.Thread(target=first_call, args=(name,)) for name in ("fn-a", "fn-b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert answers == {"fn-a": "racing-sub", "fn-b": "racing-sub"}


def test_a_handler_module_raising_at_import_is_an_import_error(tmp_path, monkeypatch):
    """python-handler: an error while the init phase imports the handler is the function's
    init error (Runtime.ImportModuleError and the like), reported on the invocation and tried
    again on the next one; it never escapes as some other exception into the caller."""
    (tmp_path / "raising_at_import.py").write_text(
        "import os\nif not os.environ.get('PGW_TEST_IMPORT_OK'):\n"
        "    raise KeyError('a setting')\n\ndef handler(event, context):\n    return 'ok'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "raising_at_import", raising=False)
    runner = LambdaRunner(overrides={"fn": "raising_at_import.handler"})
    with pytest.raises(HandlerImportError, match="KeyError"):
        runner.call("fn", {})
    monkeypatch.setenv("PGW_TEST_IMPORT_OK", "1")
    assert runner.call("fn", {}) == "ok"
