"""The delivery indexer: EventBridge's event bus log records in, the delivery log out.

The marketplace bus logs every step of every event (`LogConfig` TRACE, FULL detail) to a
CloudWatch Logs log group through vended-log delivery; a subscription filter on that group
invokes this function with the standard subscription payload: `{"awslogs": {"data": ...}}`,
base64 of gzip of `{"messageType", "logGroup", "logStream", "subscriptionFilters",
"logEvents": [{"id", "timestamp", "message"}]}`, each `message` one log record
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html#LambdaFunctionExample).
CloudWatch's `CONTROL_MESSAGE` (sent to check the destination) carries no records.

Records are parsed (`partners.deliveries.parse_record`) and folded into the `deliveries`
table (`DeliveryStore.index`). A record that cannot be read is counted, logged and skipped:
retrying cannot fix it, and it must not hold back the others. AWS errors raise, so Lambda
retries the invocation; folding is idempotent, so a retried batch changes nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import zlib
from dataclasses import dataclass
from typing import Any, Mapping

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.wiring import Wiring
from partners.core.aws import CLIENT_CONFIG
from partners.core.constants import Env
from partners.deliveries import (
    DEFAULT_TTL_DAYS,
    BusLogRecord,
    DeliveryStore,
    MalformedRecordError,
    parse_record,
)

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="PartnerEventGateway")

DATA_MESSAGE = "DATA_MESSAGE"
# A subscription payload is at most 1 MB of compressed data; refuse to inflate past this.
MAX_INFLATED_BYTES = 64 * 1024 * 1024


class SubscriptionPayloadError(ValueError):
    """An `awslogs.data` that is not base64 of gzip of a JSON object."""


@dataclass(kw_only=True)
class Dependencies:
    """The indexer's store; built once per execution environment, replaced in tests."""

    store: DeliveryStore

    @classmethod
    def from_environment(cls, session: boto3.session.Session | None = None) -> Dependencies:
        """The store on `PGW_DELIVERIES_TABLE`, for the stage's `PGW_RESOURCE_PREFIX`.

        Parameters
        ----------
        session: the boto3 session of its client (default: a new one).

        Returns
        -------
        The dependencies.

        Raises
        ------
        KeyError: a required variable is missing (a deployment error).
        ValueError: `PGW_DELIVERIES_TTL_DAYS` is not a whole number of days, 1 or more.
        """
        session = session or boto3.session.Session()
        return cls(store=DeliveryStore(
            os.environ[Env.DELIVERIES_TABLE], prefix=os.environ[Env.RESOURCE_PREFIX],
            ttl_days=int(os.environ.get(Env.DELIVERIES_TTL_DAYS) or DEFAULT_TTL_DAYS),
            dynamodb_client=session.client("dynamodb", config=CLIENT_CONFIG)))


dependencies: Wiring[Dependencies] = Wiring(Dependencies.from_environment)


def decode_subscription(event: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON document inside a CloudWatch Logs subscription event.

    Parameters
    ----------
    event: the Lambda event (`{"awslogs": {"data": "<base64 gzip>"}}`).

    Returns
    -------
    The decoded document (`messageType`, `logEvents`, ...).

    Raises
    ------
    SubscriptionPayloadError: anything else.
    """
    data = (event.get("awslogs") or {}).get("data") if isinstance(event, Mapping) else None
    if not isinstance(data, str):
        raise SubscriptionPayloadError("no awslogs.data")
    try:
        compressed = base64.b64decode(data, validate=True)
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        raw = inflater.decompress(compressed, MAX_INFLATED_BYTES)
        if inflater.unconsumed_tail:
            raise SubscriptionPayloadError("awslogs.data inflates past the limit")
        document = json.loads(raw)
    except (binascii.Error, ValueError, zlib.error) as error:
        raise SubscriptionPayloadError(f"awslogs.data is not base64 gzip JSON: {error}") \
            from None
    if not isinstance(document, dict):
        raise SubscriptionPayloadError("awslogs.data is not a JSON object")
    return document


def read_records(document: Mapping[str, Any]) -> tuple[list[BusLogRecord], int]:
    """The readable records of a decoded subscription document, and how many were not.

    Returns
    -------
    `(records, malformed)`; a control message has neither.
    """
    if document.get("messageType") != DATA_MESSAGE:
        return [], 0
    events = document.get("logEvents")
    records: list[BusLogRecord] = []
    malformed = 0
    for log_event in events if isinstance(events, list) else []:
        message = log_event.get("message") if isinstance(log_event, Mapping) else None
        try:
            if not isinstance(message, str):
                raise MalformedRecordError("log event without a message")
            records.append(parse_record(message))
        except MalformedRecordError as error:
            malformed += 1
            logger.warning("event bus log record skipped", extra={
                "reason": error.reason,
                "log_event_id": log_event.get("id") if isinstance(log_event, Mapping) else None})
    return records, malformed


def index(event: Mapping[str, Any]) -> dict[str, int]:
    """Fold one subscription event's records into the delivery log.

    Returns
    -------
    `{"records", "indexed", "ignored", "malformed"}`: log events received, records folded,
    records about no partner delivery, and records that could not be read.
    """
    try:
        document = decode_subscription(event)
    except SubscriptionPayloadError as error:
        logger.error("subscription payload refused", extra={"reason": str(error)})
        metrics.add_metric("MalformedPayloads", MetricUnit.Count, 1)
        return {"records": 0, "indexed": 0, "ignored": 0, "malformed": 1}
    records, malformed = read_records(document)
    result = dependencies.get().store.index(records)
    counts = {"records": result.records + malformed, "indexed": result.indexed,
              "ignored": result.ignored, "malformed": malformed}
    metrics.add_metric("RecordsIndexed", MetricUnit.Count, result.indexed)
    metrics.add_metric("RecordsMalformed", MetricUnit.Count, malformed)
    logger.info("bus log records indexed", extra={**counts, "sends": result.deliveries,
                                                  "log_group": document.get("logGroup")})
    return counts


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Index one CloudWatch Logs subscription delivery (see `index`)."""
    return index(event)
