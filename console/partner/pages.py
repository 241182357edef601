"""What the partner screens share: an environment's tabbed page, its URLs, the save messages."""

from __future__ import annotations

from typing import Any

from flask import flash, render_template, url_for

from console.services import services
from partners.onboarding import Partner, PartnerEnvironment, RoutingStatus


def env_url(endpoint: str, partner: Partner, environment: str, **kwargs: Any) -> str:
    """The URL of one of an environment's screens (`endpoint` without the blueprint)."""
    return url_for(f"partner.{endpoint}", partner_id=partner.id, environment=environment,
                   **kwargs)


def env_page(template: str, partner: Partner, environment: PartnerEnvironment, tab: str,
             status: int = 200, **context: Any):
    """Render one tab of an environment's page, with the stage's environments to switch to."""
    return render_template(template, partner=partner, env=environment, tab=tab,
                           environments=services().environments, **context), status


def routing_status(partner: Partner, environment: str) -> RoutingStatus | None:
    """The reconciler's last outcome for one environment, None before its first run."""
    return services().registry.routing_statuses(partner.id).get(environment)


def flash_conflict() -> None:
    """A save lost to someone else's: nothing was written, the page shows what is stored."""
    flash("Someone else saved this organisation a moment ago. Your change was not saved; "
          "check the current settings and try again.", "error")
