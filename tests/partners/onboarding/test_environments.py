"""Use cases of an environment: save its settings (write-only credential), clear the
credential, save the filter; each validates, writes, audits and triggers once."""

from __future__ import annotations

from dataclasses import replace

import pytest

from partners.core.exceptions import ValidationError
from partners.onboarding.environments import (
    clear_endpoint_credential,
    save_environment,
    save_filter,
)
from partners.onboarding.exceptions import (
    InvalidEndpointError,
    InvalidSettingsError,
    PartnerConflictError,
)
from partners.onboarding.filters import parse_filter
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    PartnerEnvironment,
    PartnerStatus,
)
from partners.onboarding.organisations import create_organisation
from tests.partners.onboarding.conftest import ACTOR, audit_actions, audit_record

PUSH = PartnerEnvironment("test", mode=DeliveryMode.PUSH,
                          endpoint_url="https://hooks.acme.example.com/pgw",
                          auth=EndpointAuth(AuthType.API_KEY, header_name="x-api-key"))
SECRET = "s3cr3t-value-never-shown"


@pytest.fixture
def partner(onboarding):
    return create_organisation(onboarding, ACTOR, owner="user-1", display_name="Acme",
                               contact_email="ops@acme.io", slug="acme")


def test_save_stores_the_credential_apart_and_triggers_once(onboarding, triggers, partner, aws):
    saved = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET)
    env = saved.partner.environments["test"]
    assert env.auth.secret_arn and env.auth.secret_set_on == "2026-11-23T10:00:00Z"
    assert onboarding.credentials.value(env.auth.secret_arn) == SECRET
    assert onboarding.registry.get_partner(partner.id) == saved.partner
    assert triggers.calls == [partner.id] and saved.routing_triggered
    record = audit_record(onboarding, partner.id, "environment.updated")
    assert record.before == PartnerEnvironment("test").to_dict()
    assert record.after["auth"]["secret_arn"] == env.auth.secret_arn
    raw = repr(aws.client("dynamodb").scan(TableName=onboarding.registry.table_name))
    assert SECRET not in raw


def test_a_later_save_keeps_the_stored_credential(onboarding, partner):
    first = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET).partner
    stored = first.environments["test"]
    again = save_environment(onboarding, ACTOR, first, replace(stored, rate_limit_per_second=5))
    assert again.partner.environments["test"].auth.secret_arn == stored.auth.secret_arn


@pytest.mark.parametrize(("candidate", "secret", "field"), [
    (PUSH, None, "secret"),
    (replace(PUSH, endpoint_url="https://api.internal.example/x"), SECRET, "endpoint_url"),
    (replace(PUSH, rate_limit_per_second=0), SECRET, "rate_limit_per_second"),
    (replace(PUSH, name="staging"), SECRET, "name"),
    (replace(PUSH, auth=None, mode=DeliveryMode.POLL), None, "auth_type"),
])
def test_save_refuses_before_writing_anything(onboarding, triggers, partner, candidate, secret,
                                              field):
    with pytest.raises(ValidationError) as caught:
        save_environment(onboarding, ACTOR, partner, candidate, secret=secret)
    assert caught.value.field == field
    assert onboarding.registry.get_partner(partner.id).environments == {}
    assert triggers.calls == [] and audit_actions(onboarding, partner.id) == ["partner.created"]


def test_a_refused_endpoint_is_an_invalid_endpoint_error(onboarding, partner):
    with pytest.raises(InvalidEndpointError):
        save_environment(onboarding, ACTOR, partner,
                         replace(PUSH, endpoint_url="http://hooks.acme.example.com/"),
                         secret=SECRET)


def test_a_new_auth_type_needs_a_new_credential(onboarding, partner):
    first = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET).partner
    basic = replace(PUSH, auth=EndpointAuth(AuthType.BASIC, username="acme"))
    with pytest.raises(ValidationError, match="new authentication type") as caught:
        save_environment(onboarding, ACTOR, first, basic)
    assert caught.value.field == "secret"


def test_a_deleted_organisation_cannot_be_edited(onboarding, partner):
    with pytest.raises(ValidationError, match="can no longer be edited"):
        save_environment(onboarding, ACTOR, replace(partner, status=PartnerStatus.DELETED), PUSH,
                         secret=SECRET)


def test_a_stale_save_raises_conflict(onboarding, triggers, partner):
    save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET)
    with pytest.raises(PartnerConflictError):
        save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET)
    assert triggers.calls == [partner.id]


def test_clear_credential_in_poll_mode(onboarding, triggers, partner, aws):
    push = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET).partner
    poll = save_environment(onboarding, ACTOR, push,
                            replace(push.environments["test"], mode=DeliveryMode.POLL)).partner
    triggers.calls.clear()
    saved = clear_endpoint_credential(onboarding, ACTOR, poll, "test")
    assert saved is not None and triggers.calls == [partner.id]
    assert saved.partner.environments["test"].auth.secret_arn is None
    name = onboarding.credentials.name(partner.id, "test")
    assert aws.client("secretsmanager").describe_secret(SecretId=name).get("DeletedDate")
    assert "environment.credential_cleared" in audit_actions(onboarding, partner.id)


def test_clear_credential_refuses_push_and_ignores_nothing_to_clear(onboarding, triggers,
                                                                    partner):
    assert clear_endpoint_credential(onboarding, ACTOR, partner, "test") is None
    push = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET).partner
    with pytest.raises(ValidationError, match="Push delivery needs a credential"):
        clear_endpoint_credential(onboarding, ACTOR, push, "test")
    assert triggers.calls == [partner.id]  # the save only


def test_save_filter(onboarding, triggers, partner):
    configured = save_environment(onboarding, ACTOR, partner, PUSH, secret=SECRET).partner
    request_filter = parse_filter({"request_types": ["repair.plumbing"]})
    saved = save_filter(onboarding, ACTOR, configured, "test", request_filter)
    assert saved.partner.environments["test"].filter == request_filter
    assert triggers.calls == [partner.id, partner.id]
    record = audit_record(onboarding, partner.id, "environment.filter_updated")
    assert record.after == request_filter.to_dict()


def test_a_filter_alone_does_not_create_an_environment(onboarding, triggers, partner):
    with pytest.raises(ValidationError, match="Set up delivery"):
        save_filter(onboarding, ACTOR, partner, "test", parse_filter({}))
    assert triggers.calls == []


@pytest.mark.parametrize("secret", ["s3cr3t\r\nX-Injected: yes", "s3cr3t\ttab", "s3cr3t\x00"])
def test_a_credential_with_control_characters_is_refused_unquoted(onboarding, triggers, partner,
                                                                  aws, secret):
    with pytest.raises(ValidationError) as caught:
        save_environment(onboarding, ACTOR, partner, PUSH, secret=secret)
    assert caught.value.field == "secret" and "control characters" in caught.value.message
    assert "s3cr3t" not in str(caught.value)
    assert onboarding.registry.get_partner(partner.id).environments == {}
    # No credential was stored (the console's own session key is the only secret).
    stored = [s["Name"] for s in aws.client("secretsmanager").list_secrets()["SecretList"]]
    assert [name for name in stored if not name.endswith("/console/session-key")] == []
    assert triggers.calls == []


def test_save_refuses_every_bad_setting_at_once(onboarding, partner):
    candidate = replace(PUSH, endpoint_url="https://api.internal.example/x",
                        rate_limit_per_second=0,
                        auth=EndpointAuth(AuthType.API_KEY, header_name="bad header"))
    with pytest.raises(InvalidSettingsError) as caught:
        save_environment(onboarding, ACTOR, partner, candidate, secret="s3cr3t\n")
    assert [error.field for error in caught.value.errors] == [
        "rate_limit_per_second", "endpoint_url", "header_name", "secret"]
    assert "s3cr3t" not in str(caught.value)
