"""The settings of one stage, read from the stack's configuration (`Pulumi.<stage>.yaml`).

Stage differences live in the committed stack files, never in `if stage == "prod"` branches;
this module only parses and checks them, so that a bad value fails `pulumi preview` with a
message naming the key instead of failing half-way through `pulumi up`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

import pulumi

from infra.spec import DEFAULT_PARTNER_ENVIRONMENTS
from partners.routing import Quotas  # the reconciler's own quota model

# The stage whose endpoints must never be plain http or loopback. This is a guard on the
# committed settings (a typo in Pulumi.prod.yaml must not open SSRF-prone endpoints), not a
# stage difference: the difference itself is the `allowInsecureEndpoints` value.
PRODUCTION_STAGE = "prod"


class StageConfigError(ValueError):
    """A stack setting is missing or out of range; the message names the key."""


@dataclass(frozen=True)
class UsageTier:
    """One usage plan: steady rate and burst (requests/second) and a daily quota."""

    name: str
    rate_limit: float
    burst_limit: int
    quota_per_day: int


@dataclass(frozen=True)
class PortalCallback:
    """Where `Request Status Changed` is posted for the user portal (an API destination)."""

    url: str
    api_key_header: str = "X-Api-Key"
    rate_limit_per_second: int = 50


@dataclass(frozen=True)
class CognitoEmail:
    """Cognito's email through SES (`EmailSendingAccount: DEVELOPER`): the sender and the
    verified SES identity (a domain or an address) it sends as."""

    from_address: str
    ses_identity_arn: str

    @property
    def identity(self) -> str:
        """The identity's name: a domain or an email address."""
        return self.ses_identity_arn.split(":identity/", 1)[1]

    @property
    def address(self) -> str:
        """The sender's address without its display name (what `ses:FromAddress` holds)."""
        match = FROM_ADDRESS.match(self.from_address)
        return match.group(1) if match else self.from_address


@dataclass(frozen=True)
class StageConfig:
    """Every setting of one stage; secrets stay `pulumi.Output`s and never become strings."""

    stage: str
    region: str
    partner_environments: tuple[str, ...]
    allow_insecure_endpoints: bool
    quotas: Quotas
    archive_retention_days: int
    log_retention_days: int
    alarm_email: str
    usage_tiers: tuple[UsageTier, ...]
    default_usage_tier: str
    api_rate_limit: float
    api_burst_limit: int
    portal_callback: PortalCallback
    powertools_layer_arn: str
    lambda_archive: str
    reconcile_schedule: str
    deep_reconcile_schedule: str
    sms_monthly_spend_limit: int
    sms_sender_id: str | None
    datalake_transition_days: int
    protect_data: bool
    manage_account_settings: bool
    console_session_secret: Any = field(repr=False)  # pulumi.Output[str], secret
    portal_callback_api_key: Any = field(repr=False)  # pulumi.Output[str], secret
    # None: Cognito's default sender (a few dozen emails a day); required in prod.
    cognito_email: CognitoEmail | None = None
    # How many days the delivery log keeps a delivery (`deliveriesTtlDays`, default 30).
    deliveries_ttl_days: int = 30

    @property
    def default_tier(self) -> UsageTier:
        return next(t for t in self.usage_tiers if t.name == self.default_usage_tier)


# A new account's SMS spending quota (USD a month): SNS refuses a MonthlySpendLimit above the
# account's quota, so this is the default until AWS grants an increase.
# https://docs.aws.amazon.com/sns/latest/dg/sms_spending_limit.html
NEW_ACCOUNT_SMS_SPEND_QUOTA = 1

# SNS alphanumeric sender ids: 1-11 characters, letters and digits, not only digits.
SENDER_ID = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9]{1,11}$")
# A Lambda layer version ARN in any partition (aws, aws-cn, aws-us-gov).
LAYER_VERSION_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:layer:[^:]+:[0-9]+$")
# An SES identity ARN (`arn:<partition>:ses:<region>:<account>:identity/<domain or address>`)
# and the address part of a `From` value (`Name <address>` or `address`).
SES_IDENTITY_ARN = re.compile(r"^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:identity/[^\s/]+$")
FROM_ADDRESS = re.compile(r"^(?:[^<>]*<)?([^<>\s@]+@[^<>\s@]+\.[^<>\s@]+)>?$")

# Log group retention must be one of CloudWatch Logs' accepted values.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
                      1827, 2192, 2557, 2922, 3288, 3653)


def _positive_number(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise StageConfigError(f"{key} must be a positive number, got {value!r}")
    return float(value)


def _default(value: Any, default: Any) -> Any:
    """`value` unless the setting is absent (0 stays 0, and is refused where it must be)."""
    return default if value is None else value


def _positive(key: str, value: Any) -> int:
    number = _positive_number(key, value)
    if number != int(number):
        raise StageConfigError(f"{key} must be a whole number, got {value!r}")
    return int(number)


def parse_usage_tiers(raw: Mapping[str, Any]) -> tuple[UsageTier, ...]:
    """Usage tiers from `{"standard": {"rateLimit": .., "burstLimit": .., "quotaPerDay": ..}}`."""
    if not raw:
        raise StageConfigError("usageTiers must name at least one tier")
    tiers = []
    for name in sorted(raw):
        settings = raw[name]
        if not isinstance(settings, Mapping):
            raise StageConfigError(f"usageTiers.{name} must be a mapping")
        tiers.append(UsageTier(
            name=name,
            rate_limit=_positive_number(f"usageTiers.{name}.rateLimit", settings.get("rateLimit")),
            burst_limit=_positive(f"usageTiers.{name}.burstLimit", settings.get("burstLimit")),
            quota_per_day=_positive(f"usageTiers.{name}.quotaPerDay", settings.get("quotaPerDay")),
        ))
    return tuple(tiers)


def check_stage_config(config: StageConfig) -> StageConfig:
    """Refuse settings that would deploy an unsafe or broken stage.

    Raises
    ------
    StageConfigError: naming the offending key.
    """
    if config.allow_insecure_endpoints and config.stage == PRODUCTION_STAGE:
        raise StageConfigError("allowInsecureEndpoints must be false in the prod stage")
    if config.log_retention_days not in LOG_RETENTION_DAYS:
        raise StageConfigError(
            f"logRetentionDays must be one of {LOG_RETENTION_DAYS}, got {config.log_retention_days}")
    if config.default_usage_tier not in {t.name for t in config.usage_tiers}:
        raise StageConfigError(
            f"defaultUsageTier {config.default_usage_tier!r} is not one of usageTiers")
    if not config.portal_callback.url.startswith("https://"):
        raise StageConfigError("portalCallback.url must be an https URL")
    if not LAYER_VERSION_ARN.match(config.powertools_layer_arn):
        raise StageConfigError("powertoolsLayerArn must be a Lambda layer version ARN")
    if f":{config.region}:" not in config.powertools_layer_arn:
        raise StageConfigError("powertoolsLayerArn must be in the stack's region "
                               f"({config.region})")
    for key, expression in (("reconcileSchedule", config.reconcile_schedule),
                            ("deepReconcileSchedule", config.deep_reconcile_schedule)):
        if not expression.startswith(("rate(", "cron(")):
            raise StageConfigError(f"{key} must be a rate(...) or cron(...) expression")
    if config.sms_sender_id is not None and not SENDER_ID.match(config.sms_sender_id):
        raise StageConfigError("sms.senderId must be 1-11 letters or digits, one letter at "
                               "least")
    if "@" not in config.alarm_email:
        raise StageConfigError("alarmEmail must be an email address")
    check_cognito_email(config)
    return config


def check_cognito_email(config: StageConfig) -> None:
    """Prod sends Cognito's email through SES: Cognito's own sender allows a few dozen a day.

    A guard on the committed settings like `allowInsecureEndpoints`, not a stage difference.
    https://docs.aws.amazon.com/cognito/latest/developerguide/user-pool-email.html
    """
    email = config.cognito_email
    if email is None:
        if config.stage == PRODUCTION_STAGE:
            raise StageConfigError("cognitoEmail (fromAddress, sesIdentityArn) is required in "
                                   "the prod stage: Cognito's default sender allows a few "
                                   "dozen emails a day")
        return
    if not SES_IDENTITY_ARN.match(email.ses_identity_arn):
        raise StageConfigError("cognitoEmail.sesIdentityArn must be an SES identity ARN "
                               "(arn:<partition>:ses:<region>:<account>:identity/<domain or "
                               "address>)")
    match = FROM_ADDRESS.match(email.from_address)
    if not match:
        raise StageConfigError("cognitoEmail.fromAddress must be an email address "
                               "(optionally 'Name <address>')")
    address, identity = match.group(1).lower(), email.identity.lower()
    if address != identity and address.rsplit("@", 1)[1] != identity:
        raise StageConfigError(f"cognitoEmail.fromAddress must be on the SES identity "
                               f"{email.identity!r}")


def parse_cognito_email(raw: Mapping[str, Any] | None) -> CognitoEmail | None:
    """`cognitoEmail: {fromAddress, sesIdentityArn}`, or None when the key is absent."""
    if not raw:
        return None
    if not isinstance(raw, Mapping):
        raise StageConfigError("cognitoEmail must be a mapping (fromAddress, sesIdentityArn)")
    return CognitoEmail(from_address=str(raw.get("fromAddress") or ""),
                        ses_identity_arn=str(raw.get("sesIdentityArn") or ""))


def load_stage_config(config: pulumi.Config | None = None, *, stage: str | None = None,
                      region: str | None = None) -> StageConfig:
    """Read and check the stage's settings from the stack configuration.

    `stage` defaults to the stack name and `region` to `aws:region`.
    """
    config = config or pulumi.Config()
    region = region or pulumi.Config("aws").require("region")
    quotas = config.get_object("quotas") or {}
    callback = config.require_object("portalCallback")
    environments = config.get_object("partnerEnvironments") or list(DEFAULT_PARTNER_ENVIRONMENTS)
    sms = config.get_object("sms") or {}
    api = config.get_object("apiThrottle") or {}
    loaded = StageConfig(
        stage=stage or pulumi.get_stack(),
        region=region,
        partner_environments=tuple(environments),
        allow_insecure_endpoints=config.get_bool("allowInsecureEndpoints") or False,
        quotas=Quotas(
            rules_per_bus=_positive("quotas.rulesPerBus", quotas.get("rulesPerBus", 300)),
            api_destinations=_positive("quotas.apiDestinations",
                                       quotas.get("apiDestinations", 3000)),
            connections=_positive("quotas.connections", quotas.get("connections", 3000)),
        ),
        archive_retention_days=_positive("archiveRetentionDays",
                                         config.require_int("archiveRetentionDays")),
        log_retention_days=config.get_int("logRetentionDays") or 30,
        alarm_email=config.require("alarmEmail"),
        usage_tiers=parse_usage_tiers(config.require_object("usageTiers")),
        default_usage_tier=config.require("defaultUsageTier"),
        api_rate_limit=_positive_number("apiThrottle.rateLimit", api.get("rateLimit", 100)),
        api_burst_limit=_positive("apiThrottle.burstLimit", api.get("burstLimit", 200)),
        portal_callback=PortalCallback(
            url=str(callback.get("url", "")),
            api_key_header=str(callback.get("apiKeyHeader", "X-Api-Key")),
            rate_limit_per_second=_positive("portalCallback.rateLimitPerSecond",
                                            callback.get("rateLimitPerSecond", 50)),
        ),
        powertools_layer_arn=config.require("powertoolsLayerArn"),
        lambda_archive=config.get("lambdaArchive") or "build/lambda.zip",
        reconcile_schedule=config.get("reconcileSchedule") or "rate(5 minutes)",
        deep_reconcile_schedule=config.get("deepReconcileSchedule") or "rate(1 hour)",
        sms_monthly_spend_limit=_positive("sms.monthlySpendLimit",
                                          sms.get("monthlySpendLimit",
                                                  NEW_ACCOUNT_SMS_SPEND_QUOTA)),
        sms_sender_id=sms.get("senderId") or None,
        datalake_transition_days=_positive("datalakeTransitionDays",
                                           config.get_int("datalakeTransitionDays") or 90),
        protect_data=config.get_bool("protectData") or False,
        manage_account_settings=config.get_bool("manageAccountSettings") or False,
        console_session_secret=config.require_secret("consoleSessionSecret"),
        portal_callback_api_key=config.require_secret("portalCallbackApiKey"),
        cognito_email=parse_cognito_email(config.get_object("cognitoEmail")),
        deliveries_ttl_days=_positive("deliveriesTtlDays", _default(
            config.get_int("deliveriesTtlDays"), 30)),
    )
    return check_stage_config(loaded)
