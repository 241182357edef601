"""Endpoint health: pause the rule of an endpoint that keeps failing, alert, re-enable.

The reconciler asks `EndpointGuard.hold` for every push environment it would route. The
guard reads the environment's newest deliveries (the delivery log, newest first) back to the
last one that was delivered: that run of failures is the *failing streak*. When the streak
holds at least `HealthPolicy.min_deliveries` deliveries and its first failed attempt is at
least `HealthPolicy.failing_seconds` old (defaults: 20 deliveries, 24 hours), the endpoint
has failed everything for that long, and the reconciler disables the environment's rule
(routing status `disabled: endpoint failing since <time>`): EventBridge then stops sending,
instead of retrying every new event for 24 hours against an endpoint that answers nothing.
The guard audits the decision and emails the organisation's technical contact.

Disabled is sticky: a disabled rule gets no deliveries, so no new evidence can clear it. The
partner re-enables it in the console (`reenable_endpoint`): the endpoint is checked first
(`partners.onboarding.check_endpoint`, the check an admin runs before approval); only a
passing check writes `reenabled_at`, sets the routing status to `pending` and triggers the
reconciler, which enables the rule. Failures older than `reenabled_at` no longer count.

While an endpoint fails without being disabled yet, deliveries dead-letter: the first
dead-lettered delivery in a failing streak sends a failure alert, at most one per
environment per `HealthPolicy.alert_interval_seconds` (a conditional write claims the slot,
so two concurrent reconciler runs send one email).

Records (partners table, next to the partner's profile and routing statuses):
`pk=PARTNER#<id>`, `sk=ENDPOINT#<environment>`: `reenabled_at`, `disabled_since`,
`alerted_at` (ISO 8601, UTC, seconds; they sort as they compare).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable, Iterator, Mapping, Protocol

import boto3
from botocore.exceptions import ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, parse_iso, utc_now
from partners.core.constants import Env
from partners.onboarding import (
    Actor,
    AuditLog,
    CheckStep,
    Onboarding,
    Partner,
    Permission,
    RoutingState,
    RoutingStatus,
    check_endpoint,
    partner_target,
    require,
)
from partners.routing.exceptions import EndpointNotDisabledError, ReconcilerConfigError

logger = logging.getLogger(__name__)

GUARD_ACTOR = "reconciler"
FAILING_REASON = "endpoint failing since {since}"
REENABLING_REASON = "re-enabling: the endpoint passed its check"
DELIVERED = "delivered"
DEAD_LETTERED = "dead_lettered"
PAGE_SIZE = 100


@dataclass(frozen=True)
class HealthPolicy:
    """When an endpoint counts as failing, and how often it may be told so (stack settings)."""

    failing_seconds: int = 86_400
    min_deliveries: int = 20
    alert_interval_seconds: int = 3_600
    # Deliveries read per environment and run at most: enough for a streak of any length
    # that matters (the decision only needs `min_deliveries` and the streak's age).
    max_scan: int = 1_000

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> HealthPolicy:
        """Read the settings (`Env.ENDPOINT_FAILING_SECONDS`, `Env.ENDPOINT_FAILING_DELIVERIES`,
        `Env.ENDPOINT_ALERT_SECONDS`); unset ones keep their defaults.

        Raises
        ------
        ReconcilerConfigError: a setting is not a whole number of at least 1.
        """
        environ = os.environ if environ is None else environ
        values = {}
        for name, attribute in ((Env.ENDPOINT_FAILING_SECONDS, "failing_seconds"),
                                (Env.ENDPOINT_FAILING_DELIVERIES, "min_deliveries"),
                                (Env.ENDPOINT_ALERT_SECONDS, "alert_interval_seconds")):
            text = environ.get(name)
            if not text:
                continue
            try:
                value = int(text)
            except ValueError:
                raise ReconcilerConfigError(name, f"must be a whole number, not {text!r}") \
                    from None
            if value < 1:
                raise ReconcilerConfigError(name, "must be at least 1")
            values[attribute] = value
        return cls(**values)


@dataclass(frozen=True)
class Assessment:
    """An environment's failing streak: the deliveries since the last one delivered."""

    failing_since: datetime | None = None  # first failed attempt of the streak
    failures: int = 0  # deliveries in the streak (none of them delivered)
    dead_lettered: int = 0  # of which dead-lettered

    def should_disable(self, now: datetime, policy: HealthPolicy) -> bool:
        """Whether every delivery has failed for at least the policy's time and count."""
        return (self.failing_since is not None and self.failures >= policy.min_deliveries
                and now - self.failing_since >= timedelta(seconds=policy.failing_seconds))


def _first_attempt(delivery: Any) -> datetime | None:
    attempts = getattr(delivery, "attempts", ()) or ()
    return attempts[0].at if attempts else None


def assess(deliveries: Iterable[Any], *, not_before: datetime | None = None,
           max_scan: int = HealthPolicy.max_scan) -> Assessment:
    """Find the failing streak in an environment's deliveries.

    Parameters
    ----------
    deliveries: the environment's deliveries, newest first (`partners.deliveries.Delivery`:
        `outcome`, `created_at`, `attempts` with `at`).
    not_before: deliveries created before this time do not count (the last re-enable).
    max_scan: read at most this many.

    Returns
    -------
    The streak back to the newest delivered delivery (exclusive); a delivery without any
    attempt yet is no evidence either way and is skipped.
    """
    since: datetime | None = None
    failures = dead = 0
    for scanned, delivery in enumerate(deliveries):
        if scanned >= max_scan:
            break
        if not_before is not None and delivery.created_at < not_before:
            break
        if str(delivery.outcome) == DELIVERED:
            break
        first = _first_attempt(delivery)
        if first is None:
            continue
        failures += 1
        dead += str(delivery.outcome) == DEAD_LETTERED
        since = first if since is None or first < since else since
    return Assessment(since, failures, dead)


class DeliveryLister(Protocol):
    """`partners.deliveries.DeliveryQueries.list`: one page of deliveries, newest first."""

    def __call__(self, partner_id: str, environment: str, *, limit: int,
                 cursor: str | None) -> Any: ...


def newest_deliveries(lister: DeliveryLister, partner_id: str, environment: str
                      ) -> Iterator[Any]:
    """Every delivery of one environment, newest first, page by page (read lazily).

    The first page holds one delivery: a healthy endpoint's newest is delivered, and that
    one read is all the guard needs.
    """
    cursor = None
    while True:
        page = lister(partner_id, environment, limit=1 if cursor is None else PAGE_SIZE,
                      cursor=cursor)
        yield from page.items
        cursor = page.next_cursor
        if not cursor:
            return


@dataclass(frozen=True)
class EndpointRecord:
    """What the guard keeps about one environment's endpoint."""

    reenabled_at: datetime | None = None
    disabled_since: datetime | None = None
    alerted_at: datetime | None = None


def _key(partner_id: str, environment: str) -> dict[str, Any]:
    return {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": f"ENDPOINT#{environment}"}}


def _time(item: Mapping[str, Any], name: str) -> datetime | None:
    value = item.get(name, {}).get("S")
    return parse_iso(value) if value else None


class EndpointHealthStore:
    """The guard's records in the partners table (see the module docstring)."""

    def __init__(self, table_name: str, *, dynamodb_client: Any = None,
                 boto3_session: boto3.session.Session | None = None):
        self.table_name = table_name
        self._dynamodb = dynamodb_client or client("dynamodb", boto3_session)

    def get(self, partner_id: str, environment: str) -> EndpointRecord:
        """The environment's record (empty when the guard never wrote one)."""
        item = self._dynamodb.get_item(TableName=self.table_name,
                                       Key=_key(partner_id, environment),
                                       ConsistentRead=True).get("Item") or {}
        return EndpointRecord(_time(item, "reenabled_at"), _time(item, "disabled_since"),
                              _time(item, "alerted_at"))

    def _set(self, partner_id: str, environment: str, values: dict[str, str],
             remove: tuple[str, ...] = ()) -> None:
        names = {f"#{k}": k for k in [*values, *remove]}
        expression = "SET " + ", ".join(f"#{k} = :{k}" for k in values)
        if remove:
            expression += " REMOVE " + ", ".join(f"#{k}" for k in remove)
        self._dynamodb.update_item(
            TableName=self.table_name, Key=_key(partner_id, environment),
            UpdateExpression=expression, ExpressionAttributeNames=names,
            ExpressionAttributeValues={f":{k}": {"S": v} for k, v in values.items()})

    def mark_disabled(self, partner_id: str, environment: str, since: datetime) -> None:
        self._set(partner_id, environment, {"disabled_since": isoformat(since)})

    def mark_reenabled(self, partner_id: str, environment: str, at: datetime) -> None:
        self._set(partner_id, environment, {"reenabled_at": isoformat(at)},
                  remove=("disabled_since",))

    def claim_alert(self, partner_id: str, environment: str, now: datetime,
                    interval: timedelta) -> bool:
        """Take the environment's alert slot: True for the first caller in `interval`.

        A conditional write, so of two concurrent runs exactly one gets True.
        """
        try:
            self._dynamodb.update_item(
                TableName=self.table_name, Key=_key(partner_id, environment),
                UpdateExpression="SET alerted_at = :now",
                ConditionExpression="attribute_not_exists(alerted_at) OR alerted_at <= :cutoff",
                ExpressionAttributeValues={":now": {"S": isoformat(now)},
                                           ":cutoff": {"S": isoformat(now - interval)}})
        except ClientError as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True


Mailer = Callable[[Partner, str, str], bool]  # (partner, subject, text) -> sent?


class EndpointGuard:
    """What the reconciler asks before it routes a push environment (module docstring)."""

    def __init__(self, store: EndpointHealthStore, deliveries: DeliveryLister,
                 audit: AuditLog, mailer: Mailer | None = None, *,
                 policy: HealthPolicy | None = None, clock: Clock = utc_now):
        self.store = store
        self.deliveries = deliveries
        self.audit = audit
        self.mailer = mailer
        self.policy = policy or HealthPolicy()
        self._clock = clock

    def hold(self, partner: Partner, environment: str,
             before: RoutingStatus | None) -> str | None:
        """Why the environment's rule must stay (or become) disabled; None: route it.

        Parameters
        ----------
        partner: the partner (approved, the environment in push mode).
        environment: the environment's name.
        before: its routing status before this run.

        Returns
        -------
        The status reason (`endpoint failing since <time>`), or None.
        """
        if before is not None and before.state is RoutingState.DISABLED:
            return before.reason or FAILING_REASON.format(since="unknown")
        now = self._clock()
        seen = list(self._streak(partner.id, environment))
        found = assess(seen, max_scan=self.policy.max_scan)
        if found.failures == 0:
            return None
        record = self.store.get(partner.id, environment)
        if record.reenabled_at is not None:
            found = assess(seen, not_before=record.reenabled_at, max_scan=self.policy.max_scan)
        if found.should_disable(now, self.policy):
            if record.disabled_since is not None and found.failing_since is not None and \
                    isoformat(record.disabled_since) == isoformat(found.failing_since):
                # Already paused for this streak (a run whose status write failed, or an
                # error status in between): hold it again, without a second email.
                return FAILING_REASON.format(since=isoformat(record.disabled_since))
            return self._disable(partner, environment, found)
        if found.dead_lettered:
            self._alert(partner, environment, found, now)
        return None

    def _streak(self, partner_id: str, environment: str) -> Iterator[Any]:
        for scanned, delivery in enumerate(newest_deliveries(self.deliveries, partner_id,
                                                             environment)):
            if scanned >= self.policy.max_scan or str(delivery.outcome) == DELIVERED:
                return
            yield delivery

    def _disable(self, partner: Partner, environment: str, found: Assessment) -> str:
        assert found.failing_since is not None
        since = isoformat(found.failing_since)
        reason = FAILING_REASON.format(since=since)
        self.store.mark_disabled(partner.id, environment, found.failing_since)
        self.audit.record(actor=Actor.system(GUARD_ACTOR), action="endpoint.disabled",
                          target=partner_target(partner.id), reason=reason,
                          after={"environment": environment, "failing_since": since,
                                 "failed_deliveries": found.failures})
        self._mail(partner, f"Deliveries to your {environment} endpoint are paused",
                   f"Every delivery to the {environment} environment of "
                   f"{partner.display_name} has failed since {since} "
                   f"({found.failures} deliveries), so the gateway stopped sending to it.\n\n"
                   "Fix the endpoint, then open the environment in the partner console and "
                   "choose Re-enable: the endpoint is checked first, then deliveries resume. "
                   "Failed deliveries are in the delivery log, ready to resend.")
        return reason

    def _alert(self, partner: Partner, environment: str, found: Assessment,
               now: datetime) -> None:
        interval = timedelta(seconds=self.policy.alert_interval_seconds)
        if not self.store.claim_alert(partner.id, environment, now, interval):
            return
        since = isoformat(found.failing_since) if found.failing_since else "recently"
        self.audit.record(actor=Actor.system(GUARD_ACTOR), action="endpoint.alerted",
                          target=partner_target(partner.id),
                          after={"environment": environment, "failing_since": since,
                                 "failed_deliveries": found.failures,
                                 "dead_lettered": found.dead_lettered})
        self._mail(partner, f"Deliveries to your {environment} endpoint are failing",
                   f"{found.dead_lettered} deliveries to the {environment} environment of "
                   f"{partner.display_name} were dead-lettered after their retries; "
                   f"{found.failures} have failed since {since}.\n\nSee the delivery log in "
                   "the partner console, fix the endpoint and resend them. If every delivery "
                   f"keeps failing for {self.policy.failing_seconds // 3600} hours, the "
                   "gateway pauses deliveries to this environment.")

    def _mail(self, partner: Partner, subject: str, text: str) -> None:
        if self.mailer is None:
            logger.warning("no alert mailer: %s not emailed to partner %s", subject, partner.id)
            return
        self.mailer(partner, subject, text)


@dataclass(frozen=True)
class Reenabled:
    """The outcome of a re-enable: the check's steps, and whether routing resumes."""

    steps: tuple[CheckStep, ...]
    passed: bool
    routing_triggered: bool = False


def reenable_endpoint(onboarding: Onboarding, store: EndpointHealthStore, actor: Actor,
                      partner: Partner, environment: str) -> Reenabled:
    """Check a disabled environment's endpoint; when it passes, let the reconciler enable it.

    Parameters
    ----------
    onboarding: the stores, the trigger and the stage's settings.
    store: the guard's records.
    actor: the member who asks (endpoints permission).
    partner: the partner.
    environment: the environment whose rule the guard disabled.

    Returns
    -------
    `Reenabled`: on a failed check nothing changes but the audit record.

    Raises
    ------
    RoleRefusedError: the actor may not change endpoints.
    EnvironmentNotFoundError: the partner has no such environment.
    EndpointNotDisabledError: the environment's routing is not disabled.
    """
    require(actor, partner.id, Permission.ENDPOINTS)
    status = onboarding.registry.routing_statuses(partner.id).get(environment)
    if status is None or status.state is not RoutingState.DISABLED:
        raise EndpointNotDisabledError(partner.id, environment)
    settings = partner.environment(environment)
    secret = None
    if settings.auth and settings.auth.secret_arn:
        secret = onboarding.credentials.value(settings.auth.secret_arn)
    steps = tuple(check_endpoint(settings, secret, allow_insecure=onboarding.allow_insecure,
                                 resolver=onboarding.resolver))
    passed = bool(steps) and all(step.ok for step in steps)
    checked = {"environment": environment, "passed": passed,
               "steps": [{"name": s.name, "ok": s.ok} for s in steps]}
    if not passed:
        onboarding.record(actor, "endpoint.reenable_refused", partner.id, after=checked)
        return Reenabled(steps, False)
    now = onboarding.clock()
    store.mark_reenabled(partner.id, environment, now)
    onboarding.registry.put_routing_status(RoutingStatus(
        partner.id, environment, RoutingState.PENDING, reason=REENABLING_REASON,
        updated_at=isoformat(now)))
    onboarding.record(actor, "endpoint.reenabled", partner.id, reason=status.reason,
                      after=checked)
    return Reenabled(steps, True, onboarding.trigger(partner.id))

