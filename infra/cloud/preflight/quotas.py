"""Quotas the stage will use, against what the account has: applied values from Service
Quotas, use from the List calls.

Service Quotas lists a quota's applied value only where one exists ("If the applied quota
value is not available for a quota, the quota is not retrieved"), so the AWS default comes
next, then the documented default (with a WARN that says so).
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListServiceQuotas.html
https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_ListAWSDefaultServiceQuotas.html
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html
https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from botocore.exceptions import ClientError

from infra.cloud.preflight.results import (
    AWS_FAILURES,
    Check,
    Clients,
    failed,
    passed,
    unchecked,
    warned,
)
from partners.core.aws import error_code

# Past this share of a quota in use, a WARN: request the increase before it binds (README
# "Scale": shard or raise when within 20 %).
WARN_AT = 0.8
FAILURES = AWS_FAILURES


@dataclass(frozen=True)
class QuotaSpec:
    """A quota by its Service Quotas service code and names, with AWS's documented default."""

    label: str
    service: str
    names: tuple[str, ...]
    default: int
    setting: str = ""  # the stack setting that states it for the reconciler, if any


RULES_PER_BUS = QuotaSpec("EventBridge rules per event bus", "events",
                          ("rules per event bus", "rules"), 300, "quotas.rulesPerBus")
API_DESTINATIONS = QuotaSpec("EventBridge API destinations", "events",
                             ("api destinations",), 3000, "quotas.apiDestinations")
CONNECTIONS = QuotaSpec("EventBridge connections", "events", ("connections",), 3000,
                        "quotas.connections")
USAGE_PLANS = QuotaSpec("API Gateway usage plans", "apigateway",
                        ("usage plans per account", "usage plans"), 300)


@dataclass(frozen=True)
class QuotaValue:
    value: int
    code: str  # the quota code, for the increase request ("" when unknown)
    source: str  # "applied", "AWS default" or "documented default"
    error: str = ""  # why Service Quotas did not answer, if it did not


def _listed(call: Callable[..., Any], service: str, names: tuple[str, ...]
            ) -> dict[str, Any] | None:
    token = None
    while True:
        page = call(ServiceCode=service, **({"NextToken": token} if token else {}))
        for quota in page.get("Quotas", []):
            if str(quota.get("QuotaName", "")).strip().lower() in names:
                return dict(quota)
        token = page.get("NextToken")
        if not token:
            return None


def quota_value(clients: Clients, spec: QuotaSpec) -> QuotaValue:
    """The account's value of `spec` in the region of `clients`."""
    service_quotas = clients("service-quotas")
    try:
        for call, source in ((service_quotas.list_service_quotas, "applied"),
                             (service_quotas.list_aws_default_service_quotas, "AWS default")):
            quota = _listed(call, spec.service, spec.names)
            if quota is not None:
                return QuotaValue(int(quota["Value"]), str(quota.get("QuotaCode", "")), source)
    except FAILURES as error:
        return QuotaValue(spec.default, "", "documented default",
                          error_code(error) or type(error).__name__)
    return QuotaValue(spec.default, "", "documented default", "not listed")


def increase_command(spec: QuotaSpec, quota: QuotaValue, wanted: int) -> str:
    code = quota.code or "<quota code: aws service-quotas list-service-quotas --service-code " \
                         f"{spec.service}>"
    return (f"aws service-quotas request-service-quota-increase --service-code {spec.service} "
            f"--quota-code {code} --desired-value {wanted}")


def headroom(spec: QuotaSpec, quota: QuotaValue, used: int, needed: int = 0,
             setting: int | None = None, stack: str = "") -> Check:
    """PASS with the numbers; WARN from `WARN_AT` of the quota or when the quota could not be
    read; FAIL when the stage's need does not fit, or the stack states a higher quota than the
    account has (the reconciler would plan past the real limit)."""
    what = f"{spec.label} ({quota.source} quota {quota.value})"
    if setting is not None and setting > quota.value:
        return failed(what, f"Pulumi.{stack}.yaml states {spec.setting}: {setting}, the account "
                            f"has {quota.value}",
                      f"set {spec.setting} to {quota.value}, or "
                      f"{increase_command(spec, quota, setting)}")
    total = used + needed
    found = f"{used} in use, {needed} more for this stage, {quota.value - total} left"
    if total > quota.value:
        return failed(what, found, increase_command(spec, quota, total + quota.value // 5))
    if quota.error:
        return warned(what, f"{found} (Service Quotas: {quota.error})",
                      f"confirm the quota in the Service Quotas console ({spec.service})")
    if total >= WARN_AT * quota.value:
        return warned(what, found, increase_command(spec, quota, quota.value * 2))
    return passed(what, found)


def _count(call: Callable[..., Any], key: str, token_key: str = "NextToken",
           page_key: str = "NextToken", **kwargs: Any) -> int:
    count, token = 0, None
    while True:
        page = call(**kwargs, **({token_key: token} if token else {}))
        count += len(page.get(key, []))
        token = page.get(page_key)
        if not token:
            return count


def quota_checks(clients: Clients, *, stack: str, bus_name: str, rules_setting: int,
                 destinations_setting: int, connections_setting: int,
                 usage_tiers: int) -> list[Check]:
    """Rules on the stage's bus, API destinations and connections of the account and region,
    and API Gateway usage plans (one per usage tier)."""
    events, checks = clients("events"), []
    try:
        rules = _count(events.list_rules, "Rules", EventBusName=bus_name)
    except ClientError as error:
        # Before the first `pulumi up` the stage's bus does not exist: nothing on it yet.
        if error_code(error) != "ResourceNotFoundException":
            checks.append(unchecked(RULES_PER_BUS.label, error,
                                    f"aws events list-rules --event-bus-name {bus_name}"))
            rules = None
        else:
            rules = 0
    except FAILURES as error:
        checks.append(unchecked(RULES_PER_BUS.label, error,
                                f"aws events list-rules --event-bus-name {bus_name}"))
        rules = None
    if rules is not None:
        checks.append(headroom(RULES_PER_BUS, quota_value(clients, RULES_PER_BUS), rules,
                               setting=rules_setting, stack=stack))
    # The program adds one of each for the portal's status callback.
    for spec, call, key, setting, command in (
            (API_DESTINATIONS, events.list_api_destinations, "ApiDestinations",
             destinations_setting, "aws events list-api-destinations"),
            (CONNECTIONS, events.list_connections, "Connections", connections_setting,
             "aws events list-connections")):
        try:
            used = _count(call, key, Limit=100)
        except FAILURES as error:
            checks.append(unchecked(spec.label, error, command))
            continue
        checks.append(headroom(spec, quota_value(clients, spec), used, needed=1,
                               setting=setting, stack=stack))
    try:
        plans = _count(clients("apigateway").get_usage_plans, "items", token_key="position",
                       page_key="position", limit=500)
    except FAILURES as error:
        checks.append(unchecked(USAGE_PLANS.label, error, "aws apigateway get-usage-plans"))
    else:
        checks.append(headroom(USAGE_PLANS, quota_value(clients, USAGE_PLANS), plans,
                               needed=usage_tiers))
    return checks
