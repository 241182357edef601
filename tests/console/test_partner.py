"""The partner screens, each through the Flask test client against moto."""

from __future__ import annotations

import json

import pytest

from partners.core.constants import Env, partner_resource_name, usage_key_value
from partners.onboarding.models import RoutingState, RoutingStatus
from partners.onboarding.tokens import TokenStore
from partners.requests.log import RequestLog
from partners.requests.projections import project
from partners.requests.views import RequestViews
from tests.console.conftest import PUSH_SETTINGS, create_organisation


def _registry(app):
    return app.extensions["pgw"].registry


def _text(response) -> str:
    return response.get_data(as_text=True)


def _settings(client, partner_id, environment="test", **changes):
    data = {**PUSH_SETTINGS, **changes}
    return client.post(f"/partners/{partner_id}/environments/{environment}/settings", data=data)


# --- organisation -----------------------------------------------------------------------------


def test_create_organisation_and_overview(app, auth):
    client = auth.login_partner()
    assert client.get("/partners/").headers["Location"].endswith("/partners/new")
    partner_id = create_organisation(client, "acme", "Acme Logistics")
    partner = _registry(app).get_partner(partner_id)
    assert partner.display_name == "Acme Logistics" and partner.status.value == "draft"
    page = _text(client.get(f"/partners/{partner_id}"))
    assert "Acme Logistics" in page and "Submit for approval" in page
    assert "partner.created" in page  # the audit trail shows the partner's own actions
    # A second organisation is not possible: the form sends the user home.
    assert client.get("/partners/new").status_code == 302


@pytest.mark.parametrize("data, message", [
    ({"display_name": "A", "slug": "ok-slug", "contact_email": "a@example.com"},
     "between 2 and 80"),
    ({"display_name": "Acme", "slug": "-bad-", "contact_email": "a@example.com"},
     "3-40 lower-case"),
    ({"display_name": "Acme", "slug": "acme", "contact_email": "nope"}, "valid email"),
])
def test_create_organisation_form_errors(auth, data, message):
    client = auth.login_partner()
    response = client.post("/partners/new", data=data)
    assert response.status_code == 200 and message in _text(response)


def test_slug_taken_is_a_field_error(auth, partner_a):
    client = auth.login_partner()
    response = client.post("/partners/new", data={"display_name": "Other", "slug": "acme",
                                                  "contact_email": "o@example.com"})
    assert "already taken" in _text(response)


def test_profile_update_is_saved_audited_and_reconciled(app, partner_a, reconciles):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/profile",
                           data={"display_name": "Acme Two", "contact_email": "new@acme.example"})
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).display_name == "Acme Two"
    assert reconciles.calls == [partner_id]
    records = [r for r in app.extensions["pgw"].audit.for_target(f"partner:{partner_id}").items
               if r.action == "partner.profile_updated"]
    assert records[0].actor == f"user:{client.email}"
    assert records[0].after == {"display_name": "Acme Two", "contact_email": "new@acme.example"}


# --- environment settings ---------------------------------------------------------------------


def test_push_settings_store_the_secret_write_only(app, aws, stage, partner_a, reconciles):
    client, partner_id = partner_a
    response = _settings(client, partner_id)
    assert response.status_code == 302, _text(response)
    env = _registry(app).get_partner(partner_id).environments["test"]
    assert env.endpoint_url == "https://hooks.acme.example.com/pgw"
    assert env.auth.secret_arn and env.auth.secret_set_on == "2026-11-23T10:00:00Z"
    assert env.retry_policy.maximum_retry_attempts == 10 and env.rate_limit_per_second == 20
    assert reconciles.calls == [partner_id]
    # The value is in Secrets Manager, never in DynamoDB, the audit log or a page.
    secret = aws.client("secretsmanager").get_secret_value(SecretId=env.auth.secret_arn)
    assert "s3cr3t-value-never-shown" in secret["SecretString"]
    for table in ("partners", "audit"):
        items = aws.client("dynamodb").scan(TableName=stage.spec.tables[table].name)["Items"]
        assert "s3cr3t-value-never-shown" not in json.dumps(items)
    page = _text(client.get(f"/partners/{partner_id}/environments/test/settings"))
    assert "s3cr3t" not in page and "set on 2026-11-23 10:00 UTC" in page


def test_saving_again_without_a_secret_keeps_it(app, partner_a):
    client, partner_id = partner_a
    _settings(client, partner_id)
    first = _registry(app).get_partner(partner_id).environments["test"].auth
    response = _settings(client, partner_id, secret="", rate_limit_per_second="5")
    assert response.status_code == 302
    env = _registry(app).get_partner(partner_id).environments["test"]
    assert env.auth.secret_arn == first.secret_arn and env.rate_limit_per_second == 5


@pytest.mark.parametrize("changes, message", [
    ({"endpoint_url": "http://hooks.acme.example.com/"}, "scheme must be https"),
    ({"endpoint_url": "https://internal.acme.example.com/"}, "private address"),
    ({"endpoint_url": "https://127.0.0.1/"}, "IP address literals"),
    ({"endpoint_url": ""}, "Enter your endpoint URL"),
    ({"secret": ""}, "Set the credential"),
    ({"header_name": ""}, "Enter the name of the header"),
    ({"header_name": "bad header"}, "A header name"),
    ({"auth_type": "BASIC", "username": ""}, "username"),
    ({"auth_type": "OAUTH_CLIENT_CREDENTIALS", "client_id": "c",
      "token_url": "http://token.example.com"}, "token URL refused"),
    ({"rate_limit_per_second": "0"}, "between 1 and 300"),
    ({"rate_limit_per_second": "lots"}, "Not a valid integer"),
    ({"maximum_retry_attempts": "999"}, "between 0 and 185"),
    ({"maximum_event_age_seconds": "10"}, "between 60 and 86400"),
    ({"mode": "carrier-pigeon"}, "Not a valid choice"),
    ({"auth_type": "NONE"}, "Not a valid choice"),
])
def test_settings_errors_are_shown_inline(partner_a, changes, message):
    client, partner_id = partner_a
    response = _settings(client, partner_id, **changes)
    assert response.status_code == 422
    assert message in _text(response)


def test_changing_the_auth_type_needs_a_new_credential(partner_a):
    client, partner_id = partner_a
    _settings(client, partner_id)
    response = _settings(client, partner_id, auth_type="BASIC", username="acme", secret="")
    assert response.status_code == 422 and "needs a new credential" in _text(response)
    response = _settings(client, partner_id, auth_type="BASIC", username="acme", secret="pw")
    assert response.status_code == 302


def test_poll_mode_needs_no_endpoint(app, partner_a):
    client, partner_id = partner_a
    response = _settings(client, partner_id, mode="poll", endpoint_url="", secret="")
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).environments["test"].mode.value == "poll"


def test_insecure_endpoints_only_when_the_stage_allows(app, partner_a):
    client, partner_id = partner_a
    app.extensions["pgw"].onboarding.allow_insecure = True
    response = _settings(client, partner_id, endpoint_url="http://127.0.0.1:8002/deliveries")
    assert response.status_code == 302, _text(response)


def test_clear_credential_only_in_poll_mode(app, partner_a, aws):
    client, partner_id = partner_a
    _settings(client, partner_id)
    response = client.post(f"/partners/{partner_id}/environments/test/credential/clear")
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).environments["test"].auth.secret_arn
    _settings(client, partner_id, mode="poll", secret="")
    client.post(f"/partners/{partner_id}/environments/test/credential/clear")
    env = _registry(app).get_partner(partner_id).environments["test"]
    assert env.auth.secret_arn is None
    name = app.extensions["pgw"].credentials.name(partner_id, "test")
    assert aws.client("secretsmanager").describe_secret(SecretId=name).get("DeletedDate")


def test_unknown_environment_is_404(partner_a):
    client, partner_id = partner_a
    assert client.get(f"/partners/{partner_id}/environments/staging").status_code == 404


def test_conflicting_save_is_reported_not_lost(app, partner_a, monkeypatch):
    from partners.onboarding.exceptions import PartnerConflictError

    client, partner_id = partner_a
    registry = _registry(app)

    def stale(partner):
        raise PartnerConflictError(partner.id, partner.version)

    monkeypatch.setattr(registry, "save_partner", stale)
    response = _settings(client, partner_id)
    page = _text(client.get(response.headers.get("Location", "/"))) if response.status_code == 302 \
        else _text(response)
    assert "Someone else saved" in page


# --- routing status ---------------------------------------------------------------------------


def test_routing_status_fragment_shows_the_reconciler_outcome(app, partner_a, clock):
    client, partner_id = partner_a
    _settings(client, partner_id)
    fragment = _text(client.get(f"/partners/{partner_id}/environments/test/routing"))
    assert 'data-settled="false"' in fragment and "has not run" in fragment
    clock.advance(seconds=2)
    _registry(app).put_routing_status(RoutingStatus(
        partner_id, "test", RoutingState.ERROR, reason="connection refused by EventBridge",
        updated_at="2026-11-23T10:00:02Z"))
    fragment = _text(client.get(f"/partners/{partner_id}/environments/test/routing"))
    assert 'data-settled="true"' in fragment and "connection refused by EventBridge" in fragment
    page = _text(client.get(f"/partners/{partner_id}/environments/test"))
    assert "data-poll-url" in page and "connection refused" in page


def test_failed_reconcile_trigger_is_said_not_hidden(partner_a, reconciles):
    client, partner_id = partner_a
    reconciles.succeed = False
    response = _settings(client, partner_id)
    assert "next scheduled run" in _text(client.get(response.headers["Location"]))


# --- submit -----------------------------------------------------------------------------------


def test_submit_needs_a_configured_environment(app, partner_a):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/submit")
    assert "Configure at least one environment" in _text(client.get(response.headers["Location"]))
    _settings(client, partner_id)
    client.post(f"/partners/{partner_id}/submit")
    assert _registry(app).get_partner(partner_id).status.value == "pending_approval"
    response = client.post(f"/partners/{partner_id}/submit")
    assert "Only a draft or a rejected" in _text(client.get(response.headers["Location"]))


def test_rejected_partner_sees_the_reason_and_resubmits(app, partner_a, auth):
    client, partner_id = partner_a
    _settings(client, partner_id)
    client.post(f"/partners/{partner_id}/submit")
    admin = auth.login_admin()
    admin.post(f"/admin/partners/{partner_id}/reject", data={"reason": "Use your prod domain"})
    assert "Use your prod domain" in _text(client.get(f"/partners/{partner_id}"))
    client.post(f"/partners/{partner_id}/submit")
    assert _registry(app).get_partner(partner_id).status.value == "pending_approval"


# --- filter -----------------------------------------------------------------------------------


def _filter(client, partner_id, action="preview", types="stock.check", rows=()):
    data = {"request_types": types, "action": action}
    for i, (attribute, operator, values) in enumerate(rows):
        data[f"conditions-{i}-attribute"] = attribute
        data[f"conditions-{i}-operator"] = operator
        data[f"conditions-{i}-values"] = values
    return client.post(f"/partners/{partner_id}/environments/test/filter", data=data)


def _project_request(app, aws, request_id, request_type, attributes, routed_to=None,
                     environment="test"):
    config = app.config
    log = RequestLog(config[Env.REQUEST_EVENTS_TABLE], boto3_session=aws)
    detail = {"environment": environment, "request_id": request_id,
              "request_type": request_type, "occurred_at": f"2026-11-23T09:{len(request_id):02d}:00Z",
              "schema_version": "1", "user_id": "u1", "attributes": attributes}
    log.create(detail)
    if routed_to:
        log.record_routing(detail, partner_id=routed_to, environment=environment, mode="push",
                           event_id=f"evt-{request_id}")
    RequestViews(config[Env.REQUESTS_TABLE], config[Env.INBOX_TABLE],
                 config[Env.TIMELINE_TABLE], boto3_session=aws).write(
        project(log.events(request_id)))


def test_filter_preview_compiles_and_tests_recent_requests(app, aws, partner_a):
    client, partner_id = partner_a
    _project_request(app, aws, "r-1", "stock.check", {"region": "eu-west", "qty": 5},
                     routed_to=partner_id)
    _project_request(app, aws, "r-22", "stock.check", {"region": "us-east", "qty": 50})
    _project_request(app, aws, "r-333", "price.quote", {"region": "eu-north", "qty": 1})
    _project_request(app, aws, "r-4444", "stock.check", {"region": "eu-x"}, environment="prod")
    response = _filter(client, partner_id, rows=[("region", "prefix", "eu-"),
                                                 ("qty", "less_than", "10")])
    page = _text(response)
    assert response.status_code == 200, page
    assert "&#34;prefix&#34;: &#34;eu-&#34;" in page or '"prefix": "eu-"' in page
    assert "1 of your last 1" in page  # only what was routed to this environment is listed
    assert "Of the 2 other recent requests" in page  # the others are only counted
    assert "eu-west" in page and "us-east" not in page and "price.quote" not in page
    # Nothing saved by a preview.
    assert _registry(app).get_partner(partner_id).environments == {}


def test_filter_save_needs_a_configured_environment(app, partner_a):
    client, partner_id = partner_a
    response = _filter(client, partner_id, action="save")
    assert response.status_code == 422 and "Set up delivery" in _text(response)
    assert _registry(app).get_partner(partner_id).environments == {}


def test_filter_save_stores_the_filter(app, partner_a, reconciles):
    client, partner_id = partner_a
    _settings(client, partner_id, mode="poll", endpoint_url="", secret="")
    reconciles.calls.clear()
    response = _filter(client, partner_id, action="save", types="stock.check, price.quote",
                       rows=[("qty", "between", "1, 10"), ("vip", "exists", "")])
    assert response.status_code == 302, _text(response)
    saved = _registry(app).get_partner(partner_id).environments["test"].filter.to_dict()
    assert saved == {"request_types": ["stock.check", "price.quote"], "conditions": [
        {"attribute": "qty", "operator": "between", "values": [1, 10]},
        {"attribute": "vip", "operator": "exists", "values": []}]}
    assert reconciles.calls == [partner_id]
    page = _text(client.get(f"/partners/{partner_id}/environments/test/filter"))
    assert 'value="1, 10"' in page


@pytest.mark.parametrize("types, rows, message", [
    ("Stock Check", [], "lower-case letters"),
    ("*, stock.check", [], "must stand alone"),
    ("stock.check", [("qty", "between", "10")], "Enter two numbers for &#39;between&#39;"),
    ("stock.check", [("qty", "between", "10, 1")], "Put the lower number first"),
    ("stock.check", [("qty", "greater_than", "many")],
     "Enter one number for &#39;greater than&#39;"),
    ("stock.check", [("region", "", "eu")], "Choose an operator"),
    ("stock.check", [("", "prefix", "eu")], "Name the attribute"),
    ("stock.check", [("bad-name", "prefix", "eu")], "letters, digits and underscores"),
    ("stock.check", [("region", "prefix", "")],
     "Enter at least one value for &#39;starts with&#39;"),
    ("stock.check", [("region", "prefix", "eu"), ("region", "suffix", "x")], "cannot AND"),
    ("stock.check", [("region", "regex", "eu")], "Not a valid choice"),
])
def test_filter_errors_are_form_errors(partner_a, types, rows, message):
    client, partner_id = partner_a
    response = _filter(client, partner_id, types=types, rows=rows)
    assert response.status_code == 422
    assert message in _text(response)


def test_filter_page_without_requests_says_so(partner_a):
    client, partner_id = partner_a
    assert "No requests routed to" in _text(_filter(client, partner_id))


# --- tokens -----------------------------------------------------------------------------------


def _issue(client, partner_id, environment="test", name="ci"):
    """Create a token the way a browser does (POST, then the redirect's GET); its value."""
    response = client.post(f"/partners/{partner_id}/environments/{environment}/tokens",
                           data={"name": name}, follow_redirects=True)
    return _text(response).split('id="issued-token" value="')[1].split('"')[0]


def test_token_is_shown_once_then_only_its_prefix(app, partner_a):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/tokens",
                           data={"name": "order-service"})
    # Post/redirect/get: the POST's answer holds no token, and reloading it issues nothing.
    assert response.status_code == 303 and "pgw_test_" not in _text(response)
    page = _text(client.get(response.headers["Location"]))
    token = page.split('id="issued-token" value="')[1].split('"')[0]
    assert token.startswith("pgw_test_") and "shown only once" in page
    assert "data-copy" in page
    identity = TokenStore(app.config[Env.TOKENS_TABLE],
                          boto3_session=app.config["BOTO3_SESSION"]).verify(token)
    assert identity.partner_id == partner_id
    listing = _text(client.get(f"/partners/{partner_id}/environments/test/tokens"))
    assert token not in listing and token[:17] in listing and "order-service" in listing


@pytest.mark.parametrize("name", ["", "   "])
def test_a_token_needs_a_name(app, partner_a, name):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/tokens",
                           data={"name": name})
    assert response.status_code == 422 and "A name is required" in _text(response)
    assert app.extensions["pgw"].tokens.list_tokens(partner_id, "test") == []


def test_rotate_keeps_the_old_token_for_the_overlap_then_revoke(app, partner_a, clock,
                                                                 flushes):
    client, partner_id = partner_a
    old = _issue(client, partner_id)
    store = TokenStore(app.config[Env.TOKENS_TABLE], boto3_session=app.config["BOTO3_SESSION"],
                       clock=clock)
    prefix = store.verify(old).prefix
    page = _text(client.post(f"/partners/{partner_id}/environments/test/tokens/{prefix}/rotate",
                             data={"overlap_hours": "1"}, follow_redirects=True))
    new = page.split('id="issued-token" value="')[1].split('"')[0]
    assert new != old and "expiring" in page
    assert flushes.calls == 1
    store.verify(old)
    clock.advance(hours=2)
    with pytest.raises(Exception):
        store.verify(old)
    new_prefix = store.verify(new).prefix
    response = client.post(f"/partners/{partner_id}/environments/test/tokens/{new_prefix}/revoke",
                           data={"confirm": "y"})
    assert response.status_code == 303
    with pytest.raises(Exception):
        store.verify(new)
    assert "calls with it now get 401" in _text(client.get(response.headers["Location"]))
    assert flushes.calls == 2


def test_rotate_shows_the_new_token_once_and_a_reload_does_not_rotate_again(app, partner_a,
                                                                           clock):
    client, partner_id = partner_a
    prefix = _issue(client, partner_id)[:17]
    url = f"/partners/{partner_id}/environments/test/tokens/{prefix}/rotate"
    response = client.post(url, data={"overlap_hours": "0"})
    assert response.status_code == 303 and "pgw_test_" not in _text(response)
    shown = _text(client.get(response.headers["Location"]))
    assert shown.count('id="issued-token"') == 1
    # A refresh re-runs the GET (not the POST): no second rotation, no token shown again.
    again = _text(client.get(response.headers["Location"]))
    assert 'id="issued-token"' not in again
    assert len(app.extensions["pgw"].tokens.list_tokens(partner_id, "test")) == 2


def test_revoke_needs_its_confirmation(app, partner_a, clock, flushes):
    client, partner_id = partner_a
    token = _issue(client, partner_id)
    prefix = token[:17]
    page = _text(client.get(f"/partners/{partner_id}/environments/test/tokens"))
    assert f'id="revoke-confirm-{prefix}"' in page
    response = client.post(f"/partners/{partner_id}/environments/test/tokens/{prefix}/revoke")
    assert response.status_code == 303
    assert "tick the box to confirm" in _text(client.get(response.headers["Location"]))
    store = TokenStore(app.config[Env.TOKENS_TABLE], boto3_session=app.config["BOTO3_SESSION"],
                       clock=clock)
    assert store.verify(token).prefix == prefix  # still valid
    assert flushes.calls == 0


def test_a_failed_flush_is_a_warning_not_an_error(app, partner_a, flushes):
    client, partner_id = partner_a
    prefix = _issue(client, partner_id)[:17]
    flushes.succeed = False
    response = client.post(f"/partners/{partner_id}/environments/test/tokens/{prefix}/revoke",
                           data={"confirm": "y"})
    assert response.status_code == 303
    page = _text(client.get(response.headers["Location"]))
    assert "is revoked" in page and "token cache could not be emptied" in page
    assert "now get 401" not in page


def test_rotate_with_a_bad_overlap_is_refused(partner_a):
    client, partner_id = partner_a
    prefix = _issue(client, partner_id)[:17]
    response = client.post(f"/partners/{partner_id}/environments/test/tokens/{prefix}/rotate",
                           data={"overlap_hours": "9999"})
    assert "Choose when the old token stops" in _text(client.get(response.headers["Location"]))


def test_token_of_another_environment_is_404(partner_a):
    client, partner_id = partner_a
    prefix = _issue(client, partner_id, "dev")[:16]
    assert client.post(f"/partners/{partner_id}/environments/test/tokens/{prefix}/revoke",
                       data={"confirm": "y"}).status_code == 404
    assert client.post(f"/partners/{partner_id}/environments/test/tokens/nope/revoke",
                       data={"confirm": "y"}).status_code == 404


def test_token_name_too_long_is_a_form_error(partner_a):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/tokens",
                           data={"name": "x" * 65})
    assert response.status_code == 422 and "64" in _text(response)


# --- test events ------------------------------------------------------------------------------


@pytest.fixture
def bus_tap(aws, stage):
    """An SQS queue receiving every event on the bus (what a catch-all rule sees)."""
    sqs, events = aws.client("sqs"), aws.client("events")
    url = sqs.create_queue(QueueName="bus-tap")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"]
    events.put_rule(Name="tap", EventBusName=stage.spec.bus_name,
                    EventPattern=json.dumps({"source": [{"prefix": ""}]}))
    events.put_targets(Rule="tap", EventBusName=stage.spec.bus_name,
                       Targets=[{"Id": "q", "Arn": arn}])

    def read():
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return read


def test_send_test_event_addresses_it_to_this_partner_only(app, aws, partner_a, bus_tap):
    client, partner_id = partner_a
    _settings(client, partner_id)
    response = client.post(f"/partners/{partner_id}/environments/test/test-events",
                           data={"request_type": "stock.check",
                                 "attributes": '{"region": "eu-west"}'})
    assert response.status_code == 302, _text(response)
    request_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert request_id.startswith(f"test-{partner_id}-")
    [event] = bus_tap()
    assert event["detail-type"] == "Request Created"
    assert event["detail"]["addressed_to"] == partner_id and event["detail"]["test"] is True
    assert event["detail"]["environment"] == "test"
    page = _text(client.get(response.headers["Location"]))
    # A draft partner's test event reaches nobody, and the page says why.
    assert 'data-state="not_routed"' in page and "not approved yet" in page
    # The routing recorder records the routing: the outcome follows.
    log = RequestLog(app.config[Env.REQUEST_EVENTS_TABLE], boto3_session=aws)
    log.record_routing(event["detail"], partner_id=partner_id, environment="test", mode="push",
                       event_id=event["id"])
    fragment = _text(client.get(response.headers["Location"] + "/status"))
    assert 'data-state="routed"' in fragment
    overview = _text(client.get(f"/partners/{partner_id}/environments/test"))
    assert request_id in overview  # in the recent test events


@pytest.mark.parametrize("attributes, message", [
    ("[1, 2]", "must be a JSON object"),
    ("{not json", "must be a JSON object"),
    ('{"bad key": 1}', "does not match"),
])
def test_send_test_event_errors(partner_a, attributes, message):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/test-events",
                           data={"request_type": "stock.check", "attributes": attributes})
    assert response.status_code == 422 and message in _text(response)


def test_test_event_outcome_of_another_partner_is_404(partner_a, partner_b):
    client, partner_id = partner_a
    _, other_id = partner_b
    url = f"/partners/{partner_id}/environments/test/test-events/test-{other_id}-abc"
    assert client.get(url).status_code == 404


# --- failures ---------------------------------------------------------------------------------


def _dead_letter(aws, stage, partner_id, request_id, *, body=None, environment="test"):
    sqs = aws.client("sqs")
    name = partner_resource_name(stage.spec.partner_resource_prefix, partner_id, environment)
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    event = {"version": "0", "id": f"evt-{request_id}", "detail-type": "Request Created",
             "source": "marketplace.requests", "account": "123456789012",
             "time": "2026-11-23T09:00:00Z", "region": "us-east-1", "resources": [],
             "detail": {"environment": environment, "request_id": request_id,
                        "request_type": "stock.check", "occurred_at": "2026-11-23T09:00:00Z",
                        "schema_version": "1", "user_id": "u1", "attributes": {}}}
    sqs.send_message(QueueUrl=url, MessageBody=body if body is not None else json.dumps(event),
                     MessageAttributes={
                         "ERROR_CODE": {"DataType": "String",
                                        "StringValue": "SDK_CLIENT_ERROR"},
                         "ERROR_MESSAGE": {"DataType": "String",
                                           "StringValue": "Unable to invoke ApiDestination "
                                                          "endpoint: 503"}})
    return url


def test_failures_list_and_redrive_selected(app, aws, stage, partner_a, bus_tap):
    client, partner_id = partner_a
    url = _dead_letter(aws, stage, partner_id, "req-1")
    _dead_letter(aws, stage, partner_id, "req-2")
    page = _text(client.get(f"/partners/{partner_id}/environments/test/failures"))
    assert "SDK_CLIENT_ERROR" in page and "endpoint: 503" in page and "evt-req-1" in page
    ids = [part.split('"')[0] for part in page.split('name="message_id" value="')[1:]]
    assert len(ids) == 2
    # Listing does not hide the messages from the next reader.
    assert len(client.get(f"/partners/{partner_id}/environments/test/failures")
               .get_data(as_text=True).split('name="message_id"')) == 3
    response = client.post(f"/partners/{partner_id}/environments/test/failures/redrive",
                           data={"message_id": ids[0]})
    assert "Redrove 1 delivery" in _text(client.get(response.headers["Location"]))
    [event] = bus_tap()
    assert event["detail"]["addressed_to"] == partner_id
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "1"


def test_redrive_all_and_a_broken_message_stays(aws, stage, partner_a, bus_tap):
    client, partner_id = partner_a
    _dead_letter(aws, stage, partner_id, "req-1")
    _dead_letter(aws, stage, partner_id, "req-2", body="not an event")
    response = client.post(f"/partners/{partner_id}/environments/test/failures/redrive",
                           data={"everything": "y"})
    page = _text(client.get(response.headers["Location"]))
    assert "Redrove 1 delivery" in page and "not an EventBridge event" in page
    assert len(bus_tap()) == 1


def test_redrive_needs_a_choice(partner_a):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/failures/redrive", data={})
    assert "Select the failed deliveries" in _text(client.get(response.headers["Location"]))


def test_overview_counts_failed_deliveries(aws, stage, partner_a):
    client, partner_id = partner_a
    _settings(client, partner_id)
    _dead_letter(aws, stage, partner_id, "req-1")
    page = _text(client.get(f"/partners/{partner_id}"))
    assert "1 to redrive" in page


def test_failures_without_a_queue(partner_a):
    client, partner_id = partner_a
    page = _text(client.get(f"/partners/{partner_id}/environments/test/failures"))
    assert "No dead-letter queue yet" in page


def test_test_event_in_the_dlq_shows_as_failed(aws, stage, partner_a):
    client, partner_id = partner_a
    request_id = f"test-{partner_id}-abc"
    _dead_letter(aws, stage, partner_id, request_id)
    page = _text(client.get(f"/partners/{partner_id}/environments/test/test-events/{request_id}"))
    assert 'data-state="failed"' in page and "SDK_CLIENT_ERROR" in page


# --- usage ------------------------------------------------------------------------------------


def test_usage_without_a_usage_plan(app, aws, partner_a):
    client, partner_id = partner_a
    _project_request(app, aws, "r-1", "stock.check", {}, routed_to=partner_id)
    page = _text(client.get(f"/partners/{partner_id}/environments/test/usage"))
    assert "no usage plan" in page
    assert "<meter" in page and "2026-11-23" in page


def test_usage_reads_the_usage_plan(app, aws, stage, partner_a):
    client, partner_id = partner_a
    apigateway = aws.client("apigateway")
    plan = apigateway.create_usage_plan(name="plan")["id"]
    prefix = stage.spec.partner_resource_prefix
    key = apigateway.create_api_key(name=partner_resource_name(prefix, partner_id, "test"),
                                    value=usage_key_value(prefix, partner_id, "test"),
                                    enabled=True)["id"]
    apigateway.create_usage_plan_key(usagePlanId=plan, keyId=key, keyType="API_KEY")
    app.extensions["pgw"].usage_plan_id = plan
    response = client.get(f"/partners/{partner_id}/environments/test/usage")
    page = _text(response)
    assert response.status_code == 200 and "no usage plan" not in page
    assert "No usage key yet" not in page


def test_usage_before_routing_went_live(app, partner_a):
    client, partner_id = partner_a
    app.extensions["pgw"].usage_plan_id = "plan-x"
    assert "No usage key yet" in _text(client.get(
        f"/partners/{partner_id}/environments/test/usage"))
