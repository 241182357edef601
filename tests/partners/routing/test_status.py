"""Which routing status an environment's outcome earns, as tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.onboarding.models import Partner, PartnerStatus, RoutingState, RoutingStatus
from partners.routing.exceptions import RoutingPermanentError, RoutingTemporaryError
from partners.routing.observed import ObservedEnvironment, ObservedQueue
from partners.routing.plan import Action, ActionKind, EnvironmentPlan
from partners.routing.status import (
    DEAUTHORIZED_REASON,
    GONE_REASON,
    applied_status,
    failed_status,
    idle_status,
    is_unchanged,
)
from tests.partners.routing.plan_fixtures import PARTNER, desired, in_sync, push

NOW = "2026-11-23T10:00:00Z"
RULE_ARN = "arn:rule/x"
PUSH = desired(push())
SYNCED = in_sync(PUSH)


@pytest.mark.parametrize("status, state, reason", [
    (PartnerStatus.DRAFT, RoutingState.PENDING, "not yet submitted for approval"),
    (PartnerStatus.PENDING_APPROVAL, RoutingState.PENDING, "waiting for approval"),
    (PartnerStatus.SUSPENDED, RoutingState.REMOVED, "partner suspended"),
    (PartnerStatus.REJECTED, RoutingState.REMOVED, "partner rejected"),
    (PartnerStatus.DELETED, RoutingState.REMOVED, "partner deleted"),
    (PartnerStatus.APPROVED, RoutingState.REMOVED, "environment disabled"),
])
def test_idle_status(status, state, reason):
    partner = Partner(PARTNER, "acme", "Acme", "ops@acme.example", status=status)
    assert idle_status(partner, "prod", NOW) == RoutingStatus(PARTNER, "prod", state,
                                                              reason=reason, updated_at=NOW)


@pytest.mark.parametrize("error, state", [
    (RoutingTemporaryError("AWS was unavailable; the next run retries"), RoutingState.PENDING),
    (RoutingPermanentError("ValidationException: bad"), RoutingState.ERROR),
])
def test_failed_status(error, state):
    plan = EnvironmentPlan(PUSH.name, PUSH, SYNCED, (Action(ActionKind.STAMP_RULE),))
    status = failed_status(PARTNER, "prod", plan, error, NOW)
    assert (status.state, status.reason, status.config_hash) == (state, error.reason,
                                                                 PUSH.config_hash)


def _deauthorized(observed):
    return replace(observed, connection=replace(observed.connection, state="DEAUTHORIZED"))


IDLE = RoutingStatus(PARTNER, "prod", RoutingState.REMOVED, reason="partner suspended",
                     updated_at=NOW)


@pytest.mark.parametrize("case, plan, idle, state, reason", [
    ("applied", EnvironmentPlan(PUSH.name, PUSH, SYNCED), None, RoutingState.LIVE, None),
    ("deauthorized connection", EnvironmentPlan(PUSH.name, PUSH, _deauthorized(SYNCED)), None,
     RoutingState.ERROR, DEAUTHORIZED_REASON),
    ("deauthorized, credentials rewritten",
     EnvironmentPlan(PUSH.name, PUSH, _deauthorized(SYNCED),
                     (Action(ActionKind.UPDATE_CONNECTION),)), None, RoutingState.LIVE, None),
    ("removed, nothing left", EnvironmentPlan(PUSH.name, None, ObservedEnvironment(PUSH.name)),
     IDLE, RoutingState.REMOVED, "partner suspended"),
    ("gone from the registry", EnvironmentPlan(PUSH.name, None, ObservedEnvironment(PUSH.name)),
     None, RoutingState.REMOVED, GONE_REASON),
    ("dead letters still queued",
     EnvironmentPlan(PUSH.name, None, ObservedEnvironment(
         PUSH.name, queue=ObservedQueue(PUSH.name, "u", 3))), IDLE, RoutingState.REMOVED,
     "partner suspended; dead-letter queue kept until its 3 messages are handled"),
    ("queue depth not read",
     EnvironmentPlan(PUSH.name, None, ObservedEnvironment(
         PUSH.name, queue=ObservedQueue(PUSH.name, "u"))), IDLE, RoutingState.REMOVED,
     "partner suspended; dead-letter queue kept until empty"),
    ("empty queue deleted",
     EnvironmentPlan(PUSH.name, None, ObservedEnvironment(
         PUSH.name, queue=ObservedQueue(PUSH.name, "u", 0)), (Action(ActionKind.DELETE_QUEUE),)),
     IDLE, RoutingState.REMOVED, "partner suspended"),
])
def test_applied_status(case, plan, idle, state, reason):
    status = applied_status(PARTNER, "prod", plan, RULE_ARN, idle, NOW)
    assert (status.state, status.reason) == (state, reason), case
    if plan.desired is not None:
        assert (status.rule_arn, status.config_hash) == (RULE_ARN, PUSH.config_hash)


LIVE = RoutingStatus(PARTNER, "prod", RoutingState.LIVE, rule_arn=RULE_ARN, config_hash="h",
                     updated_at=NOW)


@pytest.mark.parametrize("after, unchanged", [
    (replace(LIVE, updated_at="2026-11-24T00:00:00Z"), True),  # the time does not count
    (replace(LIVE, config_hash="h2"), False),
    (replace(LIVE, state=RoutingState.PENDING, reason="AWS was unavailable"), False),
    (replace(LIVE, rule_arn=None), False),
])
def test_is_unchanged(after, unchanged):
    assert is_unchanged(LIVE, after) is unchanged
