"""The partner domain's values: organisations, their environments and routing status.

Models are frozen dataclasses; change one with `dataclasses.replace`. Each knows its own JSON
form (`to_dict` / `from_dict`), which is also what the registry stores, minus secrets: secrets
are never part of a model, only the ARN of the secret that holds them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from partners.onboarding.exceptions import EnvironmentNotFoundError
from partners.onboarding.filters import RequestFilter


class PartnerStatus(enum.StrEnum):
    DRAFT = "draft"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    REJECTED = "rejected"
    DELETED = "deleted"


class DeliveryMode(enum.StrEnum):
    PUSH = "push"  # EventBridge POSTs each request to the partner's endpoint
    POLL = "poll"  # requests land in the partner's inbox; the partner pages through it


class AuthType(enum.StrEnum):
    """How EventBridge authenticates to a partner endpoint (the connection's type)."""

    API_KEY = "API_KEY"
    BASIC = "BASIC"
    OAUTH_CLIENT_CREDENTIALS = "OAUTH_CLIENT_CREDENTIALS"


class RoutingState(enum.StrEnum):
    LIVE = "live"
    PENDING = "pending"
    ERROR = "error"
    REMOVED = "removed"
    # The rule exists but is disabled: its endpoint failed every delivery for too long
    # (partners/routing/endpoint_health.py); the partner re-enables it in the console.
    DISABLED = "disabled"


@dataclass(frozen=True)
class RetryPolicy:
    """EventBridge's retry policy for a target (AWS defaults: 24 hours, 185 attempts)."""

    maximum_event_age_seconds: int = 86_400
    maximum_retry_attempts: int = 185

    def to_dict(self) -> dict[str, int]:
        return {
            "maximum_event_age_seconds": self.maximum_event_age_seconds,
            "maximum_retry_attempts": self.maximum_retry_attempts,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryPolicy:
        return cls(int(data["maximum_event_age_seconds"]), int(data["maximum_retry_attempts"]))


@dataclass(frozen=True)
class EndpointAuth:
    """The non-secret half of an endpoint's credentials; the secret half lives at `secret_arn`.

    API_KEY uses `header_name` (its value is secret); BASIC uses `username` (the password is
    secret); OAUTH_CLIENT_CREDENTIALS uses `token_url`, `client_id` and `scope` (the client
    secret is secret).
    """

    type: AuthType
    header_name: str | None = None
    username: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None
    secret_arn: str | None = None
    secret_set_on: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data = {
            "type": self.type.value,
            "header_name": self.header_name,
            "username": self.username,
            "token_url": self.token_url,
            "client_id": self.client_id,
            "scope": self.scope,
            "secret_arn": self.secret_arn,
            "secret_set_on": self.secret_set_on,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndpointAuth:
        return cls(
            type=AuthType(data["type"]),
            header_name=data.get("header_name"),
            username=data.get("username"),
            token_url=data.get("token_url"),
            client_id=data.get("client_id"),
            scope=data.get("scope"),
            secret_arn=data.get("secret_arn"),
            secret_set_on=data.get("secret_set_on"),
        )


@dataclass(frozen=True)
class PartnerEnvironment:
    """One partner environment (`prod`, `test`, ...): its endpoint, auth, limits and filter."""

    name: str
    mode: DeliveryMode = DeliveryMode.POLL
    endpoint_url: str | None = None
    auth: EndpointAuth | None = None
    rate_limit_per_second: int = 10
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    filter: RequestFilter = field(default_factory=RequestFilter)
    enabled: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode.value,
            "endpoint_url": self.endpoint_url,
            "auth": self.auth.to_dict() if self.auth else None,
            "rate_limit_per_second": self.rate_limit_per_second,
            "retry_policy": self.retry_policy.to_dict(),
            "filter": self.filter.to_dict(),
            "enabled": self.enabled,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartnerEnvironment:
        return cls(
            name=str(data["name"]),
            mode=DeliveryMode(data.get("mode", DeliveryMode.POLL)),
            endpoint_url=data.get("endpoint_url"),
            auth=EndpointAuth.from_dict(data["auth"]) if data.get("auth") else None,
            rate_limit_per_second=int(data.get("rate_limit_per_second", 10)),
            retry_policy=RetryPolicy.from_dict(data["retry_policy"])
            if data.get("retry_policy") else RetryPolicy(),
            filter=RequestFilter.from_dict(data["filter"]) if data.get("filter") else RequestFilter(),
            enabled=bool(data.get("enabled", True)),
        )


@dataclass(frozen=True)
class Partner:
    """A partner organisation; `version` guards every write (optimistic concurrency)."""

    id: str
    slug: str
    display_name: str
    contact_email: str
    status: PartnerStatus = PartnerStatus.DRAFT
    environments: Mapping[str, PartnerEnvironment] = field(default_factory=dict)
    # The founder's user id, as written at creation; who belongs to the organisation now,
    # and with which role, is `partners.onboarding.members` (the founder was its first owner).
    members: tuple[str, ...] = ()
    status_reason: str | None = None
    version: int = 0
    created_at: str = ""
    updated_at: str = ""

    def environment(self, name: str) -> PartnerEnvironment:
        try:
            return self.environments[name]
        except KeyError:
            raise EnvironmentNotFoundError(self.id, name) from None

    def with_environment(self, environment: PartnerEnvironment) -> Partner:
        environments = dict(self.environments)
        environments[environment.name] = environment
        return replace(self, environments=environments)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "slug": self.slug,
            "display_name": self.display_name,
            "contact_email": self.contact_email,
            "status": self.status.value,
            "environments": {n: e.to_dict() for n, e in sorted(self.environments.items())},
            "members": list(self.members),
            "status_reason": self.status_reason,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Partner:
        return cls(
            id=str(data["id"]),
            slug=str(data["slug"]),
            display_name=str(data["display_name"]),
            contact_email=str(data["contact_email"]),
            status=PartnerStatus(data.get("status", PartnerStatus.DRAFT)),
            environments={
                name: PartnerEnvironment.from_dict(env)
                for name, env in (data.get("environments") or {}).items()
            },
            members=tuple(data.get("members") or ()),
            status_reason=data.get("status_reason"),
            version=int(data.get("version", 0)),
            created_at=str(data.get("created_at", "")),
            updated_at=str(data.get("updated_at", "")),
        )


@dataclass(frozen=True)
class RoutingStatus:
    """What the reconciler last did for one partner environment, for the console to show."""

    partner_id: str
    environment: str
    state: RoutingState
    reason: str | None = None
    rule_arn: str | None = None
    config_hash: str | None = None
    updated_at: str = ""

    @property
    def label(self) -> str:
        """`live`, `pending`, `error: <reason>` or `disabled: <reason>`, as the console
        shows it."""
        if self.state in (RoutingState.ERROR, RoutingState.DISABLED):
            return f"{self.state.value}: {self.reason}"
        return self.state.value

    def to_dict(self) -> dict[str, Any]:
        data = {
            "partner_id": self.partner_id,
            "environment": self.environment,
            "state": self.state.value,
            "reason": self.reason,
            "rule_arn": self.rule_arn,
            "config_hash": self.config_hash,
            "updated_at": self.updated_at,
        }
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoutingStatus:
        return cls(
            partner_id=str(data["partner_id"]),
            environment=str(data["environment"]),
            state=RoutingState(data["state"]),
            reason=data.get("reason"),
            rule_arn=data.get("rule_arn"),
            config_hash=data.get("config_hash"),
            updated_at=str(data.get("updated_at", "")),
        )
