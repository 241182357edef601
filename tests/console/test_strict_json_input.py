"""JSON the console reads from users: test-event attributes and page cursors (issue 14).

NaN, Infinity, numbers beyond float range and deep nesting are form errors or the page's
"no longer valid" message, never an event on the bus and never a 500.
"""

from __future__ import annotations

import base64

import pytest

from partners.routing import recent_probes


def _text(response) -> str:
    return response.get_data(as_text=True)


@pytest.mark.parametrize("attributes, message", [
    ('{"qty": NaN}', "Attributes at /qty: NaN is not a JSON number"),
    ('{"qty": Infinity}', "Attributes at /qty: Infinity is not a JSON number"),
    ('{"region": "eu", "qty": -Infinity}', "Attributes at /qty: -Infinity is not a JSON number"),
    ('{"qty": 1e400}', "Attributes at /qty: 1e400 is beyond float range"),
    ('{"qty": ' + "9" * 400 + "}", "beyond float range"),
    ('{"qty": ' + "[" * 3000 + "]" * 3000 + "}", "Attributes at /qty" + "/0" * 31),
    ("[" * 3000 + "]" * 3000, "nest at most 32 levels deep"),
])
def test_test_event_attributes_must_be_strict_json(app, partner_a, attributes, message):
    client, partner_id = partner_a
    response = client.post(f"/partners/{partner_id}/environments/test/test-events",
                           data={"request_type": "stock.check", "attributes": attributes})
    assert response.status_code == 422 and message in _text(response)
    with app.app_context():
        assert recent_probes(app.extensions["pgw"].audit, partner_id, "test") == []


def _cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("page", ["/admin/partners", "/admin/audit"])
@pytest.mark.parametrize("decoded", [
    "[" * 5000 + "]" * 5000,
    '{"pk":' * 5000 + '"x"' + "}" * 5000,
    '{"pk": NaN}',
])
def test_a_cursor_that_decodes_to_deep_or_non_finite_json_shows_the_first_page(
        auth, page, decoded):
    admin = auth.login_admin()
    response = admin.get(page, query_string={"cursor": _cursor(decoded)})
    assert response.status_code == 200
    assert "That page link is no longer valid; showing the first page." in _text(response)
