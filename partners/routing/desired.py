"""Desired state: what one partner environment's routing should be, built from its settings.

A partner environment's routing is a handful of AWS resources, all named
`partner_resource_name(prefix, partner_id, environment)`:

- push mode: an EventBridge connection (the endpoint's auth), an API destination (endpoint,
  POST, rate limit), a standard SQS dead-letter queue, a rule on the stage's bus and its two
  targets, `delivery` (the API destination) and `routing` (the routing recorder);
- poll mode: the rule and its `routing` target only (the routing recorder writes the inbox);
- both: an API Gateway usage-plan key when the stage has a usage plan.

`desired_environment` is pure: no AWS, no clock. It never holds a secret value, only the
secret's version id, so the config hash changes when the secret does.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from partners.core.constants import MANAGED_BY_VALUE, Tags, partner_resource_name, usage_key_value
from partners.core.contracts import CLOUDEVENTS_TRANSFORMER
from partners.onboarding import AuthType, DeliveryMode, InvalidFilterError, PartnerEnvironment
from partners.routing.exceptions import RoutingPermanentError
from partners.routing.names import (
    DESTINATION_ARN,
    HTTP_METHOD,
    MAX_NAME_LENGTH,
    RULE_ENABLED,
    TargetId,
    short_hash,
)
from partners.routing.patterns import compile_event_pattern, pattern_json


@dataclass(frozen=True)
class ConnectionSpec:
    """A connection's non-secret settings and the version (never the value) of its secret."""

    auth_type: AuthType
    secret_arn: str
    secret_version: str
    header_name: str | None = None
    username: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    scope: str | None = None

    @property
    def config_hash(self) -> str:
        return short_hash(asdict(self))

    @property
    def identity(self) -> tuple[str, ...]:
        """The public settings that `DescribeConnection` shows back (no secret)."""
        if self.auth_type is AuthType.API_KEY:
            return (self.auth_type.value, self.header_name or "")
        if self.auth_type is AuthType.BASIC:
            return (self.auth_type.value, self.username or "")
        return (self.auth_type.value, self.client_id or "", self.token_url or "")

    def auth_parameters(self, secret_value: str) -> dict[str, Any]:
        """`AuthParameters` for CreateConnection / UpdateConnection, with the secret value."""
        if self.auth_type is AuthType.API_KEY:
            return {"ApiKeyAuthParameters": {"ApiKeyName": self.header_name,
                                             "ApiKeyValue": secret_value}}
        if self.auth_type is AuthType.BASIC:
            return {"BasicAuthParameters": {"Username": self.username, "Password": secret_value}}
        body = [{"Key": "grant_type", "Value": "client_credentials", "IsValueSecret": False}]
        if self.scope:
            body.append({"Key": "scope", "Value": self.scope, "IsValueSecret": False})
        return {"OAuthParameters": {
            "ClientParameters": {"ClientID": self.client_id, "ClientSecret": secret_value},
            "AuthorizationEndpoint": self.token_url,
            "HttpMethod": HTTP_METHOD,
            "OAuthHttpParameters": {"BodyParameters": body},
        }}


def connection_identity(described: Mapping[str, Any]) -> tuple[str, ...]:
    """`ConnectionSpec.identity` of a `DescribeConnection` answer.

    Parameters
    ----------
    described: the `DescribeConnection` response.

    Returns
    -------
    The public settings, in the order `ConnectionSpec.identity` gives them.
    """
    auth_type = str(described.get("AuthorizationType", ""))
    parameters = described.get("AuthParameters") or {}
    if auth_type == AuthType.API_KEY.value:
        return (auth_type, (parameters.get("ApiKeyAuthParameters") or {}).get("ApiKeyName", ""))
    if auth_type == AuthType.BASIC.value:
        return (auth_type, (parameters.get("BasicAuthParameters") or {}).get("Username", ""))
    oauth = parameters.get("OAuthParameters") or {}
    return (auth_type, (oauth.get("ClientParameters") or {}).get("ClientID", ""),
            oauth.get("AuthorizationEndpoint", ""))


@dataclass(frozen=True)
class DestinationSpec:
    endpoint: str
    rate_limit_per_second: int
    method: str = HTTP_METHOD


@dataclass(frozen=True)
class TargetSpec:
    """One rule target in a comparable form (`arn` may be `DESTINATION_ARN`)."""

    id: str
    arn: str
    input_template: str
    input_paths: tuple[tuple[str, str], ...] = ()
    retry: tuple[int, int] | None = None  # (maximum event age seconds, maximum attempts)
    dead_letter_arn: str | None = None
    role_arn: str | None = None

    def to_aws(self, destination_arn: str | None) -> dict[str, Any]:
        """The `PutTargets` entry, with the API destination's ARN filled in."""
        arn = destination_arn if self.arn == DESTINATION_ARN else self.arn
        target: dict[str, Any] = {
            "Id": self.id,
            "Arn": arn,
            "InputTransformer": {"InputPathsMap": dict(self.input_paths),
                                 "InputTemplate": self.input_template},
        }
        if self.retry is not None:
            target["RetryPolicy"] = {"MaximumEventAgeInSeconds": self.retry[0],
                                     "MaximumRetryAttempts": self.retry[1]}
        if self.dead_letter_arn:
            target["DeadLetterConfig"] = {"Arn": self.dead_letter_arn}
        if self.role_arn:
            target["RoleArn"] = self.role_arn
        return target

    @classmethod
    def from_aws(cls, target: Mapping[str, Any], destination_arn: str | None) -> TargetSpec:
        """Read a `ListTargetsByRule` entry back into the comparable form."""
        transformer = target.get("InputTransformer") or {}
        retry = target.get("RetryPolicy")
        arn = str(target.get("Arn", ""))
        return cls(
            id=str(target.get("Id", "")),
            arn=DESTINATION_ARN if destination_arn and arn == destination_arn else arn,
            input_template=str(transformer.get("InputTemplate", "")),
            input_paths=tuple(sorted((transformer.get("InputPathsMap") or {}).items())),
            retry=(int(retry["MaximumEventAgeInSeconds"]), int(retry["MaximumRetryAttempts"]))
            if retry else None,
            dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
            role_arn=target.get("RoleArn"),
        )


@dataclass(frozen=True)
class DesiredEnvironment:
    """Everything one partner environment's routing should be, without any secret value."""

    name: str
    partner_id: str
    environment: str
    mode: DeliveryMode
    pattern: str  # canonical JSON (`partners.routing.patterns.pattern_json`)
    targets: tuple[TargetSpec, ...]
    connection: ConnectionSpec | None = None
    destination: DestinationSpec | None = None
    dead_letter_queue: bool = False
    usage_key_value: str | None = None
    # DISABLED while the endpoint guard holds the rule (partners/routing/endpoint_health.py).
    # Not part of the config hash: the rule's State shows it, and pausing is no new setting.
    rule_state: str = RULE_ENABLED

    @property
    def config_hash(self) -> str:
        """Covers every setting, including the secret's version id (never its value)."""
        settings = asdict(self)
        del settings["rule_state"]
        return short_hash(settings)

    def tags(self) -> dict[str, str]:
        return {Tags.MANAGED_BY: MANAGED_BY_VALUE, Tags.PARTNER_ID: self.partner_id,
                Tags.ENVIRONMENT: self.environment}


@dataclass(frozen=True)
class RoutingSettings:
    """Stage-wide inputs of every partner environment's desired routing.

    `dead_letter_arn` spells a partner DLQ's ARN from its name (the reconciler knows the
    account and Region from the bus ARN).
    """

    prefix: str
    routing_recorder_arn: str
    queue_arn_prefix: str  # "arn:aws:sqs:<region>:<account>:"
    delivery_role_arn: str | None = None
    routing_dlq_arn: str | None = None
    usage_plan: bool = False

    def dead_letter_arn(self, name: str) -> str:
        return self.queue_arn_prefix + name


def routing_template(partner_id: str, environment: str, mode: DeliveryMode) -> str:
    """The routing recorder's input: constants, then the whole event (a predefined variable).

    `aws.events.event.json` is the full event; `aws.events.event` would drop its `detail`
    (AWS documentation, eb-transform-target-input, "Predefined variables").

    Parameters
    ----------
    partner_id, environment, mode: the constants the routing recorder reads.

    Returns
    -------
    The input transformer's template.
    """
    constants = json.dumps({"partner_id": partner_id, "environment": environment,
                            "mode": mode.value}, separators=(",", ":"))
    return constants[:-1] + ',"event":<aws.events.event.json>}'


def _connection_spec(partner_id: str, env: PartnerEnvironment,
                     secret_versions: Mapping[str, str]) -> ConnectionSpec:
    auth = env.auth
    if auth is None or not auth.secret_arn:
        raise RoutingPermanentError("push mode needs endpoint credentials; set them in the console")
    required = {AuthType.API_KEY: ("header_name",), AuthType.BASIC: ("username",),
                AuthType.OAUTH_CLIENT_CREDENTIALS: ("token_url", "client_id")}[auth.type]
    missing = [name for name in required if not getattr(auth, name)]
    if missing:
        raise RoutingPermanentError(f"{auth.type.value} credentials need {', '.join(missing)}")
    version = secret_versions.get(auth.secret_arn)
    if not version:
        raise RoutingPermanentError("the endpoint credentials are missing from Secrets Manager; "
                                    "set them again in the console")
    return ConnectionSpec(auth_type=auth.type, secret_arn=auth.secret_arn,
                          secret_version=version, header_name=auth.header_name,
                          username=auth.username, token_url=auth.token_url,
                          client_id=auth.client_id, scope=auth.scope)


def desired_environment(partner_id: str, env: PartnerEnvironment, settings: RoutingSettings,
                        secret_versions: Mapping[str, str]) -> DesiredEnvironment:
    """What an approved partner's enabled environment should have, by its mode.

    Parameters
    ----------
    partner_id: the partner.
    env: its environment (approved partner, enabled environment).
    settings: the stage-wide inputs (prefix, routing recorder, ARNs).
    secret_versions: current version id by secret ARN (`CredentialStore.current_versions`).

    Returns
    -------
    The `DesiredEnvironment`; its config hash covers every setting and the secret's version.

    Raises
    ------
    RoutingPermanentError: for what no retry can fix: a filter EventBridge would refuse, a
        push environment without endpoint or credentials, a name over 64 characters.
    """
    name = partner_resource_name(settings.prefix, partner_id, env.name)
    if len(name) > MAX_NAME_LENGTH:
        raise RoutingPermanentError(f"resource name {name!r} is over {MAX_NAME_LENGTH} characters")
    try:
        pattern = pattern_json(compile_event_pattern(env.filter, env.name, partner_id=partner_id))
    except InvalidFilterError as error:
        raise RoutingPermanentError(f"invalid filter: {error.message}", code="InvalidFilter") \
            from None
    routing = TargetSpec(
        id=TargetId.ROUTING,
        arn=settings.routing_recorder_arn,
        input_template=routing_template(partner_id, env.name, env.mode),
        dead_letter_arn=settings.routing_dlq_arn,
    )
    usage_key = (usage_key_value(settings.prefix, partner_id, env.name)
                 if settings.usage_plan else None)
    if env.mode is DeliveryMode.POLL:
        return DesiredEnvironment(name, partner_id, env.name, env.mode, pattern, (routing,),
                                  usage_key_value=usage_key)
    if not env.endpoint_url:
        raise RoutingPermanentError("push mode needs an endpoint URL")
    delivery = TargetSpec(
        id=TargetId.DELIVERY,
        arn=DESTINATION_ARN,
        input_template=CLOUDEVENTS_TRANSFORMER.template,
        input_paths=tuple(sorted(CLOUDEVENTS_TRANSFORMER.paths.items())),
        retry=(env.retry_policy.maximum_event_age_seconds,
               env.retry_policy.maximum_retry_attempts),
        dead_letter_arn=settings.dead_letter_arn(name),
        role_arn=settings.delivery_role_arn,
    )
    return DesiredEnvironment(
        name, partner_id, env.name, env.mode, pattern, (delivery, routing),
        connection=_connection_spec(partner_id, env, secret_versions),
        destination=DestinationSpec(env.endpoint_url, env.rate_limit_per_second),
        dead_letter_queue=True,
        usage_key_value=usage_key,
    )
