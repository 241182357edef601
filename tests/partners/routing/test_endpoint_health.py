"""Endpoint health: the auto-disable rule at its edges, the alert throttle, the reconciler
disabling and re-enabling a failing environment's rule, and the re-enable's endpoint check."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from partners.deliveries import Attempt, AttemptOutcome, Delivery, DeliveryPage, Outcome
from partners.onboarding import (
    Actor,
    AuditLog,
    CheckStep,
    Onboarding,
    RoleRefusedError,
    RoutingState,
    TokenStore,
    partner_target,
)
from partners.routing import endpoint_health
from partners.routing.endpoint_health import (
    Assessment,
    EndpointGuard,
    EndpointHealthStore,
    HealthPolicy,
    assess,
    reenable_endpoint,
)
from partners.routing.exceptions import EndpointNotDisabledError, ReconcilerConfigError
from tests.partners.routing.reconciler_fixtures import push_env, world  # noqa: F401 (fixture)

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
POLICY = HealthPolicy()


def delivery(n: int, first_attempt: datetime, outcome: Outcome = Outcome.FAILED,
             attempts: int = 1) -> Delivery:
    status = 200 if outcome is Outcome.DELIVERED else 500
    kind = AttemptOutcome.SUCCESS if status == 200 else AttemptOutcome.RETRYABLE_FAILURE
    return Delivery(id=f"dlv_{n:024x}", partner_id="p", environment="prod",
                    cloudevent_id=f"ce-{n}", request_id=f"r-{n}", request_type="stock.check",
                    created_at=first_attempt, outcome=outcome,
                    attempts=tuple(Attempt(first_attempt + timedelta(minutes=i), kind, status)
                                   for i in range(attempts)))


def failing(count: int, oldest: datetime, newest: datetime = NOW) -> list[Delivery]:
    """`count` failed deliveries from `oldest` to `newest`, newest first."""
    step = (newest - oldest) / max(count - 1, 1)
    return [delivery(i, oldest if i == count - 1 else newest - i * step) for i in range(count)]


# --- the rule -------------------------------------------------------------------------------


@pytest.mark.parametrize("count,age,disabled", [
    (20, timedelta(hours=24), True),
    (19, timedelta(hours=24), False),  # one delivery short
    (20, timedelta(hours=23, minutes=59), False),  # one minute short
    (20, timedelta(hours=30), True),
    (500, timedelta(hours=23, minutes=59, seconds=59), False),
])
def test_disable_needs_the_count_and_the_time(count, age, disabled):
    found = assess(failing(count, NOW - age))
    assert found.failing_since == NOW - age and found.failures == count
    assert found.should_disable(NOW, POLICY) is disabled


def test_a_delivered_delivery_ends_the_streak():
    older = failing(30, NOW - timedelta(hours=48), NOW - timedelta(hours=25))
    newer = failing(5, NOW - timedelta(hours=2))
    success = delivery(99, NOW - timedelta(hours=3), Outcome.DELIVERED)
    found = assess([*newer, success, *older])
    assert (found.failures, found.failing_since) == (5, NOW - timedelta(hours=2))
    assert not found.should_disable(NOW, POLICY)


def test_failures_before_a_re_enable_do_not_count():
    deliveries = failing(40, NOW - timedelta(hours=30))
    assert assess(deliveries).should_disable(NOW, POLICY)
    found = assess(deliveries, not_before=NOW - timedelta(hours=1))
    assert found.failures == 2 and not found.should_disable(NOW, POLICY)


def test_retrying_deliveries_count_and_dead_letters_are_counted_apart():
    deliveries = [delivery(1, NOW, Outcome.RETRYING, attempts=3),
                  delivery(2, NOW - timedelta(hours=1), Outcome.DEAD_LETTERED),
                  delivery(3, NOW - timedelta(hours=2), Outcome.FAILED),
                  delivery(4, NOW - timedelta(hours=3), Outcome.RETRYING, attempts=0)]
    assert assess(deliveries) == Assessment(NOW - timedelta(hours=2), 3, 1)


def test_the_policy_reads_the_stack_settings():
    assert HealthPolicy.from_environment({}) == HealthPolicy()
    policy = HealthPolicy.from_environment({
        "PGW_ENDPOINT_FAILING_SECONDS": "3600", "PGW_ENDPOINT_FAILING_DELIVERIES": "5",
        "PGW_ENDPOINT_ALERT_SECONDS": "600"})
    assert (policy.failing_seconds, policy.min_deliveries, policy.alert_interval_seconds) == \
        (3600, 5, 600)
    for bad in ("soon", "0"):
        with pytest.raises(ReconcilerConfigError) as caught:
            HealthPolicy.from_environment({"PGW_ENDPOINT_FAILING_DELIVERIES": bad})
        assert caught.value.name == "PGW_ENDPOINT_FAILING_DELIVERIES"


# --- the guard, its records and its alerts ------------------------------------------------


@dataclass
class Lister:
    """The delivery log's `list`, over a fixed list (newest first), page by page."""

    deliveries: list[Delivery]
    calls: int = 0

    def __call__(self, partner_id: str, environment: str, *, limit: int,
                 cursor: str | None) -> DeliveryPage:
        self.calls += 1
        start = int(cursor or 0)
        end = start + limit
        return DeliveryPage(self.deliveries[start:end],
                            str(end) if end < len(self.deliveries) else None)


@dataclass
class Mailbox:
    sent: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, partner: Any, subject: str, text: str) -> bool:
        self.sent.append((partner.contact_email, subject, text))
        return True


@pytest.fixture
def health_store(stage, aws) -> EndpointHealthStore:
    return EndpointHealthStore(stage.spec.tables["partners"].name, boto3_session=aws)


@pytest.fixture
def audit(stage, aws, clock) -> AuditLog:
    return AuditLog(stage.spec.tables["audit"].name, boto3_session=aws, clock=clock)


def test_the_alert_slot_is_one_per_interval(health_store, clock):
    """A conditional write claims it: https://docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/Expressions.ConditionExpressions.html"""
    hour = timedelta(hours=1)
    now = clock()
    assert health_store.claim_alert("p1", "prod", now, hour) is True
    assert health_store.claim_alert("p1", "prod", now + timedelta(minutes=59), hour) is False
    assert health_store.claim_alert("p1", "test", now, hour) is True  # per environment
    assert health_store.claim_alert("p1", "prod", now + hour, hour) is True
    assert health_store.get("p1", "prod").alerted_at == now + hour


def test_guard_disables_audits_and_emails_once(world, health_store, audit, clock):  # noqa: F811
    partner = world.partner("acme", push_env("prod"))
    mail = Mailbox()
    # Attempt times carry milliseconds; the records and the reason keep seconds.
    lister = Lister(failing(20, clock() - timedelta(hours=24, milliseconds=250), clock()))
    guard = EndpointGuard(health_store, lister, audit, mail, clock=clock)
    reason = guard.hold(partner, "prod", None)
    since = (clock() - timedelta(hours=24, seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert reason == f"endpoint failing since {since}"
    [record] = audit.for_target(partner_target(partner.id)).items
    assert (record.action, record.actor, record.after["failed_deliveries"]) == \
        ("endpoint.disabled", "system:reconciler", 20)
    [(to, subject, text)] = mail.sent
    assert to == "ops@acme.example" and "paused" in subject and since in text
    # A run that lost the disabled status decides the same, without a second email.
    assert guard.hold(partner, "prod", None) == reason and len(mail.sent) == 1
    # Held from the status alone afterwards: no read of the log, no second email.
    from partners.onboarding import RoutingStatus

    status = RoutingStatus(partner.id, "prod", RoutingState.DISABLED, reason=reason)
    lister.calls = 0
    assert guard.hold(partner, "prod", status) == reason
    assert lister.calls == 0 and len(mail.sent) == 1


def test_dead_letters_alert_at_most_once_an_hour(world, health_store, audit, clock):  # noqa: F811
    partner = world.partner("acme", push_env("prod"))
    mail = Mailbox()
    dead = [delivery(1, clock() - timedelta(minutes=5), Outcome.DEAD_LETTERED)]
    guard = EndpointGuard(health_store, Lister(dead), audit, mail, clock=clock)
    assert guard.hold(partner, "prod", None) is None
    clock.advance(minutes=30)
    assert guard.hold(partner, "prod", None) is None
    assert len(mail.sent) == 1 and "failing" in mail.sent[0][1]
    clock.advance(minutes=31)
    guard.hold(partner, "prod", None)
    assert len(mail.sent) == 2
    actions = [r.action for r in audit.for_target(partner_target(partner.id)).items]
    assert actions == ["endpoint.alerted", "endpoint.alerted"]


def test_a_healthy_endpoint_reads_one_page_and_sends_nothing(world, health_store, audit,  # noqa: F811
                                                             clock):
    partner = world.partner("acme", push_env("prod"))
    mail = Mailbox()
    lister = Lister([delivery(1, clock(), Outcome.DELIVERED), *failing(30, clock() - timedelta(
        hours=40), clock() - timedelta(hours=1))])
    assert EndpointGuard(health_store, lister, audit, mail, clock=clock).hold(
        partner, "prod", None) is None
    assert lister.calls == 1 and mail.sent == []


# --- the reconciler -------------------------------------------------------------------------


def _rule_state(world, partner) -> str:  # noqa: F811
    name = f"{world.settings.resource_prefix}{partner.id}-prod"
    return world.client("events").describe_rule(Name=name,
                                                EventBusName=world.settings.bus_name)["State"]


def test_the_reconciler_disables_a_failing_rule_and_keeps_it_disabled(world, health_store,  # noqa: F811
                                                                      audit, clock):
    partner = world.partner("acme", push_env("prod"))
    lister = Lister([])
    guard = EndpointGuard(health_store, lister, audit, Mailbox(), clock=clock)
    reconciler = world.reconciler()
    reconciler.endpoint_guard = guard
    reconciler.reconcile_all()
    assert _rule_state(world, partner) == "ENABLED"
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.LIVE

    lister.deliveries = failing(25, clock() - timedelta(hours=25))
    reconciler.reconcile(partner.id)
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert _rule_state(world, partner) == "DISABLED"
    assert status.state is RoutingState.DISABLED
    assert status.label.startswith("disabled: endpoint failing since ")
    # The evidence ages out of the log; the rule stays disabled until a re-enable.
    lister.deliveries = []
    world.log.clear()
    reconciler.reconcile_all()
    assert _rule_state(world, partner) == "DISABLED" and world.log.writes == []

    # A re-enable (status pending, reenabled_at) lets the next run enable the rule.
    clock.advance(minutes=5)
    health_store.mark_reenabled(partner.id, "prod", clock())
    from partners.onboarding import RoutingStatus

    world.registry.put_routing_status(RoutingStatus(partner.id, "prod", RoutingState.PENDING,
                                                    reason="re-enabling"))
    lister.deliveries = failing(25, clock() - timedelta(hours=25), clock() - timedelta(hours=1))
    reconciler.reconcile(partner.id)
    assert _rule_state(world, partner) == "ENABLED"
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.LIVE


# --- re-enable ------------------------------------------------------------------------------


@pytest.fixture
def onboarding(world, audit, clock):  # noqa: F811
    triggered: list[str] = []
    tokens = TokenStore(world.stage.spec.tables["tokens"].name, boto3_session=world.aws)
    service = Onboarding(world.registry, tokens, world.credentials, audit,
                         lambda pid: triggered.append(pid) or True, clock=clock)
    service.triggered = triggered  # type: ignore[attr-defined]
    return service


def _disabled(world, partner):  # noqa: F811
    from partners.onboarding import RoutingStatus

    world.registry.put_routing_status(RoutingStatus(
        partner.id, "prod", RoutingState.DISABLED,
        reason="endpoint failing since 2026-11-22T10:00:00Z", updated_at="2026-11-23T09:00:00Z"))


def _check(monkeypatch, *steps: CheckStep) -> list[Any]:
    seen: list[Any] = []

    def check(settings, secret, **kwargs):
        seen.append((settings.name, secret))
        return list(steps)

    monkeypatch.setattr(endpoint_health, "check_endpoint", check)
    return seen


def test_re_enable_checks_the_endpoint_first(world, onboarding, health_store, monkeypatch,  # noqa: F811
                                             clock):
    partner = world.partner("acme", push_env("prod"))
    _disabled(world, partner)
    seen = _check(monkeypatch, CheckStep("dns", True, "ok"),
                  CheckStep("answer", False, "the endpoint answered 500"))
    owner = Actor.member("u1", "o@acme.example", partner.id, "owner")
    result = reenable_endpoint(onboarding, health_store, owner, partner, "prod")
    assert seen == [("prod", "s3cr3t-value")] and result.passed is False
    assert world.registry.routing_statuses(partner.id)["prod"].state is RoutingState.DISABLED
    assert health_store.get(partner.id, "prod").reenabled_at is None
    assert onboarding.triggered == []
    [record] = onboarding.audit.for_target(partner_target(partner.id)).items
    assert record.action == "endpoint.reenable_refused" and record.after["passed"] is False

    _check(monkeypatch, CheckStep("dns", True, "ok"), CheckStep("answer", True, "202"))
    clock.advance(minutes=1)
    result = reenable_endpoint(onboarding, health_store, owner, partner, "prod")
    assert result.passed and result.routing_triggered and onboarding.triggered == [partner.id]
    status = world.registry.routing_statuses(partner.id)["prod"]
    assert (status.state, status.reason) == (RoutingState.PENDING,
                                             "re-enabling: the endpoint passed its check")
    assert health_store.get(partner.id, "prod").reenabled_at == clock()
    assert onboarding.audit.for_target(partner_target(partner.id)).items[0].action == \
        "endpoint.reenabled"


def test_re_enable_refuses_viewers_and_live_environments(world, onboarding, health_store,  # noqa: F811
                                                         monkeypatch):
    partner = world.partner("acme", push_env("prod"))
    seen = _check(monkeypatch, CheckStep("answer", True, "202"))
    owner = Actor.member("u1", "o@acme.example", partner.id, "owner")
    with pytest.raises(EndpointNotDisabledError):
        reenable_endpoint(onboarding, health_store, owner, partner, "prod")
    _disabled(world, partner)
    viewer = Actor.member("u2", "v@acme.example", partner.id, "viewer")
    with pytest.raises(RoleRefusedError):
        reenable_endpoint(onboarding, health_store, viewer, partner, "prod")
    assert seen == []


# --- the alert email ------------------------------------------------------------------------


def test_alerts_reach_the_contact_only_and_follow_a_new_address(stage, aws):
    """SNS delivers to an email subscription only what its filter policy matches; a policy on
    an attribute the message lacks does not match:
    https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html"""
    from dataclasses import replace

    from moto.sns.models import sns_backends

    from infra.local import patches
    from infra.local.patches.moto_sns import email_messages
    from partners.onboarding import Partner
    from partners.routing import AlertMailer

    patches.apply()
    sns = aws.client("sns")
    topic = sns.create_topic(Name="alerts-test")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="user@example.com",
                  Attributes={"FilterPolicy": '{"user_id":["u1"]}'})
    mailer = AlertMailer(topic, stage.spec.tables["partners"].name, boto3_session=aws)
    partner = Partner(id="p1", slug="acme", display_name="Acme",
                      contact_email="ops@acme.example")
    assert mailer(partner, "Deliveries to your prod endpoint are paused", "text one")
    assert mailer(partner, "again", "text two")
    moved = replace(partner, contact_email="oncall@acme.example")
    assert mailer(moved, "third", "text three")
    sent = [(m["EmailAddress"], m["Message"])
            for m in email_messages(sns_backends["123456789012"]["us-east-1"])]
    assert sent == [("ops@acme.example", "text one"), ("ops@acme.example", "text two"),
                    ("oncall@acme.example", "text three")]
    endpoints = sorted(s["Endpoint"] for s in sns.list_subscriptions_by_topic(
        TopicArn=topic)["Subscriptions"])
    assert endpoints == ["oncall@acme.example", "user@example.com"]
