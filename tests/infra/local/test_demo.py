"""Demo data: made through the domain APIs, secrets where they belong, logins that work."""

from __future__ import annotations

import json
import stat

import pytest

from infra.local.demo import ADMIN_EMAIL, Demo, write_demo_file
from partners.core.constants import Env
from partners.onboarding.audit import AuditLog
from partners.onboarding.members import MemberStore
from partners.onboarding.models import DeliveryMode, PartnerStatus
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.tokens import TokenStore

SAMPLE = "http://127.0.0.1:8002"


@pytest.fixture
def environ(stage):
    return stage.environment_variables()


@pytest.fixture
def created(aws, environ):
    reconciled: list[str] = []
    result = Demo(environ, reconcile=reconciled.append, sample_partner_url=SAMPLE,
                  boto3_session=aws).create()
    return result, reconciled


def test_partners_are_in_their_lifecycle_states_and_only_approved_ones_reconciled(
        aws, environ, created):
    result, reconciled = created
    registry = PartnerRegistry(environ[Env.PARTNERS_TABLE], boto3_session=aws)
    partners = {p["slug"]: p for p in result.data["partners"]}
    assert {slug: p["status"] for slug, p in partners.items()} == {
        "acme-logistics": "approved", "globex-parts": "approved",
        "initech-repairs": "pending_approval"}
    assert {p["mode"] for p in partners.values()} == {"push", "poll"}
    assert sorted(reconciled) == sorted([partners["acme-logistics"]["id"],
                                         partners["globex-parts"]["id"]])
    acme = registry.get_partner(partners["acme-logistics"]["id"])
    assert acme.status is PartnerStatus.APPROVED
    test = acme.environment("test")
    assert test.mode is DeliveryMode.PUSH and test.endpoint_url == f"{SAMPLE}/deliveries"
    assert test.retry_policy.maximum_retry_attempts == 2
    assert registry.partner_for_member(acme.members[0]).id == acme.id


def test_tokens_verify_and_pending_partners_have_none(aws, environ, created):
    result, _ = created
    tokens = TokenStore(environ[Env.TOKENS_TABLE], boto3_session=aws)
    for partner in result.data["partners"]:
        for name, environment in partner["environments"].items():
            if partner["status"] == "approved":
                identity = tokens.verify(environment["api_token"])
                assert (identity.partner_id, identity.environment) == (partner["id"], name)
            else:
                assert environment["api_token"] is None
            assert set(environment["filter"]) == {"request_types", "conditions"}


def test_the_endpoint_key_lives_in_secrets_manager_only(aws, environ, created):
    result, _ = created
    [(slug, api_key, tokens)] = result.sample_accounts
    assert slug == "acme-logistics" and set(tokens) == {"prod", "test"}
    dynamodb = aws.client("dynamodb")
    for table in (environ[Env.PARTNERS_TABLE], environ[Env.TOKENS_TABLE],
                  environ[Env.AUDIT_TABLE]):
        items = dynamodb.scan(TableName=table)["Items"]
        assert api_key not in json.dumps(items)
        for token in tokens.values():
            assert token not in json.dumps(items)
    secrets = aws.client("secretsmanager")
    acme = next(p for p in result.data["partners"] if p["slug"] == "acme-logistics")
    names = [s["Name"] for s in secrets.list_secrets()["SecretList"]
             if f"/{acme['id']}/" in s["Name"]]
    assert sorted(n.rsplit("/", 2)[-2] for n in names) == ["prod", "test"]
    for name in names:
        stored = json.loads(secrets.get_secret_value(SecretId=name)["SecretString"])
        assert (stored["auth_type"], stored["api_key_value"]) == ("API_KEY", api_key)


def test_users_can_sign_in_with_the_written_passwords(aws, environ, created):
    result, _ = created
    cognito = aws.client("cognito-idp")
    logins = [(result.data["admin"], "admins")] + [
        (p["login"], "partners") for p in result.data["partners"]] + [
        (m, "partners") for p in result.data["partners"] for m in p["members"]]
    for login, group in logins:
        answer = cognito.initiate_auth(
            ClientId=environ[Env.USER_POOL_CLIENT_ID], AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": login["email"], "PASSWORD": login["password"]})
        assert "AuthenticationResult" in answer
        user = cognito.admin_get_user(UserPoolId=environ[Env.USER_POOL_ID],
                                      Username=login["email"])
        groups = cognito.admin_list_groups_for_user(UserPoolId=environ[Env.USER_POOL_ID],
                                                   Username=user["Username"])["Groups"]
        assert [g["GroupName"] for g in groups] == [group]
    assert result.data["admin"]["email"] == ADMIN_EMAIL


def test_the_push_partner_has_a_viewer_besides_its_owner(aws, environ, created):
    result, _ = created
    partners = {p["slug"]: p for p in result.data["partners"]}
    acme = partners["acme-logistics"]
    [viewer] = acme["members"]
    assert viewer["role"] == "viewer" and viewer["email"] != acme["login"]["email"]
    store = MemberStore(environ[Env.PARTNERS_TABLE], boto3_session=aws)
    members = store.for_partner(acme["id"])
    assert [(m.email, m.role.value) for m in members] == [
        (acme["login"]["email"], "owner"), (viewer["email"], "viewer")]
    assert all(p["members"] == [] for slug, p in partners.items() if slug != "acme-logistics")


def test_every_step_is_audited(aws, environ, created):
    result, _ = created
    audit = AuditLog(environ[Env.AUDIT_TABLE], boto3_session=aws)
    acme = next(p for p in result.data["partners"] if p["slug"] == "acme-logistics")
    actions = [r.action for r in audit.for_target(f"partner:{acme['id']}").items]
    assert sorted(actions) == sorted(["partner.created", "environment.updated",
                                      "partner.submitted", "partner.approved",
                                      "member.joined"])


def test_demo_file_is_private(tmp_path):
    path = write_demo_file(tmp_path / "nested" / "demo.json", {"portal_token": "t"})
    assert json.loads(path.read_text()) == {"portal_token": "t"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
