"""The reconciler: partner settings in the registry become EventBridge routing, and stay so.

Level-triggered, like a Kubernetes controller: `reconcile(partner_id)` and `reconcile_all()`
read the desired state (registry, secret versions), read the observed state (the resources
this stage owns, `partners.routing.observed`), compute a plan with the pure
`partners.routing.plan.plan_changes` and apply it. Nothing depends on what triggered the run,
and a run that dies half-way is finished by the next one.

Failures come in two kinds. Temporary ones (throttling, 5xx, lost connections) are retried a
few times with exponential backoff, then left to the next run (`pending`). Permanent ones (a
pattern EventBridge refuses, an exhausted quota, a validation error) are recorded on the
environment's routing status (`error: <reason>`) and not retried. Secret values are read only
to be written into a connection; they are never logged, returned or stored elsewhere.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, TypeVar

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from partners.core.aws import client, error_code
from partners.core.clock import Clock, isoformat, utc_now
from partners.core.constants import (
    PARTNER_ENVIRONMENT_CHANGED,
    SCHEMA_VERSION,
    Env,
    Tags,
    partner_resource_name,
)
from partners.core.contracts import put_events_entry
from partners.onboarding import (
    ROUTED_STATUSES,
    CredentialStore,
    Partner,
    PartnerNotFoundError,
    PartnerRegistry,
    PartnerStatus,
    RoutingState,
    RoutingStatus,
)
from partners.routing.exceptions import (
    ReconcilerConfigError,
    RoutingError,
    RoutingPermanentError,
    RoutingTemporaryError,
)
from partners.routing.observed import ArnContext, EventBridgeState, ObservedState
from partners.routing.plan import (
    MANAGED_MARKER,
    PENDING_HASH,
    RULE_ENABLED,
    Action,
    ActionKind,
    DesiredEnvironment,
    EnvironmentPlan,
    Headroom,
    Quotas,
    RoutingSettings,
    desired_environment,
    needs_closer_look,
    parse_resource_name,
    plan_changes,
    rule_description,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

DLQ_RETENTION_SECONDS = 14 * 24 * 3600

# Error codes that mean "try again later" in EventBridge, SQS, API Gateway and DynamoDB.
TEMPORARY_CODES = frozenset({
    "ThrottlingException", "Throttling", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "ProvisionedThroughputExceededException", "InternalException",
    "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable",
    "ServiceUnavailableException", "RequestTimeout", "RequestTimeoutException",
    "ConcurrentModificationException", "AWS.SimpleQueueService.QueueDeletedRecently",
})
# Codes that mean another writer got there first (a console trigger racing the schedule):
# repeating the same call now would fail the same way, the next run sees the new state.
CONFLICT_CODES = frozenset({"ResourceAlreadyExistsException", "ConflictException",
                            "ResourceNotFoundException", "NotFoundException"})
# Codes that mean "it is already gone", which a removal takes as success.
GONE_CODES = frozenset({"ResourceNotFoundException", "NotFoundException",
                        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})

DEAUTHORIZED_STATES = frozenset({"DEAUTHORIZED", "DEAUTHORIZING"})
DEAUTHORIZED_REASON = ("the endpoint's token service refused the credentials (connection "
                       "deauthorized); set them again in the console")

IDLE_REASONS = {
    PartnerStatus.DRAFT: (RoutingState.PENDING, "not yet submitted for approval"),
    PartnerStatus.PENDING_APPROVAL: (RoutingState.PENDING, "waiting for approval"),
    PartnerStatus.SUSPENDED: (RoutingState.REMOVED, "partner suspended"),
    PartnerStatus.REJECTED: (RoutingState.REMOVED, "partner rejected"),
    PartnerStatus.DELETED: (RoutingState.REMOVED, "partner deleted"),
}


def is_temporary(error: Exception) -> bool:
    """Whether an AWS error is worth retrying (throttling, 5xx, network), not bad input."""
    if isinstance(error, BotoCoreError):
        return True  # connection refused/reset, timeouts
    if not isinstance(error, ClientError):
        return False
    code = error_code(error)
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    # API Gateway says LimitExceededException (429) for its rate limit; EventBridge says it
    # (400) for an exhausted quota, which no retry fixes.
    return code in TEMPORARY_CODES or status >= 500 or status == 429


def _describe(error: Exception) -> RoutingError:
    """A `RoutingError` with a reason fit for the console (code and AWS's message, short)."""
    code = error_code(error) or type(error).__name__
    message = (getattr(error, "response", None) or {}).get("Error", {}).get("Message") \
        or str(error)
    reason = f"{code}: {message}"[:300]
    if code in CONFLICT_CODES:
        return RoutingTemporaryError(f"changed by another writer meanwhile ({reason}); the "
                                     "next run finishes", code=code)
    if is_temporary(error):
        return RoutingTemporaryError(f"AWS was unavailable ({reason}); the next run retries",
                                     code=code)
    return RoutingPermanentError(reason, code=code)


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


@dataclass
class _Written:
    """ARNs learnt while applying one environment's plan."""

    connection_arn: str | None
    destination_arn: str | None
    rule_arn: str


class Reconciler:
    """Turn partner settings into EventBridge routing (see the module docstring)."""

    retry_attempts = 4  # calls per write, the first included
    retry_base_seconds = 0.2
    retry_max_seconds = 5.0
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
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.registry = registry
        self.credentials = credentials
        self.settings = settings
        self._clock = clock
        self._sleep = sleep
        self._events = client("events", boto3_session)
        self._sqs = client("sqs", boto3_session)
        self._sts = client("sts", boto3_session)
        self._apigateway = client("apigateway", boto3_session) if settings.usage_plan_id else None
        self.state = EventBridgeState(
            events=self._events, sqs=self._sqs, apigateway=self._apigateway,
            bus_name=settings.bus_name, prefix=settings.resource_prefix,
            usage_plan_id=settings.usage_plan_id,
        )
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
                    state, reason = IDLE_REASONS.get(
                        partner.status, (RoutingState.REMOVED, "environment disabled"))
                    idle[name] = RoutingStatus(partner.id, env.name, state, reason=reason,
                                               updated_at=now)
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
            new_statuses[env_plan.name] = status
            report.outcomes.append(EnvironmentOutcome(
                env_plan.name, status, tuple(str(a) for a in env_plan.actions),
                env_plan.name in closer))
        planned = {outcome.name for outcome in report.outcomes}
        for name, status in sorted({**idle, **errors}.items()):
            if name not in planned:  # nothing to write: an error to show, or nothing routed
                report.outcomes.append(EnvironmentOutcome(name, status))
        report.status_writes = self._write_statuses(new_statuses, statuses, partners)
        return report

    def _write_statuses(self, new: dict[str, RoutingStatus], old: list[RoutingStatus],
                        partners: list[Partner]) -> int:
        """Write the statuses that changed; drop those of environments that no longer exist."""
        prefix = self.settings.resource_prefix
        current = {partner_resource_name(prefix, s.partner_id, s.environment): s for s in old}
        known = {partner_resource_name(prefix, p.id, e) for p in partners
                 for e in p.environments}
        # Announce first: a run that dies before its status writes announces again next time
        # (at least once), never silently not at all.
        self._announce([(current.get(name), status) for name, status in sorted(new.items())])
        writes = 0
        for name, status in sorted(new.items()):
            before = current.get(name)
            if before is not None and _same(before, status):
                continue
            if name not in known and status.state is RoutingState.REMOVED \
                    and status.reason == _GONE_REASON:
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

    def _announce(self, changes: list[tuple[RoutingStatus | None, RoutingStatus]]) -> None:
        """Put `Partner Environment Changed` on the bus for environments that went live or
        stopped being live. Best effort: the registry holds the status either way."""
        live = RoutingState.LIVE
        entries = [
            put_events_entry(self.settings.bus_name, PARTNER_ENVIRONMENT_CHANGED, {
                "partner_id": after.partner_id, "environment": after.environment,
                "request_id": "", "request_type": "", "occurred_at": after.updated_at,
                "schema_version": SCHEMA_VERSION, "actor": "system:reconciler",
                "reason": (f"routing {after.label}" + (
                    f": {after.reason}" if after.reason and after.state is not RoutingState.ERROR
                    else ""))[:1000],
            })
            for before, after in changes
            if ((before is not None and before.state is live) != (after.state is live))
        ]
        for start in range(0, len(entries), 10):  # PutEvents takes 10 entries a call
            try:
                response = self._call(self._events.put_events, Entries=entries[start:start + 10])
            except RoutingError as error:
                logger.warning("could not announce routing changes: %s", error.code)
                return
            if response.get("FailedEntryCount"):
                logger.warning("%s routing change events were refused",
                               response["FailedEntryCount"])

    # --- applying a plan ------------------------------------------------------------------

    def _apply(self, plan: EnvironmentPlan, idle: RoutingStatus | None,
               now: str) -> RoutingStatus | None:
        """Run one environment's writes; return its new status (None: nothing to say)."""
        parsed = parse_resource_name(self.settings.resource_prefix, plan.name)
        if parsed is None:
            return None
        partner_id, environment = parsed
        desired = plan.desired
        if plan.refusal:
            return RoutingStatus(partner_id, environment, RoutingState.ERROR,
                                 reason=plan.refusal, updated_at=now)
        written = _Written(
            connection_arn=plan.observed.connection.arn if plan.observed.connection else None,
            destination_arn=plan.observed.destination.arn if plan.observed.destination else None,
            rule_arn=plan.observed.rule.arn if plan.observed.rule
            else self._arn_context().rule_arn(plan.name),
        )
        try:
            for action in plan.actions:
                self._write(action, plan, written)
        except RoutingError as error:
            state = (RoutingState.PENDING if isinstance(error, RoutingTemporaryError)
                     else RoutingState.ERROR)
            logger.warning("routing of %s failed: %s", plan.name, error.code or "error")
            return RoutingStatus(partner_id, environment, state, reason=error.reason,
                                 config_hash=desired.config_hash if desired else None,
                                 updated_at=now)
        connection = plan.observed.connection
        rewritten = {ActionKind.CREATE_CONNECTION, ActionKind.UPDATE_CONNECTION} & set(plan.kinds)
        if desired is not None and desired.connection is not None and connection is not None \
                and not rewritten and connection.state in DEAUTHORIZED_STATES:
            # Routing is in place but EventBridge cannot authorise against the endpoint (an
            # OAuth token endpoint refused the client credentials): deliveries fail.
            return RoutingStatus(partner_id, environment, RoutingState.ERROR,
                                 reason=DEAUTHORIZED_REASON, rule_arn=written.rule_arn,
                                 config_hash=desired.config_hash, updated_at=now)
        if desired is not None:
            return RoutingStatus(partner_id, environment, RoutingState.LIVE,
                                 rule_arn=written.rule_arn, config_hash=desired.config_hash,
                                 updated_at=now)
        status = idle or RoutingStatus(partner_id, environment, RoutingState.REMOVED,
                                       reason=_GONE_REASON, updated_at=now)
        queue = plan.observed.queue
        if queue is not None and ActionKind.DELETE_QUEUE not in plan.kinds:
            kept = ("dead-letter queue kept until empty" if queue.messages is None else
                    f"dead-letter queue kept until its {queue.messages} messages are handled")
            status = replace(status, reason=f"{status.reason}; {kept}")
        return status

    def _call(self, operation: Callable[..., T], *, gone_ok: bool = False, **request: Any) -> T:
        """One AWS write, retried with backoff on temporary errors.

        Raises
        ------
        RoutingTemporaryError: still failing after `retry_attempts` calls.
        RoutingPermanentError: a failure no retry fixes.
        """
        for attempt in range(1, self.retry_attempts + 1):
            try:
                return operation(**request)
            except (ClientError, BotoCoreError) as error:
                if gone_ok and error_code(error) in GONE_CODES:
                    return {}  # type: ignore[return-value]
                if (not is_temporary(error) or error_code(error) in CONFLICT_CODES
                        or attempt == self.retry_attempts):
                    raise _describe(error) from None
                self._sleep(min(self.retry_max_seconds,
                                self.retry_base_seconds * 2 ** (attempt - 1)))
        raise AssertionError("unreachable")

    def _rule_tags(self, desired: DesiredEnvironment) -> list[dict[str, str]]:
        tags = {**desired.tags(), Tags.CONFIG_HASH: desired.config_hash}
        return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]

    def _put_rule(self, desired: DesiredEnvironment, config_hash: str, **extra: Any) -> str:
        response = self._call(self._events.put_rule, Name=desired.name,
                              EventBusName=self.settings.bus_name, EventPattern=desired.pattern,
                              State=RULE_ENABLED, Description=rule_description(config_hash),
                              **extra)
        return str(response["RuleArn"])

    def _connection_request(self, desired: DesiredEnvironment) -> tuple[dict[str, Any], str]:
        """The CreateConnection/UpdateConnection request and the secret value inside it."""
        spec = desired.connection
        assert spec is not None
        try:
            secret = self.credentials.value(spec.secret_arn)
        except (ClientError, BotoCoreError, KeyError, ValueError) as error:
            if isinstance(error, (ClientError, BotoCoreError)) and is_temporary(error):
                raise _describe(error) from None
            raise RoutingPermanentError("the endpoint credentials cannot be read; set them "
                                        "again in the console", code="SecretUnreadable") from None
        return {"Name": desired.name, "Description": rule_description(spec.config_hash),
                "AuthorizationType": spec.auth_type.value,
                "AuthParameters": spec.auth_parameters(secret)}, secret

    def _check_entries(self, response: Mapping[str, Any]) -> None:
        failed = response.get("FailedEntries") or []
        if failed:
            entry = failed[0]
            error = ClientError({"Error": {"Code": entry.get("ErrorCode", "FailedEntry"),
                                           "Message": entry.get("ErrorMessage", "")}},
                                "PutTargets")
            raise _describe(error)

    def _write(self, action: Action, plan: EnvironmentPlan, written: _Written) -> None:
        desired, observed, kind = plan.desired, plan.observed, action.kind
        bus = self.settings.bus_name
        if kind is ActionKind.DELETE_USAGE_KEY:
            self._call(self._apigateway.delete_api_key, gone_ok=True, apiKey=action.ids[0])
            return
        if kind is ActionKind.REMOVE_TARGETS:
            self._check_entries(self._call(self._events.remove_targets, gone_ok=True,
                                           Rule=plan.name, EventBusName=bus, Ids=list(action.ids)))
            return
        if kind is ActionKind.DELETE_RULE:
            self._call(self._events.delete_rule, gone_ok=True, Name=plan.name, EventBusName=bus)
            return
        if kind is ActionKind.DELETE_DESTINATION:
            self._call(self._events.delete_api_destination, gone_ok=True, Name=plan.name)
            return
        if kind is ActionKind.DELETE_CONNECTION:
            self._call(self._events.delete_connection, gone_ok=True, Name=plan.name)
            return
        if kind is ActionKind.DELETE_QUEUE:
            assert observed.queue is not None
            self._call(self._sqs.delete_queue, gone_ok=True, QueueUrl=observed.queue.url)
            return
        assert desired is not None, f"{kind} needs a desired state"
        if kind is ActionKind.CREATE_USAGE_KEY:
            key = self._call(self._apigateway.create_api_key, name=desired.name,
                             value=desired.usage_key_value, enabled=True,
                             tags=desired.tags())
            self._call(self._apigateway.create_usage_plan_key,
                       usagePlanId=self.settings.usage_plan_id, keyId=key["id"],
                       keyType="API_KEY")
        elif kind is ActionKind.ATTACH_USAGE_KEY:
            self._call(self._apigateway.create_usage_plan_key,
                       usagePlanId=self.settings.usage_plan_id, keyId=action.ids[0],
                       keyType="API_KEY")
        elif kind is ActionKind.ENABLE_USAGE_KEY:
            self._call(self._apigateway.update_api_key, apiKey=action.ids[0],
                       patchOperations=[{"op": "replace", "path": "/enabled", "value": "true"}])
        elif kind in (ActionKind.CREATE_CONNECTION, ActionKind.UPDATE_CONNECTION):
            request, secret = self._connection_request(desired)
            operation = (self._events.create_connection if kind is ActionKind.CREATE_CONNECTION
                         else self._events.update_connection)
            try:
                response = self._call(operation, **request)
            except RoutingError as error:
                # AWS validation messages may quote the offending value: never pass it on.
                raise type(error)(_scrub(error.reason, secret), code=error.code) from None
            written.connection_arn = response.get("ConnectionArn", written.connection_arn)
        elif kind in (ActionKind.CREATE_DESTINATION, ActionKind.UPDATE_DESTINATION):
            assert desired.destination is not None
            request = {"Name": desired.name, "ConnectionArn": written.connection_arn,
                       "InvocationEndpoint": desired.destination.endpoint,
                       "HttpMethod": desired.destination.method,
                       "InvocationRateLimitPerSecond": desired.destination.rate_limit_per_second}
            if kind is ActionKind.CREATE_DESTINATION:
                response = self._call(self._events.create_api_destination,
                                      Description=MANAGED_MARKER, **request)
            else:
                response = self._call(self._events.update_api_destination, **request)
            written.destination_arn = response["ApiDestinationArn"]
        elif kind is ActionKind.CREATE_QUEUE:
            self._call(self._sqs.create_queue, QueueName=desired.name,
                       Attributes=self._queue_attributes(desired), tags=desired.tags())
        elif kind is ActionKind.CREATE_RULE:
            written.rule_arn = self._put_rule(desired, PENDING_HASH, Tags=self._rule_tags(desired))
        elif kind is ActionKind.PUT_TARGETS:
            targets = [t.to_aws(written.destination_arn) for t in desired.targets
                       if t.id in action.ids]
            self._check_entries(self._call(self._events.put_targets, Rule=desired.name,
                                           EventBusName=bus, Targets=targets))
        elif kind is ActionKind.TAG_RULE:
            self._call(self._events.tag_resource, ResourceARN=written.rule_arn,
                       Tags=self._rule_tags(desired))
        elif kind is ActionKind.STAMP_RULE:
            written.rule_arn = self._put_rule(desired, desired.config_hash)
        else:  # pragma: no cover - every kind is handled above
            raise AssertionError(f"unhandled action {kind}")

    def _queue_attributes(self, desired: DesiredEnvironment) -> dict[str, str]:
        arns = self._arn_context()
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "EventBridgeDeadLetters",
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arns.queue_arn(desired.name),
            "Condition": {"ArnEquals": {"aws:SourceArn": arns.rule_arn(desired.name)}},
        }]}
        return {"MessageRetentionPeriod": str(DLQ_RETENTION_SECONDS),
                "SqsManagedSseEnabled": "true", "Policy": json.dumps(policy)}


_GONE_REASON = "environment no longer configured"


def _scrub(reason: str, secret: str) -> str:
    """`reason` without the secret value or any value AWS quotes back (`Value '...' at`)."""
    if secret:
        reason = reason.replace(secret, "***").replace(json.dumps(secret)[1:-1], "***")
    return re.sub(r"Value '.*?' at", "Value (hidden) at", reason, flags=re.DOTALL)


def _creates(plan: EnvironmentPlan) -> bool:
    return any(k in (ActionKind.CREATE_RULE, ActionKind.CREATE_DESTINATION,
                     ActionKind.CREATE_CONNECTION) for k in plan.kinds)


def _same(before: RoutingStatus, after: RoutingStatus) -> bool:
    return (before.state, before.reason, before.rule_arn, before.config_hash) == \
        (after.state, after.reason, after.rule_arn, after.config_hash)
