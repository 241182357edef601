"""Lambda Invoke served in-process by the local runtime."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

import pytest

from infra.local.runtime import (
    FunctionError,
    FunctionNotFoundError,
    HandlerImportError,
    LocalRuntime,
    RuntimeSettings,
)
from infra.local.runtime.environments import module_copies
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


def test_stop_leaves_no_threads_and_detaches_from_moto(aws):
    """After `stop()` the hooked calls get moto's own behaviour (no runtime is attached)."""
    from infra.local import patches

    before = {t.name for t in threading.enumerate()}
    runtime = LocalRuntime().start()
    assert patches.attached() is runtime
    with pytest.raises(RuntimeError):
        LocalRuntime().start()
    assert patches.attached() is runtime
    runtime.stop()
    after = {t.name for t in threading.enumerate() if t.is_alive()}
    assert not {name for name in after - before if name.startswith("pgw-")}
    assert patches.attached() is None


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
    ({"PGW_LOCAL_LAMBDA_ENVIRONMENTS": "2"}, "lambda_environments", 2),
    ({"PGW_LOCAL_LAMBDA_ENVIRONMENTS": "0"}, "lambda_environments", 1),
    ({}, "lambda_environments", 4),
    ({}, "backoff_scale", 0.01),
    ({}, "http_timeout", 5.0),
    ({}, "rate_limits", False),
    ({}, "schedule_seconds", None),
])
def test_runtime_settings_from_the_environment(monkeypatch, variables, field, expected):
    from infra.local.runtime import RuntimeSettings

    for name in ("PGW_LOCAL_BACKOFF_SCALE", "PGW_LOCAL_DELIVERY_WORKERS", "PGW_LOCAL_HTTP_TIMEOUT",
                 "PGW_LOCAL_SCHEDULE_SECONDS", "PGW_LOCAL_RATE_LIMITS",
                 "PGW_LOCAL_LAMBDA_ENVIRONMENTS"):
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


def test_a_callable_override_runs_one_invocation_at_a_time():
    """An execution environment processes one event at a time
    (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html): a test's
    callable is one object, so one environment, and its calls never overlap (whatever the
    runner's environments per function), while different functions still run side by side."""
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
    assert runner.environments == 4 and runner.concurrency("fn-a") == 1


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


# Execution environments. `env_gate` is a library module every environment shares (as
# `partners.*` is); `env_probe` and `env_api` are handler modules, imported once per
# environment, which report the identity of their module globals.
_ENVIRONMENT_MODULES = {
    "env_gate.py": "import threading\nlock = threading.Lock()\nentered = []\n"
                   "running = 0\nmost = 0\nbarrier = threading.Barrier(2, timeout=10)\n"
                   "release = threading.Event()\n",
    "env_probe.py": "import env_gate\ncache = None\n\n"
                    "def handler(event, context):\n    global cache\n"
                    "    if cache is None:\n        cache = object()\n"
                    "    with env_gate.lock:\n        env_gate.entered.append(id(globals()))\n"
                    "        env_gate.running += 1\n"
                    "        env_gate.most = max(env_gate.most, env_gate.running)\n"
                    "    try:\n"
                    "        if event.get('meet'):\n            env_gate.barrier.wait()\n"
                    "        if event.get('hold'):\n            env_gate.release.wait(10)\n"
                    "    finally:\n"
                    "        with env_gate.lock:\n            env_gate.running -= 1\n"
                    "    return {'globals': id(globals()), 'module': __name__}\n",
    "env_api.py": "import env_gate\n"
                  "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
                  "app = APIGatewayRestResolver()\n\n"
                  "@app.get('/<name>')\ndef read(name):\n    env_gate.barrier.wait()\n"
                  "    return {'path': app.current_event.path,\n"
                  "            'function': app.lambda_context.function_name}\n\n"
                  "def handler(event, context):\n    return app.resolve(event, context)\n",
}


@pytest.fixture
def gate(tmp_path, monkeypatch):
    """The environment test modules on `sys.path`, freshly imported; yields `env_gate`."""
    for name, text in _ENVIRONMENT_MODULES.items():
        (tmp_path / name).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in ("env_gate", "env_probe", "env_api"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    import env_gate

    return env_gate


@pytest.fixture
def runner():
    runners: list[LambdaRunner] = []

    def make(**kwargs: Any) -> LambdaRunner:
        runners.append(LambdaRunner(**kwargs))
        return runners[-1]

    yield make
    for made in runners:
        made.close()


def call_together(runner: LambdaRunner, calls: list[tuple[str, Any]]) -> list[Any]:
    """Run the calls on threads at once; each one's answer, or the error that reached it."""
    answers: list[Any] = [None] * len(calls)

    def call(index: int, function: str, event: Any) -> None:
        try:
            answers[index] = runner.call(function, event)
        except BaseException as error:
            answers[index] = error

    threads = [threading.Thread(target=call, args=(index, *pair))
               for index, pair in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(15)
    return answers


def wait_for(condition, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_concurrent_calls_of_one_function_run_in_separate_module_copies(gate, runner):
    """"Understanding Lambda function scaling" (lambda-concurrency): a request that arrives
    while the function's environment is busy gets a new execution environment, whose init
    phase imports the handler again ("Lambda execution environment", lambda-runtime-
    environment): both calls run at once (they meet at a barrier), each with its own module
    globals, while the library they import stays one module."""
    lambdas = runner(overrides={"fn": "env_probe.handler"})
    first, second = call_together(lambdas, [("fn", {"meet": True})] * 2)
    assert isinstance(first, dict) and isinstance(second, dict), (first, second)
    assert first["globals"] != second["globals"]
    assert sorted(answer["module"].split("__env")[0] for answer in (first, second)) == [
        "env_probe", "env_probe"]
    # Each environment is a copy: nothing the process built with the module reaches them.
    assert "env_probe" not in {first["module"], second["module"]}
    assert sys.modules[second["module"] if first["module"] == "env_probe"
                       else first["module"]].env_gate is gate
    assert lambdas.environment_pool("fn").size == 2


def test_a_fifth_call_waits_while_four_environments_are_busy(gate, runner):
    """lambda-concurrency: environments are created up to the limit (four here); the next
    request waits for one of them, and runs in it (warm: no fifth import)."""
    lambdas = runner(overrides={"fn": "env_probe.handler"}, environments=4)
    threads = [threading.Thread(target=lambdas.call, args=("fn", {"hold": True}))
               for _ in range(5)]
    for thread in threads[:4]:
        thread.start()
    try:
        assert wait_for(lambda: len(gate.entered) == 4)
        threads[4].start()
        assert wait_for(lambda: lambdas.environment_pool("fn").waiting == 1)
        assert len(gate.entered) == 4 and lambdas.environment_pool("fn").size == 4
    finally:
        gate.release.set()
        for thread in threads:
            if thread.is_alive() or thread.ident is not None:
                thread.join(15)
    assert len(gate.entered) == 5 and len(set(gate.entered)) == 4
    assert gate.most == 4 and lambdas.environment_pool("fn").size == 4


def test_each_environment_copy_keeps_its_own_globals(gate, runner):
    """lambda-runtime-environment: each environment keeps what its init phase and earlier
    invocations built in its globals, apart from the others; a closed runner's copies leave
    `sys.modules`."""
    gate.barrier = threading.Barrier(3, timeout=10)
    lambdas = runner(overrides={"fn": "env_probe.handler"})
    answers = call_together(lambdas, [("fn", {"meet": True})] * 3)
    assert all(isinstance(answer, dict) for answer in answers), answers
    copies = module_copies("env_probe")
    assert len(copies) == 3 and all(module.cache is not None for module in copies)
    assert len({id(module.cache) for module in copies}) == 3
    lambdas.close()
    assert module_copies("env_probe") == ([sys.modules["env_probe"]]
                                          if "env_probe" in sys.modules else [])
    assert not [name for name in sys.modules if name.startswith("env_probe__env")]


def test_powertools_request_state_is_per_environment(gate, runner):
    """lambda-runtime-environment: each environment is a process of its own, so Powertools'
    resolver state (kept on a class: `BaseRouter.current_event`) is one per invocation; two
    concurrent requests to one API function each see their own event."""
    lambdas = runner(overrides={"api": "env_api.handler"})
    events = [{"path": f"/{name}", "httpMethod": "GET", "headers": {}, "requestContext": {},
               "resource": "/{name}"} for name in ("first", "second")]
    answers = call_together(lambdas, [("api", event) for event in events])
    assert all(isinstance(answer, dict) for answer in answers), answers
    assert [json.loads(answer["body"]) for answer in answers] == [
        {"path": "/first", "function": "api"}, {"path": "/second", "function": "api"}]


def test_event_invocations_run_up_to_the_function_environments_at_once(aws, gate):
    """invocation-async and lambda-concurrency: asynchronous invocations of a busy function
    wait in its lane, and as many run at once as it has environments (two here, in pairs
    that meet at a barrier); none is lost or fails."""
    create_function(aws, "paired", handler="env_probe.handler")
    local = LocalRuntime(RuntimeSettings(backoff_scale=0.0001, workers=4,
                                         lambda_environments=2)).start()
    try:
        for _ in range(6):
            local.invoke_async("paired", {"meet": True})
        assert local.drain(30)
    finally:
        local.stop()
    assert len(gate.entered) == 6 and gate.most == 2
    assert local.failed_invocations == []
