"""Event bus log records as EventBridge writes them, for tests.

Shapes from "Amazon EventBridge event bus log schema"
(https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-logs-schema.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

ACCOUNT = "123456789012"
REGION = "us-east-1"
PREFIX = "pgw-test-pt-"
BUS = "pgw-test-marketplace"
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone.utc)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Send:
    """The records of one event's invocation of one partner environment's delivery target."""

    partner_id: str = "pabc"
    environment: str = "prod"
    event_id: str = "ev-1"
    cloudevent_id: str | None = None
    request_id: str = "r-1"
    request_type: str = "stock.check"
    invocation_id: str = "inv-1"
    start_ms: int = field(default_factory=lambda: ms(T0))

    @property
    def name(self) -> str:
        return f"{PREFIX}{self.partner_id}-{self.environment}"

    @property
    def rule_arn(self) -> str:
        return f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{BUS}/{self.name}"

    @property
    def target_arn(self) -> str:
        return (f"arn:aws:events:{REGION}:{ACCOUNT}:api-destination/{self.name}/"
                "0b2c7e4e-1111-2222-3333-444455556666")

    @property
    def cloudevent(self) -> dict[str, Any]:
        return {"specversion": "1.0", "id": self.cloudevent_id or self.event_id,
                "source": "urn:marketplace:requests", "type": "marketplace.request.created",
                "subject": self.request_id, "time": "2026-11-23T10:00:00Z",
                "datacontenttype": "application/json",
                "data": {"request_id": self.request_id, "request_type": self.request_type,
                         "environment": self.environment, "occurred_at": "2026-11-23T10:00:00Z",
                         "schema_version": "1", "user_id": "u1", "attributes": {"sku": "A-1"}}}

    def record(self, message_type: str, offset_ms: int = 0, *, level: str = "TRACE",
               details: dict[str, Any] | None = None,
               error: dict[str, Any] | None = None) -> dict[str, Any]:
        record = {
            "resource_arn": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{BUS}",
            "request_id": "put-events-request-1", "event_id": self.event_id,
            "invocation_id": self.invocation_id,
            "message_timestamp_ms": self.start_ms + offset_ms, "message_type": message_type,
            "log_level": level,
            "details": {"rule_arn": self.rule_arn, "role_arn": f"arn:aws:iam::{ACCOUNT}:role/d",
                        "target_arn": self.target_arn, **(details or {})},
        }
        if error is not None:
            record["error"] = error
        return record

    def start(self, offset_ms: int = 0) -> dict[str, Any]:
        return self.record("INVOCATION_START", offset_ms, details={
            "attempt_count": 1, "target_input": json.dumps(self.cloudevent),
            "target_properties": "{}"})

    def attempt_start(self, attempt: int, offset_ms: int) -> dict[str, Any]:
        return self.record("INVOCATION_ATTEMPT_START", offset_ms, details={
            "attempt_count": attempt, "target_input": json.dumps(self.cloudevent),
            "target_properties": "{}"})

    def attempt(self, message_type: str, attempt: int, offset_ms: int, *,
                status: int | None = None, duration_ms: int = 120) -> dict[str, Any]:
        error = None
        if message_type != "INVOCATION_ATTEMPT_SUCCESS":
            error = {"error_message": f"endpoint answered {status}", "aws_service": "events",
                     **({"http_status_code": status} if status is not None else {})}
        return self.record(f"INVOCATION_ATTEMPT_{message_type.removeprefix('INVOCATION_ATTEMPT_')}",
                           offset_ms, level="INFO" if error is None else "ERROR", details={
                               "attempt_type": "FIRST" if attempt == 1 else "RETRY",
                               "attempt_count": attempt,
                               "invocation_status": str(status) if status else "200",
                               "target_duration_ms": duration_ms,
                               "target_response_body": ""}, error=error)

    def final(self, message_type: str, offset_ms: int, total: int) -> dict[str, Any]:
        return self.record(message_type, offset_ms, details={
            "target_input": json.dumps(self.cloudevent), "target_properties": "{}",
            "total_attempts": total, "final_invocation_status": message_type})

    def failing_then_dead_lettered(self, attempts: int = 3) -> list[dict[str, Any]]:
        records = [self.start()]
        for n in range(1, attempts + 1):
            records.append(self.attempt_start(n, n * 1000))
            records.append(self.attempt("RETRYABLE_FAILURE", n, n * 1000 + 150, status=500))
        records.append(self.final("INVOCATION_FAILURE", attempts * 1000 + 200, attempts))
        records.append(self.final("INVOCATION_DLQ", attempts * 1000 + 300, attempts))
        return records

    def delivered(self) -> list[dict[str, Any]]:
        return [self.start(), self.attempt_start(1, 10),
                self.attempt("SUCCESS", 1, 130, status=200, duration_ms=120),
                self.final("INVOCATION_SUCCESS", 140, 1)]
