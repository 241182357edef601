"""The reconciler: partner settings in the registry become EventBridge routing, and stay so.

Level-triggered, like a Kubernetes controller: `reconcile(partner_id)` and `reconcile_all()`
read the desired state (registry, secret versions, `partners.routing.desired`), read the
observed state (the resources this stage owns, `partners.routing.observed`), compute a plan
with the pure `partners.routing.plan.plan_changes`, apply it through the
`partners.routing.writer.RoutingWriter` and record the outcome
(`partners.routing.status`). Nothing depends on what triggered the run, and a run that dies
half-way is finished by the next one.

Failures come in two kinds (`partners.routing.failures`). A temporary one (throttling, 5xx,
a race with another writer) stops that environment's writes for this run and leaves it
`pending` with the reason: the next run (the schedule, or the next console save) plans again
from what exists and goes on. Nothing waits in-process. A permanent one (a pattern
EventBridge refuses, an exhausted quota, a validation error) is recorded on the
environment's routing status (`error: <reason>`) and not retried.

A push environment's connection is followed the same way (EventBridge user guide,
eb-target-connection: the API destination only once the connection is AUTHORIZED). While
EventBridge authorises it (CREATING, UPDATING, AUTHORIZING: an OAuth token request), the
environment is `pending` ("waiting for the connection to be authorised") and gets no
destination, queue, rule or targets; the next run (the schedule's, every few minutes)
finishes it. DEAUTHORIZED is `error: <what the token endpoint answered>` until new
credentials are saved (`UpdateConnection` authorises again).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, utc_now
from partners.core.constants import Env, partner_resource_name
from partners.onboarding import (
    ROUTED_STATUSES,
    CredentialStore,
    DeliveryMode,
    Partner,
    PartnerNotFoundError,
    PartnerRegistry,
    RoutingState,
    RoutingStatus,
)
from partners.routing.desired import DesiredEnvironment, RoutingSettings, desired_environment
from partners.routing.endpoint_health import EndpointGuard
from partners.routing.exceptions import ReconcilerConfigError, RoutingError, RoutingPermanentError
from partners.routing.names import RULE_DISABLED, parse_resource_name
from partners.routing.observed import ArnContext, EventBridgeState, ObservedState
from partners.routing.plan import ActionKind, EnvironmentPlan, needs_closer_look, plan_changes
from partners.routing.quotas import Headroom, Quotas
from partners.routing.status import (
    StatusRecorder,
    applied_status,
    failed_status,
    idle_status,
)
from partners.routing.writer import RoutingWriter

logger = logging.getLogger(__name__)


def _int_setting(environ: Mapping[str, str], name: str, default: int) -> int:
    text = environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise ReconcilerConfigError(name, f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise ReconcilerConfigError(name, "must be at least 1")
    return value


@dataclass(frozen=True)
class ReconcilerSettings:
    """The stage-wide settings of the reconciler, read from `Env` variables on Lambda."""

    bus_name: str
    resource_prefix: str
    routing_recorder_arn: str
    usage_plan_id: str | None = None
    delivery_role_arn: str | None = None
    routing_dlq_arn: str | None = None
    quotas: Quotas = field(default_factory=Quotas)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ReconcilerSettings:
        """Read the settings from environment variables.

        Raises
        ------
        ReconcilerConfigError: a required variable is unset, or a quota is not a number.
        """
        environ = os.environ if environ is None else environ
        required = {}
        for name in (Env.BUS_NAME, Env.RESOURCE_PREFIX, Env.ROUTING_RECORDER_ARN):
            if not environ.get(name):
                raise ReconcilerConfigError(name, "is not set")
            required[name] = environ[name]
        return cls(
            bus_name=required[Env.BUS_NAME],
            resource_prefix=required[Env.RESOURCE_PREFIX],
            routing_recorder_arn=required[Env.ROUTING_RECORDER_ARN],
            usage_plan_id=environ.get(Env.USAGE_PLAN_ID) or None,
            delivery_role_arn=environ.get(Env.DELIVERY_ROLE_ARN) or None,
            routing_dlq_arn=environ.get(Env.ROUTING_DLQ_ARN) or None,
            quotas=Quotas(
                rules_per_bus=_int_setting(environ, Env.RULE_QUOTA, Quotas.rules_per_bus),
                api_destinations=_int_setting(environ, Env.DESTINATION_QUOTA,
                                              Quotas.api_destinations),
                connections=_int_setting(environ, Env.CONNECTION_QUOTA, Quotas.connections),
            ),
        )


@dataclass(frozen=True)
class EnvironmentOutcome:
    """What one run did for one partner environment."""

    name: str
    status: RoutingStatus
    actions: tuple[str, ...] = ()
    looked_closer: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.to_dict(),
                "actions": list(self.actions), "looked_closer": self.looked_closer}


@dataclass
class ReconcileReport:
    """The result of one run: per-environment outcomes, quota headroom, how deep it looked."""

    scope: str  # "all" or a partner id
    deep: bool
    outcomes: list[EnvironmentOutcome] = field(default_factory=list)
    headroom: Headroom | None = None
    checked: int = 0  # resource names compared against the desired state
    looked_closer: int = 0  # of which had their targets/connection/queue read one by one
    deferred: int = 0  # environments left for the next run (out of time)
    status_writes: int = 0

    @property
    def writes(self) -> int:
        return sum(len(o.actions) for o in self.outcomes)

    def by_state(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.outcomes:
            counts[outcome.status.state.value] = counts.get(outcome.status.state.value, 0) + 1
        return counts

    def summary(self) -> dict[str, Any]:
        """Counts only: what the handler logs (no endpoints, no secrets)."""
        return {"scope": self.scope, "deep": self.deep, "checked": self.checked,
                "looked_closer": self.looked_closer, "writes": self.writes,
                "status_writes": self.status_writes, "deferred": self.deferred,
                "states": self.by_state(),
                "headroom": self.headroom.to_dict() if self.headroom else None}


class Reconciler:
    """Turn partner settings into EventBridge routing (see the module docstring)."""

    # Seconds kept free at the end of a time-limited run for the status writes.
    reserve_seconds = 30.0

    def __init__(
        self,
        registry: PartnerRegistry,
        credentials: CredentialStore,
        settings: ReconcilerSettings,
        *,
        boto3_session: boto3.session.Session | None = None,
        clock: Clock = utc_now,
        endpoint_guard: EndpointGuard | None = None,
    ):
        self.registry = registry
        # Disables the rule of an endpoint that failed everything for too long (None: never).
        self.endpoint_guard = endpoint_guard
        self.credentials = credentials
        self.settings = settings
        self._clock = clock
        events = client("events", boto3_session)
        self._sts = client("sts", boto3_session)
        sqs = client("sqs", boto3_session)
        apigateway = client("apigateway", boto3_session) if settings.usage_plan_id else None
        self.state = EventBridgeState(
            events=events, sqs=sqs, apigateway=apigateway, bus_name=settings.bus_name,
            prefix=settings.resource_prefix, usage_plan_id=settings.usage_plan_id,
        )
        self.writer = RoutingWriter(
            events=events, sqs=sqs, apigateway=apigateway, credentials=credentials,
            bus_name=settings.bus_name, usage_plan_id=settings.usage_plan_id,
            arns=self._arn_context,
        )
        self.statuses = StatusRecorder(registry, events=events, bus_name=settings.bus_name,
                                       prefix=settings.resource_prefix)
        self._arns: ArnContext | None = None

    # --- public API -----------------------------------------------------------------------

    def reconcile(self, partner_id: str, *, deep: bool = False,
                  time_left: Callable[[], float] | None = None) -> ReconcileReport:
        """Make one partner's routing match its settings.

        Parameters
        ----------
        partner_id: the partner; an unknown id loses whatever routing it still has.
        deep: also read every rule's targets and tags, and every connection's details.
        time_left: seconds left to run (Lambda's remaining time); environments whose writes
            would start with less than `reserve_seconds` left wait for the next run.

        Returns
        -------
        A `ReconcileReport`; every environment's outcome is also in the registry.

        Raises
        ------
        botocore errors only when reading state fails after botocore's own retries; write
        failures are recorded on the environments' statuses instead.
        """
        try:
            partners = [self.registry.get_partner(partner_id)]
        except PartnerNotFoundError:
            partners = []
        statuses = list(self.registry.routing_statuses(partner_id).values())
        observed = self.state.read(partner_id)
        return self._run(partner_id, partners, statuses, observed, deep=deep,
                         partner_id=partner_id, time_left=time_left)

    def reconcile_all(self, *, deep: bool = False,
                      time_left: Callable[[], float] | None = None) -> ReconcileReport:
        """Make every partner's routing match its settings, and remove what nobody wants.

        A no-op run costs list pages only (rules, connections, destinations, queues, secrets,
        one scan of the partners table): no writes. `deep=True` also reads every rule's
        targets and tags and every connection's details, to repair drift that list pages do
        not show. A first run over many partners may not fit one Lambda invocation: with
        `time_left`, it stops starting environments in time, and the next run goes on.

        Returns
        -------
        A `ReconcileReport` with the quota headroom.
        """
        partners, statuses = self.registry.scan_partners_and_routing()
        observed = self.state.read()
        return self._run("all", partners, statuses, observed, deep=deep, partner_id=None,
                         time_left=time_left)

    def headroom(self) -> Headroom:
        """Quota use and headroom: rules on the bus, API destinations and connections."""
        return Headroom(self.settings.quotas, self.state.usage())

    # --- one run --------------------------------------------------------------------------

    def _arn_context(self) -> ArnContext:
        if self._arns is None:
            self._arns = self.state.arn_context(self._sts)
        return self._arns

    def _routing_settings(self) -> RoutingSettings:
        arns = self._arn_context()
        return RoutingSettings(
            prefix=self.settings.resource_prefix,
            routing_recorder_arn=self.settings.routing_recorder_arn,
            queue_arn_prefix=arns.queue_arn(""),
            delivery_role_arn=self.settings.delivery_role_arn,
            routing_dlq_arn=self.settings.routing_dlq_arn,
            usage_plan=bool(self.settings.usage_plan_id),
        )

    def _desired(self, partners: list[Partner], partner_id: str | None
                 ) -> tuple[dict[str, DesiredEnvironment], dict[str, RoutingStatus],
                            dict[str, RoutingStatus]]:
        """(desired by name, errors by name, idle statuses by name) for `partners`."""
        routed = [p for p in partners if p.status in ROUTED_STATUSES]
        needs_secrets = any(e.enabled and e.auth and e.auth.secret_arn
                            for p in routed for e in p.environments.values())
        versions = self.credentials.current_versions(partner_id) if needs_secrets else {}
        settings = self._routing_settings()
        now = isoformat(self._clock())
        desired: dict[str, DesiredEnvironment] = {}
        errors: dict[str, RoutingStatus] = {}
        idle: dict[str, RoutingStatus] = {}
        for partner in partners:
            for env in partner.environments.values():
                name = partner_resource_name(settings.prefix, partner.id, env.name)
                if partner.status not in ROUTED_STATUSES or not env.enabled:
                    idle[name] = idle_status(partner, env.name, now)
                    continue
                try:
                    desired[name] = desired_environment(partner.id, env, settings, versions)
                except RoutingPermanentError as error:
                    errors[name] = RoutingStatus(partner.id, env.name, RoutingState.ERROR,
                                                 reason=error.reason, updated_at=now)
        return desired, errors, idle

    def _run(self, scope: str, partners: list[Partner], statuses: list[RoutingStatus],
             observed: ObservedState, *, deep: bool, partner_id: str | None,
             time_left: Callable[[], float] | None = None) -> ReconcileReport:
        report = ReconcileReport(scope=scope, deep=deep)
        desired, errors, idle = self._desired(partners, partner_id)
        held = self._endpoint_holds(partners, statuses, desired)
        environments = dict(observed.environments)
        report.checked = len(set(environments) | set(desired))
        closer: set[str] = set()
        for name, seen in environments.items():
            wanted = desired.get(name)
            if name not in errors and needs_closer_look(wanted, seen, deep=deep):
                unwanted_queue = wanted is None or not wanted.dead_letter_queue
                environments[name] = self.state.look_closer(seen, queue_depth=unwanted_queue)
                closer.add(name)
        report.looked_closer = len(closer)

        usage = observed.usage
        plan = plan_changes(desired, environments, held=errors, quotas=self.settings.quotas,
                            usage=usage)
        if usage is None and any(_creates(p) for p in plan.environments):
            usage = self.state.usage()  # one partner's run: count quotas only when creating
            plan = plan_changes(desired, environments, held=errors,
                                quotas=self.settings.quotas, usage=usage)
        if usage is not None:
            report.headroom = Headroom(self.settings.quotas, usage)

        now = isoformat(self._clock())
        new_statuses: dict[str, RoutingStatus] = dict(idle)
        new_statuses.update(errors)
        before = {partner_resource_name(self.settings.resource_prefix, s.partner_id,
                                        s.environment): s for s in statuses}
        for env_plan in plan.environments:
            if env_plan.actions and time_left is not None and time_left() < self.reserve_seconds:
                # Out of time: leave this environment (and its status) for the next run.
                report.deferred += 1
                new_statuses.pop(env_plan.name, None)
                if env_plan.name in before:
                    new_statuses[env_plan.name] = before[env_plan.name]
                continue
            status = self._apply(env_plan, idle.get(env_plan.name), now)
            if status is None:
                continue  # the state reader only returns our names, so this never happens
            if env_plan.name in held and status.state is RoutingState.LIVE:
                status = replace(status, state=RoutingState.DISABLED, reason=held[env_plan.name])
            new_statuses[env_plan.name] = status
            report.outcomes.append(EnvironmentOutcome(
                env_plan.name, status, tuple(str(a) for a in env_plan.actions),
                env_plan.name in closer))
        planned = {outcome.name for outcome in report.outcomes}
        for name, status in sorted({**idle, **errors}.items()):
            if name not in planned:  # nothing to write: an error to show, or nothing routed
                report.outcomes.append(EnvironmentOutcome(name, status))
        report.status_writes = self.statuses.record(new_statuses, statuses, partners)
        return report

    def _endpoint_holds(self, partners: list[Partner], statuses: list[RoutingStatus],
                        desired: dict[str, DesiredEnvironment]) -> dict[str, str]:
        """Disable the rules the endpoint guard holds; their status reasons, by name."""
        if self.endpoint_guard is None:
            return {}
        before = {(s.partner_id, s.environment): s for s in statuses}
        held: dict[str, str] = {}
        for partner in partners:
            for env in partner.environments.values():
                name = partner_resource_name(self.settings.resource_prefix, partner.id, env.name)
                if name not in desired or env.mode is not DeliveryMode.PUSH:
                    continue
                try:
                    reason = self.endpoint_guard.hold(partner, env.name,
                                                      before.get((partner.id, env.name)))
                except (ClientError, BotoCoreError) as error:
                    # The delivery log could not be read: route as planned, judge next run.
                    logger.warning("endpoint health of %s not assessed: %s", name,
                                   error_code(error) if isinstance(error, ClientError)
                                   else type(error).__name__)
                    continue
                if reason is not None:
                    held[name] = reason
                    desired[name] = replace(desired[name], rule_state=RULE_DISABLED)
        return held

    def _apply(self, plan: EnvironmentPlan, idle: RoutingStatus | None,
               now: str) -> RoutingStatus | None:
        """Run one environment's writes; return its new status (None: nothing to say)."""
        parsed = parse_resource_name(self.settings.resource_prefix, plan.name)
        if parsed is None:
            return None
        partner_id, environment = parsed
        if plan.refusal:
            return RoutingStatus(partner_id, environment, RoutingState.ERROR,
                                 reason=plan.refusal, updated_at=now)
        try:
            written = self.writer.apply(plan)
        except RoutingError as error:
            # Temporary or not, this environment's writes stop here; the next run plans
            # again from what exists.
            logger.warning("routing of %s stopped: %s", plan.name, error.code or "error")
            return failed_status(partner_id, environment, plan, error, now)
        return applied_status(partner_id, environment, plan, written.rule_arn, idle, now)


def _creates(plan: EnvironmentPlan) -> bool:
    return any(k in (ActionKind.CREATE_RULE, ActionKind.CREATE_DESTINATION,
                     ActionKind.CREATE_CONNECTION) for k in plan.kinds)
