"""DynamoDB Streams -> Lambda, through the event source mappings stored in moto.

moto invokes a stream's mapped function inside the very PutItem call (synchronously, and in
Docker). AWS instead polls the stream: records reach the function in order per shard, in
batches, after the write has returned, and a failed batch is retried (blocking the shard)
until it succeeds or the mapping's `MaximumRetryAttempts` is spent. This poller does that,
one thread per enabled mapping, reading the shard moto keeps.

AWS documentation followed: "Using AWS Lambda with Amazon DynamoDB" (with-ddb: event
format with `Records[].eventName`, `dynamodb.Keys/NewImage/OldImage` in AttributeValue JSON,
`eventSourceARN`; at-least-once, in order per shard; `BatchSize` default 100;
`StartingPosition` TRIM_HORIZON or LATEST; `MaximumRetryAttempts` default -1, infinite;
`MaximumBatchingWindowInSeconds`: records gather until the batch is full or the window,
counted from the first waiting record, has passed);
"Handling errors for a DynamoDB event source" (services-ddb-batchfailurereporting:
`ReportBatchItemFailures`, `BisectBatchOnFunctionError`, the on-failure destination's
`DDBStreamBatchInfo` record); "Control which events Lambda sends to your function"
(invocation-eventfiltering: `FilterCriteria.Filters[].Pattern`, EventBridge pattern syntax on
the record; records no filter matches are dropped without an invocation, and a mapping with
filters is invoked only with records that match one).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from datetime import datetime, timezone
from typing import Any

from infra.local.runtime.delivery import Backoff
from infra.local.runtime.lambdas import (
    FunctionError,
    FunctionNotFoundError,
    HandlerImportError,
    LambdaRunner,
)

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100


def filter_patterns(mapping: Any) -> list[Any]:
    """The mapping's compiled filter patterns ([]: every record passes)."""
    from moto.events.models import EventPattern

    criteria = getattr(mapping, "filter_criteria", None) or {}
    return [EventPattern.load(f["Pattern"]) for f in criteria.get("Filters") or []
            if isinstance(f, dict) and f.get("Pattern")]


def passes(patterns: list[Any], record: dict[str, Any]) -> bool:
    """Whether a stream record passes a mapping's filters (any one of them)."""
    return not patterns or any(pattern.matches_event(record) for pattern in patterns)


def stream_record(record: dict[str, Any], region: str, stream_arn: str) -> dict[str, Any]:
    """A moto stream record in the shape Lambda receives it."""
    dynamodb = dict(record["dynamodb"])
    moment = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(moment, datetime):
        dynamodb["ApproximateCreationDateTime"] = int(moment.timestamp())
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": record.get("eventVersion", "1.1"),
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": dynamodb,
        "eventSourceARN": stream_arn,
    }


class StreamPoller:
    """Feed every enabled DynamoDB-stream event source mapping's function, in order."""

    def __init__(self, lambdas: LambdaRunner, *, account: str, region: str,
                 interval: float = 0.05, scale: float = 0.01,
                 backoff: Backoff | None = None):
        self.lambdas = lambdas
        self.account = account
        self.region = region
        self.interval = interval
        self.scale = scale
        self.backoff = backoff or Backoff(base=1.0, cap=60.0)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._cursors: dict[str, int] = {}
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._manager: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> StreamPoller:
        self._stop.clear()
        self._manager = threading.Thread(target=self._manage, name="pgw-streams", daemon=True)
        self._manager.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        threads = list(self._threads.values()) + ([self._manager] if self._manager else [])
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()
        self._manager = None

    def notify(self) -> None:
        """A write happened: look at the streams now rather than at the next tick."""
        self._wake.set()

    # -- what is there -------------------------------------------------------------------

    def _mappings(self) -> list[Any]:
        from moto.awslambda.models import lambda_backends

        try:
            backend = lambda_backends[self.account][self.region]
        except KeyError:
            return []
        return [m for m in list(backend._event_source_mappings.values())
                if ":dynamodb:" in m.event_source_arn and "/stream/" in m.event_source_arn]

    def _shard(self, stream_arn: str) -> Any | None:
        from moto.dynamodb.models import dynamodb_backends

        table_name = stream_arn.split(":table/", 1)[-1].split("/stream/")[0]
        try:
            table = dynamodb_backends[self.account][self.region].tables.get(table_name)
        except KeyError:
            return None
        if table is None or table.stream_shard is None:
            return None
        if table.latest_stream_label and not stream_arn.endswith(table.latest_stream_label):
            return None  # the stream was replaced (stream disabled and enabled again)
        return table.stream_shard

    def pending(self) -> int:
        """Records written but not yet handed successfully to their functions."""
        self.start_new_mappings()
        count = 0
        for mapping in self._mappings():
            if mapping.uuid not in self._threads:
                shard = self._shard(mapping.event_source_arn)
                if shard is not None and self._starting_cursor(mapping, shard) < len(shard.items):
                    count += len(shard.items) - self._starting_cursor(mapping, shard)
                continue
            shard = self._shard(mapping.event_source_arn)
            with self._lock:
                cursor = self._cursors.get(mapping.uuid, 0)
                busy = mapping.uuid in self._busy
            if shard is not None:
                count += max(0, len(shard.items) - cursor)
            count += 1 if busy else 0
        return count

    @staticmethod
    def _starting_cursor(mapping: Any, shard: Any) -> int:
        position = str(getattr(mapping, "starting_position", "") or "TRIM_HORIZON").upper()
        return len(shard.items) if position == "LATEST" else 0

    # -- the work ------------------------------------------------------------------------

    def _manage(self) -> None:
        while not self._stop.is_set():
            self.start_new_mappings()
            self._stop.wait(self.interval * 4)

    def start_new_mappings(self) -> None:
        """Start polling every enabled mapping not polled yet.

        A `LATEST` mapping reads what is written after this moment: the manager calls this
        every few intervals, and `pending` (so `drain`) calls it too, so a caller that drains
        after creating a mapping knows that the mapping sees every later write.
        """
        with self._lock:
            if self._stop.is_set():
                return
            for mapping in self._mappings():
                if mapping.uuid in self._threads or not self._enabled(mapping):
                    continue
                shard = self._shard(mapping.event_source_arn)
                if shard is None:
                    continue
                self._cursors[mapping.uuid] = self._starting_cursor(mapping, shard)
                thread = threading.Thread(target=self._poll, args=(mapping,),
                                          name=f"pgw-stream-{mapping.uuid[:8]}", daemon=True)
                self._threads[mapping.uuid] = thread
                thread.start()

    @staticmethod
    def _enabled(mapping: Any) -> bool:
        return bool(getattr(mapping, "enabled", True))

    def _poll(self, mapping: Any) -> None:
        failures = 0
        bisected: int | None = None  # the batch size while a failed batch is being bisected
        patterns = filter_patterns(mapping)
        window = float(getattr(mapping, "max_batch_window", None) or 0)
        waiting_since: float | None = None  # when the first record of the next batch was seen
        while not self._stop.is_set():
            if not self._enabled(mapping):  # UpdateEventSourceMapping(Enabled=False) pauses
                self._stop.wait(self.interval)
                continue
            shard = self._shard(mapping.event_source_arn)
            with self._lock:
                cursor = self._cursors[mapping.uuid]
            batch_size = bisected or int(getattr(mapping, "batch_size", None) or DEFAULT_BATCH_SIZE)
            items = shard.items[cursor:cursor + batch_size] if shard is not None else []
            if not items:
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            if window and len(items) < batch_size and not failures and bisected is None:
                now = time.monotonic()
                waiting_since = waiting_since if waiting_since is not None else now
                if now - waiting_since < window:
                    self._stop.wait(min(self.interval, window - (now - waiting_since)))
                    continue
            waiting_since = None
            records = [stream_record(item.to_json(), self.region, mapping.event_source_arn)
                       for item in items]
            # Filtered-out records are done without an invocation; the function gets the rest.
            positions = [i for i, r in enumerate(records) if passes(patterns, r)]
            if not positions:
                self._advance(mapping, cursor + len(items))
                continue
            records = [records[i] for i in positions]
            with self._lock:
                self._busy.add(mapping.uuid)
            try:
                handled = self._run_batch(mapping, records)
                # in stream positions: a failure at a kept record leaves it and what follows
                done = len(items) if handled == len(records) else positions[handled]
            except (FunctionNotFoundError, HandlerImportError) as error:
                logger.error("stream mapping %s cannot run %s: %s", mapping.uuid,
                             mapping.function_arn, error)
                self._stop.wait(max(self.interval, 1.0))
                continue
            except Exception:  # noqa: BLE001 - as on AWS, a mapping retries; it never stops
                logger.exception("stream batch to %s failed unexpectedly; retrying",
                                 mapping.function_arn)
                done = 0
            finally:
                with self._lock:
                    self._busy.discard(mapping.uuid)
            if done == len(items):
                failures, bisected = 0, None
                self._advance(mapping, cursor + done)
                continue
            if done:  # a partial batch response: what came before the first failure is done
                self._advance(mapping, cursor + done)
            failed = len(items) - done
            if getattr(mapping, "bisect_on_error", False) and failed > 1:
                bisected = max(1, failed // 2)  # halving does not count as a retry
                continue
            failures += 1
            configured = getattr(mapping, "max_retry_attempts", None)
            limit = int(configured) if configured is not None else -1
            if 0 <= limit < failures:
                logger.error("stream batch of %d records to %s discarded after %d tries",
                             failed, mapping.function_arn, failures)
                self._send_on_failure(mapping, [r for i, r in zip(positions, records)
                                                if i >= done], failures)
                failures, bisected = 0, None
                self._advance(mapping, cursor + len(items))
            else:
                self._stop.wait(self.backoff.delay(failures) * self.scale)

    def _advance(self, mapping: Any, cursor: int) -> None:
        with self._lock:
            self._cursors[mapping.uuid] = cursor

    def _run_batch(self, mapping: Any, records: list[dict[str, Any]]) -> int:
        """Run the function on a batch; return how many records (from the start) are done.

        With `ReportBatchItemFailures`, a `batchItemFailures` answer marks the batch done up
        to its lowest failed sequence number; an unknown or empty identifier fails it all.
        """
        try:
            answer = self.lambdas.call(mapping.function_arn, {"Records": records})
        except FunctionError:
            return 0
        if "ReportBatchItemFailures" not in (getattr(mapping, "function_response_types", None)
                                             or []):
            return len(records)
        failures = (answer or {}).get("batchItemFailures") if isinstance(answer, dict) else None
        if not failures:
            return len(records)
        sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
        positions = []
        for failure in failures:
            identifier = (failure or {}).get("itemIdentifier") if isinstance(failure, dict) else None
            if identifier not in sequences:
                return 0
            positions.append(sequences.index(identifier))
        return min(positions)

    def _send_on_failure(self, mapping: Any, records: list[dict[str, Any]], attempts: int) -> None:
        """The mapping's on-failure destination (an SQS queue) gets the batch's description."""
        destination = ((getattr(mapping, "destination_config", None) or {})
                       .get("OnFailure", {}).get("Destination"))
        if not destination or ":sqs:" not in destination:
            return
        from moto.sqs.models import sqs_backends

        parts = destination.split(":")
        record = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": mapping.function_arn,
                               "condition": "RetryAttemptsExhausted",
                               "approximateInvokeCount": attempts},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
                                "functionError": "Unhandled"},
            "version": "1.0",
            "timestamp": datetime.now(timezone.utc).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001541626099285-f35f62ef",
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": records[0]["dynamodb"].get(
                    "ApproximateCreationDateTime"),
                "approximateArrivalOfLastRecord": records[-1]["dynamodb"].get(
                    "ApproximateCreationDateTime"),
                "batchSize": len(records),
                "streamArn": mapping.event_source_arn,
            },
        }
        try:
            sqs_backends[parts[4]][parts[3]].send_message(queue_name=parts[5],
                                                          message_body=json.dumps(record))
        except Exception as error:
            logger.error("on-failure destination %s unreachable: %s", destination, error)

