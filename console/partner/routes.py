"""The partner screens: organisation, environments, filter, tokens, tests, failures, usage.

Every route under `/partners/<partner_id>` loads the organisation through
`own_partner_or_404`: another organisation's id answers 404, exactly like a missing one.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from console.exceptions import ConsoleError, UnavailableError
from console.helpers import (
    audit,
    environment_or_404,
    environment_problems,
    form_error,
    own_partner_or_404,
    partner_required,
    reconcile,
)
from console.partner.filter_rows import RowError, filter_to_rows, locate, rows_to_filter
from console.partner.forms import (
    ActionForm,
    EnvironmentForm,
    FilterForm,
    OrganisationForm,
    ProfileForm,
    RedriveForm,
    RotateForm,
    TestEventForm,
    TokenForm,
)
from console.services import services
from console.usage import api_calls_per_day
from partners.core.clock import isoformat
from partners.core.constants import Env
from partners.core.exceptions import ContractViolationError, ValidationError
from partners.onboarding import (
    ALL_REQUEST_TYPES,
    EDITABLE_STATUSES,
    AuthType,
    DeliveryMode,
    EndpointAuth,
    IllegalTransitionError,
    InvalidFilterError,
    Partner,
    PartnerConflictError,
    PartnerEnvironment,
    PartnerStatus,
    RequestFilter,
    RetryPolicy,
    RoutingStatus,
    TokenError,
    TokenNotFoundError,
    parse_filter,
    validate_display_name,
    validate_email,
    validate_environment,
)
from partners.requests import RequestHistory, RequestLog
from partners.routing import (
    DeadLetters,
    EventRefusedError,
    is_probe_of,
    preview_filter,
    probe_detail,
    probe_outcome,
    send_probe,
)

bp = Blueprint("partner", __name__, url_prefix="/partners")

MESSAGE_ID = re.compile(r"^[A-Za-z0-9-]{1,100}$")
BLANK_FILTER_ROWS = 2


@bp.before_request
@partner_required
def _partners_only() -> None:
    """Every partner screen needs a logged-in member of the `partners` group."""


# --- shared pieces ----------------------------------------------------------------------------


def _history() -> RequestHistory:
    config = current_app.config
    return RequestHistory(services().client("dynamodb"),
                          requests_table=config.get(Env.REQUESTS_TABLE),
                          inbox_table=config.get(Env.INBOX_TABLE))


def _dead_letters(partner: Partner, environment: str) -> DeadLetters:
    return DeadLetters(services().sqs, services().events, bus_name=services().bus_name,
                       resource_prefix=services().resource_prefix, partner_id=partner.id,
                       environment=environment)


def _routing(partner: Partner, environment: str) -> RoutingStatus | None:
    return services().registry.routing_statuses(partner.id).get(environment)


def _save(partner: Partner, updated: Partner, action: str, *, before=None, after=None,
          reason: str | None = None) -> Partner | None:
    """Save, audit and trigger the reconciler; None (with a message) when someone saved first."""
    try:
        saved = services().registry.save_partner(updated)
    except PartnerConflictError:
        flash("Someone else saved this organisation a moment ago. Your change was not saved; "
              "check the current settings and try again.", "error")
        return None
    audit(action, partner, before=before, after=after, reason=reason)
    reconcile(saved)
    return saved


def _env_url(endpoint: str, partner: Partner, environment: str, **kwargs):
    return url_for(f"partner.{endpoint}", partner_id=partner.id, environment=environment,
                   **kwargs)


def _env_page(template: str, partner: Partner, environment: PartnerEnvironment, tab: str,
              status: int = 200, **context):
    return render_template(template, partner=partner, env=environment, tab=tab,
                           environments=services().environments, **context), status


# --- organisation -----------------------------------------------------------------------------


@bp.get("/")
def home():
    """Send the user to their organisation, or to create one."""
    partner = services().registry.partner_for_member(current_user.id)
    if partner is None or partner.status is PartnerStatus.DELETED:
        return redirect(url_for("partner.create"))
    return redirect(url_for("partner.overview", partner_id=partner.id))


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Create the user's organisation (one per user)."""
    if services().registry.partner_for_member(current_user.id) is not None:
        return redirect(url_for("partner.home"))
    form = OrganisationForm()
    if request.method == "GET":
        form.contact_email.data = current_user.email
    if form.validate_on_submit():
        try:
            partner = services().registry.create_partner(
                display_name=form.display_name.data, contact_email=form.contact_email.data,
                slug=form.slug.data, owner=current_user.id)
        except ValidationError as error:
            form_error(form, error, fields={"owner": None})
        else:
            audit("partner.created", partner, after=partner.to_dict())
            flash("Your organisation is created. Configure an environment, then submit it "
                  "for approval.", "success")
            return redirect(url_for("partner.overview", partner_id=partner.id))
    return render_template("partner/create.html", form=form)


@bp.get("/<partner_id>")
def overview(partner_id: str):
    """The organisation: status, environments at a glance, recent activity."""
    partner = own_partner_or_404(partner_id)
    failures = {name: _dead_letters(partner, name).depth() for name in partner.environments}
    return render_template(
        "partner/overview.html", partner=partner, environments=services().environments,
        routing=services().registry.routing_statuses(partner.id), failures=failures,
        submit_form=ActionForm(), records=services().audit.for_target(
            f"partner:{partner.id}", limit=10).items)


@bp.route("/<partner_id>/profile", methods=["GET", "POST"])
def profile(partner_id: str):
    """Edit the organisation's name and contact email."""
    partner = own_partner_or_404(partner_id)
    form = ProfileForm(obj=partner)
    if form.validate_on_submit():
        try:
            updated = replace(partner, display_name=validate_display_name(form.display_name.data),
                              contact_email=validate_email(form.contact_email.data))
        except ValidationError as error:
            form_error(form, error)
        else:
            before = {"display_name": partner.display_name, "contact_email": partner.contact_email}
            after = {"display_name": updated.display_name, "contact_email": updated.contact_email}
            if _save(partner, updated, "partner.profile_updated", before=before, after=after):
                flash("Profile saved.", "success")
                return redirect(url_for("partner.overview", partner_id=partner.id))
    return render_template("partner/profile.html", partner=partner, form=form)


def _submission_problems(partner: Partner) -> list[str]:
    if not partner.environments:
        return ["Configure at least one environment before you submit."]
    return environment_problems(partner)


@bp.post("/<partner_id>/submit")
def submit(partner_id: str):
    """Submit a draft (or rejected) organisation for approval."""
    partner = own_partner_or_404(partner_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    if partner.status not in (PartnerStatus.DRAFT, PartnerStatus.REJECTED):
        flash(f"Only a draft or a rejected organisation can be submitted; this one is "
              f"{partner.status.value.replace('_', ' ')}.", "error")
        return redirect(url_for("partner.overview", partner_id=partner.id))
    problems = _submission_problems(partner)
    if problems:
        for problem in problems:
            flash(problem, "error")
        return redirect(url_for("partner.overview", partner_id=partner.id))
    try:
        current = partner
        if current.status is PartnerStatus.REJECTED:
            current = services().registry.transition(current, PartnerStatus.DRAFT)
        current = services().registry.transition(current, PartnerStatus.PENDING_APPROVAL)
    except (PartnerConflictError, IllegalTransitionError) as error:
        flash(f"Not submitted: {error}", "error")
        return redirect(url_for("partner.overview", partner_id=partner.id))
    audit("partner.submitted", partner, before={"status": partner.status.value},
          after={"status": current.status.value})
    reconcile(current)
    flash("Submitted for approval. An admin will review your settings; you can keep "
          "editing meanwhile.", "success")
    return redirect(url_for("partner.overview", partner_id=partner.id))


# --- environments -----------------------------------------------------------------------------


def _environment_page(partner: Partner, env: PartnerEnvironment, probe_form: TestEventForm,
                      status: int = 200):
    try:
        failures = _dead_letters(partner, env.name).depth()
    except ConsoleError:
        failures = None
    now = services().clock()
    tokens = services().tokens.list_tokens(partner.id, env.name)
    return _env_page("partner/environment.html", partner, env, "overview", status=status,
                     routing=_routing(partner, env.name), failures=failures,
                     active_tokens=[t for t in tokens if t.state(now) in ("active", "expiring")],
                     deliveries=_history().latest_deliveries(partner.id, env.name, limit=10),
                     probe_form=probe_form, probes=_recent_probes(partner, env.name))


@bp.get("/<partner_id>/environments/<environment>")
def environment(partner_id: str, environment: str):
    """One environment: is it live, how it delivers, test events, latest requests."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return _environment_page(partner, env,
                             TestEventForm(formdata=None, request_type=_default_request_type(env)))


@bp.get("/<partner_id>/environments/<environment>/routing")
def routing_fragment(partner_id: str, environment: str):
    """The routing status alone: the page's script polls this until the outcome lands."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return render_template("partner/_routing.html", partner=partner, env=env,
                           routing=_routing(partner, env.name))


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


def _environment_from_form(form: EnvironmentForm, env: PartnerEnvironment) -> PartnerEnvironment:
    auth_type = AuthType(form.auth_type.data)
    kept = env.auth if env.auth and env.auth.type is auth_type else None
    auth = EndpointAuth(
        type=auth_type,
        header_name=form.header_name.data or None if auth_type is AuthType.API_KEY else None,
        username=form.username.data or None if auth_type is AuthType.BASIC else None,
        token_url=form.token_url.data or None
        if auth_type is AuthType.OAUTH_CLIENT_CREDENTIALS else None,
        client_id=form.client_id.data or None
        if auth_type is AuthType.OAUTH_CLIENT_CREDENTIALS else None,
        scope=form.scope.data or None if auth_type is AuthType.OAUTH_CLIENT_CREDENTIALS else None,
        secret_arn=kept.secret_arn if kept else None,
        secret_set_on=kept.secret_set_on if kept else None,
    )
    return replace(
        env, mode=DeliveryMode(form.mode.data), endpoint_url=form.endpoint_url.data or None,
        auth=auth, rate_limit_per_second=form.rate_limit_per_second.data,
        retry_policy=RetryPolicy(form.maximum_event_age_seconds.data,
                                 form.maximum_retry_attempts.data))


@bp.route("/<partner_id>/environments/<environment>/settings", methods=["GET", "POST"])
def settings(partner_id: str, environment: str):
    """Delivery mode, endpoint, write-only credential, rate limit and retries."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = EnvironmentForm()
    if request.method == "GET":
        _fill_environment_form(form, env)
    status = 200
    if form.validate_on_submit():
        candidate = _environment_from_form(form, env)
        secret = form.secret.data or None
        try:
            if partner.status not in EDITABLE_STATUSES:
                raise ValidationError("this organisation can no longer be edited")
            candidate = validate_environment(candidate, allowed_names=services().environments,
                                             allow_insecure=services().allow_insecure,
                                             resolver=services().resolver)
            auth = candidate.auth
            if auth is None:  # the form always names a type; this keeps the types honest
                raise ValidationError("choose how we authenticate to your endpoint",
                                      field="auth_type")
            if candidate.mode is DeliveryMode.PUSH and secret is None and not auth.secret_arn:
                raise ValidationError(
                    "set the credential: push delivery authenticates every call with it"
                    if not env.auth or env.auth.type is auth.type else
                    "a new authentication type needs a new credential", field="secret")
            if secret is not None:
                stored = services().credentials.put(
                    partner.id, env.name, auth.type, secret,
                    set_on=isoformat(services().clock()))
                candidate = replace(candidate, auth=replace(
                    auth, secret_arn=stored.arn, secret_set_on=stored.set_on))
        except ValidationError as error:
            form_error(form, error, fields={
                "api_key_value": "secret", "password": "secret", "client_secret": "secret",
                "name": None})
            status = 422
        else:
            saved = _save(partner, partner.with_environment(candidate), "environment.updated",
                          before=env.to_dict(), after=candidate.to_dict())
            if saved:
                flash(f"{env.name} settings saved. Routing is updating.", "success")
                return redirect(_env_url("environment", partner, env.name, saved="1"))
    elif request.method == "POST":
        status = 422
    return _env_page("partner/settings.html", partner, env, "settings", status=status,
                     form=form, clear_form=ActionForm())


@bp.post("/<partner_id>/environments/<environment>/credential/clear")
def clear_credential(partner_id: str, environment: str):
    """Delete the environment's credential (poll mode only)."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not env.auth or not env.auth.secret_arn:
        flash("There is no credential to clear.", "info")
    elif env.mode is DeliveryMode.PUSH:
        flash("Push delivery needs a credential: replace it, or switch to poll delivery "
              "before clearing it.", "error")
    else:
        services().credentials.delete(partner.id, env.name)
        updated = replace(env, auth=replace(env.auth, secret_arn=None, secret_set_on=None))
        if _save(partner, partner.with_environment(updated), "environment.credential_cleared",
                 before=env.to_dict(), after=updated.to_dict()):
            flash("Credential cleared (recoverable for 7 days by setting it again).", "success")
    return redirect(_env_url("settings", partner, env.name))


# --- filter -----------------------------------------------------------------------------------


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


@bp.route("/<partner_id>/environments/<environment>/filter", methods=["GET", "POST"])
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
                _history().recent_requests(env.name, current_app.config["PREVIEW_REQUESTS"]))
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
        saving = parsed is not None and status == 200 and request.form.get("action") == "save"
        if saving and env.name not in partner.environments:
            # Saving a filter must not quietly create an environment (it would get routing).
            form.form_errors.append("Set up delivery for this environment first (Endpoint & "
                                    "delivery); the preview works before that.")
            status = 422
        elif saving and parsed is not None:
            updated = replace(env, filter=parsed)
            if _save(partner, partner.with_environment(updated), "environment.filter_updated",
                     before=env.filter.to_dict(), after=parsed.to_dict()):
                flash("Filter saved. Routing is updating.", "success")
                return redirect(_env_url("environment", partner, env.name, saved="1"))
    elif request.method == "POST":
        status = 422
    return _env_page("partner/filter.html", partner, env, "filter", status=status, form=form,
                     preview=preview, all_types=ALL_REQUEST_TYPES)


# --- tokens -----------------------------------------------------------------------------------


def _tokens_page(partner: Partner, env: PartnerEnvironment, *, issued=None, status: int = 200,
                 form: TokenForm | None = None):
    now = services().clock()
    records = services().tokens.list_tokens(partner.id, env.name)
    rows = [(record, record.state(now)) for record in records]
    return _env_page("partner/tokens.html", partner, env, "tokens", status=status,
                     form=form or TokenForm(formdata=None), rotate_form=RotateForm(formdata=None),
                     action_form=ActionForm(formdata=None), rows=rows, issued=issued)


def _token_or_404(partner: Partner, env: PartnerEnvironment, prefix: str):
    try:
        record = services().tokens.get(prefix)
    except TokenNotFoundError:
        abort(404)
    if record.partner_id != partner.id or record.environment != env.name:
        abort(404)
    return record


@bp.get("/<partner_id>/environments/<environment>/tokens")
def tokens(partner_id: str, environment: str):
    """The environment's API tokens."""
    partner = own_partner_or_404(partner_id)
    return _tokens_page(partner, environment_or_404(partner, environment))


@bp.post("/<partner_id>/environments/<environment>/tokens")
def create_token(partner_id: str, environment: str):
    """Issue a token and show it once."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = TokenForm()
    if not form.validate_on_submit():
        return _tokens_page(partner, env, form=form, status=422)
    try:
        issued = services().tokens.issue(partner.id, env.name, name=form.name.data or "")
    except ValidationError as error:
        form_error(form, error)
        return _tokens_page(partner, env, form=form, status=422)
    audit("token.created", partner, after={"prefix": issued.record.prefix,
                                           "environment": env.name, "name": issued.record.name})
    return _tokens_page(partner, env, issued=issued)


@bp.post("/<partner_id>/environments/<environment>/tokens/<prefix>/rotate")
def rotate_token(partner_id: str, environment: str, prefix: str):
    """Issue a successor; the old token keeps working for the chosen overlap."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    form = RotateForm()
    if not form.validate_on_submit():
        flash("Choose when the old token stops working.", "error")
        return redirect(_env_url("tokens", partner, env.name))
    try:
        issued = services().tokens.rotate(record.prefix,
                                          overlap=timedelta(hours=int(form.overlap_hours.data)))
    except (ValidationError, TokenError) as error:
        flash(f"Not rotated: {error}", "error")
        return redirect(_env_url("tokens", partner, env.name))
    audit("token.rotated", partner, before={"prefix": record.prefix},
          after={"prefix": issued.record.prefix, "overlap_hours": int(form.overlap_hours.data)})
    return _tokens_page(partner, env, issued=issued)


@bp.post("/<partner_id>/environments/<environment>/tokens/<prefix>/revoke")
def revoke_token(partner_id: str, environment: str, prefix: str):
    """Revoke a token at once."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    record = _token_or_404(partner, env, prefix)
    if not ActionForm().validate_on_submit():
        abort(400)
    services().tokens.revoke(record.prefix)
    audit("token.revoked", partner, before={"prefix": record.prefix})
    flash(f"Token {record.prefix}… is revoked: calls with it now get 401.", "success")
    return redirect(_env_url("tokens", partner, env.name))


# --- test events ------------------------------------------------------------------------------


def _default_request_type(env: PartnerEnvironment) -> str:
    if env.filter.matches_all_types:
        return "test.ping"
    return env.filter.request_types[0]


def _recent_probes(partner: Partner, environment: str) -> list[dict]:
    records = services().audit.for_target(f"partner:{partner.id}", limit=50).items
    return [r.after for r in records
            if r.action == "test_event.sent" and isinstance(r.after, dict)
            and r.after.get("environment") == environment][:5]


@bp.post("/<partner_id>/environments/<environment>/test-events")
def send_test_event(partner_id: str, environment: str):
    """Put a test `Request Created` addressed to this partner on the bus."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    form = TestEventForm()
    if form.validate_on_submit():
        try:
            attributes = json.loads(form.attributes.data or "{}")
            if not isinstance(attributes, dict):
                raise ValueError
        except ValueError:
            form.attributes.errors = ["Attributes must be a JSON object, like "
                                      '{"region": "eu-west"}.']
        else:
            detail = probe_detail(partner.id, env.name, form.request_type.data, attributes,
                                  clock=services().clock)
            try:
                event_id = send_probe(services().events, services().bus_name, detail)
            except ContractViolationError as error:
                form.attributes.errors = [error.message]
            except EventRefusedError as error:
                form.form_errors.append(error.message)
            else:
                audit("test_event.sent", partner, after={
                    "environment": env.name, "request_id": detail["request_id"],
                    "request_type": detail["request_type"], "event_id": event_id,
                    "sent_at": detail["occurred_at"]})
                flash(f"Test event sent (event id {event_id}).", "success")
                return redirect(_env_url("test_event", partner, env.name,
                                         request_id=detail["request_id"]))
    return _environment_page(partner, env, form, status=422)


def _probe_outcome(partner: Partner, env: PartnerEnvironment, request_id: str):
    if not is_probe_of(request_id, partner.id) or len(request_id) > 64:
        abort(404)
    table = current_app.config.get(Env.REQUEST_EVENTS_TABLE)
    log_events = RequestLog(table, boto3_session=services().session).events(request_id) \
        if table else []
    failures = _dead_letters(partner, env.name).list(current_app.config["DLQ_PAGE_SIZE"])
    return probe_outcome(request_id, partner.id, env, log_events, failures)


@bp.get("/<partner_id>/environments/<environment>/test-events/<request_id>")
def test_event(partner_id: str, environment: str, request_id: str):
    """What became of a test event (the page polls its status)."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    outcome = _probe_outcome(partner, env, request_id)
    return _env_page("partner/test_event.html", partner, env, "overview", outcome=outcome)


@bp.get("/<partner_id>/environments/<environment>/test-events/<request_id>/status")
def test_event_status(partner_id: str, environment: str, request_id: str):
    """The test event's outcome alone, for the page's poller."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    return render_template("partner/_test_event.html", partner=partner, env=env,
                           outcome=_probe_outcome(partner, env, request_id))


# --- failures ---------------------------------------------------------------------------------


@bp.get("/<partner_id>/environments/<environment>/failures")
def failures(partner_id: str, environment: str):
    """The environment's dead-lettered deliveries, with their errors."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    dead_letters = _dead_letters(partner, env.name)
    return _env_page("partner/failures.html", partner, env, "failures",
                     failures=dead_letters.list(current_app.config["DLQ_PAGE_SIZE"]),
                     has_queue=dead_letters.queue_url is not None, form=RedriveForm())


@bp.post("/<partner_id>/environments/<environment>/failures/redrive")
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
        return redirect(_env_url("failures", partner, env.name))
    result = _dead_letters(partner, env.name).redrive(None if form.everything.data else chosen)
    audit("deliveries.redriven", partner, after={
        "environment": env.name, "redriven": len(result.redriven), "failed": len(result.failed)})
    if result.redriven:
        flash(f"Redrove {len(result.redriven)} deliver"
              f"{'y' if len(result.redriven) == 1 else 'ies'}: sent again to this environment "
              "only.", "success")
    for message_id, reason in sorted(result.failed.items()):
        flash(f"{message_id}: {reason}", "error")
    if not result.redriven and not result.failed:
        flash("Nothing to redrive.", "info")
    return redirect(_env_url("failures", partner, env.name))


# --- usage ------------------------------------------------------------------------------------


@bp.get("/<partner_id>/environments/<environment>/usage")
def usage(partner_id: str, environment: str):
    """API calls and routed requests per day."""
    partner = own_partner_or_404(partner_id)
    env = environment_or_404(partner, environment)
    today = services().clock().date()
    calls, calls_note = {}, None
    try:
        calls = api_calls_per_day(services().apigateway, usage_plan_id=services().usage_plan_id,
                                  resource_prefix=services().resource_prefix,
                                  partner_id=partner.id, environment=env.name, today=today)
    except UnavailableError as error:
        calls_note = error.message
    deliveries = _history().deliveries_per_day(partner.id, env.name, today=today)
    days = sorted(deliveries)
    rows = [(day, calls.get(day), deliveries.get(day, 0)) for day in reversed(days)]
    peak = max([1] + [c or 0 for _, c, _ in rows] + [d for _, _, d in rows])
    return _env_page("partner/usage.html", partner, env, "usage", rows=rows, peak=peak,
                     calls_note=calls_note)
