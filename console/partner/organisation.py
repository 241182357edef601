"""The organisation: find or create it, its overview, its profile, its submission."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from console.health import environment_views
from console.helpers import flash_if_routing_waits, form_error, own_partner_or_404
from console.membership import current_organisation, organisations
from console.partner.forms import ActionForm, OrganisationForm, ProfileForm
from console.partner.pages import flash_conflict
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    DeliveryMode,
    IllegalTransitionError,
    PartnerConflictError,
    PartnerNotReadyError,
    PartnerStatus,
    create_organisation,
    partner_target,
    submit_for_approval,
    update_profile,
)


def home():
    """Send the user to their current organisation (the session's), else to the first they
    belong to, else to create one."""
    mine = {partner.id: partner for partner in organisations()}
    if not mine:
        founded = services().registry.partner_for_member(current_user.id)
        if founded is not None and founded.status is not PartnerStatus.DELETED:
            # Created before teams: its page makes the founder its owner (actor_in).
            return redirect(url_for("partner.overview", partner_id=founded.id))
        return redirect(url_for("partner.create"))
    current = current_organisation()
    partner_id = current if current in mine else next(iter(mine))
    return redirect(url_for("partner.overview", partner_id=partner_id))


def create():
    """Create an organisation; its creator is its first owner (each user creates one; others
    they join by invitation)."""
    founded = services().registry.partner_for_member(current_user.id)
    if founded is not None and founded.status is not PartnerStatus.DELETED:
        return redirect(url_for("partner.home"))
    form = OrganisationForm()
    if request.method == "GET":
        form.contact_email.data = current_user.email
    if form.validate_on_submit():
        try:
            partner = create_organisation(
                services().onboarding, current_user.actor, owner=current_user.id,
                owner_email=current_user.email, display_name=form.display_name.data, contact_email=form.contact_email.data,
                slug=form.slug.data)
        except ValidationError as error:
            form_error(form, error, fields={"owner": None})
        else:
            flash("Your organisation is created. Configure an environment, then submit it "
                  "for approval.", "success")
            return redirect(url_for("partner.overview", partner_id=partner.id))
    return render_template("partner/create.html", form=form)


def overview(partner_id: str):
    """The organisation: status, environments at a glance, recent activity."""
    partner = own_partner_or_404(partner_id)
    failures = {name: services().dead_letters(partner.id, name).depth()
                for name in partner.environments}
    # Endpoint health of the push environments: the last 24 hours, charted per hour.
    health = {name: services().delivery_health.environment(partner.id, name)
              for name, env in partner.environments.items() if env.mode is DeliveryMode.PUSH}
    return render_template(
        "partner/overview.html", partner=partner, environments=services().environments,
        routing=services().registry.routing_statuses(partner.id), failures=failures,
        health={name: (h.last_24h, environment_views(h, f"health-{name}")[0])
                for name, h in health.items()},
        submit_form=ActionForm(), records=services().audit.for_target(
            partner_target(partner.id), limit=10).items)


def profile(partner_id: str):
    """Edit the organisation's name and contact email."""
    partner = own_partner_or_404(partner_id)
    form = ProfileForm(obj=partner)
    if form.validate_on_submit():
        try:
            saved = update_profile(services().onboarding, current_user.actor, partner,
                                   display_name=form.display_name.data,
                                   contact_email=form.contact_email.data)
        except ValidationError as error:
            form_error(form, error)
        except PartnerConflictError:
            flash_conflict()
        else:
            flash_if_routing_waits(saved)
            flash("Profile saved.", "success")
            return redirect(url_for("partner.overview", partner_id=partner.id))
    return render_template("partner/profile.html", partner=partner, form=form)


def submit(partner_id: str):
    """Submit a draft (or rejected) organisation for approval."""
    partner = own_partner_or_404(partner_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        saved = submit_for_approval(services().onboarding, current_user.actor, partner)
    except IllegalTransitionError:
        flash(f"Only a draft or a rejected organisation can be submitted; this one is "
              f"{partner.status.value.replace('_', ' ')}.", "error")
    except PartnerNotReadyError as error:
        for problem in error.problems:
            flash(problem, "error")
    except PartnerConflictError as error:
        flash(f"Not submitted: {error}", "error")
    else:
        flash_if_routing_waits(saved)
        flash("Submitted for approval. An admin will review your settings; you can keep "
              "editing meanwhile.", "success")
    return redirect(url_for("partner.overview", partner_id=partner.id))
