"""An admin's decisions: each a lifecycle move, audited with its reason, triggered once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.onboarding.decisions import (
    approve_partner,
    check_partner_endpoint,
    reinstate_partner,
    reject_partner,
    suspend_partner,
)
from partners.onboarding.endpoint_check import CheckStep
from partners.onboarding.environments import save_environment
from partners.onboarding.exceptions import (
    EnvironmentNotFoundError,
    IllegalTransitionError,
    PartnerConflictError,
    PartnerNotReadyError,
)
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    PartnerStatus,
)
from partners.onboarding.organisations import create_organisation, submit_for_approval
from tests.partners.onboarding.conftest import ACTOR, EndpointAnswers, audit_record

ADMIN = "user:admin@gateway.example.com"
PUSH = PartnerEnvironment("test", mode=DeliveryMode.PUSH,
                          endpoint_url="https://hooks.acme.example.com/pgw",
                          auth=EndpointAuth(AuthType.API_KEY, header_name="x-api-key"))


@pytest.fixture(autouse=True)
def endpoint_answers(monkeypatch) -> EndpointAnswers:
    """Approval runs the endpoint check; here it answers without the network."""
    import partners.onboarding.decisions as decisions

    answers = EndpointAnswers()
    monkeypatch.setattr(decisions, "check_endpoint", answers)
    return answers


@pytest.fixture
def pending(onboarding, triggers):
    partner = create_organisation(onboarding, ACTOR, owner="user-1", display_name="Acme",
                                  contact_email="ops@acme.io", slug="acme")
    partner = save_environment(onboarding, ACTOR, partner, PUSH, secret="k").partner
    partner = submit_for_approval(onboarding, ACTOR, partner).partner
    triggers.calls.clear()
    return partner


def test_approve_moves_audits_and_triggers_once(onboarding, triggers, pending):
    saved = approve_partner(onboarding, ADMIN, pending)
    assert saved.partner.status is PartnerStatus.APPROVED and saved.routing_triggered
    assert triggers.calls == [pending.id]
    record = audit_record(onboarding, pending.id, "partner.approved")
    assert record.actor == ADMIN
    assert (record.before, record.after) == ({"status": "pending_approval"},
                                             {"status": "approved"})


def test_approve_rechecks_the_endpoints(onboarding, triggers, pending):
    onboarding.resolver = lambda host: ["10.1.2.3"]  # DNS changed since the save
    with pytest.raises(PartnerNotReadyError) as caught:
        approve_partner(onboarding, ADMIN, pending)
    assert caught.value.problems[0].startswith("test: endpoint URL refused")
    assert onboarding.registry.get_partner(pending.id).status is PartnerStatus.PENDING_APPROVAL
    assert triggers.calls == []


def test_reject_keeps_the_reason(onboarding, triggers, pending):
    saved = reject_partner(onboarding, ADMIN, pending, "Your endpoint answers 500.")
    assert saved.partner.status is PartnerStatus.REJECTED
    assert saved.partner.status_reason == "Your endpoint answers 500."
    record = audit_record(onboarding, pending.id, "partner.rejected")
    assert record.reason == "Your endpoint answers 500."
    assert triggers.calls == [pending.id]


def test_a_suspension_stands_when_the_cache_flush_fails(onboarding, flushes, pending):
    approved = approve_partner(onboarding, ADMIN, pending).partner
    flushes.succeed = False
    saved = suspend_partner(onboarding, ADMIN, approved, "abuse report")
    assert saved.partner.status is PartnerStatus.SUSPENDED and not saved.authorizers_flushed
    assert onboarding.registry.get_partner(pending.id).status is PartnerStatus.SUSPENDED


def test_suspend_then_reinstate(onboarding, triggers, flushes, pending):
    approval = approve_partner(onboarding, ADMIN, pending)
    approved = approval.partner
    # A cached "awaiting approval" deny must not outlive the approval.
    assert flushes.calls == 1 and approval.authorizers_flushed
    saved = suspend_partner(onboarding, ADMIN, approved, "abuse report")
    suspended = saved.partner
    # Its tokens are refused from now on, so the API's cached Allows are emptied, once.
    assert flushes.calls == 2 and saved.authorizers_flushed
    assert suspended.status is PartnerStatus.SUSPENDED
    assert audit_record(onboarding, pending.id, "partner.suspended").reason == "abuse report"
    reinstatement = reinstate_partner(onboarding, ADMIN, suspended)
    reinstated = reinstatement.partner
    assert flushes.calls == 3 and reinstatement.authorizers_flushed
    assert reinstated.status is PartnerStatus.APPROVED
    assert audit_record(onboarding, pending.id, "partner.reinstated").after == {
        "status": "approved"}
    assert triggers.calls == [pending.id] * 3


@pytest.mark.parametrize(("status", "decision"), [
    (PartnerStatus.DRAFT, lambda o, p: approve_partner(o, ADMIN, p)),
    (PartnerStatus.DRAFT, lambda o, p: reject_partner(o, ADMIN, p, "no")),
    (PartnerStatus.PENDING_APPROVAL, lambda o, p: suspend_partner(o, ADMIN, p, "no")),
    (PartnerStatus.APPROVED, lambda o, p: approve_partner(o, ADMIN, p)),
    # Reinstating is for suspended partners only, though pending -> approved is legal.
    (PartnerStatus.PENDING_APPROVAL, lambda o, p: reinstate_partner(o, ADMIN, p)),
    (PartnerStatus.APPROVED, lambda o, p: reinstate_partner(o, ADMIN, p)),
])
def test_illegal_decisions_write_nothing(onboarding, triggers, flushes, pending, status,
                                         decision):
    with pytest.raises(IllegalTransitionError):
        decision(onboarding, replace(pending, status=status))
    assert onboarding.registry.get_partner(pending.id) == pending
    assert triggers.calls == [] and flushes.calls == 0


def test_a_decision_on_a_stale_partner_is_a_conflict(onboarding, triggers, pending):
    reject_partner(onboarding, ADMIN, pending, "first")
    with pytest.raises(PartnerConflictError):
        approve_partner(onboarding, ADMIN, pending)
    assert triggers.calls == [pending.id]


def test_check_partner_endpoint_uses_the_stored_credential_and_audits(onboarding, pending,
                                                                      monkeypatch):
    import partners.onboarding.decisions as decisions

    seen = {}

    def fake_check(environment, secret, **kwargs):
        seen.update(secret=secret, **kwargs)
        return [CheckStep("Resolves publicly", True, "ok"), CheckStep("TLS handshake", False, "x")]

    monkeypatch.setattr(decisions, "check_endpoint", fake_check)
    steps = check_partner_endpoint(onboarding, ADMIN, pending, "test")
    assert [s.ok for s in steps] == [True, False]
    assert seen["secret"] == "k" and seen["resolver"] is onboarding.resolver
    record = audit_record(onboarding, pending.id, "partner.endpoint_checked")
    assert record.after == {"environment": "test", "passed": False, "version": pending.version,
                            "steps": [{"name": "Resolves publicly", "ok": True},
                                      {"name": "TLS handshake", "ok": False}]}
    with pytest.raises(EnvironmentNotFoundError):
        check_partner_endpoint(onboarding, ADMIN, pending, "prod")


# --- approval re-checks the endpoints ----------------------------------------------------


def test_approve_after_a_failed_check_is_refused(onboarding, triggers, pending,
                                                 endpoint_answers):
    endpoint_answers.failing = "certificate not trusted"
    check_partner_endpoint(onboarding, ADMIN, pending, "test")
    with pytest.raises(PartnerNotReadyError) as caught:
        approve_partner(onboarding, ADMIN, pending)
    assert "test: the endpoint check failed at 'TLS handshake'" in caught.value.problems[0]
    assert "certificate not trusted" in caught.value.problems[0]
    assert onboarding.registry.get_partner(pending.id).status is PartnerStatus.PENDING_APPROVAL
    assert triggers.calls == [] and endpoint_answers.checked == ["test", "test"]


def test_approve_with_an_override_reason_is_audited(onboarding, triggers, pending,
                                                    endpoint_answers):
    endpoint_answers.failing = "no TLS connection"
    saved = approve_partner(onboarding, ADMIN, pending, "Partner fixes TLS today; ticket 42")
    assert saved.partner.status is PartnerStatus.APPROVED and triggers.calls == [pending.id]
    assert saved.partner.status_reason is None  # the admins' note, not the partner's
    record = audit_record(onboarding, pending.id, "partner.approved")
    assert record.reason == "Partner fixes TLS today; ticket 42"
    assert record.after["override_reason"] == "Partner fixes TLS today; ticket 42"
    assert "no TLS connection" in record.after["failed_checks"][0]


def test_an_override_does_not_pass_refused_settings(onboarding, pending):
    onboarding.resolver = lambda host: ["10.1.2.3"]
    with pytest.raises(PartnerNotReadyError):
        approve_partner(onboarding, ADMIN, pending, "trust me")


def test_a_recent_passing_check_stands_for_the_approval(onboarding, clock, pending,
                                                        endpoint_answers):
    check_partner_endpoint(onboarding, ADMIN, pending, "test")
    clock.advance(minutes=10)
    approve_partner(onboarding, ADMIN, pending)
    assert endpoint_answers.checked == ["test"]  # not run again


def test_a_stale_passing_check_is_run_again(onboarding, clock, pending, endpoint_answers):
    check_partner_endpoint(onboarding, ADMIN, pending, "test")
    clock.advance(minutes=16)
    endpoint_answers.failing = "connection refused"
    with pytest.raises(PartnerNotReadyError):
        approve_partner(onboarding, ADMIN, pending)
    assert endpoint_answers.checked == ["test", "test"]


def test_a_pass_on_earlier_settings_does_not_count(onboarding, clock, pending,
                                                   endpoint_answers):
    check_partner_endpoint(onboarding, ADMIN, pending, "test")
    clock.advance(seconds=1)
    changed = save_environment(onboarding, ACTOR, pending,
                               replace(pending.environments["test"],
                                       endpoint_url="https://other.acme.example.com/")).partner
    endpoint_answers.failing = "connection refused"
    with pytest.raises(PartnerNotReadyError):
        approve_partner(onboarding, ADMIN, changed)
