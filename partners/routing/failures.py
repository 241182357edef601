"""Which AWS failures of a routing write are temporary and which are permanent.

Like controller-runtime, the reconciler never waits and retries in-process: botocore already
retries a throttled or failed call a few times, and what still fails after that is left to the
next run (the schedule runs every few minutes, a console save triggers one at once). So a
temporary failure stops its environment's writes for this run and leaves it `pending`; a
permanent one (bad input, an exhausted quota) is recorded as `error: <reason>` for the
partner to fix.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import error_code
from partners.routing.exceptions import (
    RoutingError,
    RoutingPermanentError,
    RoutingTemporaryError,
)
from partners.routing.wording import (
    REFUSED_CONNECTION_STATES,
    connection_refused_reason,
    connection_waiting_reason,
)

# Error codes that mean "try again later" in EventBridge, SQS, API Gateway and DynamoDB.
TEMPORARY_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "InternalException",
    "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "ConcurrentModificationException", "AWS.SimpleQueueService.QueueDeletedRecently",
})
# Codes that mean another writer got there first (a console trigger racing the schedule):
# the next run reads the new state and plans from it.
CONFLICT_CODES = frozenset({"ResourceAlreadyExistsException", "ConflictException",
                            "ResourceNotFoundException", "NotFoundException"})
# Codes that mean "it is already gone", which a removal takes as success.
GONE_CODES = frozenset({"ResourceNotFoundException", "NotFoundException",
                        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


def is_temporary(error: Exception) -> bool:
    """Whether an AWS error may go away by itself (throttling, 5xx, network), not bad input.

    Parameters
    ----------
    error: what a boto3 call raised.

    Returns
    -------
    True for connection errors, the codes in `TEMPORARY_CODES`, HTTP 5xx and 429.
    """
    if isinstance(error, BotoCoreError):
        return True  # connection refused/reset, timeouts
    if not isinstance(error, ClientError):
        return False
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # API Gateway says LimitExceededException (429) for its rate limit; EventBridge says it
    # (400) for an exhausted quota, which no retry fixes.
    return code in TEMPORARY_CODES or status >= 500 or status == 429


def is_gone(error: Exception) -> bool:
    """Whether an AWS error says the resource does not exist (a removal's success).

    Parameters
    ----------
    error: what a boto3 call raised.

    Returns
    -------
    True for the codes in `GONE_CODES`.
    """
    return error_code(error) in GONE_CODES


def routing_error(error: Exception) -> RoutingError:
    """The `RoutingError` for an AWS failure, with a reason fit for the console.

    Parameters
    ----------
    error: what a boto3 call raised.

    Returns
    -------
    `RoutingTemporaryError` for a race with another writer or a temporary failure (left to
    the next run), `RoutingPermanentError` otherwise; the reason is the code and AWS's
    message, cut to 300 characters.
    """
    code = error_code(error) or type(error).__name__
    message = (getattr(error, "response", None) or {}).get("Error", {}).get("Message") \
        or str(error)
    reason = f"{code}: {message}"[:300]
    if code in CONFLICT_CODES:
        return RoutingTemporaryError(f"changed by another writer meanwhile ({reason}); the "
                                     "next run finishes", code=code)
    if is_temporary(error):
        return RoutingTemporaryError(f"AWS was unavailable ({reason}); the next run retries",
                                     code=code)
    return RoutingPermanentError(reason, code=code)


def connection_not_ready(state: str, state_reason: str) -> RoutingError:
    """The `RoutingError` for a connection written in this run that is not AUTHORIZED yet.

    Parameters
    ----------
    state: its ConnectionState after the write (and one DescribeConnection).
    state_reason: its StateReason (what a refusing token endpoint answered).

    Returns
    -------
    `RoutingPermanentError` when EventBridge will not authorise it by itself (DEAUTHORIZED:
    new credentials are needed), `RoutingTemporaryError` while it is being authorised (the
    next run goes on; nothing waits in-process).
    """
    if state in REFUSED_CONNECTION_STATES:
        return RoutingPermanentError(connection_refused_reason(state_reason),
                                     code="ConnectionDeauthorized")
    return RoutingTemporaryError(connection_waiting_reason(state), code="ConnectionAuthorizing")
