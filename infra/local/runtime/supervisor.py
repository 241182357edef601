"""The local runtime: what AWS does at the points where moto stops, wired into moto in-process.

moto runs in this process (its server app in a thread, or `mock_aws` in tests), so its
backends can be reached directly. The patches in `infra.local.patches` hook moto at the
narrowest points and hand those calls to the runtime attached to them (`start()` attaches,
`stop()` detaches):

- `Rule.send_to_targets` (called by PutEvents, replays and cross-bus events, once per rule):
  the event is shaped as AWS sends it (ISO 8601 `time`), matched by moto's own pattern
  matcher, and each target's delivery is queued to a worker pool, so PutEvents returns at
  once. Disabled rules and schedule-only rules get no events (moto gives them every event).
  Archive, log-group and event-bus targets stay with moto.
- `LambdaFunction.invoke` (Lambda Invoke, and moto's own SNS/SQS-to-Lambda calls): the
  handler runs in-process (RequestResponse), or is queued (Event).
- `LambdaBackend.send_dynamodb_items` (moto's synchronous stream-to-Lambda call): replaced by
  a poller that feeds stream records in order, after the write returns.
- `TestEventPattern` and API Gateway `GetUsage` are answered (see `infra.local.patches`).
- Scheduled rules and EventBridge Scheduler schedules fire (see `scheduler`).

Targets the runtime delivers: Lambda (asynchronous invocation), API destinations (`api_
destinations`: auth, headers, retries; rate limits when `PGW_LOCAL_RATE_LIMITS=on`), SQS, SNS
and Firehose (`firehose`: S3 keys, partitioning and compression as Firehose writes them).

Only one runtime is active in a process at a time; after `stop()` the hooked calls get
moto's own behaviour again.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Mapping

from infra.local import patches
from infra.local.patches import UsageRecorder
from infra.local.runtime.api_destinations import (
    DEFAULT_TIMEOUT_SECONDS,
    ApiDestinationCaller,
    ConnectionAuthorizer,
    RateLimiter,
)
from infra.local.runtime.bus_logs import BusLogs, InvocationLog
from infra.local.runtime.delivery import (
    AsyncInvocation,
    Backoff,
    DeadLetterOffice,
    RuleRef,
    TargetDelivery,
    TargetSender,
)
from infra.local.runtime.dispatcher import Dispatcher
from infra.local.runtime.envelope import ShapedEvents
from infra.local.runtime.lambdas import (
    DEFAULT_ACCOUNT,
    DEFAULT_ENVIRONMENTS,
    FunctionError,
    Handler,
    HandlerImportError,
    LambdaRunner,
)
from infra.local.runtime.lanes import FunctionLanes
from infra.local.runtime.log_filters import LogSubscriptions
from infra.local.runtime.scheduler import Scheduler
from infra.local.runtime.streams import StreamPoller

logger = logging.getLogger(__name__)

# Environment variables that tune the runtime (README: "The local runtime").
BACKOFF_SCALE_VAR = "PGW_LOCAL_BACKOFF_SCALE"
WORKERS_VAR = "PGW_LOCAL_DELIVERY_WORKERS"
HTTP_TIMEOUT_VAR = "PGW_LOCAL_HTTP_TIMEOUT"
SCHEDULE_SECONDS_VAR = "PGW_LOCAL_SCHEDULE_SECONDS"
RATE_LIMITS_VAR = "PGW_LOCAL_RATE_LIMITS"
LAMBDA_ENVIRONMENTS_VAR = "PGW_LOCAL_LAMBDA_ENVIRONMENTS"


def _env_switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "on", "yes"):
        return True
    if raw in ("0", "false", "off", "no"):
        return False
    raise ValueError(f"{name} must be on or off, not {raw!r}")


def _env_float(name: str, default: float | None) -> float | None:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    return value


def _env_number(name: str, default: float) -> float:
    value = _env_float(name, default)
    return default if value is None else value


@dataclass
class RuntimeSettings:
    """How the runtime runs; every field has an environment variable (read at creation)."""

    # Local waits are AWS waits times this (retry backoff, Lambda async retries, stream
    # retries): 0.01 turns EventBridge's first 1-2 s retry into 10-20 ms.
    backoff_scale: float = field(default_factory=lambda: _env_number(BACKOFF_SCALE_VAR, 0.01))
    workers: int = field(default_factory=lambda: max(1, int(_env_number(WORKERS_VAR, 8))))
    http_timeout: float = field(
        default_factory=lambda: _env_number(HTTP_TIMEOUT_VAR, DEFAULT_TIMEOUT_SECONDS))
    # Replaces the period of every schedule (None: the rule's own rate).
    schedule_seconds: float | None = field(
        default_factory=lambda: _env_float(SCHEDULE_SECONDS_VAR, None))
    # Hold API destinations to their InvocationRateLimitPerSecond, as EventBridge does. Off
    # by default so that local benchmarks measure the pipeline, not the partners' limits.
    rate_limits: bool = field(default_factory=lambda: _env_switch(RATE_LIMITS_VAR, False))
    # Execution environments per function: concurrent invocations of one function run in
    # separate copies of its handler module, up to this many at once (1: one at a time).
    lambda_environments: int = field(default_factory=lambda: max(1, int(
        _env_number(LAMBDA_ENVIRONMENTS_VAR, DEFAULT_ENVIRONMENTS))))
    stream_interval: float = 0.05
    account: str = DEFAULT_ACCOUNT
    region: str = field(default_factory=lambda: os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")


_active: LocalRuntime | None = None
_active_lock = threading.Lock()


def active_runtime() -> LocalRuntime | None:
    return _active


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in dict(headers).items():
        if str(key).lower() == name.lower():
            return candidate
    return None


class LocalRuntime:
    """Start, stop and drain the local runtime; invoke functions; record API usage.

    Parameters
    ----------
    settings: tuning (defaults from the environment variables above).
    handlers: function name -> handler string or callable, overriding the function's
        `Handler` (tests register small test-local handlers).
    http: a `requests.Session`-like object for API destination calls (tests may inject).
    rng: the random source of backoff jitter.
    usage: the usage recorder GetUsage reads (the API Gateway emulation records into it).
    """

    def __init__(self, settings: RuntimeSettings | None = None, *,
                 handlers: Mapping[str, str | Handler] | None = None, http: Any | None = None,
                 rng: random.Random | None = None, usage: UsageRecorder | None = None):
        self.settings = settings or RuntimeSettings()
        self.lambdas = LambdaRunner(overrides=handlers, account=self.settings.account,
                                    region=self.settings.region,
                                    environments=self.settings.lambda_environments)
        self.usage = usage or UsageRecorder()
        self.dead_letters = DeadLetterOffice()
        self.failed_invocations: list[tuple[str, Any, str]] = []
        self.http = ApiDestinationCaller(timeout=self.settings.http_timeout, http=http)
        self.authorizer = ConnectionAuthorizer(self.http)
        self.backoff = Backoff(rng=rng or random.Random())
        self.dispatcher = Dispatcher(self.settings.workers)
        self.lanes = FunctionLanes(self.dispatcher.submit, capacity=self.lambdas.concurrency)
        self.sender = TargetSender(lambdas=self.lambdas, http=self.http,
                                   invoke_async=self.invoke_async,
                                   limiter=RateLimiter() if self.settings.rate_limits else None)
        self.streams = StreamPoller(self.lambdas, account=self.settings.account,
                                    region=self.settings.region,
                                    interval=self.settings.stream_interval,
                                    scale=self.settings.backoff_scale)
        self.scheduler = Scheduler(self._fire_schedule, account=self.settings.account,
                                   region=self.settings.region,
                                   override=self.settings.schedule_seconds,
                                   fire_schedule=self._fire_scheduler_schedule)
        self._shaped = ShapedEvents()
        # The bus's own logs (event bus logs -> log group -> subscription -> indexer).
        self.bus_logs = BusLogs(account=self.settings.account, region=self.settings.region)
        self.log_subscriptions = LogSubscriptions(self.invoke_async,
                                                  account=self.settings.account,
                                                  region=self.settings.region)

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LocalRuntime:
        """Attach to moto's patches and start the workers, the stream poller and the scheduler.

        Raises:
            RuntimeError: another runtime is active in this process.
            infra.local.patches.PatchVersionError: moto or Powertools is not a release the
                patches were written for.
        """
        global _active
        patches.apply()
        with _active_lock:
            if _active is not None and _active is not self:
                raise RuntimeError("another local runtime is active in this process")
            _active = self
        patches.attach(self)
        self.bus_logs.start()
        self.dispatcher.start()
        self.streams.start()
        self.scheduler.start()
        return self

    def stop(self, timeout: float = 15.0) -> None:
        """Detach from moto's patches and stop every thread this runtime started.

        Waits at most `timeout` seconds in all for work in flight (a delivery, an
        invocation); threads still busy then are daemons and end with the process.
        """
        global _active
        deadline = time.monotonic() + timeout

        def left() -> float:
            return max(0.0, deadline - time.monotonic())

        self.scheduler.stop(left())
        self.streams.stop(left())
        self.bus_logs.stop(left())
        self.dispatcher.stop(left())
        patches.detach(self)
        self.lambdas.close()
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> LocalRuntime:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued delivery, retry, invocation and stream record is done.

        Returns False when `timeout` seconds pass first (something is still retrying).
        """
        deadline = time.monotonic() + timeout
        quiet = 0
        while time.monotonic() < deadline:
            if not self.dispatcher.drain(max(0.0, deadline - time.monotonic())):
                return False
            if (self.streams.pending() == 0 and self.dispatcher.pending == 0
                    and self.lanes.waiting() == 0 and self.bus_logs.pending() == 0):
                quiet += 1
                if quiet >= 2:  # twice in a row: a stream handler may have just put events
                    return True
            else:
                quiet = 0
            time.sleep(0.01)
        return False

    # -- functions -----------------------------------------------------------------------

    def register(self, function_name: str, handler: str | Handler) -> None:
        """Run `handler` for `function_name` (instead of its configured handler string)."""
        self.lambdas.register(function_name, handler)

    def invoke(self, function: str, event: Any) -> Any:
        """Invoke a function synchronously in-process; return its (JSON round-tripped) result.

        Raises:
            FunctionNotFoundError, HandlerImportError, FunctionError: as Lambda would fail.
        """
        result = self.lambdas.call(function, json.loads(json.dumps(event)))
        return json.loads(json.dumps(result)) if result is not None else None

    def invoke_async(self, function: str, event: Any) -> None:
        """Queue an `Event` invocation (retried twice on failure, as Lambda does)."""
        self.lanes.submit(AsyncInvocation(function, event, self.lambdas,
                                          self.settings.backoff_scale,
                                          self.failed_invocations))

    # -- connections ---------------------------------------------------------------------

    def authorize_connection(self, connection_arn: str, auth_parameters: Mapping[str, Any],
                             done: Any) -> None:
        """Authorise an OAuth connection as EventBridge does: a token request to its
        authorization endpoint, in the background; `done(authorized, reason)` when answered
        (moto's patched connections call this after CreateConnection/UpdateConnection)."""
        self.authorizer.start(connection_arn, auth_parameters, done)

    # -- events --------------------------------------------------------------------------

    def route(self, rule: Any, moto_event: Mapping[str, Any]) -> None:
        """Queue `moto_event`'s delivery to `rule`'s targets if the rule matches it."""
        if not str(rule.state).startswith("ENABLED"):
            return
        if rule.event_pattern.dump() is None:
            return  # a schedule-only rule matches no event
        shaped = self._shaped.get(moto_event)
        bus = str(getattr(rule, "event_bus_name", "") or "default")
        self.bus_logs.event_receipt(bus, shaped.event)
        if not shaped.matches(rule):
            return
        event, ingestion = shaped.event, shaped.ingestion_time
        ours: list[dict[str, Any]] = []
        moto_owned: list[dict[str, Any]] = []
        for target in list(rule.targets):
            (moto_owned if _moto_delivers(target["Arn"]) else ours).append(target)
        # One invocation (and id) per target, by target id (two targets may share an ARN).
        logs = {target["Id"]: self.bus_logs.invocation(
            bus, rule_arn=rule.arn, target=target, event=event,
            ingestion_ms=_epoch_ms(moto_event.get("ingestion-time"))) for target in ours}
        self.bus_logs.rule_match(bus, event, rule.arn, [
            *((t["Arn"], str(uuid.uuid4())) for t in moto_owned),
            *((t["Arn"], logs[t["Id"]].invocation_id) for t in ours)])
        if moto_owned:
            clone = copy.copy(rule)
            clone.targets = moto_owned
            patches.send_with_moto(clone, dict(moto_event))
        for target in ours:
            self._deliver(rule, copy.deepcopy(target), event, ingestion, logs[target["Id"]])

    def _deliver(self, rule: Any, target: Mapping[str, Any], event: Mapping[str, Any],
                 ingestion: str, log: InvocationLog | None = None) -> None:
        self.dispatcher.submit(TargetDelivery(
            rule=RuleRef(rule.name, rule.arn, rule.account_id, rule.region_name),
            target=target, event=event, ingestion_time=ingestion, sender=self.sender,
            office=self.dead_letters, backoff=self.backoff, scale=self.settings.backoff_scale,
            log=log or InvocationLog.nobody(),
        ))

    def _fire_schedule(self, rule: Any, event: dict[str, Any]) -> None:
        for target in list(rule.targets):
            if _moto_delivers(target["Arn"]):
                continue
            self._deliver(rule, copy.deepcopy(target), event, event["time"])

    def _fire_scheduler_schedule(self, schedule: Any) -> None:
        """An EventBridge Scheduler schedule: its target gets the schedule's `Input`."""
        target = dict(schedule.target)
        payload = target.get("Input") or "{}"
        target["Input"] = payload
        try:
            event = json.loads(payload)
        except ValueError:
            event = {"input": payload}
        if not isinstance(event, dict):
            event = {"input": event}
        event.setdefault("id", str(uuid.uuid4()))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        parts = schedule.arn.split(":")
        self.dispatcher.submit(TargetDelivery(
            rule=RuleRef(schedule.name, schedule.arn, parts[4], parts[3]), target=target,
            event=event, ingestion_time=now, sender=self.sender, office=self.dead_letters,
            backoff=self.backoff, scale=self.settings.backoff_scale,
        ))

    # -- Lambda Invoke (through `patches.moto_lambda`) ----------------------------------

    def serve_invoke(self, function: Any, body: Any, request_headers: Any,
                      response_headers: Any) -> bytes:
        """Lambda Invoke: RequestResponse runs the handler now, Event queues it."""
        kind = _header(request_headers, "x-amz-invocation-type") or "RequestResponse"
        try:
            event = json.loads(body) if body else {}
        except ValueError:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": "Could not parse request body into json",
                               "errorType": "Runtime.InvalidRequestPayload"}).encode()
        if kind == "DryRun":
            return b""
        if kind == "Event":
            self.invoke_async(function.function_arn, event)
            return b""
        try:
            result = self.lambdas.call(function.function_arn, event)
        except FunctionError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps(error.payload).encode()
        except HandlerImportError as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(error),
                               "errorType": "Runtime.ImportModuleError"}).encode()
        try:
            return json.dumps(result).encode()
        except (TypeError, ValueError) as error:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": f"Unable to marshal response: {error}",
                               "errorType": "Runtime.MarshalError"}).encode()


def _epoch_ms(value: Any) -> int | None:
    """moto's `ingestion-time` (epoch seconds, a float) in milliseconds."""
    try:
        return int(float(value) * 1000) if value is not None else None
    except (TypeError, ValueError):
        return None


def _moto_delivers(arn: str) -> bool:
    """Targets moto already delivers as AWS does: archives, log groups, other buses."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return False
    service, resource = parts[2], parts[5]
    if service == "logs":
        return True
    return service == "events" and (resource.startswith("event-bus/") or "/" not in resource
                                    and not resource.startswith("api-destination"))
