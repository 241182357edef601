"""An environment's usage: API calls (from the usage plan) and routed requests per day."""

from __future__ import annotations

from console.exceptions import UnavailableError
from console.helpers import environment_or_404, own_partner_or_404
from console.partner.pages import env_page
from console.services import services
from console.usage import api_calls_per_day


def usage(partner_id: str, environment: str):
    """API calls and routed requests per day."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    today = services().clock().date()
    calls, calls_note = {}, None
    try:
        calls = api_calls_per_day(services().apigateway, usage_plan_id=services().usage_plan_id,
                                  resource_prefix=services().resource_prefix,
                                  partner_id=partner.id, environment=env.name, today=today)
    except UnavailableError as error:
        calls_note = error.message
    deliveries = services().history.deliveries_per_day(partner.id, env.name, today=today)
    days = sorted(deliveries)
    rows = [(day, calls.get(day), deliveries.get(day, 0)) for day in reversed(days)]
    peak = max([1] + [c or 0 for _, c, _ in rows] + [d for _, _, d in rows])
    return env_page("partner/usage.html", partner, env, "usage", rows=rows, peak=peak,
                    calls_note=calls_note)
