"""The request filter editor: rows of conditions, a preview against recent requests, save."""

from __future__ import annotations

from flask import current_app, flash, redirect, request
from flask_login import current_user

from console.helpers import environment_or_404, flash_if_routing_waits, own_partner_or_404
from console.partner.filter_rows import RowError, filter_to_rows, locate, rows_to_filter
from console.partner.forms import FilterForm
from console.partner.pages import env_page, env_url, flash_conflict
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    ALL_REQUEST_TYPES,
    InvalidFilterError,
    PartnerConflictError,
    PartnerEnvironment,
    RequestFilter,
    parse_filter,
    save_filter,
)
from partners.routing import preview_filter

BLANK_FILTER_ROWS = 2


def _filter_form(env: PartnerEnvironment) -> FilterForm:
    """The editor: the stored filter's rows (on GET), then empty rows to add conditions."""
    form = FilterForm()
    if request.method == "GET":
        types, rows = filter_to_rows(env.filter)
        form.request_types.data = types
        for row in rows:
            form.conditions.append_entry(row)
    blank = sum(1 for row in form.conditions if not row.attribute.data and not row.operator.data)
    for _ in range(BLANK_FILTER_ROWS - blank):
        if len(form.conditions) < form.conditions.max_entries:
            form.conditions.append_entry()
    return form


def request_filter(partner_id: str, environment: str):
    """Edit the request filter; preview its pattern and matches before saving."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = _filter_form(env)
    preview = None
    status = 200
    if form.validate_on_submit():
        rows = [{"attribute": row.attribute.data, "operator": row.operator.data,
                 "values": row.values.data} for row in form.conditions]
        parsed: RequestFilter | None = None
        origin: list[int] = []
        try:
            data, origin = rows_to_filter(form.request_types.data, rows)
            parsed = parse_filter(data)
            preview = preview_filter(
                services().events, parsed, env.name, partner.id,
                services().history.recent_requests(env.name,
                                                   current_app.config["PREVIEW_REQUESTS"]))
        except RowError as error:
            form.conditions[error.row][error.field].errors = [error.message]
            status = 422
        except InvalidFilterError as error:
            row, field = locate(error.field, origin)
            if row is not None:
                form.conditions[row][field].errors = [error.message]
            elif field == "request_types":
                form.request_types.errors = [error.message]
            else:
                form.form_errors.append(error.message)
            status = 422
        if parsed is not None and status == 200 and request.form.get("action") == "save":
            try:
                saved = save_filter(services().onboarding, current_user.actor, partner, env.name,
                                    parsed)
            except ValidationError as error:
                form.form_errors.append(error.message)
                status = 422
            except PartnerConflictError:
                flash_conflict()
            else:
                flash_if_routing_waits(saved)
                flash("Filter saved. Routing is updating.", "success")
                return redirect(env_url("environment", partner, env.name, saved="1"))
    elif request.method == "POST":
        status = 422
    return env_page("partner/filter.html", partner, env, "filter", status=status, form=form,
                    preview=preview, all_types=ALL_REQUEST_TYPES)
