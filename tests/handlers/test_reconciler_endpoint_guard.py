"""The reconciler's Lambda builds its endpoint guard from the stage's variables."""

from __future__ import annotations

import pytest

from handlers.reconciler import endpoint_guard
from partners.routing import AlertMailer, EndpointGuard, ReconcilerConfigError

STAGE = {"PGW_PARTNERS_TABLE": "partners", "PGW_DELIVERIES_TABLE": "deliveries",
         "PGW_AUDIT_TABLE": "audit", "PGW_RESOURCE_PREFIX": "pgw-test-pt-"}


def test_no_delivery_log_no_guard(aws):
    assert endpoint_guard({k: v for k, v in STAGE.items() if k != "PGW_DELIVERIES_TABLE"},
                          aws) is None


def test_the_guard_reads_the_settings_and_mails_through_the_topic(aws):
    guard = endpoint_guard({**STAGE, "PGW_ENDPOINT_FAILING_DELIVERIES": "5"}, aws)
    assert isinstance(guard, EndpointGuard) and guard.mailer is None
    assert guard.policy.min_deliveries == 5 and guard.policy.failing_seconds == 86_400
    topic = "arn:aws:sns:us-east-1:123456789012:pgw-test-notifications"
    guard = endpoint_guard({**STAGE, "PGW_NOTIFICATIONS_TOPIC_ARN": topic}, aws)
    assert isinstance(guard.mailer, AlertMailer) and guard.mailer.topic_arn == topic
    with pytest.raises(ReconcilerConfigError):
        endpoint_guard({**STAGE, "PGW_ENDPOINT_FAILING_SECONDS": "a day"}, aws)
