"""Lambda: `Request Status Changed` from the bus -> SMS and email to the end user (SNS).

A rule on the bus targets this function (retry policy and the notifier DLQ on the target; the
function's asynchronous-invocation retries and on-failure destination cover handler errors).
The handler returns normally when the event is done: notified, a duplicate delivery, nobody
to notify, or a permanent failure recorded on the request's timeline. It raises only for
temporary failures, so the invocation is retried and finally dead-lettered.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent, event_source
from aws_lambda_powertools.utilities.typing import LambdaContext

from partners.constants import Env
from partners.contacts import ContactStore
from partners.notifier import NotificationLedger, Notifier
from partners.requests import RequestLog

logger = Logger(service="notifier")
tracer = Tracer(service="notifier")

_notifier: Notifier | None = None


def build_notifier() -> Notifier:
    """The notifier of this stage, from the function's environment variables.

    Raises
    ------
    KeyError: a required variable is missing (a deployment error).
    ValueError: the SMS sender id is malformed (a configuration error).
    """
    return Notifier(
        contacts=ContactStore(os.environ[Env.CONTACTS_TABLE],
                              os.environ[Env.NOTIFICATIONS_TOPIC_ARN]),
        ledger=NotificationLedger(os.environ[Env.IDEMPOTENCY_TABLE]),
        request_log=RequestLog(os.environ[Env.REQUEST_EVENTS_TABLE]),
        topic_arn=os.environ[Env.NOTIFICATIONS_TOPIC_ARN],
        sender_id=os.environ.get(Env.SMS_SENDER_ID) or None,
    )


def notifier() -> Notifier:
    """The process's notifier, built on first use (Lambda reuses it across invocations)."""
    global _notifier
    if _notifier is None:
        _notifier = build_notifier()
    return _notifier


def reset() -> None:
    """Forget the process's notifier (after the environment changed: tests, the local stack)."""
    global _notifier
    _notifier = None


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@event_source(data_class=EventBridgeEvent)
def lambda_handler(event: EventBridgeEvent, context: LambdaContext) -> dict[str, Any]:
    """Notify the user of one status event; raise only for failures a retry may fix."""
    logger.append_keys(event_id=event.get_id, request_id=(event.detail or {}).get("request_id"))
    result = notifier().notify(event.raw_event)
    logger.info("status event handled", extra=result.to_dict())
    return result.to_dict()
