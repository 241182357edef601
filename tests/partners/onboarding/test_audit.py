"""The append-only audit log and secret masking."""

from __future__ import annotations

import pytest

from partners.onboarding.audit import MASK, AuditLog, mask_secrets


@pytest.fixture
def audit(stage, aws, clock):
    return AuditLog(stage.spec.tables["audit"].name, boto3_session=aws, clock=clock)


def test_record_masks_secrets_before_storing(audit, aws, stage):
    before = {"auth": {"type": "API_KEY", "header_name": "x-api-key",
                       "api_key_value": "s3cr3t-value", "secret_arn": "arn:x"}}
    after = {"auth": {"type": "BASIC", "password": "hunter2", "username": "acme"},
             "tokens": [{"token": "pgw_prod_abcdefgh", "prefix": "pgw_prod_abcd"}]}
    record = audit.record(actor="user:ops@acme.io", action="environment.updated",
                          target="partner:p1", before=before, after=after)
    assert record.before["auth"]["api_key_value"] == MASK
    assert record.before["auth"]["secret_arn"] == "arn:x"
    assert record.after["auth"]["password"] == MASK
    assert record.after["tokens"][0]["token"] == MASK
    raw = repr(aws.client("dynamodb").scan(TableName=stage.spec.tables["audit"].name))
    for secret in ("s3cr3t-value", "hunter2", "pgw_prod_abcdefgh"):
        assert secret not in raw
    stored = audit.for_target("partner:p1").items[0]
    assert stored == record


def test_for_target_is_newest_first_and_pages(audit, clock):
    for i in range(3):
        audit.record(actor="user:a", action=f"step.{i}", target="partner:p1")
        clock.advance(seconds=1)
    audit.record(actor="user:a", action="other", target="partner:p2")
    page = audit.for_target("partner:p1", limit=2)
    assert [r.action for r in page.items] == ["step.2", "step.1"]
    rest = audit.for_target("partner:p1", limit=2, cursor=page.cursor)
    assert [r.action for r in rest.items] == ["step.0"]


def test_for_day_filters_by_actor_and_action(audit, clock):
    audit.record(actor="user:admin@x.io", action="partner.approved", target="partner:p1")
    audit.record(actor="user:ops@acme.io", action="token.issued", target="partner:p1")
    clock.advance(days=1)
    audit.record(actor="user:admin@x.io", action="partner.suspended", target="partner:p1")
    day = audit.for_day("2026-11-23")
    assert {r.action for r in day.items} == {"partner.approved", "token.issued"}
    assert [r.action for r in audit.for_day("2026-11-23", actor="user:admin@x.io").items] == [
        "partner.approved"]
    assert [r.action for r in audit.for_day("2026-11-24", action="partner.").items] == [
        "partner.suspended"]


def test_mask_secrets_keeps_shape_and_non_secrets():
    assert mask_secrets({"a": [1, {"client_secret": "x"}], "token_url": "https://t"}) == {
        "a": [1, {"client_secret": MASK}], "token_url": "https://t"}
    assert mask_secrets({"password": None}) == {"password": None}
