"""DynamoDB Streams handler of `request_events`: keep the request projections up to date.

For the new log items of a request in a batch it reads the request's log (strongly
consistent), folds it up to the batch's last item of that request, and writes only the
`requests`, `partner_inbox` and `user_timeline` items those new events changed
(`partners.requests.projections.project`). Replays and duplicates are harmless: the items are a
function of the log, and an item is never replaced by one from an earlier change. A request
whose whole log is in the batch (from sequence 1, the records' new images) is folded from
the batch without reading the log. A failed record is reported as a partial
batch failure, so Lambda retries from it and not the whole batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.wiring import Wiring
from partners.core.aws import CLIENT_CONFIG
from partners.core.constants import Env
from partners.requests import LogEvent, RequestLog, RequestViews, event_from_item, project

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass
class Dependencies:
    """The request log the projector reads and the views it writes."""

    log: RequestLog
    views: RequestViews

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> Dependencies:
        """The log and views the `PGW_*` environment variables name (one DynamoDB client).

        Parameters
        ----------
        session: the boto3 session of the client (default: a new one).

        Returns
        -------
        The dependencies.

        Raises
        ------
        KeyError: a required variable is missing (a deployment error).
        """
        session = session or boto3.session.Session()
        dynamodb = session.client("dynamodb", config=CLIENT_CONFIG)
        return cls(RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE], dynamodb_client=dynamodb),
                   RequestViews(os.environ[Env.REQUESTS_TABLE], os.environ[Env.INBOX_TABLE],
                                os.environ[Env.TIMELINE_TABLE], dynamodb_client=dynamodb))


dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)
# request id -> last sequence projected in this batch: later records of the same request
# in one batch are already covered by the first fold.
_projected: dict[str, int] = {}
# request id -> the last sequence of that request among this batch's records.
_batch_last: dict[str, int] = {}
# request id -> the batch's log events of that request (from the records' new images).
_batch_events: dict[str, dict[int, LogEvent]] = {}


def project_request(request_id: str, since: int, until: int | None = None) -> int:
    """Write the view items that the log events `since..until` changed; return `until`.

    Only the log up to `until` is folded (later events come with later records, which
    write their own changes), and only the items those events changed are written, so each
    change is written once however far the log has run ahead of the stream.

    Parameters
    ----------
    request_id: the request.
    since: the first new sequence (the first record of this request in the batch).
    until: the last new sequence (default: the log's last).

    Returns
    -------
    The last sequence projected.
    """
    deps = dependencies.get()
    events = _events_in_batch(request_id, until)
    if events is None:
        events = deps.log.events(request_id)
    if until is not None:
        events = [event for event in events if event.sequence <= until]
    last = events[-1].sequence if events else 0
    projection = project(events, since=since)
    if projection is None:
        logger.warning("log without request.created; nothing to project",
                       extra={"request_id": request_id})
        return last
    deps.views.write(projection)
    return projection.last_sequence


def _events_in_batch(request_id: str, until: int | None) -> list[LogEvent] | None:
    """The log up to `until` when the batch holds all of it (from sequence 1), else None.

    The log is append-only and its items never change, so these are the very items a
    Query would return: no read is needed for a request whose whole log is new.
    """
    known = _batch_events.get(request_id, {})
    if until is None or not all(sequence in known for sequence in range(1, until + 1)):
        return None
    return [known[sequence] for sequence in range(1, until + 1)]


def _keys(raw: dict[str, Any]) -> tuple[str, int] | None:
    if raw.get("eventName") != "INSERT":
        return None
    keys = raw["dynamodb"]["Keys"]
    return keys["request_id"]["S"], int(keys["sequence"]["N"])


@tracer.capture_method
def handle_record(record: DynamoDBRecord) -> None:
    """Project the request of one stream record (inserts only: the log is append-only)."""
    keys = _keys(record.raw_event)
    if keys is None:
        return
    request_id, sequence = keys
    if _projected.get(request_id, 0) >= sequence:
        return
    until = max(_batch_last.get(request_id, sequence), sequence)
    _projected[request_id] = project_request(request_id, sequence, until)


def handle_batch(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """Process one stream batch.

    Parameters
    ----------
    event: the DynamoDB Streams batch of the request log.
    context: the Lambda context (None outside Lambda).

    Returns
    -------
    The partial batch response (the records that failed, Lambda retries from the first).
    """
    _projected.clear()
    _batch_last.clear()
    _batch_events.clear()
    for raw in event.get("Records") or []:
        keys = _keys(raw) if isinstance(raw, dict) and "dynamodb" in raw else None
        if keys is None:
            continue
        _batch_last[keys[0]] = max(_batch_last.get(keys[0], 0), keys[1])
        image = raw["dynamodb"].get("NewImage")
        if image:
            try:
                log_event = event_from_item(image)
            except (KeyError, ValueError, TypeError):
                continue  # the record handler reads the log instead
            if (log_event.request_id, log_event.sequence) == keys:
                _batch_events.setdefault(keys[0], {})[keys[1]] = log_event
    return dict(process_partial_response(event=event, record_handler=handle_record,
                                         processor=processor, context=context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Project one batch of the request log's stream (see `handle_batch`)."""
    return handle_batch(event, context)
