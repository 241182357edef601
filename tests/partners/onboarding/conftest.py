"""Fixtures of the onboarding use cases: the stores in moto, a recording reconcile trigger."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from partners.onboarding.audit import AuditLog
from partners.onboarding.credentials import CredentialStore
from partners.onboarding.endpoint_check import CheckStep
from partners.onboarding.registry import PartnerRegistry
from partners.onboarding.service import Onboarding
from partners.onboarding.tokens import TokenStore
from tests.recorders import RecordedFlush, RecordedTrigger

ACTOR = "user:ops@acme.example.com"


def public_resolver(hostname: str) -> list[str]:
    """DNS for the tests: every name is public except the ones named `internal`."""
    return ["10.0.0.7"] if "internal" in hostname else ["93.184.216.34"]


@pytest.fixture
def triggers() -> RecordedTrigger:
    return RecordedTrigger()


@pytest.fixture
def flushes() -> RecordedFlush:
    return RecordedFlush()


@pytest.fixture
def onboarding(stage, aws, clock, triggers, flushes) -> Onboarding:
    tables = stage.spec.tables
    return Onboarding(
        PartnerRegistry(tables["partners"].name, boto3_session=aws, clock=clock),
        TokenStore(tables["tokens"].name, boto3_session=aws, clock=clock),
        CredentialStore(stage.spec.secret_prefix, boto3_session=aws),
        AuditLog(tables["audit"].name, boto3_session=aws, clock=clock),
        triggers, clock=clock, flush_authorizers=flushes, environments=("prod", "test"), resolver=public_resolver)


def audit_actions(onboarding: Onboarding, partner_id: str) -> list[str]:
    """The partner's audit trail as sorted action names (the fake clock stands still, so
    records of one test have no order of their own)."""
    records = onboarding.audit.for_target(f"partner:{partner_id}", limit=100).items
    return sorted(record.action for record in records)


def audit_record(onboarding: Onboarding, partner_id: str, action: str):
    """The partner's one audit record of `action`."""
    records = onboarding.audit.for_target(f"partner:{partner_id}", limit=100).items
    [record] = [r for r in records if r.action == action]
    return record


@dataclass
class EndpointAnswers:
    """Stands in for `check_endpoint` where approval runs it: the tests' endpoints are not on
    the network. Every check passes unless a test sets `failing` (the failed step's detail);
    `checked` lists each environment checked."""

    failing: str | None = None
    checked: list[str] = field(default_factory=list)

    def __call__(self, environment, secret, **kwargs):
        self.checked.append(environment.name)
        steps = [CheckStep("Resolves publicly", True, "an allowed address")]
        if self.failing:
            return [*steps, CheckStep("TLS handshake", False, self.failing)]
        return [*steps, CheckStep("Answers with the configured auth", True, "HTTP 200")]
