"""Shared helpers of the reconciler tests: a provisioned stage, partners, call counting."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

import pytest

from partners.onboarding.credentials import CredentialStore
from partners.onboarding.filters import RequestFilter
from partners.onboarding.models import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    Partner,
    PartnerEnvironment,
    PartnerStatus,
)
from partners.onboarding.registry import PartnerRegistry
from partners.routing.quotas import Quotas
from partners.routing.reconciler import Reconciler, ReconcilerSettings

ROUTING_RECORDER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-routing-recorder"
WRITE_PREFIXES = ("Put", "Create", "Update", "Delete", "Remove", "Tag", "Untag", "Transact",
                  "Batch")


@dataclass
class CallLog:
    """Every AWS call made through a session, by operation name (a botocore event hook)."""

    calls: list[str] = field(default_factory=list)

    def __call__(self, model: Any = None, **_: Any) -> None:
        self.calls.append(model.name)

    @property
    def writes(self) -> list[str]:
        return [c for c in self.calls if c.startswith(WRITE_PREFIXES)]

    @property
    def reads(self) -> list[str]:
        return [c for c in self.calls if not c.startswith(WRITE_PREFIXES)]

    def clear(self) -> None:
        self.calls.clear()


@dataclass
class World:
    """A provisioned stage with a registry, a credential store and a reconciler."""

    aws: Any
    stage: Any
    registry: PartnerRegistry
    credentials: CredentialStore
    settings: ReconcilerSettings
    log: CallLog
    clock: Any

    def reconciler(self, **overrides: Any) -> Reconciler:
        settings = replace(self.settings, **overrides)
        return Reconciler(self.registry, self.credentials, settings, boto3_session=self.aws,
                          clock=self.clock)

    def client(self, service: str) -> Any:
        return self.aws.client(service)

    def partner(self, slug: str, *environments: PartnerEnvironment,
                status: PartnerStatus = PartnerStatus.APPROVED,
                secret: str = "s3cr3t-value") -> Partner:
        """Create an approved (by default) partner with `environments` and their secrets."""
        partner = self.registry.create_partner(display_name=slug.title(),
                                               contact_email=f"ops@{slug}.example",
                                               slug=slug)
        for env in environments:
            partner = partner.with_environment(self.with_secret(partner.id, env, secret))
        partner = self.registry.save_partner(partner)
        if status is not PartnerStatus.DRAFT:
            partner = self.registry.transition(partner, PartnerStatus.PENDING_APPROVAL)
        if status is PartnerStatus.APPROVED:
            partner = self.registry.transition(partner, PartnerStatus.APPROVED)
        elif status not in (PartnerStatus.PENDING_APPROVAL, PartnerStatus.DRAFT):
            partner = self.registry.transition(partner, PartnerStatus.APPROVED)
            partner = self.registry.transition(partner, status)
        return partner

    def with_secret(self, partner_id: str, env: PartnerEnvironment,
                    secret: str) -> PartnerEnvironment:
        if env.mode is not DeliveryMode.PUSH or env.auth is None:
            return env
        stored = self.credentials.put(partner_id, env.name, env.auth.type, secret,
                                      set_on=self.clock().isoformat())
        return replace(env, auth=replace(env.auth, secret_arn=stored.arn,
                                         secret_set_on=stored.set_on))

    def update(self, partner_id: str, change: Callable[[Partner], Partner]) -> Partner:
        return self.registry.save_partner(change(self.registry.get_partner(partner_id)))


def push_env(name: str = "prod", *, url: str = "https://hooks.acme.example/events",
             rate: int = 10, types: tuple[str, ...] = ("*",), header: str = "X-Api-Key",
             enabled: bool = True) -> PartnerEnvironment:
    return PartnerEnvironment(
        name=name, mode=DeliveryMode.PUSH, endpoint_url=url,
        auth=EndpointAuth(type=AuthType.API_KEY, header_name=header),
        rate_limit_per_second=rate, filter=RequestFilter(request_types=types), enabled=enabled)


def poll_env(name: str = "test", *, types: tuple[str, ...] = ("*",),
             enabled: bool = True) -> PartnerEnvironment:
    return PartnerEnvironment(name=name, mode=DeliveryMode.POLL,
                              filter=RequestFilter(request_types=types), enabled=enabled)


@pytest.fixture
def world(stage, aws, clock) -> World:
    log = CallLog()
    aws.events.register("before-call", log)
    spec = stage.spec
    registry = PartnerRegistry(spec.tables["partners"].name, boto3_session=aws, clock=clock)
    credentials = CredentialStore(spec.secret_prefix, boto3_session=aws)
    settings = ReconcilerSettings(bus_name=spec.bus_name,
                                  resource_prefix=spec.partner_resource_prefix,
                                  routing_recorder_arn=ROUTING_RECORDER_ARN,
                                  quotas=Quotas(rules_per_bus=300))
    return World(aws, stage, registry, credentials, settings, log, clock)
