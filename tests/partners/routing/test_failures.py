"""Which AWS failures are temporary (next run) and which permanent (the partner's to fix)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from partners.routing.exceptions import RoutingPermanentError, RoutingTemporaryError
from partners.routing.failures import is_gone, is_temporary, routing_error


def aws_error(code: str, status: int = 400, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutRule")


@pytest.mark.parametrize("code, status, temporary", [
    ("ThrottlingException", 400, True),
    ("TooManyRequestsException", 429, True),
    ("LimitExceededException", 429, True),  # API Gateway's rate limit
    ("LimitExceededException", 400, False),  # EventBridge's exhausted quota
    ("InternalException", 500, True),
    ("ServiceUnavailable", 503, True),
    ("ValidationException", 400, False),
    ("InvalidEventPatternException", 400, False),
])
def test_error_classification(code, status, temporary):
    assert is_temporary(aws_error(code, status)) is temporary


def test_connection_errors_are_temporary_and_others_are_not():
    assert is_temporary(EndpointConnectionError(endpoint_url="https://events.example"))
    assert not is_temporary(ValueError("not an AWS error"))


@pytest.mark.parametrize("code, gone", [
    ("ResourceNotFoundException", True),
    ("NotFoundException", True),
    ("AWS.SimpleQueueService.NonExistentQueue", True),
    ("QueueDoesNotExist", True),
    ("ValidationException", False),
    ("ThrottlingException", False),
])
def test_is_gone(code, gone):
    assert is_gone(aws_error(code)) is gone


@pytest.mark.parametrize("code, status, kind, reason", [
    ("ThrottlingException", 400, RoutingTemporaryError,
     "AWS was unavailable (ThrottlingException: m); the next run retries"),
    ("InternalException", 500, RoutingTemporaryError,
     "AWS was unavailable (InternalException: m); the next run retries"),
    ("ResourceAlreadyExistsException", 400, RoutingTemporaryError,
     "changed by another writer meanwhile (ResourceAlreadyExistsException: m); the next run "
     "finishes"),
    ("ConcurrentModificationException", 400, RoutingTemporaryError,
     "AWS was unavailable (ConcurrentModificationException: m); the next run retries"),
    ("ValidationException", 400, RoutingPermanentError, "ValidationException: m"),
    ("LimitExceededException", 400, RoutingPermanentError, "LimitExceededException: m"),
])
def test_routing_error(code, status, kind, reason):
    error = routing_error(aws_error(code, status))
    assert type(error) is kind
    assert (error.code, error.reason) == (code, reason)


def test_routing_error_reason_is_short():
    error = routing_error(aws_error("ValidationException", message="x" * 1000))
    assert len(error.reason) == 300
