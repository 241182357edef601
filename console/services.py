"""The console's extension: the domain stores and AWS clients, built once from the config.

`Services.init_app(app)` reads the settings (`console.config`) and puts one `Services` in
`app.extensions["pgw"]`; views reach it through `services()`. Tests inject a boto3 session
(`BOTO3_SESSION`), a clock (`CLOCK`), a DNS resolver (`ENDPOINT_RESOLVER`) and a reconcile
trigger (`RECONCILE_TRIGGER`) through the config.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Mapping

from flask import Flask, current_app

from console.config import allow_insecure, partner_environments
from console.identity import CognitoIdentity
from console.reconcile import ReconcileTrigger
from console.throttle import LoginThrottle
from partners.core.aws import client
from partners.core.clock import utc_now
from partners.core.constants import Env
from partners.onboarding import AuditLog, CredentialStore, PartnerRegistry, TokenStore


class Services:
    """Everything a view needs besides the request: stores, clients, settings."""

    def __init__(self, config: Mapping[str, Any]):
        self.config = config
        self.session = config.get("BOTO3_SESSION")
        self.clock = config.get("CLOCK") or utc_now
        self.resolver = config.get("ENDPOINT_RESOLVER")
        self.bus_name: str = config[Env.BUS_NAME]
        self.resource_prefix: str = config[Env.RESOURCE_PREFIX]
        self.environments = partner_environments(config)
        self.allow_insecure = allow_insecure(config)
        self.usage_plan_id: str | None = config.get(Env.USAGE_PLAN_ID) or None
        self.throttle = LoginThrottle(clock=self.clock)

    def client(self, service: str) -> Any:
        return client(service, self.session)

    @cached_property
    def registry(self) -> PartnerRegistry:
        return PartnerRegistry(self.config[Env.PARTNERS_TABLE], boto3_session=self.session,
                               clock=self.clock)

    @cached_property
    def tokens(self) -> TokenStore:
        return TokenStore(self.config[Env.TOKENS_TABLE], boto3_session=self.session,
                          clock=self.clock)

    @cached_property
    def credentials(self) -> CredentialStore:
        return CredentialStore(self.config[Env.SECRET_PREFIX], boto3_session=self.session)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.config[Env.AUDIT_TABLE], boto3_session=self.session,
                        clock=self.clock)

    @cached_property
    def identity(self) -> CognitoIdentity:
        return CognitoIdentity(self.config[Env.USER_POOL_ID], self.config[Env.USER_POOL_CLIENT_ID],
                               boto3_session=self.session)

    @cached_property
    def events(self) -> Any:
        return self.client("events")

    @cached_property
    def sqs(self) -> Any:
        return self.client("sqs")

    @cached_property
    def apigateway(self) -> Any:
        return self.client("apigateway")

    @cached_property
    def trigger_reconcile(self) -> Callable[[str], bool]:
        injected = self.config.get("RECONCILE_TRIGGER")
        if injected is not None:
            return injected
        return ReconcileTrigger(self.config.get(Env.RECONCILER_FUNCTION), self.client("lambda"))


class GatewayExtension:
    """The Flask extension: `gateway.init_app(app)` builds the app's `Services`."""

    def init_app(self, app: Flask) -> None:
        app.extensions["pgw"] = Services(app.config)


gateway = GatewayExtension()


def services() -> Services:
    """The current app's `Services`."""
    return current_app.extensions["pgw"]
