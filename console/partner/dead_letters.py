"""An environment's failed deliveries (its DLQ) and their redrive, to this partner only."""

from __future__ import annotations

import re

from flask import abort, current_app, flash, redirect, request
from flask_login import current_user

from console.helpers import environment_or_404, own_partner_or_404
from console.partner.forms import RedriveForm
from console.partner.pages import env_page, env_url
from console.services import services
from partners.routing import redrive_deliveries

MESSAGE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")


def failures(partner_id: str, environment: str):
    """The environment's dead-lettered deliveries, with their errors."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    dead_letters = services().dead_letters(partner.id, env.name)
    return env_page("partner/failures.html", partner, env, "failures",
                    failures=dead_letters.list(current_app.config["DLQ_PAGE_SIZE"]),
                    has_queue=dead_letters.queue_url is not None, form=RedriveForm())


def redrive(partner_id: str, environment: str):
    """Send the chosen (or all) failed deliveries again, to this partner only."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = RedriveForm()
    if not form.validate_on_submit():
        abort(400)
    chosen = [m for m in request.form.getlist("message_id") if MESSAGE_ID.match(m)]
    if not form.everything.data and not chosen:
        flash("Select the failed deliveries to redrive, or redrive all.", "error")
        return redirect(env_url("failures", partner, env.name))
    result = redrive_deliveries(services().dead_letters(partner.id, env.name),
                                services().audit, current_user.actor,
                                None if form.everything.data else chosen)
    if result.redriven:
        flash(f"Redrove {len(result.redriven)} deliver"
              f"{'y' if len(result.redriven) == 1 else 'ies'}: sent again to this environment "
              "only.", "success")
    for message_id, reason in sorted(result.failed.items()):
        flash(f"{message_id}: {reason}", "error")
    if not result.redriven and not result.failed:
        flash("Nothing to redrive.", "info")
    return redirect(env_url("failures", partner, env.name))
