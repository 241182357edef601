"""API calls per day from the usage plan, for one partner environment's usage-plan key."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from console.exceptions import UnavailableError
from partners.core.constants import partner_resource_name


def api_calls_per_day(apigateway: Any, *, usage_plan_id: str | None, resource_prefix: str,
                      partner_id: str, environment: str, today: date,
                      days: int = 14) -> dict[str, int]:
    """Calls per UTC day over the last `days` days (oldest first).

    Raises
    ------
    UnavailableError: no usage plan configured, no key yet (routing never went live), or
        API Gateway could not answer.
    """
    if not usage_plan_id:
        raise UnavailableError("API usage is not tracked in this stage (no usage plan).")
    name = partner_resource_name(resource_prefix, partner_id, environment)
    first = today - timedelta(days=days - 1)
    try:
        keys = [k for k in apigateway.get_api_keys(nameQuery=name, limit=10).get("items", [])
                if k.get("name") == name]
        if not keys:
            raise UnavailableError("No usage key yet: it is created when routing goes live.")
        usage = apigateway.get_usage(usagePlanId=usage_plan_id, keyId=keys[0]["id"],
                                     startDate=first.isoformat(), endDate=today.isoformat())
    except (ClientError, BotoCoreError) as error:
        raise UnavailableError(f"API Gateway could not report usage right now ({error}).") from None
    per_day = usage.get("items", {}).get(keys[0]["id"], [])
    return {(first + timedelta(days=i)).isoformat():
            int(per_day[i][0]) if i < len(per_day) and per_day[i] else 0
            for i in range(days)}
