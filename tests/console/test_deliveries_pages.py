"""The partner's Deliveries page (filters, paging, attempts, payload, resend), the endpoint
health charts on the overview, the re-enable of a paused endpoint, and the admin's endpoint
health across partners."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from partners.deliveries import parse_record
from partners.onboarding import CheckStep, RoutingState, RoutingStatus, partner_target
from partners.routing import endpoint_health
from tests.partners.deliveries.builders import T0, Send, ms

SVG = "{http://www.w3.org/2000/svg}"


def _text(response) -> str:
    return response.get_data(as_text=True)


def _index(app, records) -> None:
    app.extensions["pgw"].delivery_store.index(parse_record(r) for r in records)


def failure_window(app, partner_id: str, environment: str = "test") -> None:
    """08:xx: three requests fail (500) and dead-letter; 09:xx: two are delivered."""
    records = []
    for n in range(3):
        records += Send(partner_id=partner_id, environment=environment, event_id=f"bad-{n}",
                        invocation_id=f"inv-bad-{n}", request_id=f"r-bad-{n}",
                        start_ms=ms(T0 - timedelta(hours=2, minutes=-n))
                        ).failing_then_dead_lettered(2)
    for n in range(2):
        records += Send(partner_id=partner_id, environment=environment, event_id=f"ok-{n}",
                        invocation_id=f"inv-ok-{n}", request_id=f"r-ok-{n}",
                        start_ms=ms(T0 - timedelta(hours=1, minutes=-n))).delivered()
    _index(app, records)


def _delivery_ids(page: str) -> list[str]:
    return re.findall(r'name="delivery_id" value="(dlv_[0-9a-f]{24})"', page)


def test_the_log_shows_each_attempt_and_the_payload(app, partner_a, clock):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    clock.advance(minutes=30)
    response = client.get(f"/partners/{partner_id}/environments/test/deliveries")
    page = _text(response)
    assert response.status_code == 200
    assert len(_delivery_ids(page)) == 5
    # Newest first: the delivered ones, then the dead-lettered ones.
    assert page.index("r-ok-1") < page.index("r-ok-0") < page.index("r-bad-2")
    assert page.count("badge-dead-lettered") == 3 and page.count("badge-delivered") == 2
    assert page.count("<code>500</code>") >= 6  # two attempts each, HTTP 500
    assert "endpoint answered 500" in page and "120 ms" in page
    # The CloudEvent id the partner de-duplicates on, and a link to the payload.
    assert "CloudEvent id <code>bad-0</code>" in page
    assert page.count("to see its payload") + page.count('class="code payload"') == 5
    assert "s3cr3t" not in page


def test_the_health_charts_show_the_failure_window(app, partner_a, clock):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    clock.advance(minutes=30)
    page = _text(client.get(f"/partners/{partner_id}/environments/test/deliveries"))
    svgs = [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", page, re.S)]
    success = next(s for s in svgs if s.get("id") == "health-24h-success")
    tips = [c.find(f"{SVG}title").text for c in success.iter(f"{SVG}circle")]
    assert tips == ["08:00: success rate 0%", "09:00: success rate 100%"]
    assert "Last 24 hours: 8 attempts" in page and "3 dead-lettered" in page
    # The same numbers in a table.
    assert re.search(r"<th scope=\"row\">08:00</th><td>6</td><td>0</td><td>6</td>", page)


@pytest.mark.parametrize("query,field_error", [
    ("outcome=lost", "Choose one of: delivered, retrying, failed, dead_lettered."),
    ("since=yesterday", "Not a valid datetime value."),
    ("since=2026-11-23T10:00&until=2026-11-23T09:00", "Until must not be before since."),
    ("request_type=Bad%20Type", "Lower-case letters, digits"),
    ("cursor=not-a-cursor", "That page link is no longer valid"),
])
def test_bad_filters_are_form_errors(partner_a, query, field_error):
    client, partner_id = partner_a
    response = client.get(f"/partners/{partner_id}/environments/test/deliveries?{query}")
    assert response.status_code == 422
    assert field_error in _text(response)


def test_filters_and_paging(app, partner_a, clock):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    base = f"/partners/{partner_id}/environments/test/deliveries"
    page = _text(client.get(f"{base}?outcome=dead_lettered"))
    assert len(_delivery_ids(page)) == 3 and "r-ok-0" not in page
    page = _text(client.get(f"{base}?request_id=r-ok-1"))
    assert len(_delivery_ids(page)) == 1
    page = _text(client.get(f"{base}?since=2026-11-23T08:59"))
    assert len(_delivery_ids(page)) == 2

    _index(app, [r for n in range(30) for r in Send(
        partner_id=partner_id, environment="test", event_id=f"many-{n}",
        invocation_id=f"inv-many-{n}", request_id=f"r-many-{n}",
        start_ms=ms(T0 - timedelta(hours=5, minutes=n))).delivered()])
    first = _text(client.get(base))
    assert len(_delivery_ids(first)) == 25
    link = re.search(r'href="([^"]+)" id="next-page"', first).group(1).replace("&amp;", "&")
    second = _text(client.get(link))
    assert len(_delivery_ids(second)) == 10
    assert not set(_delivery_ids(first)) & set(_delivery_ids(second))


def test_resend_a_selection_and_one(app, partner_a, clock):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    base = f"/partners/{partner_id}/environments/test/deliveries"
    ids = _delivery_ids(_text(client.get(f"{base}?outcome=dead_lettered")))
    clock.advance(seconds=1)
    response = client.post(f"{base}/resend?outcome=dead_lettered",
                           data={"delivery_id": ids[:2]})
    assert response.status_code == 302 and "outcome=dead_lettered" in response.headers["Location"]
    page = _text(client.get(response.headers["Location"]))
    assert "Queued 2 deliveries to resend" in page
    clock.advance(seconds=1)
    response = client.post(f"{base}/resend", data={"only": ids[2], "delivery_id": ids[:2]},
                           follow_redirects=True)
    assert "Queued 1 delivery to resend" in _text(response)
    [latest, earlier] = app.extensions["pgw"].audit.for_target(
        partner_target(partner_id), limit=2).items
    assert latest.action == earlier.action == "delivery.resent"
    assert earlier.after == {"environment": "test", "deliveries": ids[:2]}
    assert latest.after == {"environment": "test", "deliveries": [ids[2]]}


def test_resend_rate_limit_is_a_form_error(app, partner_a, clock):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    base = f"/partners/{partner_id}/environments/test/deliveries"
    ids = _delivery_ids(_text(client.get(base)))
    for _ in range(2):
        assert client.post(f"{base}/resend", data={"delivery_id": ids}).status_code == 302
    response = client.post(f"{base}/resend", data={"delivery_id": ids})
    assert response.status_code == 429
    assert "Too many resends for this environment: 0 of 5 queued" in _text(response)


def test_another_partners_delivery_is_not_found(app, partner_a, partner_b):
    client, partner_id = partner_a
    _, b_id = partner_b
    failure_window(app, b_id)
    b_page = _text(partner_b[0].get(f"/partners/{b_id}/environments/test/deliveries"))
    b_ids = _delivery_ids(b_page)
    assert client.get(f"/partners/{partner_id}/environments/test/deliveries/{b_ids[0]}"
                      ).status_code == 404
    response = client.post(f"/partners/{partner_id}/environments/test/deliveries/resend",
                           data={"delivery_id": b_ids[:1]}, follow_redirects=True)
    assert f"{b_ids[0]}: not found in this environment" in _text(response)
    assert partner_b[0].get(f"/partners/{b_id}/environments/test/deliveries/{b_ids[0]}"
                            ).status_code == 200


def test_one_delivery_page(app, partner_a):
    client, partner_id = partner_a
    failure_window(app, partner_id)
    base = f"/partners/{partner_id}/environments/test/deliveries"
    delivery_id = _delivery_ids(_text(client.get(f"{base}?request_id=r-bad-0")))[0]
    page = _text(client.get(f"{base}/{delivery_id}"))
    assert "r-bad-0" in page and page.count("<code>500</code>") == 2
    assert "specversion" in page and 'id="resend-one"' in page
    assert client.get(f"{base}/dlv_{'0' * 24}").status_code == 404
    assert client.get(f"{base}/../../tokens").status_code == 404


def test_overview_and_environment_page_link_the_log_and_chart_health(app, partner_a,
                                                                      clock):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data={
        "mode": "push", "endpoint_url": "https://hooks.acme.example.com/pgw",
        "auth_type": "API_KEY", "header_name": "x-api-key", "secret": "s3cr3t-value",
        "rate_limit_per_second": "20", "maximum_event_age_seconds": "3600",
        "maximum_retry_attempts": "10"})
    failure_window(app, partner_id)
    overview = _text(client.get(f"/partners/{partner_id}"))
    assert 'id="endpoint-health"' in overview and 'id="health-test-24h-success"' in overview
    assert f"/partners/{partner_id}/environments/test/deliveries" in overview
    env_page = _text(client.get(f"/partners/{partner_id}/environments/test"))
    assert 'id="deliveries-link"' in env_page


def _pause(app, partner_id: str) -> None:
    app.extensions["pgw"].registry.put_routing_status(RoutingStatus(
        partner_id, "test", RoutingState.DISABLED,
        reason="endpoint failing since 2026-11-22T09:00:00Z",
        updated_at="2026-11-23T09:00:00Z"))


def test_a_paused_endpoint_is_re_enabled_after_its_check(app, partner_a, reconciles,
                                                         monkeypatch):
    client, partner_id = partner_a
    client.post(f"/partners/{partner_id}/environments/test/settings", data={
        "mode": "push", "endpoint_url": "https://hooks.acme.example.com/pgw",
        "auth_type": "API_KEY", "header_name": "x-api-key", "secret": "s3cr3t-value",
        "rate_limit_per_second": "20", "maximum_event_age_seconds": "3600",
        "maximum_retry_attempts": "10"})
    _pause(app, partner_id)
    base = f"/partners/{partner_id}/environments/test"
    page = _text(client.get(f"{base}/deliveries"))
    assert 'id="endpoint-paused"' in page and "endpoint failing since" in page
    assert "Deliveries are paused" in _text(client.get(f"{base}/routing"))

    answers = [[CheckStep("address", True, "public"),
                CheckStep("answer", False, "HTTP 500 from the endpoint")],
               [CheckStep("address", True, "public"), CheckStep("answer", True, "HTTP 202")]]
    monkeypatch.setattr(endpoint_health, "check_endpoint", lambda *a, **k: answers.pop(0))
    reconciles.calls.clear()
    page = _text(client.post(f"{base}/endpoint/reenable", follow_redirects=True))
    assert "Not re-enabled: the endpoint check failed at answer: HTTP 500" in page
    assert reconciles.calls == []
    page = _text(client.post(f"{base}/endpoint/reenable", follow_redirects=True))
    assert "The endpoint passed its check" in page
    assert reconciles.calls == [partner_id]
    status = app.extensions["pgw"].registry.routing_statuses(partner_id)["test"]
    assert status.state is RoutingState.PENDING
    page = _text(client.post(f"{base}/endpoint/reenable", follow_redirects=True))
    assert "Deliveries to this environment are not paused." in page


def test_the_admin_sees_endpoint_health_worst_first(app, auth, partner_a, partner_b, clock):
    _, a_id = partner_a
    _, b_id = partner_b
    failure_window(app, a_id)
    _index(app, Send(partner_id=b_id, environment="prod", event_id="b-ok", invocation_id="i",
                     start_ms=ms(T0 - timedelta(minutes=30))).delivered())
    _pause(app, a_id)
    admin = auth.login_admin()
    page = _text(admin.get("/admin/endpoint-health"))
    assert page.index("Acme") < page.index("Globex")
    assert "25.0%" in page and "100.0%" in page and "endpoint failing since" in page
    assert f'id="health-{a_id}-test-24h-success"' in page
