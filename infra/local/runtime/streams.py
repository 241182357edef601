"""DynamoDB Streams -> Lambda, through the event source mappings stored in moto.

moto invokes a stream's mapped function inside the very PutItem call (synchronously, and in
Docker). AWS instead polls the stream: records reach the function in order per shard, in
batches, after the write has returned, and a failed batch is retried (blocking the shard)
until it succeeds or the mapping's `MaximumRetryAttempts` is spent. This poller does that,
one thread per enabled mapping, reading the shard moto keeps.

AWS documentation followed: "Using AWS Lambda with Amazon DynamoDB" (with-ddb: event
format with `Records[].eventName`, `dynamodb.Keys/NewImage/OldImage` in AttributeValue JSON,
`eventSourceARN`; at-least-once, in order per shard; `BatchSize` default 100;
`StartingPosition` TRIM_HORIZON or LATEST; `MaximumRetryAttempts` default -1, infinite).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any, Callable

from infra.local.runtime.delivery import Backoff
from infra.local.runtime.lambdas import FunctionError, LambdaRunner

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 100


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
            for mapping in self._mappings():
                if mapping.uuid in self._threads or not self._enabled(mapping):
                    continue
                shard = self._shard(mapping.event_source_arn)
                if shard is None:
                    continue
                with self._lock:
                    self._cursors[mapping.uuid] = self._starting_cursor(mapping, shard)
                thread = threading.Thread(target=self._poll, args=(mapping,),
                                          name=f"pgw-stream-{mapping.uuid[:8]}", daemon=True)
                self._threads[mapping.uuid] = thread
                thread.start()
            self._stop.wait(self.interval * 4)

    @staticmethod
    def _enabled(mapping: Any) -> bool:
        return bool(getattr(mapping, "enabled", True))

    def _poll(self, mapping: Any) -> None:
        failures = 0
        while not self._stop.is_set():
            if not self._enabled(mapping):  # UpdateEventSourceMapping(Enabled=False) pauses
                self._stop.wait(self.interval)
                continue
            shard = self._shard(mapping.event_source_arn)
            with self._lock:
                cursor = self._cursors[mapping.uuid]
            batch_size = int(getattr(mapping, "batch_size", None) or DEFAULT_BATCH_SIZE)
            items = shard.items[cursor:cursor + batch_size] if shard is not None else []
            if not items:
                self._wake.wait(self.interval)
                self._wake.clear()
                continue
            records = [stream_record(item.to_json(), self.region, mapping.event_source_arn)
                       for item in items]
            with self._lock:
                self._busy.add(mapping.uuid)
            try:
                self.lambdas.call(mapping.function_arn, {"Records": records})
                failures = 0
                with self._lock:
                    self._cursors[mapping.uuid] = cursor + len(items)
            except FunctionError as error:
                failures += 1
                configured = getattr(mapping, "max_retry_attempts", None)
                limit = int(configured) if configured is not None else -1
                if 0 <= limit < failures:
                    logger.error("stream batch of %d records to %s discarded after %d tries: %s",
                                 len(items), mapping.function_arn, failures, error)
                    failures = 0
                    with self._lock:
                        self._cursors[mapping.uuid] = cursor + len(items)
                else:
                    self._stop.wait(self.backoff.delay(failures) * self.scale)
            except Exception as error:  # no such function, a handler that cannot import
                logger.error("stream mapping %s cannot run %s: %s", mapping.uuid,
                             mapping.function_arn, error)
                self._stop.wait(max(self.interval, 1.0))
            finally:
                with self._lock:
                    self._busy.discard(mapping.uuid)


def notifier(poller_ref: Callable[[], StreamPoller | None]) -> Callable[..., None]:
    """A replacement for moto's synchronous `send_dynamodb_items`: wake the poller instead."""

    def send_dynamodb_items(_backend: Any, function_arn: str, items: list[Any],
                            source: str) -> None:
        poller = poller_ref()
        if poller is not None:
            poller.notify()
        return None

    return send_dynamodb_items
