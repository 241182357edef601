"""DynamoDB Streams handler of `request_events`: keep the request projections up to date.

For each new log item it folds the request's whole log (a strongly consistent read) and
writes the `requests`, `partner_inbox` and `user_timeline` items (`partners.projections`).
Replays and duplicates are harmless: the items are a function of the log, and an item is
never replaced by one folded from a shorter log. A failed record is reported as a partial
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

from partners.aws import CLIENT_CONFIG
from partners.constants import Env
from partners.projections import project
from partners.request_views import RequestViews
from partners.requests import RequestLog

logger = Logger()
tracer = Tracer()
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@dataclass
class Dependencies:
    log: RequestLog
    views: RequestViews

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> Dependencies:
        session = session or boto3.session.Session()
        dynamodb = session.client("dynamodb", config=CLIENT_CONFIG)
        return cls(RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE], dynamodb_client=dynamodb),
                   RequestViews(os.environ[Env.REQUESTS_TABLE], os.environ[Env.INBOX_TABLE],
                                os.environ[Env.TIMELINE_TABLE], dynamodb_client=dynamodb))


deps = Dependencies.from_environment()
# request id -> last sequence projected in this batch: later records of the same request
# in one batch are already covered by the first fold.
_projected: dict[str, int] = {}


def project_request(request_id: str, since: int) -> int:
    """Fold a request's log and write its projection; return the log's last sequence.

    Parameters
    ----------
    request_id: the request.
    since: the first sequence whose timeline entry may be new.
    """
    events = deps.log.events(request_id)
    last = events[-1].sequence if events else 0
    projection = project(events, sequences=range(since, last + 1))
    if projection is None:
        logger.warning("log without request.created; nothing to project",
                       extra={"request_id": request_id})
        return last
    deps.views.write(projection)
    return projection.last_sequence


@tracer.capture_method
def handle_record(record: DynamoDBRecord) -> None:
    """Project the request of one stream record (inserts only: the log is append-only)."""
    if record.raw_event.get("eventName") != "INSERT":
        return
    keys = record.raw_event["dynamodb"]["Keys"]
    request_id, sequence = keys["request_id"]["S"], int(keys["sequence"]["N"])
    if _projected.get(request_id, 0) >= sequence:
        return
    _projected[request_id] = project_request(request_id, sequence)


def handle_batch(event: dict[str, Any], context: LambdaContext | None) -> dict[str, Any]:
    """Process one stream batch; return the partial batch response."""
    _projected.clear()
    return dict(process_partial_response(event=event, record_handler=handle_record,
                                         processor=processor, context=context))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle_batch(event, context)
