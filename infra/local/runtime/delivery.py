"""Deliver a matched event to one rule target as EventBridge does: retry, then dead-letter.

AWS documentation followed: "Sending and receiving events in Amazon EventBridge" / "Event
retry policy and using dead-letter queues" (eb-rule-dlq, eb-rule-retry-policy): retries with
exponential backoff and jitter bounded by the target's `RetryPolicy`
(`MaximumRetryAttempts` default 185, `MaximumEventAgeInSeconds` default 86,400); errors
that retrying cannot fix (a missing target, a 4xx answer) go to the DLQ at once; a DLQ
message is the event, with the attributes `RULE_ARN`, `TARGET_ARN`, `ERROR_CODE`,
`ERROR_MESSAGE`, `EXHAUSTED_RETRY_CONDITION` and `RETRY_ATTEMPTS`. Lambda targets are
invoked asynchronously ("Asynchronous invocation", invocation-async: two retries of a
failed function, one then two minutes apart, then the on-failure destination).

Local time runs faster: every wait is the AWS wait times `scale` (PGW_LOCAL_BACKOFF_SCALE);
the event's age is counted in AWS seconds (the waits before scaling), so a retry policy
means the same number of attempts locally as on AWS.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from infra.local.patches import connection_state, mark_deauthorized
from infra.local.runtime.api_destinations import (
    ApiDestinationCaller,
    CallResult,
    Destination,
    RateLimiter,
)
from infra.local.runtime.bus_logs import InvocationLog
from infra.local.runtime.lambdas import (
    FunctionError,
    FunctionNotFoundError,
    HandlerImportError,
    LambdaRunner,
)
from infra.local.runtime.transformer import RuleContext, render_input

logger = logging.getLogger(__name__)

DEFAULT_MAXIMUM_RETRY_ATTEMPTS = 185
DEFAULT_MAXIMUM_EVENT_AGE = 86_400
LAMBDA_ASYNC_RETRY_DELAYS = (60.0, 120.0)


@dataclass(frozen=True)
class RetryPolicy:
    """A target's RetryPolicy, with EventBridge's defaults."""

    maximum_retry_attempts: int = DEFAULT_MAXIMUM_RETRY_ATTEMPTS
    maximum_event_age: float = DEFAULT_MAXIMUM_EVENT_AGE

    @classmethod
    def of(cls, target: Mapping[str, Any]) -> RetryPolicy:
        policy = target.get("RetryPolicy") or {}
        return cls(
            int(policy.get("MaximumRetryAttempts", DEFAULT_MAXIMUM_RETRY_ATTEMPTS)),
            float(policy.get("MaximumEventAgeInSeconds", DEFAULT_MAXIMUM_EVENT_AGE)),
        )


@dataclass
class Backoff:
    """Exponential backoff with jitter: attempt n waits between half and all of base * 2^(n-1)."""

    base: float = 1.0
    cap: float = 300.0
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


class TargetError(Exception):
    """A delivery attempt failed; `retryable` says whether EventBridge would try again."""

    def __init__(self, code: str, message: str, *, retryable: bool,
                 retry_after: float | None = None, http_status: int | None = None):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after
        self.http_status = http_status  # the endpoint's answer, for an API destination


@dataclass(frozen=True)
class RuleRef:
    name: str
    arn: str
    account: str
    region: str


@dataclass
class DeadLetter:
    """An event that left the runtime undelivered: to a DLQ, or dropped without one."""

    rule_arn: str
    target_arn: str
    event: Mapping[str, Any]
    error_code: str
    error_message: str
    exhausted: str | None
    attempts: int
    queue_arn: str | None


def _arn_parts(arn: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        raise TargetError("RESOURCE_NOT_FOUND", f"not an ARN: {arn}", retryable=False)
    return parts[2], parts[3], parts[4], parts[5]


def _millis(began: float) -> int:
    return int((time.monotonic() - began) * 1000)


def _arn_service(arn: str) -> str:
    parts = str(arn).split(":")
    return parts[2] if len(parts) > 2 else ""


def _missing(error: Exception) -> bool:
    name = type(error).__name__
    text = str(error)
    return ("NotFound" in name or "DoesNotExist" in name or "NonExistent" in name
            or "does not exist" in text or "not found" in text.lower())


class Throttled(Exception):
    """The destination's invocation rate is used up: try again in `wait` (real) seconds."""

    def __init__(self, wait: float):
        super().__init__(f"invocation rate limit reached; next slot in {wait:.3f} s")
        self.wait = wait


class TargetSender:
    """Send a rendered input to a target ARN once (SQS, SNS, Firehose, API destination, Lambda).

    `limiter`, when given, holds API destinations to their InvocationRateLimitPerSecond.
    """

    def __init__(self, *, lambdas: LambdaRunner, http: ApiDestinationCaller,
                 invoke_async: Callable[[str, Any], None], limiter: RateLimiter | None = None):
        self.lambdas = lambdas
        self.http = http
        self.invoke_async = invoke_async
        self.limiter = limiter

    def send(self, target: Mapping[str, Any], payload: str,
             event: Mapping[str, Any]) -> int | None:
        """Deliver once; the HTTP status an API destination answered (None for the others).

        Raises:
            TargetError: the attempt failed (retryable or not).
            Throttled: an API destination's rate limit holds the event back (no attempt made).
        """
        arn = target["Arn"]
        service, region, account, resource = _arn_parts(arn)
        try:
            if service == "lambda":
                self._to_lambda(arn, payload)
            elif service == "sqs":
                self._to_sqs(account, region, resource, payload, target, event)
            elif service == "sns":
                self._to_sns(account, region, arn, payload)
            elif service == "firehose":
                self._to_firehose(account, region, resource, payload)
            elif service == "events" and resource.startswith("api-destination/"):
                return self._to_api_destination(account, region, resource, payload, target)
            else:
                raise TargetError("UNSUPPORTED_TARGET",
                                  f"the local runtime does not deliver to {service} targets",
                                  retryable=False)
        except (TargetError, Throttled):
            raise
        except Exception as error:  # moto's own exceptions: a missing resource, a bad value
            raise TargetError("RESOURCE_NOT_FOUND" if _missing(error) else "SDK_CLIENT_ERROR",
                              f"{type(error).__name__}: {error}",
                              retryable=not _missing(error)) from error
        return None

    def _to_lambda(self, arn: str, payload: str) -> None:
        try:
            self.lambdas.describe(arn)
        except FunctionNotFoundError as error:
            raise TargetError("RESOURCE_NOT_FOUND", str(error), retryable=False) from error
        try:
            event = json.loads(payload)
        except ValueError:
            event = payload
        self.invoke_async(arn, event)

    @staticmethod
    def _to_sqs(account: str, region: str, queue_name: str, payload: str,
                target: Mapping[str, Any], event: Mapping[str, Any]) -> None:
        from moto.sqs.models import sqs_backends

        group_id = (target.get("SqsParameters") or {}).get("MessageGroupId")
        sqs_backends[account][region].send_message(
            queue_name=queue_name, message_body=payload, group_id=group_id,
            deduplication_id=str(event.get("id")) if group_id else None)

    @staticmethod
    def _to_sns(account: str, region: str, topic_arn: str, payload: str) -> None:
        from moto.sns.models import sns_backends

        sns_backends[account][region].publish(message=payload, arn=topic_arn)

    @staticmethod
    def _to_firehose(account: str, region: str, resource: str, payload: str) -> None:
        from infra.local.runtime import firehose

        firehose.deliver(account, region, resource.split("/", 1)[-1], payload.encode())

    def _to_api_destination(self, account: str, region: str, resource: str, payload: str,
                            target: Mapping[str, Any]) -> int | None:
        destination = find_destination(account, region, resource)
        if self.limiter is not None:
            wait = self.limiter.reserve(destination.arn, destination.rate_limit)
            if wait > 0:
                raise Throttled(wait)
        result: CallResult = self.http.call(destination, payload, target.get("HttpParameters"))
        if result.succeeded:
            return result.status
        raise TargetError(result.error_code, result.error_message, retryable=result.retryable,
                          retry_after=result.retry_after, http_status=result.status)


def find_destination(account: str, region: str, resource: str) -> Destination:
    """The API destination and its connection's auth, read from moto's events backend.

    DescribeConnection does not return secret values (on AWS, nor should it here), so the
    runtime reads them where moto keeps them, as EventBridge reads its own secret.

    Raises:
        TargetError: the destination or its connection does not exist (not retryable).
    """
    from moto.events.models import events_backends

    backend = events_backends[account][region]
    name = resource.split("/")[1]
    record = backend.destinations.get(name)
    if record is None:
        raise TargetError("RESOURCE_NOT_FOUND", f"API destination {name} does not exist",
                          retryable=False)
    connection_name = record.connection_arn.split(":connection/", 1)[-1].split("/")[0]
    connection = backend.connections.get(connection_name)
    if connection is None:
        raise TargetError("RESOURCE_NOT_FOUND", f"connection {connection_name} does not exist",
                          retryable=False)
    try:
        rate = float(record.invocation_rate_limit_per_second or 300)
    except (TypeError, ValueError):
        rate = 300.0
    state, reason = connection_state(connection)  # a call needs an AUTHORIZED connection
    return Destination(
        arn=record.arn, endpoint=record.invocation_endpoint,
        http_method=record.http_method or "POST", connection_arn=connection.arn,
        authorization_type=connection.authorization_type,
        auth_parameters=connection.auth_parameters or {}, rate_limit=rate,
        connection_state=state, state_reason=reason,
        on_deauthorized=lambda why: mark_deauthorized(connection, why),
    )


class DeadLetterOffice:
    """Write undelivered events to their DLQ; keep a record of every one (tests, bench)."""

    def __init__(self) -> None:
        self.letters: list[DeadLetter] = []
        self._lock = threading.Lock()

    def post(self, letter: DeadLetter) -> None:
        with self._lock:
            self.letters.append(letter)
        if not letter.queue_arn:
            logger.warning("event %s to %s dropped without a DLQ: %s %s",
                           letter.event.get("id"), letter.target_arn, letter.error_code,
                           letter.error_message)
            return
        attributes = {
            "RULE_ARN": letter.rule_arn,
            "TARGET_ARN": letter.target_arn,
            "ERROR_CODE": letter.error_code,
            "ERROR_MESSAGE": letter.error_message[:1000],
            "RETRY_ATTEMPTS": str(max(0, letter.attempts - 1)),
        }
        if letter.exhausted:
            attributes["EXHAUSTED_RETRY_CONDITION"] = letter.exhausted
        message_attributes = {k: {"DataType": "String", "StringValue": v}
                              for k, v in attributes.items() if v}
        try:
            from moto.sqs.models import sqs_backends

            _, region, account, queue_name = _arn_parts(letter.queue_arn)
            sqs_backends[account][region].send_message(
                queue_name=queue_name, message_body=json.dumps(letter.event),
                message_attributes=message_attributes)
        except Exception as error:  # the DLQ itself is missing: AWS drops the event too
            logger.error("event %s could not be written to DLQ %s: %s", letter.event.get("id"),
                         letter.queue_arn, error)


@dataclass
class TargetDelivery:
    """One event on its way to one target of one rule (a dispatcher task)."""

    rule: RuleRef
    target: Mapping[str, Any]
    event: Mapping[str, Any]
    ingestion_time: str
    sender: TargetSender
    office: DeadLetterOffice
    backoff: Backoff
    scale: float
    attempts: int = 0
    age: float = 0.0
    delays: list[float] = field(default_factory=list)
    throttled_seconds: float = 0.0
    started: float = field(default_factory=time.monotonic)
    # The bus log records of this invocation (`bus_logs`); nobody's by default.
    log: InvocationLog = field(default_factory=InvocationLog.nobody)

    @property
    def priority(self) -> int:
        """Deliveries to the outside (API destinations) go first; targets inside AWS
        (Lambda, SQS, SNS, Firehose) after them (see `dispatcher`)."""
        return 0 if ":api-destination/" in str(self.target.get("Arn", "")) else 1

    def run(self) -> float | None:
        policy = RetryPolicy.of(self.target)
        try:
            payload = render_input(self.target, self.event,
                                   RuleContext(self.rule.name, self.rule.arn, self.ingestion_time))
        except ValueError as error:
            self._dead_letter("INPUT_TRANSFORMATION_ERROR", str(error), None)
            return None
        self.log.start(payload)
        attempt = self.attempts + 1
        began = time.monotonic()
        try:
            self.log.attempt_start(attempt)
            status = self.sender.send(self.target, payload, self.event)
            self.attempts += 1
            self.log.attempt_succeeded(attempt, status, _millis(began))
            self.log.succeeded(self.attempts)
            return None
        except Throttled as throttled:
            # Held back, not attempted: only the event's age bounds the wait (real seconds).
            self.log.throttled(attempt, str(throttled))
            self.throttled_seconds += throttled.wait
            if self._elapsed() + throttled.wait > policy.maximum_event_age:
                self._dead_letter("THROTTLING", str(throttled), "MaximumEventAgeInSeconds")
                return None
            return throttled.wait
        except TargetError as error:
            self.attempts += 1
            failure = error
            self.log.attempt_failed(attempt, retryable=error.retryable, status=error.http_status,
                                    code=error.code, message=error.message,
                                    service=_arn_service(self.target.get("Arn", "")),
                                    duration_ms=_millis(began))
        if not failure.retryable:
            self._dead_letter(failure.code, failure.message, None, failure.http_status)
            return None
        if self.attempts - 1 >= policy.maximum_retry_attempts:
            self._dead_letter(failure.code, failure.message, "MaximumRetryAttempts",
                              failure.http_status)
            return None
        delay = max(self.backoff.delay(self.attempts), failure.retry_after or 0.0)
        if self._elapsed() + delay > policy.maximum_event_age:
            self._dead_letter(failure.code, failure.message, "MaximumEventAgeInSeconds",
                              failure.http_status)
            return None
        self.age += delay
        self.delays.append(delay)
        logger.info("retrying event %s to %s in %.1f s (AWS time): %s", self.event.get("id"),
                    self.target.get("Arn"), delay, failure.code)
        return delay * self.scale

    def _elapsed(self) -> float:
        """The event's age in AWS seconds: the (unscaled) retry waits plus real time spent."""
        return self.age + (time.monotonic() - self.started)

    def _dead_letter(self, code: str, message: str, exhausted: str | None,
                     status: int | None = None) -> None:
        queue = (self.target.get("DeadLetterConfig") or {}).get("Arn")
        self.log.failed(self.attempts, code, message, dead_lettered=bool(queue), status=status,
                        service=_arn_service(self.target.get("Arn", "")))
        self.office.post(DeadLetter(
            rule_arn=self.rule.arn, target_arn=self.target["Arn"], event=self.event,
            error_code=code, error_message=message, exhausted=exhausted,
            attempts=self.attempts,
            queue_arn=(self.target.get("DeadLetterConfig") or {}).get("Arn"),
        ))
        return None


@dataclass
class AsyncInvocation:
    """A Lambda `Event` invocation: run the handler, retry a failure, then the on-failure
    destination (the function's event invoke config: MaximumRetryAttempts, default 2;
    DestinationConfig.OnFailure, an SQS queue, gets Lambda's invocation record)."""

    priority = 1
    function: str
    event: Any
    lambdas: LambdaRunner
    scale: float
    failures: list[tuple[str, Any, str]]
    attempts: int = 0

    def run(self) -> float | None:
        self.attempts += 1
        try:
            info = self.lambdas.describe(self.function)
            self.lambdas.call(self.function, self.event)
            return None
        except (FunctionNotFoundError, HandlerImportError) as error:
            self.failures.append((self.function, self.event, str(error)))
            logger.error("async invocation of %s impossible: %s", self.function, error)
            return None
        except FunctionError as error:
            retries = int(info.async_config.get("MaximumRetryAttempts",
                                                len(LAMBDA_ASYNC_RETRY_DELAYS)))
            if self.attempts <= min(retries, len(LAMBDA_ASYNC_RETRY_DELAYS)):
                return LAMBDA_ASYNC_RETRY_DELAYS[self.attempts - 1] * self.scale
            self.failures.append((self.function, self.event, str(error)))
            logger.error("async invocation of %s failed %d times: %s", self.function,
                         self.attempts, error)
            self._on_failure(info.arn, info.async_config, error)
            return None

    def _on_failure(self, function_arn: str, config: Mapping[str, Any],
                    error: FunctionError) -> None:
        destination = (config.get("DestinationConfig") or {}).get("OnFailure", {}).get(
            "Destination")
        if not destination or ":sqs:" not in destination:
            return
        record = {
            "version": "1.0",
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "requestContext": {"requestId": error.payload.get("requestId") or "",
                               "functionArn": function_arn, "condition": "RetriesExhausted",
                               "approximateInvokeCount": self.attempts},
            "requestPayload": self.event,
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": error.error_message,
                                "errorType": error.error_type},
        }
        try:
            from moto.sqs.models import sqs_backends

            _, region, account, queue_name = _arn_parts(destination)
            sqs_backends[account][region].send_message(queue_name=queue_name,
                                                       message_body=json.dumps(record))
        except Exception as failure:
            logger.error("on-failure destination %s unreachable: %s", destination, failure)
