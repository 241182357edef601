"""The settings preflight checks against: the committed `Pulumi.<stack>.yaml`, read as data.

No Pulumi engine and no secrets are needed: preflight runs before the first `pulumi up`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from infra.cloud.config import (
    NEW_ACCOUNT_SMS_SPEND_QUOTA,
    PRODUCTION_STAGE,
    CognitoEmail,
    parse_cognito_email,
)
from infra.spec import DEFAULT_PARTNER_ENVIRONMENTS

PROJECT = "partner-event-gateway"
REPO_ROOT = Path(__file__).resolve().parents[3]


class PreflightSettingsError(ValueError):
    """The stack file is missing or lacks a setting preflight needs; names the file or key."""


@dataclass(frozen=True)
class PreflightSettings:
    """What the checks compare the account with."""

    stack: str
    stage: str
    region: str
    partner_environments: tuple[str, ...]
    rules_per_bus: int
    api_destinations: int
    connections: int
    usage_tiers: int
    sms_monthly_spend_limit: int
    powertools_layer_arn: str
    cognito_email: CognitoEmail | None

    @property
    def production(self) -> bool:
        """The stage whose end users and partners must be reachable from day one."""
        return self.stage == PRODUCTION_STAGE


def settings_from_config(stack: str, config: Mapping[str, Any], *, stage: str | None = None,
                         region: str | None = None) -> PreflightSettings:
    """Settings from a stack's `config:` mapping (keys as in the stack file)."""
    def setting(key: str, default: Any = None) -> Any:
        return config.get(f"{PROJECT}:{key}", default)

    region = region or config.get("aws:region")
    if not region:
        raise PreflightSettingsError(f"stack {stack}: aws:region is not set (or pass --region)")
    layer = setting("powertoolsLayerArn")
    if not layer:
        raise PreflightSettingsError(f"stack {stack}: powertoolsLayerArn is not set")
    quotas = setting("quotas") or {}
    sms = setting("sms") or {}
    return PreflightSettings(
        stack=stack, stage=stage or stack, region=str(region),
        partner_environments=tuple(setting("partnerEnvironments")
                                   or DEFAULT_PARTNER_ENVIRONMENTS),
        rules_per_bus=int(quotas.get("rulesPerBus", 300)),
        api_destinations=int(quotas.get("apiDestinations", 3000)),
        connections=int(quotas.get("connections", 3000)),
        usage_tiers=len(setting("usageTiers") or {}) or 1,
        sms_monthly_spend_limit=int(sms.get("monthlySpendLimit", NEW_ACCOUNT_SMS_SPEND_QUOTA)),
        powertools_layer_arn=str(layer),
        cognito_email=parse_cognito_email(setting("cognitoEmail")),
    )


def load_settings(stack: str, *, stage: str | None = None, region: str | None = None,
                  root: Path = REPO_ROOT) -> PreflightSettings:
    """Settings of the committed `Pulumi.<stack>.yaml` under `root`."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise PreflightSettingsError(f"{path} does not exist (pulumi stack init {stack})")
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return settings_from_config(stack, config, stage=stage, region=region)
