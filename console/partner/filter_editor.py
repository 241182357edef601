"""The request filter editor: rows of conditions, a preview against recent requests, save."""

from __future__ import annotations

from flask import current_app, flash, redirect, request
from flask_login import current_user

from console.helpers import environment_or_404, flash_if_routing_waits, own_partner_or_404
from console.partner.filter_rows import filter_to_rows, locate, rows_to_filter
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


def _show_error(form: FilterForm, field_path: str | None, message: str,
                origin: list[int]) -> None:
    """Put a filter error next to what it names: a row's field, the types, else the form."""
    row, field = locate(field_path, origin)
    if row is not None:
        target = form.conditions[row][field]
        target.errors = [*target.errors, message]
    elif field == "request_types":
        if not form.request_types.errors:  # "required" already says it
            form.request_types.errors = [message]
    else:
        form.form_errors.append(message)


def _read_filter(form: FilterForm) -> tuple[RequestFilter | None, list[int]]:
    """The filter the editor holds (None after showing every error in it at once), and the
    form row of each of its conditions."""
    rows = [{"attribute": row.attribute.data, "operator": row.operator.data,
             "values": row.values.data} for row in form.conditions]
    data, origin, row_errors = rows_to_filter(form.request_types.data, rows)
    for row_error in row_errors:
        target = form.conditions[row_error.row][row_error.field]
        target.errors = [*target.errors, row_error.message]
    try:
        parsed = parse_filter(data)
    except InvalidFilterError as error:
        for problem in error.errors:
            _show_error(form, problem.field, problem.message, origin)
        return None, origin
    return None if row_errors else parsed, origin


def request_filter(partner_id: str, environment: str):
    """Edit the request filter; preview its pattern and matches before saving."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = _filter_form(env)
    preview = None
    status = 200
    if form.is_submitted():
        valid = form.validate()
        form.form_errors.extend(m for m in form.conditions.errors if isinstance(m, str))
        parsed: RequestFilter | None = None
        origin: list[int] = []
        if not form.csrf_token.errors and form.conditions.posted <= form.conditions.max_entries:
            # Read the rows even when a field failed: every error shows at once.
            parsed, origin = _read_filter(form)
        if parsed is not None:
            try:
                preview = preview_filter(
                    services().events, parsed, env.name, partner.id,
                    services().history.recent_requests(env.name,
                                                       current_app.config["PREVIEW_REQUESTS"]))
            except InvalidFilterError as error:  # what EventBridge would refuse
                for problem in error.errors:
                    _show_error(form, problem.field, problem.message, origin)
                parsed = None
        status = 200 if valid and parsed is not None else 422
        if status == 200 and parsed is not None and request.form.get("action") == "save":
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
    return env_page("partner/filter.html", partner, env, "filter", status=status, form=form,
                    preview=preview, all_types=ALL_REQUEST_TYPES)
