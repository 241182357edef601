"""Test events ("probes"): send a test `Request Created` to one partner environment and follow it.

The event carries `test: true` and `addressed_to` = the partner, so every other partner's
rule ignores it (compiled patterns match only events addressed to nobody or to them). Its
request id starts with `test-<partner id>-`, which is how the console knows whose it is.
Every test event sent is in the audit log (`test_event.sent`, with its type and attributes),
which is also where the console finds a partner's recent ones. A test event that nobody
routed is explained (`probe_outcome`): the partner is not approved, the environment has no
delivery, or the filter does not take it, naming the field that fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from partners.core.clock import Clock, isoformat, new_id
from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED, SCHEMA_VERSION
from partners.core.contracts import put_events_entry
from partners.core.strict_json import check_json_value
from partners.onboarding import (
    ROUTED_STATUSES,
    Actor,
    Permission,
    AuditLog,
    DeliveryMode,
    Partner,
    PartnerEnvironment,
    PartnerStatus,
    RoutingState,
    RoutingStatus,
    partner_target,
    require,
)
from partners.requests import fold
from partners.routing.dead_letters import FailedDelivery
from partners.routing.exceptions import EventRefusedError
from partners.routing.patterns import compile_event_pattern
from partners.routing.wording import ATTRIBUTES_PREFIX, mismatch_reason

TEST_USER = "console-test"
SENT = "test_event.sent"

# (event pattern, event detail) -> does the pattern match the `Request Created` event?
Matcher = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


# States whose label already carries the reason (`RoutingStatus.label`).
LABELLED_REASONS = (RoutingState.ERROR, RoutingState.DISABLED)


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
    UnsafeJsonError: an attribute is NaN, infinite, beyond float range or nested too deeply
        (its pointer is relative to `attributes`); nothing is sent.
    ContractViolationError: the detail breaks the `Request Created` schema (bad attributes).
    EventRefusedError: the bus refused the entry.
    RoleRefusedError: the actor may not send test events to this partner.
    """
    require(actor, partner_id, Permission.TEST_EVENTS)
    check_json_value(attributes)  # strict JSON only reaches partners' parsers
    detail = probe_detail(partner_id, environment, request_type, attributes, clock=clock)
    event_id = send_probe(events_client, bus_name, detail)
    audit.record(actor=actor, action=SENT, target=partner_target(partner_id), after={
        "environment": environment, "request_id": detail["request_id"],
        "request_type": detail["request_type"], "event_id": event_id,
        "sent_at": detail["occurred_at"], "attributes": detail["attributes"]})
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
    Each event's `environment`, `request_id`, `request_type`, `event_id`, `sent_at` and
    `attributes` (records from before attributes were kept lack them).
    """
    # The partner's other actions share the audit target, so read a window and filter it.
    records = audit.for_target(partner_target(partner_id), limit=50).items
    return [r.after for r in records
            if r.action == SENT and isinstance(r.after, dict)
            and r.after.get("environment") == environment][:limit]


def find_probe(audit: AuditLog, partner_id: str, request_id: str) -> dict[str, Any] | None:
    """The audit record (`after`) of one of the partner's test events; None when not found."""
    records = audit.for_target(partner_target(partner_id), limit=50).items
    return next((r.after for r in records if r.action == SENT and isinstance(r.after, dict)
                 and r.after.get("request_id") == request_id), None)


def pattern_checks(pattern: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """A compiled pattern split into one pattern per detail field it tests.

    Parameters
    ----------
    pattern: a pattern from `compile_event_pattern`.

    Returns
    -------
    (field, pattern testing only that field) pairs, in the pattern's order: `environment`,
    `request_type`, `attributes.<name>` for each attribute, `addressed_to`.
    """
    envelope = {k: v for k, v in pattern.items() if k != "detail"}
    checks: list[tuple[str, dict[str, Any]]] = []
    for key, value in pattern.get("detail", {}).items():
        if key == "attributes" and isinstance(value, dict):
            checks += [(f"{ATTRIBUTES_PREFIX}{name}",
                        {**envelope, "detail": {"attributes": {name: matcher}}})
                       for name, matcher in value.items()]
        else:
            checks.append((key, {**envelope, "detail": {key: value}}))
    return checks


def failing_fields(pattern: Mapping[str, Any], detail: Mapping[str, Any],
                   matches: Matcher) -> list[str]:
    """The detail fields `pattern` refuses (`pattern_checks` asked one by one); [] on a match.

    Parameters
    ----------
    pattern: the compiled pattern.
    detail: the `Request Created` detail.
    matches: the matcher (EventBridge's TestEventPattern in the console).
    """
    if matches(pattern, detail):
        return []
    return [name for name, part in pattern_checks(pattern) if not matches(part, detail)]


NOT_ROUTED = "not_routed"
PARTNER_NOT_ROUTED: dict[PartnerStatus, str] = {
    PartnerStatus.DRAFT: "your organisation is not approved yet: submit it for approval; "
                         "test events reach you once an admin has approved it",
    PartnerStatus.PENDING_APPROVAL: "your organisation is not approved yet (waiting for an "
                                    "admin); test events reach you once it is approved",
    PartnerStatus.REJECTED: "your organisation was rejected; fix what the admin asked for "
                            "and submit it again",
    PartnerStatus.SUSPENDED: "your organisation is suspended; nothing is routed to it until "
                             "an admin reinstates it",
}


def sent_detail(partner_id: str, sent: Mapping[str, Any]) -> dict[str, Any]:
    """The detail a test event carried, rebuilt from its audit record (`SENT`)."""
    return {
        "environment": sent.get("environment", ""), "request_id": sent.get("request_id", ""),
        "request_type": sent.get("request_type", ""), "occurred_at": sent.get("sent_at", ""),
        "schema_version": SCHEMA_VERSION, "user_id": TEST_USER,
        "attributes": dict(sent.get("attributes") or {}), "test": True,
        ADDRESSED_TO: partner_id,
    }


def unrouted_reason(partner: Partner, environment: PartnerEnvironment,
                    sent: Mapping[str, Any] | None, matches: Matcher | None) -> str | None:
    """Why a test event cannot reach the environment, in one clause; None: no reason seen.

    Parameters
    ----------
    partner: the partner (its status).
    environment: the environment (configured? enabled? its filter).
    sent: the test event's audit record; None: unknown, the filter is not checked.
    matches: the matcher; None: the filter is not checked.
    """
    if partner.status not in ROUTED_STATUSES:
        return PARTNER_NOT_ROUTED.get(partner.status, f"your organisation is "
                                                      f"{partner.status.value}")
    if environment.name not in partner.environments:
        return f"{environment.name} has no delivery set up yet (set it up in its settings)"
    if not environment.enabled:
        return f"{environment.name} is disabled"
    if sent is None or matches is None:
        return None
    pattern = compile_event_pattern(environment.filter, environment.name,
                                    partner_id=partner.id)
    detail = sent_detail(partner.id, sent)
    fields = failing_fields(pattern, detail, matches)
    if "attributes" not in sent:  # recorded before attributes were kept: unknown
        fields = [f for f in fields if not f.startswith(ATTRIBUTES_PREFIX)]
    if not fields:
        return None
    reasons = "; and ".join(mismatch_reason(f, detail, environment.filter, environment.name)
                            for f in fields)
    return f"your filter does not match this test event: {reasons}"


@dataclass(frozen=True)
class ProbeOutcome:
    """What the console can see of a test event: routed, acknowledged, dead-lettered, or
    not routed (and why)."""

    request_id: str
    state: str  # waiting | not_routed | routed | acknowledged | inbox | failed
    message: str
    status: str | None = None
    failure: FailedDelivery | None = None

    @property
    def final(self) -> bool:
        return self.state in ("acknowledged", "inbox", "failed", NOT_ROUTED)


def _waiting(request_id: str, routing: RoutingStatus | None) -> ProbeOutcome:
    if routing is None:
        return ProbeOutcome(request_id, "waiting",
                            "Sent to the bus; not routed to you yet: the reconciler has not "
                            "set up routing for this environment yet.")
    if routing.state is not RoutingState.LIVE:
        # The label of an error or a disabled rule already says why.
        return ProbeOutcome(request_id, "waiting",
                            f"Sent to the bus; not routed to you yet: routing is "
                            f"{routing.label}" + (f" ({routing.reason})" if routing.reason
                                                  and routing.state not in LABELLED_REASONS
                                                  else "") + ".")
    return ProbeOutcome(request_id, "waiting",
                        "Sent to the bus; your filter takes it and routing is live: it "
                        "should be routed to you within seconds.")


def probe_outcome(request_id: str, partner_id: str, environment: PartnerEnvironment,
                  log_events: list, failures: list[FailedDelivery], *,
                  partner: Partner | None = None, routing: RoutingStatus | None = None,
                  sent: Mapping[str, Any] | None = None,
                  matches: Matcher | None = None) -> ProbeOutcome:
    """Fold what the request log and the DLQ say about a test request into one line.

    Parameters
    ----------
    request_id, partner_id, environment: the test event and whom it was addressed to.
    log_events: the request's log (empty until routed).
    failures: the environment's dead letters.
    partner: the partner; with it, an unrouted event says why (status, set-up, filter).
    routing: the environment's routing status (not live: said while waiting).
    sent: the event's audit record (`find_probe`): its type and attributes for the filter.
    matches: the matcher that runs the compiled pattern (EventBridge's TestEventPattern).

    Returns
    -------
    A `ProbeOutcome`; `not_routed` names the reason, e.g. the field the filter refuses.
    """
    failure = next((f for f in failures if f.request_id == request_id), None)
    state = fold(log_events)
    route = state.route(partner_id, environment.name) if state else None
    if failure is not None:
        return ProbeOutcome(request_id, "failed",
                            f"Delivery failed: {failure.error_code} "
                            f"{failure.error_message}".strip(), failure=failure)
    if route is None:
        if partner is None:
            return ProbeOutcome(request_id, "waiting",
                                "Sent to the bus; not routed to you yet. If this stays, check "
                                "that your filter matches it and that routing is live.")
        reason = unrouted_reason(partner, environment, sent, matches)
        if reason is not None:
            return ProbeOutcome(request_id, NOT_ROUTED, f"Not routed: {reason}.")
        return _waiting(request_id, routing)
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
