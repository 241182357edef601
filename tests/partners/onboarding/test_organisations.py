"""Use cases of an organisation: create, edit the profile, submit (lifecycle-driven)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.environments import save_environment
from partners.onboarding.exceptions import (
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
from partners.onboarding.organisations import (
    NO_ENVIRONMENT,
    create_organisation,
    submit_for_approval,
    update_profile,
)
from tests.partners.onboarding.conftest import ACTOR, audit_actions, audit_record

PUSH = PartnerEnvironment("test", mode=DeliveryMode.PUSH,
                          endpoint_url="https://hooks.acme.example.com/pgw",
                          auth=EndpointAuth(AuthType.API_KEY, header_name="x-api-key"))


def create(onboarding, slug="acme", owner="user-1"):
    return create_organisation(onboarding, ACTOR, owner=owner, display_name="Acme Fulfilment",
                               contact_email="Ops@Acme.io", slug=slug)


def configured(onboarding, environment=PUSH):
    partner = create(onboarding)
    return save_environment(onboarding, ACTOR, partner, environment, secret="k").partner


def test_create_audits_and_does_not_trigger(onboarding, triggers):
    partner = create(onboarding)
    assert partner.status is PartnerStatus.DRAFT and partner.members == ("user-1",)
    assert onboarding.registry.partner_for_member("user-1") == partner
    assert audit_actions(onboarding, partner.id) == ["partner.created"]
    assert triggers.calls == []  # a draft has no routing to converge


def test_create_refuses_a_second_organisation_and_audits_nothing(onboarding):
    first = create(onboarding)
    with pytest.raises(ValidationError) as caught:
        create(onboarding, slug="other")
    assert caught.value.field == "owner"
    assert audit_actions(onboarding, first.id) == ["partner.created"]


def test_update_profile_saves_audits_and_triggers_once(onboarding, triggers):
    partner = create(onboarding)
    saved = update_profile(onboarding, ACTOR, partner, display_name="  Acme Ltd ",
                           contact_email="New@Acme.io")
    assert saved.routing_triggered and triggers.calls == [partner.id]
    assert (saved.partner.display_name, saved.partner.contact_email) == ("Acme Ltd", "new@acme.io")
    assert saved.partner.version == partner.version + 1
    record = audit_record(onboarding, partner.id, "partner.profile_updated")
    assert record.actor == ACTOR
    assert record.before == {"display_name": "Acme Fulfilment", "contact_email": "ops@acme.io"}
    assert record.after == {"display_name": "Acme Ltd", "contact_email": "new@acme.io"}


@pytest.mark.parametrize(("name", "email", "field"), [
    ("A", "ops@acme.io", "display_name"),
    ("Acme", "not-an-email", "contact_email"),
])
def test_update_profile_refuses_bad_values_before_writing(onboarding, triggers, name, email,
                                                          field):
    partner = create(onboarding)
    with pytest.raises(ValidationError) as caught:
        update_profile(onboarding, ACTOR, partner, display_name=name, contact_email=email)
    assert caught.value.field == field
    assert onboarding.registry.get_partner(partner.id) == partner and triggers.calls == []


def test_a_stale_save_writes_audits_and_triggers_nothing(onboarding, triggers):
    partner = create(onboarding)
    update_profile(onboarding, ACTOR, partner, display_name="First", contact_email="a@b.io")
    with pytest.raises(PartnerConflictError):
        update_profile(onboarding, ACTOR, partner, display_name="Second", contact_email="a@b.io")
    assert onboarding.registry.get_partner(partner.id).display_name == "First"
    assert audit_actions(onboarding, partner.id) == ["partner.created", "partner.profile_updated"]
    assert triggers.calls == [partner.id]


def test_the_saved_change_reports_a_trigger_that_could_not_be_sent(onboarding, triggers):
    partner = create(onboarding)
    triggers.succeed = False
    saved = update_profile(onboarding, ACTOR, partner, display_name="Acme Ltd",
                           contact_email="ops@acme.io")
    assert not saved.routing_triggered
    assert onboarding.registry.get_partner(partner.id).display_name == "Acme Ltd"


def test_submit_a_draft(onboarding, triggers):
    partner = configured(onboarding)
    triggers.calls.clear()
    saved = submit_for_approval(onboarding, ACTOR, partner)
    assert saved.partner.status is PartnerStatus.PENDING_APPROVAL
    assert triggers.calls == [partner.id]
    record = audit_record(onboarding, partner.id, "partner.submitted")
    assert (record.before, record.after) == ({"status": "draft"}, {"status": "pending_approval"})


def test_a_rejected_partner_resubmits_through_draft(onboarding, triggers):
    partner = configured(onboarding)
    pending = submit_for_approval(onboarding, ACTOR, partner).partner
    rejected = onboarding.registry.transition(pending, PartnerStatus.REJECTED, reason="no")
    triggers.calls.clear()
    saved = submit_for_approval(onboarding, ACTOR, rejected)
    assert saved.partner.status is PartnerStatus.PENDING_APPROVAL
    assert saved.partner.version == rejected.version + 2  # rejected -> draft -> pending
    assert triggers.calls == [partner.id]


@pytest.mark.parametrize("status", [PartnerStatus.PENDING_APPROVAL, PartnerStatus.APPROVED,
                                    PartnerStatus.SUSPENDED])
def test_only_a_draft_or_rejected_partner_submits(onboarding, triggers, status):
    partner = replace(configured(onboarding), status=status)
    triggers.calls.clear()
    with pytest.raises(IllegalTransitionError) as caught:
        submit_for_approval(onboarding, ACTOR, partner)
    assert caught.value.current == status.value
    assert triggers.calls == []


def test_submit_needs_an_environment(onboarding, triggers):
    partner = create(onboarding)
    with pytest.raises(PartnerNotReadyError) as caught:
        submit_for_approval(onboarding, ACTOR, partner)
    assert caught.value.problems == [NO_ENVIRONMENT]
    assert onboarding.registry.get_partner(partner.id).status is PartnerStatus.DRAFT
    assert triggers.calls == []


def test_submit_rechecks_every_environment(onboarding):
    partner = configured(onboarding)
    moved = partner.with_environment(replace(PUSH, endpoint_url="https://api.internal.example"))
    with pytest.raises(PartnerNotReadyError) as caught:
        submit_for_approval(onboarding, ACTOR, moved)
    [problem] = caught.value.problems
    assert problem.startswith("test: endpoint URL refused")
