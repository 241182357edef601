"""The admin's delivery health: every partner environment's endpoint figures, worst first.

The same figures as the partner's own pages (`partners.deliveries.DeliveryHealth`): success
rate, p50/p95 latency and dead letters over the last 24 hours for every environment with
attempts, worst success rate first, and the hourly charts of the worst few.
"""

from __future__ import annotations

from flask import render_template

from console.health import environment_views
from console.services import services
from partners.onboarding import PartnerNotFoundError

CHARTED = 5  # environments whose hourly charts the page draws (the worst ones)


def delivery_health():
    """Endpoint health across partners, worst first."""
    summaries = services().delivery_health.summary()
    names: dict[str, str] = {}
    for summary in summaries:
        if summary.partner_id not in names:
            try:
                names[summary.partner_id] = services().registry.get_partner(
                    summary.partner_id).display_name
            except PartnerNotFoundError:
                names[summary.partner_id] = summary.partner_id
    charted = []
    for summary in summaries[:CHARTED]:
        health = services().delivery_health.environment(summary.partner_id, summary.environment)
        charted.append((summary, environment_views(
            health, f"health-{summary.partner_id}-{summary.environment}")[0]))
    statuses = {}
    for partner_id in names:
        for environment, status in services().registry.routing_statuses(partner_id).items():
            statuses[(partner_id, environment)] = status
    return render_template("admin/delivery_health.html", summaries=summaries, names=names,
                           charted=charted, statuses=statuses)
