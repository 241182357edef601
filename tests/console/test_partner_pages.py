"""Issue 14's partner pages: the routing fragment, the filter preview, test event outcomes."""

from __future__ import annotations

import pytest

from partners.core.constants import Env
from partners.requests.log import RequestLog
from partners.requests.projections import project
from partners.requests.views import RequestViews
from partners.routing.quotas import Quotas
from partners.routing.reconciler import Reconciler, ReconcilerSettings
from tests.console.conftest import PUSH_SETTINGS

ROUTING_RECORDER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:pgw-test-routing-recorder"


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def reconciler(app, aws, stage, clock) -> Reconciler:
    """The real reconciler over the console's registry, in moto."""
    pgw = app.extensions["pgw"]
    settings = ReconcilerSettings(bus_name=stage.spec.bus_name,
                                  resource_prefix=stage.spec.partner_resource_prefix,
                                  routing_recorder_arn=ROUTING_RECORDER_ARN,
                                  quotas=Quotas(rules_per_bus=300))
    return Reconciler(pgw.registry, pgw.credentials, settings, boto3_session=aws, clock=clock)


# --- item 13: "applying your latest change..." clears once the reconciler has run ------------


def test_routing_fragment_settles_after_a_reconcile_that_changed_nothing(
        partner_a, reconciler, clock):
    client, partner_id = partner_a
    fragment_url = f"/partners/{partner_id}/environments/test/routing"
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    clock.advance(seconds=1)
    reconciler.reconcile(partner_id)
    assert 'data-settled="true"' in _text(client.get(fragment_url))

    # A profile save changes no routing: the reconciler's outcome is the same as before.
    clock.advance(seconds=30)
    response = client.post(f"/partners/{partner_id}/profile",
                           data={"display_name": "Acme Two", "contact_email": "new@acme.example"})
    assert response.status_code == 302
    fragment = _text(client.get(fragment_url))
    assert 'data-settled="false"' in fragment and "applying your latest change" in fragment
    clock.advance(seconds=1)
    reconciler.reconcile(partner_id)
    fragment = _text(client.get(fragment_url))
    assert 'data-settled="true"' in fragment and "applying your latest change" not in fragment
    # ...and a further run with no save in between writes nothing.
    assert reconciler.reconcile(partner_id).status_writes == 0


# --- item 14: the filter preview shows only this environment's own requests -----------------


def _project(app, aws, request_id, request_type, attributes, *, routed_to=None, test=False,
             environment="test"):
    """Put a request in the log as the intake (or a test event) and the router would."""
    config = app.config
    log = RequestLog(config[Env.REQUEST_EVENTS_TABLE], boto3_session=aws)
    detail = {"environment": environment, "request_id": request_id,
              "request_type": request_type, "occurred_at": "2026-11-23T09:30:00Z",
              "schema_version": "1", "user_id": "console-test" if test else "u1",
              "attributes": attributes}
    if test:
        detail.update(test=True, addressed_to=routed_to)
    log.create(detail)
    if routed_to:
        log.record_routing(detail, partner_id=routed_to, environment=environment, mode="push",
                           event_id=f"evt-{request_id}")
    RequestViews(config[Env.REQUESTS_TABLE], config[Env.INBOX_TABLE],
                 config[Env.TIMELINE_TABLE], boto3_session=aws).write(
        project(log.events(request_id)))


def _preview(client, partner_id, types="*", rows=()):
    data = {"request_types": types, "action": "preview"}
    for i, (attribute, operator, values) in enumerate(rows):
        data.update({f"conditions-{i}-attribute": attribute,
                     f"conditions-{i}-operator": operator, f"conditions-{i}-values": values})
    response = client.post(f"/partners/{partner_id}/environments/test/filter", data=data)
    assert response.status_code == 200, _text(response)
    return _text(response)


def test_preview_never_shows_another_partners_test_events_or_requests(
        app, aws, partner_a, partner_b):
    _, a_id = partner_a
    _, b_id = partner_b
    # B's test event, addressed to B only, and a request routed to B only.
    _project(app, aws, f"test-{b_id}-zzzzzzzzzz", "globex.secret-probe", {"region": "eu-b"},
             routed_to=b_id, test=True)
    _project(app, aws, "r-globex-only", "globex.only-type", {"region": "eu-g"},
             routed_to=b_id)
    # A's own: one routed to it, one of its test events that its filter did not match.
    _project(app, aws, "r-acme", "stock.check", {"region": "eu-west"}, routed_to=a_id)
    _project(app, aws, f"test-{a_id}-aaaaaaaaaa", "acme.own-probe", {"region": "eu-own"},
             test=True)
    client, _ = partner_a
    page = _preview(client, a_id, rows=[("region", "prefix", "eu-")])
    # Nothing of B's: not its test event (id, type, attributes), not its request's type.
    for secret in (f"test-{b_id}", "globex.secret-probe", "eu-b", "globex.only-type",
                   "r-globex-only", "eu-g"):
        assert secret not in page
    # A's own are listed, both would match (the test event as addressed to A).
    assert "2 of your last 2" in page
    assert "stock.check" in page and "acme.own-probe" in page
    # B's plain request is only counted (it is a marketplace request A could receive);
    # B's test event is not even counted.
    assert "Of the 1 other recent requests" in page and "<strong>1</strong> would" in page


# --- item 16: a test event that can reach nobody says why -----------------------------------


def _send_test_event(client, partner_id, request_type, attributes="{}"):
    response = client.post(f"/partners/{partner_id}/environments/test/test-events",
                           data={"request_type": request_type, "attributes": attributes})
    assert response.status_code == 302, _text(response)
    page = _text(client.get(response.headers["Location"]))
    status_url = response.headers["Location"] + "/status"
    return page, status_url


def _approve(app, partner_id):
    from partners.onboarding import PartnerStatus

    registry = app.extensions["pgw"].registry
    partner = registry.transition(registry.get_partner(partner_id),
                                  PartnerStatus.PENDING_APPROVAL)
    registry.transition(partner, PartnerStatus.APPROVED)


def test_test_event_of_a_partner_not_approved_says_so(partner_a):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    page, _ = _send_test_event(client, partner_id, "stock.check")
    assert "Not routed: your organisation is not approved yet" in page
    assert 'data-final="true"' in page and "not routed" in page


@pytest.mark.parametrize("request_type, attributes, named", [
    ("price.quote", '{"region": "eu-west"}',
     'request_type is &#34;price.quote&#34;; the filter takes stock.check'),
    ("stock.check", '{"region": "us-east"}',
     'attributes.region is &#34;us-east&#34;; the filter needs region starts with eu-'),
    ("stock.check", '{}',
     'attributes.region missing; the filter needs region starts with eu-'),
])
def test_test_event_the_filter_refuses_names_the_field(app, partner_a, request_type,
                                                       attributes, named):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    _preview_or_save = client.post(f"/partners/{partner_id}/environments/test/filter", data={
        "request_types": "stock.check", "action": "save", "conditions-0-attribute": "region",
        "conditions-0-operator": "prefix", "conditions-0-values": "eu-"})
    assert _preview_or_save.status_code == 302, _text(_preview_or_save)
    _approve(app, partner_id)
    page, status_url = _send_test_event(client, partner_id, request_type, attributes)
    assert "Not routed: your filter does not match this test event" in page, page
    assert named in page
    fragment = _text(client.get(status_url))
    assert named in fragment and 'data-final="true"' in fragment


def test_test_event_the_filter_takes_waits_for_routing(app, partner_a):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    _approve(app, partner_id)
    page, _ = _send_test_event(client, partner_id, "stock.check", '{"region": "eu-west"}')
    assert "Not routed" not in page and 'data-final="false"' in page
    assert "the reconciler has not set up routing" in page


# --- item 18: what the pages look like ------------------------------------------------------

LONG_NAME = "Supercalifragilisticexpialidocious" * 2


def _filter_save(client, partner_id):
    response = client.post(f"/partners/{partner_id}/environments/test/filter", data={
        "request_types": "stock.check", "action": "save", "conditions-0-attribute": "region",
        "conditions-0-operator": "prefix", "conditions-0-values": "eu-"})
    assert response.status_code == 302, _text(response)


@pytest.mark.parametrize("auth_type, extra, label", [
    ("API_KEY", {}, "API key"),
    ("BASIC", {"username": "acme"}, "Basic"),
    ("OAUTH_CLIENT_CREDENTIALS", {"token_url": "https://auth.acme.example.com/token",
                                  "client_id": "pgw"}, "OAuth client credentials"),
])
def test_auth_types_are_shown_by_name(app, auth, partner_a, auth_type, extra, label):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/settings",
                           data={**PUSH_SETTINGS, "auth_type": auth_type, **extra})
    assert response.status_code == 302, _text(response)
    page = _text(client.get(f"/partners/{partner_id}/environments/test"))
    assert f"<dt>Auth</dt><dd>{label}" in page and auth_type not in page.split("<dt>Auth")[1][:80]
    admin_page = _text(auth.login_admin().get(f"/admin/partners/{partner_id}"))
    assert f'<span class="small">{label}' in admin_page


def test_admin_sees_the_filter_as_a_sentence(auth, partner_a):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    _filter_save(client, partner_id)
    page = _text(auth.login_admin().get(f"/admin/partners/{partner_id}"))
    assert "Request type stock.check; region starts with eu-" in page
    assert "request_types" not in page and "&#34;prefix&#34;" not in page
    # The partner's own overview says it the same way.
    overview = _text(client.get(f"/partners/{partner_id}/environments/test"))
    assert "Request type stock.check; region starts with eu-" in overview


def test_audit_log_shows_partner_names(auth, partner_a):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/profile",
                data={"display_name": "Acme Logistics", "contact_email": "ops@acme.example.com"})
    page = _text(auth.login_admin().get("/admin/audit"))
    assert f'<a href="/admin/partners/{partner_id}">Acme Logistics</a>' in page
    assert f">partner:{partner_id}<" not in page


def test_favicon_is_linked_and_served(client):
    page = _text(client.get("/auth/login"))
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page
    response = client.get("/static/favicon.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_long_unbroken_names_wrap_instead_of_widening_the_page(app, auth, partner_a):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/profile",
                data={"display_name": LONG_NAME, "contact_email": "ops@acme.example.com"})
    css = _text(client.get("/static/console.css"))
    rule = css.split(".wrap, h1,", 1)[1].split("}", 1)[0]
    assert "overflow-wrap: anywhere" in rule and ".crumbs" in rule
    # On a phone, a table scrolls inside its card rather than widening the page.
    phone = css.split("@media (max-width: 40rem)", 1)[1]
    assert "table { display: block; max-width: 100%; overflow-x: auto; }" in phone
    admin = auth.login_admin()
    partners = _text(admin.get("/admin/partners"))
    assert f'<th scope="row" class="wrap"><a href="/admin/partners/{partner_id}">{LONG_NAME}' \
        in partners
    audit = _text(admin.get("/admin/audit"))
    assert f'<td class="wrap"><a href="/admin/partners/{partner_id}">{LONG_NAME}</a>' in audit


def test_row_forms_line_their_labels_up(client):
    css = _text(client.get("/static/console.css"))
    row_form = css.split(".row-form {", 1)[1].split("}", 1)[0]
    assert "align-items: flex-start" in row_form  # not flex-end: help texts push labels down
