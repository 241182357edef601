"""An environment's delivery log: filters, attempts, payloads, resend; endpoint health; the
re-enable of an endpoint the reconciler paused.

The views read through `services()` and change things only through the domain's use cases
(`resend_deliveries`, `reenable_endpoint`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from console.health import environment_views
from console.helpers import environment_or_404, form_error, own_partner_or_404
from console.partner.delivery_forms import (
    DELIVERY_ID,
    DeliveryFilterForm,
    ReenableForm,
    ResendForm,
)
from console.partner.pages import env_page, env_url, routing_status
from console.services import services
from partners.deliveries import DeliveryNotFoundError, InvalidDeliveryQueryError
from partners.onboarding import (
    EnvironmentNotFoundError,
    Partner,
    PartnerEnvironment,
    mask_secrets,
)
from partners.routing import (
    EndpointNotDisabledError,
    reenable_endpoint,
    resend_deliveries,
)

PAGE_SIZE = 25
# The list's filters, as query parameters (`DeliveryFilterForm.query_args`).
FILTER_PARAMETERS = ("outcome", "request_type", "request_id", "since", "until")
STALE_CURSOR = "That page link is no longer valid for these filters; showing the first page."


def _payload(delivery) -> object:
    """The CloudEvent as sent, with any secret-named member masked (none should be there)."""
    return mask_secrets(delivery.payload) if delivery.payload is not None else None


def deliveries_page(partner: Partner, env: PartnerEnvironment, form: DeliveryFilterForm,
                    resend_form: ResendForm, status: int = 200):
    """The Deliveries tab: health charts, the filters, one page of the log."""
    page = None
    if form.validate():
        cursor = request.args.get("cursor") or None
        try:
            page = services().deliveries.list(
                partner.id, env.name, outcome=form.outcome.data or None,
                request_type=form.request_type.data or None,
                request_id=form.request_id.data or None, since=form.utc("since"),
                until=form.utc("until"), limit=PAGE_SIZE, cursor=cursor)
        except InvalidDeliveryQueryError as error:
            if error.field == "cursor":
                form.form_errors.append(STALE_CURSOR)
            else:
                form_error(form, error)
    if form.errors and status == 200:
        status = 422
    health = services().delivery_health.environment(partner.id, env.name)
    return env_page("partner/deliveries.html", partner, env, "deliveries", status=status,
                    form=form, page=page, resend_form=resend_form,
                    reenable_form=ReenableForm(formdata=None),
                    views=environment_views(health), last_24h=health.last_24h,
                    routing=routing_status(partner, env.name), payload=_payload,
                    next_args=form.query_args())


def deliveries(partner_id: str, environment: str):
    """The environment's delivery log, newest first, with its filters and paging."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return deliveries_page(partner, env, DeliveryFilterForm(request.args),
                           ResendForm(formdata=None))


def delivery(partner_id: str, environment: str, delivery_id: str):
    """One delivery: its attempts and its payload."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    if not DELIVERY_ID.match(delivery_id):
        abort(404)
    try:
        found = services().deliveries.get(partner.id, env.name, delivery_id)
    except DeliveryNotFoundError:
        abort(404)
    return env_page("partner/delivery.html", partner, env, "deliveries", delivery=found,
                    payload=_payload(found), resend_form=ResendForm(formdata=None))


def resend(partner_id: str, environment: str):
    """Send the chosen deliveries (or the one whose button was pressed) again."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = ResendForm()
    if not form.validate_on_submit():
        abort(400)
    # Back to the same filters: only the filter parameters travel, never `url_for`'s own
    # keywords (`_external`, `_scheme`, `_anchor`) a crafted query could carry.
    filters = {name: request.args[name] for name in FILTER_PARAMETERS if request.args.get(name)}
    back = url_for("partner.deliveries", partner_id=partner.id, environment=env.name)
    back += f"?{urlencode(filters)}" if filters else ""
    only = request.form.get("only")
    chosen = [only] if only else request.form.getlist("delivery_id")
    chosen = [c for c in chosen if DELIVERY_ID.match(c)]
    if not chosen:
        flash("Select the deliveries to resend.", "error")
        return redirect(back)
    # A role that may not resend never gets here (the blueprint's ROLE_NEEDED check, the
    # same rule the use case applies).
    result = resend_deliveries(services().resender, services().audit, current_user.actor,
                               partner.id, env.name, chosen)
    if result.queued:
        count = len(result.queued)
        flash(f"Queued {count} deliver{'y' if count == 1 else 'ies'} to resend, to this "
              "environment only, with the same CloudEvent id.", "success")
    for delivery_id, reason in sorted(result.failed.items()):
        flash(f"{delivery_id}: {reason}", "error")
    if result.retry_after is not None:
        form.form_errors.append(
            f"Too many resends for this environment: {len(result.queued)} of {len(chosen)} "
            f"queued. Try the rest again in {result.retry_after} seconds.")
        return deliveries_page(partner, env, DeliveryFilterForm(request.args), form,
                               status=429)
    return redirect(back)


def reenable(partner_id: str, environment: str):
    """Check a paused endpoint and, when it passes, let the reconciler enable its rule."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    if not ReenableForm().validate_on_submit():
        abort(400)
    back = env_url("deliveries", partner, env.name)
    try:
        result = reenable_endpoint(services().onboarding, services().endpoint_health,
                                   current_user.actor, partner, env.name)
    except (EndpointNotDisabledError, EnvironmentNotFoundError):
        flash("Deliveries to this environment are not paused.", "info")
        return redirect(back)
    if not result.passed:
        failed = next((s for s in result.steps if not s.ok), None)
        flash("Not re-enabled: the endpoint check failed"
              + (f" at {failed.name}: {failed.detail}" if failed else "") +
              ". Fix the endpoint and try again.", "error")
        return redirect(back)
    flash("The endpoint passed its check. Deliveries resume as soon as routing is live "
          "again; resend what failed meanwhile.", "success")
    if not result.routing_triggered:
        flash("Routing will update at the reconciler's next scheduled run (the immediate "
              "trigger could not be sent).", "warning")
    return redirect(back)
