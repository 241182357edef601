"""Benchmark the request-lifecycle handlers.

1. Import + init CPU time of each handler module (a fresh interpreter each run, the
   clients it builds on first use included) against a bare `import boto3` in the same kind of
   interpreter (goal: <= 1.5x), and against a bare Powertools module (Logger, Tracer,
   resolver) making the same clients (goal: <= 1.1x): what the gateway's own code adds to a
   cold start. The statements run in interleaved rounds, so the ratios hold on a busy machine.
2. Server time per `POST /v1/requests/{id}/status` (the partner API handler, authorizer
   context given) against a bare Powertools route that makes the very same AWS calls with the
   very same payloads (recorded from the handler's own calls, replayed on a twin stage).
   AWS is moto in-process. Goal: <= 1.3x: validation, authorisation, idempotency bookkeeping
   and serialisation must cost little next to the AWS calls.

    .venv/bin/python bench/handlers.py [--runs 7] [--posts 60]

Prints a table; the last line is one JSON object with the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Each handler and the AWS clients it makes on first use (for the bare-Powertools baseline).
HANDLERS = {
    "handlers.partner_api": ("dynamodb", "events", "s3"),
    # ... and its contact store's SNS client (the store shares the API's DynamoDB client).
    "handlers.portal_api": ("dynamodb", "events", "s3", "sns"),
    "handlers.authorizer": ("dynamodb", "dynamodb"),
    "handlers.routing_recorder": ("dynamodb",),
    "handlers.projector": ("dynamodb",),
    "handlers.notifier": ("dynamodb", "sns", "dynamodb", "sns"),
    # ... and the endpoint guard's SNS client for its alerts (on a stage with a topic).
    "handlers.reconciler": ("dynamodb", "secretsmanager", "events", "sts", "sqs", "sns"),
    "handlers.delivery_indexer": ("dynamodb",),
}
# A handler module with nothing of ours: Powertools' Logger, Tracer and resolver, and the
# same clients. The difference to it is what the gateway's own code costs at cold start.
_BARE_POWERTOOLS = (
    "import boto3\n"
    "from aws_lambda_powertools import Logger, Tracer\n"
    "from aws_lambda_powertools.event_handler import APIGatewayRestResolver\n"
    "logger, tracer, app = Logger(), Tracer(), APIGatewayRestResolver()\n"
    "session = boto3.session.Session()\n"
    "clients = [session.client(s) for s in {services!r}]"
)

_IMPORT_PROBE = """
import os, sys, time
sys.path.insert(0, {root!r})
start = time.process_time()
{statement}
print(time.process_time() - start)
"""


def stage_environment(stage: str) -> dict[str, str]:
    from infra.spec import stage_spec

    spec = stage_spec(stage)
    variables = spec.environment_variables()
    # The topic ARNs the stacks add (the portal API's contact store names its topic).
    variables.update({t.env_var: f"arn:aws:sns:us-east-1:123456789012:{t.name}"
                      for t in spec.topics.values()})
    # ... and the ARNs it gives the reconciler (its routing target and dead-letter queue).
    variables.update({
        "PGW_ROUTING_RECORDER_ARN": "arn:aws:lambda:us-east-1:123456789012:function:recorder",
        "PGW_ROUTING_DLQ_ARN": "arn:aws:sqs:us-east-1:123456789012:routing-dlq",
        "PGW_DELIVERY_ROLE_ARN": "arn:aws:iam::123456789012:role/delivery"})
    variables.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench",
                      "AWS_SECRET_ACCESS_KEY": "bench", "POWERTOOLS_TRACE_DISABLED": "true",
                      "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_SERVICE_NAME": "bench"})
    return variables


def cpu_seconds(statement: str, env: dict[str, str]) -> float:
    """CPU seconds of `statement` in a fresh interpreter (interpreter start excluded).

    CPU time, not wall time: imports are CPU-bound once the files are in the page cache, and
    CPU time swings less than wall time with whatever else the machine runs.
    """
    output = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE.format(root=str(ROOT), statement=statement)],
        env={**os.environ, **env}, capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


def paired(statements: dict[str, str], runs: int, env: dict[str, str]) -> dict[str, float]:
    """Median CPU seconds of each statement, measured in interleaved rounds.

    Each round runs every statement once, one after the other, so a burst of load on a noisy
    machine hits all of them alike and the ratios between them stay meaningful.
    """
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, statement in statements.items():
            samples[name].append(cpu_seconds(statement, env))
    return {name: statistics.median(values) for name, values in samples.items()}


def bench_imports(runs: int) -> dict[str, Any]:
    env = stage_environment("bench")
    statements = {"import boto3": "import boto3"}
    for module, services in HANDLERS.items():
        # A cold start: the import, then the dependencies the first invocation builds.
        statements[module] = f"import {module} as m; m.dependencies.get()"
        statements[f"bare:{module}"] = _BARE_POWERTOOLS.format(services=services)
    seconds = paired(statements, runs, env)
    baseline = seconds["import boto3"]
    rows = {"import boto3": (baseline, 1.0, 1.0)}
    for module in HANDLERS:
        rows[module] = (seconds[module], seconds[module] / baseline,
                        seconds[module] / seconds[f"bare:{module}"])
    return rows


# --- POST status ------------------------------------------------------------------------------


class CallRecorder:
    """Record every AWS call (service, operation, params) a set of clients makes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            self.calls.append((service, model.name, json.loads(json.dumps(params))))

        client.meta.events.register("provide-client-params.*.*", record)


def _rename(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    return value


def _snake(operation: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in operation).lstrip("_")


def bench_status_posts(posts: int) -> dict[str, Any]:
    from moto import mock_aws

    os.environ.update(stage_environment("bench"))
    with mock_aws():
        import boto3
        from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
        from botocore.exceptions import ClientError

        from infra.local.provision import provision_stage
        from infra.spec import stage_spec
        from partners.requests import RequestLog

        session = boto3.session.Session(region_name="us-east-1")
        stages = {name: stage_spec(name) for name in ("bench", "benchtwin")}
        for spec in stages.values():
            provision_stage(spec, session=session)
            log = RequestLog(spec.tables["request_events"].name, boto3_session=session)
            for i in range(posts):
                detail = {"environment": "prod", "request_id": f"r-bench-{i}",
                          "request_type": "stock.check", "occurred_at": "2026-11-23T10:00:00Z",
                          "schema_version": "1", "user_id": "u1", "attributes": {"sku": "A-1"}}
                log.record_routing(detail, partner_id="pbench", environment="prod",
                                   mode="poll", event_id=f"e{i}")

        import handlers.partner_api as api
        from tests.handlers.gateway import LambdaContext, proxy_event

        deps = api.Dependencies.from_environment(session=session)
        recorder = CallRecorder()
        for client in {id(c): c for c in (deps.log._dynamodb, deps.events,
                                           deps.s3)}.values():
            recorder.attach(client)
        context = {"partner_id": "pbench", "environment": "prod", "partner_name": "Bench",
                   "token_prefix": "pgw_prod_benchxxx"}

        def event(i: int) -> dict[str, Any]:
            return proxy_event("POST", f"/v1/requests/r-bench-{i}/status",
                               headers={"Idempotency-Key": f"bench-{i}"},
                               body={"status": "accepted", "note": "on it", "reference": "PO-7"},
                               authorizer=context)

        # The bare route: the same calls, same payloads, on the twin stage's tables.
        bare = APIGatewayRestResolver()
        twin_clients = {s: session.client(s) for s in ("dynamodb", "events")}
        replay: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}

        @bare.post("/v1/requests/<request_id>/status")
        def bare_post(request_id: str) -> Response:
            for service, operation, params in replay[request_id]:
                try:
                    getattr(twin_clients[service], _snake(operation))(**params)
                except ClientError:
                    pass  # (none expected: the twin holds the same prior log)
            return Response(202, "application/json", '{"ok":true}')

        warmup = 5
        api_times, bare_times = [], []
        with api.dependencies.override(deps):
            for i in range(posts):
                recorder.calls.clear()
                start = time.perf_counter()
                response = api.lambda_handler(event(i), LambdaContext())
                elapsed = time.perf_counter() - start
                assert response["statusCode"] == 202, response
                replay[f"r-bench-{i}"] = _rename(recorder.calls, "pgw-bench-", "pgw-benchtwin-")
                bare_event = event(i)
                start = time.perf_counter()
                bare_response = bare.resolve(bare_event, LambdaContext())
                bare_elapsed = time.perf_counter() - start
                assert bare_response["statusCode"] == 202
                if i >= warmup:
                    api_times.append(elapsed)
                    bare_times.append(bare_elapsed)
        operations = [f"{s}.{o}" for s, o, _ in replay["r-bench-0"]]
        handler_ms = statistics.median(api_times) * 1000
        bare_ms = statistics.median(bare_times) * 1000
        return {"handler_ms": handler_ms, "bare_ms": bare_ms, "ratio": handler_ms / bare_ms,
                "aws_calls": operations, "samples": len(api_times)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="interpreters per import timing")
    parser.add_argument("--posts", type=int, default=60, help="status posts to time")
    args = parser.parse_args(argv)

    imports = bench_imports(args.runs)
    print(f"{'import + init, CPU (median of ' + str(args.runs) + ')':<36}{'ms':>9}"
          f"{'x boto3':>9}{'x bare Powertools + same clients':>34}")
    for name, (seconds, ratio, bare_ratio) in imports.items():
        print(f"{name:<36}{seconds * 1000:>9.1f}{ratio:>9.2f}{bare_ratio:>34.2f}")
    posts = bench_status_posts(args.posts)
    print()
    print(f"POST /v1/requests/{{id}}/status, median of {posts['samples']} (moto in-process)")
    print(f"  AWS calls per post: {', '.join(posts['aws_calls'])}")
    print(f"  {'partner_api handler':<42}{posts['handler_ms']:>9.2f} ms")
    print(f"  {'bare Powertools route, same calls':<42}{posts['bare_ms']:>9.2f} ms")
    print(f"  {'ratio':<42}{posts['ratio']:>9.2f} x")
    result = {
        "import_ratio": {name.split(".")[-1]: round(ratio, 3)
                         for name, (_, ratio, _) in imports.items() if name != "import boto3"},
        "import_ratio_max": round(max(r for n, (_, r, _) in imports.items()
                                      if n != "import boto3"), 3),
        "import_goal": 1.5,
        "import_vs_bare_goal": 1.1,
        "import_vs_bare_powertools": {name.split(".")[-1]: round(bare, 3)
                                      for name, (_, _, bare) in imports.items()
                                      if name != "import boto3"},
        "post_status_ratio": round(posts["ratio"], 3),
        "post_status_goal": 1.3,
        "post_status_handler_ms": round(posts["handler_ms"], 3),
        "post_status_bare_ms": round(posts["bare_ms"], 3),
    }
    print(json.dumps(result, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
