"""Partner forms refuse bad input whole and say everything wrong at once, in a partner's words:
the environment settings (credential included: never echoed) and the filter editor."""

from __future__ import annotations

import pytest

from partners.onboarding import MAX_CONDITIONS
from tests.console.conftest import PUSH_SETTINGS

CRLF_SECRET = "s3cr3t-line\r\nX-Injected: yes"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _registry(app):
    return app.extensions["pgw"].registry


def _settings(client, partner_id, **changes):
    return client.post(f"/partners/{partner_id}/environments/test/settings",
                       data={**PUSH_SETTINGS, **changes})


def _filter(client, partner_id, rows, action="save", types="stock.check"):
    data = {"request_types": types, "action": action}
    for i, (attribute, operator, values) in enumerate(rows):
        data[f"conditions-{i}-attribute"] = attribute
        data[f"conditions-{i}-operator"] = operator
        data[f"conditions-{i}-values"] = values
    return client.post(f"/partners/{partner_id}/environments/test/filter", data=data)


# --- environment settings -----------------------------------------------------------------


def test_a_secret_with_a_line_break_is_a_form_error_and_never_echoed(app, aws, partner_a):
    client, partner_id = partner_a
    response = _settings(client, partner_id, secret=CRLF_SECRET)
    page = _text(response)
    assert response.status_code == 422
    assert "cannot contain line breaks" in page and 'id="secret-error"' in page
    assert "s3cr3t-line" not in page and "Injected" not in page
    assert _registry(app).get_partner(partner_id).environments == {}
    # No credential was stored (the console's own session key is the only secret).
    stored = [s["Name"] for s in aws.client("secretsmanager").list_secrets()["SecretList"]]
    assert [name for name in stored if not name.endswith("/console/session-key")] == []


def test_every_settings_error_shows_at_once(app, partner_a):
    client, partner_id = partner_a
    response = _settings(client, partner_id, endpoint_url="https://internal.acme.example.com/",
                         header_name="", secret=CRLF_SECRET, rate_limit_per_second="0")
    page = _text(response)
    assert response.status_code == 422
    for message in ("between 1 and 300", "private address", "Enter the name of the header",
                    "cannot contain line breaks"):
        assert message in page, message
    assert "s3cr3t-line" not in page
    assert _registry(app).get_partner(partner_id).environments == {}


def test_oauth_without_a_token_url_or_client_id_flags_both(partner_a):
    client, partner_id = partner_a
    response = _settings(client, partner_id, auth_type="OAUTH_CLIENT_CREDENTIALS",
                         token_url="", client_id="")
    page = _text(response)
    assert response.status_code == 422
    assert 'id="token_url-error"' in page and "Enter the token URL" in page
    assert 'id="client_id-error"' in page and "Enter the client id" in page


# --- filter editor ------------------------------------------------------------------------


@pytest.fixture
def configured(partner_a):
    client, partner_id = partner_a
    assert _settings(client, partner_id, mode="poll", endpoint_url="", secret="").status_code \
        == 302
    return client, partner_id


def test_a_filter_with_too_many_conditions_is_refused_and_nothing_saved(app, configured):
    client, partner_id = configured
    before = _registry(app).get_partner(partner_id).environments["test"].filter
    rows = [(f"a{i}", "exists", "") for i in range(MAX_CONDITIONS + 1)]
    response = _filter(client, partner_id, rows)
    page = _text(response)
    assert response.status_code == 422
    assert f"A filter takes at most {MAX_CONDITIONS} conditions; this one has 21" in page
    assert "Filter saved" not in page
    assert _registry(app).get_partner(partner_id).environments["test"].filter == before
    # Every row comes back, the 21st included, for the partner to choose what to remove.
    assert f'value="a{MAX_CONDITIONS}"' in page


def test_more_rows_than_the_editor_takes_are_refused_not_cut(app, configured):
    client, partner_id = configured
    before = _registry(app).get_partner(partner_id).environments["test"].filter
    response = _filter(client, partner_id, [("a", "exists", "")] * (2 * MAX_CONDITIONS + 1))
    assert response.status_code == 422 and "The editor takes at most" in _text(response)
    assert _registry(app).get_partner(partner_id).environments["test"].filter == before


def test_every_filter_error_shows_at_once_in_a_partners_words(app, configured):
    client, partner_id = configured
    response = _filter(client, partner_id, types="Stock Check", rows=[
        ("qty", "greater_than", "1, 2"), ("region", "", "eu"), ("vip", "between", "9, 1")])
    page = _text(response)
    assert response.status_code == 422
    for message in ("is not a request type", "Enter one number for &#39;greater than&#39;",
                    "Choose an operator", "Put the lower number first"):
        assert message in page, message
    assert "greater_than takes" not in page
    assert _registry(app).get_partner(partner_id).environments["test"].filter.conditions == ()
