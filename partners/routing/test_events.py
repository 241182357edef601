"""Test events ("probes"): send a test `Request Created` to one partner environment and follow it.

The event carries `test: true` and `addressed_to` = the partner, so every other partner's
rule ignores it (compiled patterns match only events addressed to nobody or to them). Its
request id starts with `test-<partner id>-`, which is how the console knows whose it is.
Every test event sent is in the audit log (`test_event.sent`), which is also where the
console finds a partner's recent ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from partners.core.clock import Clock, isoformat, new_id
from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED, SCHEMA_VERSION
from partners.core.contracts import put_events_entry
from partners.onboarding import Actor, AuditLog, DeliveryMode, PartnerEnvironment, partner_target
from partners.requests import fold
from partners.routing.dead_letters import FailedDelivery
from partners.routing.exceptions import EventRefusedError

TEST_USER = "console-test"
SENT = "test_event.sent"


def probe_prefix(partner_id: str) -> str:
    return f"test-{partner_id}-"


def is_probe_of(request_id: str, partner_id: str) -> bool:
    prefix = probe_prefix(partner_id)
    return request_id.startswith(prefix) and len(request_id) > len(prefix)


def probe_detail(partner_id: str, environment: str, request_type: str,
                      attributes: dict[str, Any], *, clock: Clock) -> dict[str, Any]:
    """The detail of a test `Request Created` addressed to `partner_id` only."""
    return {
        "environment": environment,
        "request_id": f"{probe_prefix(partner_id)}{new_id('', 10)}",
        "request_type": request_type,
        "occurred_at": isoformat(clock()),
        "schema_version": SCHEMA_VERSION,
        "user_id": TEST_USER,
        "attributes": attributes,
        "test": True,
        ADDRESSED_TO: partner_id,
    }


def send_probe(events_client: Any, bus_name: str, detail: dict[str, Any]) -> str:
    """Put the test event on the bus; return its EventBridge event id.

    Raises
    ------
    ContractViolationError: the detail breaks the `Request Created` schema (bad attributes).
    EventRefusedError: the bus refused the entry.
    """
    entry = put_events_entry(bus_name, REQUEST_CREATED, detail)
    result = events_client.put_events(Entries=[entry])
    answer = result["Entries"][0]
    if result.get("FailedEntryCount") or "EventId" not in answer:
        raise EventRefusedError(f"The bus refused the event: {answer.get('ErrorCode', '')} "
                           f"{answer.get('ErrorMessage', '')}".strip())
    return answer["EventId"]


@dataclass(frozen=True)
class SentProbe:
    """A test event on the bus: its EventBridge id and the detail it carried."""

    event_id: str
    detail: dict[str, Any]


def put_test_event(events_client: Any, audit: AuditLog, actor: Actor, *, bus_name: str,
                   partner_id: str, environment: str, request_type: str,
                   attributes: dict[str, Any], clock: Clock) -> SentProbe:
    """Send a test `Request Created` addressed to one partner environment, and audit it.

    Parameters
    ----------
    events_client: the EventBridge client.
    audit: the audit log.
    actor: who sends it.
    bus_name: the bus to put it on.
    partner_id, environment: whom it is addressed to.
    request_type, attributes: what the test request looks like.
    clock: the time seam.

    Returns
    -------
    The event's id and detail (its `request_id` is how to follow it).

    Raises
    ------
    ContractViolationError: the detail breaks the `Request Created` schema (bad attributes).
    EventRefusedError: the bus refused the entry.
    """
    detail = probe_detail(partner_id, environment, request_type, attributes, clock=clock)
    event_id = send_probe(events_client, bus_name, detail)
    audit.record(actor=actor, action=SENT, target=partner_target(partner_id), after={
        "environment": environment, "request_id": detail["request_id"],
        "request_type": detail["request_type"], "event_id": event_id,
        "sent_at": detail["occurred_at"]})
    return SentProbe(event_id, detail)


def recent_probes(audit: AuditLog, partner_id: str, environment: str, *,
                  limit: int = 5) -> list[dict[str, Any]]:
    """The partner environment's latest test events, newest first, as the audit log has them.

    Parameters
    ----------
    audit: the audit log.
    partner_id, environment: whose test events.
    limit: at most this many.

    Returns
    -------
    Each event's `environment`, `request_id`, `request_type`, `event_id` and `sent_at`.
    """
    # The partner's other actions share the audit target, so read a window and filter it.
    records = audit.for_target(partner_target(partner_id), limit=50).items
    return [r.after for r in records
            if r.action == SENT and isinstance(r.after, dict)
            and r.after.get("environment") == environment][:limit]


@dataclass(frozen=True)
class ProbeOutcome:
    """What the console can see of a test event: routed, acknowledged, dead-lettered."""

    request_id: str
    state: str  # waiting | routed | acknowledged | inbox | failed
    message: str
    status: str | None = None
    failure: FailedDelivery | None = None

    @property
    def final(self) -> bool:
        return self.state in ("acknowledged", "inbox", "failed")


def probe_outcome(request_id: str, partner_id: str, environment: PartnerEnvironment,
                       log_events: list, failures: list[FailedDelivery]) -> ProbeOutcome:
    """Fold what the request log and the DLQ say about a test request into one line."""
    failure = next((f for f in failures if f.request_id == request_id), None)
    state = fold(log_events)
    route = state.route(partner_id, environment.name) if state else None
    if failure is not None:
        return ProbeOutcome(request_id, "failed",
                                f"Delivery failed: {failure.error_code} "
                                f"{failure.error_message}".strip(), failure=failure)
    if route is None:
        return ProbeOutcome(request_id, "waiting",
                                "Sent to the bus; not routed to you yet. If this stays, check "
                                "that your filter matches it and that routing is live.")
    if route.status:
        return ProbeOutcome(request_id, "acknowledged",
                                f"Delivered; your system answered with status {route.status!r}.",
                                status=route.status)
    if environment.mode is DeliveryMode.POLL:
        return ProbeOutcome(request_id, "inbox",
                                "In your inbox: fetch it with GET /v1/requests?status=pending.")
    return ProbeOutcome(request_id, "routed",
                            "Routed and sent to your endpoint; no failure so far "
                            "(EventBridge retries per your retry policy before it gives up).")
