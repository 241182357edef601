"""Never a 500: hostile or random input on every form gives a form error or a refusal."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.console.test_authorisation import POSTS, _url

FIELDS = ["display_name", "slug", "contact_email", "mode", "endpoint_url", "auth_type",
          "header_name", "username", "token_url", "client_id", "scope", "secret",
          "rate_limit_per_second", "maximum_event_age_seconds", "maximum_retry_attempts",
          "request_types", "conditions-0-attribute", "conditions-0-operator",
          "conditions-0-values", "conditions-25-attribute", "name", "overlap_hours",
          "request_type", "attributes", "everything", "message_id", "reason", "environment",
          "email", "password", "confirm", "code", "action"]

values = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["", "0", "-1", "9" * 40, "1e309", "NaN", "*", "push", "poll", "API_KEY",
                     "BASIC", "between", "prefix", "[]", "{}", '{"a": [1]}', "null",
                     "http://[::1]/", "https://xn--/", "https://a..b/", "\x00", "\ud7ff",
                     "../../etc/passwd", "<script>alert(1)</script>", "save", "preview"]),
)


@pytest.fixture
def clients(app, auth, partner_a):
    client, partner_id = partner_a
    return {"partner": client, "admin": auth.login_admin(), "anonymous": app.test_client(),
            "partner_id": partner_id}


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(route=st.sampled_from(POSTS), form=st.dictionaries(st.sampled_from(FIELDS), values,
                                                          max_size=8))
def test_random_forms_never_cause_a_server_error(clients, route, form):
    endpoint, rule, _ = route
    user = clients["admin"] if endpoint.startswith("admin.") else (
        clients["anonymous"] if endpoint.startswith("auth.") else clients["partner"])
    response = user.post(_url(rule, clients["partner_id"]), data=form)
    assert response.status_code < 500, (rule, form, response.status_code)


@pytest.mark.parametrize("path", [
    "/partners/{id}/environments/test/test-events/" + "x" * 300,
    "/partners/{id}/environments/test/test-events/test-{id}-" + "y" * 80,
    "/partners/{id}/environments/TEST",
    "/partners/{id}/environments/test/tokens/%00/revoke",
    "/admin/audit?day=2026-13-45",
    "/admin/audit?cursor=!!!",
    "/admin/partners?status=%00",
])
def test_odd_urls_never_cause_a_server_error(clients, path):
    url = path.replace("{id}", clients["partner_id"])
    user = clients["admin"] if url.startswith("/admin") else clients["partner"]
    response = user.post(url, data={}) if url.endswith("/revoke") else user.get(url)
    assert response.status_code < 500, (url, response.status_code)


def test_an_aws_outage_is_a_friendly_503(app, partner_a, monkeypatch):
    from botocore.exceptions import ClientError

    client, partner_id = partner_a

    def outage(*args, **kwargs):
        raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "down"}},
                          "ListTokens")

    monkeypatch.setattr(app.extensions["pgw"].tokens, "list_tokens", outage)
    response = client.get(f"/partners/{partner_id}/environments/test/tokens")
    assert response.status_code == 503 and "Try again in a moment" in response.get_data(
        as_text=True)
