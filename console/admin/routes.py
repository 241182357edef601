"""The admin screens: approvals with an endpoint check, decisions, audit log, health, quotas."""

from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from console.admin.forms import (
    ApprovalForm,
    ApproveForm,
    AuditFilterForm,
    EndpointCheckForm,
    ReasonForm,
)
from console.admin.delivery_health import delivery_health
from console.helpers import admin_required, flash_if_routing_waits, get_partner_or_404
from console.services import services
from partners.core.constants import Env
from partners.core.exceptions import ValidationError
from partners.core.paging import MAX_PAGE_SIZE
from partners.onboarding import (
    DeliveryMode,
    IllegalTransitionError,
    Partner,
    PartnerConflictError,
    PartnerNotFoundError,
    PartnerNotReadyError,
    PartnerStatus,
    Saved,
    approve_partner,
    check_partner_endpoint,
    partner_target,
    reinstate_partner,
    reject_partner,
    suspend_partner,
)
from partners.routing import EventBridgeState, Headroom, Quotas

bp = Blueprint("admin", __name__, url_prefix="/admin")
# Screens in modules of their own (routes.py holds the rest).
bp.add_url_rule("/endpoint-health", view_func=delivery_health, methods=["GET"])


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Every admin screen needs a logged-in member of the `admins` group."""


@bp.get("/")
def dashboard():
    """Partners awaiting approval, and the suspended ones."""
    registry = services().registry
    pending = registry.list_partners(status=PartnerStatus.PENDING_APPROVAL, limit=50).items
    suspended = registry.list_partners(status=PartnerStatus.SUSPENDED, limit=50).items
    return render_template("admin/dashboard.html", pending=pending, suspended=suspended)


@bp.get("/partners")
def partners():
    """Every partner, by status, page by page."""
    raw = request.args.get("status") or ""
    try:
        status = PartnerStatus(raw) if raw else None
    except ValueError:
        status = None
        flash(f"Unknown status {raw[:40]!r}; showing every partner.", "error")
    try:
        page = services().registry.list_partners(status=status, limit=50,
                                                 cursor=request.args.get("cursor") or None)
    except ValidationError:
        flash("That page link is no longer valid; showing the first page.", "error")
        page = services().registry.list_partners(status=status, limit=50)
    return render_template("admin/partners.html", page=page, status=status,
                           statuses=list(PartnerStatus))


def _detail(partner: Partner, *, check_form=None, checks=None, check_env=None,
            reason_form=None, approval_form=None, status: int = 200):
    form = check_form or EndpointCheckForm(formdata=None)
    form.environment.choices = _push_environments(partner)
    return render_template(
        "admin/partner.html", partner=partner,
        routing=services().registry.routing_statuses(partner.id),
        members=services().onboarding.members.for_partner(partner.id),
        records=services().audit.for_target(partner_target(partner.id), limit=25).items,
        approve_form=ApproveForm(formdata=None),
        approval_form=approval_form or ApprovalForm(formdata=None),
        reason_form=reason_form or ReasonForm(formdata=None),
        check_form=form, checks=checks, check_env=check_env), status


def _push_environments(partner: Partner) -> list[SelectChoice]:
    return [SelectChoice(e.name) for e in partner.environments.values()
            if e.mode is DeliveryMode.PUSH and e.endpoint_url]


@bp.get("/partners/<partner_id>")
def partner(partner_id: str):
    """One partner: decision, environments, endpoint check, audit trail."""
    return _detail(get_partner_or_404(partner_id))


@bp.post("/partners/<partner_id>/check")
def check(partner_id: str):
    """Run the endpoint check on one push environment and show each step."""
    partner = get_partner_or_404(partner_id)
    form = EndpointCheckForm()
    form.environment.choices = _push_environments(partner)
    if not form.validate_on_submit():
        return _detail(partner, check_form=form, status=422)
    steps = check_partner_endpoint(services().onboarding, current_user.actor, partner,
                                   form.environment.data)
    return _detail(partner, check_form=form, checks=steps, check_env=form.environment.data)


def _decide(partner: Partner, decision: Callable[..., Saved], verb: str, *args: Any,
            message: str, refusal: str | None = None) -> Any:
    """Apply one decision use case and say how it went; back to the partner either way."""
    try:
        saved = decision(services().onboarding, current_user.actor, partner, *args)
    except PartnerNotReadyError as error:
        for problem in error.problems:
            flash(f"Not approved. {problem}", "error")
    except IllegalTransitionError:
        flash(refusal or f"A {partner.status.value.replace('_', ' ')} partner cannot be "
              f"{verb}.", "error")
    except PartnerConflictError:
        flash("The partner changed a moment ago; review it again before deciding.", "error")
    else:
        flash_if_routing_waits(saved)
        flash(message, "success")
    return redirect(url_for("admin.partner", partner_id=partner.id))


@bp.post("/partners/<partner_id>/approve")
def approve(partner_id: str):
    """Approve a pending partner after re-checking its endpoints; a failed check needs an
    explicit override with a reason."""
    partner = get_partner_or_404(partner_id)
    form = ApprovalForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(partner, approval_form=form, status=422)
    override = form.override_reason.data if form.override.data else None
    return _decide(partner, approve_partner, "approved", override,
                   message=f"{partner.display_name} is approved; routing is being set up.")


def _with_reason(partner_id: str, decision: Callable[..., Saved], verb: str, message: str):
    partner = get_partner_or_404(partner_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _detail(partner, reason_form=form, status=422)
    return _decide(partner, decision, verb, form.reason.data, message=message)


@bp.post("/partners/<partner_id>/reject")
def reject(partner_id: str):
    """Reject a pending partner with a reason the partner reads."""
    return _with_reason(partner_id, reject_partner, "rejected",
                        "Rejected; the partner sees your reason and can resubmit.")


@bp.post("/partners/<partner_id>/suspend")
def suspend(partner_id: str):
    """Suspend an approved partner with a reason; its routing is removed."""
    return _with_reason(partner_id, suspend_partner, "suspended",
                        "Suspended; its routing is being removed.")


@bp.post("/partners/<partner_id>/reinstate")
def reinstate(partner_id: str):
    """Approve a suspended partner again."""
    partner = get_partner_or_404(partner_id)
    if not ApproveForm().validate_on_submit():
        abort(400)
    return _decide(partner, reinstate_partner, "reinstated",
                   message=f"{partner.display_name} is reinstated; routing is being restored.",
                   refusal="Only a suspended partner can be reinstated.")


PARTNER_TARGET = "partner:"


def _partner_names(records: list) -> dict[str, str]:
    """The display names of the partners the records target, by id (unknown ids left out)."""
    names: dict[str, str] = {}
    ids = {r.target[len(PARTNER_TARGET):] for r in records
           if isinstance(r.target, str) and r.target.startswith(PARTNER_TARGET)}
    for partner_id in sorted(ids):
        try:
            names[partner_id] = services().registry.get_partner(partner_id).display_name
        except PartnerNotFoundError:
            continue
    return names


@bp.get("/audit")
def audit_log():
    """The audit log of one day, filtered by actor and action."""
    form = AuditFilterForm(request.args)
    today = services().clock().date()
    records, cursor = [], None
    if form.validate():
        day = form.day.data or today
        try:
            page = services().audit.for_day(day, actor=form.actor.data or None,
                                            action=form.action.data or None,
                                            limit=MAX_PAGE_SIZE,
                                            cursor=request.args.get("cursor") or None)
        except ValidationError:
            flash("That page link is no longer valid; showing the first page.", "error")
            page = services().audit.for_day(day, actor=form.actor.data or None,
                                            action=form.action.data or None,
                                            limit=MAX_PAGE_SIZE)
        records, cursor = page.items, page.cursor
        if not form.day.data:
            form.day.data = day
    next_args = {k: v for k, v in request.args.items() if k != "cursor"}
    return render_template("admin/audit.html", form=form, records=records, cursor=cursor,
                           next_args=next_args, partner_names=_partner_names(records)), \
        200 if not form.errors else 422


@bp.get("/health")
def health():
    """DLQ depth and last error of every approved push environment, worst first."""
    rows = []
    for partner in services().registry.iter_partners(status=PartnerStatus.APPROVED):
        for environment in partner.environments.values():
            if environment.mode is not DeliveryMode.PUSH:
                continue
            dead_letters = services().dead_letters(partner.id, environment.name)
            depth = dead_letters.depth()
            latest = dead_letters.list(10)[:1] if depth else []
            rows.append({"partner": partner, "environment": environment.name, "depth": depth,
                         "last": latest[0] if latest else None})
    rows.sort(key=lambda r: (-(r["depth"] or 0), r["partner"].display_name))
    return render_template("admin/health.html", rows=rows)


def _quota(name: str, default: int) -> int:
    try:
        value = int(current_app.config.get(name) or default)
    except ValueError:
        return default
    return value if value > 0 else default


@bp.get("/quotas")
def quotas():
    """EventBridge quota use and headroom, as the reconciler counts it."""
    quotas = Quotas(rules_per_bus=_quota(Env.RULE_QUOTA, Quotas.rules_per_bus),
                    api_destinations=_quota(Env.DESTINATION_QUOTA, Quotas.api_destinations),
                    connections=_quota(Env.CONNECTION_QUOTA, Quotas.connections))
    state = EventBridgeState(events=services().events, sqs=services().sqs, apigateway=None,
                             bus_name=services().bus_name, prefix=services().resource_prefix)
    headroom = Headroom(quotas, state.usage())
    return render_template("admin/quotas.html", headroom=headroom.to_dict())
