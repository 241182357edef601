"""Test events: send one addressed to this environment only, then follow what became of it.

(Named `probes`, the domain's word, rather than `test_events`: pytest would collect the
`test_event*` views of a `test_*.py` module as tests.)
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template
from flask_login import current_user

from console.helpers import environment_or_404, own_partner_or_404
from console.partner.environments import environment_page
from console.partner.forms import TestEventForm
from console.partner.pages import env_page, env_url, routing_status
from console.services import services
from partners.core.constants import Env
from partners.core.exceptions import ContractViolationError
from partners.core.strict_json import UnsafeJsonError, parse_json
from partners.onboarding import Partner, PartnerEnvironment
from partners.requests import RequestLog
from partners.routing import (
    EventRefusedError,
    ProbeOutcome,
    event_pattern_matcher,
    find_probe,
    is_probe_of,
    probe_outcome,
    put_test_event,
)


def _unsafe(error: UnsafeJsonError) -> str:
    return f"Attributes at {error.pointer or '/'}: {error.message}."


def send_test_event(partner_id: str, environment: str):
    """Put a test `Request Created` addressed to this partner on the bus."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = TestEventForm()
    if form.validate_on_submit():
        try:
            attributes = parse_json(form.attributes.data or "{}")
            if not isinstance(attributes, dict):
                raise ValueError
        except UnsafeJsonError as error:  # NaN, Infinity, 1e400, too deep: named, refused
            form.attributes.errors = [_unsafe(error)]
        except ValueError:  # not JSON (MalformedJsonError), or not an object
            form.attributes.errors = ["Attributes must be a JSON object, like "
                                      '{"region": "eu-west"}.']
        else:
            try:
                sent = put_test_event(services().events, services().audit, current_user.actor,
                                      bus_name=services().bus_name, partner_id=partner.id,
                                      environment=env.name,
                                      request_type=form.request_type.data,
                                      attributes=attributes, clock=services().clock)
            except UnsafeJsonError as error:
                form.attributes.errors = [_unsafe(error)]
            except ContractViolationError as error:
                form.attributes.errors = [error.message]
            except EventRefusedError as error:
                form.form_errors.append(error.message)
            else:
                flash(f"Test event sent (event id {sent.event_id}).", "success")
                return redirect(env_url("test_event", partner, env.name,
                                        request_id=sent.detail["request_id"]))
    return environment_page(partner, env, form, status=422)


def _probe_outcome(partner: Partner, env: PartnerEnvironment, request_id: str) -> ProbeOutcome:
    if not is_probe_of(request_id, partner.id) or len(request_id) > 64:
        abort(404)
    table = current_app.config.get(Env.REQUEST_EVENTS_TABLE)
    log_events = RequestLog(table, boto3_session=services().session).events(request_id) \
        if table else []
    failures = services().dead_letters(partner.id, env.name).list(
        current_app.config["DLQ_PAGE_SIZE"])
    return probe_outcome(request_id, partner.id, env, log_events, failures, partner=partner,
                         routing=routing_status(partner, env.name),
                         sent=find_probe(services().audit, partner.id, request_id),
                         matches=event_pattern_matcher(services().events))


def test_event(partner_id: str, environment: str, request_id: str):
    """What became of a test event (the page polls its status)."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    outcome = _probe_outcome(partner, env, request_id)
    return env_page("partner/test_event.html", partner, env, "overview", outcome=outcome)


def test_event_status(partner_id: str, environment: str, request_id: str):
    """The test event's outcome alone, for the page's poller."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return render_template("partner/_test_event.html", partner=partner, env=env,
                           outcome=_probe_outcome(partner, env, request_id))
