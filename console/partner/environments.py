"""One partner environment: its overview, routing status, delivery settings and credential."""

from __future__ import annotations

from dataclasses import replace

from flask import abort, flash, redirect, render_template, request
from flask_login import current_user

from console.exceptions import ConsoleError
from console.helpers import (
    environment_or_404,
    flash_if_routing_waits,
    form_error,
    own_partner_or_404,
)
from console.partner.forms import ActionForm, EnvironmentForm, TestEventForm
from console.partner.pages import env_page, env_url, flash_conflict, routing_status
from console.services import services
from partners.core.exceptions import ValidationError
from partners.onboarding import (
    AuthType,
    DeliveryMode,
    EndpointAuth,
    Partner,
    PartnerConflictError,
    PartnerEnvironment,
    RetryPolicy,
    clear_endpoint_credential,
    environment_settings_errors,
    save_environment,
)
from partners.routing import recent_probes

# The domain names the secret by its auth type's field; the form has one `secret` field.
SECRET_FIELDS: dict[str, str | None] = {
    "api_key_value": "secret", "password": "secret", "client_secret": "secret", "name": None}


def default_request_type(env: PartnerEnvironment) -> str:
    """What a test event is by default: the first type the filter takes, else a ping."""
    if env.filter.matches_all_types:
        return "test.ping"
    return env.filter.request_types[0]


def environment_page(partner: Partner, env: PartnerEnvironment, probe_form: TestEventForm,
                     status: int = 200):
    """The environment's overview tab, with `probe_form` as its test event form."""
    try:
        failures = services().dead_letters(partner.id, env.name).depth()
    except ConsoleError:
        failures = None
    now = services().clock()
    tokens = services().tokens.list_tokens(partner.id, env.name)
    return env_page("partner/environment.html", partner, env, "overview", status=status,
                    routing=routing_status(partner, env.name), failures=failures,
                    active_tokens=[t for t in tokens if t.state(now) in ("active", "expiring")],
                    deliveries=services().history.latest_deliveries(partner.id, env.name,
                                                                     limit=10),
                    probe_form=probe_form,
                    probes=recent_probes(services().audit, partner.id, env.name))


def environment(partner_id: str, environment: str):
    """One environment: is it live, how it delivers, test events, latest requests."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return environment_page(partner, env,
                            TestEventForm(formdata=None, request_type=default_request_type(env)))


def routing_fragment(partner_id: str, environment: str):
    """The routing status alone: the page's script polls this until the outcome lands."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return render_template("partner/_routing.html", partner=partner, env=env,
                           routing=routing_status(partner, env.name))


def _fill_environment_form(form: EnvironmentForm, env: PartnerEnvironment) -> None:
    form.mode.data = env.mode.value
    form.endpoint_url.data = env.endpoint_url or ""
    auth = env.auth or EndpointAuth(AuthType.API_KEY, header_name="x-api-key")
    form.auth_type.data = auth.type.value
    form.header_name.data = auth.header_name or ""
    form.username.data = auth.username or ""
    form.token_url.data = auth.token_url or ""
    form.client_id.data = auth.client_id or ""
    form.scope.data = auth.scope or ""
    form.rate_limit_per_second.data = env.rate_limit_per_second
    form.maximum_event_age_seconds.data = env.retry_policy.maximum_event_age_seconds
    form.maximum_retry_attempts.data = env.retry_policy.maximum_retry_attempts


def _valid(field, fallback):
    """The field's value, or `fallback` (the stored one) while the field has an error."""
    return fallback if field.errors or field.data is None else field.data


def _environment_from_form(form: EnvironmentForm, env: PartnerEnvironment) -> PartnerEnvironment:
    """The settings the form holds; a field with an error keeps its stored value, so the
    domain's checks of the other fields can still run."""
    stored_type = env.auth.type.value if env.auth else AuthType.API_KEY.value
    auth_type = AuthType(_valid(form.auth_type, stored_type))
    # The stored credential stays with its auth type; a new type starts without one.
    kept = env.auth if env.auth and env.auth.type is auth_type else None
    oauth = auth_type is AuthType.OAUTH_CLIENT_CREDENTIALS
    auth = EndpointAuth(
        type=auth_type,
        header_name=form.header_name.data or None if auth_type is AuthType.API_KEY else None,
        username=form.username.data or None if auth_type is AuthType.BASIC else None,
        token_url=form.token_url.data or None if oauth else None,
        client_id=form.client_id.data or None if oauth else None,
        scope=form.scope.data or None if oauth else None,
        secret_arn=kept.secret_arn if kept else None,
        secret_set_on=kept.secret_set_on if kept else None,
    )
    retry = env.retry_policy
    return replace(
        env, mode=DeliveryMode(_valid(form.mode, env.mode.value)),
        endpoint_url=form.endpoint_url.data or None, auth=auth,
        rate_limit_per_second=_valid(form.rate_limit_per_second, env.rate_limit_per_second),
        retry_policy=RetryPolicy(
            _valid(form.maximum_event_age_seconds, retry.maximum_event_age_seconds),
            _valid(form.maximum_retry_attempts, retry.maximum_retry_attempts)))


def _show_errors(form: EnvironmentForm, errors: list[ValidationError]) -> None:
    """Each refused setting on its field, unless the form already flagged that field."""
    for error in errors:
        name = SECRET_FIELDS.get(error.field or "", error.field)
        field = getattr(form, name, None) if name else None
        if field is None or not field.errors:
            form_error(form, error, fields=SECRET_FIELDS)


def settings(partner_id: str, environment: str):
    """Delivery mode, endpoint, write-only credential, rate limit and retries."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = EnvironmentForm()
    if request.method == "GET":
        _fill_environment_form(form, env)
    status = 200
    if form.validate_on_submit():
        try:
            saved = save_environment(services().onboarding, current_user.actor, partner,
                                     _environment_from_form(form, env),
                                     secret=form.secret.data or None)
        except ValidationError as error:
            _show_errors(form, getattr(error, "errors", [error]))
            status = 422
        except PartnerConflictError:
            flash_conflict()
        else:
            flash_if_routing_waits(saved)
            flash(f"{env.name} settings saved. Routing is updating.", "success")
            return redirect(env_url("environment", partner, env.name, saved="1"))
    elif request.method == "POST":
        if not form.csrf_token.errors:
            # The form refused some fields: show the domain's word on the others too.
            _, errors = environment_settings_errors(
                services().onboarding, partner, _environment_from_form(form, env),
                secret=form.secret.data or None)
            _show_errors(form, errors)
        status = 422
    return env_page("partner/settings.html", partner, env, "settings", status=status,
                    form=form, clear_form=ActionForm())


def clear_credential(partner_id: str, environment: str):
    """Delete the environment's credential (poll mode only)."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        saved = clear_endpoint_credential(services().onboarding, current_user.actor, partner,
                                          env.name)
    except ValidationError as error:
        flash(error.message, "error")
    except PartnerConflictError:
        flash_conflict()
    else:
        if saved is None:
            flash("There is no credential to clear.", "info")
        else:
            flash_if_routing_waits(saved)
            flash("Credential cleared (recoverable for 7 days by setting it again).", "success")
    return redirect(env_url("settings", partner, env.name))
