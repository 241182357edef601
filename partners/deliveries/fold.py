"""Fold event bus log records into deliveries: pure, order-independent and idempotent.

CloudWatch Logs subscriptions deliver log events at least once, and EventBridge writes a
delivery's records from several steps, so records reach the indexer out of order and some
twice. The fold therefore never depends on arrival: every record becomes a `Fact` whose `key`
names its step, a delivery is the set of its facts, and `fold` computes everything (attempts
oldest first, outcome, resends, creation time) from that set alone. A set union is
commutative and idempotent, so any order and any repetition folds to the same delivery.

Which partner environment a record is about comes from the names the reconciler gives its
resources (`partners.core.constants.partner_resource_name`): the rule in `details.rule_arn`
(`rule/<bus>/<name>`), or failing that the API destination in `details.target_arn`
(`api-destination/<name>/<uuid>`). The name is read back with
`partners.core.constants.parse_partner_resource_name`, the function `partners.routing.names`
uses too: deliveries sit below routing in the layers, so the inverse of the name lives next to
the name in core, not in routing. Only the `delivery` target (an API destination) makes
deliveries; the rule's `routing` target (the routing recorder Lambda) is not the partner's
endpoint and is ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable, Mapping

from partners.core.constants import parse_partner_resource_name
from partners.deliveries.models import Attempt, AttemptOutcome, Fact, Outcome, from_ms
from partners.deliveries.records import (
    ATTEMPT_RESULTS,
    BusLogRecord,
    MessageType,
    http_status_of,
    arn_resource_name,
)

ATTEMPT_OUTCOMES: Mapping[str, AttemptOutcome] = {
    MessageType.INVOCATION_ATTEMPT_SUCCESS: AttemptOutcome.SUCCESS,
    MessageType.INVOCATION_ATTEMPT_RETRYABLE_FAILURE: AttemptOutcome.RETRYABLE_FAILURE,
    MessageType.INVOCATION_ATTEMPT_PERMANENT_FAILURE: AttemptOutcome.PERMANENT_FAILURE,
    MessageType.INVOCATION_ATTEMPT_THROTTLE: AttemptOutcome.THROTTLED,
}

# How one send (one event on the bus) ended, first match wins: a dead letter is final, a
# success is final, a failure without a dead letter (yet) is failed, anything else is still
# being retried. INVOCATION_DLQ wins over INVOCATION_FAILURE when AWS logs both.
SEND_OUTCOMES: tuple[tuple[frozenset[str], Outcome], ...] = (
    (frozenset({MessageType.INVOCATION_DLQ}), Outcome.DEAD_LETTERED),
    (frozenset({MessageType.INVOCATION_SUCCESS, MessageType.INVOCATION_ATTEMPT_SUCCESS}),
     Outcome.DELIVERED),
    (frozenset({MessageType.INVOCATION_FAILURE, MessageType.INVOCATION_ATTEMPT_PERMANENT_FAILURE}),
     Outcome.FAILED),
)


@dataclass(frozen=True)
class Folded:
    """What a delivery's facts add up to."""

    created_at: datetime
    outcome: Outcome
    attempts: tuple[Attempt, ...]
    event_ids: tuple[str, ...]  # one per send, oldest first

    @property
    def resent(self) -> int:
        return len(self.event_ids) - 1


def partner_environment(record: BusLogRecord, prefix: str) -> tuple[str, str] | None:
    """The partner environment whose delivery target a record is about.

    Parameters
    ----------
    record: a parsed event bus log record.
    prefix: the stage's partner-resource prefix (`Env.RESOURCE_PREFIX`).

    Returns
    -------
    `(partner_id, environment)`, or None for a record about no partner delivery (event
    receipt, rule match, another target, another stage's rule).
    """
    if not record.is_invocation:
        return None
    destination = arn_resource_name(record.target_arn, "api-destination")
    if destination is None:
        return None
    rule = arn_resource_name(record.rule_arn, "rule")
    return ((parse_partner_resource_name(prefix, rule) if rule else None)
            or parse_partner_resource_name(prefix, destination))


def cloudevent_of(record: BusLogRecord) -> dict[str, Any] | None:
    """The CloudEvent a record logged as its `target_input`, or None.

    Returns
    -------
    The CloudEvent (a JSON object with a string `id`); None without `target_input` (the bus
    logs without FULL detail, or a step that carries none) or when it is not such an object.
    """
    if not record.target_input:
        return None
    try:
        event = json.loads(record.target_input)
    except ValueError:
        return None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        return None
    return event


def request_of(cloudevent: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """`(request_id, request_type)` of a partner CloudEvent (its `data` is the request)."""
    data = cloudevent.get("data")
    data = data if isinstance(data, Mapping) else {}
    request_id = data.get("request_id", cloudevent.get("subject"))
    request_type = data.get("request_type")
    return (str(request_id)[:128] if request_id is not None else None,
            str(request_type)[:128] if request_type is not None else None)


def fact_of(record: BusLogRecord) -> Fact:
    """The fact a record states (its key is the same each time the record comes).

    Parameters
    ----------
    record: an invocation record (`record.is_invocation`).

    Returns
    -------
    The fact; an attempt's HTTP status is `error.http_status_code`, or for a success the
    `invocation_status` when that is an HTTP status.
    """
    attempt = record.attempt_count
    discriminator = attempt if attempt is not None else record.timestamp_ms
    per_attempt = record.message_type in ATTEMPT_RESULTS or \
        record.message_type == MessageType.INVOCATION_ATTEMPT_START
    key = "/".join((record.event_id, record.invocation_id or "", record.message_type.value,
                    str(discriminator) if per_attempt else ""))
    status = record.http_status
    if status is None and record.message_type == MessageType.INVOCATION_ATTEMPT_SUCCESS:
        status = http_status_of(record.invocation_status)
    return Fact(key=key, event_id=record.event_id, message_type=record.message_type.value,
                timestamp_ms=record.timestamp_ms, attempt_count=attempt, http_status=status,
                error=record.error_message, duration_ms=record.duration_ms)


def send_outcome(message_types: set[str]) -> Outcome:
    """How one send ended, from the message types of its facts (`SEND_OUTCOMES`)."""
    for types, outcome in SEND_OUTCOMES:
        if message_types & types:
            return outcome
    return Outcome.RETRYING


def fold(facts: Iterable[Fact]) -> Folded:
    """Everything a delivery's facts say, whatever their order or repetition.

    Parameters
    ----------
    facts: the delivery's facts (duplicates by key count once).

    Returns
    -------
    Creation time (the earliest fact), the attempts oldest first, the sends oldest first,
    and the outcome: that of the latest send (a resend that got through makes a
    dead-lettered delivery `delivered`).

    Raises
    ------
    ValueError: without any fact.
    """
    unique = {fact.key: fact for fact in facts}
    if not unique:
        raise ValueError("a delivery needs at least one fact")
    ordered = sorted(unique.values(), key=lambda f: (f.timestamp_ms, f.attempt_count or 0,
                                                     f.key))
    sends: dict[str, tuple[int, set[str]]] = {}
    for fact in ordered:
        start, types = sends.setdefault(fact.event_id, (fact.timestamp_ms, set()))
        types.add(fact.message_type)
    by_start = sorted(sends, key=lambda event_id: (sends[event_id][0], event_id))
    attempts = tuple(
        Attempt(at=from_ms(f.timestamp_ms), outcome=ATTEMPT_OUTCOMES[f.message_type],
                http_status=f.http_status, error=f.error, duration_ms=f.duration_ms)
        for f in ordered if f.message_type in ATTEMPT_OUTCOMES)
    return Folded(created_at=from_ms(ordered[0].timestamp_ms),
                  outcome=send_outcome(sends[by_start[-1]][1]),
                  attempts=attempts, event_ids=tuple(by_start))
