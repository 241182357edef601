"""The console's extension: the domain stores and AWS clients, built once from the config.

`Services.init_app(app)` reads the settings (`console.config`) and puts one `Services` in
`app.extensions["pgw"]`; views reach it through `services()`. Tests inject a boto3 session
(`BOTO3_SESSION`), a clock (`CLOCK`), a DNS resolver (`ENDPOINT_RESOLVER`), a reconcile
trigger (`RECONCILE_TRIGGER`) and an authorizer-cache flush (`AUTHORIZER_FLUSH`) through the
config.

Views read through the stores; every write goes through the domain's use cases, which get
their dependencies from `onboarding`, built once here.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Callable, Mapping

from flask import Flask, current_app

from console.authorizer_cache import AuthorizerCacheFlush
from console.config import allow_insecure, partner_environments
from console.identity import CognitoIdentity
from console.reconcile import ReconcileTrigger
from console.sessions import SessionStore
from console.throttle import LoginThrottle
from partners.core.aws import client
from partners.core.clock import utc_now
from partners.core.constants import Env
from partners.onboarding import (
    AuditLog,
    CredentialStore,
    Onboarding,
    PartnerRegistry,
    SendMail,
    SesMail,
    TokenStore,
    no_mail,
)
from partners.deliveries import DeliveryHealth, DeliveryQueries, DeliveryStore, Resender
from partners.requests import RequestHistory
from partners.routing import DeadLetters, EndpointHealthStore


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
        self.throttle = LoginThrottle(config[Env.CONSOLE_SESSIONS_TABLE],
                                      boto3_session=self.session, clock=self.clock)
        self.sessions = SessionStore(config[Env.CONSOLE_SESSIONS_TABLE],
                                     boto3_session=self.session, clock=self.clock,
                                     lifetime=config.get("SESSION_ABSOLUTE_LIFETIME"))

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

    @cached_property
    def flush_authorizers(self) -> Callable[[], bool]:
        injected = self.config.get("AUTHORIZER_FLUSH")
        if injected is not None:
            return injected
        return AuthorizerCacheFlush(self.config.get(Env.PARTNER_API_ID),
                                    self.config.get(Env.PARTNER_API_STAGE), self.apigateway)

    @cached_property
    def onboarding(self) -> Onboarding:
        """The onboarding use cases' dependencies: the stores, the trigger, the settings."""
        return Onboarding(self.registry, self.tokens, self.credentials, self.audit,
                          self.trigger_reconcile, clock=self.clock,
                          flush_authorizers=self.flush_authorizers,
                          environments=self.environments, allow_insecure=self.allow_insecure,
                          resolver=self.resolver, send_mail=self.send_mail,
                          end_sessions=self.sessions.revoke_user)

    @cached_property
    def send_mail(self) -> SendMail:
        """Sends the console's own emails (invitations): SES from the stage's sender, or
        nothing where no sender is set (the owner then shares the link shown once)."""
        injected = self.config.get("SEND_MAIL")
        if injected is not None:
            return injected
        sender = self.config.get(Env.MAIL_SENDER)
        return SesMail(sender, boto3_session=self.session) if sender else no_mail

    @cached_property
    def history(self) -> RequestHistory:
        return RequestHistory(self.client("dynamodb"),
                              requests_table=self.config.get(Env.REQUESTS_TABLE),
                              inbox_table=self.config.get(Env.INBOX_TABLE))

    @cached_property
    def delivery_store(self) -> DeliveryStore:
        return DeliveryStore(self.config.get(Env.DELIVERIES_TABLE) or "",
                             prefix=self.resource_prefix, boto3_session=self.session,
                             clock=self.clock)

    @cached_property
    def deliveries(self) -> DeliveryQueries:
        """The delivery log, per partner environment."""
        return DeliveryQueries(self.delivery_store)

    @cached_property
    def delivery_health(self) -> DeliveryHealth:
        """Endpoint health figures (success rate, latency) from the delivery log."""
        return DeliveryHealth(self.delivery_store, clock=self.clock)

    @cached_property
    def resender(self) -> Resender:
        """Sends deliveries again with their CloudEvent id, rate-limited per environment."""
        return Resender(self.events, self.delivery_store, bus_name=self.bus_name,
                        clock=self.clock)

    @cached_property
    def endpoint_health(self) -> EndpointHealthStore:
        """What the endpoint guard keeps (re-enables, alerts) in the partners table."""
        return EndpointHealthStore(self.config[Env.PARTNERS_TABLE], boto3_session=self.session)

    def dead_letters(self, partner_id: str, environment: str) -> DeadLetters:
        """The DLQ of one partner environment."""
        return DeadLetters(self.sqs, self.events, bus_name=self.bus_name,
                           resource_prefix=self.resource_prefix, partner_id=partner_id,
                           environment=environment)


class GatewayExtension:
    """The Flask extension: `gateway.init_app(app)` builds the app's `Services`."""

    def init_app(self, app: Flask) -> None:
        app.extensions["pgw"] = Services(app.config)


gateway = GatewayExtension()


def services() -> Services:
    """The current app's `Services`."""
    return current_app.extensions["pgw"]
