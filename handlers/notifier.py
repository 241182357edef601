"""Lambda: the request log's stream -> SMS and email to the end user (SNS).

An event source mapping on the `request_events` stream feeds this function; its filter
passes only inserted `request.status_changed` items (AWS bills no invocation for the rest).
Items are handled in order. The handler stops at the first item it cannot finish (a temporary
SNS failure, a throttled read, a bug) and reports it as the batch's only failure
(`ReportBatchItemFailures`): Lambda checkpoints everything before it and retries from it, so
nothing that was sent is sent again, and after the mapping's retries the item goes to the
on-failure queue. A malformed item is logged and skipped, never retried.
"""

from __future__ import annotations

import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers.wiring import Wiring
from partners.core.constants import Env
from partners.notifications import ContactStore, Notifier, status_change
from partners.requests import STATUS_CHANGED, RequestLog, event_from_item

logger = Logger(service="notifier")
tracer = Tracer(service="notifier")


def build_notifier() -> Notifier:
    """The notifier of this stage, from the function's environment variables.

    Returns
    -------
    The notifier (its contact store, the request log, the topic and the SMS sender id).

    Raises
    ------
    KeyError: a required variable is missing (a deployment error).
    ValueError: the SMS sender id is malformed (a configuration error).
    """
    # One session for every client: a session loads each service's model once, so the
    # second client of a service costs little at cold start.
    session = boto3.session.Session()
    contacts = ContactStore(os.environ[Env.CONTACTS_TABLE], os.environ[Env.NOTIFICATIONS_TOPIC_ARN],
                            boto3_session=session)
    return Notifier(
        contacts=contacts,
        request_log=RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE], boto3_session=session),
        topic_arn=os.environ[Env.NOTIFICATIONS_TOPIC_ARN],
        sender_id=os.environ.get(Env.SMS_SENDER_ID) or None,
        boto3_session=session,
    )


dependencies: Wiring[Notifier] = Wiring(build_notifier)


def _is_status_change(record: dict[str, Any]) -> bool:
    image = (record.get("dynamodb") or {}).get("NewImage") or {}
    return record.get("eventName") == "INSERT" and \
        (image.get("type") or {}).get("S") == STATUS_CHANGED


def handle_batch(event: dict[str, Any]) -> dict[str, Any]:
    """Notify the status changes of one stream batch.

    Parameters
    ----------
    event: the DynamoDB Streams batch of the request log.

    Returns
    -------
    The partial batch response: no failure, or the first item that was not notified.

    Raises
    ------
    KeyError, ValueError: the notifier cannot be built (see `build_notifier`).
    """
    sender = dependencies.get()
    for record in event.get("Records") or []:
        if not isinstance(record, dict) or not _is_status_change(record):
            continue
        sequence = record["dynamodb"].get("SequenceNumber", "")
        try:
            change = status_change(event_from_item(record["dynamodb"]["NewImage"]))
        except (KeyError, TypeError, ValueError) as error:
            logger.error("skipping a malformed status change", extra={
                "sequence_number": sequence, "error": str(error)})
            continue
        try:
            result = sender.notify(change)
        except Exception:  # noqa: BLE001 - retried from this item, then the on-failure queue
            logger.exception("status change not notified; retried from here",
                             extra={"change_id": change.change_id})
            return {"batchItemFailures": [{"itemIdentifier": sequence}]}
        logger.info("status change handled", extra=result.to_dict())
    return {"batchItemFailures": []}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Notify the users of a batch of recorded status changes."""
    return handle_batch(event)
