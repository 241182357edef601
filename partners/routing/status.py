"""Routing statuses: what one run's outcome means for the partner, written and announced.

The statuses (`Live`, `Pending ...`, `Error: <reason>`, `Removed ...`) are what the console
shows; the pure functions here say which status an environment's outcome earns, and
`StatusRecorder` writes those that changed and puts `Partner Environment Changed` on the bus
for environments that went live or stopped being live.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import error_code
from partners.core.constants import (
    PARTNER_ENVIRONMENT_CHANGED,
    SCHEMA_VERSION,
    partner_resource_name,
)
from partners.core.contracts import put_events_entry
from partners.onboarding import (
    Partner,
    PartnerRegistry,
    PartnerStatus,
    RoutingState,
    RoutingStatus,
)
from partners.routing.exceptions import RoutingError, RoutingTemporaryError
from partners.routing.plan import ActionKind, EnvironmentPlan, connection_usable
from partners.routing.wording import (
    REFUSED_CONNECTION_STATES,
    connection_refused_reason,
    connection_waiting_reason,
)

logger = logging.getLogger(__name__)

GONE_REASON = "environment no longer configured"
DEAUTHORIZED_STATES = REFUSED_CONNECTION_STATES
DEAUTHORIZED_REASON = connection_refused_reason("")
IDLE_REASONS = {
    PartnerStatus.DRAFT: (RoutingState.PENDING, "not yet submitted for approval"),
    PartnerStatus.PENDING_APPROVAL: (RoutingState.PENDING, "waiting for approval"),
    PartnerStatus.SUSPENDED: (RoutingState.REMOVED, "partner suspended"),
    PartnerStatus.REJECTED: (RoutingState.REMOVED, "partner rejected"),
    PartnerStatus.DELETED: (RoutingState.REMOVED, "partner deleted"),
}
PUT_EVENTS_BATCH = 10  # entries a PutEvents call takes


def idle_status(partner: Partner, environment: str, now: str) -> RoutingStatus:
    """The status of an environment that should have no routing (partner not routed, or the
    environment disabled).

    Parameters
    ----------
    partner: its partner.
    environment: the environment's name.
    now: the run's time (ISO 8601).

    Returns
    -------
    `pending` while the partner waits for submission or approval, `removed` otherwise.
    """
    state, reason = IDLE_REASONS.get(partner.status,
                                     (RoutingState.REMOVED, "environment disabled"))
    return RoutingStatus(partner.id, environment, state, reason=reason, updated_at=now)


def failed_status(partner_id: str, environment: str, plan: EnvironmentPlan,
                  error: RoutingError, now: str) -> RoutingStatus:
    """The status of an environment whose writes stopped at `error`.

    Parameters
    ----------
    partner_id, environment: the environment.
    plan: its plan.
    error: the failure.
    now: the run's time (ISO 8601).

    Returns
    -------
    `pending` with the reason for a temporary failure (the next run goes on from what
    exists), `error` with the reason for a permanent one.
    """
    state = (RoutingState.PENDING if isinstance(error, RoutingTemporaryError)
             else RoutingState.ERROR)
    return RoutingStatus(partner_id, environment, state, reason=error.reason,
                         config_hash=plan.desired.config_hash if plan.desired else None,
                         updated_at=now)


def applied_status(partner_id: str, environment: str, plan: EnvironmentPlan, rule_arn: str,
                   idle: RoutingStatus | None, now: str) -> RoutingStatus:
    """The status of an environment whose plan ran to the end.

    Parameters
    ----------
    partner_id, environment: the environment.
    plan: its plan, now applied.
    rule_arn: its rule's ARN after the writes.
    idle: its idle status when it should have no routing (None: it should, or it is gone).
    now: the run's time (ISO 8601).

    Returns
    -------
    `live`; `pending` while EventBridge is still authorising the environment's connection;
    `error` (with what the token endpoint answered) when it could not authorise it; or the
    idle (or `removed`) status, noting a dead-letter queue kept until empty.
    """
    desired, observed = plan.desired, plan.observed
    connection = observed.connection
    rewritten = {ActionKind.CREATE_CONNECTION, ActionKind.UPDATE_CONNECTION} & set(plan.kinds)
    if desired is not None and desired.connection is not None and connection is not None \
            and not rewritten and not connection_usable(connection):
        # Not authorised (yet): a new environment waits for it, a live one's deliveries fail.
        refused = connection.state in DEAUTHORIZED_STATES
        has_rule = observed.rule is not None or ActionKind.CREATE_RULE in plan.kinds
        return RoutingStatus(
            partner_id, environment, RoutingState.ERROR if refused else RoutingState.PENDING,
            reason=(connection_refused_reason(connection.state_reason) if refused
                    else connection_waiting_reason(connection.state)),
            rule_arn=rule_arn if has_rule else None, config_hash=desired.config_hash,
            updated_at=now)
    if desired is not None:
        return RoutingStatus(partner_id, environment, RoutingState.LIVE, rule_arn=rule_arn,
                             config_hash=desired.config_hash, updated_at=now)
    status = idle or RoutingStatus(partner_id, environment, RoutingState.REMOVED,
                                   reason=GONE_REASON, updated_at=now)
    queue = observed.queue
    if queue is not None and ActionKind.DELETE_QUEUE not in plan.kinds:
        kept = ("dead-letter queue kept until empty" if queue.messages is None else
                f"dead-letter queue kept until its {queue.messages} messages are handled")
        status = replace(status, reason=f"{status.reason}; {kept}")
    return status


def acknowledges_save(before: RoutingStatus, saved_at: str) -> bool:
    """Whether `before` was written after the partner's last save (`saved_at`).

    The console waits for a status newer than the save ("applying your latest change...");
    a save that changes no routing (a profile edit) still needs one, so an unchanged status
    older than the save is written again with this run's time.

    Parameters
    ----------
    before: the stored status.
    saved_at: the partner's `updated_at` (ISO 8601; empty: unknown).

    Returns
    -------
    True when the stored status is at least as new as the save.
    """
    return not saved_at or (before.updated_at or "") >= saved_at


def is_unchanged(before: RoutingStatus, after: RoutingStatus) -> bool:
    """Whether writing `after` over `before` would tell the partner nothing new.

    Parameters
    ----------
    before, after: two statuses of one environment.

    Returns
    -------
    True when state, reason, rule ARN and config hash agree (the time does not count).
    """
    return (before.state, before.reason, before.rule_arn, before.config_hash) == \
        (after.state, after.reason, after.rule_arn, after.config_hash)


class StatusRecorder:
    """Write the routing statuses that changed, and announce those that went (un)live."""

    def __init__(self, registry: PartnerRegistry, *, events: Any, bus_name: str, prefix: str):
        self.registry = registry
        self._events = events
        self.bus_name = bus_name
        self.prefix = prefix

    def record(self, new: dict[str, RoutingStatus], old: list[RoutingStatus],
               partners: list[Partner]) -> int:
        """Write the statuses that changed; drop those of environments that no longer exist.

        Parameters
        ----------
        new: this run's statuses by resource name.
        old: the statuses the registry held before the run.
        partners: the partners the run read (their environments are the ones that exist).

        Returns
        -------
        How many status writes and deletions were made.
        """
        current = {partner_resource_name(self.prefix, s.partner_id, s.environment): s
                   for s in old}
        known = {partner_resource_name(self.prefix, p.id, e) for p in partners
                 for e in p.environments}
        # Announce first: a run that dies before its status writes announces again next time
        # (at least once), never silently not at all.
        self.announce([(current.get(name), status) for name, status in sorted(new.items())])
        saved_at = {p.id: p.updated_at for p in partners}
        writes = 0
        for name, status in sorted(new.items()):
            before = current.get(name)
            if before is not None and is_unchanged(before, status) and (
                    status.updated_at == before.updated_at  # kept as it was (deferred)
                    or acknowledges_save(before, saved_at.get(status.partner_id, ""))):
                continue
            if name not in known and status.state is RoutingState.REMOVED \
                    and status.reason == GONE_REASON:
                if before is not None:
                    self.registry.delete_routing_status(status.partner_id, status.environment)
                    writes += 1
                continue
            self.registry.put_routing_status(status)
            writes += 1
        # Statuses of environments (or partners) that are gone and own nothing any more.
        for name, before in current.items():
            if name not in known and name not in new:
                self.registry.delete_routing_status(before.partner_id, before.environment)
                writes += 1
        return writes

    def announce(self, changes: list[tuple[RoutingStatus | None, RoutingStatus]]) -> None:
        """Put `Partner Environment Changed` on the bus for environments that went live or
        stopped being live. Best effort: the registry holds the status either way.

        Parameters
        ----------
        changes: (status before, status after) pairs; the others are left out.
        """
        live = RoutingState.LIVE
        entries = [
            put_events_entry(self.bus_name, PARTNER_ENVIRONMENT_CHANGED, {
                "partner_id": after.partner_id, "environment": after.environment,
                "request_id": "", "request_type": "", "occurred_at": after.updated_at,
                "schema_version": SCHEMA_VERSION, "actor": "system:reconciler",
                "reason": (f"routing {after.label}" + (
                    f": {after.reason}" if after.reason
                    and after.state not in (RoutingState.ERROR, RoutingState.DISABLED)
                    else ""))[:1000],
            })
            for before, after in changes
            if ((before is not None and before.state is live) != (after.state is live))
        ]
        for start in range(0, len(entries), PUT_EVENTS_BATCH):
            try:
                response = self._events.put_events(
                    Entries=entries[start:start + PUT_EVENTS_BATCH])
            except (ClientError, BotoCoreError) as error:
                logger.warning("could not announce routing changes: %s",
                               error_code(error) or type(error).__name__)
                return
            if response.get("FailedEntryCount"):
                logger.warning("%s routing change events were refused",
                               response["FailedEntryCount"])
