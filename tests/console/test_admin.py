"""The admin screens: approvals with the endpoint check, decisions, audit log, health, quotas."""

from __future__ import annotations

import json

import pytest

from partners.core.constants import partner_resource_name
from partners.onboarding.endpoint_check import check_endpoint
from partners.onboarding.models import AuthType, DeliveryMode, EndpointAuth, PartnerEnvironment
from tests.console.conftest import PUSH_SETTINGS, public_resolver
from tests.partners.onboarding.conftest import EndpointAnswers
from tests.recorders import FakeHttp


def _text(response) -> str:
    return response.get_data(as_text=True)


def _registry(app):
    return app.extensions["pgw"].registry


@pytest.fixture(autouse=True)
def endpoint_answers(monkeypatch) -> EndpointAnswers:
    """Approval runs the endpoint check; here it answers without the network."""
    import partners.onboarding.decisions as decisions

    answers = EndpointAnswers()
    monkeypatch.setattr(decisions, "check_endpoint", answers)
    return answers


@pytest.fixture
def submitted(partner_a):
    """Partner A with a configured test environment, submitted for approval."""
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data=PUSH_SETTINGS)
    client.post(f"/partners/{partner_id}/submit")
    return client, partner_id


def test_dashboard_lists_partners_awaiting_approval(auth, submitted):
    _, partner_id = submitted
    admin = auth.login_admin()
    page = _text(admin.get("/admin/"))
    assert f"/admin/partners/{partner_id}" in page and "Acme" in page


def test_partner_detail_never_shows_the_secret(auth, submitted):
    _, partner_id = submitted
    page = _text(auth.login_admin().get(f"/admin/partners/{partner_id}"))
    assert "hooks.acme.example.com" in page and "credential set" in page
    assert "s3cr3t" not in page


def test_approve_audits_and_reconciles(app, auth, submitted, reconciles):
    _, partner_id = submitted
    admin = auth.login_admin()
    reconciles.calls.clear()
    response = admin.post(f"/admin/partners/{partner_id}/approve")
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).status.value == "approved"
    assert reconciles.calls == [partner_id]
    records = [r for r in app.extensions["pgw"].audit.for_target(f"partner:{partner_id}").items
               if r.action == "partner.approved"]
    assert records and records[0].actor == f"user:{admin.email}"


def test_a_decision_whose_trigger_fails_says_routing_waits(app, auth, submitted, reconciles):
    _, partner_id = submitted
    admin = auth.login_admin()
    reconciles.succeed = False
    response = admin.post(f"/admin/partners/{partner_id}/approve")
    page = _text(admin.get(response.headers["Location"]))
    assert "is approved" in page and "next scheduled run" in page
    assert _registry(app).get_partner(partner_id).status.value == "approved"


def test_approve_rechecks_the_endpoints(app, auth, submitted):
    _, partner_id = submitted
    # DNS changed since the save; the use cases read the resolver from the onboarding service.
    app.extensions["pgw"].onboarding.resolver = lambda host: ["10.1.2.3"]
    admin = auth.login_admin()
    response = admin.post(f"/admin/partners/{partner_id}/approve")
    assert "Not approved" in _text(admin.get(response.headers["Location"]))
    assert _registry(app).get_partner(partner_id).status.value == "pending_approval"


def _audit(app, partner_id, action):
    return [r for r in app.extensions["pgw"].audit.for_target(f"partner:{partner_id}").items
            if r.action == action]


def test_approve_after_a_failed_check_needs_an_override_with_a_reason(app, auth, submitted,
                                                                      endpoint_answers):
    _, partner_id = submitted
    admin = auth.login_admin()
    endpoint_answers.failing = "certificate not trusted"
    page = _text(admin.post(f"/admin/partners/{partner_id}/check", data={"environment": "test"}))
    assert "TLS handshake</strong>: failed" in page and 'id="approve-form"' in page
    response = admin.post(f"/admin/partners/{partner_id}/approve")
    page = _text(admin.get(response.headers["Location"]))
    assert "Not approved. test: the endpoint check failed at &#39;TLS handshake&#39;" in page
    assert _registry(app).get_partner(partner_id).status.value == "pending_approval"
    assert not _audit(app, partner_id, "partner.approved")
    # Ticking the override without a reason is a form error; nothing is decided.
    response = admin.post(f"/admin/partners/{partner_id}/approve", data={"override": "y"})
    assert response.status_code == 422 and "Say why you approve" in _text(response)
    assert _registry(app).get_partner(partner_id).status.value == "pending_approval"
    response = admin.post(f"/admin/partners/{partner_id}/approve", data={
        "override": "y", "override_reason": "Certificate renewal booked for today"})
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).status.value == "approved"
    [record] = _audit(app, partner_id, "partner.approved")
    assert record.after["override_reason"] == "Certificate renewal booked for today"
    assert "Certificate renewal booked for today" in _text(admin.get("/admin/audit"))


def test_reject_needs_a_reason(app, auth, submitted):
    _, partner_id = submitted
    admin = auth.login_admin()
    response = admin.post(f"/admin/partners/{partner_id}/reject", data={"reason": ""})
    assert response.status_code == 422 and "Say why" in _text(response)
    admin.post(f"/admin/partners/{partner_id}/reject", data={"reason": "Endpoint is a test box"})
    partner = _registry(app).get_partner(partner_id)
    assert partner.status.value == "rejected" and partner.status_reason == "Endpoint is a test box"


def test_suspend_and_reinstate(app, auth, submitted, reconciles):
    _, partner_id = submitted
    admin = auth.login_admin()
    admin.post(f"/admin/partners/{partner_id}/approve")
    admin.post(f"/admin/partners/{partner_id}/suspend", data={"reason": "Abuse report"})
    assert _registry(app).get_partner(partner_id).status.value == "suspended"
    admin.post(f"/admin/partners/{partner_id}/reinstate")
    assert _registry(app).get_partner(partner_id).status.value == "approved"
    actions = [r.action for r in app.extensions["pgw"].audit.for_target(
        f"partner:{partner_id}").items]
    assert {"partner.approved", "partner.suspended", "partner.reinstated"} <= set(actions)


def test_suspend_flushes_the_authorizer_cache_and_warns_when_it_cannot(app, auth, submitted,
                                                                       flushes):
    _, partner_id = submitted
    admin = auth.login_admin()
    admin.post(f"/admin/partners/{partner_id}/approve")
    assert flushes.calls == 1  # a cached "awaiting approval" deny ends with the approval
    flushes.succeed = False
    response = admin.post(f"/admin/partners/{partner_id}/suspend", data={"reason": "Abuse"})
    assert response.status_code == 302 and flushes.calls == 2
    assert _registry(app).get_partner(partner_id).status.value == "suspended"
    assert "token cache could not be emptied" in _text(admin.get(response.headers["Location"]))


@pytest.mark.parametrize("path", ["approve", "reinstate"])
def test_illegal_decisions_are_messages_not_errors(app, auth, partner_a, path):
    _, partner_id = partner_a  # a draft
    admin = auth.login_admin()
    response = admin.post(f"/admin/partners/{partner_id}/{path}")
    assert response.status_code == 302
    assert _registry(app).get_partner(partner_id).status.value == "draft"


def test_suspend_a_draft_is_refused(app, auth, partner_a):
    _, partner_id = partner_a
    admin = auth.login_admin()
    response = admin.post(f"/admin/partners/{partner_id}/suspend", data={"reason": "why not"})
    assert "cannot be suspended" in _text(admin.get(response.headers["Location"]))


def test_unknown_partner_is_404(auth):
    assert auth.login_admin().get("/admin/partners/pnope").status_code == 404


def test_partners_list_by_status(auth, submitted, partner_b):
    admin = auth.login_admin()
    assert "Acme" in _text(admin.get("/admin/partners?status=pending_approval"))
    assert "Acme" not in _text(admin.get("/admin/partners?status=draft"))
    page = _text(admin.get("/admin/partners?status=bogus"))
    assert "Unknown status" in page and "Globex" in page
    assert "no longer valid" in _text(admin.get("/admin/partners?cursor=garbage"))


def test_audit_log_filters(app, auth, submitted, clock):
    _, partner_id = submitted
    admin = auth.login_admin()
    admin.post(f"/admin/partners/{partner_id}/approve")
    page = _text(admin.get("/admin/audit"))
    assert "partner.approved" in page and "environment.updated" in page
    page = _text(admin.get("/admin/audit?action=partner.appr"))
    assert "partner.approved" in page and "environment.updated" not in page
    page = _text(admin.get(f"/admin/audit?actor=user:{admin.email}"))
    assert "partner.approved" in page and "partner.submitted" not in page
    assert "No records" in _text(admin.get("/admin/audit?day=2026-11-01"))
    # Secrets are masked in the before/after the log shows.
    assert "s3cr3t" not in page


@pytest.mark.parametrize("query", ["day=yesterday", "action=DROP TABLE", "actor=" + "x" * 300])
def test_audit_log_bad_filters_are_form_errors(auth, query):
    response = auth.login_admin().get(f"/admin/audit?{query}")
    assert response.status_code == 422


def test_delivery_health_shows_dlq_depth_and_last_error(app, aws, stage, auth, submitted):
    _, partner_id = submitted
    admin = auth.login_admin()
    page = _text(admin.get("/admin/health"))
    assert "No approved push environments" in page
    admin.post(f"/admin/partners/{partner_id}/approve")
    assert "no queue yet" in _text(admin.get("/admin/health"))
    sqs = aws.client("sqs")
    url = sqs.create_queue(QueueName=partner_resource_name(
        stage.spec.partner_resource_prefix, partner_id, "test"))["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": "e1", "detail": {}}),
                     MessageAttributes={"ERROR_CODE": {"DataType": "String",
                                                       "StringValue": "SDK_CLIENT_ERROR"},
                                        "ERROR_MESSAGE": {"DataType": "String",
                                                          "StringValue": "HTTP 500"}})
    page = _text(admin.get("/admin/health"))
    assert "SDK_CLIENT_ERROR" in page and "HTTP 500" in page


def test_quota_headroom(aws, stage, auth):
    aws.client("events").put_rule(Name="someone-elses", EventBusName=stage.spec.bus_name,
                                  EventPattern=json.dumps({"source": ["x"]}))
    page = _text(auth.login_admin().get("/admin/quotas"))
    assert "rules per bus" in page and "<td>1</td><td>300</td>" in page


# --- the endpoint check -----------------------------------------------------------------------


def _push(url="https://hooks.acme.example.com/pgw", auth=None) -> PartnerEnvironment:
    return PartnerEnvironment("test", mode=DeliveryMode.PUSH, endpoint_url=url,
                              auth=auth or EndpointAuth(AuthType.API_KEY, header_name="x-key"))


def test_check_refuses_private_endpoints():
    steps = check_endpoint(_push("https://internal.example.com/"), "k", allow_insecure=False,
                           resolver=public_resolver)
    assert [s.ok for s in steps] == [False] and "private" in steps[0].detail


def test_check_over_http_in_the_embedded_stack_sends_the_api_key():
    http = FakeHttp((200, b"ok"))
    steps = check_endpoint(_push("http://127.0.0.1:8002/deliveries"), "the-key",
                           allow_insecure=True, post=http)
    assert [s.ok for s in steps] == [True, True, True]
    url, body, headers = http.calls[0]
    assert headers["x-key"] == "the-key"
    assert json.loads(body)["type"] == "marketplace.gateway.endpoint_check"


@pytest.mark.parametrize("status, text", [(401, "refused the credentials"),
                                          (503, "would retry"), (404, "dead-letter")])
def test_check_reports_what_the_endpoint_answered(status, text):
    steps = check_endpoint(_push("http://localhost:8002/x"), "k", allow_insecure=True,
                           post=FakeHttp((status, b"")))
    assert not steps[-1].ok and text in steps[-1].detail


def test_check_basic_and_oauth_headers():
    http = FakeHttp((200, b""))
    check_endpoint(_push("http://localhost:1234/x", EndpointAuth(AuthType.BASIC, username="u")),
                   "pw", allow_insecure=True, post=http)
    assert http.calls[0][2]["Authorization"] == "Basic dTpwdw=="
    http = FakeHttp((200, b'{"access_token": "tok"}'), (200, b""))
    oauth = EndpointAuth(AuthType.OAUTH_CLIENT_CREDENTIALS, client_id="c",
                         token_url="http://localhost:1234/token", scope="events")
    steps = check_endpoint(_push("http://localhost:1234/x", oauth), "cs", allow_insecure=True,
                           post=http)
    assert b"client_secret=cs" in http.calls[0][1] and b"scope=events" in http.calls[0][1]
    assert http.calls[1][2]["Authorization"] == "Bearer tok" and steps[-1].ok
    steps = check_endpoint(_push("http://localhost:1234/x", oauth), "cs", allow_insecure=True,
                           post=FakeHttp((401, b"")))
    assert "token endpoint answered 401" in steps[-1].detail


def test_check_tls_failure_stops_the_check(monkeypatch):
    import partners.onboarding.endpoint_check as module

    def refused(address, timeout):
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setattr(module.socket, "create_connection", refused)
    steps = check_endpoint(_push(), "k", allow_insecure=False, resolver=public_resolver,
                           post=FakeHttp())
    assert [s.name for s in steps] == ["Resolves publicly", "TLS handshake"]
    assert not steps[-1].ok and "connection refused" in steps[-1].detail


def test_admin_check_route_runs_the_check(app, auth, submitted, monkeypatch):
    """The route hands the stored credential to the check and shows each step."""
    import partners.onboarding.decisions as decisions

    _, partner_id = submitted
    seen = {}

    def fake_check(environment, secret, **kwargs):
        seen["secret"] = secret
        # The stored endpoint is https; answer its call here instead of on the network.
        plain = PartnerEnvironment("test", mode=DeliveryMode.PUSH,
                                   endpoint_url="http://localhost:8443/pgw", auth=environment.auth)
        return check_endpoint(plain, secret, post=FakeHttp((200, b"")),
                              **{**kwargs, "allow_insecure": True})

    monkeypatch.setattr(decisions, "check_endpoint", fake_check)
    admin = auth.login_admin()
    page = _text(admin.post(f"/admin/partners/{partner_id}/check", data={"environment": "test"}))
    assert seen["secret"] == "s3cr3t-value-never-shown"
    assert "Answers with the configured auth</strong>: passed" in page
    assert "s3cr3t" not in page
    response = admin.post(f"/admin/partners/{partner_id}/check", data={"environment": "prod"})
    assert response.status_code == 422


def test_the_check_page_never_shows_a_stored_secret(app, auth, submitted, monkeypatch):
    """A credential stored before control characters were refused: the check says it cannot
    be sent, and neither the page nor the audit log shows it."""
    import partners.onboarding.decisions as decisions

    _, partner_id = submitted
    secret = "s3cr3t-legacy\r\nX-Injected: yes"
    env = _registry(app).get_partner(partner_id).environments["test"]
    app.extensions["pgw"].onboarding.credentials.put(partner_id, "test", env.auth.type, secret,
                                                     set_on="2026-11-23T10:00:00Z")

    def nowhere(address, port, timeout):
        raise AssertionError("a header that cannot be sent needs no connection")

    def plain_check(environment, secret, **kwargs):
        plain = PartnerEnvironment("test", mode=DeliveryMode.PUSH,
                                   endpoint_url="http://localhost:8443/pgw", auth=environment.auth)
        return check_endpoint(plain, secret, connect=nowhere, **{**kwargs, "allow_insecure": True})

    monkeypatch.setattr(decisions, "check_endpoint", plain_check)
    admin = auth.login_admin()
    page = _text(admin.post(f"/admin/partners/{partner_id}/check", data={"environment": "test"}))
    assert "cannot be sent in an HTTP header" in page
    assert "s3cr3t" not in page and "Injected" not in page
    assert "s3cr3t" not in _text(admin.get("/admin/audit"))
