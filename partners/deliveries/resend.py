"""Resend a delivery: the same CloudEvent, to one partner environment only, rate-limited.

The CloudEvent as sent is in the delivery log (`Delivery.payload`, from the bus log's
`target_input`). Its `data` is the request's `Request Created` detail; publishing that detail
again makes the rule's input transformer render the same CloudEvent `id` (the request id:
`partners.core.contracts.CLOUDEVENTS_TRANSFORMER`), and `addressed_to` the partner id
makes only that partner's rules match (DESIGN.md, "Contracts"); `detail.environment` picks
the environment. The new event's attempts are logged by EventBridge like any other and join
the same delivery (same partner environment and CloudEvent id), where they count in `resent`.

Every resend is audited (`deliveries.resent`, on the partner) with who asked for it, and an
actor who may not handle the partner's deliveries is refused before anything is sent.
"""

from __future__ import annotations

from typing import Any

from partners.core.clock import Clock, utc_now
from partners.core.constants import ADDRESSED_TO, REQUEST_CREATED
from partners.core.contracts import put_events_entry
from partners.core.exceptions import ContractViolationError
from partners.deliveries.exceptions import (
    DeliveryNotResendableError,
    ResendFailedError,
    ResendRateLimitedError,
)
from partners.deliveries.queries import DeliveryQueries
from partners.deliveries.store import DeliveryStore
from partners.onboarding import Actor, AuditLog, Permission, partner_target, require

RESEND_WINDOW_SECONDS = 60


class Resender:
    """Send deliveries again.

    Parameters
    ----------
    events: an EventBridge client.
    store: the delivery log.
    bus_name: the marketplace bus.
    clock: "now", for the rate windows.
    per_minute: resends one partner environment may make per minute.
    audit: the audit log every resend is recorded in (None: not recorded, for tests of the
        sending alone).
    """

    def __init__(self, events: Any, store: DeliveryStore, *, bus_name: str,
                 clock: Clock = utc_now, per_minute: int = 10, audit: AuditLog | None = None):
        self.events = events
        self.store = store
        self.queries = DeliveryQueries(store)
        self.bus_name = bus_name
        self.clock = clock
        self.per_minute = per_minute
        self.audit = audit

    def resend(self, partner_id: str, environment: str, delivery_id: str, *,
               actor: Actor | str = "partner-api") -> str:
        """Publish a delivery's request again, addressed to its partner environment only.

        Parameters
        ----------
        partner_id, environment: the caller's partner environment.
        delivery_id: one of its deliveries.
        actor: who asks (a console member, or the partner API's token holder, trusted).

        Returns
        -------
        The new EventBridge event id.

        Raises
        ------
        DeliveryNotFoundError: no such delivery in this environment.
        DeliveryNotResendableError: its CloudEvent was not logged, or is not a request.
        ResendRateLimitedError: the environment's resends of this minute are used up.
        ResendFailedError: PutEvents did not take the event (a temporary failure).
        RoleRefusedError: the actor may not resend this partner's deliveries.
        """
        require(actor, partner_id, Permission.DELIVERIES)
        delivery = self.queries.get(partner_id, environment, delivery_id)
        data = (delivery.payload or {}).get("data")
        if not isinstance(data, dict):
            raise DeliveryNotResendableError(delivery.id, "its CloudEvent was not logged")
        detail = {**data, ADDRESSED_TO: partner_id, "environment": environment}
        try:
            entry = put_events_entry(self.bus_name, REQUEST_CREATED, detail)
        except ContractViolationError as error:
            raise DeliveryNotResendableError(delivery.id, error.message) from None
        wait = self.store.take_resend_slot(partner_id, environment, per_window=self.per_minute,
                                           window_seconds=RESEND_WINDOW_SECONDS)
        if wait is not None:
            raise ResendRateLimitedError(partner_id, environment, wait)
        answer = self.events.put_events(Entries=[entry])
        result = answer["Entries"][0]
        if answer.get("FailedEntryCount") or "EventId" not in result:
            raise ResendFailedError(delivery.id, str(result.get("ErrorCode") or "unknown"))
        if self.audit is not None:
            self.audit.record(actor=actor, action="delivery.resent",
                              target=partner_target(partner_id), after={
                                  "environment": environment, "deliveries": [delivery.id],
                                  "cloudevent_id": delivery.cloudevent_id,
                                  "event_id": str(result["EventId"])})
        return str(result["EventId"])
